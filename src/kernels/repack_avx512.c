/* repack_avx512.c - AVX-512 (VL + VNNI) products on the R8 layouts (repack.h). Filled in
 * below; until then the AVX-512 table keeps the AVX2 entries. */
#include "kernels/simd_x86.h"
#include "kernels/repack.h"

void llmri_repack_avx512_install(llmr_type_traits *t)
{
    (void)t;
}
