/* repack.h - the row-interleaved weight layouts (repack.c), shared with their SIMD kernels
 * (repack_avx2.c, repack_avx512.c).
 *
 * The 32-value block types Q4_0, IQ4_NL and Q8_0 repack as "R8": groups of 8 rows, and in a
 * group, block b of the 8 rows is stored as one unit of 8 x (block size) bytes:
 *   bytes [0, 16)            the 8 rows' f16 scales, row r at 2r;
 *   bytes [16 + 32s, 48 + 32s) slice s of the quant bytes: bytes 4s..4s+3 of each row's qs,
 *                            row r at 4r (s < 4 for the 16 qs bytes of Q4_0 / IQ4_NL, s < 8
 *                            for the 32 of Q8_0).
 * So one 32-byte load is a vector whose 32-bit lane r belongs to row r, and a byte product
 * with four broadcast activation bytes leaves each row's sum in its own lane: eight outputs
 * per pass with no horizontal reduction and no shuffles. A unit is exactly the bytes of the
 * 8 plain blocks, so a tensor repacks in place.
 *
 * The K-quants Q4_K, Q5_K and Q6_K repack the same way, one unit per super-block of the 8 rows
 * (8 x the block's bytes): the f16 fields as 8 consecutive halves (row r at 2r), every byte
 * array (scales, qh, qs / ql) as slices of 32 bytes, slice s = bytes 4s..4s+3 of each row
 * (row r at 4r). In a unit:
 *   Q4_K  [0,16) d   [16,32) dmin  [32,128) scales (3 slices)  [128,1152) qs (32)
 *   Q5_K  [0,16) d   [16,32) dmin  [32,128) scales  [128,384) qh (8)  [384,1408) qs (32)
 *   Q6_K  [0,16) d   [16,144) scales (4 slices)  [144,656) qh (16)  [656,1680) ql (32)
 * repack.c's shape tables say the same; the kernels (repack_kq.h) use these offsets. */
#ifndef LLMR_KERNELS_REPACK_H
#define LLMR_KERNELS_REPACK_H

#include "kernels/kernels.h"

#define R8_ROWS 8
#define R8_QS 16                     /* offset of slice 0 in a unit */
#define RKQ_DM 16                    /* Q4_K / Q5_K: the dmin halves */
#define RKQ_SC 32                    /* Q4_K / Q5_K: the scale slices */
#define RKQ_Q4_QS 128
#define RKQ_Q5_QH 128
#define RKQ_Q5_QS 384
#define RKQ_Q6_SC 16
#define RKQ_Q6_QH 144
#define RKQ_Q6_QL 656

void llmri_repack_avx2_install(llmr_type_traits *table);
void llmri_repack_avx512_install(llmr_type_traits *table);
/* the F16 / BF16 R16 products (repack_r16_avx2.c, repack_r16_avx512.c), installed by the two
 * above */
void llmri_repack_r16_avx2_install(llmr_type_traits *table);
void llmri_repack_r16_avx512_install(llmr_type_traits *table);
/* the K-quants' R8 products (gemm_kq.h), installed by the two above */
void llmri_gemm_kq_r8_avx2_install(llmr_type_traits *table);
void llmri_gemm_kq_r8_avx512_install(llmr_type_traits *table);

#endif
