/* gemm_kq_avx2.c - the K-quant products for many columns (gemm_kq.h), AVX2: vpmaddubsw with
 * int16 partial sums, scaled by vpmaddwd. Reached only through the traits table. */
#define KQ_VNNI 0
#include "kernels/gemm_kq.h"

/* Called by llmri_kernels_kq_avx2_install after the K-quant tiles are in the table. */
void llmri_gemm_kq_avx2_install(llmr_type_traits *t)
{
    KQ_INSTALL_BODY(t);
}

/* Called by llmri_repack_avx2_install: the R8 K-quant products in the repacked table. */
void llmri_gemm_kq_r8_avx2_install(llmr_type_traits *t)
{
    KQ_R8_INSTALL_BODY(t);
}
