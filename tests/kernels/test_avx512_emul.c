/* test_avx512_emul.c - the AVX-512 kernels, run on a CPU without AVX-512: every AVX-512
 * intrinsic kernels_avx512.c uses is replaced by a scalar emulation written from the
 * instruction's definition (Intel SDM), the file is compiled in here with AVX2 enabled, and
 * its kernels are checked against the reference like test_simd does. On a CPU with AVX-512,
 * test_simd also runs the real instructions; this test keeps the code honest everywhere.
 * Skips when the CPU lacks AVX2 (the AVX2 parts of the file run natively). */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC target("avx2,fma,f16c")
#endif
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* ---- 512-bit types and the emulated intrinsics -------------------------------------------- */
typedef struct { float f[16]; } emu_m512;
typedef struct { int32_t i[16]; } emu_m512i;
typedef struct { uint16_t h[32]; } emu_m512bh;
#define __m512 emu_m512
#define __m512i emu_m512i
#define __m512bh emu_m512bh

static inline emu_m512 emu_loadu_ps(const float *p) { emu_m512 r; memcpy(r.f, p, 64); return r; }
static inline emu_m512 emu_add_ps(emu_m512 a, emu_m512 b) { for (int i = 0; i < 16; i++) a.f[i] += b.f[i]; return a; }
/* vmovups with a mask: masked-off lanes are neither read (zero in the result) nor written */
static inline emu_m512 emu_maskz_loadu_ps(__mmask16 m, const float *p) { emu_m512 r; for (int i = 0; i < 16; i++) r.f[i] = m >> i & 1 ? p[i] : 0.0f; return r; }
static inline void emu_mask_storeu_ps(float *p, __mmask16 m, emu_m512 a) { for (int i = 0; i < 16; i++) if (m >> i & 1) p[i] = a.f[i]; }
static inline emu_m512 emu_setzero_ps(void) { emu_m512 r = {{0}}; return r; }
static inline emu_m512 emu_set1_ps(float v) { emu_m512 r; for (int i = 0; i < 16; i++) r.f[i] = v; return r; }
static inline emu_m512i emu_set1_epi32(int v) { emu_m512i r; for (int i = 0; i < 16; i++) r.i[i] = v; return r; }
static inline emu_m512 emu_abs_ps(emu_m512 a) { for (int i = 0; i < 16; i++) a.f[i] = fabsf(a.f[i]); return a; }
/* vmaxps returns the second operand when either is NaN; no NaNs reach these tests */
static inline emu_m512 emu_max_ps(emu_m512 a, emu_m512 b) { for (int i = 0; i < 16; i++) a.f[i] = a.f[i] > b.f[i] ? a.f[i] : b.f[i]; return a; }
static inline emu_m512 emu_mul_ps(emu_m512 a, emu_m512 b) { for (int i = 0; i < 16; i++) a.f[i] *= b.f[i]; return a; }
static inline emu_m512 emu_fmadd_ps(emu_m512 a, emu_m512 b, emu_m512 c) { for (int i = 0; i < 16; i++) a.f[i] = fmaf(a.f[i], b.f[i], c.f[i]); return a; }
static inline float emu_reduce_max_ps(emu_m512 a) { float m = a.f[0]; for (int i = 1; i < 16; i++) m = a.f[i] > m ? a.f[i] : m; return m; }
static inline float emu_reduce_add_ps(emu_m512 a) { float s = 0; for (int i = 0; i < 16; i++) s += a.f[i]; return s; }
/* vrndscaleps with imm 0 (+ no-exception bit): round to integer, nearest even */
static inline emu_m512 emu_roundscale_ps(emu_m512 a, int imm) { (void)imm; for (int i = 0; i < 16; i++) a.f[i] = nearbyintf(a.f[i]); return a; }
static inline emu_m512i emu_cvtps_epi32(emu_m512 a) { emu_m512i r; for (int i = 0; i < 16; i++) r.i[i] = (int32_t)lrintf(a.f[i]); return r; }
static inline emu_m512i emu_add_epi32(emu_m512i a, emu_m512i b) { for (int i = 0; i < 16; i++) a.i[i] = (int32_t)((uint32_t)a.i[i] + (uint32_t)b.i[i]); return a; }
static inline emu_m512i emu_min_epi32(emu_m512i a, emu_m512i b) { for (int i = 0; i < 16; i++) a.i[i] = a.i[i] < b.i[i] ? a.i[i] : b.i[i]; return a; }
static inline int emu_reduce_add_epi32(emu_m512i a) { uint32_t s = 0; for (int i = 0; i < 16; i++) s += (uint32_t)a.i[i]; return (int)s; }
/* vpmovdb: truncate each int32 to its low byte; vpmovsdb: saturate to [-128, 127] */
static inline __m128i emu_cvtepi32_epi8(emu_m512i a) { int8_t b[16]; for (int i = 0; i < 16; i++) b[i] = (int8_t)(uint8_t)a.i[i]; __m128i r; memcpy(&r, b, 16); return r; }
static inline __m128i emu_cvtsepi32_epi8(emu_m512i a) { int8_t b[16]; for (int i = 0; i < 16; i++) b[i] = (int8_t)(a.i[i] < -128 ? -128 : a.i[i] > 127 ? 127 : a.i[i]); __m128i r; memcpy(&r, b, 16); return r; }
static inline emu_m512 emu_cvtph_ps(__m256i h) { emu_m512 r; _mm256_storeu_ps(r.f, _mm256_cvtph_ps(_mm256_castsi256_si128(h))); _mm256_storeu_ps(r.f + 8, _mm256_cvtph_ps(_mm256_extracti128_si256(h, 1))); return r; }
/* vdpbf16ps (SDM): per lane i, srcdest += a[2i+1]*b[2i+1], then srcdest += a[2i]*b[2i], each
 * step an FMA (the product unrounded, one round to nearest even of the sum: fmaf); subnormal
 * inputs count as zero (DAZ, the accumulator included) and subnormal results of each step are
 * flushed to zero (FTZ). */
static inline float emu_bf(uint16_t h) { uint32_t u = (uint32_t)h << 16; if (!(u & 0x7f800000u)) u &= 0x80000000u; float f; memcpy(&f, &u, 4); return f; }
static inline float emu_ftz(float f) { return fpclassify(f) == FP_SUBNORMAL ? copysignf(0.0f, f) : f; }
static inline emu_m512 emu_dpbf16_ps(emu_m512 src, emu_m512bh a, emu_m512bh b)
{
    for (int i = 0; i < 16; i++) {
        float t = emu_ftz(src.f[i]);
        t = emu_ftz(fmaf(emu_bf(a.h[2 * i + 1]), emu_bf(b.h[2 * i + 1]), t));
        src.f[i] = emu_ftz(fmaf(emu_bf(a.h[2 * i]), emu_bf(b.h[2 * i]), t));
    }
    return src;
}
/* vpdpbusd: per int32 lane, src + sum of 4 (unsigned byte of a) * (signed byte of b) */
static inline __m256i emu_dpbusd_epi32(__m256i src, __m256i a, __m256i b)
{
    int32_t s[8]; uint8_t ua[32]; int8_t sb[32];
    memcpy(s, &src, 32); memcpy(ua, &a, 32); memcpy(sb, &b, 32);
    for (int j = 0; j < 8; j++)
        for (int k = 0; k < 4; k++)
            s[j] = (int32_t)((uint32_t)s[j] + (uint32_t)(ua[4 * j + k] * sb[4 * j + k]));
    __m256i r; memcpy(&r, s, 32); return r;
}
/* vpdpwssd: per int32 lane, src + a16[2j]*b16[2j] + a16[2j+1]*b16[2j+1] */
static inline __m256i emu_dpwssd_epi32(__m256i src, __m256i a, __m256i b)
{
    int32_t s[8]; int16_t x[16], y[16];
    memcpy(s, &src, 32); memcpy(x, &a, 32); memcpy(y, &b, 32);
    for (int j = 0; j < 8; j++)
        s[j] = (int32_t)((uint32_t)s[j] + (uint32_t)(x[2 * j] * y[2 * j]) + (uint32_t)(x[2 * j + 1] * y[2 * j + 1]));
    __m256i r; memcpy(&r, s, 32); return r;
}

/* for the attention kernels (attn_kern_avx512.c) */
static inline emu_m512 emu_sub_ps(emu_m512 a, emu_m512 b) { for (int i = 0; i < 16; i++) a.f[i] -= b.f[i]; return a; }
static inline emu_m512 emu_div_ps(emu_m512 a, emu_m512 b) { for (int i = 0; i < 16; i++) a.f[i] /= b.f[i]; return a; }
/* vminps returns the second operand when either is NaN */
static inline emu_m512 emu_min_ps(emu_m512 a, emu_m512 b) { for (int i = 0; i < 16; i++) a.f[i] = a.f[i] < b.f[i] ? a.f[i] : b.f[i]; return a; }
static inline emu_m512i emu_castps_si512(emu_m512 a) { emu_m512i r; memcpy(r.i, a.f, 64); return r; }
static inline emu_m512 emu_castsi512_ps(emu_m512i a) { emu_m512 r; memcpy(r.f, a.i, 64); return r; }
static inline emu_m512i emu_sub_epi32(emu_m512i a, emu_m512i b) { for (int i = 0; i < 16; i++) a.i[i] = (int32_t)((uint32_t)a.i[i] - (uint32_t)b.i[i]); return a; }
static inline emu_m512i emu_slli_epi32(emu_m512i a, unsigned n) { for (int i = 0; i < 16; i++) a.i[i] = n > 31 ? 0 : (int32_t)((uint32_t)a.i[i] << n); return a; }
/* vcmpps into a mask: the two predicates the kernels use (NLT_UQ is true for NaN) */
static inline __mmask16 emu_cmp_ps_mask(emu_m512 a, emu_m512 b, int pred)
{
    __mmask16 m = 0;
    for (int i = 0; i < 16; i++) {
        const int lt = a.f[i] < b.f[i];
        if (pred == _CMP_LT_OQ ? lt : pred == _CMP_NLT_UQ ? !lt : (abort(), 0))
            m |= (__mmask16)(1u << i);
    }
    return m;
}
static inline emu_m512 emu_maskz_mov_ps(__mmask16 m, emu_m512 a) { for (int i = 0; i < 16; i++) if (!(m >> i & 1)) a.f[i] = 0.0f; return a; }

#undef _mm512_loadu_ps
#define _mm512_loadu_ps emu_loadu_ps
#undef _mm512_load_ps
#define _mm512_load_ps emu_loadu_ps
#undef _mm512_add_ps
#define _mm512_add_ps emu_add_ps
#undef _mm512_maskz_loadu_ps
#define _mm512_maskz_loadu_ps emu_maskz_loadu_ps
#undef _mm512_mask_storeu_ps
#define _mm512_mask_storeu_ps emu_mask_storeu_ps
#undef _mm512_setzero_ps
#define _mm512_setzero_ps emu_setzero_ps
#undef _mm512_set1_ps
#define _mm512_set1_ps emu_set1_ps
#undef _mm512_set1_epi32
#define _mm512_set1_epi32 emu_set1_epi32
#undef _mm512_abs_ps
#define _mm512_abs_ps emu_abs_ps
#undef _mm512_max_ps
#define _mm512_max_ps emu_max_ps
#undef _mm512_mul_ps
#define _mm512_mul_ps emu_mul_ps
#undef _mm512_fmadd_ps
#define _mm512_fmadd_ps emu_fmadd_ps
#undef _mm512_reduce_max_ps
#define _mm512_reduce_max_ps emu_reduce_max_ps
#undef _mm512_reduce_add_ps
#define _mm512_reduce_add_ps emu_reduce_add_ps
#undef _mm512_roundscale_ps
#define _mm512_roundscale_ps emu_roundscale_ps
#undef _mm512_cvtps_epi32
#define _mm512_cvtps_epi32 emu_cvtps_epi32
#undef _mm512_add_epi32
#define _mm512_add_epi32 emu_add_epi32
#undef _mm512_min_epi32
#define _mm512_min_epi32 emu_min_epi32
#undef _mm512_reduce_add_epi32
#define _mm512_reduce_add_epi32 emu_reduce_add_epi32
#undef _mm512_cvtepi32_epi8
#define _mm512_cvtepi32_epi8 emu_cvtepi32_epi8
#undef _mm512_cvtsepi32_epi8
#define _mm512_cvtsepi32_epi8 emu_cvtsepi32_epi8
#undef _mm512_cvtph_ps
#define _mm512_cvtph_ps emu_cvtph_ps
#undef _mm512_dpbf16_ps
#define _mm512_dpbf16_ps emu_dpbf16_ps
#undef _mm256_dpbusd_epi32
#define _mm256_dpbusd_epi32 emu_dpbusd_epi32
#undef _mm256_dpwssd_epi32
#define _mm256_dpwssd_epi32 emu_dpwssd_epi32
#undef _mm512_sub_ps
#define _mm512_sub_ps emu_sub_ps
#undef _mm512_div_ps
#define _mm512_div_ps emu_div_ps
#undef _mm512_min_ps
#define _mm512_min_ps emu_min_ps
#undef _mm512_castps_si512
#define _mm512_castps_si512 emu_castps_si512
#undef _mm512_castsi512_ps
#define _mm512_castsi512_ps emu_castsi512_ps
#undef _mm512_sub_epi32
#define _mm512_sub_epi32 emu_sub_epi32
#undef _mm512_slli_epi32
#define _mm512_slli_epi32 emu_slli_epi32
#undef _mm512_cmp_ps_mask
#define _mm512_cmp_ps_mask emu_cmp_ps_mask
#undef _mm512_maskz_mov_ps
#define _mm512_maskz_mov_ps emu_maskz_mov_ps
#define llmri_kernels_avx512_install emu_avx512_install
#define llmri_gemm_kq_avx512_install emu_gemm_kq_avx512_install
#define llmri_gemm_kq_r8_avx512_install emu_gemm_kq_r8_avx512_install
#define llmri_repack_r16_avx512_install emu_repack_r16_avx512_install
#define llmri_gemm_avx512_install emu_gemm_avx512_install
#define llmri_kernels_kq_avx512_install emu_kernels_kq_avx512_install

#include "../../src/kernels/kernels_avx512.c"
/* the K-quant products for many columns, compiled as gemm_kq_avx512.c is (VNNI) */
#include "../../src/kernels/gemm_kq_avx512.c"
/* the 8-row Q4_0/Q8_0 products, compiled as gemm_avx512.c is (VNNI) */
#include "../../src/kernels/gemm_avx512.c"
/* the K-quant decode kernels and the F16 products, compiled as kernels_kq_avx512.c is */
#include "../../src/kernels/kernels_kq_avx512.c"
#include "avx512_emul_repack.h"
#define llmri_repack_avx512_install emu_repack_avx512_install
#include "../../src/kernels/repack_avx512.c"
#include "../../src/kernels/repack_r16_avx512.c"
/* the attention tile kernels (one template for AVX2 and AVX-512) */
#define llmri_attn_avx512 emu_attn_avx512
#include "../../src/model/attn_kern_avx512.c"

#if defined(__clang__)
#pragma clang attribute pop
#endif

/* ---- the test ----------------------------------------------------------------------------- */
#include "test_util.h"
#include "kernel_test_util.h"
#include "repack_test_util.h"
#include "model/attn_kern_test_util.h"

static llmr_type_traits emu_table[LLMR_TYPE_COUNT];

static const llmr_type_traits *get_emu(uint32_t type)
{
    return type < LLMR_TYPE_COUNT && emu_table[type].name ? &emu_table[type] : NULL;
}

static llmr_type_traits emu_repacked[LLMR_TYPE_COUNT];

static const llmr_type_traits *get_emu_repacked(uint32_t type)
{
    return type < LLMR_TYPE_COUNT && emu_repacked[type].name ? &emu_repacked[type] : NULL;
}

static void emulated_avx512_kernels_match_reference(void **state)
{
    (void)state;
    if (llmri_cpu_best_isa() < LLMR_ISA_AVX2) {
        print_message("skipped: the emulation runs the AVX2 parts natively; this CPU has none\n");
        skip();
    }
    /* as traits.c builds the AVX-512 table: the AVX2 table, then the AVX-512 entries */
    for (uint32_t t = 0; t < LLMR_TYPE_COUNT; t++) {
        const llmr_type_traits *a = llmri_traits_isa(t, LLMR_ISA_AVX2);
        if (a)
            emu_table[t] = *a;
    }
    emu_avx512_install(emu_table);
    kt_check_kernels(get_emu, "avx512 (emulated)");
    kt_check_matmul(get_emu, "avx512 (emulated)");
    kt_check_float_tails(get_emu, "avx512 (emulated)");
    kt_check_matmul_blocks(get_emu, "avx512 (emulated)");
    kt_check_matmul_wide(get_emu, "avx512 (emulated)");
}

static void emulated_avx512_repacked_products_match_reference(void **state)
{
    (void)state;
    if (llmri_cpu_best_isa() < LLMR_ISA_AVX2) {
        print_message("skipped: the emulation runs the AVX2 parts natively; this CPU has none\n");
        skip();
    }
    /* as repack.c builds its AVX-512 table: the AVX2 entries, the reference entry of a type
     * AVX2 dropped, then the AVX-512 overrides */
    for (uint32_t t = 0; t < LLMR_TYPE_COUNT; t++) {
        const llmr_type_traits *a = llmri_traits_repacked_isa(t, LLMR_ISA_AVX2);
        if (!a)
            a = llmri_traits_repacked_isa(t, LLMR_ISA_REF);
        if (a)
            emu_repacked[t] = *a;
    }
    emu_repack_avx512_install(emu_repacked);
    kr_check_roundtrip(get_emu_repacked, "avx512 (emulated)");
    kr_check_products(get_emu_repacked, "avx512 (emulated)", 0);
    kr_check_extremes(get_emu_repacked, "avx512 (emulated)");
}

static void emulated_avx512_attention_kernels_match_reference(void **state)
{
    (void)state;
    if (llmri_cpu_best_isa() < LLMR_ISA_AVX2) {
        print_message("skipped: the emulation runs the AVX2 parts natively; this CPU has none\n");
        skip();
    }
    akt_check_all(&emu_attn_avx512);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(emulated_avx512_attention_kernels_match_reference),
        cmocka_unit_test(emulated_avx512_kernels_match_reference),
        cmocka_unit_test(emulated_avx512_repacked_products_match_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
