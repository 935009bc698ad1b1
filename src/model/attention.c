/* attention.c - attention over a sequence's KV cache, tiled: the cached positions are read in
 * tiles of ATT_KV_TILE, and each query keeps a running maximum, sum and output (the online
 * softmax of flash attention), so no score matrix longer than one tile is ever formed and
 * every key and value is read once per task, whatever the context length.
 *
 * A task is (segment, KV head, tile of query rows). Its columns are the query heads that
 * share the KV head (grouped-query attention) times its rows, so the group's heads read the
 * cache together: a decode step reads each layer's cache once, not once per query head
 * (unless there are fewer such tasks than twice the threads: then a group's heads are split).
 * Per KV tile, in float (attn_kern.h: a plain-C reference, AVX2 and AVX-512 versions chosen
 * at run time; the tile's keys and values are converted once, then serve every column):
 *   K_tile, V_tile = floats          to_float (F32, F16, Q8_0, Q4_0 rows)
 *   S = q K_tile^T                   transpose + qk: register-blocked, several columns x 16
 *                                    (32) keys per micro-kernel
 *   P = exp(S - max)                 softmax: causal mask, sliding window, soft-capping,
 *                                    running max and sum per column, a vector exp
 *   O = O * corr + P V_tile          pv: several columns x 16 (32) dimensions per micro-kernel
 * and at the end out = O / sum. A task of few columns (a decode step, ATT_DIRECT_COLS) skips
 * the float tiles: qk_direct and pv_direct convert each cached value in the register it is
 * used from, since a whole tile's conversion, transpose and reloads served only 8 columns.
 * q is scaled once when the task packs its columns. The cache holds, per layer and KV head,
 * K and V by position (rows of head_dim values of the cache type, blocks of 32 along head_dim
 * for Q8_0 / Q4_0, as llama.cpp's quantized cache), so a task reads contiguous memory.
 */
#include "model/forward.h"

#include "core/threadpool.h"
#include "model/attn_kern.h"

#include <float.h>
#include <stdatomic.h>
#include <string.h>

#define ATT_COLS 256      /* query columns per task (rows x the group's heads), at least */

int llmri_att_cols(const llmr_hparams *hp)
{
    const int group = hp->n_head / hp->n_head_kv;
    return group > ATT_COLS ? group : ATT_COLS;
}

size_t llmri_att_scratch_bytes(const llmr_hparams *hp)
{
    const size_t cols = (size_t)llmri_att_cols(hp), hd = (size_t)hp->head_dim;
    /* S, O, the packed q columns, max, sum, corr, the K tile (rows, transposed), the V tile */
    return (cols * ATT_KV_TILE + 2 * cols * hd + 3 * cols + 3 * ATT_KV_TILE * hd) *
           sizeof(float);
}

/* The first position query position p may see (sliding window of swa positions, or 0). */
static int window_lo(int p, int swa) { return swa > 0 && p >= swa ? p - swa + 1 : 0; }

static void prefetch_rows(const uint8_t *p, size_t stride, int n, size_t bytes)
{
    for (int i = 0; i < n; i++) {
        const uint8_t *r = p + (size_t)i * stride;
        for (size_t b = 0; b < bytes; b += 64)
            __builtin_prefetch(r + b, 0, 3);
        __builtin_prefetch(r + bytes - 1, 0, 3);   /* a row not aligned to a line */
    }
}

void llmri_attn_task(const llmr_att_task *t, const llmr_attn_kernels *kn, void *scratch)
{
    const int hd = t->hd, nc = t->n_rows * t->group, cap = t->cols_cap;
    float *S = scratch;
    float *O = S + (size_t)cap * ATT_KV_TILE, *Q = O + (size_t)cap * hd;
    float *mx = Q + (size_t)cap * hd, *sum = mx + cap, *corr = sum + cap;
    float *Kf = corr + cap, *Kt = Kf + (size_t)ATT_KV_TILE * hd, *Vf = Kt + (size_t)ATT_KV_TILE * hd;
    /* q columns, scaled: the group's heads are adjacent in a row, so one pass per row packs
     * them */
    const bool direct = nc <= ATT_DIRECT_COLS;
    for (int j = 0; j < t->n_rows; j++) {
        const float *q = t->q + (size_t)j * t->q_stride;
        float *dst = Q + (size_t)j * t->group * hd;
        if (direct)   /* qk_direct's blocked layout */
            for (int hh = 0; hh < t->group; hh++)
                for (int d = 0; d < hd; d++)
                    Q[llmri_att_qd_index(nc, hd, j * t->group + hh, d)] = q[hh * hd + d] * t->scale;
        else
            for (int d = 0; d < t->group * hd; d++)
                dst[d] = q[d] * t->scale;
    }
    for (int c = 0; c < nc; c++)
        mx[c] = -FLT_MAX, sum[c] = 0.0f;
    memset(O, 0, (size_t)nc * hd * sizeof *O);
    const int lo = window_lo(t->pos, t->swa), hi = t->pos + t->n_rows;
    const size_t kb = llmri_row_size((uint32_t)t->type_k, hd);
    const size_t vb = llmri_row_size((uint32_t)t->type_v, hd);
    for (int i0 = lo; i0 < hi; i0 += ATT_KV_TILE) {
        const int n = hi - i0 < ATT_KV_TILE ? hi - i0 : ATT_KV_TILE;
        /* the next tile's rows on their way while this one is computed */
        const int nn = hi - i0 - n < ATT_KV_TILE ? hi - i0 - n : ATT_KV_TILE;
        prefetch_rows(t->k + (size_t)(i0 + n) * t->k_row, t->k_row, nn, kb);
        prefetch_rows(t->v + (size_t)(i0 + n) * t->v_row, t->v_row, nn, vb);
        const uint8_t *k = t->k + (size_t)i0 * t->k_row, *v = t->v + (size_t)i0 * t->v_row;
        const llmr_att_mask mask = {.q_pos = t->pos, .group = t->group, .swa = t->swa,
                                    .k_pos = i0, .n = n};
        if (direct) {
            kn->qk_direct(S, Q, nc, t->type_k, k, t->k_row, n, hd);
            kn->softmax(S, nc, &mask, t->cap, mx, sum, corr);
            kn->pv_direct(O, S, nc, t->type_v, v, t->v_row, n, hd, corr);
            continue;
        }
        kn->to_float(t->type_k, k, t->k_row, n, hd, Kf);
        kn->transpose(Kf, n, hd, Kt);
        kn->qk(S, Q, nc, Kt, hd);
        kn->to_float(t->type_v, v, t->v_row, n, hd, Vf);
        kn->softmax(S, nc, &mask, t->cap, mx, sum, corr);
        kn->pv(O, S, nc, Vf, n, hd, corr);
    }
    for (int c = 0; c < nc; c++) {
        float *out = t->out + (size_t)(c / t->group) * t->out_stride + (size_t)(c % t->group) * hd;
        const float inv = 1.0f / sum[c];
        for (int d = 0; d < hd; d++)
            out[d] = O[(size_t)c * hd + d] * inv;
    }
}

/* ---- the pass's attention step ------------------------------------------------------- */

typedef struct att_run {
    const llmr_att_pass *a;
    int tiles[LLMR_MAX_BATCH_SEQS];   /* per segment: query rows per task */
    int hsplit;                       /* each KV group's query heads in this many tasks */
    int n_tasks;
    const llmr_attn_kernels *kn;
    _Atomic int next;
} att_run;

static void att_step(void *arg, int ith, int nth)
{
    (void)nth;
    att_run *r = arg;
    const llmr_att_pass *a = r->a;
    const llmr_model *m = a->m;
    const llmr_hparams *hp = &m->hp;
    const int hd = hp->head_dim, qd = hp->n_head * hd, nkv = hp->n_head_kv;
    const int group = hp->n_head / nkv, sub = group / r->hsplit, units = nkv * r->hsplit;
    void *scr = a->w->att_scratch + (size_t)ith * a->w->att_scratch_stride;
    int t;
    /* tasks in reverse: the causal triangle's longest tiles (last rows) start first */
    while ((t = atomic_fetch_add_explicit(&r->next, 1, memory_order_relaxed)) < r->n_tasks) {
        t = r->n_tasks - 1 - t;
        int si = 0;
        for (;; si++) {
            const int nt = (a->segs[si].n + r->tiles[si] - 1) / r->tiles[si];
            if (t < nt * units)
                break;
            t -= nt * units;
        }
        const llmr_segment *sg = &a->segs[si];
        const int T = r->tiles[si], u = t % units, j0 = t / units * T;
        const int g = u / r->hsplit, h0 = g * group + u % r->hsplit * sub;   /* first head */
        const int j1 = j0 + T < sg->n ? j0 + T : sg->n;
        const llmr_seq *s = sg->s;
        const size_t row = (size_t)(sg->row0 + j0);
        llmr_att_task task = {
            .type_k = m->type_k, .type_v = m->type_v, .hd = hd, .group = sub,
            .cols_cap = llmri_att_cols(hp),
            .k = s->k[a->layer] + (size_t)g * s->k_hstride, .k_row = s->k_head,
            .v = s->v[a->layer] + (size_t)g * s->v_hstride, .v_row = s->v_head,
            .q = a->w->q + row * qd + (size_t)h0 * hd, .q_stride = (size_t)qd,
            .n_rows = j1 - j0, .pos = sg->pos + j0, .swa = a->L->n_swa,
            .scale = hp->attn_scale, .cap = hp->attn_softcap,
            .out = a->w->att + row * qd + (size_t)h0 * hd, .out_stride = (size_t)qd};
        llmri_attn_task(&task, r->kn, scr);
    }
}

void llmri_attention(const llmr_att_pass *a)
{
    att_run r = {.a = a, .hsplit = 1, .kn = llmri_attn_kernels()};
    const llmr_hparams *hp = &a->m->hp;
    const int group = hp->n_head / hp->n_head_kv, cols = llmri_att_cols(hp);
    int units = 0;   /* (segment, row tile, KV head) */
    for (int si = 0; si < a->n_segs; si++) {
        int T = cols / group;
        T = T < 1 ? 1 : T > a->segs[si].n ? a->segs[si].n : T;
        r.tiles[si] = T;
        units += (a->segs[si].n + T - 1) / T * hp->n_head_kv;
    }
    /* Too few tasks for the threads (one sequence's decode step with one or two KV heads):
     * the group's query heads are split over several tasks, which then each read the cache;
     * otherwise one thread would do all the attention. */
    const int want = 2 * llmri_pool_size(a->m->pool);
    while (units * r.hsplit < want && r.hsplit < group) {
        int h = r.hsplit + 1;
        while (group % h)
            h++;
        r.hsplit = h;
    }
    r.n_tasks = units * r.hsplit;
    atomic_store_explicit(&r.next, 0, memory_order_relaxed);
    llmri_pool_run(a->m->pool, att_step, &r);
}
