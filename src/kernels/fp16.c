/* fp16.c - IEEE binary16 and bfloat16 <-> binary32 conversions, exact, round-to-nearest-even.
 *
 * Done with integer bit manipulation so that results do not depend on the ISA or the
 * compiler's floating-point flags: ggml converts with F16C's vcvtps2ph (imm 0 = RNE) or an
 * equivalent table, and bf16 with the rounding rule of ggml_compute_fp32_to_bf16 (ggml-impl.h,
 * b4748: NaN is made quiet, subnormals kept). */
#include "kernels/kernels.h"

#include <string.h>

static inline uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static inline float u2f(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float llmri_fp16_to_fp32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    if (exp == 0) {
        /* zero or subnormal: man * 2^-24, exact in binary32 */
        float v = (float)man * 0x1p-24f;
        return u2f(sign | f2u(v));
    }
    if (exp == 31)
        return u2f(sign | 0x7f800000u | (man << 13));
    return u2f(sign | ((exp + 112) << 23) | (man << 13));   /* rebias 15 -> 127 */
}

uint16_t llmri_fp32_to_fp16(float f)
{
    uint32_t x = f2u(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    x &= 0x7fffffffu;
    if (x > 0x7f800000u)                          /* NaN: keep the top payload bits, quiet */
        return sign | 0x7e00 | (uint16_t)((x >> 13) & 0x3ff);
    if (x >= 0x477ff000u)                         /* >= 65520 rounds to infinity */
        return sign | 0x7c00;
    if (x >= 0x38800000u) {                       /* normal half: round off 13 bits */
        x += 0xfffu + ((x >> 13) & 1);
        x -= 112u << 23;
        return sign | (uint16_t)(x >> 13);
    }
    if (x < 0x33000000u)                          /* < 2^-25: rounds to zero (tie to even) */
        return sign;
    /* subnormal half: value = m * 2^(e-150), half units are 2^-24 */
    uint32_t e = x >> 23, m = (x & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126 - e;                     /* 14..24 */
    uint32_t h = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1)))
        h++;
    return sign | (uint16_t)h;
}

float llmri_bf16_to_fp32(uint16_t h) { return u2f((uint32_t)h << 16); }

uint16_t llmri_fp32_to_bf16(float f)
{
    uint32_t u = f2u(f);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 64);
    return (uint16_t)((u + (0x7fffu + ((u >> 16) & 1))) >> 16);
}

void llmri_fp16_to_fp32_row(const uint16_t *src, float *dst, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        dst[i] = llmri_fp16_to_fp32(src[i]);
}

void llmri_fp32_to_fp16_row(const float *src, uint16_t *dst, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        dst[i] = llmri_fp32_to_fp16(src[i]);
}

void llmri_bf16_to_fp32_row(const uint16_t *src, float *dst, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        dst[i] = llmri_bf16_to_fp32(src[i]);
}

void llmri_fp32_to_bf16_row(const float *src, uint16_t *dst, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        dst[i] = llmri_fp32_to_bf16(src[i]);
}
