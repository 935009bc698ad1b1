/* kernels_avx2.c - AVX2 + FMA + F16C kernels (built with -mavx2 -mfma -mf16c; reached only
 * through the traits table after CPU detection).
 *
 * Shape of every quantized kernel: a tile of NR weight rows x NC activation columns walks
 * the blocks once; each weight block is unpacked into registers once and multiplied with the
 * NC columns, so prompt processing reads each weight byte once per NC columns and decode
 * (NC = 1, NR = 4) streams four rows side by side. Block products are exact integers
 * (vpmaddubsw: unsigned weight bytes x signed activation bytes, pairs summed in int16 without
 * saturation for these ranges; vpmaddwd widens to int32), then one float FMA per block with
 * the product of the two scales. Only the float accumulation order differs from the
 * reference. */
#include "kernels/simd_x86.h"

/* ---- activation quantizers: the reference arithmetic exactly (see ref_quants.c) ---------- */
INLINE float q8_32(const float *x, int8_t *q, int *sum)
{
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8);
    __m256 v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24);
    __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1)),
                             _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    if (!(amax >= 1e-30f)) {           /* as the reference: tiny blocks become zeros */
        memset(q, 0, 32);
        if (sum)
            *sum = 0;
        return 0.0f;
    }
    const float d = amax / 127.f;
    const __m256 id = _mm256_set1_ps(127.f / amax);
    enum { rn = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC };
    __m256i i0 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v0, id), rn));
    __m256i i1 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v1, id), rn));
    __m256i i2 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v2, id), rn));
    __m256i i3 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v3, id), rn));
    if (sum)
        *sum = hsum8i(_mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3)));
    /* packs work per 128-bit lane: restore the order with a dword permute */
    __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
    p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)q, p);
    return d;
}

static void q8_0_from_float(const float *src, void *dst, int64_t n)
{
    block_q8_0 *y = dst;
    for (int64_t i = 0; i < n / QK8_0; i++)
        y[i].d = f2h(q8_32(src + i * 32, y[i].qs, NULL));
}

static void q8_1_from_float(const float *src, void *dst, int64_t n)
{
    block_q8_1 *y = dst;
    for (int64_t i = 0; i < n / QK8_1; i++) {
        int s;
        float d = q8_32(src + i * 32, y[i].qs, &s);
        y[i].d = f2h(d);
        y[i].s = f2h(d * (float)s);
    }
}

/* Q8_K: the first value of largest magnitude maps to -127 (ggml's quantize_row_q8_K_ref). */
static void q8_K_from_float(const float *src, void *dst, int64_t n)
{
    block_q8_K *y = dst;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
        __m256 m = _mm256_setzero_ps();
        for (int j = 0; j < QK_K; j += 8)
            m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(src + j)));
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        const float amax = _mm_cvtss_f32(m4);
        if (!(amax >= 1e-30f)) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        float max = 0;
        for (int j = 0; j < QK_K; j++)
            if (src[j] == amax || src[j] == -amax) {
                max = src[j];
                break;
            }
        const float iscale = -127.f / max;
        const __m256 is = _mm256_set1_ps(iscale);
        const __m256i lim = _mm256_set1_epi32(127);
        enum { rn = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC };
        for (int j = 0; j < QK_K; j += 32) {
            __m256i v[4];
            for (int k = 0; k < 4; k++)
                v[k] = _mm256_min_epi32(lim, _mm256_cvtps_epi32(_mm256_round_ps(
                           _mm256_mul_ps(is, _mm256_loadu_ps(src + j + 8 * k)), rn)));
            y[i].bsums[j / 16] = (int16_t)hsum8i(_mm256_add_epi32(v[0], v[1]));
            y[i].bsums[j / 16 + 1] = (int16_t)hsum8i(_mm256_add_epi32(v[2], v[3]));
            __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(v[0], v[1]),
                                           _mm256_packs_epi32(v[2], v[3]));
            p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            _mm256_storeu_si256((__m256i *)(y[i].qs + j), p);
        }
        y[i].d = 1 / iscale;
    }
}

/* ---- Q4_0 x Q8_0: (q - 8) . y = q . y - 8 * sum(y), both vpmaddubsw ---------------------- */
INLINE void q4_0_kern(TILE_ARGS, const int NR, const int NC)
{
    const int nb = K / QK4_0;
    const __m256i ones = _mm256_set1_epi16(1), eight = _mm256_set1_epi8(8);
    __m256 acc[4][4];
    for (int r = 0; r < NR; r++)
        for (int c = 0; c < NC; c++)
            acc[r][c] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        __m256i q[4];
        __m256 dw[4];
        for (int r = 0; r < NR; r++) {
            const block_q4_0 *wb = ROWB(block_q4_0, r, b);
            _mm_prefetch((const char *)wb + PREFETCH_AHEAD, _MM_HINT_T0);
            q[r] = nibbles32(wb->qs);
            dw[r] = _mm256_set1_ps(h2f(wb->d));
        }
        for (int c = 0; c < NC; c++) {
            const block_q8_0 *xb = COLB(block_q8_0, c, b);
            const __m256i y = _mm256_loadu_si256((const __m256i *)xb->qs);
            const __m256i s8 = _mm256_maddubs_epi16(eight, y);
            const __m256 dy = _mm256_set1_ps(h2f(xb->d));
            for (int r = 0; r < NR; r++) {
                __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(q[r], y), s8);
                p = _mm256_madd_epi16(p, ones);
                acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_mul_ps(dw[r], dy),
                                            acc[r][c]);
            }
        }
    }
    STORE_ACC()
}

/* Four rows: the int16 pair sums of the rows are merged by two levels of vphaddw (each lane
 * then holds 8 products of one row: |sum| <= 8 * 8 * 128 fits int16), widened once. */
INLINE void q4_0_kern4(TILE_ARGS, const int NC)
{
    const int nb = K / QK4_0;
    const __m256i ones = _mm256_set1_epi16(1), eight = _mm256_set1_epi8(8);
    __m256 acc[4];
    for (int c = 0; c < NC; c++)
        acc[c] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        PREFETCH_NEXT_TILE((size_t)b * sizeof(block_q4_0), 4 * (int)sizeof(block_q4_0))
        __m256i q[4];
        for (int r = 0; r < 4; r++)
            q[r] = nibbles32(ROWB(block_q4_0, r, b)->qs);
        const __m256 sw = scales4(W, ws, (size_t)b * sizeof(block_q4_0));
        for (int c = 0; c < NC; c++) {
            const block_q8_0 *xb = COLB(block_q8_0, c, b);
            const __m256i y = _mm256_loadu_si256((const __m256i *)xb->qs);
            const __m256i s8 = _mm256_maddubs_epi16(eight, y);
            __m256i p[4];
            for (int r = 0; r < 4; r++)
                p[r] = _mm256_sub_epi16(_mm256_maddubs_epi16(q[r], y), s8);
            const __m256i h = _mm256_hadd_epi16(_mm256_hadd_epi16(p[0], p[1]),
                                                _mm256_hadd_epi16(p[2], p[3]));
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(h, ones)),
                                     _mm256_mul_ps(sw, _mm256_set1_ps(h2f(xb->d))), acc[c]);
        }
    }
    store4(acc, NC, Y, ldy);
}
DEFINE_TILE(q4_0_tile, q4_0_kern, q4_0_kern4)

/* ---- Q8_0 x Q8_0: |w| . (y * sign(w)) keeps vpmaddubsw's first operand unsigned --------- */
INLINE void q8_0_kern(TILE_ARGS, const int NR, const int NC)
{
    const int nb = K / QK8_0;
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[4][4];
    for (int r = 0; r < NR; r++)
        for (int c = 0; c < NC; c++)
            acc[r][c] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        __m256i q[4], aq[4];
        __m256 dw[4];
        for (int r = 0; r < NR; r++) {
            const block_q8_0 *wb = ROWB(block_q8_0, r, b);
            _mm_prefetch((const char *)wb + PREFETCH_AHEAD, _MM_HINT_T0);
            q[r] = _mm256_loadu_si256((const __m256i *)wb->qs);
            aq[r] = _mm256_sign_epi8(q[r], q[r]);
            dw[r] = _mm256_set1_ps(h2f(wb->d));
        }
        for (int c = 0; c < NC; c++) {
            const block_q8_0 *xb = COLB(block_q8_0, c, b);
            const __m256i y = _mm256_loadu_si256((const __m256i *)xb->qs);
            const __m256 dy = _mm256_set1_ps(h2f(xb->d));
            for (int r = 0; r < NR; r++) {
                __m256i p = _mm256_maddubs_epi16(aq[r], _mm256_sign_epi8(y, q[r]));
                p = _mm256_madd_epi16(p, ones);
                acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_mul_ps(dw[r], dy),
                                            acc[r][c]);
            }
        }
    }
    STORE_ACC()
}

/* Four rows: pair sums reach 2*128*127, too big to merge in int16; widen, then merge. */
INLINE void q8_0_kern4(TILE_ARGS, const int NC)
{
    const int nb = K / QK8_0;
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[4];
    for (int c = 0; c < NC; c++)
        acc[c] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        PREFETCH_NEXT_TILE((size_t)b * sizeof(block_q8_0), 4 * (int)sizeof(block_q8_0))
        __m256i q[4], aq[4];
        for (int r = 0; r < 4; r++) {
            q[r] = _mm256_loadu_si256((const __m256i *)ROWB(block_q8_0, r, b)->qs);
            aq[r] = _mm256_sign_epi8(q[r], q[r]);
        }
        const __m256 sw = scales4(W, ws, (size_t)b * sizeof(block_q8_0));
        for (int c = 0; c < NC; c++) {
            const block_q8_0 *xb = COLB(block_q8_0, c, b);
            const __m256i y = _mm256_loadu_si256((const __m256i *)xb->qs);
            __m256i p[4];
            for (int r = 0; r < 4; r++)
                p[r] = _mm256_madd_epi16(_mm256_maddubs_epi16(aq[r], _mm256_sign_epi8(y, q[r])),
                                         ones);
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(merge4_epi32(p[0], p[1], p[2], p[3])),
                                     _mm256_mul_ps(sw, _mm256_set1_ps(h2f(xb->d))), acc[c]);
        }
    }
    store4(acc, NC, Y, ldy);
}
DEFINE_TILE(q8_0_tile, q8_0_kern, q8_0_kern4)

/* ---- the other 32-value types: Q4_1 and Q5_1 (x Q8_1), Q5_0 and IQ4_NL (x Q8_0) --------
 * One kernel shape: unpack a block to 32 bytes, multiply with vpmaddubsw, then per type
 *   Q5_0:   q in 0..31, (q - 16) . y = q . y - 16 * sum(y)
 *   Q4_1/Q5_1: q unsigned, d*q + m: dw*dy*(q . y) + m * s, Q8_1's s = dy * sum(y)
 *   IQ4_NL: q = table[nibble] is signed: |q| . (y * sign(q)), as Q8_0. */
enum { T_Q4_1, T_Q5_0, T_Q5_1, T_IQ4_NL };

/* 32 fifth bits (little-endian u32 at p) -> 0x10 in each byte whose bit is set. */
INLINE __m256i bits32_x10(const uint8_t *p)
{
    uint32_t qh;
    memcpy(&qh, p, 4);
    const __m256i shuf = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                          2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)qh), shuf);
    /* byte i keeps bit i%8: or in every other bit, then compare with all ones */
    v = _mm256_or_si256(v, _mm256_set1_epi64x((long long)0x7fbfdfeff7fbfdfeull));
    v = _mm256_cmpeq_epi8(v, _mm256_set1_epi64x(-1));
    return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

INLINE void q32_kern(TILE_ARGS, const int NR, const int NC, const int T)
{
    const int BS = T == T_Q4_1 ? 20 : T == T_Q5_0 ? 22 : T == T_Q5_1 ? 24 : 18;
    const int XS = (T == T_Q4_1 || T == T_Q5_1) ? 36 : 34;    /* Q8_1 or Q8_0 block */
    const int nb = K / 32;
    const __m256i ones = _mm256_set1_epi16(1), sixteen = _mm256_set1_epi8(16);
    const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)llmr_iq4nl_values));
    __m256 acc[4][4];
    float accm[4][4];
    for (int r = 0; r < NR; r++)
        for (int c = 0; c < NC; c++) {
            acc[r][c] = _mm256_setzero_ps();
            accm[r][c] = 0;
        }
    for (int b = 0; b < nb; b++) {
        __m256i q[4];
        __m256 dw[4];
        float mw[4];
        for (int r = 0; r < NR; r++) {
            const uint8_t *blk = W + (size_t)r * ws + (size_t)b * BS;
            _mm_prefetch((const char *)blk + PREFETCH_AHEAD, _MM_HINT_T0);
            const llmr_half *h = (const llmr_half *)blk;
            dw[r] = _mm256_set1_ps(h2f(h[0]));
            mw[r] = (T == T_Q4_1 || T == T_Q5_1) ? h2f(h[1]) : 0.0f;
            if (T == T_Q4_1)
                q[r] = nibbles32(blk + 4);
            else if (T == T_Q5_0)
                q[r] = _mm256_or_si256(nibbles32(blk + 6), bits32_x10(blk + 2));
            else if (T == T_Q5_1)
                q[r] = _mm256_or_si256(nibbles32(blk + 8), bits32_x10(blk + 4));
            else
                q[r] = _mm256_shuffle_epi8(table, nibbles32(blk + 2));
        }
        for (int c = 0; c < NC; c++) {
            const uint8_t *xb = X + (size_t)c * xs + (size_t)b * XS;
            const llmr_half *xh = (const llmr_half *)xb;
            const __m256i y = _mm256_loadu_si256((const __m256i *)(xb + XS - 32));
            const __m256 dy = _mm256_set1_ps(h2f(xh[0]));
            const __m256i s16 = T == T_Q5_0 ? _mm256_maddubs_epi16(sixteen, y) : y;
            for (int r = 0; r < NR; r++) {
                __m256i p;
                if (T == T_IQ4_NL)
                    p = _mm256_maddubs_epi16(_mm256_sign_epi8(q[r], q[r]), _mm256_sign_epi8(y, q[r]));
                else if (T == T_Q5_0)
                    p = _mm256_sub_epi16(_mm256_maddubs_epi16(q[r], y), s16);
                else
                    p = _mm256_maddubs_epi16(q[r], y);
                p = _mm256_madd_epi16(p, ones);
                acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_mul_ps(dw[r], dy),
                                            acc[r][c]);
                if (T == T_Q4_1 || T == T_Q5_1)
                    accm[r][c] += mw[r] * h2f(xh[1]);
            }
        }
    }
    for (int c = 0; c < NC; c++)
        for (int r = 0; r < NR; r++)
            Y[(size_t)c * ldy + r] = hsum8(acc[r][c]) + accm[r][c];
}
INLINE void q4_1_kern(TILE_ARGS, const int NR, const int NC) { q32_kern(TILE_PASS, NR, NC, T_Q4_1); }
INLINE void q5_0_kern(TILE_ARGS, const int NR, const int NC) { q32_kern(TILE_PASS, NR, NC, T_Q5_0); }
INLINE void q5_1_kern(TILE_ARGS, const int NR, const int NC) { q32_kern(TILE_PASS, NR, NC, T_Q5_1); }
INLINE void iq4_nl_kern(TILE_ARGS, const int NR, const int NC) { q32_kern(TILE_PASS, NR, NC, T_IQ4_NL); }
/* these run two rows at a time: fewer registers than the 4-row tiles need */
#define TWO_ROWS(name, kern)                                                               \
    INLINE void name(TILE_ARGS, const int NC)                                              \
    {                                                                                      \
        kern(TILE_PASS, 2, NC);                                                            \
        kern(K, W + 2 * ws, ws, X, xs, Y + 2, ldy, 2, NC);                                 \
    }
TWO_ROWS(q4_1_kern4, q4_1_kern)
TWO_ROWS(q5_0_kern4, q5_0_kern)
TWO_ROWS(q5_1_kern4, q5_1_kern)
TWO_ROWS(iq4_nl_kern4, iq4_nl_kern)
DEFINE_TILE(q4_1_tile, q4_1_kern, q4_1_kern4)
DEFINE_TILE(q5_0_tile, q5_0_kern, q5_0_kern4)
DEFINE_TILE(q5_1_tile, q5_1_kern, q5_1_kern4)
DEFINE_TILE(iq4_nl_tile, iq4_nl_kern, iq4_nl_kern4)

/* acc + the int32 pair sums of s * p, for tile_kq_x86.h */
#define KQ_MADD_ACC(acc, s, p) _mm256_add_epi32((acc), _mm256_madd_epi16((s), (p)))
#include "kernels/tile_kq_x86.h"

/* ---- F16 and BF16: convert 8 values at a time, FMA in f32 ------------------------------- */
INLINE __m256 ld_bf16(const uint8_t *p)
{
    return _mm256_castsi256_ps(_mm256_slli_epi32(
        _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}

INLINE __m256 ld_f32(const uint8_t *p) { return _mm256_loadu_ps((const float *)p); }
INLINE float sc_f16(const uint8_t *p) { uint16_t h; memcpy(&h, p, 2); return h2f(h); }
INLINE float sc_bf16(const uint8_t *p) { uint16_t h; memcpy(&h, p, 2); return llmri_bf16_to_fp32(h); }
INLINE float sc_f32(const uint8_t *p) { float f; memcpy(&f, p, 4); return f; }

/* NR x NC float tile: 8 values per step, ES bytes per value; a K that is not a multiple of 8
 * (attention over a KV cache of any length) finishes with scalar steps. */
#define FLOAT_KERN(name, LD, SC, ES)                                                       \
    INLINE void name(TILE_ARGS, const int NR, const int NC)                               \
    {                                                                                      \
        __m256 acc[4][4];                                                                  \
        for (int r = 0; r < NR; r++)                                                       \
            for (int c = 0; c < NC; c++)                                                   \
                acc[r][c] = _mm256_setzero_ps();                                           \
        const int K8 = K & ~7;                                                             \
        for (int k = 0; k < K8; k += 8) {                                                  \
            __m256 w[4];                                                                   \
            for (int r = 0; r < NR; r++) {                                                 \
                const uint8_t *p = W + (size_t)r * ws + ES * (size_t)k;                    \
                _mm_prefetch((const char *)p + PREFETCH_AHEAD, _MM_HINT_T0);               \
                w[r] = LD(p);                                                              \
            }                                                                              \
            for (int c = 0; c < NC; c++) {                                                 \
                const __m256 x = LD(X + (size_t)c * xs + ES * (size_t)k);                  \
                for (int r = 0; r < NR; r++)                                               \
                    acc[r][c] = _mm256_fmadd_ps(w[r], x, acc[r][c]);                       \
            }                                                                              \
        }                                                                                  \
        for (int c = 0; c < NC; c++)                                                       \
            for (int r = 0; r < NR; r++) {                                                 \
                float t = hsum8(acc[r][c]);                                                \
                for (int k = K8; k < K; k++)                                               \
                    t += SC(W + (size_t)r * ws + ES * (size_t)k) *                         \
                         SC(X + (size_t)c * xs + ES * (size_t)k);                          \
                Y[(size_t)c * ldy + r] = t;                                                \
            }                                                                              \
    }                                                                                      \
    INLINE void name##4(TILE_ARGS, const int NC) { name(TILE_PASS, 4, NC); }

/* Single-row float dots keep four accumulators in flight to hide the FMA latency. */
#define FLOAT_VEC_DOT(name, LD, SC, ES)                                                    \
    static void name(int n, float *s, const void *wv, const void *xv)                      \
    {                                                                                      \
        const uint8_t *w = wv, *x = xv;                                                    \
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                        \
        int k = 0;                                                                         \
        for (; k + 32 <= n; k += 32) {                                                     \
            _mm_prefetch((const char *)w + ES * k + PREFETCH_AHEAD, _MM_HINT_T0);          \
            a0 = _mm256_fmadd_ps(LD(w + ES * k), LD(x + ES * k), a0);                      \
            a1 = _mm256_fmadd_ps(LD(w + ES * (k + 8)), LD(x + ES * (k + 8)), a1);          \
            a2 = _mm256_fmadd_ps(LD(w + ES * (k + 16)), LD(x + ES * (k + 16)), a2);        \
            a3 = _mm256_fmadd_ps(LD(w + ES * (k + 24)), LD(x + ES * (k + 24)), a3);        \
        }                                                                                  \
        for (; k + 8 <= n; k += 8)                                                         \
            a0 = _mm256_fmadd_ps(LD(w + ES * k), LD(x + ES * k), a0);                      \
        float r = hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));      \
        for (; k < n; k++)                                                                 \
            r += SC(w + ES * k) * SC(x + ES * k);                                          \
        *s = r;                                                                            \
    }

FLOAT_KERN(f16_kern, ld_f16, sc_f16, 2)
FLOAT_KERN(bf16_kern, ld_bf16, sc_bf16, 2)
FLOAT_KERN(f32_kern, ld_f32, sc_f32, 4)
DEFINE_TILE(f16_tile, f16_kern, f16_kern4)
DEFINE_TILE(bf16_tile, bf16_kern, bf16_kern4)
DEFINE_TILE(f32_tile, f32_kern, f32_kern4)
FLOAT_VEC_DOT(f16_vec_dot, ld_f16, sc_f16, 2)
FLOAT_VEC_DOT(bf16_vec_dot, ld_bf16, sc_bf16, 2)
FLOAT_VEC_DOT(f32_vec_dot, ld_f32, sc_f32, 4)

static void f16_to_float(const void *src, float *dst, int64_t n)
{
    f16_row_to_f32(src, dst, n);
}

static void f16_from_float(const float *src, void *dst, int64_t n)
{
    uint16_t *d = dst;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(d + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++)
        d[i] = f2h(src[i]);
}

void llmri_kernels_avx2_install(llmr_type_traits *t)
{
    t[LLMR_TYPE_Q8_0].from_float = q8_0_from_float;
    t[LLMR_TYPE_Q8_1].from_float = q8_1_from_float;
    t[LLMR_TYPE_Q8_K].from_float = q8_K_from_float;

    t[LLMR_TYPE_Q4_0].vec_dot = q4_0_tile_vec_dot;
    t[LLMR_TYPE_Q4_0].tile = q4_0_tile;
    t[LLMR_TYPE_Q8_0].vec_dot = q8_0_tile_vec_dot;
    t[LLMR_TYPE_Q8_0].tile = q8_0_tile;
    t[LLMR_TYPE_Q4_1].vec_dot = q4_1_tile_vec_dot;
    t[LLMR_TYPE_Q4_1].tile = q4_1_tile;
    t[LLMR_TYPE_Q5_0].vec_dot = q5_0_tile_vec_dot;
    t[LLMR_TYPE_Q5_0].tile = q5_0_tile;
    t[LLMR_TYPE_Q5_1].vec_dot = q5_1_tile_vec_dot;
    t[LLMR_TYPE_Q5_1].tile = q5_1_tile;
    t[LLMR_TYPE_IQ4_NL].vec_dot = iq4_nl_tile_vec_dot;
    t[LLMR_TYPE_IQ4_NL].tile = iq4_nl_tile;
    t[LLMR_TYPE_Q4_K].vec_dot = q4_K_tile_vec_dot;
    t[LLMR_TYPE_Q4_K].tile = q4_K_tile;
    t[LLMR_TYPE_Q5_K].vec_dot = q5_K_tile_vec_dot;
    t[LLMR_TYPE_Q5_K].tile = q5_K_tile;
    t[LLMR_TYPE_Q6_K].vec_dot = q6_K_tile_vec_dot;
    t[LLMR_TYPE_Q6_K].tile = q6_K_tile;

    t[LLMR_TYPE_F16].vec_dot = f16_vec_dot;
    t[LLMR_TYPE_F16].tile = f16_tile;
    t[LLMR_TYPE_F16].to_float = f16_to_float;
    t[LLMR_TYPE_F16].from_float = f16_from_float;
    t[LLMR_TYPE_BF16].vec_dot = bf16_vec_dot;
    t[LLMR_TYPE_BF16].tile = bf16_tile;
    t[LLMR_TYPE_F32].vec_dot = f32_vec_dot;
    t[LLMR_TYPE_F32].tile = f32_tile;
    llmri_gemm_avx2_install(t);
    llmri_kernels_kq_avx2_install(t);
}
