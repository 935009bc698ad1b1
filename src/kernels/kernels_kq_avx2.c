/* kernels_kq_avx2.c - AVX2 + FMA + F16C kernels beside kernels_avx2.c: the F16 matrix
 * product for many columns (prompt processing) and the K-quant decode kernels. Reached only
 * through the traits table after CPU detection (llmri_kernels_kq_avx2_install, called from
 * llmri_kernels_avx2_install). */
#include "kernels/simd_x86.h"

/* kernels_kq_avx512.c compiles this file again with KQ_AVX512 set: vpdpwssd then scales and
 * accumulates the K-quants' int16 pair sums in one step, and the F16 micro-kernel and decode
 * dot work on 16 floats per zmm (one weight load and one FMA per column for 16 rows). */
#ifndef KQ_AVX512
#define KQ_AVX512 0
#endif

/* acc + (int16 pairs of a) . (int16 pairs of b), per int32 lane. */
INLINE __m256i kq_dpwssd(__m256i acc, __m256i a, __m256i b)
{
#if KQ_AVX512
    return _mm256_dpwssd_epi32(acc, a, b);
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b));
#endif
}

/* ---- F16 x F16 for many columns: a packed, register-blocked product ---------------------
 * Used from F16_GEMM_MIN_COLS columns on (fewer go to the tiles). The tile kernels convert
 * both operands with vcvtph2ps at every use (7 conversions per 12 FMAs in a 4 x 3 tile, on
 * the FP pipes the FMAs need). Here both are converted once into f32 buffers, as in BLIS:
 *   - for each K block of GEMM_KC values, the call's rows (up to GEMM_MB at a time) -> Wp,
 *     transposed in panels of 16 rows so that one k gives 16 consecutive rows in two
 *     vectors (a panel is 16 KiB: L1; all of Wp 192 KiB: L2). Each weight is read from
 *     memory and converted once per call;
 *   - a block of up to GEMM_NB columns x GEMM_KC values of X -> Xf (96 KiB, L2), once per
 *     (row block, K block);
 *   - a 16 x 6 micro-kernel: per k two vector loads of Wp, six broadcasts of Xf (load-port
 *     only) and twelve FMAs into twelve accumulators (14 of the 16 ymm registers).
 * Y gets each K block's partial sums added (the first block stores), so the float summation
 * order differs from the reference only by that split and the FMA's single rounding. */
enum { GEMM_MR = 16, GEMM_NR = 6, GEMM_KC = 256, GEMM_NB = 96, GEMM_MB = 192 };

/* 8 x 8 transpose of r[0..7] (row i = 8 values) into columns. */
INLINE void transpose8(__m256 r[8])
{
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/* Wp[k][0..16) = rows [0, nr) of W at k0 + k, k < kc, as f32; rows nr..15 are zero. */
static void pack_w16(const uint8_t *W, size_t ws, int nr, int k0, int kc, float *Wp)
{
    const int k8 = kc & ~7;
    for (int h = 0; h < 2; h++) {            /* rows 0-7, then 8-15 */
        const uint8_t *rows[8];
        for (int i = 0; i < 8; i++)
            rows[i] = 8 * h + i < nr ? W + (size_t)(8 * h + i) * ws + 2 * (size_t)k0 : NULL;
        for (int k = 0; k < k8; k += 8) {
            __m256 r[8];
            for (int i = 0; i < 8; i++)
                r[i] = rows[i] ? ld_f16(rows[i] + 2 * k) : _mm256_setzero_ps();
            transpose8(r);
            for (int i = 0; i < 8; i++)
                _mm256_store_ps(Wp + (size_t)(k + i) * GEMM_MR + 8 * h, r[i]);
        }
        for (int k = k8; k < kc; k++)
            for (int i = 0; i < 8; i++) {
                uint16_t v = 0;
                if (rows[i])
                    memcpy(&v, rows[i] + 2 * k, 2);
                Wp[(size_t)k * GEMM_MR + 8 * h + i] = h2f(v);
            }
    }
}

/* Prefetches `bytes` from p (the segment of a row that a pack reads next). The segments are
 * short (GEMM_KC values) and rows are usually a page apart, which the hardware prefetchers
 * do not follow: without this, packing waits on L3 or RAM at every row. */
INLINE void prefetch_seg(const uint8_t *p, int bytes)
{
    for (int o = 0; o < bytes; o += 64)
        _mm_prefetch((const char *)p + o, _MM_HINT_T0);
}

/* Xf[c][k] = X row c at k0 + k as f32, for c < nc, k < kc (rows GEMM_KC floats apart). */
static void pack_x(const uint8_t *X, size_t xs, int nc, int k0, int kc, float *Xf)
{
    enum { AHEAD = 4 };        /* rows prefetched ahead of the one converted */
    for (int c = 0; c < AHEAD && c < nc; c++)
        prefetch_seg(X + (size_t)c * xs + 2 * (size_t)k0, 2 * kc);
    for (int c = 0; c < nc; c++) {
        if (c + AHEAD < nc)
            prefetch_seg(X + (size_t)(c + AHEAD) * xs + 2 * (size_t)k0, 2 * kc);
        f16_row_to_f32(X + (size_t)c * xs + 2 * (size_t)k0, Xf + (size_t)c * GEMM_KC, kc);
    }
}

/* Lanes [0, n) of 8 set (n may be <= 0 or >= 8). */
INLINE __m256i lane_mask(int n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

#if KQ_AVX512
/* Y[c*ldy + r] (+)= sum_k Wp[k][r] * Xf[c][k] for r < nr (<= 16), c < NC: the 16 rows are
 * one zmm, so one load and NC FMAs per k. */
INLINE void f16_micro(int kc, const float *Wp, const float *Xf, const int NC, float *Y,
                      size_t ldy, int nr, int add)
{
    __m512 a[GEMM_NR];
    for (int c = 0; c < NC; c++)
        a[c] = _mm512_setzero_ps();
    for (int k = 0; k < kc; k++) {
        const __m512 w = _mm512_load_ps(Wp + (size_t)k * GEMM_MR);
        for (int c = 0; c < NC; c++)
            a[c] = _mm512_fmadd_ps(w, _mm512_set1_ps(Xf[(size_t)c * GEMM_KC + k]), a[c]);
    }
    const __mmask16 m = (__mmask16)((1u << nr) - 1);
    for (int c = 0; c < NC; c++) {
        float *y = Y + (size_t)c * ldy;
        if (add)
            a[c] = _mm512_add_ps(a[c], _mm512_maskz_loadu_ps(m, y));
        _mm512_mask_storeu_ps(y, m, a[c]);
    }
}
#else
/* Y[c*ldy + r] (+)= sum_k Wp[k][r] * Xf[c][k] for r < nr (<= 16), c < NC. */
INLINE void f16_micro(int kc, const float *Wp, const float *Xf, const int NC, float *Y,
                      size_t ldy, int nr, int add)
{
    __m256 a[GEMM_NR][2];
    for (int c = 0; c < NC; c++) {
        a[c][0] = a[c][1] = _mm256_setzero_ps();
        if (add) {
            _mm_prefetch((const char *)(Y + (size_t)c * ldy), _MM_HINT_T0);
            _mm_prefetch((const char *)(Y + (size_t)c * ldy + 15), _MM_HINT_T0);
        }
    }
    for (int k = 0; k < kc; k++) {
        const __m256 w0 = _mm256_load_ps(Wp + (size_t)k * GEMM_MR);
        const __m256 w1 = _mm256_load_ps(Wp + (size_t)k * GEMM_MR + 8);
        for (int c = 0; c < NC; c++) {
            const __m256 b = _mm256_broadcast_ss(Xf + (size_t)c * GEMM_KC + k);
            a[c][0] = _mm256_fmadd_ps(w0, b, a[c][0]);
            a[c][1] = _mm256_fmadd_ps(w1, b, a[c][1]);
        }
    }
    if (nr == GEMM_MR) {
        for (int c = 0; c < NC; c++)
            store16(Y + (size_t)c * ldy, a[c][0], a[c][1], add);
        return;
    }
    const __m256i m0 = lane_mask(nr), m1 = lane_mask(nr - 8);
    for (int c = 0; c < NC; c++) {
        float *y = Y + (size_t)c * ldy;
        if (add) {
            a[c][0] = _mm256_add_ps(a[c][0], _mm256_maskload_ps(y, m0));
            a[c][1] = _mm256_add_ps(a[c][1], _mm256_maskload_ps(y + 8, m1));
        }
        _mm256_maskstore_ps(y, m0, a[c][0]);
        _mm256_maskstore_ps(y + 8, m1, a[c][1]);
    }
}
#endif

/* Below this many columns, packing the weights costs more than it saves: the 4 x 4 tiles of
 * kernels_avx2.c (whose pointer the install keeps) convert in place instead. */
#define F16_GEMM_MIN_COLS 16
static llmr_tile_fn f16_tile_below;

static void f16_tiles(int K, const uint8_t *W, size_t ws, int nr, const uint8_t *X, size_t xs,
                      int nc, float *Y, size_t ldy)
{
    for (int i = 0; i < nr; i += LLMR_TILE_MAX_R)
        for (int j = 0; j < nc; j += LLMR_TILE_MAX_C)
            f16_tile_below(K, W + (size_t)i * ws, ws,
                           nr - i < LLMR_TILE_MAX_R ? nr - i : LLMR_TILE_MAX_R,
                           X + (size_t)j * xs, xs,
                           nc - j < LLMR_TILE_MAX_C ? nc - j : LLMR_TILE_MAX_C,
                           Y + (size_t)j * ldy + i, ldy);
}

/* ---- F16 decode: one column --------------------------------------------------------------
 * Decode streams every weight byte from RAM once. The 4 x 4 tiles interleave four row streams
 * and convert the activations again for every row; here X is converted to f32 once per call
 * and each row is one contiguous stream, with one software prefetch per 64-byte line
 * consumed, F16_PF bytes ahead on the same stream (running on into the next rows, which are
 * contiguous with it). Four accumulators hide the FMA latency. The distance was chosen by
 * alternating runs of tg32 on the 1.1B F16 model (2 threads): 256 B ahead averaged 8.53 t/s
 * over four rounds, 512 B 8.00, 1 KiB 7.84, 2 KiB 7.45, the 4 x 4 tiles 8.32, llama.cpp 8.46. */
#ifndef F16_PF
#define F16_PF 256
#endif
enum { F16_DECODE_STACK = 8192 };   /* activations converted on the stack up to this K */

#if KQ_AVX512
static float f16_row_dot(int K, const uint8_t *w, const float *x)
{
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    int k = 0;
    for (; k + 32 <= K; k += 32) {
        _mm_prefetch((const char *)w + 2 * (size_t)k + F16_PF, _MM_HINT_T0);
        a0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + 2 * (size_t)k))),
                             _mm512_loadu_ps(x + k), a0);
        a1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + 2 * (size_t)k + 32))),
                             _mm512_loadu_ps(x + k + 16), a1);
    }
    float s = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
    for (; k < K; k++) {
        uint16_t v;
        memcpy(&v, w + 2 * (size_t)k, 2);
        s += h2f(v) * x[k];
    }
    return s;
}
#else
static float f16_row_dot(int K, const uint8_t *w, const float *x)
{
    __m256 a[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
    int k = 0;
    for (; k + 32 <= K; k += 32) {
        _mm_prefetch((const char *)w + 2 * (size_t)k + F16_PF, _MM_HINT_T0);
        for (int j = 0; j < 4; j++) {
            const int kj = k + 8 * j;
            a[j] = _mm256_fmadd_ps(ld_f16(w + 2 * (size_t)kj), _mm256_loadu_ps(x + kj), a[j]);
        }
    }
    for (; k + 8 <= K; k += 8)
        a[0] = _mm256_fmadd_ps(ld_f16(w + 2 * (size_t)k), _mm256_loadu_ps(x + k), a[0]);
    float s = hsum8(_mm256_add_ps(_mm256_add_ps(a[0], a[1]), _mm256_add_ps(a[2], a[3])));
    for (; k < K; k++) {
        uint16_t v;
        memcpy(&v, w + 2 * (size_t)k, 2);
        s += h2f(v) * x[k];
    }
    return s;
}
#endif

/* Y[r] = row r of W . X for r < nr; false (nothing done) when there is no memory for X. */
static bool f16_decode(int K, const uint8_t *W, size_t ws, int nr, const uint8_t *X, float *Y)
{
    float stack[F16_DECODE_STACK];
    float *x = K <= F16_DECODE_STACK ? stack : malloc(sizeof(float) * (size_t)K);
    if (!x)
        return false;
    f16_row_to_f32(X, x, K);
    for (int r = 0; r < nr; r++)
        Y[r] = f16_row_dot(K, W + (size_t)r * ws, x);
    if (x != stack)
        free(x);
    return true;
}

static void f16_gemm(int K, const void *Wv, size_t ws, int nr, const void *Xv, size_t xs,
                     int nc, float *Y, size_t ldy)
{
    const uint8_t *W = Wv, *X = Xv;
    if (nc == 1 && f16_decode(K, W, ws, nr, X, Y))
        return;
    if (nc < F16_GEMM_MIN_COLS) {
        f16_tiles(K, W, ws, nr, X, xs, nc, Y, ldy);
        return;
    }
    _Alignas(64) float Xf[GEMM_NB * GEMM_KC];
    _Alignas(64) float Wp[GEMM_MB * GEMM_KC];
    if (K <= 0) {             /* empty dot products */
        for (int c = 0; c < nc; c++)
            for (int r = 0; r < nr; r++)
                Y[(size_t)c * ldy + r] = 0.0f;
        return;
    }
    for (int ib = 0; ib < nr; ib += GEMM_MB) {
        const int mb = nr - ib < GEMM_MB ? nr - ib : GEMM_MB;
        for (int k0 = 0; k0 < K; k0 += GEMM_KC) {
            const int kc = K - k0 < GEMM_KC ? K - k0 : GEMM_KC, add = k0 > 0;
            for (int p = 0; p < mb; p += GEMM_MR) {
                for (int r = p + GEMM_MR; r < p + 2 * GEMM_MR && r < mb; r++)
                    prefetch_seg(W + (size_t)(ib + r) * ws + 2 * (size_t)k0, 2 * kc);
                pack_w16(W + (size_t)(ib + p) * ws, ws, mb - p < GEMM_MR ? mb - p : GEMM_MR, k0,
                         kc, Wp + (size_t)p * GEMM_KC);
            }
            for (int j0 = 0; j0 < nc; j0 += GEMM_NB) {
                const int nb = nc - j0 < GEMM_NB ? nc - j0 : GEMM_NB;
                pack_x(X + (size_t)j0 * xs, xs, nb, k0, kc, Xf);
                for (int p = 0; p < mb; p += GEMM_MR) {
                    const int mr = mb - p < GEMM_MR ? mb - p : GEMM_MR;
                    const float *wp = Wp + (size_t)p * GEMM_KC;
                    for (int c0 = 0; c0 < nb; c0 += GEMM_NR) {
                        float *y = Y + (size_t)(j0 + c0) * ldy + ib + p;
                        const float *xf = Xf + (size_t)c0 * GEMM_KC;
                        switch (nb - c0 < GEMM_NR ? nb - c0 : GEMM_NR) {
                        case 1: f16_micro(kc, wp, xf, 1, y, ldy, mr, add); break;
                        case 2: f16_micro(kc, wp, xf, 2, y, ldy, mr, add); break;
                        case 3: f16_micro(kc, wp, xf, 3, y, ldy, mr, add); break;
                        case 4: f16_micro(kc, wp, xf, 4, y, ldy, mr, add); break;
                        case 5: f16_micro(kc, wp, xf, 5, y, ldy, mr, add); break;
                        default: f16_micro(kc, wp, xf, 6, y, ldy, mr, add); break;
                        }
                    }
                }
            }
        }
    }
}

/* ---- K-quant decode: one weight row against one Q8_K column ----------------------------
 * Decode streams every weight byte once from RAM, so the kernel must both keep up with the
 * stream (a Q4_K super-block of 144 bytes in about 20 cycles) and keep enough of it in flight:
 * rows are contiguous, so one software prefetch per cache line, KQ_PF bytes ahead on the
 * same stream, runs ahead into the following rows as well. Per super-block:
 *   sum = d*dy * sum_j sc_j * (q_j . y_j)  -  dmin*dy * sum_j m_j * (sum of y_j)
 * the sub-block scales sc_j multiply the int16 pair sums inside vpmaddwd, the minimums use
 * Q8_K's bsums (sums of 16 activations), so the whole super-block is one int32 vector. */
#ifdef KQ_MCA    /* llvm-mca markers around loop bodies (never in the library build) */
#define MCA_BEGIN(n) __asm volatile("# LLVM-MCA-BEGIN " n ::: "memory")
#define MCA_END() __asm volatile("# LLVM-MCA-END" ::: "memory")
#else
#define MCA_BEGIN(n)
#define MCA_END()
#endif
#ifndef KQ_PF
#define KQ_PF 1536
#endif

/* [d*dy, dmin*dy] of a Q4_K block (its first two f16s) as two broadcast vectors. */
INLINE void k4_dscales(const void *blk, float dy, __m256 *d, __m256 *dmin)
{
    uint32_t h;
    memcpy(&h, blk, 4);
    const __m128 v = _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi32_si128((int)h)), _mm_set1_ps(dy));
    *d = _mm256_broadcastss_ps(v);
    *dmin = _mm256_broadcastss_ps(_mm_movehdup_ps(v));
}

/* The 8 mins of a Q4_K block (bytes of mn), each repeated for two 16-value Q8_K bsums. */
INLINE __m256i k4_mins16(uint64_t mn)
{
    const __m128i dup = _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    return _mm256_cvtepu8_epi16(_mm_shuffle_epi8(_mm_cvtsi64_si128((long long)mn), dup));
}

INLINE float q4_K_dot1(int nb, const block_q4_K *w, const block_q8_K *y)
{
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        MCA_BEGIN("q4k");
        const uint8_t *pf = (const uint8_t *)(w + b) + KQ_PF;
        _mm_prefetch((const char *)pf, _MM_HINT_T0);
        _mm_prefetch((const char *)pf + 64, _MM_HINT_T0);
        _mm_prefetch((const char *)pf + 128, _MM_HINT_T0);
        uint64_t sc, mn;
        k4_scales(w[b].scales, &sc, &mn);
        __m256 d, dmin;
        k4_dscales(&w[b], y[b].d, &d, &dmin);
        const __m256i pm = _mm256_madd_epi16(k4_mins16(mn),
                                             _mm256_loadu_si256((const __m256i *)y[b].bsums));
        const __m256i scv = _mm256_broadcastsi128_si256(
            _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc)));
        __m256i sumi = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++) {
            const __m256i bits = _mm256_loadu_si256((const __m256i *)(w[b].qs + 32 * j));
            const __m256i ql = _mm256_and_si256(bits, m4);
            const __m256i qh = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
            const __m256i yl = _mm256_loadu_si256((const __m256i *)(y[b].qs + 64 * j));
            const __m256i yh = _mm256_loadu_si256((const __m256i *)(y[b].qs + 64 * j + 32));
            sumi = kq_dpwssd(sumi, _mm256_shuffle_epi8(scv, bcast16_ctrl(2 * j)),
                             _mm256_maddubs_epi16(ql, yl));
            sumi = kq_dpwssd(sumi, _mm256_shuffle_epi8(scv, bcast16_ctrl(2 * j + 1)),
                             _mm256_maddubs_epi16(qh, yh));
        }
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi), d, acc);
        acc = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(pm), dmin, acc);
        MCA_END();
    }
    return hsum8(acc);
}

/* The decode entry points of a K-quant whose one-row dot is T_dot1(nb, row, q8_K column):
 * its tile (one column: the dot per row; more columns: the tile it replaces, kept at install
 * in T_tile_below) and its vec_dot. */
#define KQ_DECODE_FNS(T, block_t)                                                              \
    static llmr_tile_fn T##_dtile_below;                                                        \
    static void T##_dtile(int K, const void *W, size_t ws, int nr, const void *X, size_t xs,   \
                         int nc, float *Y, size_t ldy)                                         \
    {                                                                                          \
        if (nc != 1) {                                                                         \
            T##_dtile_below(K, W, ws, nr, X, xs, nc, Y, ldy);                                  \
            return;                                                                            \
        }                                                                                      \
        for (int r = 0; r < nr; r++)                                                           \
            Y[r] = T##_dot1(K / QK_K, (const block_t *)((const uint8_t *)W + (size_t)r * ws), X); \
    }                                                                                          \
    static void T##_dvec_dot(int n, float *s, const void *w, const void *x)                    \
    {                                                                                          \
        *s = T##_dot1(n / QK_K, w, x);                                                         \
    }

KQ_DECODE_FNS(q4_K, block_q4_K)

/* Q6_K: q = 4 low bits (ql) | 2 high bits (qh) << 4, in 0..63, value = d * sc * (q - 32).
 * q . y comes from vpmaddubsw (q unsigned), the -32 offset from Q8_K's bsums under the same
 * int8 sub-block scales (-32 * sum_j sc_j * bsum_j, one vpmaddwd), so the block is one int32
 * vector. Group g (0..3) of each 128-value half: low bits are ql's low (g < 2) or high
 * nibbles, high bits are qh's bits 2g..2g+1, moved to bits 4..5 with one mask and at most
 * one shift (the masked bits never cross a byte, so 16-bit shifts are safe). */
INLINE float q6_K_dot1(int nb, const block_q6_K *w, const block_q8_K *y)
{
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        MCA_BEGIN("q6k");
        const uint8_t *pf = (const uint8_t *)(w + b) + KQ_PF;
        _mm_prefetch((const char *)pf, _MM_HINT_T0);
        _mm_prefetch((const char *)pf + 64, _MM_HINT_T0);
        _mm_prefetch((const char *)pf + 128, _MM_HINT_T0);
        _mm_prefetch((const char *)pf + 192, _MM_HINT_T0);
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)w[b].scales));
        const __m256i offs = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)y[b].bsums));
        __m256i sumi = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            /* scales 8h..8h+7 in both 128-bit lanes, for vpshufb */
            const __m256i sch = h ? _mm256_permute2x128_si256(sc16, sc16, 0x11)
                                  : _mm256_permute2x128_si256(sc16, sc16, 0x00);
            const __m256i hb = _mm256_loadu_si256((const __m256i *)(w[b].qh + 32 * h));
            const __m256i l0 = _mm256_loadu_si256((const __m256i *)(w[b].ql + 64 * h));
            const __m256i l1 = _mm256_loadu_si256((const __m256i *)(w[b].ql + 64 * h + 32));
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(
                       _mm256_and_si256(hb, _mm256_set1_epi8(0x03)), 4));
            q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_slli_epi16(
                       _mm256_and_si256(hb, _mm256_set1_epi8(0x0C)), 2));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                                   _mm256_and_si256(hb, _mm256_set1_epi8(0x30)));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                   _mm256_srli_epi16(_mm256_and_si256(hb, _mm256_set1_epi8((char)0xC0)), 2));
            for (int g = 0; g < 4; g++) {
                /* lane 0 takes scale 2g, lane 1 scale 2g+1 (of this half's 8) */
                const __m256i ctrl = _mm256_set_m128i(
                    _mm_set1_epi16((short)((4 * g + 2) | ((4 * g + 3) << 8))),
                    _mm_set1_epi16((short)((4 * g) | ((4 * g + 1) << 8))));
                const __m256i yv = _mm256_loadu_si256((const __m256i *)(y[b].qs + 128 * h + 32 * g));
                sumi = kq_dpwssd(sumi, _mm256_shuffle_epi8(sch, ctrl),
                                 _mm256_maddubs_epi16(q[g], yv));
            }
        }
        sumi = _mm256_sub_epi32(sumi, _mm256_slli_epi32(offs, 5));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi), _mm256_set1_ps(y[b].d * h2f(w[b].d)), acc);
        MCA_END();
    }
    return hsum8(acc);
}

KQ_DECODE_FNS(q6_K, block_q6_K)

#if KQ_AVX512
/* Called by llmri_kernels_avx512_install after its tiles are in the table. */
void llmri_kernels_kq_avx512_install(llmr_type_traits *t)
#else
void llmri_kernels_kq_avx2_install(llmr_type_traits *t)
#endif
{
    f16_tile_below = t[LLMR_TYPE_F16].tile;
    t[LLMR_TYPE_F16].gemm = f16_gemm;
    q4_K_dtile_below = t[LLMR_TYPE_Q4_K].tile;
    t[LLMR_TYPE_Q4_K].tile = q4_K_dtile;
    t[LLMR_TYPE_Q4_K].vec_dot = q4_K_dvec_dot;
    q6_K_dtile_below = t[LLMR_TYPE_Q6_K].tile;
    t[LLMR_TYPE_Q6_K].tile = q6_K_dtile;
    t[LLMR_TYPE_Q6_K].vec_dot = q6_K_dvec_dot;
#if !KQ_AVX512
    llmri_gemm_kq_avx2_install(t);
#endif
}
