/* kernel_test_util.h - random and edge-case blocks of every type, for the kernel tests. */
#ifndef LLMR_KERNEL_TEST_UTIL_H
#define LLMR_KERNEL_TEST_UTIL_H

#include "kernels/kernels.h"
#include "gguf/gguf.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static uint64_t kt_rng = 0x9E3779B97F4A7C15ull;
static inline uint32_t kt_u32(void)
{
    kt_rng ^= kt_rng << 13;
    kt_rng ^= kt_rng >> 7;
    kt_rng ^= kt_rng << 17;
    return (uint32_t)(kt_rng >> 16);
}
/* uniform in [-1, 1) */
static inline float kt_f(void) { return (float)((kt_u32() & 0xffffff) / 8388608.0 - 1.0); }

/* Where a type's f16 scale fields sit in its block (byte offsets; -1 ends the list). */
static inline const int *kt_half_offsets(uint32_t type)
{
    static const int none[] = {-1}, at0[] = {0, -1}, at01[] = {0, 2, -1};
    static const int q2k[] = {80, 82, -1}, q3k[] = {108, -1}, q6k[] = {208, -1};
    switch (type) {
    case LLMR_TYPE_Q4_0: case LLMR_TYPE_Q5_0: case LLMR_TYPE_Q8_0: case LLMR_TYPE_IQ4_NL:
        return at0;
    case LLMR_TYPE_Q4_1: case LLMR_TYPE_Q5_1: case LLMR_TYPE_Q4_K: case LLMR_TYPE_Q5_K:
        return at01;
    case LLMR_TYPE_Q2_K: return q2k;
    case LLMR_TYPE_Q3_K: return q3k;
    case LLMR_TYPE_Q6_K: return q6k;
    default: return none;
    }
}

enum { KT_RANDOM = 0, KT_ZERO = 1, KT_MAX = 2, KT_DENORMAL = 3, KT_NKINDS = 4 };

/* Fills n values' worth of blocks of `type`: random quants with scales of sensible size
 * (KT_RANDOM), all bytes zero (KT_ZERO), every quant byte 0xFF or 0x80 and large scales
 * (KT_MAX: the extremes of each packing), or random quants with subnormal f16 scales. */
static inline void kt_fill(const llmr_type_traits *t, void *dst, int64_t n, int kind)
{
    uint8_t *p = dst;
    size_t bytes = llmr_row_size(t->type, n);
    if (t->type == LLMR_TYPE_F32 || t->type == LLMR_TYPE_F16 || t->type == LLMR_TYPE_BF16) {
        float *tmp = malloc((size_t)n * sizeof(float));
        for (int64_t i = 0; i < n; i++)
            tmp[i] = kind == KT_ZERO ? 0.0f : kind == KT_MAX ? (i & 1 ? 60000.f : -60000.f)
                   : kind == KT_DENORMAL ? kt_f() * 1e-6f : kt_f();
        t->from_float(tmp, dst, n);
        free(tmp);
        return;
    }
    for (size_t i = 0; i < bytes; i++)
        p[i] = kind == KT_ZERO ? 0 : kind == KT_MAX ? ((i & 1) ? 0xFF : 0x80) : (uint8_t)kt_u32();
    const int *off = kt_half_offsets(t->type);
    for (size_t b = 0; b < bytes / t->type_size; b++)
        for (int k = 0; off[k] >= 0; k++) {
            float v = kind == KT_ZERO ? 0.f : kind == KT_MAX ? 2.0f : kind == KT_DENORMAL
                    ? (float)(kt_u32() % 1000) * 0x1p-24f : kt_f() * 0.05f;
            uint16_t h = llmr_fp32_to_fp16(v);
            memcpy(p + b * t->type_size + off[k], &h, 2);
        }
}

/* Activations: random, zero, large, tiny (subnormal f32) values. "Large" stays below
 * 2048 so that Q8_1's f16 block sum d*sum(q) (at most 32*amax) is finite. */
static inline void kt_fill_x(float *x, int64_t n, int kind)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = kind == KT_ZERO ? 0.0f : kind == KT_MAX ? kt_f() * 1e3f
             : kind == KT_DENORMAL ? kt_f() * 1e-39f : kt_f() * 2.0f;
}

#endif
