/* gemm_avx512.c - the 8-row Q4_0 and Q8_0 products of gemm_avx2.c, compiled with AVX-512
 * VNNI: vpdpbusd in place of the vpmaddubsw / vpmaddwd chains (see GEMM_VNNI there). Reached
 * only through the traits table after CPU detection found AVX-512 VNNI. */
#define GEMM_VNNI 1
#define GEMM_INSTALL llmri_gemm_avx512_install
#include "gemm_avx2.c"
