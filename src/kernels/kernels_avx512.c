/* kernels_avx512.c - AVX-512 F/BW/VL/DQ + VNNI + BF16 kernels (reached only through the
 * traits table after CPU detection found all of them).
 *
 * The 8-bit integer dots use vpdpbusd (VNNI: unsigned x signed bytes, four products summed
 * straight into int32, no int16 saturation), the K-quant sub-block scales vpdpwssd (int16
 * multiply-add into int32), F16 converts 16 values per vcvtph2ps, and BF16 multiplies pairs
 * with vdpbf16ps. Tiles and their dispatch are as in kernels_avx2.c (simd_x86.h). */
#include "kernels/simd_x86.h"

/* ---- activation quantizers: the reference arithmetic exactly (see ref_quants.c) ---------- */
INLINE float q8_32_512(const float *x, int8_t *q, int *sum)
{
    const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
    if (!(amax >= 1e-30f)) {
        memset(q, 0, 32);
        if (sum)
            *sum = 0;
        return 0.0f;
    }
    const float d = amax / 127.f;
    const __m512 id = _mm512_set1_ps(127.f / amax);
    enum { rn = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC };
    const __m512i i0 = _mm512_cvtps_epi32(_mm512_roundscale_ps(_mm512_mul_ps(v0, id), rn));
    const __m512i i1 = _mm512_cvtps_epi32(_mm512_roundscale_ps(_mm512_mul_ps(v1, id), rn));
    if (sum)
        *sum = _mm512_reduce_add_epi32(_mm512_add_epi32(i0, i1));
    _mm_storeu_si128((__m128i *)q, _mm512_cvtepi32_epi8(i0));      /* |values| <= 127 */
    _mm_storeu_si128((__m128i *)(q + 16), _mm512_cvtepi32_epi8(i1));
    return d;
}

static void q8_0_from_float(const float *src, void *dst, int64_t n)
{
    block_q8_0 *y = dst;
    for (int64_t i = 0; i < n / QK8_0; i++)
        y[i].d = f2h(q8_32_512(src + i * 32, y[i].qs, NULL));
}

static void q8_1_from_float(const float *src, void *dst, int64_t n)
{
    block_q8_1 *y = dst;
    for (int64_t i = 0; i < n / QK8_1; i++) {
        int s;
        float d = q8_32_512(src + i * 32, y[i].qs, &s);
        y[i].d = f2h(d);
        y[i].s = f2h(d * (float)s);
    }
}

/* Q8_K: the first value of largest magnitude maps to -127; one zmm is one 16-value bsum. */
static void q8_K_from_float(const float *src, void *dst, int64_t n)
{
    block_q8_K *y = dst;
    for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
        __m512 m = _mm512_setzero_ps();
        for (int j = 0; j < QK_K; j += 16)
            m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_loadu_ps(src + j)));
        const float amax = _mm512_reduce_max_ps(m);
        if (!(amax >= 1e-30f)) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        float max = 0;
        for (int j = 0; j < QK_K; j++)
            if (src[j] == amax || src[j] == -amax) {
                max = src[j];
                break;
            }
        const float iscale = -127.f / max;
        const __m512 is = _mm512_set1_ps(iscale);
        const __m512i lim = _mm512_set1_epi32(127);
        enum { rn = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC };
        for (int j = 0; j < QK_K; j += 16) {
            const __m512i v = _mm512_min_epi32(lim, _mm512_cvtps_epi32(_mm512_roundscale_ps(
                                  _mm512_mul_ps(is, _mm512_loadu_ps(src + j)), rn)));
            y[i].bsums[j / 16] = (int16_t)_mm512_reduce_add_epi32(v);
            _mm_storeu_si128((__m128i *)(y[i].qs + j), _mm512_cvtsepi32_epi8(v));
        }
        y[i].d = 1 / iscale;
    }
}

/* ---- Q4_0 x Q8_0: the accumulator starts at -8 * sum(y) (vpdpbusd of 8s and y), then
 * vpdpbusd adds q . y: one instruction per block per row/column pair. -------------------- */
INLINE __m256i neg8sum(__m256i y)
{
    return _mm256_sub_epi32(_mm256_setzero_si256(),
                            _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(8), y));
}

INLINE void q4_0_kern(TILE_ARGS, const int NR, const int NC)
{
    const int nb = K / QK4_0;
    __m256 acc[4][4];
    for (int r = 0; r < NR; r++)
        for (int c = 0; c < NC; c++)
            acc[r][c] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        __m256i q[4];
        __m256 dw[4];
        for (int r = 0; r < NR; r++) {
            const block_q4_0 *wb = ROWB(block_q4_0, r, b);
            _mm_prefetch((const char *)wb + PREFETCH_AHEAD, _MM_HINT_T0);
            q[r] = nibbles32(wb->qs);
            dw[r] = _mm256_set1_ps(h2f(wb->d));
        }
        for (int c = 0; c < NC; c++) {
            const block_q8_0 *xb = COLB(block_q8_0, c, b);
            const __m256i y = _mm256_loadu_si256((const __m256i *)xb->qs);
            const __m256i init = neg8sum(y);
            const __m256 dy = _mm256_set1_ps(h2f(xb->d));
            for (int r = 0; r < NR; r++)
                acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_dpbusd_epi32(init, q[r], y)),
                                            _mm256_mul_ps(dw[r], dy), acc[r][c]);
        }
    }
    STORE_ACC()
}

INLINE void q4_0_kern4(TILE_ARGS, const int NC)
{
    const int nb = K / QK4_0;
    __m256 acc[4];
    for (int c = 0; c < NC; c++)
        acc[c] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        PREFETCH_NEXT_TILE((size_t)b * sizeof(block_q4_0), 4 * (int)sizeof(block_q4_0))
        __m256i q[4];
        for (int r = 0; r < 4; r++)
            q[r] = nibbles32(ROWB(block_q4_0, r, b)->qs);
        const __m256 sw = scales4(W, ws, (size_t)b * sizeof(block_q4_0));
        for (int c = 0; c < NC; c++) {
            const block_q8_0 *xb = COLB(block_q8_0, c, b);
            const __m256i y = _mm256_loadu_si256((const __m256i *)xb->qs);
            const __m256i init = neg8sum(y);
            __m256i p[4];
            for (int r = 0; r < 4; r++)
                p[r] = _mm256_dpbusd_epi32(init, q[r], y);
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(merge4_epi32(p[0], p[1], p[2], p[3])),
                                     _mm256_mul_ps(sw, _mm256_set1_ps(h2f(xb->d))), acc[c]);
        }
    }
    store4(acc, NC, Y, ldy);
}
DEFINE_TILE(q4_0_tile, q4_0_kern, q4_0_kern4)

/* ---- Q8_0 x Q8_0: w + 128 is unsigned; the accumulator starts at -128 * sum(y). ---------- */
INLINE __m256i neg128sum(__m256i y)
{
    return _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_dpbusd_epi32(
                                _mm256_setzero_si256(), _mm256_set1_epi8((char)0x80), y));
}

INLINE void q8_0_kern(TILE_ARGS, const int NR, const int NC)
{
    const int nb = K / QK8_0;
    const __m256i bias = _mm256_set1_epi8((char)0x80);
    __m256 acc[4][4];
    for (int r = 0; r < NR; r++)
        for (int c = 0; c < NC; c++)
            acc[r][c] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        __m256i q[4];
        __m256 dw[4];
        for (int r = 0; r < NR; r++) {
            const block_q8_0 *wb = ROWB(block_q8_0, r, b);
            _mm_prefetch((const char *)wb + PREFETCH_AHEAD, _MM_HINT_T0);
            q[r] = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)wb->qs), bias);
            dw[r] = _mm256_set1_ps(h2f(wb->d));
        }
        for (int c = 0; c < NC; c++) {
            const block_q8_0 *xb = COLB(block_q8_0, c, b);
            const __m256i y = _mm256_loadu_si256((const __m256i *)xb->qs);
            const __m256i init = neg128sum(y);
            const __m256 dy = _mm256_set1_ps(h2f(xb->d));
            for (int r = 0; r < NR; r++)
                acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_dpbusd_epi32(init, q[r], y)),
                                            _mm256_mul_ps(dw[r], dy), acc[r][c]);
        }
    }
    STORE_ACC()
}

INLINE void q8_0_kern4(TILE_ARGS, const int NC)
{
    const int nb = K / QK8_0;
    const __m256i bias = _mm256_set1_epi8((char)0x80);
    __m256 acc[4];
    for (int c = 0; c < NC; c++)
        acc[c] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        PREFETCH_NEXT_TILE((size_t)b * sizeof(block_q8_0), 4 * (int)sizeof(block_q8_0))
        __m256i q[4];
        for (int r = 0; r < 4; r++)
            q[r] = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)ROWB(block_q8_0, r, b)->qs),
                                    bias);
        const __m256 sw = scales4(W, ws, (size_t)b * sizeof(block_q8_0));
        for (int c = 0; c < NC; c++) {
            const block_q8_0 *xb = COLB(block_q8_0, c, b);
            const __m256i y = _mm256_loadu_si256((const __m256i *)xb->qs);
            const __m256i init = neg128sum(y);
            __m256i p[4];
            for (int r = 0; r < 4; r++)
                p[r] = _mm256_dpbusd_epi32(init, q[r], y);
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(merge4_epi32(p[0], p[1], p[2], p[3])),
                                     _mm256_mul_ps(sw, _mm256_set1_ps(h2f(xb->d))), acc[c]);
        }
    }
    store4(acc, NC, Y, ldy);
}
DEFINE_TILE(q8_0_tile, q8_0_kern, q8_0_kern4)

/* ---- K-quants x Q8_K: vpmaddubsw pair sums, scaled and accumulated by vpdpwssd ---------- */
#define KQ_MADD_ACC(acc, s, p) _mm256_dpwssd_epi32((acc), (s), (p))
#include "kernels/tile_kq_x86.h"

/* ---- F16 and BF16, 16 values per step in zmm -------------------------------------------- */
INLINE __m512 ld16_f16(const uint8_t *p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p)); }

#define STORE_ACC512()                                                                     \
    for (int c = 0; c < NC; c++)                                                           \
        for (int r = 0; r < NR; r++)                                                       \
            Y[(size_t)c * ldy + r] = _mm512_reduce_add_ps(acc[r][c]);

INLINE void f16_kern(TILE_ARGS, const int NR, const int NC)
{
    __m512 acc[4][4];
    for (int r = 0; r < NR; r++)
        for (int c = 0; c < NC; c++)
            acc[r][c] = _mm512_setzero_ps();
    for (int k = 0; k < K; k += 16) {
        __m512 w[4];
        for (int r = 0; r < NR; r++) {
            const uint8_t *p = W + (size_t)r * ws + 2 * (size_t)k;
            _mm_prefetch((const char *)p + PREFETCH_AHEAD, _MM_HINT_T0);
            w[r] = ld16_f16(p);
        }
        for (int c = 0; c < NC; c++) {
            const __m512 x = ld16_f16(X + (size_t)c * xs + 2 * (size_t)k);
            for (int r = 0; r < NR; r++)
                acc[r][c] = _mm512_fmadd_ps(w[r], x, acc[r][c]);
        }
    }
    STORE_ACC512()
}

/* 64 bytes of bf16 as the vdpbf16ps operand type (memcpy: no aliasing or cast games). */
INLINE __m512bh ld32_bf16(const uint8_t *p)
{
    __m512bh v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* vdpbf16ps: acc[i] += w[2i]*x[2i] + w[2i+1]*x[2i+1] over 32 bf16 values per zmm. */
INLINE void bf16_kern(TILE_ARGS, const int NR, const int NC)
{
    __m512 acc[4][4];
    for (int r = 0; r < NR; r++)
        for (int c = 0; c < NC; c++)
            acc[r][c] = _mm512_setzero_ps();
    for (int k = 0; k < K; k += 32) {
        __m512bh w[4];
        for (int r = 0; r < NR; r++) {
            const uint8_t *p = W + (size_t)r * ws + 2 * (size_t)k;
            _mm_prefetch((const char *)p + PREFETCH_AHEAD, _MM_HINT_T0);
            w[r] = ld32_bf16(p);
        }
        for (int c = 0; c < NC; c++) {
            const __m512bh x = ld32_bf16(X + (size_t)c * xs + 2 * (size_t)k);
            for (int r = 0; r < NR; r++)
                acc[r][c] = _mm512_dpbf16_ps(acc[r][c], w[r], x);
        }
    }
    STORE_ACC512()
}
INLINE void f16_kern4(TILE_ARGS, const int NC) { f16_kern(TILE_PASS, 4, NC); }
INLINE void bf16_kern4(TILE_ARGS, const int NC) { bf16_kern(TILE_PASS, 4, NC); }
DEFINE_TILE(f16_tile, f16_kern, f16_kern4)
DEFINE_TILE(bf16_tile, bf16_kern, bf16_kern4)

/* K not a multiple of the vector step (attention over a KV cache of any length): the level
 * below (AVX2, which finishes with scalar steps) does those. Set once at install. */
static llmr_tile_fn f16_below, bf16_below;

static void f16_tile_any(int K, const void *W, size_t ws, int nr, const void *X, size_t xs,
                         int nc, float *Y, size_t ldy)
{
    if (K % 16 == 0)
        f16_tile(K, W, ws, nr, X, xs, nc, Y, ldy);
    else
        f16_below(K, W, ws, nr, X, xs, nc, Y, ldy);
}

static void bf16_tile_any(int K, const void *W, size_t ws, int nr, const void *X, size_t xs,
                          int nc, float *Y, size_t ldy)
{
    if (K % 32 == 0)
        bf16_tile(K, W, ws, nr, X, xs, nc, Y, ldy);
    else
        bf16_below(K, W, ws, nr, X, xs, nc, Y, ldy);
}

static void f16_vec_dot(int n, float *s, const void *w, const void *x)
{
    f16_tile_any(n, w, 0, 1, x, 0, 1, s, 1);
}

static void bf16_vec_dot(int n, float *s, const void *w, const void *x)
{
    bf16_tile_any(n, w, 0, 1, x, 0, 1, s, 1);
}

void llmri_kernels_avx512_install(llmr_type_traits *t)
{
    t[LLMR_TYPE_Q8_0].from_float = q8_0_from_float;
    t[LLMR_TYPE_Q8_1].from_float = q8_1_from_float;
    t[LLMR_TYPE_Q8_K].from_float = q8_K_from_float;

    t[LLMR_TYPE_Q4_0].vec_dot = q4_0_tile_vec_dot;
    t[LLMR_TYPE_Q4_0].tile = q4_0_tile;
    t[LLMR_TYPE_Q8_0].vec_dot = q8_0_tile_vec_dot;
    t[LLMR_TYPE_Q8_0].tile = q8_0_tile;
    t[LLMR_TYPE_Q4_K].vec_dot = q4_K_tile_vec_dot;
    t[LLMR_TYPE_Q4_K].tile = q4_K_tile;
    t[LLMR_TYPE_Q5_K].vec_dot = q5_K_tile_vec_dot;
    t[LLMR_TYPE_Q5_K].tile = q5_K_tile;
    t[LLMR_TYPE_Q6_K].vec_dot = q6_K_tile_vec_dot;
    t[LLMR_TYPE_Q6_K].tile = q6_K_tile;

    f16_below = t[LLMR_TYPE_F16].tile;
    bf16_below = t[LLMR_TYPE_BF16].tile;
    t[LLMR_TYPE_F16].vec_dot = f16_vec_dot;
    t[LLMR_TYPE_F16].tile = f16_tile_any;
    t[LLMR_TYPE_BF16].vec_dot = bf16_vec_dot;
    t[LLMR_TYPE_BF16].tile = bf16_tile_any;
    llmri_kernels_kq_avx512_install(t);
    llmri_gemm_avx512_install(t);
    llmri_gemm_kq_avx512_install(t);
}
