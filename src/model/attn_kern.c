/* attn_kern.c - the attention tile kernels in plain C (the reference the SIMD versions are
 * tested against, and what runs without AVX2), and the run-time choice. */
#include "model/attn_kern.h"

#include "gguf/gguf.h"

#include <math.h>
#include <string.h>

/* Blocks of 32 values: Q8_0 {fp16 d; int8 q[32]} is d * q[j]; Q4_0 {fp16 d; uint8 q[16]} is
 * d * ((q[j] & 15) - 8) for j < 16 and d * ((q[j - 16] >> 4) - 8) after (ggml's layouts). */
static void ref_to_float(int type, const uint8_t *src, size_t stride, int n, int hd, float *dst)
{
    for (int i = 0; i < n; i++) {
        const uint8_t *r = src + (size_t)i * stride;
        float *o = dst + (size_t)i * hd;
        if (type == LLMR_TYPE_F32) {
            memcpy(o, r, (size_t)hd * sizeof(float));
        } else if (type == LLMR_TYPE_F16) {
            for (int d = 0; d < hd; d++) {
                uint16_t h;
                memcpy(&h, r + 2 * d, 2);
                o[d] = llmri_fp16_to_fp32(h);
            }
        } else if (type == LLMR_TYPE_Q8_0) {
            for (int b = 0; b < hd / 32; b++, r += 34) {
                uint16_t h;
                memcpy(&h, r, 2);
                const float d = llmri_fp16_to_fp32(h);
                for (int j = 0; j < 32; j++)
                    o[32 * b + j] = d * (float)(int8_t)r[2 + j];
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

static void ref_transpose(const float *k, int n, int hd, float *kt)
{
    for (int d = 0; d < hd; d++)
        for (int i = 0; i < ATT_KV_TILE; i++)
            kt[(size_t)d * ATT_KV_TILE + i] = i < n ? k[(size_t)i * hd + d] : 0.0f;
}

static void ref_qk(float *s, const float *q, int nc, const float *kt, int hd)
{
    for (int c = 0; c < nc; c++)
        for (int i = 0; i < ATT_KV_TILE; i++) {
            float a = 0.0f;
            for (int d = 0; d < hd; d++)
                a += q[(size_t)c * hd + d] * kt[(size_t)d * ATT_KV_TILE + i];
            s[(size_t)c * ATT_KV_TILE + i] = a;
        }
}

/* Value d of a cache row of `type` (the layouts of ref_to_float). */
static float ref_value(int type, const uint8_t *r, int d)
{
    uint16_t h;
    if (type == LLMR_TYPE_F32) {
        float f;
        memcpy(&f, r + 4 * d, 4);
        return f;
    }
    if (type == LLMR_TYPE_F16) {
        memcpy(&h, r + 2 * d, 2);
        return llmri_fp16_to_fp32(h);
    }
    const int j = d % 32;
    if (type == LLMR_TYPE_Q8_0) {
        r += d / 32 * 34;
        memcpy(&h, r, 2);
        return llmri_fp16_to_fp32(h) * (float)(int8_t)r[2 + j];
    }
    r += d / 32 * 18;
    memcpy(&h, r, 2);
    return llmri_fp16_to_fp32(h) * (float)((j < 16 ? r[2 + j] & 15 : r[2 + j - 16] >> 4) - 8);
}

static void ref_qk_direct(float *s, const float *q, int nc, int type, const uint8_t *k,
                          size_t stride, int n, int hd)
{
    for (int c = 0; c < nc; c++)
        for (int i = 0; i < ATT_KV_TILE; i++) {
            float a = 0.0f;
            for (int d = 0; i < n && d < hd; d++)
                a += q[llmri_att_qd_index(nc, hd, c, d)] * ref_value(type, k + (size_t)i * stride, d);
            s[(size_t)c * ATT_KV_TILE + i] = a;
        }
}

static void ref_pv_direct(float *o, const float *p, int nc, int type, const uint8_t *v,
                          size_t stride, int n, int hd, const float *corr)
{
    for (int c = 0; c < nc; c++) {
        float *oc = o + (size_t)c * hd;
        for (int d = 0; d < hd; d++) {
            float a = oc[d] * corr[c];
            for (int i = 0; i < n; i++)
                a += p[(size_t)c * ATT_KV_TILE + i] * ref_value(type, v + (size_t)i * stride, d);
            oc[d] = a;
        }
    }
}

/* A NaN score is not taken as the maximum (the compare fails) but reaches the sum through
 * expf, so a broken model's NaN still propagates to the output. */
static void ref_softmax(float *s, int nc, const llmr_att_mask *mask, float cap, float *mx,
                        float *sum, float *corr)
{
    for (int c = 0; c < nc; c++) {
        float *row = s + (size_t)c * ATT_KV_TILE;
        int lo, hi;
        llmri_att_range(mask, c, &lo, &hi);
        if (hi <= lo) {
            memset(row, 0, ATT_KV_TILE * sizeof *row);
            corr[c] = 1.0f;
            continue;
        }
        float m = mx[c], t = 0.0f;
        for (int i = lo; i < hi; i++) {
            if (cap > 0.0f)
                row[i] = cap * tanhf(row[i] / cap);
            m = row[i] > m ? row[i] : m;
        }
        for (int i = 0; i < ATT_KV_TILE; i++) {
            row[i] = i >= lo && i < hi ? expf(row[i] - m) : 0.0f;
            t += row[i];
        }
        corr[c] = sum[c] == 0.0f ? 0.0f : expf(mx[c] - m);
        sum[c] = sum[c] * corr[c] + t;
        mx[c] = m;
    }
}

static void ref_pv(float *o, const float *p, int nc, const float *v, int n, int hd,
                   const float *corr)
{
    for (int c = 0; c < nc; c++) {
        float *oc = o + (size_t)c * hd;
        for (int d = 0; d < hd; d++) {
            float a = oc[d] * corr[c];
            for (int i = 0; i < n; i++)
                a += p[(size_t)c * ATT_KV_TILE + i] * v[(size_t)i * hd + d];
            oc[d] = a;
        }
    }
}

static const llmr_attn_kernels attn_ref = {"ref",  ref_to_float,  ref_transpose,
                                           ref_qk, ref_softmax,   ref_pv,
                                           ref_qk_direct, ref_pv_direct};

#if defined(__x86_64__) || defined(__i386__)
extern const llmr_attn_kernels llmri_attn_avx2, llmri_attn_avx512;
#endif

const llmr_attn_kernels *llmri_attn_kernels_isa(llmr_isa isa)
{
    switch (isa) {
    case LLMR_ISA_REF: return &attn_ref;
#if defined(__x86_64__) || defined(__i386__)
    case LLMR_ISA_AVX2: return &llmri_attn_avx2;
    case LLMR_ISA_AVX512: return &llmri_attn_avx512;
#endif
    default: return NULL;
    }
}

const llmr_attn_kernels *llmri_attn_kernels(void)
{
    const llmr_attn_kernels *k = llmri_attn_kernels_isa(llmri_cpu_best_isa());
    return k ? k : &attn_ref;
}
