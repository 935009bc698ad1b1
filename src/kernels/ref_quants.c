/* ref_quants.c - reference kernels for the 32-value block types: Q4_0, Q4_1, Q5_0, Q5_1,
 * Q8_0, Q8_1 (activations) and IQ4_NL.
 *
 * Dequantization repeats ggml's arithmetic expression for expression (ggml-quants.c, b4748),
 * so the values are bit-identical: e.g. Q4_1 is (float)q*d + m, two roundings, no fused
 * multiply-add (this file is built without -mfma, so the compiler cannot contract it).
 * Dots: exact integer sums per block, then one float multiply-add per block with the
 * product of the two scales, the order llama.cpp's x86 kernels use. */
#include "kernels/quants.h"

#include <math.h>
#include <string.h>

const int8_t llmr_iq4nl_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                      1,    13,   25,  38,  53,  69,  89,  113};

/* ---- activation quantizers ----------------------------------------------------------------
 * Q8_0/Q8_1 follow ggml-cpu's x86 path (quantize_row_q8_0/_1): d = amax/127, the values are
 * multiplied by 127/amax and rounded half to even. Every SIMD version reproduces this
 * exactly, so activations are identical whatever the ISA. One departure from ggml: a block
 * whose largest magnitude is below 1e-30 (f32 subnormal territory, where 127/amax would
 * overflow to inf and the f16 scale is 0 anyway) becomes all zeros instead of garbage. */
static float q8_block(const float *x, int8_t *q, int *sum)
{
    float amax = 0.0f;
    for (int j = 0; j < 32; j++)
        amax = fmaxf(amax, fabsf(x[j]));
    if (!(amax >= 1e-30f)) {
        memset(q, 0, 32);
        *sum = 0;
        return 0.0f;
    }
    const float d = amax / 127.f;
    const float id = 127.f / amax;
    int s = 0;
    for (int j = 0; j < 32; j++) {
        /* NaN (a corrupt model; the forward pass reports it) must not reach the cast, which
         * would be undefined; finite values are within +-127 already. */
        const float r = nearbyintf(x[j] * id);
        q[j] = (int8_t)(r == r ? fmaxf(-127.f, fminf(127.f, r)) : 0.f);
        s += q[j];
    }
    *sum = s;
    return d;
}

void llmri_q8_0_from_float_ref(const float *src, void *dst, int64_t n)
{
    block_q8_0 *y = dst;
    for (int64_t i = 0; i < n / QK8_0; i++) {
        int s;
        y[i].d = llmri_fp32_to_fp16(q8_block(src + i * QK8_0, y[i].qs, &s));
    }
}

void llmri_q8_1_from_float_ref(const float *src, void *dst, int64_t n)
{
    block_q8_1 *y = dst;
    for (int64_t i = 0; i < n / QK8_1; i++) {
        int s;
        float d = q8_block(src + i * QK8_1, y[i].qs, &s);
        y[i].d = llmri_fp32_to_fp16(d);
        y[i].s = llmri_fp32_to_fp16(d * (float)s);
    }
}

void llmri_q8_0_to_float_ref(const void *src, float *dst, int64_t n)
{
    const block_q8_0 *x = src;
    for (int64_t i = 0; i < n / QK8_0; i++) {
        const float d = llmri_h2f(x[i].d);
        for (int j = 0; j < QK8_0; j++)
            dst[i * QK8_0 + j] = x[i].qs[j] * d;
    }
}

void llmri_q8_1_to_float_ref(const void *src, float *dst, int64_t n)
{
    const block_q8_1 *x = src;
    for (int64_t i = 0; i < n / QK8_1; i++) {
        const float d = llmri_h2f(x[i].d);
        for (int j = 0; j < QK8_1; j++)
            dst[i * QK8_1 + j] = x[i].qs[j] * d;
    }
}

void llmri_q8_0_vec_dot_ref(int n, float *s, const void *w, const void *xv)
{
    const block_q8_0 *a = w, *b = xv;
    float sum = 0;
    for (int i = 0; i < n / QK8_0; i++) {
        int si = 0;
        for (int j = 0; j < QK8_0; j++)
            si += a[i].qs[j] * b[i].qs[j];
        sum += (llmri_h2f(a[i].d) * llmri_h2f(b[i].d)) * (float)si;
    }
    *s = sum;
}

/* ---- Q4_0: d * (q - 8), low nibbles are values 0..15, high nibbles 16..31 ---------------- */
void llmri_q4_0_to_float_ref(const void *src, float *dst, int64_t n)
{
    const block_q4_0 *x = src;
    for (int64_t i = 0; i < n / QK4_0; i++) {
        const float d = llmri_h2f(x[i].d);
        for (int j = 0; j < 16; j++) {
            const int x0 = (x[i].qs[j] & 0x0F) - 8;
            const int x1 = (x[i].qs[j] >> 4) - 8;
            dst[i * 32 + j] = x0 * d;
            dst[i * 32 + j + 16] = x1 * d;
        }
    }
}

/* Round-to-nearest with the scale chosen so the largest magnitude maps to -8 (ggml's rule,
 * which uses the full asymmetric range [-8, 7]). */
void llmri_q4_0_from_float_ref(const float *src, void *dst, int64_t n)
{
    block_q4_0 *y = dst;
    for (int64_t i = 0; i < n / QK4_0; i++) {
        const float *x = src + i * 32;
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < 32; j++)
            if (amax < fabsf(x[j])) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        const float d = max / -8;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = llmri_fp32_to_fp16(d);
        for (int j = 0; j < 16; j++) {
            int q0 = (int)(x[j] * id + 8.5f), q1 = (int)(x[j + 16] * id + 8.5f);
            q0 = q0 < 0 ? 0 : q0 > 15 ? 15 : q0;
            q1 = q1 < 0 ? 0 : q1 > 15 ? 15 : q1;
            y[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

void llmri_q4_0_vec_dot_ref(int n, float *s, const void *w, const void *xv)
{
    const block_q4_0 *a = w;
    const block_q8_0 *b = xv;
    float sum = 0;
    for (int i = 0; i < n / QK4_0; i++) {
        int si = 0;
        for (int j = 0; j < 16; j++) {
            si += ((a[i].qs[j] & 0x0F) - 8) * b[i].qs[j];
            si += ((a[i].qs[j] >> 4) - 8) * b[i].qs[j + 16];
        }
        sum += (llmri_h2f(a[i].d) * llmri_h2f(b[i].d)) * (float)si;
    }
    *s = sum;
}

/* ---- Q4_1: d * q + m ---------------------------------------------------------------------- */
void llmri_q4_1_to_float_ref(const void *src, float *dst, int64_t n)
{
    const block_q4_1 *x = src;
    for (int64_t i = 0; i < n / QK4_1; i++) {
        const float d = llmri_h2f(x[i].d), m = llmri_h2f(x[i].m);
        for (int j = 0; j < 16; j++) {
            const int x0 = x[i].qs[j] & 0x0F, x1 = x[i].qs[j] >> 4;
            dst[i * 32 + j] = x0 * d + m;
            dst[i * 32 + j + 16] = x1 * d + m;
        }
    }
}

/* sum_j (d*q_j + m) * dy*qy_j = d*dy*sum(q*qy) + m * (dy*sum(qy)); Q8_1's s is the latter. */
void llmri_q4_1_vec_dot_ref(int n, float *s, const void *w, const void *xv)
{
    const block_q4_1 *a = w;
    const block_q8_1 *b = xv;
    float sum = 0;
    for (int i = 0; i < n / QK4_1; i++) {
        int si = 0;
        for (int j = 0; j < 16; j++) {
            si += (a[i].qs[j] & 0x0F) * b[i].qs[j];
            si += (a[i].qs[j] >> 4) * b[i].qs[j + 16];
        }
        sum += (llmri_h2f(a[i].d) * llmri_h2f(b[i].d)) * (float)si +
               llmri_h2f(a[i].m) * llmri_h2f(b[i].s);
    }
    *s = sum;
}

/* ---- Q5_0 / Q5_1: the fifth bit of value j is bit j of the little-endian u32 qh ---------- */
static inline void q5_values(const uint8_t *qs, const uint8_t *qhb, int off, int *v)
{
    uint32_t qh;
    memcpy(&qh, qhb, 4);
    for (int j = 0; j < 16; j++) {
        v[j] = ((qs[j] & 0x0F) | (((qh >> j) << 4) & 0x10)) - off;
        v[j + 16] = ((qs[j] >> 4) | ((qh >> (j + 12)) & 0x10)) - off;
    }
}

void llmri_q5_0_to_float_ref(const void *src, float *dst, int64_t n)
{
    const block_q5_0 *x = src;
    int v[32];
    for (int64_t i = 0; i < n / QK5_0; i++) {
        const float d = llmri_h2f(x[i].d);
        q5_values(x[i].qs, x[i].qh, 16, v);
        for (int j = 0; j < 32; j++)
            dst[i * 32 + j] = v[j] * d;
    }
}

void llmri_q5_0_vec_dot_ref(int n, float *s, const void *w, const void *xv)
{
    const block_q5_0 *a = w;
    const block_q8_0 *b = xv;
    float sum = 0;
    int v[32];
    for (int i = 0; i < n / QK5_0; i++) {
        q5_values(a[i].qs, a[i].qh, 16, v);
        int si = 0;
        for (int j = 0; j < 32; j++)
            si += v[j] * b[i].qs[j];
        sum += (llmri_h2f(a[i].d) * llmri_h2f(b[i].d)) * (float)si;
    }
    *s = sum;
}

void llmri_q5_1_to_float_ref(const void *src, float *dst, int64_t n)
{
    const block_q5_1 *x = src;
    int v[32];
    for (int64_t i = 0; i < n / QK5_1; i++) {
        const float d = llmri_h2f(x[i].d), m = llmri_h2f(x[i].m);
        q5_values(x[i].qs, x[i].qh, 0, v);
        for (int j = 0; j < 32; j++)
            dst[i * 32 + j] = v[j] * d + m;
    }
}

void llmri_q5_1_vec_dot_ref(int n, float *s, const void *w, const void *xv)
{
    const block_q5_1 *a = w;
    const block_q8_1 *b = xv;
    float sum = 0;
    int v[32];
    for (int i = 0; i < n / QK5_1; i++) {
        q5_values(a[i].qs, a[i].qh, 0, v);
        int si = 0;
        for (int j = 0; j < 32; j++)
            si += v[j] * b[i].qs[j];
        sum += (llmri_h2f(a[i].d) * llmri_h2f(b[i].d)) * (float)si +
               llmri_h2f(a[i].m) * llmri_h2f(b[i].s);
    }
    *s = sum;
}

/* ---- IQ4_NL: d * table[q] --------------------------------------------------------------- */
void llmri_iq4_nl_to_float_ref(const void *src, float *dst, int64_t n)
{
    const block_iq4_nl *x = src;
    for (int64_t i = 0; i < n / 32; i++) {
        const float d = llmri_h2f(x[i].d);
        for (int j = 0; j < 16; j++) {
            dst[i * 32 + j] = d * llmr_iq4nl_values[x[i].qs[j] & 0xf];
            dst[i * 32 + j + 16] = d * llmr_iq4nl_values[x[i].qs[j] >> 4];
        }
    }
}

void llmri_iq4_nl_vec_dot_ref(int n, float *s, const void *w, const void *xv)
{
    const block_iq4_nl *a = w;
    const block_q8_0 *b = xv;
    float sum = 0;
    for (int i = 0; i < n / 32; i++) {
        int si = 0;
        for (int j = 0; j < 16; j++) {
            si += llmr_iq4nl_values[a[i].qs[j] & 0xf] * b[i].qs[j];
            si += llmr_iq4nl_values[a[i].qs[j] >> 4] * b[i].qs[j + 16];
        }
        sum += (llmri_h2f(a[i].d) * llmri_h2f(b[i].d)) * (float)si;
    }
    *s = sum;
}
