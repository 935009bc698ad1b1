/* attn_kern_simd.h - the attention tile kernels (attn_kern.h) written once over a vector of AKW
 * floats, compiled by attn_kern_avx2.c (AKW 8) and attn_kern_avx512.c (AKW 16), each of which
 * defines the vector operations below before including this file:
 *   AKV, AKW, VZERO(), VLOAD(p), VSTORE(p, v), VSET1(x), VFMA(a, b, c) = a * b + c, VMUL, VADD,
 *   VSUB, VDIV, VMAX(a, b) and VMIN(a, b) (the second operand when either is NaN, as
 *   vmaxps / vminps), VHSUM(v), VHMAX(v), VEXP2I(p, t, magic) (p * 2^k, k = the bits of t
 *   minus those of magic, added to p's exponent bits), VZERO_LT(r, x, t) (r where x is not below t,
 *   0 there; NaN is not below), QK_R and PV_R (columns per micro-kernel), ATTN_TABLE (the
 *   table's name).
 * The conversions and the transpose use 8-lane AVX2/F16C code in both builds.
 *
 * The micro-kernels, whose register budget fixes their shape:
 *  - qk: QK_R columns x 2W keys of accumulators (AVX2 6 x 16: 12 of 16 ymm; AVX-512 12 x 32:
 *    24 of 32 zmm); per dimension two loads of the transposed keys, QK_R broadcasts of q and
 *    2 QK_R FMAs, so the FMA units, not the loads, set the pace.
 *  - pv: PV_R columns x 2W dimensions of v, the same shape with p broadcast.
 * Partial blocks (fewer columns, the last dimensions) use the same code with smaller
 * constants: every kernel is an always-inlined body instantiated per row count.
 */
#include "model/attn_kern.h"

#include "gguf/gguf.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#define AK_INLINE static inline __attribute__((always_inline))
#define AK_T ATT_KV_TILE

/* exp(x) for a vector: 2^k * e^r, k = round(x / ln 2) by the 1.5 * 2^23 trick, r = x - k ln 2
 * in two parts (Cody-Waite), e^r by its degree-6 Taylor polynomial (|r| <= ln 2 / 2: relative
 * error below 2e-7). x is clamped to [-87, 88] (so 2^k stays a normal float) and the result is
 * 0 below -87: a masked score (-inf) gives exactly 0. NaN stays NaN (VMAX / VMIN return it,
 * VZERO_LT keeps it). */
AK_INLINE AKV ak_exp(AKV x)
{
    const AKV xc = VMIN(VSET1(88.0f), VMAX(VSET1(-87.0f), x));
    const AKV magic = VSET1(12582912.0f);
    const AKV t = VFMA(xc, VSET1(1.44269504088896341f), magic);
    const AKV kf = VSUB(t, magic);
    AKV r = VFMA(kf, VSET1(-0.693359375f), xc);
    r = VFMA(kf, VSET1(2.12194440e-4f), r);
    AKV p = VSET1(1.0f / 720.0f);
    p = VFMA(p, r, VSET1(1.0f / 120.0f));
    p = VFMA(p, r, VSET1(1.0f / 24.0f));
    p = VFMA(p, r, VSET1(1.0f / 6.0f));
    p = VFMA(p, r, VSET1(0.5f));
    p = VFMA(p, r, VSET1(1.0f));
    p = VFMA(p, r, VSET1(1.0f));
    return VZERO_LT(VEXP2I(p, t, magic), x, VSET1(-87.0f));
}

/* cap * tanh(x / cap), tanh(v) = 1 - 2 / (1 + exp(2v)) */
AK_INLINE AKV ak_softcap(AKV x, AKV cap, AKV two_over_cap)
{
    const AKV e = ak_exp(VMUL(x, two_over_cap));
    const AKV one = VSET1(1.0f);
    return VMUL(cap, VSUB(one, VDIV(VSET1(2.0f), VADD(one, e))));
}

/* ---- conversions (8 lanes) ------------------------------------------------------------- */

static void ak_to_float(int type, const uint8_t *src, size_t stride, int n, int hd, float *dst)
{
    for (int i = 0; i < n; i++) {
        const uint8_t *r = src + (size_t)i * stride;
        float *o = dst + (size_t)i * hd;
        if (type == LLMR_TYPE_F32) {
            memcpy(o, r, (size_t)hd * sizeof(float));
        } else if (type == LLMR_TYPE_F16) {
            int d = 0;
            for (; d + 8 <= hd; d += 8)
                _mm256_storeu_ps(o + d,
                                 _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(r + 2 * d))));
            for (; d < hd; d++) {
                uint16_t h;
                memcpy(&h, r + 2 * d, 2);
                o[d] = llmri_fp16_to_fp32(h);
            }
        } else if (type == LLMR_TYPE_Q8_0) {
            for (int b = 0; b < hd / 32; b++, r += 34) {
                uint16_t h;
                memcpy(&h, r, 2);
                const __m256 d = _mm256_set1_ps(llmri_fp16_to_fp32(h));
                for (int j = 0; j < 32; j += 8) {
                    const __m256i q = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(r + 2 + j)));
                    _mm256_storeu_ps(o + 32 * b + j, _mm256_mul_ps(d, _mm256_cvtepi32_ps(q)));
                }
            }
        } else {   /* Q4_0: low nibbles are values 0-15, high nibbles 16-31, both minus 8 */
            for (int b = 0; b < hd / 32; b++, r += 18) {
                uint16_t h;
                memcpy(&h, r, 2);
                const __m256 d = _mm256_set1_ps(llmri_fp16_to_fp32(h));
                const __m128i x = _mm_loadu_si128((const __m128i *)(r + 2)), m = _mm_set1_epi8(15);
                const __m128i lo = _mm_and_si128(x, m), hi = _mm_and_si128(_mm_srli_epi16(x, 4), m);
                const __m128i q[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
                for (int j = 0; j < 4; j++) {
                    const __m256i v = _mm256_sub_epi32(_mm256_cvtepu8_epi32(q[j]), _mm256_set1_epi32(8));
                    _mm256_storeu_ps(o + 32 * b + 8 * j, _mm256_mul_ps(d, _mm256_cvtepi32_ps(v)));
                }
            }
        }
    }
}

/* 8 x 8 blocks through registers (unpack, shuffle, lane permute); a partial last block of keys
 * and dimensions past a multiple of 8 go one value at a time. */
static void ak_transpose(const float *k, int n, int hd, float *kt)
{
    const int n8 = n & ~7, d8 = hd & ~7;
    for (int i = 0; i < n8; i += 8)
        for (int d = 0; d < d8; d += 8) {
            __m256 r[8], t[8];
            for (int j = 0; j < 8; j++)
                r[j] = _mm256_loadu_ps(k + (size_t)(i + j) * hd + d);
            for (int j = 0; j < 8; j += 2) {
                t[j] = _mm256_unpacklo_ps(r[j], r[j + 1]);
                t[j + 1] = _mm256_unpackhi_ps(r[j], r[j + 1]);
            }
            for (int j = 0; j < 8; j += 4) {
                r[j] = _mm256_shuffle_ps(t[j], t[j + 2], 0x44);
                r[j + 1] = _mm256_shuffle_ps(t[j], t[j + 2], 0xee);
                r[j + 2] = _mm256_shuffle_ps(t[j + 1], t[j + 3], 0x44);
                r[j + 3] = _mm256_shuffle_ps(t[j + 1], t[j + 3], 0xee);
            }
            for (int j = 0; j < 4; j++) {
                _mm256_storeu_ps(kt + (size_t)(d + j) * AK_T + i,
                                 _mm256_permute2f128_ps(r[j], r[j + 4], 0x20));
                _mm256_storeu_ps(kt + (size_t)(d + j + 4) * AK_T + i,
                                 _mm256_permute2f128_ps(r[j], r[j + 4], 0x31));
            }
        }
    for (int d = 0; d < hd; d++) {
        float *row = kt + (size_t)d * AK_T;
        for (int i = d < d8 ? n8 : 0; i < n; i++)
            row[i] = k[(size_t)i * hd + d];
        for (int i = n; i < AK_T; i++)
            row[i] = 0.0f;
    }
}

/* ---- q.k -------------------------------------------------------------------------------- */

/* R columns x 2W keys starting at key i0 */
AK_INLINE void qk_block(float *s, const float *q, const float *kt, int hd, int i0, const int R)
{
    AKV acc[QK_R][2];
    for (int r = 0; r < R; r++)
        acc[r][0] = acc[r][1] = VZERO();
    for (int d = 0; d < hd; d++) {
        const AKV k0 = VLOAD(kt + (size_t)d * AK_T + i0), k1 = VLOAD(kt + (size_t)d * AK_T + i0 + AKW);
        for (int r = 0; r < R; r++) {
            const AKV x = VSET1(q[(size_t)r * hd + d]);
            acc[r][0] = VFMA(x, k0, acc[r][0]);
            acc[r][1] = VFMA(x, k1, acc[r][1]);
        }
    }
    for (int r = 0; r < R; r++) {
        VSTORE(s + (size_t)r * AK_T + i0, acc[r][0]);
        VSTORE(s + (size_t)r * AK_T + i0 + AKW, acc[r][1]);
    }
}

/* one instantiation per column count, so that every loop over r unrolls and acc stays in
 * registers */
#define AK_CASES_6(F, ...)                                                                    \
    case 1: F(__VA_ARGS__, 1); break; case 2: F(__VA_ARGS__, 2); break;                       \
    case 3: F(__VA_ARGS__, 3); break; case 4: F(__VA_ARGS__, 4); break;                       \
    case 5: F(__VA_ARGS__, 5); break; case 6: F(__VA_ARGS__, 6); break;
#define AK_CASES_12(F, ...)                                                                   \
    AK_CASES_6(F, __VA_ARGS__)                                                                \
    case 7: F(__VA_ARGS__, 7); break; case 8: F(__VA_ARGS__, 8); break;                       \
    case 9: F(__VA_ARGS__, 9); break; case 10: F(__VA_ARGS__, 10); break;                     \
    case 11: F(__VA_ARGS__, 11); break; case 12: F(__VA_ARGS__, 12); break;
#if QK_R == 6 && PV_R == 6
#define AK_CASES AK_CASES_6
#elif QK_R == 12 && PV_R == 12
#define AK_CASES AK_CASES_12
#else
#error "QK_R and PV_R: 6 or 12"
#endif

static void ak_qk(float *s, const float *q, int nc, const float *kt, int hd)
{
    for (int c = 0; c < nc; c += QK_R) {
        const int R = nc - c < QK_R ? nc - c : QK_R;
        float *sc = s + (size_t)c * AK_T;
        const float *qc = q + (size_t)c * hd;
        for (int i0 = 0; i0 < AK_T; i0 += 2 * AKW)
            switch (R) { AK_CASES(qk_block, sc, qc, kt, hd, i0) }
    }
}

/* ---- the direct kernels (few columns), 8 lanes in both builds ---------------------------- */

/* Values d..d+7 of a cache row of `type` (d a multiple of 8; quantized rows: blocks of 32, so
 * the 8 values lie in one block). */
AK_INLINE __m256 ak_row8(const uint8_t *r, int d, const int type)
{
    if (type == LLMR_TYPE_F32)
        return _mm256_loadu_ps((const float *)(const void *)r + d);
    if (type == LLMR_TYPE_F16)
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(r + 2 * d)));
    const int j = d % 32;
    uint16_t h;
    if (type == LLMR_TYPE_Q8_0) {
        r += d / 32 * 34;
        memcpy(&h, r, 2);
        const __m256i q = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(r + 2 + j)));
        return _mm256_mul_ps(_mm256_cvtph_ps(_mm_set1_epi16((short)h)), _mm256_cvtepi32_ps(q));
    }
    r += d / 32 * 18;   /* Q4_0: values 0-15 the low nibbles, 16-31 the high ones */
    memcpy(&h, r, 2);
    __m128i x = _mm_loadl_epi64((const __m128i *)(const void *)(r + 2 + (j & 15)));
    if (j >= 16)
        x = _mm_srli_epi16(x, 4);
    x = _mm_and_si128(x, _mm_set1_epi8(15));
    const __m256i q = _mm256_sub_epi32(_mm256_cvtepu8_epi32(x), _mm256_set1_epi32(8));
    return _mm256_mul_ps(_mm256_cvtph_ps(_mm_set1_epi16((short)h)), _mm256_cvtepi32_ps(q));
}

/* Lane j = the sum of a[j]'s lanes, for 8 vectors (a horizontal-add tree). */
AK_INLINE __m256 ak_sum8(const __m256 a[8])
{
    const __m256 t0 = _mm256_hadd_ps(a[0], a[1]), t1 = _mm256_hadd_ps(a[2], a[3]);
    const __m256 t2 = _mm256_hadd_ps(a[4], a[5]), t3 = _mm256_hadd_ps(a[6], a[7]);
    const __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
    return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

/* KB keys from key i x R columns: R * KB <= 8 accumulators over the dimensions, reduced by one
 * tree (KB > 1 keeps 8 chains in flight when R is small). Dimensions past a multiple of 8
 * (F32 / F16 rows only) are added one at a time. */
AK_INLINE void qkd_block(float *s, const float *q, int hd, const uint8_t *k, size_t stride,
                         int i, const int type, const int R, const int KB)
{
    __m256 acc[8];
    for (int a = 0; a < 8; a++)
        acc[a] = _mm256_setzero_ps();
    const int h8 = hd & ~7;
    const uint8_t *kr = k + (size_t)i * stride;
    for (int d = 0; d < h8; d += 8) {
        const float *qd = q + (size_t)d * R;   /* the blocked layout: [d / 8][R][8] */
        for (int b = 0; b < KB; b++) {
            const __m256 kv = ak_row8(kr + (size_t)b * stride, d, type);
            for (int r = 0; r < R; r++)
                acc[b * R + r] = _mm256_fmadd_ps(_mm256_loadu_ps(qd + 8 * r), kv, acc[b * R + r]);
        }
    }
    float t[8];
    _mm256_storeu_ps(t, ak_sum8(acc));
    for (int b = 0; b < KB; b++)
        for (int r = 0; r < R; r++) {
            float x = t[b * R + r];
            for (int d = h8; d < hd; d++) {
                const uint8_t *row = k + (size_t)(i + b) * stride;
                float kd;
                if (type == LLMR_TYPE_F32) {
                    memcpy(&kd, row + 4 * d, 4);
                } else {
                    uint16_t h;
                    memcpy(&h, row + 2 * d, 2);
                    kd = llmri_fp16_to_fp32(h);
                }
                x += q[(size_t)h8 * R + (size_t)r * (hd - h8) + (size_t)(d - h8)] * kd;
            }
            s[(size_t)r * AK_T + i + b] = x;
        }
}

/* 8 x 8 transpose in registers: t[j] lane l <- t[l] lane j */
AK_INLINE void ak_tr8(__m256 t[8])
{
    __m256 u[8];
    for (int j = 0; j < 8; j += 2) {
        u[j] = _mm256_unpacklo_ps(t[j], t[j + 1]);
        u[j + 1] = _mm256_unpackhi_ps(t[j], t[j + 1]);
    }
    for (int j = 0; j < 8; j += 4) {
        t[j] = _mm256_shuffle_ps(u[j], u[j + 2], 0x44);
        t[j + 1] = _mm256_shuffle_ps(u[j], u[j + 2], 0xee);
        t[j + 2] = _mm256_shuffle_ps(u[j + 1], u[j + 3], 0x44);
        t[j + 3] = _mm256_shuffle_ps(u[j + 1], u[j + 3], 0xee);
    }
    for (int j = 0; j < 4; j++) {
        u[j] = _mm256_permute2f128_ps(t[j], t[j + 4], 0x20);
        u[j + 4] = _mm256_permute2f128_ps(t[j], t[j + 4], 0x31);
    }
    for (int j = 0; j < 8; j++)
        t[j] = u[j];
}

/* 8 keys from key i x R columns, keys in the lanes: each key's 8-value pieces are transposed
 * in registers, so one accumulator per column collects 8 scores and no horizontal sum is
 * needed. qv holds q pre-broadcast (value (d, r) as 8 equal lanes at (d * R + r) * 8), so
 * the FMAs take it from memory and the 8 accumulators and 8 key vectors fit the 16
 * registers. Dimensions from hd & ~7 are left to qkd_tail. */
AK_INLINE void qkt_block(float *s, const float *qv, int hd, const uint8_t *k, size_t stride,
                         int i, const int type, const int R)
{
    __m256 acc[8];
    for (int r = 0; r < R; r++)
        acc[r] = _mm256_setzero_ps();
    const int h8 = hd & ~7;
    const uint8_t *kr = k + (size_t)i * stride;
    for (int d = 0; d < h8; d += 8) {
        __m256 t[8];
        for (int j = 0; j < 8; j++)
            t[j] = ak_row8(kr + (size_t)j * stride, d, type);
        ak_tr8(t);
        for (int j = 0; j < 8; j++)
            for (int r = 0; r < R; r++)
                acc[r] = _mm256_fmadd_ps(_mm256_loadu_ps(qv + ((size_t)(d + j) * R + r) * 8), t[j], acc[r]);
    }
    for (int r = 0; r < R; r++)
        _mm256_storeu_ps(s + (size_t)r * AK_T + i, acc[r]);
}

/* Columns 5-8 take 8 keys at a time through qkt_block (head dims up to AK_QT_HD, multiples
 * of 8); fewer columns, the last n % 8 keys and other head dims take qkd_block, KB keys per
 * step so that R * KB fills the 8 accumulators. */
#define AK_QT_HD 128
AK_INLINE void qkd_cols(float *s, const float *q, int hd, const uint8_t *k, size_t stride,
                        int n, const int type, const int R)
{
    const int KB = R == 1 ? 8 : R == 2 ? 4 : R <= 4 ? 2 : 1;
    int i = 0;
    if (R > 4 && n >= 8 && hd % 8 == 0 && hd <= AK_QT_HD) {
        /* q pre-broadcast for qkt_block: R * hd * 32 bytes (16 KiB for R 8 and hd 64; the
         * array is sized for AK_QT_HD), rebuilt per tile (64 keys x R columns of FMAs
         * amortize it) */
        float qv[8 * AK_QT_HD * 8] __attribute__((aligned(32)));
        for (int d = 0; d < hd; d++)
            for (int r = 0; r < R; r++)
                _mm256_store_ps(qv + ((size_t)d * R + r) * 8,
                                _mm256_set1_ps(q[(size_t)(d & ~7) * R + (size_t)r * 8 + (d & 7)]));
        for (; i + 8 <= n; i += 8)
            qkt_block(s, qv, hd, k, stride, i, type, R);
    }
    for (; i + KB <= n; i += KB)
        qkd_block(s, q, hd, k, stride, i, type, R, KB);
    for (; i < n; i++)
        qkd_block(s, q, hd, k, stride, i, type, R, 1);
}

#define AK_CASES_8(F, ...)                                                                    \
    AK_CASES_6(F, __VA_ARGS__)                                                                \
    case 7: F(__VA_ARGS__, 7); break; case 8: F(__VA_ARGS__, 8); break;

AK_INLINE void qkd_type(float *s, const float *q, int nc, const uint8_t *k, size_t stride,
                        int n, int hd, const int type)
{
    for (int c = 0; c < nc; c += 8) {
        const int R = nc - c < 8 ? nc - c : 8;
        switch (R) { AK_CASES_8(qkd_cols, s + (size_t)c * AK_T, q + (size_t)c * hd, hd, k, stride, n, type) }
    }
}

static void ak_qk_direct(float *s, const float *q, int nc, int type, const uint8_t *k,
                         size_t stride, int n, int hd)
{
    switch (type) {
    case LLMR_TYPE_F32: qkd_type(s, q, nc, k, stride, n, hd, LLMR_TYPE_F32); break;
    case LLMR_TYPE_F16: qkd_type(s, q, nc, k, stride, n, hd, LLMR_TYPE_F16); break;
    case LLMR_TYPE_Q8_0: qkd_type(s, q, nc, k, stride, n, hd, LLMR_TYPE_Q8_0); break;
    default: qkd_type(s, q, nc, k, stride, n, hd, LLMR_TYPE_Q4_0); break;
    }
    for (int c = 0; c < nc; c++)
        for (int i = n; i < AK_T; i++)
            s[(size_t)c * AK_T + i] = 0.0f;
}

/* R columns x DB vectors of 8 dimensions from d0, over every key: each value of v is converted
 * once per column block, in the register it is used from. */
AK_INLINE void pvd_block(float *o, const float *p, int hd, const uint8_t *v, size_t stride,
                         int n, const float *corr, int d0, const int type, const int R,
                         const int DB)
{
    __m256 acc[8];
    for (int r = 0; r < R; r++)
        for (int u = 0; u < DB; u++)
            acc[r * DB + u] = _mm256_mul_ps(_mm256_loadu_ps(o + (size_t)r * hd + d0 + 8 * u),
                                            _mm256_set1_ps(corr[r]));
    for (int i = 0; i < n; i++) {
        const uint8_t *row = v + (size_t)i * stride;
        __m256 x[8];
        for (int u = 0; u < DB; u++)
            x[u] = ak_row8(row, d0 + 8 * u, type);
        for (int r = 0; r < R; r++) {
            const __m256 w = _mm256_set1_ps(p[(size_t)r * AK_T + i]);
            for (int u = 0; u < DB; u++)
                acc[r * DB + u] = _mm256_fmadd_ps(w, x[u], acc[r * DB + u]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int u = 0; u < DB; u++)
            _mm256_storeu_ps(o + (size_t)r * hd + d0 + 8 * u, acc[r * DB + u]);
}

AK_INLINE void pvd_cols(float *o, const float *p, int hd, const uint8_t *v, size_t stride,
                        int n, const float *corr, const int type, const int R)
{
    const int DB = R == 1 ? 8 : R == 2 ? 4 : R <= 4 ? 2 : 1, h8 = hd & ~7;
    int d0 = 0;
    for (; d0 + 8 * DB <= h8; d0 += 8 * DB)
        pvd_block(o, p, hd, v, stride, n, corr, d0, type, R, DB);
    for (; d0 < h8; d0 += 8)
        pvd_block(o, p, hd, v, stride, n, corr, d0, type, R, 1);
    for (int r = 0; r < R; r++)   /* dimensions past a multiple of 8: F32 / F16 rows */
        for (int d = h8; d < hd; d++) {
            float a = o[(size_t)r * hd + d] * corr[r];
            for (int i = 0; i < n; i++) {
                const uint8_t *row = v + (size_t)i * stride;
                float x;
                if (type == LLMR_TYPE_F32) {
                    memcpy(&x, row + 4 * d, 4);
                } else {
                    uint16_t h;
                    memcpy(&h, row + 2 * d, 2);
                    x = llmri_fp16_to_fp32(h);
                }
                a += p[(size_t)r * AK_T + i] * x;
            }
            o[(size_t)r * hd + d] = a;
        }
}

AK_INLINE void pvd_type(float *o, const float *p, int nc, const uint8_t *v, size_t stride,
                        int n, int hd, const float *corr, const int type)
{
    for (int c = 0; c < nc; c += 8) {
        const int R = nc - c < 8 ? nc - c : 8;
        switch (R) {
            AK_CASES_8(pvd_cols, o + (size_t)c * hd, p + (size_t)c * AK_T, hd, v, stride, n,
                       corr + c, type)
        }
    }
}

static void ak_pv_direct(float *o, const float *p, int nc, int type, const uint8_t *v,
                         size_t stride, int n, int hd, const float *corr)
{
    switch (type) {
    case LLMR_TYPE_F32: pvd_type(o, p, nc, v, stride, n, hd, corr, LLMR_TYPE_F32); break;
    case LLMR_TYPE_F16: pvd_type(o, p, nc, v, stride, n, hd, corr, LLMR_TYPE_F16); break;
    case LLMR_TYPE_Q8_0: pvd_type(o, p, nc, v, stride, n, hd, corr, LLMR_TYPE_Q8_0); break;
    default: pvd_type(o, p, nc, v, stride, n, hd, corr, LLMR_TYPE_Q4_0); break;
    }
}

/* ---- the online softmax ------------------------------------------------------------------- */

static void ak_softmax(float *s, int nc, const llmr_att_mask *mask, float cap, float *mx,
                       float *sum, float *corr)
{
    const AKV vcap = VSET1(cap), two_over_cap = VSET1(cap > 0.0f ? 2.0f / cap : 0.0f);
    for (int c = 0; c < nc; c++) {
        float *row = s + (size_t)c * AK_T;
        int lo, hi;
        llmri_att_range(mask, c, &lo, &hi);
        if (hi <= lo) {
            memset(row, 0, AK_T * sizeof *row);
            corr[c] = 1.0f;
            continue;
        }
        if (cap > 0.0f)
            for (int i = 0; i < AK_T; i += AKW)
                VSTORE(row + i, ak_softcap(VLOAD(row + i), vcap, two_over_cap));
        for (int i = 0; i < lo; i++)
            row[i] = -INFINITY;
        for (int i = hi; i < AK_T; i++)
            row[i] = -INFINITY;
        AKV vm = VLOAD(row);
        for (int i = AKW; i < AK_T; i += AKW)
            vm = VMAX(vm, VLOAD(row + i));
        const float tm = VHMAX(vm), m = tm > mx[c] ? tm : mx[c];
        const AKV vmax = VSET1(m);
        AKV acc = VZERO();
        for (int i = 0; i < AK_T; i += AKW) {
            const AKV p = ak_exp(VSUB(VLOAD(row + i), vmax));
            VSTORE(row + i, p);
            acc = VADD(acc, p);
        }
        const float t = VHSUM(acc);
        corr[c] = sum[c] == 0.0f ? 0.0f : expf(mx[c] - m);
        sum[c] = sum[c] * corr[c] + t;
        mx[c] = m;
    }
}

/* ---- p.v -------------------------------------------------------------------------------- */

/* R columns x NV vectors of dimensions from d0 */
AK_INLINE void pv_block(float *o, const float *p, const float *v, int n, int hd,
                        const float *corr, int d0, const int NV, const int R)
{
    AKV acc[PV_R][2];
    for (int r = 0; r < R; r++) {
        const AKV cr = VSET1(corr[r]);
        for (int u = 0; u < NV; u++)
            acc[r][u] = VMUL(VLOAD(o + (size_t)r * hd + d0 + u * AKW), cr);
    }
    for (int i = 0; i < n; i++) {
        AKV x[2];
        for (int u = 0; u < NV; u++)
            x[u] = VLOAD(v + (size_t)i * hd + d0 + u * AKW);
        for (int r = 0; r < R; r++) {
            const AKV w = VSET1(p[(size_t)r * AK_T + i]);
            for (int u = 0; u < NV; u++)
                acc[r][u] = VFMA(w, x[u], acc[r][u]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int u = 0; u < NV; u++)
            VSTORE(o + (size_t)r * hd + d0 + u * AKW, acc[r][u]);
}

static void ak_pv(float *o, const float *p, int nc, const float *v, int n, int hd,
                  const float *corr)
{
    const int h2 = hd - hd % (2 * AKW), h1 = hd - hd % AKW;
    for (int c = 0; c < nc; c += PV_R) {
        const int R = nc - c < PV_R ? nc - c : PV_R;
        float *oc = o + (size_t)c * hd;
        const float *pc = p + (size_t)c * AK_T;
        for (int d0 = 0; d0 < h2; d0 += 2 * AKW)
            switch (R) { AK_CASES(pv_block, oc, pc, v, n, hd, corr + c, d0, 2) }
        if (h1 > h2)
            switch (R) { AK_CASES(pv_block, oc, pc, v, n, hd, corr + c, h2, 1) }
        for (int r = 0; r < R; r++)   /* dimensions past a multiple of AKW */
            for (int d = h1; d < hd; d++) {
                float a = oc[(size_t)r * hd + d] * corr[c + r];
                for (int i = 0; i < n; i++)
                    a += pc[(size_t)r * AK_T + i] * v[(size_t)i * hd + d];
                oc[(size_t)r * hd + d] = a;
            }
    }
}

const llmr_attn_kernels ATTN_TABLE = {ATTN_NAME,    ak_to_float,  ak_transpose, ak_qk,
                                      ak_softmax,   ak_pv,        ak_qk_direct, ak_pv_direct};
