/* gemm_avx2.c - the 8-row matrix products for Q4_0 and Q8_0 weights (AVX2), used for
 * prompt processing and, with one column, for decode.
 *
 * Why a second shape beside the 4 x 4 tiles of kernels_avx2.c: a tile that keeps one row per
 * accumulator must reduce 8 lanes to one number per block (hadd chains), and that reduction
 * cost as much as the products. Here eight rows are transposed on the fly, four bytes of each
 * row per 32-bit lane, so one vpmaddubsw multiplies four values of eight rows with four
 * broadcast activation bytes, and the lanes of the result already belong to the eight rows:
 * no horizontal sum anywhere, and eight outputs leave in one store.
 *
 * Q4_0: nibbles are unsigned 0..15, so (q - 8) . x = q . x - 8 * sum(x); a pair of products
 * is at most 2 * 15 * 127 = 3810, so the eight steps of a block add up in int16 (30480 <
 * 32767) and are widened once. The -8 * sum(x) term is folded into the float step with the
 * column's scale, from a small per-column table made once per call.
 * Q8_0: both signed, so |w| . (x * sign(w)) keeps vpmaddubsw's first operand unsigned; pairs
 * reach 2 * 127 * 127, so each step is widened before it is added.
 *
 * Activations are those the model layer quantized (Q8_0, |q| <= 127). Weights are read in
 * place (no repacking: the GGUF mapping is used as is). Results equal the reference up to
 * the float accumulation order.
 *
 * gemm_avx512.c compiles this file again with GEMM_VNNI set: vpdpbusd then sums four
 * unsigned x signed byte products straight into int32 (no int16 sums, no widening), and
 * Q8_0 weights become unsigned as w + 128, the -128 * sum(x) term joining Q4_0's in the
 * per-column table. */
#include "kernels/simd_x86.h"

#ifndef GEMM_VNNI
#define GEMM_VNNI 0
#define GEMM_INSTALL llmri_gemm_avx2_install
#endif

#include <stdlib.h>

#define G_NR 8          /* rows per micro-tile */
/* Columns per micro-tile: Q4_0 takes 8 (its 8 weight vectors stay in registers, the 8
 * accumulators partly spill: llvm-mca znver3 81 cycles per block against 2 x 49 for two
 * 4-column passes), Q8_0 4 (its 16 weight vectors already fill the registers). */
#define G_NC 8
#define G_NC_Q8 (GEMM_VNNI ? 8 : 4)   /* AVX-512 has 32 vector registers */
/* Full unrolling of the column and step loops (gcc stops short of 8 x 8 by default). */
#if defined(__clang__)
#define UNROLL8 _Pragma("unroll 8")
#else
#define UNROLL8 _Pragma("GCC unroll 8")
#endif
#define G_L2_BYTES (128u << 10)   /* activations kept in L2 per column block */

/* Per column and block: the column's scale and the float correction term. */
typedef struct gemm_col {
    float d;     /* activation block scale */
    float c;     /* Q4_0: -8 * d * sum(q); Q8_0: -128 * d * sum(q) with VNNI, else unused */
} gemm_col;

INLINE __m256i bcast32(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

/* Rows r and r + 4 of an 8-row group, 16 bytes each from byte offset `off`, as one ymm. */
INLINE __m256i rows_pair(const uint8_t *W, size_t ws, int r, size_t off)
{
    return _mm256_loadu2_m128i((const __m128i *)(W + (size_t)(r + 4) * ws + off),
                               (const __m128i *)(W + (size_t)r * ws + off));
}

/* 8 rows x 16 bytes -> T[s] with lane r = bytes 4s..4s+3 of row r (a 4 x 4 dword transpose
 * in each 128-bit half: rows 0-3 below, 4-7 above). */
INLINE void transpose8x16(const uint8_t *W, size_t ws, size_t off, __m256i T[4])
{
    const __m256i y0 = rows_pair(W, ws, 0, off), y1 = rows_pair(W, ws, 1, off);
    const __m256i y2 = rows_pair(W, ws, 2, off), y3 = rows_pair(W, ws, 3, off);
    const __m256i t0 = _mm256_unpacklo_epi32(y0, y1), t1 = _mm256_unpackhi_epi32(y0, y1);
    const __m256i t2 = _mm256_unpacklo_epi32(y2, y3), t3 = _mm256_unpackhi_epi32(y2, y3);
    T[0] = _mm256_unpacklo_epi64(t0, t2);
    T[1] = _mm256_unpackhi_epi64(t0, t2);
    T[2] = _mm256_unpacklo_epi64(t1, t3);
    T[3] = _mm256_unpackhi_epi64(t1, t3);
}

/* The eight rows' f16 block scales at byte offset `off`, in row order. */
INLINE __m256 scales8(const uint8_t *W, size_t ws, size_t off)
{
    uint16_t h[8];
    for (int r = 0; r < 8; r++)
        memcpy(&h[r], W + (size_t)r * ws + off, 2);
    __m128i v;
    memcpy(&v, h, 16);
    return _mm256_cvtph_ps(v);
}

/* The first pass over an 8-row group streams it from RAM (decode, batched decode, the first
 * columns of a prompt): eight interleaved row streams defeat the hardware prefetcher, so each
 * block also prefetches the same share of the next 8-row group (which is contiguous with this
 * one) that it consumes of its own. Without this, decode ran at half the bandwidth. */
INLINE void prefetch_next_group(const uint8_t *W, size_t ws, size_t bsize, int b)
{
    const uint8_t *p = W + 8 * ws + (size_t)b * 8 * bsize;
    for (size_t o = 0; o < 8 * bsize; o += 64)
        _mm_prefetch((const char *)p + o, _MM_HINT_T0);
}

/* ---- per-column tables ------------------------------------------------------------------ */

/* Sums of the 32 activation bytes of eight consecutive blocks, as 8 int32 lanes in block
 * order (three levels of hadd, then the two 128-bit halves added). */
INLINE __m256i block_sums8(const block_q8_0 *xb)
{
    const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    __m256i v[8];
    for (int i = 0; i < 8; i++)
        v[i] = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, _mm256_loadu_si256((const __m256i *)xb[i].qs)),
                                 ones16);
    const __m256i a = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
    const __m256i b = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
    const __m128i lo = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
    const __m128i hi = _mm_add_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
    return _mm256_set_m128i(hi, lo);
}

/* The per-column table of nc columns: scales, and (with_sum: the weights' offset, 8 for
 * Q4_0) the -with_sum * d * sum terms, eight blocks at a time (this runs once per call and
 * column block, so it must stay cheap). */
static void q8_0_cols(const uint8_t *X, size_t xs, int nc, int nb, int with_sum, gemm_col *out)
{
    const float off = -(float)with_sum;
    for (int c = 0; c < nc; c++) {
        const block_q8_0 *xb = (const block_q8_0 *)(X + (size_t)c * xs);
        gemm_col *o = &out[(size_t)c * nb];
        int b = 0;
        for (; with_sum && b + 8 <= nb; b += 8) {
            uint16_t h[8];
            for (int i = 0; i < 8; i++)
                h[i] = xb[b + i].d;
            __m128i hv;
            memcpy(&hv, h, 16);
            const __m256 d = _mm256_cvtph_ps(hv);
            const __m256 cs = _mm256_mul_ps(_mm256_mul_ps(d, _mm256_set1_ps(off)),
                                            _mm256_cvtepi32_ps(block_sums8(xb + b)));
            /* interleave into {d, c} pairs */
            const __m256 lo = _mm256_unpacklo_ps(d, cs), hi = _mm256_unpackhi_ps(d, cs);
            _mm256_storeu_ps(&o[b].d, _mm256_permute2f128_ps(lo, hi, 0x20));
            _mm256_storeu_ps(&o[b + 4].d, _mm256_permute2f128_ps(lo, hi, 0x31));
        }
        for (; b < nb; b++) {
            o[b].d = h2f(xb[b].d);
            o[b].c = 0.0f;
            if (with_sum) {
                int sum = 0;
                for (int i = 0; i < 32; i++)
                    sum += xb[b].qs[i];
                o[b].c = off * o[b].d * (float)sum;
            }
        }
    }
}

/* ---- micro-kernels: 8 rows x NC columns over nb blocks ---------------------------------- */

INLINE void q4_0_8xn(int nb, const uint8_t *W, size_t ws, const uint8_t *X, size_t xs,
                     const gemm_col *cols, int cstride, float *Y, size_t ldy, int pf,
                     const int NC)
{
    const __m256i m4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    __m256 acc[G_NC];
    for (int c = 0; c < NC; c++)
        acc[c] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const size_t off = (size_t)b * sizeof(block_q4_0);
        if (pf)
            prefetch_next_group(W, ws, sizeof(block_q4_0), b);
        __m256i T[4], q[8];
        transpose8x16(W, ws, off + 2, T);
        for (int s = 0; s < 4; s++) {
            q[s] = _mm256_and_si256(T[s], m4);                          /* values 4s..4s+3 */
            q[s + 4] = _mm256_and_si256(_mm256_srli_epi16(T[s], 4), m4); /* 16+4s.. */
        }
        const __m256 dw = scales8(W, ws, off);
        UNROLL8
        for (int c = 0; c < NC; c++) {
            const int8_t *xq = ((const block_q8_0 *)(X + (size_t)c * xs) + b)->qs;
#if GEMM_VNNI
            __m256i s32 = _mm256_dpbusd_epi32(_mm256_setzero_si256(), q[0], bcast32(xq));
            UNROLL8
            for (int s = 1; s < 8; s++)
                s32 = _mm256_dpbusd_epi32(s32, q[s], bcast32(xq + 4 * s));
#else
            __m256i s16 = _mm256_maddubs_epi16(q[0], bcast32(xq));
            UNROLL8
            for (int s = 1; s < 8; s++)
                s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(q[s], bcast32(xq + 4 * s)));
            const __m256i s32 = _mm256_madd_epi16(s16, ones);
#endif
            (void)ones;
            const gemm_col *cb = &cols[(size_t)c * cstride + b];
            const __m256 t = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s32),
                                             _mm256_set1_ps(cb->d), _mm256_set1_ps(cb->c));
            acc[c] = _mm256_fmadd_ps(dw, t, acc[c]);
        }
    }
    for (int c = 0; c < NC; c++)
        _mm256_storeu_ps(Y + (size_t)c * ldy, acc[c]);
}

INLINE void q8_0_8xn(int nb, const uint8_t *W, size_t ws, const uint8_t *X, size_t xs,
                     const gemm_col *cols, int cstride, float *Y, size_t ldy, int pf,
                     const int NC)
{
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[G_NC];
    for (int c = 0; c < NC; c++)
        acc[c] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const size_t off = (size_t)b * sizeof(block_q8_0);
        if (pf)
            prefetch_next_group(W, ws, sizeof(block_q8_0), b);
        __m256i q[8], a[8];
        transpose8x16(W, ws, off + 2, q);
        transpose8x16(W, ws, off + 18, q + 4);
        for (int s = 0; s < 8; s++)
#if GEMM_VNNI
            a[s] = _mm256_xor_si256(q[s], _mm256_set1_epi8((char)0x80));   /* w + 128 */
#else
            a[s] = _mm256_sign_epi8(q[s], q[s]);
#endif
        const __m256 dw = scales8(W, ws, off);
        for (int c = 0; c < NC; c++) {
            const int8_t *xq = ((const block_q8_0 *)(X + (size_t)c * xs) + b)->qs;
            const gemm_col *cb = &cols[(size_t)c * cstride + b];
#if GEMM_VNNI
            __m256i s32 = _mm256_dpbusd_epi32(_mm256_setzero_si256(), a[0], bcast32(xq));
            for (int s = 1; s < 8; s++)
                s32 = _mm256_dpbusd_epi32(s32, a[s], bcast32(xq + 4 * s));
            const __m256 t = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s32), _mm256_set1_ps(cb->d),
                                             _mm256_set1_ps(cb->c));
#else
            __m256i s32 = _mm256_setzero_si256();
            for (int s = 0; s < 8; s++) {
                const __m256i p = _mm256_maddubs_epi16(a[s], _mm256_sign_epi8(bcast32(xq + 4 * s), q[s]));
                s32 = _mm256_add_epi32(s32, _mm256_madd_epi16(p, ones));
            }
            const __m256 t = _mm256_mul_ps(_mm256_cvtepi32_ps(s32), _mm256_set1_ps(cb->d));
#endif
            (void)ones;
            acc[c] = _mm256_fmadd_ps(dw, t, acc[c]);
        }
    }
    for (int c = 0; c < NC; c++)
        _mm256_storeu_ps(Y + (size_t)c * ldy, acc[c]);
}

/* ---- blocking ----------------------------------------------------------------------------
 * Columns in blocks whose activations stay in L2; within a block, 8-row groups, each meeting
 * the block's columns 4 at a time while its rows (8 x one row's bytes) stay in L1. Rows past
 * the last multiple of 8 go to the type's 4 x 4 tile. */
typedef void (*gemm_kern)(int nb, const uint8_t *W, size_t ws, const uint8_t *X, size_t xs,
                          const gemm_col *cols, int cstride, float *Y, size_t ldy, int pf,
                          int nc);

static void gemm_run(gemm_kern kern, int gnc, llmr_tile_fn tail, int with_sum, int K,
                     const void *Wv, size_t ws, int nr, const void *Xv, size_t xs, int nc,
                     float *Y, size_t ldy)
{
    const uint8_t *W = Wv, *X = Xv;
    const int nb = K / 32;
    int cb = (int)(G_L2_BYTES / (xs ? xs : 1)) & ~(gnc - 1);
    if (cb < gnc)
        cb = gnc;
    if (cb > nc)
        cb = nc;
    gemm_col stack[4096], *cols = stack;   /* 32 KiB: any K up to 2^14 at 8 columns */
    if ((size_t)cb * nb > sizeof stack / sizeof stack[0]) {
        cols = malloc(sizeof *cols * (size_t)cb * nb);
        if (!cols) {   /* no memory for the table: the tiles need none */
            for (int j = 0; j < nc; j += 4)
                for (int i = 0; i < nr; i += 4)
                    tail(K, W + (size_t)i * ws, ws, nr - i < 4 ? nr - i : 4,
                         X + (size_t)j * xs, xs, nc - j < 4 ? nc - j : 4,
                         Y + (size_t)j * ldy + i, ldy);
            return;
        }
    }
    const int nr8 = nr & ~(G_NR - 1);
    if (nc == 1)   /* decode: start the first group's lines too (later ones are prefetched
                      by the group before them) */
        for (size_t o = 0; o < (size_t)(nr8 ? 8 : nr) * ws; o += 64)
            _mm_prefetch((const char *)W + o, _MM_HINT_T0);
    for (int jb = 0; jb < nc; jb += cb) {
        const int nj = nc - jb < cb ? nc - jb : cb;
        const uint8_t *Xb = X + (size_t)jb * xs;
        q8_0_cols(Xb, xs, nj, nb, with_sum, cols);
        for (int i = 0; i < nr8; i += G_NR)
            for (int j = 0; j < nj; j += gnc)
                kern(nb, W + (size_t)i * ws, ws, Xb + (size_t)j * xs, xs, cols + (size_t)j * nb,
                     nb, Y + (size_t)(jb + j) * ldy + i, ldy, jb == 0 && j == 0,
                     nj - j < gnc ? nj - j : gnc);
        for (int i = nr8; i < nr; i += 4)
            for (int j = 0; j < nj; j += 4)
                tail(K, W + (size_t)i * ws, ws, nr - i < 4 ? nr - i : 4, Xb + (size_t)j * xs,
                     xs, nj - j < 4 ? nj - j : 4, Y + (size_t)(jb + j) * ldy + i, ldy);
    }
    if (cols != stack)
        free(cols);
}

/* A switch that instantiates the micro-kernel for each column count up to MAXNC (constants,
 * so that the compiler unrolls the column loop completely). */
#define GEMM_CASE(k, n, MAXNC)                                                              \
    case n: k(nb, W, ws, X, xs, cols, cstride, Y, ldy, pf, (n) <= (MAXNC) ? (n) : 1); break;
#define DEFINE_GEMM(name, kern8, MAXNC)                                                     \
    static void name##_any(int nb, const uint8_t *W, size_t ws, const uint8_t *X, size_t xs, \
                           const gemm_col *cols, int cstride, float *Y, size_t ldy, int pf, \
                           int nc)                                                         \
    {                                                                                      \
        switch (nc) {                                                                      \
            GEMM_CASE(kern8, 1, MAXNC) GEMM_CASE(kern8, 2, MAXNC) GEMM_CASE(kern8, 3, MAXNC) \
            GEMM_CASE(kern8, 4, MAXNC) GEMM_CASE(kern8, 5, MAXNC) GEMM_CASE(kern8, 6, MAXNC) \
            GEMM_CASE(kern8, 7, MAXNC) GEMM_CASE(kern8, 8, MAXNC)                        \
        }                                                                                  \
    }

DEFINE_GEMM(q4_0_gemm8, q4_0_8xn, G_NC)
DEFINE_GEMM(q8_0_gemm8, q8_0_8xn, G_NC_Q8)

static llmr_tile_fn q4_0_tail, q8_0_tail;

static void q4_0_gemm(int K, const void *W, size_t ws, int nr, const void *X, size_t xs,
                      int nc, float *Y, size_t ldy)
{
    gemm_run(q4_0_gemm8_any, G_NC, q4_0_tail, 8, K, W, ws, nr, X, xs, nc, Y, ldy);
}

static void q8_0_gemm(int K, const void *W, size_t ws, int nr, const void *X, size_t xs,
                      int nc, float *Y, size_t ldy)
{
    gemm_run(q8_0_gemm8_any, G_NC_Q8, q8_0_tail, GEMM_VNNI ? 128 : 0, K, W, ws, nr, X, xs, nc,
             Y, ldy);
}

/* Called by llmri_kernels_avx2_install (or, as GEMM_INSTALL, llmri_kernels_avx512_install)
 * after the tiles are in the table. */
void GEMM_INSTALL(llmr_type_traits *t)
{
    q4_0_tail = t[LLMR_TYPE_Q4_0].tile;
    q8_0_tail = t[LLMR_TYPE_Q8_0].tile;
    t[LLMR_TYPE_Q4_0].gemm = q4_0_gemm;
    t[LLMR_TYPE_Q8_0].gemm = q8_0_gemm;
}
