/* kernels_avx512.c - AVX-512 F/BW/VL/DQ + VNNI + BF16 kernels. */
#include "kernels/simd.h"

#include <immintrin.h>

void llmr_kernels_avx512_install(llmr_type_traits *table)
{
    (void)table;
}
