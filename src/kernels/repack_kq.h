/* repack_kq.h - products on the R8 layouts of Q4_K, Q5_K and Q6_K (repack.h) against Q8_K
 * activations, straight from the stored units (no buffer): used for decode and small batches.
 * Included by gemm_kq.h (RKQ_VNNI = its KQ_VNNI), whose R8 entries run these kernels for few
 * columns (decode, small batches) and its converted-block micro-kernel for many.
 *
 * A unit's slices are vectors whose 32-bit lane r belongs to row r, so one vpmaddubsw (or
 * vpdpbusd) multiplies 4 values of 8 rows with 4 broadcast activation bytes and the lanes of
 * every sum already belong to the 8 rows: no transpose (gemm_kq.h converts the plain rows
 * into such a form on every call; here the weights are stored that way) and no horizontal
 * reduction. Per super-block and row:
 *   Q4_K / Q5_K  d * dy * sum_g sc_g (q . y)_g  -  dmin * dy * sum_g m_g (bsum_2g + bsum_2g+1)
 *   Q6_K         d * dy * (sum_g sc_g (q . y)_g  -  32 sum_g sc_g bsum_g)
 * with q unsigned (Q4_K 0..15, Q5_K 0..31, Q6_K 0..63) and Q8_K's bsums (sums of 16
 * activations) for the offsets. The 6-bit scales and mins come out of the 3 scale slices with
 * byte-wise masks and shifts on 8 rows at once (the layout of quants.h's get_scale_min_k4);
 * one vpshufb then spreads byte g of each lane to the form the scale multiply takes.
 *
 * AVX2: SG steps of 4 values are summed in int16 before one vpmaddwd applies the scale: a
 * pair of products is at most 2 * qmax * 127, so SG <= 8 for Q4_K (30480), 4 for Q5_K
 * (31496), 2 for Q6_K (32004). VNNI: vpdpbusd sums into int32, and the scale multiplies
 * once per 32 (Q4_K, Q5_K) or 16 values (Q6_K) with vpmulld. Every integer sum is exact
 * (a super-block's stays under 2^27); only the float accumulation order differs from the
 * reference. */

enum { RKQ_K4, RKQ_K5, RKQ_K6 };
#define RKQ_UNIT(kind) ((kind) == RKQ_K4 ? 8 * 144 : (kind) == RKQ_K5 ? 8 * 176 : 8 * 210)
#define RKQ_NCMAX 8
#define RKQ_L2_BYTES (192u << 10)   /* activations kept in L2 per column block */
/* Software prefetch distance on the first pass: a unit is 1.1-1.7 KB and takes the AVX2
 * kernels about 50 ns from cache, so 2048 bytes was little more than one unit ahead of a
 * stream whose misses take longer. One column over 65536 rows from RAM, one thread, best of
 * 30 alternating with plain (bench_decode_r8.c): Q6_K_R8 0.57-1.44x plain's rate at 2048
 * (11 rounds), 1.13-1.64x at 8192 (3); Q4_K_R8 11.2-13.5 GB/s at 2048, 12.1-14.4 at 8192. */
#ifndef RKQ_PF
#define RKQ_PF 8192
#endif
#if defined(__clang__)
#define RKQ_UNROLL _Pragma("unroll 8")
#define RKQ_UNROLL16_ _Pragma("unroll 16")
#else
#define RKQ_UNROLL _Pragma("GCC unroll 8")
#define RKQ_UNROLL16_ _Pragma("GCC unroll 16")
#endif
/* The group loop unrolled completely for AVX2 (measured below); the VNNI build, not yet timed,
 * keeps the compiler's choice (the emulation test compiles it with every vpdpbusd a function,
 * and the full unroll made that file take many minutes to build). */
#if RKQ_VNNI
#define RKQ_UNROLL16
#else
#define RKQ_UNROLL16 RKQ_UNROLL16_
#endif

/* A vpshufb control on byte k (0..3) of each dword lane: byte `by` of each dword gets byte
 * k + a_by of the lane, or zero where a_by < 0. */
INLINE __m256i rkq_ctrl(int k, int a0, int a1, int a2, int a3)
{
    const int a[4] = {a0, a1, a2, a3};
    uint32_t v[4];
    for (int i = 0; i < 4; i++) {
        v[i] = 0;
        for (int by = 0; by < 4; by++)
            v[i] |= (a[by] < 0 ? 0x80u : (uint32_t)(4 * i + k + a[by])) << 8 * by;
    }
    return _mm256_setr_epi32((int)v[0], (int)v[1], (int)v[2], (int)v[3], (int)v[0], (int)v[1],
                             (int)v[2], (int)v[3]);
}

/* The controls a kernel uses, made once per call: scale multipliers (sc[k]: byte k as the
 * multiply takes it, before the sign shift of signed scales), the Q4_K / Q5_K min pairs and
 * the Q6_K scale pairs. */
typedef struct rkq_ctrls {
    __m256i sc[4], pair[4], spair2[2];
} rkq_ctrls;

INLINE void rkq_ctrls_init(rkq_ctrls *c, int is_signed)
{
    for (int k = 0; k < 4; k++) {
#if RKQ_VNNI   /* the scale as an int32: zero-extended, or in the top byte for a 24-bit shift */
        c->sc[k] = is_signed ? rkq_ctrl(k, -1, -1, -1, 0) : rkq_ctrl(k, 0, -1, -1, -1);
#else          /* in both int16 halves: zero-extended, or in the high bytes for an 8-bit shift */
        c->sc[k] = is_signed ? rkq_ctrl(k, -1, 0, -1, 0) : rkq_ctrl(k, 0, -1, 0, -1);
#endif
        c->pair[k] = rkq_ctrl(k, 0, -1, 0, -1);
    }
    c->spair2[0] = rkq_ctrl(0, -1, 0, -1, 1);
    c->spair2[1] = rkq_ctrl(2, -1, 0, -1, 1);
}

/* The scale multiplier of sub-block byte k of `s` (unsigned 6-bit or signed int8 bytes). */
INLINE __m256i rkq_scale(const rkq_ctrls *cc, __m256i s, int k, int is_signed)
{
    const __m256i v = _mm256_shuffle_epi8(s, cc->sc[k]);
#if RKQ_VNNI
    return is_signed ? _mm256_srai_epi32(v, 24) : v;
#else
    return is_signed ? _mm256_srai_epi16(v, 8) : v;
#endif
}

INLINE __m256i rkq_bcast32(const void *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

/* Q4_K / Q5_K: the 8 rows' scales (sc[0]: bytes = scales 0..3, sc[1]: 4..7) and mins. */
INLINE void rkq_k4_scales(const uint8_t *u, __m256i sc[2], __m256i mn[2])
{
    const __m256i m6 = _mm256_set1_epi8(0x3f), m4 = _mm256_set1_epi8(0x0f);
    const __m256i m2 = _mm256_set1_epi8(0x03);
    const __m256i a = _mm256_loadu_si256((const __m256i *)(u + RKQ_SC));
    const __m256i b = _mm256_loadu_si256((const __m256i *)(u + RKQ_SC + 32));
    const __m256i c = _mm256_loadu_si256((const __m256i *)(u + RKQ_SC + 64));
    sc[0] = _mm256_and_si256(a, m6);
    mn[0] = _mm256_and_si256(b, m6);
    /* 16-bit shifts: the mask keeps only bits that came from the same byte */
    sc[1] = _mm256_or_si256(_mm256_and_si256(c, m4), _mm256_slli_epi16(
                _mm256_and_si256(_mm256_srli_epi16(a, 6), m2), 4));
    mn[1] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(c, 4), m4), _mm256_slli_epi16(
                _mm256_and_si256(_mm256_srli_epi16(b, 6), m2), 4));
}

/* Values of SG slices starting at `s0` of sub-block g: the unsigned operands q[0..SG). */
INLINE void rkq_values(const int KIND, const uint8_t *u, int g, int s0, const int SG, __m256i *q)
{
    const __m256i m4 = _mm256_set1_epi8(0x0F), m3 = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1);
    for (int t = 0; t < SG; t++) {
        if (KIND == RKQ_K6) {
            /* g = 8h + 2k + e: values 128h + 32k + 16e + 4(s0 + t)... as slices of ql
             * 16h + 8(k & 1) + 4e + s0 + t (low nibbles for k < 2, high for k >= 2) and of qh
             * 8h + 4e + s0 + t (bits 2k, 2k + 1) */
            const int h = g >> 3, k = (g >> 1) & 3, e = g & 1, l4 = 4 * e + s0 + t;
            const __m256i A = _mm256_loadu_si256(
                (const __m256i *)(u + RKQ_Q6_QL + 32 * (16 * h + 8 * (k & 1) + l4)));
            const __m256i H = _mm256_loadu_si256((const __m256i *)(u + RKQ_Q6_QH + 32 * (8 * h + l4)));
            const __m256i lo = _mm256_and_si256(k >= 2 ? _mm256_srli_epi16(A, 4) : A, m4);
            q[t] = _mm256_or_si256(lo, _mm256_slli_epi16(
                       _mm256_and_si256(_mm256_srli_epi16(H, 2 * k), m3), 4));
        } else {
            /* g = 2j + h: the low (h = 0) or high nibbles of qs slices 8j..8j+7; Q5_K's fifth
             * bit is bit g of the qh slice of the same position */
            const int j = g >> 1, h = g & 1, qs = KIND == RKQ_K5 ? RKQ_Q5_QS : RKQ_Q4_QS;
            const __m256i A = _mm256_loadu_si256((const __m256i *)(u + qs + 32 * (8 * j + s0 + t)));
            q[t] = _mm256_and_si256(h ? _mm256_srli_epi16(A, 4) : A, m4);
            if (KIND == RKQ_K5) {
                const __m256i H = _mm256_loadu_si256((const __m256i *)(u + RKQ_Q5_QH + 32 * (s0 + t)));
                q[t] = _mm256_or_si256(q[t], _mm256_slli_epi16(
                           _mm256_and_si256(_mm256_srli_epi16(H, g), one), 4));
            }
        }
    }
    (void)m3;
    (void)one;
}

/* sum_t q[t] . y[4t..4t+3] for 8 rows (t < SG), times the int16 or int32 scales scv, as the
 * 8 rows' int32 sums. */
INLINE __m256i rkq_dot(const __m256i *q, const int8_t *y, const int SG, __m256i scv)
{
#if RKQ_VNNI
    __m256i p = _mm256_dpbusd_epi32(_mm256_setzero_si256(), q[0], rkq_bcast32(y));
    for (int t = 1; t < SG; t++)
        p = _mm256_dpbusd_epi32(p, q[t], rkq_bcast32(y + 4 * t));
    return _mm256_mullo_epi32(p, scv);
#else
    __m256i p = _mm256_maddubs_epi16(q[0], rkq_bcast32(y));
    for (int t = 1; t < SG; t++)
        p = _mm256_add_epi16(p, _mm256_maddubs_epi16(q[t], rkq_bcast32(y + 4 * t)));
    return _mm256_madd_epi16(p, scv);
#endif
}

/* Q6_K's scaled sums sum_g sc_g (q . y)_g of one unit (super-block b) into sumi[c]. Group
 * g = 8h + 2k + e (16 values each) takes the low (k < 2) or high (k >= 2) nibbles of ql
 * slices 16h + 8(k & 1) + 4e + s and bits 2k, 2k + 1 of qh slices 8h + 4e + s (s < 4); so
 * groups k and k + 2 share their ql slice and all four share the qh slice. Walking the
 * groups in those pairs loads each ql slice once and each qh slice twice, and makes both
 * values of a pair from one load (rkq_values would load per group: 0.8-1.1x the plain
 * kernel's decode on AVX2 with it). */
INLINE void rkq_k6_sums(int b, const uint8_t *u, const uint8_t *X, size_t xs,
                        const rkq_ctrls *cc, const __m256i sc[4], __m256i *sumi, const int NC,
                        const int SG)
{
    const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
    RKQ_UNROLL16
    for (int hk = 0; hk < 4; hk++) {          /* h = hk >> 1, kk = hk & 1: k = kk, kk + 2 */
        const int h = hk >> 1, kk = hk & 1;
        RKQ_UNROLL16
        for (int e = 0; e < 2; e++) {
            const int ga = 8 * h + 2 * kk + e, gb = ga + 4;
            const __m256i sca = rkq_scale(cc, sc[ga >> 2], ga & 3, 1);
            const __m256i scb = rkq_scale(cc, sc[gb >> 2], gb & 3, 1);
            for (int s0 = 0; s0 < 4; s0 += SG) {
                __m256i qa[4], qb[4];
                for (int t = 0; t < SG; t++) {
                    const int l4 = 4 * e + s0 + t;
                    const __m256i A = _mm256_loadu_si256(
                        (const __m256i *)(u + RKQ_Q6_QL + 32 * (16 * h + 8 * kk + l4)));
                    const __m256i H = _mm256_loadu_si256(
                        (const __m256i *)(u + RKQ_Q6_QH + 32 * (8 * h + l4)));
                    /* bits 2k, 2k + 1 of each byte to bits 4, 5 (16-bit shifts: the mask keeps
                     * only bits that stayed in their byte) */
                    const __m256i ha = kk ? _mm256_slli_epi16(H, 2) : _mm256_slli_epi16(H, 4);
                    const __m256i hb = kk ? _mm256_srli_epi16(H, 2) : H;
                    qa[t] = _mm256_or_si256(_mm256_and_si256(A, m4), _mm256_and_si256(ha, m30));
                    qb[t] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(A, 4), m4),
                                            _mm256_and_si256(hb, m30));
                }
                RKQ_UNROLL
                for (int c = 0; c < NC; c++) {
                    const int8_t *y = ((const block_q8_K *)(X + (size_t)c * xs) + b)->qs + 4 * s0;
                    sumi[c] = _mm256_add_epi32(sumi[c], _mm256_add_epi32(
                                  rkq_dot(qa, y + 16 * ga, SG, sca),
                                  rkq_dot(qb, y + 16 * gb, SG, scb)));
                }
            }
        }
    }
}

/* The offsets' integer sums into summ[c], Q4_K / Q5_K: sum_g m_g (bsum_2g + bsum_2g+1). A min
 * covers both bsums of its group of 32, so the bsums are added in pairs first (the group sums
 * G_g, at most 32 * 127) and the int16 pairs (m_g, m_g+2) meet (G_g, G_g+2): four vpmaddwd
 * per column, where one per bsum pair took eight with a vpshufb and a broadcast each. */
INLINE void rkq_k4_offsets(const __m256i mn[2], const uint8_t *X, size_t xs, int b,
                           __m256i *summ, const int NC)
{
    const __m256i lo = _mm256_set1_epi16(0x00ff);
    const __m256i m02 = _mm256_and_si256(mn[0], lo), m13 = _mm256_srli_epi16(mn[0], 8);
    const __m256i m46 = _mm256_and_si256(mn[1], lo), m57 = _mm256_srli_epi16(mn[1], 8);
    const __m128i ord = _mm_setr_epi8(0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15);
    for (int c = 0; c < NC; c++) {
        const block_q8_K *xb = (const block_q8_K *)(X + (size_t)c * xs) + b;
        const __m128i gs = _mm_shuffle_epi8(_mm_hadd_epi16(
            _mm_loadu_si128((const __m128i *)xb->bsums),
            _mm_loadu_si128((const __m128i *)(xb->bsums + 8))), ord);
        const __m256i g = _mm256_broadcastsi128_si256(gs);   /* (G0,G2) (G1,G3) (G4,G6) (G5,G7) */
        summ[c] = _mm256_add_epi32(summ[c], _mm256_add_epi32(
            _mm256_add_epi32(_mm256_madd_epi16(m02, _mm256_shuffle_epi32(g, 0x00)),
                             _mm256_madd_epi16(m13, _mm256_shuffle_epi32(g, 0x55))),
            _mm256_add_epi32(_mm256_madd_epi16(m46, _mm256_shuffle_epi32(g, 0xaa)),
                             _mm256_madd_epi16(m57, _mm256_shuffle_epi32(g, 0xff)))));
    }
}

/* Q6_K: sum_g sc_g bsum_g, int16 pairs of signed scales against two bsums (one dword). */
INLINE void rkq_k6_offsets(const rkq_ctrls *cc, const __m256i sc[4], const uint8_t *X, size_t xs,
                           int b, __m256i *summ, const int NC)
{
    RKQ_UNROLL
    for (int p = 0; p < 8; p++) {
        const __m256i mv = _mm256_srai_epi16(_mm256_shuffle_epi8(sc[p >> 1], cc->spair2[p & 1]), 8);
        for (int c = 0; c < NC; c++) {
            const block_q8_K *xb = (const block_q8_K *)(X + (size_t)c * xs) + b;
            summ[c] = _mm256_add_epi32(summ[c], _mm256_madd_epi16(mv, rkq_bcast32(&xb->bsums[2 * p])));
        }
    }
}

/* 8 rows x NC columns over nb super-blocks of one group: Y gets 8 outputs per column. */
INLINE void rkq_kern(const int KIND, int nb, const uint8_t *G, const uint8_t *X, size_t xs,
                     float *Y, size_t ldy, int pf, const int NC, const int SG)
{
    const int NG = 8, GV = 32;   /* Q4_K / Q5_K: groups, values per group */
    rkq_ctrls cc;
    rkq_ctrls_init(&cc, KIND == RKQ_K6);
    __m256 acc[RKQ_NCMAX];
    for (int c = 0; c < NC; c++)
        acc[c] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const uint8_t *u = G + (size_t)b * RKQ_UNIT(KIND);
        if (pf) {   /* 18-27 lines, four per step (a loop of one cost a compare and a branch each) */
            const char *pp = (const char *)u + RKQ_PF;
            int o = 0;
            for (; o + 256 <= RKQ_UNIT(KIND); o += 256) {
                _mm_prefetch(pp + o, _MM_HINT_T0);
                _mm_prefetch(pp + o + 64, _MM_HINT_T0);
                _mm_prefetch(pp + o + 128, _MM_HINT_T0);
                _mm_prefetch(pp + o + 192, _MM_HINT_T0);
            }
            for (; o < RKQ_UNIT(KIND); o += 64)
                _mm_prefetch(pp + o, _MM_HINT_T0);
        }
        __m256i sc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                         _mm256_setzero_si256()};
        __m256i mn[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
        if (KIND == RKQ_K6)
            for (int k = 0; k < 4; k++)
                sc[k] = _mm256_loadu_si256((const __m256i *)(u + RKQ_Q6_SC + 32 * k));
        else
            rkq_k4_scales(u, sc, mn);
        __m256i sumi[RKQ_NCMAX], summ[RKQ_NCMAX];
        for (int c = 0; c < NC; c++)
            sumi[c] = summ[c] = _mm256_setzero_si256();
        if (KIND == RKQ_K6) {
            rkq_k6_sums(b, u, X, xs, &cc, sc, sumi, NC, SG);
        } else {
            /* unrolled completely (AVX2), so that every shift count and control is a constant */
            RKQ_UNROLL16
            for (int g = 0; g < NG; g++) {
                const __m256i scv = rkq_scale(&cc, sc[g >> 2], g & 3, 0);
                for (int s0 = 0; s0 < GV / 4; s0 += SG) {
                    __m256i q[8];
                    rkq_values(KIND, u, g, s0, SG, q);
                    RKQ_UNROLL
                    for (int c = 0; c < NC; c++) {
                        const int8_t *y = ((const block_q8_K *)(X + (size_t)c * xs) + b)->qs +
                                          GV * g + 4 * s0;
                        sumi[c] = _mm256_add_epi32(sumi[c], rkq_dot(q, y, SG, scv));
                    }
                }
            }
        }
        if (KIND == RKQ_K6)
            rkq_k6_offsets(&cc, sc, X, xs, b, summ, NC);
        else
            rkq_k4_offsets(mn, X, xs, b, summ, NC);
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)u));
        const __m256 dm = KIND == RKQ_K6 ? d
                        : _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(u + RKQ_DM)));
        for (int c = 0; c < NC; c++) {
            const __m256 dy = _mm256_set1_ps(((const block_q8_K *)(X + (size_t)c * xs) + b)->d);
            if (KIND == RKQ_K6) {
                const __m256i s = _mm256_sub_epi32(sumi[c], _mm256_slli_epi32(summ[c], 5));
                acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(d, dy), acc[c]);
            } else {
                acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[c]), _mm256_mul_ps(d, dy), acc[c]);
                acc[c] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(summ[c]), _mm256_mul_ps(dm, dy), acc[c]);
            }
        }
    }
    for (int c = 0; c < NC; c++)
        _mm256_storeu_ps(Y + (size_t)c * ldy, acc[c]);
}

typedef void (*rkq_any_fn)(int nb, const uint8_t *G, const uint8_t *X, size_t xs, float *Y,
                           size_t ldy, int pf, int nc);

/* Column blocks whose activations stay in L2; in a block, each group meets the columns `gnc`
 * at a time while its units stay in L1/L2. The first pass over a group prefetches. */
static void rkq_run(rkq_any_fn kern, int gnc, int K, const void *Wv, size_t ws, int nr,
                    const void *Xv, size_t xs, int nc, float *Y, size_t ldy)
{
    const uint8_t *W = Wv, *X = Xv;
    const int nb = K / QK_K;
    int cb = (int)(RKQ_L2_BYTES / (xs ? xs : 1)) / gnc * gnc;
    if (cb < gnc)
        cb = gnc;
    for (int jb = 0; jb < nc; jb += cb) {
        const int nj = nc - jb < cb ? nc - jb : cb;
        const uint8_t *Xb = X + (size_t)jb * xs;
        for (int i = 0; i < nr; i += R8_ROWS)
            for (int j = 0; j < nj; j += gnc)
                kern(nb, W + (size_t)i * ws, Xb + (size_t)j * xs, xs,
                     Y + (size_t)(jb + j) * ldy + i, ldy, jb == 0 && j == 0,
                     nj - j < gnc ? nj - j : gnc);
    }
}

/* One function per type with the column count a constant in each case (the compiler then
 * unrolls the column loop completely). */
#define RKQ_CASE(KIND, n, NC, SG)                                                            \
    case n: rkq_kern(KIND, nb, G, X, xs, Y, ldy, pf, (n) < (NC) ? (n) : (NC),                \
                     (n) == 1 ? RKQ_SG1(KIND, SG) : (SG)); break;
#define RKQ_DEFINE(name, KIND, NC, SG)                                                       \
    static void name##_any(int nb, const uint8_t *G, const uint8_t *X, size_t xs, float *Y,  \
                           size_t ldy, int pf, int nc)                                       \
    {                                                                                        \
        switch (nc) {                                                                        \
            RKQ_CASE(KIND, 1, NC, SG) RKQ_CASE(KIND, 2, NC, SG) RKQ_CASE(KIND, 3, NC, SG)    \
            RKQ_CASE(KIND, 4, NC, SG) RKQ_CASE(KIND, 5, NC, SG) RKQ_CASE(KIND, 6, NC, SG)    \
            RKQ_CASE(KIND, 7, NC, SG) RKQ_CASE(KIND, 8, NC, SG)                              \
        }                                                                                    \
    }                                                                                        \
    static void name(int K, const void *W, size_t ws, int nr, const void *X, size_t xs,      \
                     int nc, float *Y, size_t ldy)                                           \
    {                                                                                        \
        rkq_run(name##_any, NC, K, W, ws, nr, X, xs, nc, Y, ldy);                            \
    }

/* One column (decode) leaves AVX2 registers for Q4_K's largest int16 run (SG = 8: one
 * vpmaddwd and one vpaddd per group of 32, not two of each). Q4_K_R8, 64 rows from cache,
 * bench_decode_r8.c: 1.40x plain's rate with SG = 4, 1.48x with 8 (three rounds each). */
#ifndef RKQ_SG1
#define RKQ_SG1(KIND, SG) ((KIND) == RKQ_K4 && !RKQ_VNNI ? 8 : (SG))
#endif
/* Columns per pass and steps per scale multiply: AVX2 has 16 ymm registers (SG weight
 * vectors and NC int32 sums must fit), AVX-512 32. */
#if RKQ_VNNI
RKQ_DEFINE(rkq_q4_K_direct, RKQ_K4, 8, 8)
RKQ_DEFINE(rkq_q5_K_direct, RKQ_K5, 8, 8)
RKQ_DEFINE(rkq_q6_K_direct, RKQ_K6, 8, 4)
#else
RKQ_DEFINE(rkq_q4_K_direct, RKQ_K4, 4, 4)
RKQ_DEFINE(rkq_q5_K_direct, RKQ_K5, 4, 4)
RKQ_DEFINE(rkq_q6_K_direct, RKQ_K6, 4, 2)
#endif
