/* attn_kern_avx2.c - the attention tile kernels (attn_kern_simd.h) on 8-lane AVX2+FMA vectors
 * (compiled with -mavx2 -mfma -mf16c; reached only through llmri_attn_kernels()). */
#include <immintrin.h>

typedef __m256 AKV;
#define AKW 8
#define VZERO() _mm256_setzero_ps()
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps(p, v)
#define VSET1(x) _mm256_set1_ps(x)
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define VMUL(a, b) _mm256_mul_ps(a, b)
#define VADD(a, b) _mm256_add_ps(a, b)
#define VSUB(a, b) _mm256_sub_ps(a, b)
#define VDIV(a, b) _mm256_div_ps(a, b)
#define VMAX(a, b) _mm256_max_ps(a, b)
#define VMIN(a, b) _mm256_min_ps(a, b)
#define VEXP2I(p, t, magic)                                                                   \
    _mm256_castsi256_ps(_mm256_add_epi32(                                                     \
        _mm256_castps_si256(p),                                                               \
        _mm256_slli_epi32(_mm256_sub_epi32(_mm256_castps_si256(t), _mm256_castps_si256(magic)), \
                          23)))
#define VZERO_LT(r, x, t) _mm256_andnot_ps(_mm256_cmp_ps(x, t, _CMP_LT_OQ), r)
#define QK_R 6
#define PV_R 6
#define ATTN_TABLE llmri_attn_avx2
#define ATTN_NAME "avx2"

static inline float VHSUM(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

static inline float VHMAX(__m256 v)
{
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_max_ss(s, _mm_movehdup_ps(s)));
}

#include "model/attn_kern_simd.h"
