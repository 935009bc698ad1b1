/* kernels_avx2.c - AVX2 + FMA + F16C kernels (built with -mavx2 -mfma -mf16c). */
#include "kernels/simd.h"

#include <immintrin.h>

void llmr_kernels_avx2_install(llmr_type_traits *table)
{
    (void)table;
}
