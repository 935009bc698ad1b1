/* repack_avx512.c - AVX-512 (VL + VNNI) products on the R8 layouts of Q4_0, IQ4_NL and Q8_0
 * (repack.h), for prompt processing and decode. Reached only through the repacked traits
 * table after CPU detection found AVX-512 with VNNI (llmri_repack_avx512_install).
 *
 * vpdpbusd multiplies unsigned weight bytes with signed activation bytes and adds groups of
 * four straight into int32 lanes (no int16 pair saturation, no widening step), so every type
 * takes one instruction per four values of eight rows once its weights are unsigned:
 *   Q4_0    nibbles q in 0..15, value q - 8:       offset 8
 *   IQ4_NL  grid value v in -127..113 -> v + 128:   offset 128 (one vpshufb of a biased grid)
 *   Q8_0    w in -128..127 -> w ^ 0x80 = w + 128:  offset 128
 * and (w + o) . x = w . x + o * sum(x): the offset term is folded into the float step with
 * the column's scale, -o * d * sum(x), from a per-column table. A block's int32 sum is at most
 * 32 * 255 * 128 in magnitude: exact. The 256-bit forms (AVX512VL) keep the R8 unit's lanes;
 * with 32 vector registers 8 weight vectors and 8 columns' accumulators stay in registers.
 * Results equal the reference up to the float accumulation order. */
#include "kernels/simd_x86.h"
#include "kernels/repack.h"
#include "kernels/repack_r8.h"

enum { R8X_Q4_0, R8X_IQ4_NL, R8X_Q8_0 };
#define R8X_UNIT(kind) ((kind) == R8X_Q8_0 ? 8 * 34 : 8 * 18)
#define R8X_OFFSET(kind) ((kind) == R8X_Q4_0 ? 8.0f : 128.0f)
#define R8X_NC 8
#define R8X_PF_AHEAD 1024
#if defined(__clang__)
#define R8X_UNROLL _Pragma("unroll 8")
#else
#define R8X_UNROLL _Pragma("GCC unroll 8")
#endif

INLINE void r8x_kern(const int KIND, int nb, const uint8_t *G, const uint8_t *X, size_t xs,
                     const r8_col *cols, int cstride, float *Y, size_t ldy, int pf, const int NC)
{
    const __m256i m4 = _mm256_set1_epi8(0x0F), bias = _mm256_set1_epi8((char)0x80);
    /* the IQ4_NL grid + 128, as unsigned bytes (xor 0x80 of the signed grid) */
    const __m256i grid = _mm256_xor_si256(bias, _mm256_broadcastsi128_si256(
        _mm_loadu_si128((const __m128i *)llmr_iq4nl_values)));
    __m256 acc[R8X_NC];
    for (int c = 0; c < NC; c++)
        acc[c] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const uint8_t *u = G + (size_t)b * R8X_UNIT(KIND);
        if (pf)
            for (int o = 0; o < R8X_UNIT(KIND); o += 64)
                _mm_prefetch((const char *)u + R8X_PF_AHEAD + o, _MM_HINT_T0);
        __m256i q[8];
        if (KIND == R8X_Q8_0) {
            for (int s = 0; s < 8; s++)
                q[s] = _mm256_xor_si256(bias, _mm256_loadu_si256((const __m256i *)(u + R8_QS + 32 * s)));
        } else {
            for (int s = 0; s < 4; s++) {
                const __m256i t = _mm256_loadu_si256((const __m256i *)(u + R8_QS + 32 * s));
                q[s] = _mm256_and_si256(t, m4);
                q[s + 4] = _mm256_and_si256(_mm256_srli_epi16(t, 4), m4);
            }
            if (KIND == R8X_IQ4_NL)
                for (int s = 0; s < 8; s++)
                    q[s] = _mm256_shuffle_epi8(grid, q[s]);
        }
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)u));
        R8X_UNROLL
        for (int c = 0; c < NC; c++) {
            const int8_t *xq = ((const block_q8_0 *)(X + (size_t)c * xs) + b)->qs;
            /* two independent chains halve the dependent vpdpbusd latency per block */
            __m256i s0 = _mm256_dpbusd_epi32(_mm256_setzero_si256(), q[0], r8_bcast32(xq));
            __m256i s1 = _mm256_dpbusd_epi32(_mm256_setzero_si256(), q[4], r8_bcast32(xq + 16));
            for (int s = 1; s < 4; s++) {
                s0 = _mm256_dpbusd_epi32(s0, q[s], r8_bcast32(xq + 4 * s));
                s1 = _mm256_dpbusd_epi32(s1, q[s + 4], r8_bcast32(xq + 16 + 4 * s));
            }
            const r8_col *cb = &cols[(size_t)c * cstride + b];
            const __m256 t = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(s0, s1)),
                                             _mm256_set1_ps(cb->d), _mm256_set1_ps(cb->c));
            acc[c] = _mm256_fmadd_ps(dw, t, acc[c]);
        }
    }
    for (int c = 0; c < NC; c++)
        _mm256_storeu_ps(Y + (size_t)c * ldy, acc[c]);
}

R8_DEFINE(r8x_q4_0_gemm, r8x_kern, R8X_Q4_0, R8X_NC, R8X_OFFSET(R8X_Q4_0))
R8_DEFINE(r8x_iq4_nl_gemm, r8x_kern, R8X_IQ4_NL, R8X_NC, R8X_OFFSET(R8X_IQ4_NL))
R8_DEFINE(r8x_q8_0_gemm, r8x_kern, R8X_Q8_0, R8X_NC, R8X_OFFSET(R8X_Q8_0))

/* ---- F16 on R16 (repack.c): value k of 16 rows is 32 bytes, one vcvtph2ps to a zmm -------
 * Activations are converted to f32 once per K block and column block (R16X_KC values of
 * R16X_NB columns: 64 KiB, L2), then an R16X_NC-column micro-kernel does per k one weight
 * load and conversion and R16X_NC FMAs with broadcast activations (accumulators and the
 * weight vector fit the 32 registers). Y gets each K block's partial sums added, so the float
 * order differs from the reference's double sum only by rounding. */
enum { R16X_ROWS = 16, R16X_NC = 8, R16X_KC = 256, R16X_NB = 64 };

INLINE void r16x_micro(int kc, const uint8_t *G, const float *Xf, float *Y, size_t ldy, int add,
                       const int NC)
{
    __m512 acc[R16X_NC];
    for (int c = 0; c < NC; c++)
        acc[c] = _mm512_setzero_ps();
    for (int k = 0; k < kc; k++) {
        const __m512 w = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(G + 32 * (size_t)k)));
        for (int c = 0; c < NC; c++)
            acc[c] = _mm512_fmadd_ps(w, _mm512_set1_ps(Xf[(size_t)c * R16X_KC + k]), acc[c]);
    }
    for (int c = 0; c < NC; c++) {
        float *y = Y + (size_t)c * ldy;
        if (add)
            acc[c] = _mm512_add_ps(acc[c], _mm512_loadu_ps(y));
        _mm512_storeu_ps(y, acc[c]);
    }
}

static void r16x_micro_any(int kc, const uint8_t *G, const float *Xf, float *Y, size_t ldy,
                           int add, int nc)
{
    switch (nc) {
    case 1: r16x_micro(kc, G, Xf, Y, ldy, add, 1); break;
    case 2: r16x_micro(kc, G, Xf, Y, ldy, add, 2); break;
    case 3: r16x_micro(kc, G, Xf, Y, ldy, add, 3); break;
    case 4: r16x_micro(kc, G, Xf, Y, ldy, add, 4); break;
    case 5: r16x_micro(kc, G, Xf, Y, ldy, add, 5); break;
    case 6: r16x_micro(kc, G, Xf, Y, ldy, add, 6); break;
    case 7: r16x_micro(kc, G, Xf, Y, ldy, add, 7); break;
    default: r16x_micro(kc, G, Xf, Y, ldy, add, 8); break;
    }
}

static void r16x_f16_gemm(int K, const void *Wv, size_t ws, int nr, const void *Xv, size_t xs,
                          int nc, float *Y, size_t ldy)
{
    const uint8_t *W = Wv, *X = Xv;
    _Alignas(64) float Xf[R16X_NB * R16X_KC];
    if (K <= 0) {
        for (int c = 0; c < nc; c++)
            for (int r = 0; r < nr; r++)
                Y[(size_t)c * ldy + r] = 0.0f;
        return;
    }
    for (int jb = 0; jb < nc; jb += R16X_NB) {
        const int nj = nc - jb < R16X_NB ? nc - jb : R16X_NB;
        for (int k0 = 0; k0 < K; k0 += R16X_KC) {
            const int kc = K - k0 < R16X_KC ? K - k0 : R16X_KC;
            for (int c = 0; c < nj; c++)
                f16_row_to_f32(X + (size_t)(jb + c) * xs + 2 * (size_t)k0, Xf + (size_t)c * R16X_KC, kc);
            for (int i = 0; i < nr; i += R16X_ROWS) {
                const uint8_t *G = W + (size_t)i * ws + (size_t)k0 * 2 * R16X_ROWS;
                for (int j = 0; j < nj; j += R16X_NC)
                    r16x_micro_any(kc, G, Xf + (size_t)j * R16X_KC,
                                   Y + (size_t)(jb + j) * ldy + i, ldy, k0 > 0,
                                   nj - j < R16X_NC ? nj - j : R16X_NC);
            }
        }
    }
}

void llmri_repack_avx512_install(llmr_type_traits *t)
{
    t[LLMR_TYPE_F16].gemm = r16x_f16_gemm;
    t[LLMR_TYPE_Q4_0].gemm = r8x_q4_0_gemm;
    t[LLMR_TYPE_IQ4_NL].gemm = r8x_iq4_nl_gemm;
    t[LLMR_TYPE_Q8_0].gemm = r8x_q8_0_gemm;
    llmri_gemm_kq_r8_avx512_install(t);   /* Q4_K, Q5_K, Q6_K: gemm_kq_avx512.c */
    llmri_repack_r16_avx512_install(t);   /* BF16: repack_r16_avx512.c */
    /* The 32-value block types and F16 by default, as the 8-row form has paid for them on
     * every host measured; the K-quants' AVX-512 products are checked (test_avx512_emul) but
     * not yet timed on an AVX-512 host: only with LLMR_REPACK=1. */
    t[LLMR_TYPE_F16].by_default = 1;
    t[LLMR_TYPE_Q4_0].by_default = 1;
    t[LLMR_TYPE_IQ4_NL].by_default = 1;
    t[LLMR_TYPE_Q8_0].by_default = 1;
    t[LLMR_TYPE_Q4_K].by_default = 0;
    t[LLMR_TYPE_Q5_K].by_default = 0;
    t[LLMR_TYPE_Q6_K].by_default = 0;
}
