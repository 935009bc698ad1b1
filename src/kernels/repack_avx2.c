/* repack_avx2.c - AVX2 products on the R8 layouts of Q4_0, IQ4_NL and Q8_0 (repack.h), for
 * prompt processing and, with one column, decode. Reached only through the repacked traits
 * table after CPU detection (llmri_repack_avx2_install).
 *
 * An 8-row group's unit for one block is read with one 16-byte load (the 8 scales, one
 * vcvtph2ps) and four or eight 32-byte loads whose lanes already belong to the 8 rows: the
 * products need no transpose (gemm_avx2.c's plain-layout kernel spends a quarter of its
 * block on one) and the group is one contiguous stream, which the hardware prefetchers follow
 * (eight separate row streams they do not).
 *
 * Q4_0: nibbles are unsigned 0..15, so (q - 8) . x = q . x - 8 * sum(x): vpmaddubsw pairs are
 * at most 2 * 15 * 127 = 3810 and the eight steps of a block add up in int16 (30480), widened
 * once; the -8 * sum(x) term is folded into the float step from a per-column table.
 * IQ4_NL (grid values -127..113) and Q8_0 are signed: |w| . (x * sign(w)) keeps vpmaddubsw's
 * first operand unsigned; pairs reach 2 * 128 * 127 = 32512 (a hostile Q8_0 file may hold
 * -128, whose vpsignb "absolute value" 0x80 reads as 128 unsigned), so two steps could reach
 * 65024 and each step is widened before it is added. Activations are Q8_0 (|q| <= 127) as
 * the model layer makes them. Over several columns the signed kinds go half a block at a
 * time (r8_kern_signed) so that the registers hold the columns rather than the weights.
 * Results equal the reference up to the float accumulation order. */
#include "kernels/simd_x86.h"
#include "kernels/repack.h"
#include "kernels/repack_r8.h"

enum { RK_Q4_0, RK_IQ4_NL, RK_Q8_0 };
#define UNIT_BYTES(kind) ((kind) == RK_Q8_0 ? 8 * 34 : 8 * 18)
#define NC_MAX 8
#ifndef PF_AHEAD
/* Software prefetch distance on the weight stream, by kind. Q4_0 (one column over 65536 rows
 * from RAM, one thread, best of 30 alternating with the plain kernel, bench/README.md): 1024
 * bytes ahead ran 0.79-1.67x the plain kernel's rate, 2048 1.06-1.28x, none 0.76-0.95x.
 * Q8_0 keeps 1024 (about four of its 272-byte units): with 2048 its model-level decode ran
 * 10% slower in three quiet alternating pairs, while the plain layout's did not move. */
#define PF_AHEAD(kind) ((kind) == RK_Q8_0 ? 1024 : 2048)
#endif
#if defined(__clang__)
#define UNROLL8 _Pragma("unroll 8")
#else
#define UNROLL8 _Pragma("GCC unroll 8")
#endif

/* 8 rows x NC columns over nb blocks of one group; Y gets 8 outputs per column. */
INLINE void r8_kern(const int KIND, int nb, const uint8_t *G, const uint8_t *X, size_t xs,
                    const r8_col *cols, int cstride, float *Y, size_t ldy, int pf, const int NC)
{
    const __m256i m4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    const __m256i grid = _mm256_broadcastsi128_si256(
        _mm_loadu_si128((const __m128i *)llmr_iq4nl_values));
    __m256 acc[NC_MAX];
    for (int c = 0; c < NC; c++)
        acc[c] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const uint8_t *u = G + (size_t)b * UNIT_BYTES(KIND);
        if (pf)
            for (int o = 0; o < UNIT_BYTES(KIND); o += 64)
                _mm_prefetch((const char *)u + PF_AHEAD(KIND) + o, _MM_HINT_T0);
        __m256i q[8], w[8];     /* q: unsigned operands; w: the signed weights (sign source) */
        if (KIND == RK_Q8_0) {
            for (int s = 0; s < 8; s++) {
                w[s] = _mm256_loadu_si256((const __m256i *)(u + R8_QS + 32 * s));
                q[s] = _mm256_sign_epi8(w[s], w[s]);
            }
        } else {
            for (int s = 0; s < 4; s++) {
                const __m256i t = _mm256_loadu_si256((const __m256i *)(u + R8_QS + 32 * s));
                q[s] = _mm256_and_si256(t, m4);                            /* values 4s.. */
                q[s + 4] = _mm256_and_si256(_mm256_srli_epi16(t, 4), m4);  /* 16 + 4s.. */
            }
            if (KIND == RK_IQ4_NL)
                for (int s = 0; s < 8; s++) {
                    w[s] = _mm256_shuffle_epi8(grid, q[s]);
                    q[s] = _mm256_sign_epi8(w[s], w[s]);
                }
        }
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)u));
        UNROLL8
        for (int c = 0; c < NC; c++) {
            const int8_t *xq = ((const block_q8_0 *)(X + (size_t)c * xs) + b)->qs;
            const r8_col *cb = &cols[(size_t)c * cstride + b];
            __m256 t;
            if (KIND == RK_Q4_0) {
                __m256i s16 = _mm256_maddubs_epi16(q[0], r8_bcast32(xq));
                UNROLL8
                for (int s = 1; s < 8; s++)
                    s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(q[s], r8_bcast32(xq + 4 * s)));
                t = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(s16, ones)),
                                    _mm256_set1_ps(cb->d), _mm256_set1_ps(cb->c));
            } else {
                __m256i s32 = _mm256_setzero_si256();
                UNROLL8
                for (int s = 0; s < 8; s++) {
                    const __m256i p = _mm256_maddubs_epi16(
                        q[s], _mm256_sign_epi8(r8_bcast32(xq + 4 * s), w[s]));
                    s32 = _mm256_add_epi32(s32, _mm256_madd_epi16(p, ones));
                }
                t = _mm256_mul_ps(_mm256_cvtepi32_ps(s32), _mm256_set1_ps(cb->d));
            }
            acc[c] = _mm256_fmadd_ps(dw, t, acc[c]);
        }
    }
    for (int c = 0; c < NC; c++)
        _mm256_storeu_ps(Y + (size_t)c * ldy, acc[c]);
}

/* Slice s (0..7) of a signed kind's unit as signed bytes, lane r = row r. */
INLINE __m256i r8_signed_slice(const int KIND, const uint8_t *u, int s)
{
    if (KIND == RK_Q8_0)
        return _mm256_loadu_si256((const __m256i *)(u + R8_QS + 32 * s));
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const __m256i grid = _mm256_broadcastsi128_si256(
        _mm_loadu_si128((const __m128i *)llmr_iq4nl_values));
    const __m256i t = _mm256_loadu_si256((const __m256i *)(u + R8_QS + 32 * (s & 3)));
    return _mm256_shuffle_epi8(grid, s < 4 ? _mm256_and_si256(t, m4)
                                           : _mm256_and_si256(_mm256_srli_epi16(t, 4), m4));
}

/* IQ4_NL and Q8_0 over NC columns: r8_kern's order keeps all 8 slices of a unit and their
 * absolute values in 16 registers, so with more than one column its accumulators spill
 * (Q8_0 stayed at 4 columns a pass, 31-34 GMAC/s on a Zen 3). Here a unit is met as two
 * halves of 4 slices (8 registers), each against all NC columns, with one int32 partial per
 * column carried from the first half to the second: 8 columns a pass run 1.13-1.2x faster
 * (bench/README.md, "Q8_0 prompt products, half a block at a time"). One column (decode)
 * keeps r8_kern, which streams at the memory rate. */
INLINE void r8_kern_signed(const int KIND, int nb, const uint8_t *G, const uint8_t *X,
                           size_t xs, const r8_col *cols, int cstride, float *Y, size_t ldy,
                           int pf, const int NC)
{
    if (NC == 1) {
        r8_kern(KIND, nb, G, X, xs, cols, cstride, Y, ldy, pf, 1);
        return;
    }
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[NC_MAX];
    for (int c = 0; c < NC; c++)
        acc[c] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const uint8_t *u = G + (size_t)b * UNIT_BYTES(KIND);
        if (pf)
            for (int o = 0; o < UNIT_BYTES(KIND); o += 64)
                _mm_prefetch((const char *)u + PF_AHEAD(KIND) + o, _MM_HINT_T0);
        __m256i s32[NC_MAX];   /* per column: the block's sum so far */
        for (int h = 0; h < 2; h++) {
            __m256i q[4], w[4];
            for (int s = 0; s < 4; s++) {
                w[s] = r8_signed_slice(KIND, u, 4 * h + s);
                q[s] = _mm256_sign_epi8(w[s], w[s]);
            }
            UNROLL8
            for (int c = 0; c < NC; c++) {
                const int8_t *xq = ((const block_q8_0 *)(X + (size_t)c * xs) + b)->qs + 16 * h;
                __m256i p = h ? s32[c] : _mm256_setzero_si256();
                for (int s = 0; s < 4; s++)
                    p = _mm256_add_epi32(p, _mm256_madd_epi16(_mm256_maddubs_epi16(
                        q[s], _mm256_sign_epi8(r8_bcast32(xq + 4 * s), w[s])), ones));
                s32[c] = p;
            }
        }
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)u));
        UNROLL8
        for (int c = 0; c < NC; c++) {
            const __m256 t = _mm256_mul_ps(_mm256_cvtepi32_ps(s32[c]),
                                           _mm256_set1_ps(cols[(size_t)c * cstride + b].d));
            acc[c] = _mm256_fmadd_ps(dw, t, acc[c]);
        }
    }
    for (int c = 0; c < NC; c++)
        _mm256_storeu_ps(Y + (size_t)c * ldy, acc[c]);
}

#ifndef R8_NC_Q4
#define R8_NC_Q4 8
#endif
#ifndef R8_NC_Q8
#define R8_NC_Q8 8
#endif
/* Q4_0's nibbles are q + 8; the signed kinds are used as stored */
R8_DEFINE(q4_0_r8_gemm, r8_kern, RK_Q4_0, R8_NC_Q4, 8.0f)
R8_DEFINE(iq4_nl_r8_gemm, r8_kern_signed, RK_IQ4_NL, R8_NC_Q8, 0.0f)
R8_DEFINE(q8_0_r8_gemm, r8_kern_signed, RK_Q8_0, R8_NC_Q8, 0.0f)

void llmri_repack_avx2_install(llmr_type_traits *t)
{
    llmri_repack_r16_avx2_install(t);   /* F16, BF16: repack_r16_avx2.c */
    t[LLMR_TYPE_Q4_0].gemm = q4_0_r8_gemm;
    t[LLMR_TYPE_IQ4_NL].gemm = iq4_nl_r8_gemm;
    t[LLMR_TYPE_Q8_0].gemm = q8_0_r8_gemm;
    llmri_gemm_kq_r8_avx2_install(t);   /* Q4_K, Q5_K, Q6_K: gemm_kq_avx2.c */
    /* Used by default where they measured faster than the plain kernels on a Zen 3 host,
     * prompt and decode (bench/README.md, "Repacked weights", "Repacked K-quants" and
     * "Decode on the repacked layouts"). Q4_0 and Q6_K joined once their one-column
     * products measured at least as fast as plain from RAM and faster from cache, their
     * prompt products 1.14-1.18x and 1.03-1.06x; at model level the busy host could not
     * tell them apart from plain. */
    t[LLMR_TYPE_Q4_0].by_default = 1;
    t[LLMR_TYPE_IQ4_NL].by_default = 1;
    t[LLMR_TYPE_Q8_0].by_default = 1;
    t[LLMR_TYPE_Q4_K].by_default = 1;
    t[LLMR_TYPE_Q5_K].by_default = 1;
    t[LLMR_TYPE_Q6_K].by_default = 1;
}
