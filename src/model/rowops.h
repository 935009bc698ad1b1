/* rowops.h - the element-wise row kernels of the forward pass (softmax, SwiGLU), written once
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
} llmr_rowops;

const llmr_rowops *llmr_rowops_get(void);

#ifdef LLMR_ROWOPS_IMPL
/* exp(x) for x in [-87, 88] (clamped): 2^k * e^r with k = round(x / ln 2) found by the
 * 1.5 * 2^23 rounding trick, r = x - k ln 2 in two parts (Cody-Waite), e^r by its degree-6
 * Taylor polynomial (|r| <= ln2/2: relative error below 2e-7), and 2^k added to the exponent
 * bits. Branch-free, so loops over it vectorize. */
static inline float rowops_exp(float x)
{
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    const float magic = 12582912.0f;           /* 1.5 * 2^23 */
    float t = x * 1.44269504088896341f + magic;
    int32_t ti, mi;
    memcpy(&ti, &t, 4);
    memcpy(&mi, &magic, 4);
    const int32_t k = ti - mi;
    const float kf = t - magic;
    const float r = (x - kf * 0.693359375f) - kf * -2.12194440e-4f;
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t pi;
    memcpy(&pi, &p, 4);
    pi += k * (1 << 23);
    memcpy(&p, &pi, 4);
    return p;
}

static void rowops_swiglu(float *restrict a, const float *restrict b, int n)
{
    for (int i = 0; i < n; i++)
        a[i] = a[i] / (1.0f + rowops_exp(-a[i])) * b[i];
}

static void rowops_softmax(float *restrict s, int n, int valid, float scale)
{
    /* 8 independent running maxima so that the reduction vectorizes */
    float m8[8];
    for (int k = 0; k < 8; k++)
        m8[k] = -3.0e38f;
    int i = 0;
    for (; i + 8 <= valid; i += 8)
        for (int k = 0; k < 8; k++) {
            s[i + k] *= scale;
            m8[k] = s[i + k] > m8[k] ? s[i + k] : m8[k];
        }
    for (; i < valid; i++) {
        s[i] *= scale;
        m8[0] = s[i] > m8[0] ? s[i] : m8[0];
    }
    float mx = m8[0];
    for (int k = 1; k < 8; k++)
        mx = m8[k] > mx ? m8[k] : mx;
    /* sums of 8 lanes in float, accumulated in double per block, as ggml's SIMD path does */
    double sum = 0.0;
    for (i = 0; i + 8 <= valid; i += 8) {
        float part = 0.0f;
        for (int k = 0; k < 8; k++) {
            s[i + k] = rowops_exp(s[i + k] - mx);
            part += s[i + k];
        }
        sum += part;
    }
    for (; i < valid; i++) {
        s[i] = rowops_exp(s[i] - mx);
        sum += s[i];
    }
    const float inv = (float)(1.0 / sum);
    for (i = 0; i < valid; i++)
        s[i] *= inv;
    for (i = valid; i < n; i++)
        s[i] = 0.0f;
}
#endif

#endif
