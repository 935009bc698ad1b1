/* rowops.h - the element-wise row kernels of the forward pass (softmax, SwiGLU, GeGLU), written once
 * in plain C that the compiler vectorizes, and compiled twice: rowops.c for the baseline ISA
 * and rowops_avx2.c with AVX2+FMA (8 lanes). llmr_rowops() picks one at run time.
 */
#ifndef LLMR_MODEL_ROWOPS_H
#define LLMR_MODEL_ROWOPS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct llmr_rowops {
    /* a[i] = silu(a[i]) * b[i] */
    void (*swiglu)(float *a, const float *b, int n);
    /* Causal softmax of s[0..valid) after scaling by `scale`; s[valid..n) = 0. */
    void (*softmax)(float *s, int n, int valid, float scale);
    /* y[i] = half(x[i]), round to nearest even (F16C where built with it) */
    void (*to_f16)(const float *x, uint16_t *y, int n);
    /* a[i] = gelu(a[i]) * b[i], GELU's tanh form (Gemma's gelu_pytorch_tanh) */
    void (*geglu)(float *a, const float *b, int n);
    /* x[i] = cap * tanh(x[i] / cap) (Gemma 2's soft-capping) */
    void (*softcap)(float *x, int n, float cap);
    /* softmax of s[lo..valid) after scaling by `scale` and, when cap > 0, soft-capping; the
     * rest of s[0..n) = 0 (lo > 0: a sliding window's first position) */
    void (*softmax_window)(float *s, int n, int lo, int valid, float scale, float cap);
    /* One step of the online softmax (attention.c) over a tile of n scores s: those in
     * [lo, hi) are scaled (and soft-capped when cap > 0), the running maximum *mx and sum
     * *sum of the row are updated, s[i] becomes exp(s[i] - *mx) there and 0 elsewhere.
     * Returns the factor exp(old max - new max) by which what was accumulated before with the
     * old maximum must be multiplied (0 when nothing was, 1 when [lo, hi) is empty). */
    float (*attn_softmax)(float *s, int n, int lo, int hi, float scale, float cap, float *mx,
                          float *sum);
    /* o[c][d] = o[c][d] * corr[c] + sum_i p[c][i] v[i][d] for c < nc, i < n, d < hd: rows of
     * o are ldo floats apart, rows of p ldp, rows of v vs. */
    void (*attn_pv)(float *o, int ldo, const float *p, int ldp, int nc, const float *v, size_t vs,
                    int n, int hd, const float *corr);
    /* s[c][i] = q[c] . k[i] over hd floats, for c < nc, i < n: rows of s ldS apart, of q and k
     * hd apart */
    void (*attn_qk)(float *s, int ldS, const float *q, int nc, const float *k, int n, int hd);
    /* n cache rows of hd values of `type` (F32, F16, Q8_0, Q4_0; src + i * stride) to floats,
     * dst[i * hd + d] */
    void (*kv_to_float)(int type, const uint8_t *src, size_t stride, int n, int hd, float *dst);
} llmr_rowops;

const llmr_rowops *llmri_rowops_get(void);

#ifdef LLMR_ROWOPS_IMPL
#include "gguf/gguf.h"
#include "kernels/kernels.h"
/* GCC keeps float compares as branches while FP exceptions may trap (its default), which
 * stops these loops from vectorizing; nothing here relies on exception flags. Clang does not
 * model trapping by default. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
/* exp(x) for x in [-87, 88] (clamped): 2^k * e^r with k = round(x / ln 2) found by the
 * 1.5 * 2^23 rounding trick, r = x - k ln 2 in two parts (Cody-Waite), e^r by its degree-6
 * Taylor polynomial (|r| <= ln2/2: relative error below 2e-7), and 2^k added to the exponent
 * bits. Branch-free, so loops over it vectorize.
 * The clamp is written so that NaN fails its first compare and becomes -87: k then stays in
 * [-126, 127] whatever x is, so the exponent arithmetic below never overflows (a NaN reaching
 * it made k huge, and k * 2^23 signed overflow). NaN in gives NaN out, so a broken model's
 * NaN still propagates to the logits, where the forward pass reports it. */
typedef union { float f; int32_t i; } rowops_fi;

static inline float rowops_exp(float x0)
{
    float x = x0 >= -87.0f ? x0 : -87.0f;
    x = x > 88.0f ? 88.0f : x;
    rowops_fi t = {x * 1.44269504088896341f + 12582912.0f};   /* + 1.5 * 2^23 rounds */
    const rowops_fi magic = {12582912.0f};
    const int32_t k = t.i - magic.i;
    const float kf = t.f - 12582912.0f;
    const float r = (x - kf * 0.693359375f) - kf * -2.12194440e-4f;
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    rowops_fi out = {p};
    out.i += k * (1 << 23);
    return x0 == x0 ? out.f : x0;
}

static void rowops_swiglu(float *restrict a, const float *restrict b, int n)
{
    for (int i = 0; i < n; i++)
        a[i] = a[i] / (1.0f + rowops_exp(-a[i])) * b[i];
}

#ifdef __F16C__
#include <immintrin.h>
static void rowops_to_f16(const float *x, uint16_t *y, int n)
{
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(y + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++)
        y[i] = llmri_fp32_to_fp16(x[i]);
}
#else
static void rowops_to_f16(const float *x, uint16_t *y, int n)
{
    llmri_fp32_to_fp16_row(x, y, n);
}
#endif

/* 0.5 x (1 + tanh(u)) = x * sigmoid(2u) = x / (1 + exp(-2u)), u = sqrt(2/pi) (x + 0.044715 x^3):
 * SiLU's form, so it vectorizes the same way. */
static void rowops_geglu(float *restrict a, const float *restrict b, int n)
{
    for (int i = 0; i < n; i++) {
        const float x = a[i];
        const float u2 = 1.59576912160573071f * x * (1.0f + 0.044715f * x * x);
        a[i] = x / (1.0f + rowops_exp(-u2)) * b[i];
    }
}

/* tanh(v) = 1 - 2 / (1 + exp(2v)); absolute error about 1e-7 (exp's clamp gives +-1 past
 * |v| = 44). */
static inline float rowops_tanh(float v)
{
    return 1.0f - 2.0f / (1.0f + rowops_exp(2.0f * v));
}

static void rowops_softcap(float *restrict x, int n, float cap)
{
    const float inv = 1.0f / cap;
    for (int i = 0; i < n; i++)
        x[i] = cap * rowops_tanh(x[i] * inv);
}

static void rowops_softmax(float *restrict s, int n, int valid, float scale);

static void rowops_softmax_window(float *restrict s, int n, int lo, int valid, float scale,
                                  float cap)
{
    if (cap > 0.0f) {
        for (int i = lo; i < valid; i++)
            s[i] *= scale;
        rowops_softcap(s + lo, valid - lo, cap);
        scale = 1.0f;
    }
    rowops_softmax(s + lo, n - lo, valid - lo, scale);
    for (int i = 0; i < lo; i++)
        s[i] = 0.0f;
}

static void rowops_softmax(float *restrict s, int n, int valid, float scale)
{
    for (int i = 0; i < valid; i++)
        s[i] *= scale;
    /* 8 independent running maxima and partial sums, so that the reductions vectorize */
    float m8[8], p8[8];
    for (int k = 0; k < 8; k++)
        m8[k] = s[0], p8[k] = 0.0f;
    int i = 0;
    for (; i + 8 <= valid; i += 8)
        for (int k = 0; k < 8; k++)
            m8[k] = s[i + k] > m8[k] ? s[i + k] : m8[k];
    for (; i < valid; i++)
        m8[0] = s[i] > m8[0] ? s[i] : m8[0];
    float mx = m8[0];
    for (int k = 1; k < 8; k++)
        mx = m8[k] > mx ? m8[k] : mx;
    for (i = 0; i < valid; i++)
        s[i] = rowops_exp(s[i] - mx);
    for (i = 0; i + 8 <= valid; i += 8)
        for (int k = 0; k < 8; k++)
            p8[k] += s[i + k];
    double sum = 0.0;
    for (int k = 0; k < 8; k++)
        sum += p8[k];
    for (; i < valid; i++)
        sum += s[i];
    const float inv = (float)(1.0 / sum);
    for (i = 0; i < valid; i++)
        s[i] *= inv;
    for (i = valid; i < n; i++)
        s[i] = 0.0f;
}

static float rowops_attn_softmax(float *restrict s, int n, int lo, int hi, float scale,
                                 float cap, float *mx, float *sum)
{
    lo = lo < 0 ? 0 : lo;
    hi = hi > n ? n : hi;
    if (hi <= lo) {
        memset(s, 0, (size_t)n * sizeof *s);
        return 1.0f;
    }
    for (int i = lo; i < hi; i++)
        s[i] *= scale;
    if (cap > 0.0f)
        rowops_softcap(s + lo, hi - lo, cap);
    float m8[8], p8[8];
    for (int k = 0; k < 8; k++)
        m8[k] = s[lo], p8[k] = 0.0f;
    int i = lo;
    for (; i + 8 <= hi; i += 8)
        for (int k = 0; k < 8; k++)
            m8[k] = s[i + k] > m8[k] ? s[i + k] : m8[k];
    for (; i < hi; i++)
        m8[0] = s[i] > m8[0] ? s[i] : m8[0];
    float m = *mx;
    for (int k = 0; k < 8; k++)
        m = m8[k] > m ? m8[k] : m;
    for (i = 0; i < lo; i++)
        s[i] = 0.0f;
    for (i = hi; i < n; i++)
        s[i] = 0.0f;
    for (i = lo; i < hi; i++)
        s[i] = rowops_exp(s[i] - m);
    for (i = lo; i + 8 <= hi; i += 8)
        for (int k = 0; k < 8; k++)
            p8[k] += s[i + k];
    float t = 0.0f;
    for (; i < hi; i++)
        t += s[i];
    for (int k = 0; k < 8; k++)
        t += p8[k];
    /* the first tile with valid scores: nothing was accumulated yet (*mx is -FLT_MAX) */
    const float corr = *sum == 0.0f ? 0.0f : rowops_exp(*mx - m);
    *sum = *sum * corr + t;
    *mx = m;
    return corr;
}

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
/* Two columns (query rows) at a time, 32 dimensions per pass (8 accumulators): each V load
 * serves both columns, and the accumulators stay in registers over the tile's positions. */
static void pv_avx2(float *restrict o, int ldo, const float *restrict p, int ldp, int nc,
                    const float *restrict v, size_t vs, int n, int hd, const float *corr)
{
    for (int c = 0; c < nc; c += 2) {
        const int two = c + 1 < nc;
        float *o0 = o + (size_t)c * ldo, *o1 = o0 + (two ? ldo : 0);
        const float *p0 = p + (size_t)c * ldp, *p1 = p0 + (two ? ldp : 0);
        const __m256 c0 = _mm256_set1_ps(corr[c]), c1 = _mm256_set1_ps(corr[c + two]);
        int d = 0;
        for (; d + 32 <= hd; d += 32) {
            __m256 a[4], b[4];
            for (int k = 0; k < 4; k++) {
                a[k] = _mm256_mul_ps(_mm256_loadu_ps(o0 + d + 8 * k), c0);
                b[k] = _mm256_mul_ps(_mm256_loadu_ps(o1 + d + 8 * k), c1);
            }
            for (int i = 0; i < n; i++) {
                const float *vi = v + (size_t)i * vs + d;
                const __m256 w0 = _mm256_broadcast_ss(p0 + i), w1 = _mm256_broadcast_ss(p1 + i);
                for (int k = 0; k < 4; k++) {
                    const __m256 x = _mm256_loadu_ps(vi + 8 * k);
                    a[k] = _mm256_fmadd_ps(w0, x, a[k]);
                    b[k] = _mm256_fmadd_ps(w1, x, b[k]);
                }
            }
            /* o1 after o0: with one column left they are the same row, and b = a */
            for (int k = 0; k < 4; k++) {
                _mm256_storeu_ps(o0 + d + 8 * k, a[k]);
                _mm256_storeu_ps(o1 + d + 8 * k, b[k]);
            }
        }
        for (; d < hd; d += 8) {
            __m256 a = _mm256_mul_ps(_mm256_loadu_ps(o0 + d), c0);
            __m256 b = _mm256_mul_ps(_mm256_loadu_ps(o1 + d), c1);
            for (int i = 0; i < n; i++) {
                const __m256 x = _mm256_loadu_ps(v + (size_t)i * vs + d);
                a = _mm256_fmadd_ps(_mm256_broadcast_ss(p0 + i), x, a);
                b = _mm256_fmadd_ps(_mm256_broadcast_ss(p1 + i), x, b);
            }
            _mm256_storeu_ps(o0 + d, a);
            _mm256_storeu_ps(o1 + d, b);
        }
    }
}
#endif

static void rowops_attn_pv(float *restrict o, int ldo, const float *restrict p, int ldp, int nc,
                           const float *restrict v, size_t vs, int n, int hd, const float *corr)
{
#if defined(__AVX2__) && defined(__FMA__)
    if (hd % 8 == 0) {
        pv_avx2(o, ldo, p, ldp, nc, v, vs, n, hd, corr);
        return;
    }
#endif
    for (int c = 0; c < nc; c++) {
        float *oc = o + (size_t)c * ldo;
        const float *pc = p + (size_t)c * ldp;
        for (int d = 0; d < hd; d++)
            oc[d] *= corr[c];
        for (int i = 0; i < n; i++) {
            const float w = pc[i];
            const float *vi = v + (size_t)i * vs;
            for (int d = 0; d < hd; d++)
                oc[d] += w * vi[d];
        }
    }
}

#if defined(__AVX2__) && defined(__FMA__)
/* Two columns x four positions per step: 8 accumulators over hd / 8 steps, then one
 * horizontal reduction gives the 8 scores (hadd pairs, then the two 128-bit halves). */
static void qk_avx2(float *restrict s, int ldS, const float *restrict q, int nc,
                    const float *restrict k, int n, int hd)
{
    int c = 0;
    for (; c + 2 <= nc; c += 2) {
        const float *q0 = q + (size_t)c * hd, *q1 = q0 + hd;
        int i = 0;
        for (; i + 4 <= n; i += 4) {
            const float *k0 = k + (size_t)i * hd;
            __m256 a[8];
            for (int t = 0; t < 8; t++)
                a[t] = _mm256_setzero_ps();
            for (int d = 0; d < hd; d += 8) {
                const __m256 x0 = _mm256_loadu_ps(q0 + d), x1 = _mm256_loadu_ps(q1 + d);
                for (int t = 0; t < 4; t++) {
                    const __m256 y = _mm256_loadu_ps(k0 + (size_t)t * hd + d);
                    a[t] = _mm256_fmadd_ps(x0, y, a[t]);
                    a[4 + t] = _mm256_fmadd_ps(x1, y, a[4 + t]);
                }
            }
            const __m256 h0 = _mm256_hadd_ps(a[0], a[1]), h1 = _mm256_hadd_ps(a[2], a[3]);
            const __m256 h2 = _mm256_hadd_ps(a[4], a[5]), h3 = _mm256_hadd_ps(a[6], a[7]);
            const __m256 r0 = _mm256_hadd_ps(h0, h1), r1 = _mm256_hadd_ps(h2, h3);
            _mm_storeu_ps(s + (size_t)c * ldS + i, _mm_add_ps(_mm256_castps256_ps128(r0),
                                                               _mm256_extractf128_ps(r0, 1)));
            _mm_storeu_ps(s + (size_t)(c + 1) * ldS + i,
                          _mm_add_ps(_mm256_castps256_ps128(r1), _mm256_extractf128_ps(r1, 1)));
        }
        for (; i < n; i++)
            for (int cc = c; cc < c + 2; cc++) {
                __m256 a = _mm256_setzero_ps();
                for (int d = 0; d < hd; d += 8)
                    a = _mm256_fmadd_ps(_mm256_loadu_ps(q + (size_t)cc * hd + d),
                                        _mm256_loadu_ps(k + (size_t)i * hd + d), a);
                const __m128 h = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
                const __m128 h2 = _mm_add_ps(h, _mm_movehl_ps(h, h));
                s[(size_t)cc * ldS + i] = _mm_cvtss_f32(_mm_add_ss(h2, _mm_shuffle_ps(h2, h2, 1)));
            }
    }
    for (; c < nc; c++)
        for (int i = 0; i < n; i++) {
            __m256 a = _mm256_setzero_ps();
            for (int d = 0; d < hd; d += 8)
                a = _mm256_fmadd_ps(_mm256_loadu_ps(q + (size_t)c * hd + d),
                                    _mm256_loadu_ps(k + (size_t)i * hd + d), a);
            const __m128 h = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
            const __m128 h2 = _mm_add_ps(h, _mm_movehl_ps(h, h));
            s[(size_t)c * ldS + i] = _mm_cvtss_f32(_mm_add_ss(h2, _mm_shuffle_ps(h2, h2, 1)));
        }
}
#endif

static void rowops_attn_qk(float *restrict s, int ldS, const float *restrict q, int nc,
                           const float *restrict k, int n, int hd)
{
#if defined(__AVX2__) && defined(__FMA__)
    if (hd % 8 == 0) {
        qk_avx2(s, ldS, q, nc, k, n, hd);
        return;
    }
#endif
    for (int c = 0; c < nc; c++)
        for (int i = 0; i < n; i++) {
            float a = 0.0f;
            for (int d = 0; d < hd; d++)
                a += q[(size_t)c * hd + d] * k[(size_t)i * hd + d];
            s[(size_t)c * ldS + i] = a;
        }
}

/* Blocks of 32 values: Q8_0 {fp16 d; int8 q[32]} is d * q[j]; Q4_0 {fp16 d; uint8 q[16]} is
 * d * ((q[j] & 15) - 8) for j < 16 and d * ((q[j - 16] >> 4) - 8) after (ggml's layouts). */
static void rowops_kv_to_float(int type, const uint8_t *restrict src, size_t stride, int n,
                               int hd, float *restrict dst)
{
    for (int i = 0; i < n; i++) {
        const uint8_t *r = src + (size_t)i * stride;
        float *o = dst + (size_t)i * hd;
        if (type == LLMR_TYPE_F32) {
            memcpy(o, r, (size_t)hd * sizeof(float));
        } else if (type == LLMR_TYPE_F16) {
#ifdef __F16C__
            int d = 0;
            for (; d + 8 <= hd; d += 8)
                _mm256_storeu_ps(o + d,
                                 _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(r + 2 * d))));
            for (; d < hd; d++) {
                uint16_t h;
                memcpy(&h, r + 2 * d, 2);
                o[d] = llmri_fp16_to_fp32(h);
            }
#else
            llmri_fp16_to_fp32_row((const uint16_t *)(const void *)r, o, hd);
#endif
        } else if (type == LLMR_TYPE_Q8_0) {
            for (int b = 0; b < hd / 32; b++, r += 34) {
                uint16_t h;
                memcpy(&h, r, 2);
                const float d = llmri_fp16_to_fp32(h);
                const int8_t *qs = (const int8_t *)(r + 2);
                for (int j = 0; j < 32; j++)
                    o[32 * b + j] = d * (float)qs[j];
            }
        } else {   /* Q4_0 */
            for (int b = 0; b < hd / 32; b++, r += 18) {
                uint16_t h;
                memcpy(&h, r, 2);
                const float d = llmri_fp16_to_fp32(h);
                for (int j = 0; j < 16; j++) {
                    o[32 * b + j] = d * (float)((r[2 + j] & 15) - 8);
                    o[32 * b + 16 + j] = d * (float)((r[2 + j] >> 4) - 8);
                }
            }
        }
    }
}
#endif

#endif
