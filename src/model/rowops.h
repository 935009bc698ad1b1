/* rowops.h - the element-wise row kernels of the forward pass (softmax, SwiGLU, GeGLU), written once
 * in plain C that the compiler vectorizes, and compiled twice: rowops.c for the baseline ISA
 * and rowops_avx2.c with AVX2+FMA (8 lanes). llmr_rowops() picks one at run time.
 */
#ifndef LLMR_MODEL_ROWOPS_H
#define LLMR_MODEL_ROWOPS_H

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
} llmr_rowops;

const llmr_rowops *llmri_rowops_get(void);

#ifdef LLMR_ROWOPS_IMPL
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
#endif

#endif
