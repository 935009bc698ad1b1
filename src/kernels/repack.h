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
 * 8 plain blocks, so a tensor repacks in place. */
#ifndef LLMR_KERNELS_REPACK_H
#define LLMR_KERNELS_REPACK_H

#include "kernels/kernels.h"

#define R8_ROWS 8
#define R8_QS 16                     /* offset of slice 0 in a unit */

void llmri_repack_avx2_install(llmr_type_traits *table);
void llmri_repack_avx512_install(llmr_type_traits *table);

#endif
