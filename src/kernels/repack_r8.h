/* repack_r8.h - what the R8 products of Q4_0, IQ4_NL and Q8_0 (repack.h) share between
 * repack_avx2.c and repack_avx512.c, written once: the per-column table, the blocking over
 * columns and 8-row groups, and the switch that instantiates a micro-kernel for each column
 * count. Included after simd_x86.h and repack.h; the including file supplies the micro-kernel
 * (an r8_kern_fn). */

#include <math.h>
#include <stdlib.h>

#define R8_L2_COLS_BYTES (128u << 10)   /* activations kept in L2 per column block */

/* Per column and block: the activation scale and the float correction of the weights'
 * offset o (stored as q + o): -o * d * sum(q); 0 when the weights are used as stored. */
typedef struct r8_col {
    float d, c;
} r8_col;

INLINE __m256i r8_bcast32(const void *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

static void r8_cols(const uint8_t *X, size_t xs, int nc, int nb, float offset, r8_col *out)
{
    const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    for (int c = 0; c < nc; c++) {
        const block_q8_0 *xb = (const block_q8_0 *)(X + (size_t)c * xs);
        r8_col *o = out + (size_t)c * nb;
        for (int b = 0; b < nb; b++) {
            o[b].d = h2f(xb[b].d);
            o[b].c = 0.0f;
            if (offset != 0.0f) {
                const __m256i y = _mm256_loadu_si256((const __m256i *)xb[b].qs);
                const int s = hsum8i(_mm256_madd_epi16(_mm256_maddubs_epi16(ones8, y), ones16));
                o[b].c = -offset * o[b].d * (float)s;
            }
        }
    }
}

/* 8 rows (one group at G) x nc columns over nb blocks; Y gets 8 outputs per column; pf: the
 * first pass over the group (it prefetches). */
typedef void (*r8_kern_fn)(int nb, const uint8_t *G, const uint8_t *X, size_t xs,
                           const r8_col *cols, int cstride, float *Y, size_t ldy, int pf, int nc);

/* Column blocks whose activations stay in L2; in a block, each group meets the block's
 * columns `gnc` at a time while its rows (one unit stream) stay in L1. */
static void r8_run(r8_kern_fn kern, int gnc, float offset, int K, const void *Wv, size_t ws,
                   int nr, const void *Xv, size_t xs, int nc, float *Y, size_t ldy)
{
    const uint8_t *W = Wv, *X = Xv;
    const int nb = K / 32;
    int cb = (int)(R8_L2_COLS_BYTES / (xs ? xs : 1)) / gnc * gnc;
    if (cb < gnc)
        cb = gnc;
    if (cb > nc)
        cb = nc;
    r8_col stack[4096], *cols = stack;   /* 32 KiB: K up to 2^14 at 8 columns */
    if ((size_t)cb * nb > sizeof stack / sizeof stack[0]) {
        /* a column at a time needs nb entries; failing that, fall back to one column */
        cols = malloc(sizeof *cols * (size_t)cb * nb);
        if (!cols) {
            cb = 1;
            cols = (size_t)nb <= sizeof stack / sizeof stack[0] ? stack : NULL;
        }
    }
    if (!cols) {   /* K beyond 2^17 and no memory: nothing sensible can be computed */
        for (int j = 0; j < nc; j++)
            for (int i = 0; i < nr; i++)
                Y[(size_t)j * ldy + i] = NAN;
        return;
    }
    for (int jb = 0; jb < nc; jb += cb) {
        const int nj = nc - jb < cb ? nc - jb : cb;
        const uint8_t *Xb = X + (size_t)jb * xs;
        r8_cols(Xb, xs, nj, nb, offset, cols);
        for (int i = 0; i < nr; i += R8_ROWS)
            for (int j = 0; j < nj; j += gnc)
                kern(nb, W + (size_t)i * ws, Xb + (size_t)j * xs, xs, cols + (size_t)j * nb, nb,
                     Y + (size_t)(jb + j) * ldy + i, ldy, jb == 0 && j == 0,
                     nj - j < gnc ? nj - j : gnc);
    }
    if (cols != stack)
        free(cols);
}

/* name(K, W, ...): the llmr_gemm_fn of micro-kernel `kern(KIND, ..., NC)` with up to MAXNC
 * columns per pass and the weights' offset OFFSET; one case per column count, a constant in
 * each, so that the compiler unrolls the column loop completely. */
#define R8_CASE(kern, KIND, n, MAXNC)                                                        \
    case n: kern(KIND, nb, G, X, xs, cols, cstride, Y, ldy, pf, (n) <= (MAXNC) ? (n) : 1);   \
        break;
#define R8_DEFINE(name, kern, KIND, MAXNC, OFFSET)                                           \
    static void name##_any(int nb, const uint8_t *G, const uint8_t *X, size_t xs,            \
                           const r8_col *cols, int cstride, float *Y, size_t ldy, int pf,    \
                           int nc)                                                           \
    {                                                                                        \
        switch (nc) {                                                                        \
            R8_CASE(kern, KIND, 1, MAXNC) R8_CASE(kern, KIND, 2, MAXNC)                      \
            R8_CASE(kern, KIND, 3, MAXNC) R8_CASE(kern, KIND, 4, MAXNC)                      \
            R8_CASE(kern, KIND, 5, MAXNC) R8_CASE(kern, KIND, 6, MAXNC)                      \
            R8_CASE(kern, KIND, 7, MAXNC) R8_CASE(kern, KIND, 8, MAXNC)                      \
        }                                                                                    \
    }                                                                                        \
    static void name(int K, const void *W, size_t ws, int nr, const void *X, size_t xs,      \
                     int nc, float *Y, size_t ldy)                                           \
    {                                                                                        \
        r8_run(name##_any, MAXNC, OFFSET, K, W, ws, nr, X, xs, nc, Y, ldy);                  \
    }
