/* simd_x86.h - helpers shared by the x86 SIMD kernel files (kernels_avx2.c and
 * kernels_avx512.c). Include only from files built with at least -mavx2 -mfma -mf16c: every
 * function here is static inline and compiled with the including file's ISA flags. */
#ifndef LLMR_KERNELS_SIMD_X86_H
#define LLMR_KERNELS_SIMD_X86_H

#include "kernels/simd.h"

#include <immintrin.h>
#include <string.h>

#define INLINE static inline __attribute__((always_inline))

INLINE float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

INLINE int hsum8i(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

INLINE float h2f(uint16_t h) { return _cvtsh_ss(h); }
INLINE uint16_t f2h(float f) { return (uint16_t)_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT); }

/* 8 f16 values at p as f32. */
INLINE __m256 ld_f16(const uint8_t *p)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

/* dst[i] = the f16 value at p + 2i as f32, i < n. */
INLINE void f16_row_to_f32(const uint8_t *p, float *dst, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, ld_f16(p + 2 * i));
    for (; i < n; i++) {
        uint16_t v;
        memcpy(&v, p + 2 * i, 2);
        dst[i] = h2f(v);
    }
}

/* 32 nibbles of 16 bytes, low nibbles first (values 0-15), then high (16-31): the Q4_0 /
 * Q4_1 / IQ4_NL order. One broadcast load, one variable shift of the upper lane, one and. */
INLINE __m256i nibbles32(const uint8_t *p)
{
    __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)p));
    v = _mm256_srlv_epi32(v, _mm256_set_epi32(4, 4, 4, 4, 0, 0, 0, 0));
    return _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
}

/* ---- tile dispatch ----------------------------------------------------------------------
 * `kern` is instantiated for every (rows, columns) up to 4 x 4 so that the compiler unrolls
 * the row and column loops completely; `kern4` is the 4-row version for NC columns. */
#define TILE_ARGS int K, const uint8_t *W, size_t ws, const uint8_t *X, size_t xs, float *Y, \
                  size_t ldy
#define TILE_PASS K, W, ws, X, xs, Y, ldy
#define DEFINE_TILE(name, kern, kern4)                                                      \
    static void name(int K, const void *Wv, size_t ws, int nr, const void *Xv, size_t xs,  \
                     int nc, float *Y, size_t ldy)                                         \
    {                                                                                      \
        const uint8_t *W = Wv, *X = Xv;                                                    \
        switch (nr * 8 + nc) {                                                             \
        case 011: kern(TILE_PASS, 1, 1); break; case 012: kern(TILE_PASS, 1, 2); break;    \
        case 013: kern(TILE_PASS, 1, 3); break; case 014: kern(TILE_PASS, 1, 4); break;    \
        case 021: kern(TILE_PASS, 2, 1); break; case 022: kern(TILE_PASS, 2, 2); break;    \
        case 023: kern(TILE_PASS, 2, 3); break; case 024: kern(TILE_PASS, 2, 4); break;    \
        case 031: kern(TILE_PASS, 3, 1); break; case 032: kern(TILE_PASS, 3, 2); break;    \
        case 033: kern(TILE_PASS, 3, 3); break; case 034: kern(TILE_PASS, 3, 4); break;    \
        case 041: kern4(TILE_PASS, 1); break;   case 042: kern4(TILE_PASS, 2); break;      \
        case 043: kern4(TILE_PASS, 3); break;   case 044: kern4(TILE_PASS, 4); break;      \
        }                                                                                  \
    }                                                                                      \
    __attribute__((unused)) static void name##_vec_dot(int n, float *s, const void *w,     \
                                                       const void *x)                     \
    {                                                                                      \
        name(n, w, 0, 1, x, 0, 1, s, 1);                                                   \
    }

/* One row at a time against NC columns: for the K-quants, whose unpacking needs many
 * registers, this beats multi-row tiles (llvm-mca, znver3: Q4_K decode 17.9 cycles per row
 * super-block alone against 23.5 in a 4-row tile, Q6_K 23 against 30). */
#define DEFINE_TILE_ROWWISE(name, kern)                                                     \
    static void name(int K, const void *Wv, size_t ws, int nr, const void *Xv, size_t xs,  \
                     int nc, float *Y, size_t ldy)                                         \
    {                                                                                      \
        const uint8_t *X = Xv;                                                             \
        for (int r = 0; r < nr; r++) {                                                     \
            const uint8_t *W = (const uint8_t *)Wv + (size_t)r * ws;                       \
            float *Yr = Y + r;                                                             \
            switch (nc) {                                                                  \
            case 1: kern(K, W, ws, X, xs, Yr, ldy, 1, 1); break;                           \
            case 2: kern(K, W, ws, X, xs, Yr, ldy, 1, 2); break;                           \
            case 3: kern(K, W, ws, X, xs, Yr, ldy, 1, 3); break;                           \
            case 4: kern(K, W, ws, X, xs, Yr, ldy, 1, 4); break;                           \
            }                                                                              \
        }                                                                                  \
    }                                                                                      \
    __attribute__((unused)) static void name##_vec_dot(int n, float *s, const void *w,     \
                                                       const void *x)                     \
    {                                                                                      \
        name(n, w, 0, 1, x, 0, 1, s, 1);                                                   \
    }

#define ROWB(T, r, b) ((const T *)(W + (size_t)(r) * ws) + (b))
#define COLB(T, c, b) ((const T *)(X + (size_t)(c) * xs) + (b))
#define PREFETCH_AHEAD 512   /* bytes ahead of a single weight row stream */
/* A 4-row tile of contiguous rows prefetches the next tile (the 4 rows after it) at the
 * pace it consumes its own: `done` bytes into its rows, the same bytes into the next. */
#define PREFETCH_NEXT_TILE(done, bytes)                                                    \
    for (int pf_ = 0; pf_ < (bytes); pf_ += 64)                                            \
        _mm_prefetch((const char *)W + 4 * ws + 4 * (size_t)(done) + pf_, _MM_HINT_T0);

/* Stores the NR x NC accumulators. */
#define STORE_ACC()                                                                        \
    for (int c = 0; c < NC; c++)                                                           \
        for (int r = 0; r < NR; r++)                                                       \
            Y[(size_t)c * ldy + r] = hsum8(acc[r][c]);

/* Four rows' f16 scales at byte offset `off` of each row, as [s0 s1 s2 s3 | s0 s1 s2 s3]:
 * assembled in a general register, one conversion for all four. */
INLINE __m256 scales4(const uint8_t *W, size_t ws, size_t off)
{
    uint16_t h0, h1, h2, h3;
    memcpy(&h0, W + off, 2);
    memcpy(&h1, W + ws + off, 2);
    memcpy(&h2, W + 2 * ws + off, 2);
    memcpy(&h3, W + 3 * ws + off, 2);
    uint64_t u = (uint64_t)h0 | (uint64_t)h1 << 16 | (uint64_t)h2 << 32 | (uint64_t)h3 << 48;
    __m128 s = _mm_cvtph_ps(_mm_cvtsi64_si128((long long)u));
    return _mm256_set_m128(s, s);
}

/* Sum-preserving merge of four rows' int32 vectors into one: lane r and r+4 hold parts of
 * row r's sum, so one conversion and one FMA serve four rows. */
INLINE __m256i merge4_epi32(__m256i p0, __m256i p1, __m256i p2, __m256i p3)
{
    return _mm256_hadd_epi32(_mm256_hadd_epi32(p0, p1), _mm256_hadd_epi32(p2, p3));
}

/* Stores 4 rows x NC columns from per-column merged accumulators. */
INLINE void store4(const __m256 *acc, int NC, float *Y, size_t ldy)
{
    for (int c = 0; c < NC; c++)
        _mm_storeu_ps(Y + (size_t)c * ldy, _mm_add_ps(_mm256_castps256_ps128(acc[c]),
                                                      _mm256_extractf128_ps(acc[c], 1)));
}

/* The 16 outputs of one column of a 16-row micro-kernel (two accumulators) into y, added to
 * what y holds when `add` is set (a K split into several passes). */
INLINE void store16(float *y, __m256 a0, __m256 a1, int add)
{
    if (add) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(y));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(y + 8));
    }
    _mm256_storeu_ps(y, a0);
    _mm256_storeu_ps(y + 8, a1);
}

/* Q4_K/Q5_K's 12 scale bytes -> 8 six-bit scales and 8 mins, one per byte (layout in
 * quants.h: bytes 0-3 low 6 bits of scales 0-3, 4-7 of mins 0-3; bytes 8-11 the low nibbles
 * of scales/mins 4-7 and the top 2 bits of bytes 0-7 their high bits). */
INLINE void k4_scales(const uint8_t *p, uint64_t *sc, uint64_t *mn)
{
    uint32_t a, b, c;
    memcpy(&a, p, 4);
    memcpy(&b, p + 4, 4);
    memcpy(&c, p + 8, 4);
    *sc = (uint64_t)(a & 0x3f3f3f3fu) |
          (uint64_t)((c & 0x0f0f0f0fu) | (((a >> 6) & 0x03030303u) << 4)) << 32;
    *mn = (uint64_t)(b & 0x3f3f3f3fu) |
          (uint64_t)(((c >> 4) & 0x0f0f0f0fu) | (((b >> 6) & 0x03030303u) << 4)) << 32;
}

/* vpshufb controls broadcasting int16 element k of a 128-bit lane to all 8 of its slots. */
INLINE __m256i bcast16_ctrl(int k)
{
    return _mm256_set1_epi16((short)((2 * k) | ((2 * k + 1) << 8)));
}

/* Q8_K bsums (16 sums of 16) -> 8 sums of 32, as int16. */
INLINE __m128i bsums32(const block_q8_K *xb)
{
    const __m256i bs = _mm256_loadu_si256((const __m256i *)xb->bsums);
    return _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
}

INLINE float hsum4(__m128 m)
{
    m = _mm_add_ps(m, _mm_movehl_ps(m, m));
    m = _mm_add_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

#endif
