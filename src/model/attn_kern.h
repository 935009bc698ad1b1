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
    /* the same from n row-major keys (no transpose: few columns); s[c][i] = 0 for i >= n */
    void (*qk_rows)(float *s, const float *q, int nc, const float *k, int n, int hd);
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
} llmr_attn_kernels;

/* The kernels for this CPU (LLMR_ISA caps the level, as for the weight kernels). */
const llmr_attn_kernels *llmri_attn_kernels(void);
/* The kernels of one level, or NULL when this build has none for it (tests compare them). */
const llmr_attn_kernels *llmri_attn_kernels_isa(llmr_isa isa);

/* Below this many columns attention.c scores the row-major keys (qk_rows) instead of
 * transposing each tile: a decode step's few columns would not pay for the transpose. */
#define ATT_QK_ROWS_BELOW 8

#endif
