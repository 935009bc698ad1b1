/* quantize.c - weight quantizers for Q4_K, Q5_K and Q6_K (used by `llmr quantize`).
 *
 * Round-to-nearest with a scale search: for each sub-block several candidate inverse scales
 * are tried, each rounding is refitted by weighted least squares (x ~ scale*L + min), and the
 * candidate with the smallest weighted squared error wins. The sub-block scales are then
 * themselves quantized (6 bits for Q4_K/Q5_K under two f16 super-scales, int8 under one f16
 * for Q6_K) and the values re-rounded against the scales that will actually be stored. The
 * method is llama.cpp's in spirit; its output need not match llama-quantize bit for bit. */
#include "kernels/quants.h"

#include <math.h>
#include <string.h>

static inline int nearest_int(float f) { return (int)nearbyintf(f); }
static inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* The search loops below run a few dozen candidate roundings per value, so they avoid libm
 * calls and int conversions: values stay float in 4-lane GNU C vectors (plain SSE2 code at the
 * baseline ISA), rounding to nearest (ties to even, as nearbyintf in the default mode) is
 * (v + 1.5*2^23) - 1.5*2^23 on a value already clamped to a small integer range
 * (round(clamp(v, lo, hi)) == clamp(round(v), lo, hi) for integer lo, hi), and sums run in 4
 * interleaved lanes. The order of every float operation is fixed by this source, so the
 * output is the same on every CPU. */
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

static inline v4f v4_splat(float f) { return (v4f){f, f, f, f}; }
static inline v4f v4_load(const float *p)
{
    v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline v4f v4_sel(v4i m, v4f a, v4f b) { return (v4f)(((v4i)a & m) | ((v4i)b & ~m)); }
static inline v4f rnd_clamp4(v4f v, v4f lo, v4f hi)
{
    v = v4_sel(v > lo, v, lo);    /* a NaN becomes lo */
    v = v4_sel(v < hi, v, hi);
    const v4f magic = v4_splat(12582912.f);
    return (v + magic) - magic;
}
static inline float rnd_clamp(float v, float lo, float hi)
{
    v = v > lo ? v : lo;
    v = v < hi ? v : hi;
    return (v + 12582912.f) - 12582912.f;
}
static inline float lane_sum(v4f a)
{
    return (a[0] + a[2]) + (a[1] + a[3]);
}

/* Asymmetric fit of 32 values to scale*L + min with L in [0, nmax], min <= 0. Returns the
 * scale, stores -min (>= 0) in *neg_min and the chosen L. */
static float fit_asym(const float *x, const float *w, uint8_t *L, float *neg_min, int nmax,
                      float rmin, float rdelta, int nstep)
{
    enum { n = 32 };
    float lo = x[0], hi = x[0], sw = 0, sx = 0;
    for (int i = 0; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
        sw += w[i];
        sx += w[i] * x[i];
    }
    if (lo > 0)
        lo = 0;
    if (hi == lo) {
        memset(L, 0, (size_t)n);
        *neg_min = -lo;
        return 0.f;
    }
    const float fmax = (float)nmax;
    float best_scale = (hi - lo) / nmax, best_min = lo, best_err = INFINITY;
    v4f xv[n / 4], xm[n / 4], wv[n / 4], cand[n / 4], best[n / 4];
    for (int i = 0; i < n / 4; i++) {
        xv[i] = v4_load(x + 4 * i);
        wv[i] = v4_load(w + 4 * i);
        xm[i] = xv[i] - v4_splat(lo);
    }
    const v4f zero = v4_splat(0.f), vmax = v4_splat(fmax);
    for (int s = -1; s <= nstep; s++) {
        /* s == -1: the plain min/max rounding; others: stretched grids around it */
        const float iscale = (s < 0 ? fmax : rmin + rdelta * s + fmax) / (hi - lo);
        v4f sl = zero, sl2 = zero, sxl = zero;
        for (int i = 0; i < n / 4; i++) {
            const v4f l = rnd_clamp4(v4_splat(iscale) * xm[i], zero, vmax), wl = wv[i] * l;
            cand[i] = l;
            sl += wl;
            sl2 += wl * l;
            sxl += wl * xv[i];
        }
        const float Sl = lane_sum(sl), Sl2 = lane_sum(sl2), Sxl = lane_sum(sxl);
        float scale = 1 / iscale, mn = lo;
        const float D = sw * Sl2 - Sl * Sl;
        if (s >= 0) {
            if (D <= 0)
                continue;
            scale = (sw * Sxl - sx * Sl) / D;
            mn = (Sl2 * sx - Sl * Sxl) / D;
            if (mn > 0) {
                mn = 0;
                scale = Sl2 > 0 ? Sxl / Sl2 : 0;
            }
        }
        v4f e = zero;
        for (int i = 0; i < n / 4; i++) {
            const v4f diff = v4_splat(scale) * cand[i] + v4_splat(mn) - xv[i];
            e += wv[i] * diff * diff;
        }
        const float err = lane_sum(e);
        if (err < best_err) {
            best_err = err;
            best_scale = scale;
            best_min = mn;
            memcpy(best, cand, sizeof best);
        }
    }
    if (best_err == INFINITY)      /* no candidate fitted: the plain rounding */
        for (int i = 0; i < n / 4; i++)
            best[i] = rnd_clamp4(v4_splat(fmax / (hi - lo)) * xm[i], zero, vmax);
    for (int i = 0; i < n; i++)
        L[i] = (uint8_t)best[i / 4][i % 4];
    *neg_min = -best_min;
    return best_scale;
}

/* Q4_K / Q5_K share everything but the bit width and the packing of the fifth bit. */
static void quantize_q45_K(const float *x, llmr_half *d, llmr_half *dmin, uint8_t *scales,
                           uint8_t *L, int nmax)
{
    float sc[8], mn[8], w[32];
    float max_sc = 0, max_mn = 0;
    for (int j = 0; j < 8; j++) {
        const float *xs = x + 32 * j;
        float s2 = 0;
        for (int l = 0; l < 32; l++)
            s2 += xs[l] * xs[l];
        const float av = sqrtf(s2 / 32);
        for (int l = 0; l < 32; l++)
            w[l] = av + fabsf(xs[l]);     /* favour the large values, keep small ones in play */
        sc[j] = nmax == 15 ? fit_asym(xs, w, L + 32 * j, &mn[j], 15, -1.f, 0.1f, 20)
                           : fit_asym(xs, w, L + 32 * j, &mn[j], 31, -0.5f, 0.1f, 15);
        max_sc = sc[j] > max_sc ? sc[j] : max_sc;
        max_mn = mn[j] > max_mn ? mn[j] : max_mn;
    }
    const float inv_sc = max_sc > 0 ? 63.f / max_sc : 0.f;
    const float inv_mn = max_mn > 0 ? 63.f / max_mn : 0.f;
    memset(scales, 0, K_SCALE_SIZE);
    for (int j = 0; j < 8; j++) {
        uint8_t ls = (uint8_t)clampi(nearest_int(inv_sc * sc[j]), 0, 63);
        uint8_t lm = (uint8_t)clampi(nearest_int(inv_mn * mn[j]), 0, 63);
        /* the 12-byte packing read back by llmri_k_scale_min */
        if (j < 4) {
            scales[j] |= ls;
            scales[j + 4] |= lm;
        } else {
            scales[j + 4] = (uint8_t)((ls & 0xF) | ((lm & 0xF) << 4));
            scales[j - 4] |= (uint8_t)((ls >> 4) << 6);
            scales[j] |= (uint8_t)((lm >> 4) << 6);
        }
    }
    *d = llmri_fp32_to_fp16(max_sc / 63.f);
    *dmin = llmri_fp32_to_fp16(max_mn / 63.f);
    for (int j = 0; j < 8; j++) {
        uint8_t s, m;
        llmri_k_scale_min(j, scales, &s, &m);
        const float ds = llmri_h2f(*d) * s, dm = llmri_h2f(*dmin) * m;
        if (!ds)
            continue;
        for (int l = 0; l < 32; l++)
            L[32 * j + l] = (uint8_t)rnd_clamp((x[32 * j + l] + dm) / ds, 0.f, (float)nmax);
    }
}

void llmri_q4_K_from_float_ref(const float *src, void *dst, int64_t n)
{
    block_q4_K *y = dst;
    uint8_t L[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
        quantize_q45_K(src, &y[i].d, &y[i].dmin, y[i].scales, L, 15);
        for (int j = 0; j < 4; j++)
            for (int l = 0; l < 32; l++)
                y[i].qs[32 * j + l] = (uint8_t)(L[64 * j + l] | (L[64 * j + 32 + l] << 4));
    }
}

void llmri_q5_K_from_float_ref(const float *src, void *dst, int64_t n)
{
    block_q5_K *y = dst;
    uint8_t L[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
        quantize_q45_K(src, &y[i].d, &y[i].dmin, y[i].scales, L, 31);
        memset(y[i].qh, 0, sizeof y[i].qh);
        for (int j = 0; j < 4; j++)
            for (int l = 0; l < 32; l++) {
                uint8_t a = L[64 * j + l], b = L[64 * j + 32 + l];
                y[i].qs[32 * j + l] = (uint8_t)((a & 0xF) | ((b & 0xF) << 4));
                y[i].qh[l] |= (uint8_t)(((a >> 4) << (2 * j)) | ((b >> 4) << (2 * j + 1)));
            }
    }
}

/* Symmetric fit of 16 values to scale*l, l in [-32, 31], weights x^2 (the large values
 * dominate the error of a dot product). Returns the scale. */
static float fit_sym16(const float *x)
{
    float amax = 0, max = 0;
    for (int i = 0; i < 16; i++) {
        const float a = fabsf(x[i]);
        if (a > amax) {
            amax = a;
            max = x[i];
        }
    }
    if (amax < 1e-30f)
        return 0.f;
    v4f xv[4], w[4], wx[4];
    for (int i = 0; i < 4; i++) {
        xv[i] = v4_load(x + 4 * i);
        w[i] = xv[i] * xv[i];
        wx[i] = w[i] * xv[i];
    }
    const v4f lo = v4_splat(-32.f), hi = v4_splat(31.f);
    float best = -1, best_scale = -max / 32;
    for (int s = -9; s <= 9; s++) {
        const float iscale = -(32 + 0.1f * s) / max;
        v4f sxl = v4_splat(0.f), sl2 = sxl;
        for (int i = 0; i < 4; i++) {
            const v4f l = rnd_clamp4(v4_splat(iscale) * xv[i], lo, hi);
            sxl += wx[i] * l;
            sl2 += w[i] * l * l;
        }
        const float Sxl = lane_sum(sxl), Sl2 = lane_sum(sl2);
        /* least-squares error falls as sxl^2/sl2 rises */
        if (Sl2 > 0 && Sxl * Sxl / Sl2 > best) {
            best = Sxl * Sxl / Sl2;
            best_scale = Sxl / Sl2;
        }
    }
    return best_scale;
}

void llmri_q6_K_from_float_ref(const float *src, void *dst, int64_t n)
{
    block_q6_K *y = dst;
    int8_t L[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
        float sc[16], amax = 0, max = 0;
        for (int j = 0; j < 16; j++) {
            sc[j] = fit_sym16(src + 16 * j);
            if (fabsf(sc[j]) > amax) {
                amax = fabsf(sc[j]);
                max = sc[j];
            }
        }
        memset(&y[i], 0, sizeof y[i]);
        if (amax < 1e-30f) {
            memset(L, 32, sizeof L);
        } else {
            const float iscale = -128.f / max;
            y[i].d = llmri_fp32_to_fp16(1 / iscale);
            for (int j = 0; j < 16; j++)
                y[i].scales[j] = (int8_t)clampi(nearest_int(iscale * sc[j]), -128, 127);
            for (int j = 0; j < 16; j++) {
                const float ds = llmri_h2f(y[i].d) * y[i].scales[j];
                for (int l = 0; l < 16; l++)
                    L[16 * j + l] = (int8_t)(ds ? rnd_clamp(src[16 * j + l] / ds, -32.f, 31.f) + 32
                                                : 32);
            }
        }
        for (int h = 0; h < 2; h++) {
            const int8_t *q = L + 128 * h;
            uint8_t *ql = y[i].ql + 64 * h, *qh = y[i].qh + 32 * h;
            for (int l = 0; l < 32; l++) {
                ql[l] = (uint8_t)((q[l] & 0xF) | ((q[l + 64] & 0xF) << 4));
                ql[l + 32] = (uint8_t)((q[l + 32] & 0xF) | ((q[l + 96] & 0xF) << 4));
                qh[l] = (uint8_t)((q[l] >> 4) | ((q[l + 32] >> 4) << 2) | ((q[l + 64] >> 4) << 4) |
                                  ((q[l + 96] >> 4) << 6));
            }
        }
    }
}
