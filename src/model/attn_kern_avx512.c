/* attn_kern_avx512.c - the attention tile kernels (attn_kern_simd.h) on 16-lane AVX-512F
 * vectors (compiled with the AVX-512 flags; reached only through llmri_attn_kernels()). It uses
 * only AVX-512F intrinsics that tests/kernels/test_avx512_emul.c emulates, so that test runs
 * this file on CPUs without AVX-512. */
#include <immintrin.h>

typedef __m512 AKV;
#define AKW 16
#define VZERO() _mm512_setzero_ps()
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, v) _mm512_storeu_ps(p, v)
#define VSET1(x) _mm512_set1_ps(x)
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define VMUL(a, b) _mm512_mul_ps(a, b)
#define VADD(a, b) _mm512_add_ps(a, b)
#define VSUB(a, b) _mm512_sub_ps(a, b)
#define VDIV(a, b) _mm512_div_ps(a, b)
#define VMAX(a, b) _mm512_max_ps(a, b)
#define VMIN(a, b) _mm512_min_ps(a, b)
#define VHSUM(v) _mm512_reduce_add_ps(v)
#define VHMAX(v) _mm512_reduce_max_ps(v)
#define VEXP2I(p, t, magic)                                                                   \
    _mm512_castsi512_ps(_mm512_add_epi32(                                                     \
        _mm512_castps_si512(p),                                                               \
        _mm512_slli_epi32(_mm512_sub_epi32(_mm512_castps_si512(t), _mm512_castps_si512(magic)), \
                          23)))
#define VZERO_LT(r, x, t) _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, t, _CMP_NLT_UQ), r)
#define QK_R 12
#define PV_R 12
#define ATTN_TABLE llmri_attn_avx512
#define ATTN_NAME "avx512"

#include "model/attn_kern_simd.h"
