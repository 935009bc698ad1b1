/* repack_r16_avx2.c - AVX2 products on the R16 layouts of F16 and BF16 (repack.c), for
 * prompt processing and decode. Reached only through the repacked traits table after CPU
 * detection (llmri_repack_r16_avx2_install, called by llmri_repack_avx2_install).
 *
 * A group of 16 rows is one contiguous stream; at each step the 16 rows' weights become two
 * f32 vectors (rows 0-7, 8-15) that meet broadcast activations, so a column's 16 outputs
 * need no horizontal sum. The weights are converted at every use:
 *   F16_R16   value k: two vcvtph2ps (on the FP pipes the FMAs need) per 2 x NC FMAs;
 *   BF16_R16  pair (2p, 2p+1): bf16 -> f32 is a 16-bit shift, so a pair lane becomes its
 *             even value by vpslld 16 and its odd one by vpand 0xffff0000 (integer ops, off
 *             the FMA pipes) per 4 x NC FMAs.
 * Activations are converted to f32 once per K block and column block (R16A_KC values of
 * R16A_NB columns: 64 KiB, L2), or once per call for one column (decode, which then reads
 * each group from start to end). Y gets each K block's partial sums added, so the float order
 * differs from the reference's double sum only by rounding. */
#include "kernels/simd_x86.h"
#include "kernels/repack.h"

/* columns per micro-kernel pass: F16 holds 2 x 6 accumulators, 2 weight vectors and a
 * broadcast in the 16 ymm registers; BF16 needs 4 weight vectors and 2 broadcasts: 2 x 4 */
enum { R16A_ROWS = 16, R16A_NC_F16 = 6, R16A_NC_BF16 = 4, R16A_KC = 256, R16A_NB = 64 };
#define R16A_NC(BF) ((BF) ? R16A_NC_BF16 : R16A_NC_F16)
#define R16A_PF 512   /* software prefetch distance on a group's stream in decode */

/* n bf16 values at p as f32 */
static void bf16_row_to_f32(const uint8_t *p, float *dst, int n)
{
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(
            _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(p + 2 * (size_t)i))), 16)));
    for (; i < n; i++) {
        uint16_t h;
        memcpy(&h, p + 2 * (size_t)i, 2);
        dst[i] = llmri_bf16_to_fp32(h);
    }
}

/* the 16 values of one step stored as F16_R16 stores a value (32 bytes, row r at 2r) */
INLINE void ld16(const int BF, const uint8_t *p, __m256 *w0, __m256 *w1)
{
    const __m128i a = _mm_loadu_si128((const __m128i *)p), b = _mm_loadu_si128((const __m128i *)(p + 16));
    if (BF) {
        *w0 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(a), 16));
        *w1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(b), 16));
    } else {
        *w0 = _mm256_cvtph_ps(a);
        *w1 = _mm256_cvtph_ps(b);
    }
}

/* Y[c*ldy + r] (+)= sum over k < kc of row r's value k * Xf[c*R16A_KC + k], 16 rows, NC
 * columns; G at value 0 of the block (even for BF16), xstride floats between columns. */
INLINE void r16a_micro(const int BF, int kc, const uint8_t *G, const float *Xf, size_t xstride,
                       float *Y, size_t ldy, int add, const int NC)
{
    const __m256i hi = _mm256_set1_epi32((int)0xffff0000u);
    __m256 a[R16A_NC_F16][2];
    for (int c = 0; c < NC; c++)
        a[c][0] = a[c][1] = _mm256_setzero_ps();
    int k = 0;
    if (BF)
        for (; k + 2 <= kc; k += 2) {
            const __m256i l = _mm256_loadu_si256((const __m256i *)(G + 32 * (size_t)k));
            const __m256i h = _mm256_loadu_si256((const __m256i *)(G + 32 * (size_t)k + 32));
            const __m256 e0 = _mm256_castsi256_ps(_mm256_slli_epi32(l, 16));
            const __m256 o0 = _mm256_castsi256_ps(_mm256_and_si256(l, hi));
            const __m256 e1 = _mm256_castsi256_ps(_mm256_slli_epi32(h, 16));
            const __m256 o1 = _mm256_castsi256_ps(_mm256_and_si256(h, hi));
            for (int c = 0; c < NC; c++) {
                const __m256 xe = _mm256_broadcast_ss(Xf + (size_t)c * xstride + k);
                const __m256 xo = _mm256_broadcast_ss(Xf + (size_t)c * xstride + k + 1);
                a[c][0] = _mm256_fmadd_ps(o0, xo, _mm256_fmadd_ps(e0, xe, a[c][0]));
                a[c][1] = _mm256_fmadd_ps(o1, xo, _mm256_fmadd_ps(e1, xe, a[c][1]));
            }
        }
    for (; k < kc; k++) {   /* F16, or BF16's last value when K is odd */
        __m256 w0, w1;
        ld16(BF, G + 32 * (size_t)k, &w0, &w1);
        for (int c = 0; c < NC; c++) {
            const __m256 x = _mm256_broadcast_ss(Xf + (size_t)c * xstride + k);
            a[c][0] = _mm256_fmadd_ps(w0, x, a[c][0]);
            a[c][1] = _mm256_fmadd_ps(w1, x, a[c][1]);
        }
    }
    for (int c = 0; c < NC; c++)
        store16(Y + (size_t)c * ldy, a[c][0], a[c][1], add);
}

/* One group against one column over all K (decode): four independent sums per half (two
 * steps of the stream at a time) hide the FMA latency; one prefetch per 64 bytes consumed. */
INLINE void r16a_decode(const int BF, int K, const uint8_t *G, const float *x, float *Y)
{
    const __m256i hi = _mm256_set1_epi32((int)0xffff0000u);
    __m256 a[4][2];
    for (int j = 0; j < 4; j++)
        a[j][0] = a[j][1] = _mm256_setzero_ps();
    int k = 0;
    for (; k + 4 <= K; k += 4) {
        const uint8_t *p = G + 32 * (size_t)k;
        _mm_prefetch((const char *)p + R16A_PF, _MM_HINT_T0);
        _mm_prefetch((const char *)p + R16A_PF + 64, _MM_HINT_T0);
        if (BF) {
            for (int s = 0; s < 2; s++) {
                const __m256i l = _mm256_loadu_si256((const __m256i *)(p + 64 * s));
                const __m256i h = _mm256_loadu_si256((const __m256i *)(p + 64 * s + 32));
                const __m256 xe = _mm256_broadcast_ss(x + k + 2 * s);
                const __m256 xo = _mm256_broadcast_ss(x + k + 2 * s + 1);
                a[2 * s][0] = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(l, 16)), xe, a[2 * s][0]);
                a[2 * s][1] = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(h, 16)), xe, a[2 * s][1]);
                a[2 * s + 1][0] = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(l, hi)), xo, a[2 * s + 1][0]);
                a[2 * s + 1][1] = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(h, hi)), xo, a[2 * s + 1][1]);
            }
        } else {
            for (int s = 0; s < 4; s++) {
                __m256 w0, w1;
                ld16(0, p + 32 * s, &w0, &w1);
                const __m256 xs = _mm256_broadcast_ss(x + k + s);
                a[s][0] = _mm256_fmadd_ps(w0, xs, a[s][0]);
                a[s][1] = _mm256_fmadd_ps(w1, xs, a[s][1]);
            }
        }
    }
    /* the rest (K % 4 values): BF16 pairs, then an odd K's last single value */
    for (; BF && k + 2 <= K; k += 2) {
        const __m256i l = _mm256_loadu_si256((const __m256i *)(G + 32 * (size_t)k));
        const __m256i h = _mm256_loadu_si256((const __m256i *)(G + 32 * (size_t)k + 32));
        const __m256 xe = _mm256_broadcast_ss(x + k), xo = _mm256_broadcast_ss(x + k + 1);
        a[0][0] = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(l, 16)), xe, a[0][0]);
        a[0][1] = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(h, 16)), xe, a[0][1]);
        a[1][0] = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(l, hi)), xo, a[1][0]);
        a[1][1] = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(h, hi)), xo, a[1][1]);
    }
    for (; k < K; k++) {
        __m256 w0, w1;
        ld16(BF, G + 32 * (size_t)k, &w0, &w1);
        const __m256 xs = _mm256_broadcast_ss(x + k);
        a[0][0] = _mm256_fmadd_ps(w0, xs, a[0][0]);
        a[0][1] = _mm256_fmadd_ps(w1, xs, a[0][1]);
    }
    for (int h = 0; h < 2; h++)
        _mm256_storeu_ps(Y + 8 * h, _mm256_add_ps(_mm256_add_ps(a[0][h], a[1][h]),
                                                  _mm256_add_ps(a[2][h], a[3][h])));
}

static void r16a_micro_any(const int BF, int kc, const uint8_t *G, const float *Xf, float *Y,
                           size_t ldy, int add, int nc)
{
    switch (nc) {
    case 1: r16a_micro(BF, kc, G, Xf, R16A_KC, Y, ldy, add, 1); break;
    case 2: r16a_micro(BF, kc, G, Xf, R16A_KC, Y, ldy, add, 2); break;
    case 3: r16a_micro(BF, kc, G, Xf, R16A_KC, Y, ldy, add, 3); break;
    case 4: r16a_micro(BF, kc, G, Xf, R16A_KC, Y, ldy, add, 4); break;
    case 5: r16a_micro(BF, kc, G, Xf, R16A_KC, Y, ldy, add, BF ? 4 : 5); break;
    default: r16a_micro(BF, kc, G, Xf, R16A_KC, Y, ldy, add, BF ? 4 : 6); break;
    }
}

INLINE void r16a_gemm(const int BF, int K, const uint8_t *W, size_t ws, int nr, const uint8_t *X,
                      size_t xs, int nc, float *Y, size_t ldy)
{
    _Alignas(32) float Xf[R16A_NB * R16A_KC];
    if (K <= 0) {
        for (int c = 0; c < nc; c++)
            for (int r = 0; r < nr; r++)
                Y[(size_t)c * ldy + r] = 0.0f;
        return;
    }
    if (nc == 1 && K <= R16A_NB * R16A_KC) {
        if (BF)
            bf16_row_to_f32(X, Xf, K);
        else
            f16_row_to_f32(X, Xf, K);
        for (int i = 0; i < nr; i += R16A_ROWS)
            r16a_decode(BF, K, W + (size_t)i * ws, Xf, Y + i);
        return;
    }
    for (int jb = 0; jb < nc; jb += R16A_NB) {
        const int nj = nc - jb < R16A_NB ? nc - jb : R16A_NB;
        for (int k0 = 0; k0 < K; k0 += R16A_KC) {   /* k0 even: a block starts on a pair */
            const int kc = K - k0 < R16A_KC ? K - k0 : R16A_KC;
            for (int c = 0; c < nj; c++) {
                const uint8_t *x = X + (size_t)(jb + c) * xs + 2 * (size_t)k0;
                if (BF)
                    bf16_row_to_f32(x, Xf + (size_t)c * R16A_KC, kc);
                else
                    f16_row_to_f32(x, Xf + (size_t)c * R16A_KC, kc);
            }
            for (int i = 0; i < nr; i += R16A_ROWS) {
                const uint8_t *G = W + (size_t)i * ws + (size_t)k0 * 2 * R16A_ROWS;
                for (int j = 0; j < nj; j += R16A_NC(BF))
                    r16a_micro_any(BF, kc, G, Xf + (size_t)j * R16A_KC,
                                   Y + (size_t)(jb + j) * ldy + i, ldy, k0 > 0,
                                   nj - j < R16A_NC(BF) ? nj - j : R16A_NC(BF));
            }
        }
    }
}

static void r16a_f16_gemm(int K, const void *W, size_t ws, int nr, const void *X, size_t xs,
                          int nc, float *Y, size_t ldy)
{
    r16a_gemm(0, K, W, ws, nr, X, xs, nc, Y, ldy);
}

static void r16a_bf16_gemm(int K, const void *W, size_t ws, int nr, const void *X, size_t xs,
                           int nc, float *Y, size_t ldy)
{
    r16a_gemm(1, K, W, ws, nr, X, xs, nc, Y, ldy);
}

void llmri_repack_r16_avx2_install(llmr_type_traits *t)
{
    t[LLMR_TYPE_F16].gemm = r16a_f16_gemm;
    t[LLMR_TYPE_BF16].gemm = r16a_bf16_gemm;
    /* Measured on a Zen 3 host (bench/README.md, "F16 and BF16 in 16-row layouts"): BF16_R16
     * beat the plain BF16 tiles at prompt (1.3-1.6x) and was at or above them at decode, so
     * by default; F16_R16 lost to the plain layout's packed product at model-level prompt
     * processing (0.89x, 0.92x), which converts each weight once per call, so only with
     * LLMR_REPACK=1. */
    t[LLMR_TYPE_F16].by_default = 0;
    t[LLMR_TYPE_BF16].by_default = 1;
}
