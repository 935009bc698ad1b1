/* ref_kquants.c - reference kernels for the 256-value "K" super-block types: Q2_K, Q3_K,
 * Q4_K, Q5_K, Q6_K, and the Q8_K activation type they are multiplied with.
 *
 * Dequantization repeats ggml's expressions (ggml-quants.c, b4748) so that the values are
 * bit-identical: e.g. Q4_K computes d1 = d*sc and m1 = dmin*m once per sub-block and then
 * d1*q - m1 (two roundings; this file is built without FMA so nothing is contracted).
 * Dots: exact integer sums per sub-block weighted by the integer scales, then per super-block
 * (d_w*d_x)*sumi - (dmin_w*d_x)*summins, the order of llama.cpp's x86 kernels. */
#include "kernels/quants.h"

#include <math.h>
#include <string.h>

/* Rounded to the nearest integer; NaN and values past int's range (a corrupt model, which the
 * forward pass reports) give 0 or the range's end instead of an undefined cast. */
static inline int nearest_int(float f)
{
    const float r = nearbyintf(f);
    return r == r ? (int)fmaxf(-2147483520.f, fminf(2147483520.f, r)) : 0;
}

/* ---- Q8_K: ggml's quantize_row_q8_K_ref (x86 uses it as is): the value of largest
 * magnitude maps to -127, d = 1/iscale, and bsums hold the sum of each 16 quants. -------- */
void llmri_q8_K_from_float_ref(const float *src, void *dst, int64_t n)
{
    block_q8_K *y = dst;
    for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
        float max = 0, amax = 0;
        for (int j = 0; j < QK_K; j++)
            if (fabsf(src[j]) > amax) {
                amax = fabsf(src[j]);
                max = src[j];
            }
        if (!(amax >= 1e-30f)) {        /* zero, or so small that -127/max overflows */
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -127.f / max;
        for (int j = 0; j < QK_K; j++) {
            int v = nearest_int(iscale * src[j]);
            y[i].qs[j] = (int8_t)(v > 127 ? 127 : v);
        }
        for (int j = 0; j < QK_K / 16; j++) {
            int s = 0;
            for (int l = 0; l < 16; l++)
                s += y[i].qs[j * 16 + l];
            y[i].bsums[j] = (int16_t)s;
        }
        y[i].d = 1 / iscale;
    }
}

void llmri_q8_K_to_float_ref(const void *src, float *dst, int64_t n)
{
    const block_q8_K *x = src;
    for (int64_t i = 0; i < n / QK_K; i++)
        for (int j = 0; j < QK_K; j++)
            *dst++ = x[i].d * x[i].qs[j];
}

/* ---- unpacking helpers: each writes the 256 integer quants of a super-block in value
 * order, so that dequantization and the dot share one description of the layout ---------- */

/* Q2_K: 2-bit q; in each half (128 values, 32 bytes of qs) shift 0,2,4,6 picks the 32-value
 * groups in order, bytes 0-15 and 16-31 being two 16-value sub-blocks. */
static void q2_K_unpack(const block_q2_K *b, int8_t *q)
{
    for (int h = 0; h < 2; h++)
        for (int s = 0; s < 4; s++)
            for (int l = 0; l < 32; l++)
                q[h * 128 + s * 32 + l] = (int8_t)((b->qs[h * 32 + l] >> (2 * s)) & 3);
}

/* Q3_K: same 2-bit walk; hmask bit (h*4+s) of byte l is the third bit: clear means -4. */
static void q3_K_unpack(const block_q3_K *b, int8_t *q)
{
    for (int h = 0; h < 2; h++)
        for (int s = 0; s < 4; s++) {
            const uint8_t m = (uint8_t)(1u << (h * 4 + s));
            for (int l = 0; l < 32; l++)
                q[h * 128 + s * 32 + l] = (int8_t)(((b->qs[h * 32 + l] >> (2 * s)) & 3) -
                                                   ((b->hmask[l] & m) ? 0 : 4));
        }
}

/* Q3_K's 16 scales: 6 bits each, low 4 bits in bytes 0-7 (nibbles), high 2 bits in bytes
 * 8-11, stored with +32 offset. */
static void q3_K_scales(const uint8_t *p, int *sc)
{
    for (int j = 0; j < 16; j++) {
        int lo = j < 8 ? p[j] & 0xF : p[j - 8] >> 4;
        int hi = (p[8 + (j & 3)] >> (2 * (j >> 2))) & 3;
        sc[j] = (lo | (hi << 4)) - 32;
    }
}

/* Q4_K / Q5_K: each 64 values use 32 bytes of qs, low nibbles first; Q5_K's qh byte l gives
 * the fifth bit of value l + 32*k at bit k. */
static void q45_K_unpack(const uint8_t *qs, const uint8_t *qh, int8_t *q)
{
    for (int j = 0; j < 4; j++)
        for (int l = 0; l < 32; l++) {
            int lo = qs[j * 32 + l] & 0xF, hi = qs[j * 32 + l] >> 4;
            if (qh) {
                lo |= ((qh[l] >> (2 * j)) & 1) << 4;
                hi |= ((qh[l] >> (2 * j + 1)) & 1) << 4;
            }
            q[j * 64 + l] = (int8_t)lo;
            q[j * 64 + 32 + l] = (int8_t)hi;
        }
}

/* Q6_K: per 128 values, ql bytes 0-31 / 32-63 low and high nibbles give the four 32-value
 * groups, qh byte l holds their two high bits at shifts 0,2,4,6; offset 32. */
static void q6_K_unpack(const block_q6_K *b, int8_t *q)
{
    for (int h = 0; h < 2; h++) {
        const uint8_t *ql = b->ql + h * 64, *qh = b->qh + h * 32;
        for (int l = 0; l < 32; l++) {
            q[h * 128 + l] = (int8_t)(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
            q[h * 128 + l + 32] = (int8_t)(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
            q[h * 128 + l + 64] = (int8_t)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
            q[h * 128 + l + 96] = (int8_t)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
        }
    }
}

/* ---- dequantization ---------------------------------------------------------------------- */
void llmri_q2_K_to_float_ref(const void *src, float *dst, int64_t n)
{
    const block_q2_K *x = src;
    int8_t q[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d = llmri_h2f(x[i].d), min = llmri_h2f(x[i].dmin);
        q2_K_unpack(&x[i], q);
        for (int j = 0; j < 16; j++) {
            const float dl = d * (x[i].scales[j] & 0xF), ml = min * (x[i].scales[j] >> 4);
            for (int l = 0; l < 16; l++)
                *dst++ = dl * q[j * 16 + l] - ml;
        }
    }
}

void llmri_q3_K_to_float_ref(const void *src, float *dst, int64_t n)
{
    const block_q3_K *x = src;
    int8_t q[QK_K];
    int sc[16];
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d = llmri_h2f(x[i].d);
        q3_K_unpack(&x[i], q);
        q3_K_scales(x[i].scales, sc);
        for (int j = 0; j < 16; j++) {
            const float dl = d * sc[j];
            for (int l = 0; l < 16; l++)
                *dst++ = dl * q[j * 16 + l];
        }
    }
}

static void q45_K_to_float(llmr_half dh, llmr_half mh, const uint8_t *scales, const int8_t *q,
                           float *dst)
{
    const float d = llmri_h2f(dh), min = llmri_h2f(mh);
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        llmri_k_scale_min(j, scales, &sc, &m);
        const float d1 = d * sc, m1 = min * m;
        for (int l = 0; l < 32; l++)
            *dst++ = d1 * q[j * 32 + l] - m1;
    }
}

void llmri_q4_K_to_float_ref(const void *src, float *dst, int64_t n)
{
    const block_q4_K *x = src;
    int8_t q[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, dst += QK_K) {
        q45_K_unpack(x[i].qs, NULL, q);
        q45_K_to_float(x[i].d, x[i].dmin, x[i].scales, q, dst);
    }
}

void llmri_q5_K_to_float_ref(const void *src, float *dst, int64_t n)
{
    const block_q5_K *x = src;
    int8_t q[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, dst += QK_K) {
        q45_K_unpack(x[i].qs, x[i].qh, q);
        q45_K_to_float(x[i].d, x[i].dmin, x[i].scales, q, dst);
    }
}

void llmri_q6_K_to_float_ref(const void *src, float *dst, int64_t n)
{
    const block_q6_K *x = src;
    int8_t q[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d = llmri_h2f(x[i].d);
        q6_K_unpack(&x[i], q);
        for (int j = 0; j < QK_K; j++)
            *dst++ = d * x[i].scales[j / 16] * q[j];     /* (d*sc)*q, as ggml */
    }
}

/* ---- dot products with Q8_K -------------------------------------------------------------- */
static int dot16(const int8_t *a, const int8_t *b)
{
    int s = 0;
    for (int l = 0; l < 16; l++)
        s += a[l] * b[l];
    return s;
}

void llmri_q2_K_vec_dot_ref(int n, float *s, const void *w, const void *xv)
{
    const block_q2_K *a = w;
    const block_q8_K *b = xv;
    int8_t q[QK_K];
    float sum = 0;
    for (int i = 0; i < n / QK_K; i++) {
        q2_K_unpack(&a[i], q);
        int sumi = 0, summ = 0;
        for (int j = 0; j < 16; j++) {
            sumi += (a[i].scales[j] & 0xF) * dot16(q + 16 * j, b[i].qs + 16 * j);
            summ += (a[i].scales[j] >> 4) * b[i].bsums[j];
        }
        sum += (b[i].d * llmri_h2f(a[i].d)) * (float)sumi -
               (b[i].d * llmri_h2f(a[i].dmin)) * (float)summ;
    }
    *s = sum;
}

void llmri_q3_K_vec_dot_ref(int n, float *s, const void *w, const void *xv)
{
    const block_q3_K *a = w;
    const block_q8_K *b = xv;
    int8_t q[QK_K];
    int sc[16];
    float sum = 0;
    for (int i = 0; i < n / QK_K; i++) {
        q3_K_unpack(&a[i], q);
        q3_K_scales(a[i].scales, sc);
        int sumi = 0;
        for (int j = 0; j < 16; j++)
            sumi += sc[j] * dot16(q + 16 * j, b[i].qs + 16 * j);
        sum += (b[i].d * llmri_h2f(a[i].d)) * (float)sumi;
    }
    *s = sum;
}

static float q45_K_dot(llmr_half dh, llmr_half mh, const uint8_t *scales, const int8_t *q,
                       const block_q8_K *b)
{
    int sumi = 0, summ = 0;
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        llmri_k_scale_min(j, scales, &sc, &m);
        sumi += sc * (dot16(q + 32 * j, b->qs + 32 * j) + dot16(q + 32 * j + 16, b->qs + 32 * j + 16));
        summ += m * (b->bsums[2 * j] + b->bsums[2 * j + 1]);
    }
    return (b->d * llmri_h2f(dh)) * (float)sumi - (b->d * llmri_h2f(mh)) * (float)summ;
}

void llmri_q4_K_vec_dot_ref(int n, float *s, const void *w, const void *xv)
{
    const block_q4_K *a = w;
    const block_q8_K *b = xv;
    int8_t q[QK_K];
    float sum = 0;
    for (int i = 0; i < n / QK_K; i++) {
        q45_K_unpack(a[i].qs, NULL, q);
        sum += q45_K_dot(a[i].d, a[i].dmin, a[i].scales, q, &b[i]);
    }
    *s = sum;
}

void llmri_q5_K_vec_dot_ref(int n, float *s, const void *w, const void *xv)
{
    const block_q5_K *a = w;
    const block_q8_K *b = xv;
    int8_t q[QK_K];
    float sum = 0;
    for (int i = 0; i < n / QK_K; i++) {
        q45_K_unpack(a[i].qs, a[i].qh, q);
        sum += q45_K_dot(a[i].d, a[i].dmin, a[i].scales, q, &b[i]);
    }
    *s = sum;
}

void llmri_q6_K_vec_dot_ref(int n, float *s, const void *w, const void *xv)
{
    const block_q6_K *a = w;
    const block_q8_K *b = xv;
    int8_t q[QK_K];
    float sum = 0;
    for (int i = 0; i < n / QK_K; i++) {
        q6_K_unpack(&a[i], q);
        int sumi = 0;
        for (int j = 0; j < 16; j++)
            sumi += a[i].scales[j] * dot16(q + 16 * j, b[i].qs + 16 * j);
        sum += (b[i].d * llmri_h2f(a[i].d)) * (float)sumi;
    }
    *s = sum;
}
