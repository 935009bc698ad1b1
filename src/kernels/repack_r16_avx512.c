/* repack_r16_avx512.c - AVX-512 BF16 products on the BF16_R16 layout (repack.c), for prompt
 * processing and decode. Reached only through the repacked traits table after CPU detection
 * found AVX-512 with BF16 (llmri_repack_r16_avx512_install, called by
 * llmri_repack_avx512_install).
 *
 * A pair (2p, 2p+1) of the 16 rows is 64 bytes, one zmm whose 32-bit lane r is row r's pair:
 * vdpbf16ps with the column's activation pair broadcast to every lane adds both products to
 * each row's f32 sum (products of bf16 values are exact in f32; the sum is rounded to nearest
 * even once per product, with subnormal inputs and results taken as zero, per the SDM).
 * Activations are the bf16 rows the model layer makes (BF16 weights take BF16 activations,
 * as llama.cpp's BF16 path rounds them), used as they are: no conversion. An R16B_KC-value
 * block of a group (16 KiB) stays in L1 while it meets the columns R16B_NC at a time (their
 * accumulators and the weight vector fit the 32 registers). Decode (one column) reads each
 * group from start to end with four independent sums. */
#include "kernels/simd_x86.h"
#include "kernels/repack.h"

enum { R16B_ROWS = 16, R16B_NC = 8, R16B_KC = 512 };
#define R16B_PF 1024   /* software prefetch distance on a group's stream in decode */

INLINE __m512bh r16b_w(const uint8_t *p)
{
    __m512bh v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* the activation pair at p in every lane */
INLINE __m512bh r16b_x(const uint8_t *p)
{
    int32_t u;
    memcpy(&u, p, 4);
    const __m512i v = _mm512_set1_epi32(u);
    __m512bh b;
    memcpy(&b, &v, sizeof b);
    return b;
}

/* an odd K's last value: 16 rows' single values (32 bytes, row r at 2r) as pairs (w, 0), and
 * the activation as (x, 0), so that vdpbf16ps adds w * x and 0 * 0 */
INLINE __m512bh r16b_w_last(const uint8_t *p)
{
    const __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p));
    __m512bh b;
    memcpy(&b, &v, sizeof b);
    return b;
}
INLINE __m512bh r16b_x_last(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, 2);
    const __m512i v = _mm512_set1_epi32((int32_t)h);
    __m512bh b;
    memcpy(&b, &v, sizeof b);
    return b;
}

/* Y[c*ldy + r] (+)= row r . column c over kc values (16 rows, NC columns); G and X at the
 * block's first value (even). */
INLINE void r16b_micro(int kc, const uint8_t *G, const uint8_t *X, size_t xs, float *Y,
                       size_t ldy, int add, const int NC)
{
    __m512 acc[R16B_NC];
    for (int c = 0; c < NC; c++)
        acc[c] = _mm512_setzero_ps();
    int k = 0;
    for (; k + 2 <= kc; k += 2) {
        const __m512bh w = r16b_w(G + 32 * (size_t)k);
        for (int c = 0; c < NC; c++)
            acc[c] = _mm512_dpbf16_ps(acc[c], w, r16b_x(X + (size_t)c * xs + 2 * (size_t)k));
    }
    if (k < kc) {
        const __m512bh w = r16b_w_last(G + 32 * (size_t)k);
        for (int c = 0; c < NC; c++)
            acc[c] = _mm512_dpbf16_ps(acc[c], w, r16b_x_last(X + (size_t)c * xs + 2 * (size_t)k));
    }
    for (int c = 0; c < NC; c++) {
        float *y = Y + (size_t)c * ldy;
        if (add)
            acc[c] = _mm512_add_ps(acc[c], _mm512_loadu_ps(y));
        _mm512_storeu_ps(y, acc[c]);
    }
}

static void r16b_micro_any(int kc, const uint8_t *G, const uint8_t *X, size_t xs, float *Y,
                           size_t ldy, int add, int nc)
{
    switch (nc) {
    case 1: r16b_micro(kc, G, X, xs, Y, ldy, add, 1); break;
    case 2: r16b_micro(kc, G, X, xs, Y, ldy, add, 2); break;
    case 3: r16b_micro(kc, G, X, xs, Y, ldy, add, 3); break;
    case 4: r16b_micro(kc, G, X, xs, Y, ldy, add, 4); break;
    case 5: r16b_micro(kc, G, X, xs, Y, ldy, add, 5); break;
    case 6: r16b_micro(kc, G, X, xs, Y, ldy, add, 6); break;
    case 7: r16b_micro(kc, G, X, xs, Y, ldy, add, 7); break;
    default: r16b_micro(kc, G, X, xs, Y, ldy, add, 8); break;
    }
}

/* One group against one column over all K values. */
static void r16b_decode(int K, const uint8_t *G, const uint8_t *x, float *Y)
{
    __m512 a[4];
    for (int j = 0; j < 4; j++)
        a[j] = _mm512_setzero_ps();
    int k = 0;
    for (; k + 8 <= K; k += 8) {
        const uint8_t *p = G + 32 * (size_t)k;
        for (int s = 0; s < 4; s++) {
            _mm_prefetch((const char *)p + 64 * s + R16B_PF, _MM_HINT_T0);
            a[s] = _mm512_dpbf16_ps(a[s], r16b_w(p + 64 * s), r16b_x(x + 2 * (size_t)(k + 2 * s)));
        }
    }
    for (; k + 2 <= K; k += 2)
        a[0] = _mm512_dpbf16_ps(a[0], r16b_w(G + 32 * (size_t)k), r16b_x(x + 2 * (size_t)k));
    if (k < K)
        a[1] = _mm512_dpbf16_ps(a[1], r16b_w_last(G + 32 * (size_t)k), r16b_x_last(x + 2 * (size_t)k));
    _mm512_storeu_ps(Y, _mm512_add_ps(_mm512_add_ps(a[0], a[1]), _mm512_add_ps(a[2], a[3])));
}

static void r16b_bf16_gemm(int K, const void *Wv, size_t ws, int nr, const void *Xv, size_t xs,
                           int nc, float *Y, size_t ldy)
{
    const uint8_t *W = Wv, *X = Xv;
    if (nc == 1) {
        for (int i = 0; i < nr; i += R16B_ROWS)
            r16b_decode(K, W + (size_t)i * ws, X, Y + i);
        return;
    }
    if (K <= 0) {
        for (int c = 0; c < nc; c++)
            for (int r = 0; r < nr; r++)
                Y[(size_t)c * ldy + r] = 0.0f;
        return;
    }
    for (int k0 = 0; k0 < K; k0 += R16B_KC) {   /* k0 even: a block starts on a pair */
        const int kc = K - k0 < R16B_KC ? K - k0 : R16B_KC;
        for (int i = 0; i < nr; i += R16B_ROWS) {
            const uint8_t *G = W + (size_t)i * ws + (size_t)k0 * 2 * R16B_ROWS;
            for (int j = 0; j < nc; j += R16B_NC)
                r16b_micro_any(kc, G, X + (size_t)j * xs + 2 * (size_t)k0, xs,
                               Y + (size_t)j * ldy + i, ldy, k0 > 0,
                               nc - j < R16B_NC ? nc - j : R16B_NC);
        }
    }
}

void llmri_repack_r16_avx512_install(llmr_type_traits *t)
{
    t[LLMR_TYPE_BF16].gemm = r16b_bf16_gemm;
    /* Not timed on an AVX-512 host (none was available): only with LLMR_REPACK=1, as the
     * K-quants' AVX-512 layouts. Checked against the reference by test_avx512_emul. */
    t[LLMR_TYPE_BF16].by_default = 0;
}
