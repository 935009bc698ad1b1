/* gemm_kq_avx512.c - the K-quant products for many columns (gemm_kq.h) with AVX-512 VNNI
 * (256-bit vpdpbusd: four unsigned x signed byte products straight into int32). Reached only
 * through the traits table after CPU detection found AVX-512 VNNI. */
#define KQ_VNNI 1
#include "kernels/gemm_kq.h"

/* Called by llmri_kernels_avx512_install after the K-quant tiles are in the table. */
void llmri_gemm_kq_avx512_install(llmr_type_traits *t)
{
    KQ_INSTALL_BODY(t);
}

/* Called by llmri_repack_avx512_install: the R8 K-quant products in the repacked table. */
void llmri_gemm_kq_r8_avx512_install(llmr_type_traits *t)
{
    KQ_R8_INSTALL_BODY(t);
}
