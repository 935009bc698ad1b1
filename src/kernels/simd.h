/* simd.h - entry points of the SIMD kernel files, called by traits.c only after CPU
 * detection says the ISA is there. Each fills in the table entries it speeds up. */
#ifndef LLMR_KERNELS_SIMD_H
#define LLMR_KERNELS_SIMD_H

#include "kernels/quants.h"
#include "gguf/gguf.h"

void llmri_kernels_avx2_install(llmr_type_traits *table);
void llmri_gemm_avx2_install(llmr_type_traits *table);   /* gemm_avx2.c: after the tiles */
void llmri_kernels_kq_avx2_install(llmr_type_traits *table);   /* kernels_kq_avx2.c */
void llmri_gemm_kq_avx2_install(llmr_type_traits *table);   /* gemm_kq_avx2.c: after the tiles */
void llmri_kernels_avx512_install(llmr_type_traits *table);
void llmri_gemm_kq_avx512_install(llmr_type_traits *table); /* gemm_kq_avx512.c */
void llmri_gemm_avx512_install(llmr_type_traits *table);    /* gemm_avx512.c */
void llmri_kernels_kq_avx512_install(llmr_type_traits *table); /* kernels_kq_avx512.c */
void llmri_kernels_simd128_install(llmr_type_traits *table);   /* WebAssembly builds */

#endif
