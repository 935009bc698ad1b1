/* forward.c - the llama-family forward pass, in one file (in the spirit of llama2.c).
 *
 * One pass evaluates a batch of rows (tokens). Consecutive rows of the same sequence at
 * consecutive positions form a segment: a prompt chunk is one segment, a batched decode step
 * has one segment per sequence. Per layer (llama.cpp's graph for LLM_ARCH_LLAMA / QWEN2):
 *
 *   xn = rmsnorm(x) * attn_norm
 *   q, k, v = Wq xn (+bq), Wk xn (+bk), Wv xn (+bv)          one pool step for all three
 *   q, k = rope(q, pos), rope(k, pos); k, v -> the sequence's KV cache
 *   att = softmax(q K^T / sqrt(head_dim), causal) V         per (segment, head, row tile)
 *   x += Wo att
 *   xn = rmsnorm(x) * ffn_norm
 *   x += Wdown (silu(Wgate xn) * Wup xn)
 *
 * and at the end logits = Woutput (rmsnorm(x) * output_norm) for the rows asked for.
 *
 * Numerics follow llama.cpp, so that its logits are reproducible: before each matrix product
 * the activations are converted once to the weights' vec_dot_type (Q8_0, Q8_K, F16, ...), and
 * attention uses the same kernels on the cache (q converted to the cache type for q.K, the
 * softmax row converted for .V, V stored transposed as llama.cpp's non-flash path does).
 *
 * Threads: matrix products split their rows into chunks taken from an atomic counter (the
 * machine is shared and noisy, so dynamic scheduling beats a fixed split); row-wise steps
 * split rows statically, and run inline on the calling thread when there are few rows.
 */
#include "model/model.h"

#include "core/threadpool.h"
#include "core/util.h"
#include "model/rowops.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Attention scores scratch per thread, in floats: a tile of query rows x cached positions. */
#define ATT_SCRATCH (256 * 1024)
/* Up to this many rows, row-wise steps run on the calling thread (no fork/join). */
#define INLINE_ROWS 4
#define DECODE_CHUNK_BYTES (384u << 10)   /* see run_mm */
#define ATT_TILE 32          /* query rows per attention task (see run_attention) */
#define MAX_XQ 3

struct llmr_seq {
    llmr_model *m;
    int n_ctx;
    int n_past;              /* positions [0, n_past) hold valid keys and values */
    uint8_t **k;             /* per layer: [n_ctx][kv_dim] of kv_type */
    uint8_t **vt;            /* per layer: [kv_dim][n_ctx] (transposed: V rows are dots) */
    uint8_t *kv_mem;
    float *logits;
    size_t logits_cap;       /* floats */
    llmr_err err;
};

struct llmr_work {
    int cap;                 /* rows */
    float *x, *xn, *q, *k, *v, *att, *t, *hb, *hb2;
    uint8_t *xq[MAX_XQ];     /* activations in a vec_dot_type, cap rows of xq_stride bytes */
    size_t xq_stride;
    uint8_t *qc;             /* q in the cache's vec_dot_type (F16 cache) */
    float *sc;               /* per thread: ATT_SCRATCH floats */
    uint8_t *sp;             /* per thread: the same, in the cache type */
    float *rope_cs;          /* per row: cos, sin of each rotated pair at the row's position */
    const llmr_rowops *ops;
    int *row_pos;
    llmr_seq **row_seq;
    int *out_rows;
    float *blogits;          /* batched passes: logits of each part's last row */
    size_t blogits_cap;
    int32_t *btok;           /* batched passes: the parts' tokens in row order */
};

/* ---- one pass ------------------------------------------------------------------------- */
typedef struct segment { llmr_seq *s; int pos, row0, n; } segment;

/* A matrix product of up to 3 weights over the same input rows. */
typedef struct mm_part {
    const llmr_mat *W;
    const void *X;
    size_t x_stride;
    float *Y;
    size_t ldy;
} mm_part;

typedef struct fwd {
    llmr_model *m;
    struct llmr_work *w;
    const int32_t *tokens;
    int n;                   /* rows */
    segment *segs;
    int n_segs;
    int n_out;               /* rows whose logits are wanted: w->out_rows */
    float *logits;           /* destination, n_out x n_vocab */
    const llmr_abort *ab;    /* asked before each layer whether to stop, or NULL */
    const llmr_layer *L;
    int layer;
    /* current step */
    void (*row_fn)(struct fwd *f, int r);
    mm_part mm[3];
    int n_mm, mm_rows_n, mm_K, mm_chunk, mm_chunks[3];
    int att_tiles[LLMR_MAX_BATCH_SEQS];   /* per segment: rows per tile */
    int att_tasks;
    _Atomic int next;
} fwd;

/* ---- small math (plain C; the compiler vectorizes these) ------------------------------ */

/* ggml_rms_norm: mean of squares accumulated in double, then scale by 1/sqrt(mean + eps). */
static void rmsnorm(float *o, const float *x, const float *w, int n, float eps)
{
    double ss = 0.0;
    for (int i = 0; i < n; i++)
        ss += (double)(x[i] * x[i]);
    const float scale = 1.0f / sqrtf((float)(ss / n) + eps);
    for (int i = 0; i < n; i++)
        o[i] = (x[i] * scale) * w[i];
}

/* RoPE as ggml_rope_ext computes it (ext_factor 0, attn_factor 1): theta_i = pos *
 * base^(-2i/n_rot), formed by repeated multiplication in float as ggml's cache does, divided
 * by the Llama-3 frequency factor and multiplied by freq_scale. The angles depend only on the
 * position, so each row's cos/sin table is built once and serves every head of every layer. */
static void rope_table(float *cs, int pos, const llmr_hparams *hp, const float *freq_factors)
{
    const float theta_scale = powf(hp->rope_base, -2.0f / (float)hp->n_rot);
    float theta = (float)pos;
    for (int i = 0; i < hp->n_rot / 2; i++) {
        const float ff = freq_factors ? freq_factors[i] : 1.0f;
        const float th = hp->rope_scale * (theta / ff);
        cs[2 * i] = cosf(th);
        cs[2 * i + 1] = sinf(th);
        theta *= theta_scale;
    }
}

/* Only the first n_rot values of a head rotate. NORM rotates (x[2i], x[2i+1]); NEOX rotates
 * (x[i], x[i + n_rot/2]). */
static void rope_apply(float *x, const float *cs, const llmr_hparams *hp)
{
    const int half = hp->n_rot / 2;
    for (int i = 0; i < half; i++) {
        const float c = cs[2 * i], s = cs[2 * i + 1];
        const int a = hp->rope == LLMR_ROPE_NEOX ? i : 2 * i;
        const int b = hp->rope == LLMR_ROPE_NEOX ? i + half : 2 * i + 1;
        const float x0 = x[a], x1 = x[b];
        x[a] = x0 * c - x1 * s;
        x[b] = x0 * s + x1 * c;
    }
}

static void rope_head(float *x, int pos, const llmr_hparams *hp, const float *freq_factors)
{
    float cs[1024];
    rope_table(cs, pos, hp, freq_factors);
    rope_apply(x, cs, hp);
}

/* Exposed for the unit tests (model/model_test.h declares it). */
void llmr_rope_head_for_test(float *x, int pos, const llmr_hparams *hp, const float *ff)
{
    rope_head(x, pos, hp, ff);
}
void llmr_rmsnorm_for_test(float *o, const float *x, const float *w, int n, float eps)
{
    rmsnorm(o, x, w, n, eps);
}

/* ---- pool steps ------------------------------------------------------------------------ */

static void rows_step(void *arg, int ith, int nth)
{
    fwd *f = arg;
    const int per = (f->n + nth - 1) / nth;
    const int r0 = ith * per, r1 = r0 + per < f->n ? r0 + per : f->n;
    for (int r = r0; r < r1; r++)
        f->row_fn(f, r);
}

/* Runs fn on rows [0, nrows): inline when few, else split over the pool. */
static void par_rows(fwd *f, int nrows, void (*fn)(fwd *, int))
{
    f->row_fn = fn;
    if (nrows <= INLINE_ROWS) {
        for (int r = 0; r < nrows; r++)
            fn(f, r);
        return;
    }
    int save = f->n;
    f->n = nrows;
    llmr_pool_run(f->m->pool, rows_step, f);
    f->n = save;
}

static void mm_step(void *arg, int ith, int nth)
{
    (void)ith;
    (void)nth;
    fwd *f = arg;
    int total = 0;
    for (int p = 0; p < f->n_mm; p++)
        total += f->mm_chunks[p];
    int c;
    while ((c = atomic_fetch_add_explicit(&f->next, 1, memory_order_relaxed)) < total) {
        int p = 0;
        while (c >= f->mm_chunks[p])
            c -= f->mm_chunks[p++];
        const mm_part *mp = &f->mm[p];
        const int i0 = c * f->mm_chunk;
        const int i1 = i0 + f->mm_chunk < mp->W->rows ? i0 + f->mm_chunk : (int)mp->W->rows;
        /* matmul_rows blocks the columns itself (each block's activations stay in L2
         * across this chunk's row tiles) */
        llmr_matmul_rows(mp->W->tr, f->mm_K, mp->W->data, mp->W->row_bytes, i0, i1, mp->X,
                         mp->x_stride, f->mm_rows_n, mp->Y, mp->ldy);
    }
}

/* Runs the prepared f->mm[0..n_mm) over `nrows` input rows. Chunks are multiples of 16 rows
 * (the kernels' tiles) and small enough to give every thread several. */
static void run_mm(fwd *f, int nrows, int K)
{
    const int nth = llmr_pool_size(f->m->pool);
    int64_t rows = 0;
    for (int p = 0; p < f->n_mm; p++)
        rows += f->mm[p].W->rows;
    int chunk = (int)(rows / (nth * 8));
    /* Decode streams the weights from memory: a chunk is one contiguous stream, and streams
     * shorter than a few hundred KiB lose bandwidth to the prefetchers' ramp-up (measured:
     * 160-row chunks of 2048-value Q4_0 rows ran at 15-16 GB/s, 320-640 rows at 17-18). */
    if (nrows <= INLINE_ROWS) {
        const int64_t want = (int64_t)(DECODE_CHUNK_BYTES / f->mm[0].W->row_bytes);
        const int64_t cap = rows / (nth * 2);
        chunk = (int)(want > chunk ? (want < cap ? want : cap > chunk ? cap : chunk) : chunk);
    }
    chunk = (chunk + 15) / 16 * 16;
    if (chunk < 16)
        chunk = 16;
    f->mm_chunk = chunk;
    for (int p = 0; p < f->n_mm; p++)
        f->mm_chunks[p] = (int)((f->mm[p].W->rows + chunk - 1) / chunk);
    f->mm_rows_n = nrows;
    f->mm_K = K;
    atomic_store_explicit(&f->next, 0, memory_order_relaxed);
    llmr_pool_run(f->m->pool, mm_step, f);
}

/* Which xq slot holds activations for weight W among the group's weights (one slot per
 * distinct vec_dot_type, in order of first appearance). */
static int xq_slot(const llmr_mat *const *g, int ng, int i)
{
    int slot = 0;
    for (int j = 0; j < i; j++) {
        bool seen = false;
        for (int k = 0; k < j; k++)
            seen |= g[k]->tr->vec_dot_type == g[j]->tr->vec_dot_type;
        if (!seen) {
            if (g[j]->tr->vec_dot_type == g[i]->tr->vec_dot_type)
                return slot;
            slot++;
        }
    }
    return slot;
}

/* Converts row r of src (K floats) for every distinct vec_dot_type of the group. F32 needs
 * no conversion: the product reads src directly. */
static void quant_row(fwd *f, const llmr_mat *const *g, int ng, const float *src, int K, int r)
{
    for (int i = 0; i < ng; i++) {
        uint32_t vt = g[i]->tr->vec_dot_type;
        if (vt == LLMR_TYPE_F32)
            continue;
        bool first = true;
        for (int j = 0; j < i; j++)
            first &= g[j]->tr->vec_dot_type != vt;
        if (!first)
            continue;
        uint8_t *dst = f->w->xq[xq_slot(g, ng, i)] + (size_t)r * f->w->xq_stride;
        llmr_traits(vt)->from_float(src, dst, K);
    }
}

/* Sets up f->mm for group g reading `src` (rows of K floats, ld floats apart). */
static void prep_mm(fwd *f, const llmr_mat *const *g, float *const *Y, const size_t *ldy, int ng,
                    const float *src, size_t ld)
{
    f->n_mm = ng;
    for (int i = 0; i < ng; i++) {
        f->mm[i].W = g[i];
        f->mm[i].Y = Y[i];
        f->mm[i].ldy = ldy[i];
        if (g[i]->tr->vec_dot_type == LLMR_TYPE_F32) {
            f->mm[i].X = src;
            f->mm[i].x_stride = ld * sizeof(float);
        } else {
            f->mm[i].X = f->w->xq[xq_slot(g, ng, i)];
            f->mm[i].x_stride = f->w->xq_stride;
        }
    }
}

/* ---- row steps --------------------------------------------------------------------------- */

static void row_embed(fwd *f, int r)
{
    const llmr_hparams *hp = &f->m->hp;
    rope_table(f->w->rope_cs + (size_t)r * hp->n_rot, f->w->row_pos[r], hp, f->m->rope_freqs);
    const llmr_mat *E = &f->m->tok_embd;
    const uint8_t *row = (const uint8_t *)E->data + (size_t)f->tokens[r] * E->row_bytes;
    const int n_embd = f->m->hp.n_embd;
    if (E->type == LLMR_TYPE_F32)
        memcpy(f->w->x + (size_t)r * n_embd, row, (size_t)n_embd * sizeof(float));
    else
        E->tr->to_float(row, f->w->x + (size_t)r * n_embd, n_embd);
}

static void row_attn_in(fwd *f, int r)
{
    const llmr_hparams *hp = &f->m->hp;
    const int E = hp->n_embd;
    float *x = f->w->x + (size_t)r * E, *xn = f->w->xn + (size_t)r * E;
    if (f->layer > 0) {                     /* residual of the previous layer's FFN */
        const float *t = f->w->t + (size_t)r * E;
        for (int i = 0; i < E; i++)
            x[i] += t[i];
    }
    rmsnorm(xn, x, f->L->attn_norm.data, E, hp->rms_eps);
    const llmr_mat *g[3] = {&f->L->wq, &f->L->wk, &f->L->wv};
    quant_row(f, g, 3, xn, E, r);
}

static void add_bias(float *y, const float *b, int n)
{
    if (b)
        for (int i = 0; i < n; i++)
            y[i] += b[i];
}

/* Biases, RoPE, and the store of k and v into the row's sequence cache at its position. */
static void row_rope_store(fwd *f, int r)
{
    const llmr_model *m = f->m;
    const llmr_hparams *hp = &m->hp;
    const int hd = hp->head_dim, qd = hp->n_head * hd, kvd = hp->n_head_kv * hd;
    float *q = f->w->q + (size_t)r * qd, *k = f->w->k + (size_t)r * kvd;
    float *v = f->w->v + (size_t)r * kvd;
    add_bias(q, f->L->bq, qd);
    add_bias(k, f->L->bk, kvd);
    add_bias(v, f->L->bv, kvd);
    const int pos = f->w->row_pos[r];
    const float *cs = f->w->rope_cs + (size_t)r * hp->n_rot;
    for (int h = 0; h < hp->n_head; h++)
        rope_apply(q + h * hd, cs, hp);
    for (int h = 0; h < hp->n_head_kv; h++)
        rope_apply(k + h * hd, cs, hp);

    llmr_seq *s = f->w->row_seq[r];
    if (m->kv_type == LLMR_TYPE_F16) {
        uint16_t *kc = (uint16_t *)s->k[f->layer] + (size_t)pos * kvd;
        uint16_t *vt = (uint16_t *)s->vt[f->layer];
        f->w->ops->to_f16(k, kc, kvd);
        for (int i = 0; i < kvd; i++)
            vt[(size_t)i * s->n_ctx + pos] = llmr_fp32_to_fp16(v[i]);
        f->w->ops->to_f16(q, (uint16_t *)f->w->qc + (size_t)r * qd, qd);
    } else {
        float *kc = (float *)s->k[f->layer] + (size_t)pos * kvd;
        float *vt = (float *)s->vt[f->layer];
        memcpy(kc, k, (size_t)kvd * sizeof(float));
        for (int i = 0; i < kvd; i++)
            vt[(size_t)i * s->n_ctx + pos] = v[i];
    }
}

static void row_quant_att(fwd *f, int r)
{
    const llmr_mat *g[1] = {&f->L->wo};
    const int qd = f->m->hp.n_head * f->m->hp.head_dim;
    quant_row(f, g, 1, f->w->att + (size_t)r * qd, qd, r);
}

static void row_ffn_in(fwd *f, int r)
{
    const llmr_hparams *hp = &f->m->hp;
    const int E = hp->n_embd;
    float *x = f->w->x + (size_t)r * E, *xn = f->w->xn + (size_t)r * E;
    const float *t = f->w->t + (size_t)r * E;
    for (int i = 0; i < E; i++)
        x[i] += t[i];
    rmsnorm(xn, x, f->L->ffn_norm.data, E, hp->rms_eps);
    const llmr_mat *g[2] = {&f->L->w_gate, &f->L->w_up};
    quant_row(f, g, 2, xn, E, r);
}

static void row_swiglu(fwd *f, int r)
{
    const int F = f->m->hp.n_ff;
    float *a = f->w->hb + (size_t)r * F;
    const float *b = f->w->hb2 + (size_t)r * F;
    f->w->ops->swiglu(a, b, F);
    const llmr_mat *g[1] = {&f->L->w_down};
    quant_row(f, g, 1, a, F, r);
}

/* Output row k (input row out_rows[k]): last residual, final norm, conversion. */
static void row_final(fwd *f, int k)
{
    const llmr_hparams *hp = &f->m->hp;
    const int E = hp->n_embd, r = f->w->out_rows[k];
    float *x = f->w->x + (size_t)r * E, *xn = f->w->xn + (size_t)k * E;
    const float *t = f->w->t + (size_t)r * E;
    for (int i = 0; i < E; i++)
        x[i] += t[i];
    rmsnorm(xn, x, f->m->out_norm.data, E, hp->rms_eps);
    const llmr_mat *g[1] = {&f->m->output};
    quant_row(f, g, 1, xn, E, k);
}

/* ---- attention ------------------------------------------------------------------------- */

static void attn_step(void *arg, int ith, int nth)
{
    (void)nth;
    fwd *f = arg;
    const llmr_model *m = f->m;
    const llmr_hparams *hp = &m->hp;
    const int hd = hp->head_dim, qd = hp->n_head * hd, kvd = hp->n_head_kv * hd;
    const int group = hp->n_head / hp->n_head_kv;
    const llmr_type_traits *tk = llmr_traits((uint32_t)m->kv_type);
    const size_t esz = m->kv_type == LLMR_TYPE_F16 ? 2 : 4;
    const uint8_t *qsrc = m->kv_type == LLMR_TYPE_F16 ? f->w->qc : (const uint8_t *)f->w->q;
    const float scale = 1.0f / sqrtf((float)hd);
    float *sc = f->w->sc + (size_t)ith * ATT_SCRATCH;
    uint8_t *sp = f->w->sp + (size_t)ith * ATT_SCRATCH * esz;
    int t;
    while ((t = atomic_fetch_add_explicit(&f->next, 1, memory_order_relaxed)) < f->att_tasks) {
        /* task -> (segment, head, tile) */
        int si = 0;
        for (;; si++) {
            const int ntile = (f->segs[si].n + f->att_tiles[si] - 1) / f->att_tiles[si];
            if (t < ntile * hp->n_head)
                break;
            t -= ntile * hp->n_head;
        }
        const segment *sg = &f->segs[si];
        const int T = f->att_tiles[si], h = t % hp->n_head, tile = t / hp->n_head;
        const int j0 = tile * T, j1 = j0 + T < sg->n ? j0 + T : sg->n, nj = j1 - j0;
        const int nkv = sg->pos + j1, g = h / group;
        const llmr_seq *s = sg->s;

        /* scores[j][i] = k_i . q_j over the cached positions of this head's KV group */
        const uint8_t *K = s->k[f->layer] + (size_t)g * hd * esz;
        const uint8_t *Q = qsrc + ((size_t)(sg->row0 + j0) * qd + (size_t)h * hd) * esz;
        llmr_matmul_rows(tk, hd, K, (size_t)kvd * esz, 0, nkv, Q, (size_t)qd * esz, nj, sc,
                         (size_t)nkv);
        for (int j = 0; j < nj; j++) {
            float *row = sc + (size_t)j * nkv;
            f->w->ops->softmax(row, nkv, sg->pos + j0 + j + 1, scale);
            if (esz == 2)
                f->w->ops->to_f16(row, (uint16_t *)sp + (size_t)j * nkv, nkv);
        }
        /* out[j][d] = sum_i p[j][i] v[i][d]: rows of the transposed V dotted with p */
        const uint8_t *V = s->vt[f->layer] + (size_t)g * hd * s->n_ctx * esz;
        const uint8_t *P = esz == 2 ? sp : (const uint8_t *)sc;
        float *out = f->w->att + (size_t)(sg->row0 + j0) * qd + (size_t)h * hd;
        llmr_matmul_rows(tk, nkv, V, (size_t)s->n_ctx * esz, 0, hd, P, (size_t)nkv * esz, nj,
                         out, (size_t)qd);
    }
}

static void run_attention(fwd *f)
{
    int tasks = 0;
    for (int si = 0; si < f->n_segs; si++) {
        const segment *sg = &f->segs[si];
        /* Query tiles of at most ATT_TILE rows: a tile scores the positions up to its own
         * last row, so small tiles skip most of the masked (future) half of the square. */
        int T = ATT_SCRATCH / (sg->pos + sg->n);
        T = T > ATT_TILE ? ATT_TILE : T;
        T = T < 1 ? 1 : T > sg->n ? sg->n : T;
        f->att_tiles[si] = T;
        tasks += (sg->n + T - 1) / T * f->m->hp.n_head;
    }
    f->att_tasks = tasks;
    atomic_store_explicit(&f->next, 0, memory_order_relaxed);
    llmr_pool_run(f->m->pool, attn_step, f);
}

/* ---- the pass ---------------------------------------------------------------------------- */

static void forward_layer(fwd *f)
{
    const llmr_hparams *hp = &f->m->hp;
    const int E = hp->n_embd, qd = hp->n_head * hp->head_dim, kvd = hp->n_head_kv * hp->head_dim;
    const llmr_layer *L = f->L;
    struct llmr_work *w = f->w;

    par_rows(f, f->n, row_attn_in);
    {
        const llmr_mat *g[3] = {&L->wq, &L->wk, &L->wv};
        float *Y[3] = {w->q, w->k, w->v};
        size_t ld[3] = {(size_t)qd, (size_t)kvd, (size_t)kvd};
        prep_mm(f, g, Y, ld, 3, w->xn, (size_t)E);
        run_mm(f, f->n, E);
    }
    par_rows(f, f->n, row_rope_store);
    run_attention(f);
    par_rows(f, f->n, row_quant_att);
    {
        const llmr_mat *g[1] = {&L->wo};
        float *Y[1] = {w->t};
        size_t ld[1] = {(size_t)E};
        prep_mm(f, g, Y, ld, 1, w->att, (size_t)qd);
        run_mm(f, f->n, qd);
    }
    par_rows(f, f->n, row_ffn_in);
    {
        const llmr_mat *g[2] = {&L->w_gate, &L->w_up};
        float *Y[2] = {w->hb, w->hb2};
        size_t ld[2] = {(size_t)hp->n_ff, (size_t)hp->n_ff};
        prep_mm(f, g, Y, ld, 2, w->xn, (size_t)E);
        run_mm(f, f->n, E);
    }
    par_rows(f, f->n, row_swiglu);
    {
        const llmr_mat *g[1] = {&L->w_down};
        float *Y[1] = {w->t};
        size_t ld[1] = {(size_t)E};
        prep_mm(f, g, Y, ld, 1, w->hb, (size_t)hp->n_ff);
        run_mm(f, f->n, hp->n_ff);
    }
}

/* Evaluates the rows described by f (tokens, segments, out_rows set) and writes the logits.
 * Returns false when f->ab asked to stop (checked before each layer; nothing is written to
 * the logits then). */
static bool forward(fwd *f)
{
    llmr_model *m = f->m;
    const llmr_hparams *hp = &m->hp;
    struct llmr_work *w = f->w;
    for (int si = 0; si < f->n_segs; si++)
        for (int j = 0; j < f->segs[si].n; j++) {
            w->row_pos[f->segs[si].row0 + j] = f->segs[si].pos + j;
            w->row_seq[f->segs[si].row0 + j] = f->segs[si].s;
        }
    par_rows(f, f->n, row_embed);
    for (int l = 0; l < hp->n_layer; l++) {
        if (f->ab && f->ab->fn(f->ab->user))
            return false;
        f->layer = l;
        f->L = &m->layers[l];
        forward_layer(f);
    }
    par_rows(f, f->n_out, row_final);
    const llmr_mat *g[1] = {&m->output};
    float *Y[1] = {f->logits};
    size_t ld[1] = {(size_t)hp->n_vocab};
    prep_mm(f, g, Y, ld, 1, w->xn, (size_t)hp->n_embd);
    run_mm(f, f->n_out, hp->n_embd);
    return true;
}

/* ---- work area and sequences ------------------------------------------------------------- */

static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

void llmr_work_free(struct llmr_work *w)
{
    if (!w)
        return;
    free(w->x); free(w->xn); free(w->q); free(w->k); free(w->v); free(w->att);
    free(w->t); free(w->hb); free(w->hb2); free(w->qc); free(w->sc); free(w->sp);
    for (int i = 0; i < MAX_XQ; i++)
        free(w->xq[i]);
    free(w->rope_cs); free(w->row_pos); free(w->row_seq); free(w->out_rows); free(w->blogits);
    free(w->btok);
    free(w);
}

/* Buffers are malloc'd for LLMR_UBATCH rows but pages are only touched for the rows used,
 * so one-token decoding keeps a small resident set. */
int llmr_work_new(llmr_model *m, struct llmr_work **out, llmr_err *err)
{
    const llmr_hparams *hp = &m->hp;
    struct llmr_work *w = calloc(1, sizeof *w);
    if (!w)
        return llmr_err_set(err, LLMR_ERR_NOMEM, "out of memory for the work area");
    const size_t cap = LLMR_UBATCH, E = (size_t)hp->n_embd, F = (size_t)hp->n_ff;
    const size_t qd = (size_t)hp->n_head * hp->head_dim, kvd = (size_t)hp->n_head_kv * hp->head_dim;
    const int nth = m->n_threads;
    w->cap = (int)cap;
    /* widest converted activation row over every weight and input length */
    size_t xs = 0;
    const size_t Ks[3] = {E, qd, F};
    for (int t = 0; t < LLMR_TYPE_COUNT; t++)
        for (int i = 0; i < 3; i++)
            if (llmr_traits((uint32_t)t))
                xs = max_sz(xs, llmr_row_size(llmr_traits((uint32_t)t)->vec_dot_type,
                                              (int64_t)Ks[i]));
    w->xq_stride = (xs + 63) / 64 * 64;
    w->x = malloc(cap * E * sizeof(float));
    w->xn = malloc(cap * E * sizeof(float));
    w->q = malloc(cap * qd * sizeof(float));
    w->k = malloc(cap * kvd * sizeof(float));
    w->v = malloc(cap * kvd * sizeof(float));
    w->att = malloc(cap * qd * sizeof(float));
    w->t = malloc(cap * E * sizeof(float));
    w->hb = malloc(cap * F * sizeof(float));
    w->hb2 = malloc(cap * F * sizeof(float));
    w->qc = malloc(cap * qd * 2);
    w->sc = malloc((size_t)nth * ATT_SCRATCH * sizeof(float));
    w->sp = malloc((size_t)nth * ATT_SCRATCH * 2);
    bool ok = w->x && w->xn && w->q && w->k && w->v && w->att && w->t && w->hb && w->hb2 &&
              w->qc && w->sc && w->sp;
    for (int i = 0; i < MAX_XQ && ok; i++)
        ok = (w->xq[i] = malloc(cap * w->xq_stride)) != NULL;
    w->rope_cs = malloc(cap * (size_t)hp->n_rot * sizeof(float));
    w->ops = llmr_rowops_get();
    w->row_pos = malloc(cap * sizeof(int));
    w->row_seq = malloc(cap * sizeof(llmr_seq *));
    w->out_rows = malloc(cap * sizeof(int));
    w->btok = malloc(cap * sizeof(int32_t));
    if (!ok || !w->row_pos || !w->row_seq || !w->out_rows || !w->rope_cs || !w->btok) {
        llmr_work_free(w);
        return llmr_err_set(err, LLMR_ERR_NOMEM, "out of memory for the work area");
    }
    *out = w;
    return LLMR_OK;
}

int llmr_seq_new(llmr_model *m, int n_ctx, llmr_seq **out)
{
    *out = NULL;
    if (n_ctx <= 0)
        n_ctx = m->n_ctx;
    if (n_ctx > (1 << 24))
        return llmr_err_set(&m->err, LLMR_ERR_ARG, "context length %d is too large", n_ctx);
    const llmr_hparams *hp = &m->hp;
    const size_t esz = m->kv_type == LLMR_TYPE_F16 ? 2 : 4;
    const size_t kvd = (size_t)hp->n_head_kv * hp->head_dim;
    uint64_t per, all;
    if (!llmr_mul_ok((uint64_t)n_ctx * kvd, esz, &per) || !llmr_mul_ok(per, 2ull * hp->n_layer, &all))
        return llmr_err_set(&m->err, LLMR_ERR_TOO_BIG, "KV cache of %d positions is too large",
                            n_ctx);
    llmr_seq *s = calloc(1, sizeof *s);
    if (!s)
        return llmr_err_set(&m->err, LLMR_ERR_NOMEM, "out of memory for a sequence");
    s->m = m;
    s->n_ctx = n_ctx;
    s->k = calloc((size_t)hp->n_layer, sizeof *s->k);
    s->vt = calloc((size_t)hp->n_layer, sizeof *s->vt);
    /* calloc: large blocks come zeroed from mmap and stay unresident until written; V rows
     * beyond n_past are read (times a zero probability), so they must not be NaN garbage. */
    s->kv_mem = calloc(1, (size_t)all);
    s->logits_cap = (size_t)hp->n_vocab;
    s->logits = malloc(s->logits_cap * sizeof(float));
    if (!s->k || !s->vt || !s->kv_mem || !s->logits) {
        llmr_seq_free(s);
        return llmr_err_set(&m->err, LLMR_ERR_NOMEM,
                            "out of memory for a KV cache of %d positions (%llu bytes)", n_ctx,
                            (unsigned long long)all);
    }
    for (int l = 0; l < hp->n_layer; l++) {
        s->k[l] = s->kv_mem + (size_t)(2 * l) * per;
        s->vt[l] = s->kv_mem + (size_t)(2 * l + 1) * per;
    }
    *out = s;
    return LLMR_OK;
}

void llmr_seq_free(llmr_seq *s)
{
    if (!s)
        return;
    free(s->k);
    free(s->vt);
    free(s->kv_mem);
    free(s->logits);
    free(s);
}

int llmr_seq_copy_range(llmr_seq *dst, const llmr_seq *src, int p0, int p1)
{
    if (src->m != dst->m || src == dst)
        return llmr_err_set(&dst->err, LLMR_ERR_ARG,
                            "a cache range is copied between two sequences of one model");
    if (p0 < 0 || p0 > p1 || p0 > dst->n_past || p1 > src->n_past || p1 > dst->n_ctx)
        return llmr_err_set(&dst->err, LLMR_ERR_ARG,
                            "cannot copy positions [%d, %d): the source holds %d, the "
                            "destination %d of %d", p0, p1, src->n_past, dst->n_past,
                            dst->n_ctx);
    const llmr_hparams *hp = &dst->m->hp;
    const size_t esz = dst->m->kv_type == LLMR_TYPE_F16 ? 2 : 4;
    const size_t kvd = (size_t)hp->n_head_kv * hp->head_dim, n = (size_t)(p1 - p0);
    for (int l = 0; l < hp->n_layer; l++) {
        /* K: one row of kvd values per position; V transposed: one run per dimension */
        memcpy(dst->k[l] + (size_t)p0 * kvd * esz, src->k[l] + (size_t)p0 * kvd * esz,
               n * kvd * esz);
        for (size_t d = 0; d < kvd; d++)
            memcpy(dst->vt[l] + (d * (size_t)dst->n_ctx + (size_t)p0) * esz,
                   src->vt[l] + (d * (size_t)src->n_ctx + (size_t)p0) * esz, n * esz);
    }
    dst->n_past = p1;
    return LLMR_OK;
}

int llmr_seq_n_ctx(const llmr_seq *s) { return s->n_ctx; }
const char *llmr_seq_errmsg(const llmr_seq *s) { return s->err.msg; }
const float *llmr_seq_logits(const llmr_seq *s) { return s->logits; }

static int check_tokens(llmr_seq *s, const int32_t *tokens, int n)
{
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= s->m->hp.n_vocab)
            return llmr_err_set(&s->err, LLMR_ERR_ARG,
                                "token id %d (at index %d) is outside the vocabulary [0, %d)",
                                (int)tokens[i], i, s->m->hp.n_vocab);
    return LLMR_OK;
}

int llmr_seq_eval(llmr_seq *s, const int32_t *tokens, int n, int pos, bool all,
                  const float **logits)
{
    llmr_model *m = s->m;
    const size_t nv = (size_t)m->hp.n_vocab;
    if (n < 1 || !tokens)
        return llmr_err_set(&s->err, LLMR_ERR_ARG, "eval needs at least one token");
    if (pos < 0 || pos > s->n_past)
        return llmr_err_set(&s->err, LLMR_ERR_ARG,
                            "position %d: only positions up to %d are in the cache", pos,
                            s->n_past);
    if ((int64_t)pos + n > s->n_ctx)
        return llmr_err_set(&s->err, LLMR_ERR_CONTEXT,
                            "%d tokens at position %d exceed the context of %d positions", n,
                            pos, s->n_ctx);
    int rc = check_tokens(s, tokens, n);
    if (rc)
        return rc;
    if (all && (size_t)n * nv > s->logits_cap) {
        float *p = realloc(s->logits, (size_t)n * nv * sizeof(float));
        if (!p)
            return llmr_err_set(&s->err, LLMR_ERR_NOMEM, "out of memory for %d rows of logits", n);
        s->logits = p;
        s->logits_cap = (size_t)n * nv;
    }
    pthread_mutex_lock(&m->run_lock);
    for (int done = 0; done < n;) {
        const int rows = n - done < m->work->cap ? n - done : m->work->cap;
        segment sg = {s, pos + done, 0, rows};
        fwd f = {.m = m, .w = m->work, .tokens = tokens + done, .n = rows, .segs = &sg,
                 .n_segs = 1};
        if (all) {
            f.n_out = rows;
            for (int r = 0; r < rows; r++)
                m->work->out_rows[r] = r;
            f.logits = s->logits + (size_t)done * nv;
        } else {
            f.n_out = 1;
            m->work->out_rows[0] = rows - 1;
            f.logits = s->logits;
        }
        (void)forward(&f);   /* no abort hook: always completes */
        done += rows;
        s->n_past = pos + done;
    }
    pthread_mutex_unlock(&m->run_lock);
    *logits = s->logits;
    return LLMR_OK;
}

/* Checks one part of a mixed batch before anything is evaluated. */
static int check_part(const llmr_batch_part *p, const llmr_model *m)
{
    llmr_seq *s = p->seq;
    if (s->m != m)
        return llmr_err_set(&s->err, LLMR_ERR_ARG, "batched sequences must share a model");
    if (p->n < 1 || !p->tokens)
        return llmr_err_set(&s->err, LLMR_ERR_ARG, "a batched sequence needs at least one token");
    if (p->pos < 0 || p->pos > s->n_past)
        return llmr_err_set(&s->err, LLMR_ERR_ARG,
                            "position %d: only positions up to %d are in the cache", p->pos,
                            s->n_past);
    if ((int64_t)p->pos + p->n > s->n_ctx)
        return llmr_err_set(&s->err, LLMR_ERR_CONTEXT,
                            "%d tokens at position %d exceed the context of %d positions", p->n,
                            p->pos, s->n_ctx);
    return check_tokens(s, p->tokens, p->n);
}

int llmr_seq_eval_mixed(const llmr_batch_part *parts, int n, const llmr_abort *ab, int *bad)
{
    if (bad)
        *bad = -1;
    if (n < 1 || n > LLMR_MAX_BATCH_SEQS)
        return LLMR_ERR_ARG;   /* no sequence to carry a message: the count itself is wrong */
    llmr_model *m = parts[0].seq->m;
    int rows = 0;
    for (int i = 0; i < n; i++) {
        int rc = check_part(&parts[i], m);
        for (int k = 0; k < i && !rc; k++)
            if (parts[k].seq == parts[i].seq)
                rc = llmr_err_set(&parts[i].seq->err, LLMR_ERR_ARG,
                                  "a sequence appears twice in one batch");
        if (!rc && parts[i].n > m->work->cap - rows)
            rc = llmr_err_set(&parts[i].seq->err, LLMR_ERR_ARG,
                              "a batch holds at most %d rows", m->work->cap);
        if (rc) {
            if (bad)
                *bad = i;
            return rc;
        }
        rows += parts[i].n;
    }
    const size_t nv = (size_t)m->hp.n_vocab;
    pthread_mutex_lock(&m->run_lock);
    struct llmr_work *w = m->work;
    if ((size_t)n * nv > w->blogits_cap) {
        float *p = realloc(w->blogits, (size_t)n * nv * sizeof(float));
        if (!p) {
            pthread_mutex_unlock(&m->run_lock);
            if (bad)
                *bad = 0;
            return llmr_err_set(&parts[0].seq->err, LLMR_ERR_NOMEM, "out of memory for logits");
        }
        w->blogits = p;
        w->blogits_cap = (size_t)n * nv;
    }
    /* Segments and tokens in row order; each part's last row gives its logits. */
    segment sg[LLMR_MAX_BATCH_SEQS];
    int32_t *tok = w->btok;
    for (int i = 0, r = 0; i < n; r += parts[i].n, i++) {
        sg[i] = (segment){parts[i].seq, parts[i].pos, r, parts[i].n};
        memcpy(tok + r, parts[i].tokens, (size_t)parts[i].n * sizeof *tok);
        w->out_rows[i] = r + parts[i].n - 1;
    }
    fwd f = {.m = m, .w = w, .tokens = tok, .n = rows, .segs = sg, .n_segs = n, .n_out = n,
             .logits = w->blogits, .ab = ab};
    bool done = forward(&f);
    for (int i = 0; i < n; i++) {
        llmr_seq *s = parts[i].seq;
        if (done)
            memcpy(s->logits, w->blogits + (size_t)i * nv, nv * sizeof(float));
        /* Cut short, the pass left positions from pos on half-written in some layers. */
        s->n_past = done ? parts[i].pos + parts[i].n
                         : (s->n_past < parts[i].pos ? s->n_past : parts[i].pos);
    }
    pthread_mutex_unlock(&m->run_lock);
    return done ? LLMR_OK : LLMR_ERR_CANCELLED;
}

int llmr_seq_eval_batch(llmr_seq *const *seqs, const int32_t *tokens, const int *pos, int n)
{
    if (n < 1 || n > LLMR_MAX_BATCH_SEQS)
        return LLMR_ERR_ARG;
    llmr_batch_part parts[LLMR_MAX_BATCH_SEQS];
    for (int i = 0; i < n; i++)
        parts[i] = (llmr_batch_part){seqs[i], tokens + i, 1, pos[i]};
    return llmr_seq_eval_mixed(parts, n, NULL, NULL);
}
