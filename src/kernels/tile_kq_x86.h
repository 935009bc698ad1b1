/* tile_kq_x86.h - the K-quant x Q8_K tile kernels, one source for the AVX2 and AVX-512 levels.
 *
 * Included by kernels_avx2.c and kernels_avx512.c after simd_x86.h, each compiled for its own
 * ISA, with KQ_MADD_ACC(acc, s, p) defined: acc + the int32 pair sums of s * p (int16 lanes).
 * AVX2 spells it vpmaddwd + vpaddd; AVX-512 VNNI has it as one instruction, vpdpwssd. */
#ifndef KQ_MADD_ACC
#error "define KQ_MADD_ACC before including tile_kq_x86.h"
#endif

/* ---- K-quants x Q8_K ------------------------------------------------------------------
 * Per super-block: integer sub-block scales multiply the int16 pair sums inside vpmaddwd,
 * so the whole super-block is one int32 vector per (row, column); minimums (Q4_K/Q5_K) use
 * Q8_K's bsums. The kernels take NR rows but are used one row at a time against up to 4
 * columns (DEFINE_TILE_ROWWISE): unpacking a super-block needs many registers. */

/* Q4_K (HI5 = 0) and Q5_K (HI5 = 1). */
INLINE void q45_K_kern(TILE_ARGS, const int NR, const int NC, const int HI5)
{
    const int nb = K / QK_K, BS = HI5 ? 176 : 144, QS = HI5 ? 48 : 16;
    const __m256i m4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
    __m256 acc[4][4];
    __m128 accm[4][4];
    for (int r = 0; r < NR; r++)
        for (int c = 0; c < NC; c++) {
            acc[r][c] = _mm256_setzero_ps();
            accm[r][c] = _mm_setzero_ps();
        }
    for (int b = 0; b < nb; b++) {
        __m256i sumi[4][4], scv[4];
        for (int r = 0; r < NR; r++) {
            const uint8_t *blk = W + (size_t)r * ws + (size_t)b * BS;
            uint64_t sc, mn;
            k4_scales(blk + 4, &sc, &mn);
            scv[r] = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc)));
            const __m128i mins = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)mn));
            const float dmw = h2f(((const llmr_half *)blk)[1]);
            for (int c = 0; c < NC; c++) {
                const block_q8_K *xb = COLB(block_q8_K, c, b);
                const __m128i pm = _mm_madd_epi16(mins, bsums32(xb));
                accm[r][c] = _mm_fmadd_ps(_mm_cvtepi32_ps(pm), _mm_set1_ps(xb->d * dmw),
                                          accm[r][c]);
                sumi[r][c] = _mm256_setzero_si256();
            }
            if (NR == 4)
                PREFETCH_NEXT_TILE((size_t)b * BS + r * (BS / 4), BS)
            else
                for (int k = 0; k < BS; k += 64)
                    _mm_prefetch((const char *)blk + PREFETCH_AHEAD + k, _MM_HINT_T0);
        }
        for (int j = 0; j < 4; j++) {          /* 64 values: low nibbles, then high */
            const __m256i cl = bcast16_ctrl(2 * j), ch = bcast16_ctrl(2 * j + 1);
            for (int r = 0; r < NR; r++) {
                const uint8_t *blk = W + (size_t)r * ws + (size_t)b * BS;
                const __m256i bits = _mm256_loadu_si256((const __m256i *)(blk + QS + 32 * j));
                __m256i ql = _mm256_and_si256(bits, m4);
                __m256i qh = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
                if (HI5) {    /* fifth bits: bit 2j (low half) and 2j+1 (high half) of qh */
                    const __m256i hb = _mm256_loadu_si256((const __m256i *)(blk + 16));
                    ql = _mm256_or_si256(ql, _mm256_slli_epi16(
                             _mm256_and_si256(_mm256_srli_epi16(hb, 2 * j), one), 4));
                    qh = _mm256_or_si256(qh, _mm256_slli_epi16(
                             _mm256_and_si256(_mm256_srli_epi16(hb, 2 * j + 1), one), 4));
                }
                const __m256i sl = _mm256_shuffle_epi8(scv[r], cl);
                const __m256i sh = _mm256_shuffle_epi8(scv[r], ch);
                for (int c = 0; c < NC; c++) {
                    const int8_t *y = COLB(block_q8_K, c, b)->qs + 64 * j;
                    sumi[r][c] = KQ_MADD_ACC(sumi[r][c], sl, _mm256_maddubs_epi16(ql,
                                     _mm256_loadu_si256((const __m256i *)y)));
                    sumi[r][c] = KQ_MADD_ACC(sumi[r][c], sh, _mm256_maddubs_epi16(qh,
                                     _mm256_loadu_si256((const __m256i *)(y + 32))));
                }
            }
        }
        for (int r = 0; r < NR; r++) {
            const float dw = h2f(*(const llmr_half *)(W + (size_t)r * ws + (size_t)b * BS));
            for (int c = 0; c < NC; c++)
                acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[r][c]),
                                            _mm256_set1_ps(COLB(block_q8_K, c, b)->d * dw),
                                            acc[r][c]);
        }
    }
    for (int c = 0; c < NC; c++)
        for (int r = 0; r < NR; r++)
            Y[(size_t)c * ldy + r] = hsum8(acc[r][c]) - hsum4(accm[r][c]);
}
INLINE void q4_K_kern(TILE_ARGS, const int NR, const int NC) { q45_K_kern(TILE_PASS, NR, NC, 0); }
INLINE void q5_K_kern(TILE_ARGS, const int NR, const int NC) { q45_K_kern(TILE_PASS, NR, NC, 1); }

DEFINE_TILE_ROWWISE(q4_K_tile, q4_K_kern)
DEFINE_TILE_ROWWISE(q5_K_tile, q5_K_kern)

/* Q6_K: q in 0..63 times y, minus 32 * sum(y) per 16-value sub-block through bsums, both
 * under the same int8 sub-block scale, so the offset folds into the int32 sum. */
INLINE void q6_K_kern(TILE_ARGS, const int NR, const int NC)
{
    const int nb = K / QK_K;
    const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(3);
    __m256 acc[4][4];
    for (int r = 0; r < NR; r++)
        for (int c = 0; c < NC; c++)
            acc[r][c] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        __m256i sumi[4][4], sc_lo[4], sc_hi[4];
        for (int r = 0; r < NR; r++) {
            const block_q6_K *wb = ROWB(block_q6_K, r, b);
            const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)wb->scales));
            /* the -32 offset: sumi starts at -32 * sum_j sc_j * bsum_j */
            for (int c = 0; c < NC; c++) {
                const __m256i bs = _mm256_loadu_si256((const __m256i *)COLB(block_q8_K, c, b)->bsums);
                sumi[r][c] = _mm256_slli_epi32(_mm256_sub_epi32(_mm256_setzero_si256(),
                                               _mm256_madd_epi16(sc16, bs)), 5);
            }
            /* scales 0-7 and 8-15, each copied to both 128-bit lanes for vpshufb */
            sc_lo[r] = _mm256_permute2x128_si256(sc16, sc16, 0x00);
            sc_hi[r] = _mm256_permute2x128_si256(sc16, sc16, 0x11);
            if (NR == 4)
                PREFETCH_NEXT_TILE((size_t)b * sizeof(block_q6_K) + r * 53, 212)
            else
                for (int k = 0; k < 256; k += 64)
                    _mm_prefetch((const char *)wb + PREFETCH_AHEAD + k, _MM_HINT_T0);
        }
        for (int h = 0; h < 2; h++)
            for (int g = 0; g < 4; g++) {      /* 32 values: sub-blocks 8h+2g, 8h+2g+1 */
                /* lane 0 takes scale 2g, lane 1 scale 2g+1 (of this half's 8) */
                const __m256i ctrl = _mm256_set_m128i(
                    _mm_set1_epi16((short)((4 * g + 2) | ((4 * g + 3) << 8))),
                    _mm_set1_epi16((short)((4 * g) | ((4 * g + 1) << 8))));
                for (int r = 0; r < NR; r++) {
                    const block_q6_K *wb = ROWB(block_q6_K, r, b);
                    const __m256i l = _mm256_loadu_si256((const __m256i *)(wb->ql + 64 * h + 32 * (g & 1)));
                    const __m256i hb = _mm256_loadu_si256((const __m256i *)(wb->qh + 32 * h));
                    const __m256i lo = g < 2 ? _mm256_and_si256(l, m4)
                                             : _mm256_and_si256(_mm256_srli_epi16(l, 4), m4);
                    const __m256i hi = _mm256_slli_epi16(
                        _mm256_and_si256(_mm256_srli_epi16(hb, 2 * g), m2), 4);
                    const __m256i q = _mm256_or_si256(lo, hi);
                    const __m256i s = _mm256_shuffle_epi8(h ? sc_hi[r] : sc_lo[r], ctrl);
                    for (int c = 0; c < NC; c++) {
                        const int8_t *y = COLB(block_q8_K, c, b)->qs + 128 * h + 32 * g;
                        sumi[r][c] = KQ_MADD_ACC(sumi[r][c], s, _mm256_maddubs_epi16(q,
                                         _mm256_loadu_si256((const __m256i *)y)));
                    }
                }
            }
        for (int r = 0; r < NR; r++) {
            const float dw = h2f(ROWB(block_q6_K, r, b)->d);
            for (int c = 0; c < NC; c++)
                acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[r][c]),
                                            _mm256_set1_ps(COLB(block_q8_K, c, b)->d * dw),
                                            acc[r][c]);
        }
    }
    STORE_ACC()
}
DEFINE_TILE_ROWWISE(q6_K_tile, q6_K_kern)
