/* gemm_kq.h - the K-quant (Q4_K, Q5_K, Q6_K) matrix product for many columns, shared by
 * gemm_kq_avx2.c and gemm_kq_avx512.c, which include it after defining KQ_VNNI (0 or 1) and
 * KQ_SUFFIX (the suffix of the install function).
 *
 * Why: the tiles of kernels_avx2.c unpack each super-block of each row again for every
 * column, reduce 8 lanes to one number per row, and scale each 32-value product by its
 * sub-block scale with one vpmaddwd per 32 values and column. Here, before the columns are
 * met, eight rows at a time are converted (once per column block) into an 8-row interleaved
 * form with one byte per value:
 *   - q[s] (s = 0..63): lane r (32 bits) = values 4s..4s+3 of row r, unsigned (Q4_K 0..15,
 *     Q5_K 0..31, Q6_K 0..63);
 *   - sc[g] (g = 0..15, 16 values each): lane r = row r's scale of those 16 values;
 *   - mn[p] (p = 0..7): lane r = row r's "minimum" multipliers of 16-value groups 2p, 2p+1
 *     as two int16, applied to Q8_K's bsums: Q4_K/Q5_K their 6-bit mins (under dmin), Q6_K
 *     its int8 scales again (under 32 * d: value = d * sc * (q - 32));
 *   - d[r], dm[r]: the float multipliers of the two sums.
 * A row's dot with a Q8_K column is then, per super-block,
 *   dy * (d * sum_g sc_g * (q . y)_g  -  dm * sum_g mn_g * bsum_g),
 * and one vpmaddubsw multiplies 4 values of all 8 rows with 4 broadcast activation bytes:
 * the lanes of every sum already belong to the 8 rows, so nothing is reduced horizontally and
 * 8 outputs leave in one store. Integer sums are exact; the int16 partial sums are bounded
 * by grouping: SG steps (of 4 values) are summed in int16 before one vpmaddwd applies the
 * scale, and a lane gathers SG * 2 * qmax * 127 at most, under 32768 for SG <= 8 (Q4_K),
 * 4 (Q5_K), 2 (Q6_K). With VNNI (KQ_VNNI), vpdpbusd sums 4 products straight into int32,
 * SG steps share one scale multiply (vpmulld), and no int16 bound applies.
 * Only the float accumulation order differs from the reference. */
#include "kernels/simd_x86.h"
#include "kernels/repack.h"

#define RKQ_VNNI KQ_VNNI
#include "kernels/repack_kq.h"

/* KQ_KB: super-blocks converted at a time (23 KiB of stack) */
enum { KQ_R = 8, KQ_NC = 8, KQ_MIN_COLS = 8, KQ_KB = 8 };
#ifndef KQ_L2_BYTES
#define KQ_L2_BYTES (192u << 10)   /* activations kept in L2 per column block */
#endif

typedef struct kq8_block {
    float d[KQ_R], dm[KQ_R];
    int32_t sc[16][KQ_R];   /* AVX2: the scale in both int16 halves; VNNI: as int32 */
    int32_t mn[8][KQ_R];    /* two int16 per lane: groups 2p (low), 2p + 1 (high) */
    uint8_t q[64][32];
} kq8_block;

/* 8 x 8 dword transpose: v[i] lane j <- v[j] lane i. */
INLINE void kq_transpose8(__m256i v[8])
{
    __m256 r[8];
    for (int i = 0; i < 8; i++)
        r[i] = _mm256_castsi256_ps(v[i]);
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    v[0] = _mm256_castps_si256(_mm256_permute2f128_ps(u0, u4, 0x20));
    v[1] = _mm256_castps_si256(_mm256_permute2f128_ps(u1, u5, 0x20));
    v[2] = _mm256_castps_si256(_mm256_permute2f128_ps(u2, u6, 0x20));
    v[3] = _mm256_castps_si256(_mm256_permute2f128_ps(u3, u7, 0x20));
    v[4] = _mm256_castps_si256(_mm256_permute2f128_ps(u0, u4, 0x31));
    v[5] = _mm256_castps_si256(_mm256_permute2f128_ps(u1, u5, 0x31));
    v[6] = _mm256_castps_si256(_mm256_permute2f128_ps(u2, u6, 0x31));
    v[7] = _mm256_castps_si256(_mm256_permute2f128_ps(u3, u7, 0x31));
}

/* The same 32 bytes at byte offset `off` of each of 8 rows (`ws` apart), transposed: T[t]
 * lane r = bytes off + 4t .. off + 4t + 3 of row r. */
INLINE void kq_load_t(const uint8_t *blk, size_t ws, size_t off, __m256i T[8])
{
    for (int r = 0; r < 8; r++)
        T[r] = _mm256_loadu_si256((const __m256i *)(blk + (size_t)r * ws + off));
    kq_transpose8(T);
}

INLINE int32_t kq_sc(int v)
{
#if KQ_VNNI
    return v;
#else
    return (int32_t)(((uint32_t)(uint16_t)(int16_t)v) * 0x10001u);
#endif
}

INLINE int32_t kq_pair(int lo, int hi)
{
    return (int32_t)((uint32_t)(uint16_t)(int16_t)lo | (uint32_t)(uint16_t)(int16_t)hi << 16);
}

/* Q4_K (HI5 = 0) and Q5_K (HI5 = 1): super-block b of 8 rows starting at W. */
INLINE void kq_conv_q45(const uint8_t *W, size_t ws, int b, kq8_block *o, const int HI5)
{
    const size_t BS = HI5 ? sizeof(block_q5_K) : sizeof(block_q4_K), QS = HI5 ? 48 : 16;
    const uint8_t *blk = W + (size_t)b * BS;
    for (int r = 0; r < 8; r++) {
        const uint8_t *p = blk + (size_t)r * ws;
        uint16_t h[2];
        memcpy(h, p, 4);
        o->d[r] = h2f(h[0]);
        o->dm[r] = h2f(h[1]);
        uint64_t sc, mn;
        k4_scales(p + 4, &sc, &mn);
        for (int j = 0; j < 8; j++) {
            const int s = (int)(sc >> 8 * j & 0x3f), m = (int)(mn >> 8 * j & 0x3f);
            o->sc[2 * j][r] = o->sc[2 * j + 1][r] = kq_sc(s);
            o->mn[j][r] = kq_pair(m, m);
        }
    }
    const __m256i m4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
    __m256i H[8];
    if (HI5)
        kq_load_t(blk, ws, 16, H);
    for (int j = 0; j < 4; j++) {       /* 64 values: low nibbles 64j.., high 64j + 32.. */
        __m256i T[8];
        kq_load_t(blk, ws, QS + 32 * (size_t)j, T);
        for (int t = 0; t < 8; t++) {
            __m256i lo = _mm256_and_si256(T[t], m4);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(T[t], 4), m4);
            if (HI5) {   /* fifth bits: bit 2j (low half) and 2j + 1 (high half) of qh */
                lo = _mm256_or_si256(lo, _mm256_slli_epi16(
                         _mm256_and_si256(_mm256_srli_epi16(H[t], 2 * j), one), 4));
                hi = _mm256_or_si256(hi, _mm256_slli_epi16(
                         _mm256_and_si256(_mm256_srli_epi16(H[t], 2 * j + 1), one), 4));
            }
            _mm256_store_si256((__m256i *)o->q[16 * j + t], lo);
            _mm256_store_si256((__m256i *)o->q[16 * j + 8 + t], hi);
        }
    }
}

/* Q6_K: value 128h + 32k + l (k = 0..3, l < 32) = low nibble (k even) or high nibble (k odd)
 * of ql[64h + 32(k & 1) + l] ... (ggml's layout: ql byte l holds values l and l + 64),
 * with bits 2k, 2k + 1 of qh[32h + l] on top; scale sc[value / 16]. */
INLINE void kq_conv_q6(const uint8_t *W, size_t ws, int b, kq8_block *o)
{
    const uint8_t *blk = W + (size_t)b * sizeof(block_q6_K);
    for (int r = 0; r < 8; r++) {
        const block_q6_K *p = (const block_q6_K *)(blk + (size_t)r * ws);
        const float d = h2f(p->d);
        o->d[r] = d;
        o->dm[r] = 32.0f * d;
        for (int g = 0; g < 16; g++)
            o->sc[g][r] = kq_sc(p->scales[g]);
        for (int q = 0; q < 8; q++)
            o->mn[q][r] = kq_pair(p->scales[2 * q], p->scales[2 * q + 1]);
    }
    const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(3);
    for (int h = 0; h < 2; h++) {
        __m256i A[8], B[8], H[8];
        kq_load_t(blk, ws, 64 * (size_t)h, A);
        kq_load_t(blk, ws, 64 * (size_t)h + 32, B);
        kq_load_t(blk, ws, 128 + 32 * (size_t)h, H);
        for (int t = 0; t < 8; t++) {
            const __m256i v0 = _mm256_or_si256(_mm256_and_si256(A[t], m4),
                _mm256_slli_epi16(_mm256_and_si256(H[t], m2), 4));
            const __m256i v1 = _mm256_or_si256(_mm256_and_si256(B[t], m4),
                _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(H[t], 2), m2), 4));
            const __m256i v2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(A[t], 4), m4),
                _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(H[t], 4), m2), 4));
            const __m256i v3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(B[t], 4), m4),
                _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(H[t], 6), m2), 4));
            _mm256_store_si256((__m256i *)o->q[32 * h + t], v0);
            _mm256_store_si256((__m256i *)o->q[32 * h + 8 + t], v1);
            _mm256_store_si256((__m256i *)o->q[32 * h + 16 + t], v2);
            _mm256_store_si256((__m256i *)o->q[32 * h + 24 + t], v3);
        }
    }
}

INLINE __m256i kq_bcast32(const void *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

/* 8 rows x NC columns over nb converted super-blocks: Y[c*ldy + r] = row r . column c (add:
 * plus what Y holds, the sum over the earlier super-blocks).
 * SG: 4-value steps summed before one scale multiply (one scale per SG steps: SG <= 4 for
 * Q6_K's 16-value scales; Q4_K's 32-value scales allow 8). */
INLINE void kq_micro(int nb, const kq8_block *T, const uint8_t *X, size_t xs, float *Y,
                     size_t ldy, int add, const int NC, const int SG)
{
    __m256 acc[KQ_NC];
    for (int c = 0; c < NC; c++)
        acc[c] = add ? _mm256_loadu_ps(Y + (size_t)c * ldy) : _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const kq8_block *t = T + b;
        __m256i sumi[KQ_NC];
        for (int c = 0; c < NC; c++)
            sumi[c] = _mm256_setzero_si256();
        for (int s0 = 0; s0 < 64; s0 += SG) {
            __m256i q[8];
            for (int s = 0; s < SG; s++)
                q[s] = _mm256_load_si256((const __m256i *)t->q[s0 + s]);
            const __m256i sc = _mm256_load_si256((const __m256i *)t->sc[s0 / 4]);
            for (int c = 0; c < NC; c++) {
                const int8_t *y = ((const block_q8_K *)(X + (size_t)c * xs) + b)->qs + 4 * s0;
#if KQ_VNNI
                __m256i p = _mm256_dpbusd_epi32(_mm256_setzero_si256(), q[0], kq_bcast32(y));
                for (int s = 1; s < SG; s++)
                    p = _mm256_dpbusd_epi32(p, q[s], kq_bcast32(y + 4 * s));
                sumi[c] = _mm256_add_epi32(sumi[c], _mm256_mullo_epi32(p, sc));
#else
                __m256i p = _mm256_maddubs_epi16(q[0], kq_bcast32(y));
                for (int s = 1; s < SG; s++)
                    p = _mm256_add_epi16(p, _mm256_maddubs_epi16(q[s], kq_bcast32(y + 4 * s)));
                sumi[c] = _mm256_add_epi32(sumi[c], _mm256_madd_epi16(p, sc));
#endif
            }
        }
        const __m256 d = _mm256_load_ps(t->d), dm = _mm256_load_ps(t->dm);
        for (int c = 0; c < NC; c++) {
            const block_q8_K *xb = (const block_q8_K *)(X + (size_t)c * xs) + b;
            __m256i sm = _mm256_madd_epi16(_mm256_load_si256((const __m256i *)t->mn[0]),
                                           kq_bcast32(&xb->bsums[0]));
            for (int p = 1; p < 8; p++)
                sm = _mm256_add_epi32(sm, _mm256_madd_epi16(
                         _mm256_load_si256((const __m256i *)t->mn[p]), kq_bcast32(&xb->bsums[2 * p])));
            const __m256 dy = _mm256_set1_ps(xb->d);
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[c]), _mm256_mul_ps(d, dy), acc[c]);
            acc[c] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(sm), _mm256_mul_ps(dm, dy), acc[c]);
        }
    }
    for (int c = 0; c < NC; c++)
        _mm256_storeu_ps(Y + (size_t)c * ldy, acc[c]);
}

typedef void (*kq_conv_fn)(const uint8_t *W, size_t ws, int b, kq8_block *o);
typedef void (*kq_micro_fn)(int nb, const kq8_block *T, const uint8_t *X, size_t xs, float *Y,
                            size_t ldy, int add, int nc);

/* Rows in 8-row groups (the rest, and products of few columns, go to `below`: the tiles or
 * decode kernels the install found in the table), columns in blocks whose activations stay
 * in L2; each group is converted once per column block, KQ_KB super-blocks at a time into a
 * buffer on the stack (no allocation per call), and each converted piece meets the block's
 * columns NC at a time while it (2.8 KiB per super-block) stays in L1/L2; the pieces' partial
 * sums add up in Y. */
static void kq_gemm_run(kq_conv_fn conv, kq_micro_fn micro, int gnc, llmr_tile_fn below, int K,
                        const void *Wv, size_t ws, int nr, const void *Xv, size_t xs, int nc,
                        float *Y, size_t ldy)
{
    const uint8_t *W = Wv, *X = Xv;
    const int nb = K / QK_K, nr8 = nc >= KQ_MIN_COLS && nb > 0 ? nr & ~(KQ_R - 1) : 0;
    _Alignas(64) kq8_block T[KQ_KB];
    int cb = (int)(KQ_L2_BYTES / (xs ? xs : 1)) / gnc * gnc;
    if (cb < gnc)
        cb = gnc;
    for (int jb = 0; jb < nc; jb += cb) {
        const int nj = nc - jb < cb ? nc - jb : cb;
        const uint8_t *Xb = X + (size_t)jb * xs;
        for (int i = 0; i < nr8; i += KQ_R)
            for (int b0 = 0; b0 < nb; b0 += KQ_KB) {
                const int n = nb - b0 < KQ_KB ? nb - b0 : KQ_KB;
                for (int b = 0; b < n; b++)
                    conv(W + (size_t)i * ws, ws, b0 + b, &T[b]);
                for (int j = 0; j < nj; j += gnc)
                    micro(n, T, Xb + (size_t)j * xs + (size_t)b0 * sizeof(block_q8_K), xs,
                          Y + (size_t)(jb + j) * ldy + i, ldy, b0 > 0,
                          nj - j < gnc ? nj - j : gnc);
            }
        /* the rows past the last group; every row when the columns are few */
        for (int i = nr8; i < nr; i += LLMR_TILE_MAX_R)
            for (int j = 0; j < nj; j += LLMR_TILE_MAX_C)
                below(K, W + (size_t)i * ws, ws, nr - i < LLMR_TILE_MAX_R ? nr - i : LLMR_TILE_MAX_R,
                      Xb + (size_t)j * xs, xs, nj - j < LLMR_TILE_MAX_C ? nj - j : LLMR_TILE_MAX_C,
                      Y + (size_t)(jb + j) * ldy + i, ldy);
    }
}

#define KQ_CASE(n, NC, SG)                                                                  \
    case n: kq_micro(nb, Tb, X, xs, Y, ldy, add, (n) < (NC) ? (n) : (NC), SG); break;
#define KQ_DEFINE(T, conv_body, SG, NC)                                                     \
    static void T##_conv(const uint8_t *W, size_t ws, int b, kq8_block *o) { conv_body; }  \
    static void T##_micro(int nb, const kq8_block *Tb, const uint8_t *X, size_t xs, float *Y, \
                          size_t ldy, int add, int nc)                                     \
    {                                                                                      \
        switch (nc) {                                                                      \
            KQ_CASE(1, NC, SG) KQ_CASE(2, NC, SG) KQ_CASE(3, NC, SG) KQ_CASE(4, NC, SG)    \
            KQ_CASE(5, NC, SG) KQ_CASE(6, NC, SG) KQ_CASE(7, NC, SG) KQ_CASE(8, NC, SG)    \
        }                                                                                  \
    }                                                                                      \
    static llmr_tile_fn T##_below;                                                         \
    static void T##_gemm(int K, const void *W, size_t ws, int nr, const void *X, size_t xs, \
                         int nc, float *Y, size_t ldy)                                     \
    {                                                                                      \
        kq_gemm_run(T##_conv, T##_micro, NC, T##_below, K, W, ws, nr, X, xs, nc, Y, ldy);  \
    }

#if KQ_VNNI
#define KQ_SG(avx2, vnni) vnni
#else
#define KQ_SG(avx2, vnni) avx2
#endif
/* Steps per scale multiply and columns per micro-tile, AVX2 / VNNI. AVX2 has 16 ymm
 * registers: SG weight vectors + NC int32 sums must fit (Q4_K at SG 8 spilled: 73 GMAC/s on
 * one Zen 3 core, 83 at SG 4; Q6_K 45-70 at NC 4, 76 at NC 8). AVX-512 has 32. */
KQ_DEFINE(q4_K, kq_conv_q45(W, ws, b, o, 0), KQ_SG(4, 8), KQ_SG(4, 8))
KQ_DEFINE(q5_K, kq_conv_q45(W, ws, b, o, 1), KQ_SG(4, 8), KQ_SG(4, 8))
KQ_DEFINE(q6_K, kq_conv_q6(W, ws, b, o), KQ_SG(2, 4), KQ_SG(8, 8))

/* Installs the products over the table's K-quant tiles (which stay for the rows and column
 * counts these leave to them). */
#define KQ_INSTALL_BODY(t)                                                                 \
    do {                                                                                   \
        q4_K_below = (t)[LLMR_TYPE_Q4_K].tile;                                             \
        q5_K_below = (t)[LLMR_TYPE_Q5_K].tile;                                             \
        q6_K_below = (t)[LLMR_TYPE_Q6_K].tile;                                             \
        (t)[LLMR_TYPE_Q4_K].gemm = q4_K_gemm;                                              \
        (t)[LLMR_TYPE_Q5_K].gemm = q5_K_gemm;                                              \
        (t)[LLMR_TYPE_Q6_K].gemm = q6_K_gemm;                                              \
    } while (0)

/* ---- the R8 layouts (repack.h): the same micro-kernel, on blocks converted from the stored
 * units, where the slices already have the lanes the micro-kernel wants: the conversion is
 * the nibble split (and Q5_K / Q6_K's high bits) and the scale spreading, no transpose. Few
 * columns (decode, small batches) go to repack_kq.h's kernels, which need no buffer. */
INLINE void kq_r8_scales(const uint8_t *u, int is_k6, kq8_block *o)
{
    rkq_ctrls cc;
    rkq_ctrls_init(&cc, is_k6);
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)u));
    _mm256_store_ps(o->d, d);
    if (is_k6) {
        _mm256_store_ps(o->dm, _mm256_mul_ps(d, _mm256_set1_ps(32.0f)));
        for (int g = 0; g < 16; g++) {
            const __m256i s = _mm256_loadu_si256((const __m256i *)(u + RKQ_Q6_SC + 32 * (g >> 2)));
            _mm256_store_si256((__m256i *)o->sc[g], rkq_scale(&cc, s, g & 3, 1));
            if (g % 2 == 0)
                _mm256_store_si256((__m256i *)o->mn[g / 2], _mm256_srai_epi16(
                    _mm256_shuffle_epi8(s, cc.spair2[(g / 2) & 1]), 8));
        }
        return;
    }
    _mm256_store_ps(o->dm, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(u + RKQ_DM))));
    __m256i sc[2], mn[2];
    rkq_k4_scales(u, sc, mn);
    for (int g = 0; g < 8; g++) {
        const __m256i v = rkq_scale(&cc, sc[g >> 2], g & 3, 0);
        _mm256_store_si256((__m256i *)o->sc[2 * g], v);
        _mm256_store_si256((__m256i *)o->sc[2 * g + 1], v);
        _mm256_store_si256((__m256i *)o->mn[g], _mm256_shuffle_epi8(mn[g >> 2], cc.pair[g & 3]));
    }
}

/* Unit b of the group at G (the stride is unused: kq_conv_fn's shape). Q4_K / Q5_K: values
 * 64j + 4t.. are the low nibbles of qs slice 8j + t, 64j + 32 + 4t.. its high ones. */
INLINE void kq_r8_conv_q45(const uint8_t *G, int b, kq8_block *o, const int HI5)
{
    const uint8_t *u = G + (size_t)b * (HI5 ? 8 * sizeof(block_q5_K) : 8 * sizeof(block_q4_K));
    kq_r8_scales(u, 0, o);
    for (int j = 0; j < 4; j++)
        for (int h = 0; h < 2; h++) {
            __m256i q[8];
            rkq_values(HI5 ? RKQ_K5 : RKQ_K4, u, 2 * j + h, 0, 8, q);
            for (int t = 0; t < 8; t++)
                _mm256_store_si256((__m256i *)o->q[16 * j + 8 * h + t], q[t]);
        }
}

INLINE void kq_r8_conv_q6(const uint8_t *G, int b, kq8_block *o)
{
    const uint8_t *u = G + (size_t)b * 8 * sizeof(block_q6_K);
    kq_r8_scales(u, 1, o);
    for (int g = 0; g < 16; g++) {   /* 16 values each: q[4g..4g+3] */
        __m256i q[4];
        rkq_values(RKQ_K6, u, g, 0, 4, q);
        for (int t = 0; t < 4; t++)
            _mm256_store_si256((__m256i *)o->q[4 * g + t], q[t]);
    }
}

#define KQ_R8_DEFINE(T, conv_body, NC)                                                     \
    static void T##_r8_conv(const uint8_t *W, size_t ws, int b, kq8_block *o)              \
    {                                                                                      \
        (void)ws;                                                                          \
        conv_body;                                                                         \
    }                                                                                      \
    static void T##_r8_gemm(int K, const void *W, size_t ws, int nr, const void *X,        \
                            size_t xs, int nc, float *Y, size_t ldy)                       \
    {                                                                                      \
        if (nc < KQ_MIN_COLS || K < QK_K)                                                  \
            rkq_##T##_direct(K, W, ws, nr, X, xs, nc, Y, ldy);                             \
        else   /* nr is a multiple of 8: no rows are left to `below` */                     \
            kq_gemm_run(T##_r8_conv, T##_micro, NC, NULL, K, W, ws, nr, X, xs, nc, Y, ldy); \
    }
KQ_R8_DEFINE(q4_K, kq_r8_conv_q45(W, b, o, 0), KQ_SG(4, 8))
KQ_R8_DEFINE(q5_K, kq_r8_conv_q45(W, b, o, 1), KQ_SG(4, 8))
KQ_R8_DEFINE(q6_K, kq_r8_conv_q6(W, b, o), KQ_SG(8, 8))

#define KQ_R8_INSTALL_BODY(t)                                                              \
    do {                                                                                   \
        (t)[LLMR_TYPE_Q4_K].gemm = q4_K_r8_gemm;                                           \
        (t)[LLMR_TYPE_Q5_K].gemm = q5_K_r8_gemm;                                           \
        (t)[LLMR_TYPE_Q6_K].gemm = q6_K_r8_gemm;                                           \
    } while (0)
