/* kernels_kq_avx512.c - the K-quant decode kernels of kernels_kq_avx2.c (one row streamed
 * against one Q8_K column, with their software prefetch), compiled with AVX-512 VNNI:
 * vpdpwssd scales and accumulates the sub-block sums (see KQ_AVX512 there). Reached only
 * through the traits table after CPU detection found AVX-512. */
#define KQ_AVX512 1
#include "kernels_kq_avx2.c"
