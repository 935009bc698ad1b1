/* attn_kern.h - the kernels of the tiled attention (attention.c), one tile of ATT_KV_TILE cached
 * positions at a time, for nc query columns (a task's query rows times the query heads of one
 * KV group). Written three times: a plain-C reference (attn_kern.c), and one SIMD template
 * (attn_kern_simd.h) compiled for AVX2+FMA (attn_kern_avx2.c, 8 lanes) and AVX-512
 * (attn_kern_avx512.c, 16 lanes); llmri_attn_kernels() picks one at run time.
 *
 * Layouts (floats): q and o rows of hd, column c at c * hd; scores s and probabilities p rows
 * of ATT_KV_TILE, column c at c * ATT_KV_TILE; a tile's keys and values row-major (key i at
 * i * hd), or its keys transposed (dimension d at d * ATT_KV_TILE, kt), which is what lets the
 * products run as small matrix products with register-blocked accumulators: q.k broadcasts
 * one q value and multiplies it into 16 (32) keys at once, p.v broadcasts one probability into
 * 16 (32) dimensions of v, and several columns share each load.
 */
#ifndef LLMR_MODEL_ATTN_KERN_H
#define LLMR_MODEL_ATTN_KERN_H

#include "kernels/kernels.h"

#include <stddef.h>
#include <stdint.h>

#define ATT_KV_TILE 64    /* positions per tile: K and V tiles at hd 64 are 16 KiB each */

/* Which keys of a tile column c may see: its query is at position q_pos + c / group; it sees
 * the keys at positions [q - swa + 1, q] (swa > 0: a sliding window) or [0, q]; the tile's key
 * i is at position k_pos + i, and keys i >= n are past the tile's end. */
typedef struct llmr_att_mask {
    int q_pos, group, swa, k_pos, n;
} llmr_att_mask;

/* Column c's keys in the tile: [*lo, *hi) (empty when *hi <= *lo). */
static inline void llmri_att_range(const llmr_att_mask *m, int c, int *lo, int *hi)
{
    const int q = m->q_pos + c / m->group;
    const int a = (m->swa > 0 && q >= m->swa ? q - m->swa + 1 : 0) - m->k_pos;
    const int b = q + 1 - m->k_pos;
    *lo = a < 0 ? 0 : a;
    *hi = b > m->n ? m->n : b;
}

typedef struct llmr_attn_kernels {
    const char *name;
    /* n cache rows (src + i * stride) of hd values of `type` (LLMR_TYPE_F32, F16, Q8_0, Q4_0:
     * blocks of 32 along hd) to floats, dst[i * hd + d] */
    void (*to_float)(int type, const uint8_t *src, size_t stride, int n, int hd, float *dst);
    /* kt[d * ATT_KV_TILE + i] = k[i * hd + d] for i < n, 0 for n <= i < ATT_KV_TILE */
    void (*transpose)(const float *k, int n, int hd, float *kt);
    /* s[c][i] = q[c] . key i for c < nc and every i < ATT_KV_TILE, from the transposed keys */
    void (*qk)(float *s, const float *q, int nc, const float *kt, int hd);
    /* One step of the online softmax for every column: scores of the keys the column may see
     * (mask) are soft-capped when cap > 0 (cap * tanh(s / cap)), the running maximum mx[c] and
     * sum sum[c] are updated, s[c][i] becomes exp(s - mx[c]) for those keys and 0 for the
     * others, and corr[c] = exp(old max - new max), the factor for what was accumulated
     * before (0 when nothing was; 1 when the column sees no key of the tile). */
    void (*softmax)(float *s, int nc, const llmr_att_mask *mask, float cap, float *mx,
                    float *sum, float *corr);
    /* o[c][d] = o[c][d] * corr[c] + sum of p[c][i] v[i][d] over i < n */
    void (*pv)(float *o, const float *p, int nc, const float *v, int n, int hd,
               const float *corr);
    /* The direct kernels of few columns (a decode step): they read the n cache rows
     * (src + i * stride, hd values of `type`, as to_float) themselves, converting each value
     * in registers where it is used, so no float tile is written and read back and nothing is
     * transposed.
     * qk_direct: s[c][i] = q[c] . key i for i < n, 0 for n <= i < ATT_KV_TILE, with q in the
     *   blocked layout of llmri_att_qd_index;
     * pv_direct: o[c][d] = o[c][d] * corr[c] + sum of p[c][i] v[i][d] over i < n. */
    void (*qk_direct)(float *s, const float *q, int nc, int type, const uint8_t *k,
                      size_t stride, int n, int hd);
    void (*pv_direct)(float *o, const float *p, int nc, int type, const uint8_t *v,
                      size_t stride, int n, int hd, const float *corr);
} llmr_attn_kernels;

/* Where qk_direct reads q's column c, dimension d (nc columns of hd): the columns in blocks of
 * 8 (the last one shorter), a block of R columns at c0 * hd holding its first hd & ~7
 * dimensions as [d / 8][R][8] and the rest as [R][hd % 8], so that one pointer and constant
 * offsets reach every column of a block (8 row pointers would not fit the registers). */
static inline size_t llmri_att_qd_index(int nc, int hd, int c, int d)
{
    const int c0 = c & ~7, R = nc - c0 < 8 ? nc - c0 : 8, r = c - c0, h8 = hd & ~7;
    const size_t b = (size_t)c0 * hd;
    return d < h8 ? b + (size_t)(d & ~7) * R + (size_t)r * 8 + (size_t)(d & 7)
                  : b + (size_t)h8 * R + (size_t)r * (hd - h8) + (size_t)(d - h8);
}

/* The kernels for this CPU (LLMR_ISA caps the level, as for the weight kernels). */
const llmr_attn_kernels *llmri_attn_kernels(void);
/* The kernels of one level, or NULL when this build has none for it (tests compare them). */
const llmr_attn_kernels *llmri_attn_kernels_isa(llmr_isa isa);

/* Tasks of at most this many columns (a decode step: one query row times a KV group's heads)
 * run the direct kernels: converting and transposing whole tiles pays only when many columns
 * share them. */
#define ATT_DIRECT_COLS 8

#endif
