/* ref_float.c - reference kernels for the float types F32, F16 and BF16.
 * Dots accumulate in double: the reference is the yardstick the SIMD paths are held to. */
#include "kernels/quants.h"

#include <string.h>

void llmri_f32_to_float_ref(const void *src, float *dst, int64_t n)
{
    memcpy(dst, src, (size_t)n * sizeof(float));
}

void llmri_f32_from_float_ref(const float *src, void *dst, int64_t n)
{
    memcpy(dst, src, (size_t)n * sizeof(float));
}

void llmri_f32_vec_dot_ref(int n, float *s, const void *w, const void *x)
{
    const float *a = w, *b = x;
    double acc = 0;
    for (int i = 0; i < n; i++)
        acc += (double)a[i] * b[i];
    *s = (float)acc;
}

void llmri_f16_to_float_ref(const void *src, float *dst, int64_t n)
{
    llmri_fp16_to_fp32_row(src, dst, n);
}

void llmri_f16_from_float_ref(const float *src, void *dst, int64_t n)
{
    llmri_fp32_to_fp16_row(src, dst, n);
}

void llmri_f16_vec_dot_ref(int n, float *s, const void *w, const void *x)
{
    const uint16_t *a = w, *b = x;
    double acc = 0;
    for (int i = 0; i < n; i++)
        acc += (double)llmri_fp16_to_fp32(a[i]) * llmri_fp16_to_fp32(b[i]);
    *s = (float)acc;
}

void llmri_bf16_to_float_ref(const void *src, float *dst, int64_t n)
{
    llmri_bf16_to_fp32_row(src, dst, n);
}

void llmri_bf16_from_float_ref(const float *src, void *dst, int64_t n)
{
    llmri_fp32_to_bf16_row(src, dst, n);
}

void llmri_bf16_vec_dot_ref(int n, float *s, const void *w, const void *x)
{
    const uint16_t *a = w, *b = x;
    double acc = 0;
    for (int i = 0; i < n; i++)
        acc += (double)llmri_bf16_to_fp32(a[i]) * llmri_bf16_to_fp32(b[i]);
    *s = (float)acc;
}
