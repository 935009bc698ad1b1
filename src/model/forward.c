/* forward.c - the llama-family forward pass, top to bottom in one file (as llama2.c has it).
 *
 * One pass evaluates a batch of rows (tokens). Consecutive rows of the same sequence at
 * consecutive positions form a segment: a prompt chunk is one segment, a batched decode step
 * has one segment per sequence. Per layer (llama.cpp's graph for LLM_ARCH_LLAMA / QWEN2):
 *
 *   xn = rmsnorm(x) * attn_norm
 *   q, k, v = Wq xn (+bq), Wk xn (+bk), Wv xn (+bv)          one pool step for all three
 *   q, k = rope(q, pos), rope(k, pos); k, v -> the sequence's KV cache
 *   att = softmax(q K^T / sqrt(head_dim), causal) V         tiled, online (attention.c)
 *   x += Wo att
 *   xn = rmsnorm(x) * ffn_norm
 *   x += Wdown (silu(Wgate xn) * Wup xn)
 *
 * and at the end logits = Woutput (rmsnorm(x) * output_norm) for the rows asked for.
 * forward_layer runs these lines in this order, each residual add where it stands here.
 * The families of arch_dense.c switch on steps of their own, each in the row step where the
 * formula puts it: embeddings times sqrt(n_embd), per-head RMSNorms of q and k before RoPE,
 * a second RoPE table for gemma3's local layers, soft-capped and sliding-window attention,
 * RMSNorms of the attention and FFN outputs before their residual adds, GeGLU, and soft-capped
 * logits; mixtures of experts (arch_moe.c) replace the FFN by moe_ffn. llama and qwen2 meet
 * only one well-predicted test per row for each.
 * The sequences' KV caches live in kv_cache.c; the work area and the eval entry points that
 * lay out rows and segments for a pass in eval.c.
 *
 * Numerics follow llama.cpp, so that its logits are reproducible: before each matrix product
 * the activations are converted once to the weights' vec_dot_type (Q8_0, Q8_K, F16, ...), and
 * attention converts each tile of the cache to float and computes in float (attention.c).
 *
 * Threads: matrix products split their rows into chunks taken from an atomic counter (the
 * machine is shared and noisy, so dynamic scheduling beats a fixed split); row-wise steps
 * split rows statically, and run inline on the calling thread when there are few rows.
 */
#include "model/forward.h"

#include "core/threadpool.h"
#include "core/util.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Up to this many rows, row-wise steps run on the calling thread (no fork/join). */
#define INLINE_ROWS 4
#define DECODE_CHUNK_BYTES (384u << 10)   /* see run_mm */
#define DECODE_TAIL_BYTES (64u << 10)

/* ---- one pass ------------------------------------------------------------------------- */

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
    const llmr_segment *segs;
    int n_segs;
    int n_out;               /* rows whose logits are wanted: w->out_rows */
    float *logits;           /* destination, n_out x n_vocab */
    const llmr_abort *ab;    /* asked before each layer whether to stop, or NULL */
    const llmr_layer *L;
    int layer;
    /* current step */
    void (*row_fn)(struct fwd *f, int r);
    int rows_n;              /* rows of the current row step: n, or n_out for the last */
    mm_part mm[3];
    int n_mm, mm_rows_n, mm_K, mm_chunk, mm_chunk_min, mm_total;
    /* the expert being run (moe_ffn): its weights, rows, their weights, its FFN width */
    llmr_mat me_gate, me_up, me_down;
    const int *me_rows;
    const float *me_w;
    int me_F;
    _Atomic int next;
} fwd;

/* ---- small math (plain C; the compiler vectorizes these) ------------------------------ */

/* ggml_rms_norm: mean of squares accumulated in double, then scale by 1/sqrt(mean + eps). */
void llmri_rmsnorm(float *o, const float *x, const float *w, int n, float eps)
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
static void rope_table(float *cs, int pos, int n_rot, float base, float fscale, float mscale,
                       const float *freq_factors)
{
    const float theta_scale = powf(base, -2.0f / (float)n_rot);
    float theta = (float)pos;
    for (int i = 0; i < n_rot / 2; i++) {
        const float ff = freq_factors ? freq_factors[i] : 1.0f;
        const float th = fscale * (theta / ff);
        cs[2 * i] = cosf(th) * mscale;
        cs[2 * i + 1] = sinf(th) * mscale;
        theta *= theta_scale;
    }
}

/* rope_mscale (phi3's attn_factor) multiplies cos and sin, as ggml's attn_factor does. */
void llmri_rope_table(float *cs, int pos, const llmr_hparams *hp, const float *freq_factors)
{
    rope_table(cs, pos, hp->n_rot, hp->rope_base, hp->rope_scale,
               hp->rope_mscale > 0.0f ? hp->rope_mscale : 1.0f, freq_factors);
}

void llmri_rope_table_base(float *cs, int pos, const llmr_hparams *hp, float base, float scale)
{
    rope_table(cs, pos, hp->n_rot, base, scale, 1.0f, NULL);
}

/* Only the first n_rot values of a head rotate. NORM rotates (x[2i], x[2i+1]); NEOX rotates
 * (x[i], x[i + n_rot/2]). */
void llmri_rope_apply(float *x, const float *cs, const llmr_hparams *hp)
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

/* ---- pool steps ------------------------------------------------------------------------ */

static void rows_step(void *arg, int ith, int nth)
{
    fwd *f = arg;
    const int per = (f->rows_n + nth - 1) / nth;
    const int r0 = ith * per, r1 = r0 + per < f->rows_n ? r0 + per : f->rows_n;
    for (int r = r0; r < r1; r++)
        f->row_fn(f, r);
}

/* Runs fn on rows [0, nrows): inline when few, else split over the pool. */
static void par_rows(fwd *f, int nrows, void (*fn)(fwd *, int))
{
    if (nrows <= INLINE_ROWS) {
        for (int r = 0; r < nrows; r++)
            fn(f, r);
        return;
    }
    f->row_fn = fn;
    f->rows_n = nrows;
    llmri_pool_run(f->m->pool, rows_step, f);
}

/* Claims the next chunk of the current product: rows [*i0, *i1) of part *p, or 0 when none
 * is left. The parts' rows count as one range; a chunk never crosses a part's end. Chunks
 * are mm_chunk rows while much is left and shrink towards mm_chunk_min (a quarter of what is
 * left per thread: guided scheduling) so that the threads finish together: the pool's
 * return is a barrier, and a thread that takes a full decode chunk last keeps the other
 * waiting for all of it. */
static int mm_claim(fwd *f, int nth, int *p, int *i0, int *i1)
{
    int s = atomic_load_explicit(&f->next, memory_order_relaxed), sz;
    do {
        if (s >= f->mm_total)
            return 0;
        sz = (f->mm_total - s) / (4 * nth);
        sz = sz > f->mm_chunk ? f->mm_chunk : sz < f->mm_chunk_min ? f->mm_chunk_min : sz;
        sz = sz < 16 ? 16 : (sz + 15) / 16 * 16;
        int q = 0, r = s;
        while (r >= (int)f->mm[q].W->rows)
            r -= (int)f->mm[q++].W->rows;
        if (sz > (int)f->mm[q].W->rows - r)
            sz = (int)f->mm[q].W->rows - r;
        *p = q;
        *i0 = r;
        *i1 = r + sz;
    } while (!atomic_compare_exchange_weak_explicit(&f->next, &s, s + sz, memory_order_relaxed,
                                                    memory_order_relaxed));
    return 1;
}

static void mm_step(void *arg, int ith, int nth)
{
    (void)ith;
    fwd *f = arg;
    int p, i0, i1;
    while (mm_claim(f, nth, &p, &i0, &i1)) {
        const mm_part *mp = &f->mm[p];
        /* matmul_rows blocks the columns itself (each block's activations stay in L2
         * across this chunk's row tiles) */
        llmri_matmul_rows(mp->W->tr, f->mm_K, mp->W->data, mp->W->row_bytes, i0, i1, mp->X,
                         mp->x_stride, f->mm_rows_n, mp->Y, mp->ldy);
    }
}

/* Runs the prepared f->mm[0..n_mm) over `nrows` input rows. Chunks are multiples of 16 rows
 * (the kernels' tiles) and small enough to give every thread several. */
static void run_mm(fwd *f, int nrows, int K)
{
    const int nth = llmri_pool_size(f->m->pool);
    int64_t rows = 0;
    for (int p = 0; p < f->n_mm; p++)
        rows += f->mm[p].W->rows;
    int chunk = (int)(rows / (nth * 8)), tail = 0;
    /* Decode streams the weights from memory: a chunk is one contiguous stream, and streams
     * shorter than a few hundred KiB lose bandwidth to the prefetchers' ramp-up (measured:
     * 160-row chunks of 2048-value Q4_0 rows ran at 15-16 GB/s, 320-640 rows at 17-18); only
     * the last few chunks of a product are shorter (mm_claim), down to DECODE_TAIL_BYTES. */
    if (nrows <= INLINE_ROWS) {
        const int64_t want = (int64_t)(DECODE_CHUNK_BYTES / f->mm[0].W->row_bytes);
        const int64_t cap = rows / (nth * 2);
        chunk = (int)(want > chunk ? (want < cap ? want : cap > chunk ? cap : chunk) : chunk);
        tail = (int)(DECODE_TAIL_BYTES / f->mm[0].W->row_bytes);
    }
    chunk = (chunk + 15) / 16 * 16;
    if (chunk < 16)
        chunk = 16;
    f->mm_chunk = chunk;
    f->mm_chunk_min = nrows <= INLINE_ROWS && tail < chunk ? tail : chunk;   /* prompts: fixed */
    f->mm_total = (int)rows;
    f->mm_rows_n = nrows;
    f->mm_K = K;
    atomic_store_explicit(&f->next, 0, memory_order_relaxed);
    llmri_pool_run(f->m->pool, mm_step, f);
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
        llmri_traits(vt)->from_float(src, dst, K);
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
    float *cs = f->w->rope_cs + (size_t)r * f->w->rope_stride;
    llmri_rope_table(cs, f->w->row_pos[r], hp, f->m->rope_freqs);
    if (hp->rope_base_swa > 0.0f)
        llmri_rope_table_base(cs + hp->n_rot, f->w->row_pos[r], hp, hp->rope_base_swa, 1.0f);
    const llmr_mat *E = &f->m->tok_embd;
    const uint8_t *row = (const uint8_t *)E->data + (size_t)f->tokens[r] * E->row_bytes;
    const int n_embd = f->m->hp.n_embd;
    float *x = f->w->x + (size_t)r * n_embd;
    if (E->type == LLMR_TYPE_F32)
        memcpy(x, row, (size_t)n_embd * sizeof(float));
    else
        E->tr->to_float(row, x, n_embd);
    if (hp->embd_scale > 0.0f)
        for (int i = 0; i < n_embd; i++)
            x[i] *= hp->embd_scale;
}

/* x += t: a residual add of the product just written to t (Wo att, Wdown ...). */
static void residual(fwd *f, int r)
{
    const int E = f->m->hp.n_embd;
    float *x = f->w->x + (size_t)r * E;
    const float *t = f->w->t + (size_t)r * E;
    for (int i = 0; i < E; i++)
        x[i] += t[i];
}

/* xn = rmsnorm(x) * attn_norm, converted for Wq, Wk, Wv. */
static void row_attn_in(fwd *f, int r)
{
    const llmr_hparams *hp = &f->m->hp;
    const int E = hp->n_embd;
    const float *x = f->w->x + (size_t)r * E;
    float *xn = f->w->xn + (size_t)r * E;
    llmri_rmsnorm(xn, x, f->L->attn_norm.data, E, hp->rms_eps);
    const llmr_mat *g[3] = {&f->L->wq, &f->L->wk, &f->L->wv};
    quant_row(f, g, 3, xn, E, r);
}

static void add_bias(float *y, const float *b, int n)
{
    if (b)
        for (int i = 0; i < n; i++)
            y[i] += b[i];
}

/* n floats into a row of the cache's type (F16 through rowops: F16C where the CPU has it). */
static void store_row(int type, const float *x, uint8_t *dst, int n, const llmr_rowops *ops)
{
    if (type == LLMR_TYPE_F16)
        ops->to_f16(x, (uint16_t *)dst, n);
    else if (type == LLMR_TYPE_F32)
        memcpy(dst, x, (size_t)n * sizeof(float));
    else
        llmri_traits((uint32_t)type)->from_float(x, dst, n);
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
    if (f->L->q_norm) {   /* gemma3, qwen3: each head RMS-normed before RoPE */
        for (int h = 0; h < hp->n_head; h++)
            llmri_rmsnorm(q + h * hd, q + h * hd, f->L->q_norm, hd, hp->rms_eps);
        for (int h = 0; h < hp->n_head_kv; h++)
            llmri_rmsnorm(k + h * hd, k + h * hd, f->L->k_norm, hd, hp->rms_eps);
    }
    const int pos = f->w->row_pos[r];
    const float *cs = f->w->rope_cs + (size_t)r * f->w->rope_stride +
                      (f->L->rope_swa ? hp->n_rot : 0);
    for (int h = 0; h < hp->n_head; h++)
        llmri_rope_apply(q + h * hd, cs, hp);
    for (int h = 0; h < hp->n_head_kv; h++)
        llmri_rope_apply(k + h * hd, cs, hp);

    /* k and v into the cache in its type, each head into its own run */
    llmr_seq *s = f->w->row_seq[r];
    for (int h = 0; h < hp->n_head_kv; h++) {
        store_row(m->type_k, k + h * hd,
                  s->k[f->layer] + h * s->k_hstride + (size_t)pos * s->k_head, hd, f->w->ops);
        store_row(m->type_v, v + h * hd,
                  s->v[f->layer] + h * s->v_hstride + (size_t)pos * s->v_head, hd, f->w->ops);
    }
}

static void row_quant_att(fwd *f, int r)
{
    const llmr_mat *g[1] = {&f->L->wo};
    const int qd = f->m->hp.n_head * f->m->hp.head_dim;
    quant_row(f, g, 1, f->w->att + (size_t)r * qd, qd, r);
}

/* x += Wo att (the attention's residual), then xn = rmsnorm(x) * ffn_norm, converted for
 * Wgate and Wup. */
static void row_ffn_in(fwd *f, int r)
{
    const llmr_hparams *hp = &f->m->hp;
    const int E = hp->n_embd;
    if (f->L->attn_post_norm) {   /* gemma2, gemma3: t = rmsnorm(t) * attn_post_norm */
        float *t = f->w->t + (size_t)r * E;
        llmri_rmsnorm(t, t, f->L->attn_post_norm, E, hp->rms_eps);
    }
    residual(f, r);
    const float *x = f->w->x + (size_t)r * E;
    float *xn = f->w->xn + (size_t)r * E;
    llmri_rmsnorm(xn, x, f->L->ffn_norm.data, E, hp->rms_eps);
    if (f->L->ffn_gate_inp.data) {   /* experts: the router first (moe_ffn) */
        const llmr_mat *g[1] = {&f->L->ffn_gate_inp};
        quant_row(f, g, 1, xn, E, r);
        return;
    }
    const llmr_mat *g[2] = {&f->L->w_gate, &f->L->w_up};
    quant_row(f, g, 2, xn, E, r);
}

static void row_swiglu(fwd *f, int r)
{
    const int F = f->m->hp.n_ff;
    float *a = f->w->hb + (size_t)r * F;
    const float *b = f->w->hb2 + (size_t)r * F;
    if (f->m->hp.ffn_gelu)
        f->w->ops->geglu(a, b, F);
    else
        f->w->ops->swiglu(a, b, F);
    const llmr_mat *g[1] = {&f->L->w_down};
    quant_row(f, g, 1, a, F, r);
}

/* x += t after the FFN, t RMS-normed first where the layer has ffn_post_norm (gemma2, 3). */
static void row_ffn_out(fwd *f, int r)
{
    if (f->L->ffn_post_norm) {
        const int E = f->m->hp.n_embd;
        float *t = f->w->t + (size_t)r * E;
        llmri_rmsnorm(t, t, f->L->ffn_post_norm, E, f->m->hp.rms_eps);
    }
    residual(f, r);
}

/* Output row k (input row out_rows[k]): xn = rmsnorm(x) * output_norm, converted. */
static void row_final(fwd *f, int k)
{
    const llmr_hparams *hp = &f->m->hp;
    const int E = hp->n_embd, r = f->w->out_rows[k];
    const float *x = f->w->x + (size_t)r * E;
    float *xn = f->w->xn + (size_t)k * E;
    llmri_rmsnorm(xn, x, f->m->out_norm.data, E, hp->rms_eps);
    const llmr_mat *g[1] = {&f->m->output};
    quant_row(f, g, 1, xn, E, k);
}

/* ---- attention (attention.c) ---------------------------------------------------------- */

static void run_attention(fwd *f)
{
    llmr_att_pass a = {.m = f->m, .w = f->w, .segs = f->segs, .n_segs = f->n_segs,
                       .layer = f->layer, .L = f->L};
    llmri_attention(&a);
}

/* ---- the pass ---------------------------------------------------------------------------- */

/* One product step: Y[i] = g[i] src for the ng weights (their activations already converted by
 * the row step before), over nrows rows of K values. */
static void product(fwd *f, int nrows, int ng, const llmr_mat *const *g, float *const *Y,
                    const size_t *ldy, const float *src, int K)
{
    prep_mm(f, g, Y, ldy, ng, src, (size_t)K);
    run_mm(f, nrows, K);
}

/* ---- mixture of experts ---------------------------------------------------------------- */

static void row_moe_route(fwd *f, int r)
{
    const llmr_hparams *hp = &f->m->hp;
    const size_t k = (size_t)hp->n_expert_used;
    llmri_moe_route(f->w->moe_logits + (size_t)r * hp->n_expert, hp->n_expert, (int)k,
                    hp->moe_norm_w, f->w->moe_ids + r * k, f->w->moe_w + r * k);
}

/* Row i of the current expert's rows: its normed input, gathered and converted. */
static void row_moe_gather(fwd *f, int i)
{
    const int E = f->m->hp.n_embd;
    float *xg = f->w->xg + (size_t)i * E;
    memcpy(xg, f->w->xn + (size_t)f->me_rows[i] * E, (size_t)E * sizeof(float));
    const llmr_mat *g[2] = {&f->me_gate, &f->me_up};
    quant_row(f, g, 2, xg, E, i);
}

static void row_moe_act(fwd *f, int i)
{
    const int F = f->me_F;
    float *a = f->w->hb + (size_t)i * F;
    f->w->ops->swiglu(a, f->w->hb2 + (size_t)i * F, F);
    const llmr_mat *g[1] = {&f->me_down};
    quant_row(f, g, 1, a, F, i);
}

/* t[row] += weight * the expert's output (an expert sees a row at most once: no race) */
static void row_moe_acc(fwd *f, int i)
{
    const int E = f->m->hp.n_embd;
    float *t = f->w->t + (size_t)f->me_rows[i] * E;
    const float *y = f->w->tg + (size_t)i * E, wt = f->me_w[i];
    for (int j = 0; j < E; j++)
        t[j] += wt * y[j];
}

static void row_shexp_in(fwd *f, int r)
{
    const int E = f->m->hp.n_embd;
    const llmr_mat *g[2] = {&f->L->gate_shexp, &f->L->up_shexp};
    quant_row(f, g, 2, f->w->xn + (size_t)r * E, E, r);
}

/* t += sigmoid(gate_inp_shexp . xn) * the shared expert's output (qwen2moe) */
static void row_shexp_acc(fwd *f, int r)
{
    const int E = f->m->hp.n_embd;
    const float *xn = f->w->xn + (size_t)r * E, *gw = f->L->gate_inp_shexp;
    float d = 0.0f;
    for (int j = 0; j < E; j++)
        d += xn[j] * gw[j];
    const float s = 1.0f / (1.0f + expf(-d));
    float *t = f->w->t + (size_t)r * E;
    const float *y = f->w->tg + (size_t)r * E;
    for (int j = 0; j < E; j++)
        t[j] += s * y[j];
}

static llmr_mat mat_rows(const llmr_mat *W, int64_t r0, int64_t n)
{
    llmr_mat v = *W;
    v.data = (const uint8_t *)W->data + (size_t)r0 * W->row_bytes;
    v.rows = n;
    return v;
}

/* t = the experts' weighted outputs for every row (+ the shared expert's). The router picks
 * each row's experts; rows are then grouped by expert, and each expert with rows runs once
 * over all of them, so its weights are read once per pass however many rows chose it. */
static void moe_ffn(fwd *f)
{
    const llmr_hparams *hp = &f->m->hp;
    struct llmr_work *w = f->w;
    const llmr_layer *L = f->L;
    const int n = f->n, E = hp->n_embd, X = hp->n_expert, k = hp->n_expert_used;
    const int Fe = hp->n_ff_exp, cap = w->cap;
    product(f, n, 1, &(const llmr_mat *){&L->ffn_gate_inp}, &w->moe_logits,
            &(size_t){(size_t)X}, w->xn, E);                      /* router logits */
    par_rows(f, n, row_moe_route);
    memset(w->moe_cnt, 0, (size_t)X * sizeof(int));
    for (int r = 0; r < n; r++)
        for (int j = 0; j < k; j++) {
            const int e = w->moe_ids[(size_t)r * k + j], c = w->moe_cnt[e]++;
            w->moe_rows[(size_t)e * cap + c] = r;
            w->moe_wts[(size_t)e * cap + c] = w->moe_w[(size_t)r * k + j];
        }
    memset(w->t, 0, (size_t)n * E * sizeof(float));
    for (int e = 0; e < X; e++) {
        const int cnt = w->moe_cnt[e];
        if (!cnt)
            continue;
        f->me_gate = mat_rows(&L->gate_exps, (int64_t)e * Fe, Fe);
        f->me_up = mat_rows(&L->up_exps, (int64_t)e * Fe, Fe);
        f->me_down = mat_rows(&L->down_exps, (int64_t)e * E, E);
        f->me_rows = w->moe_rows + (size_t)e * cap;
        f->me_w = w->moe_wts + (size_t)e * cap;
        f->me_F = Fe;
        par_rows(f, cnt, row_moe_gather);
        product(f, cnt, 2, (const llmr_mat *[]){&f->me_gate, &f->me_up},
                (float *[]){w->hb, w->hb2}, (size_t[]){(size_t)Fe, (size_t)Fe}, w->xg, E);
        par_rows(f, cnt, row_moe_act);
        product(f, cnt, 1, &(const llmr_mat *){&f->me_down}, &w->tg, &(size_t){(size_t)E},
                w->hb, Fe);
        par_rows(f, cnt, row_moe_acc);
    }
    if (L->gate_inp_shexp) {
        const int Fs = hp->n_ff_shexp;
        par_rows(f, n, row_shexp_in);
        product(f, n, 2, (const llmr_mat *[]){&L->gate_shexp, &L->up_shexp},
                (float *[]){w->hb, w->hb2}, (size_t[]){(size_t)Fs, (size_t)Fs}, w->xn, E);
        f->me_down = L->down_shexp;
        f->me_F = Fs;
        par_rows(f, n, row_moe_act);
        product(f, n, 1, &(const llmr_mat *){&L->down_shexp}, &w->tg, &(size_t){(size_t)E},
                w->hb, Fs);
        par_rows(f, n, row_shexp_acc);
    }
}

/* One layer over every row, the header's formula line by line. */
static void forward_layer(fwd *f)
{
    const llmr_hparams *hp = &f->m->hp;
    const int E = hp->n_embd, F = hp->n_ff, n = f->n;
    const size_t qd = (size_t)hp->n_head * hp->head_dim, kvd = (size_t)hp->n_head_kv * hp->head_dim;
    const llmr_layer *L = f->L;
    struct llmr_work *w = f->w;

    par_rows(f, n, row_attn_in);                                  /* xn = rmsnorm(x) ... */
    product(f, n, 3, (const llmr_mat *[]){&L->wq, &L->wk, &L->wv},
            (float *[]){w->q, w->k, w->v}, (size_t[]){qd, kvd, kvd}, w->xn, E);
    par_rows(f, n, row_rope_store);                               /* + b, rope, cache */
    run_attention(f);                                             /* att */
    par_rows(f, n, row_quant_att);
    product(f, n, 1, &(const llmr_mat *){&L->wo}, &w->t, &(size_t){(size_t)E}, w->att,
            (int)qd);                                             /* t = Wo att */
    par_rows(f, n, row_ffn_in);                                   /* x += t; xn = ... */
    if (L->ffn_gate_inp.data) {
        moe_ffn(f);                                               /* t = experts(xn) */
    } else {
        product(f, n, 2, (const llmr_mat *[]){&L->w_gate, &L->w_up},
                (float *[]){w->hb, w->hb2}, (size_t[]){(size_t)F, (size_t)F}, w->xn, E);
        par_rows(f, n, row_swiglu);                               /* hb = silu(hb) * hb2 */
        product(f, n, 1, &(const llmr_mat *){&L->w_down}, &w->t, &(size_t){(size_t)E}, w->hb,
                F);                                               /* t = Wdown hb */
    }
    par_rows(f, n, row_ffn_out);                                  /* x += t */
}

/* An exponent of all ones is an infinity or a NaN. An OR over integer compares, so the loop
 * vectorizes (a float reduction would not, without reassociation). */
bool llmri_row_finite(const float *x, size_t n)
{
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, x + i, sizeof u);
        bad |= (u & 0x7f800000u) == 0x7f800000u;
    }
    return !bad;
}

/* Marks the output rows whose hidden state (or logits: vals) first turned non-finite at
 * `stage` (see llmri_forward in forward.h). */
static void watch_rows(fwd *f, int stage, const float *vals, size_t stride, bool by_out_row)
{
    for (int k = 0; k < f->n_out; k++) {
        const size_t row = by_out_row ? (size_t)k : (size_t)f->w->out_rows[k];
        if (f->w->nf_stage[k] == LLMR_FINITE && !llmri_row_finite(vals + row * stride, stride))
            f->w->nf_stage[k] = stage;
    }
}

bool llmri_forward(const llmr_pass *p)
{
    llmr_model *m = p->m;
    const llmr_hparams *hp = &m->hp;
    struct llmr_work *w = m->work;
    fwd fs = {.m = m, .w = w, .tokens = p->tokens, .n = p->n, .segs = p->segs,
              .n_segs = p->n_segs, .n_out = p->n_out, .logits = p->logits, .ab = p->ab};
    fwd *f = &fs;
    for (int si = 0; si < f->n_segs; si++)
        for (int j = 0; j < f->segs[si].n; j++) {
            w->row_pos[f->segs[si].row0 + j] = f->segs[si].pos + j;
            w->row_seq[f->segs[si].row0 + j] = f->segs[si].s;
        }
    par_rows(f, f->n, row_embed);
    const size_t E = (size_t)hp->n_embd;
    for (int k = 0; k < f->n_out; k++)
        w->nf_stage[k] = LLMR_FINITE;
    watch_rows(f, 0, w->x, E, false);
    for (int l = 0; l < hp->n_layer; l++) {
        if (f->ab && f->ab->fn(f->ab->user))
            return false;
        f->layer = l;
        f->L = &m->layers[l];
        forward_layer(f);
        watch_rows(f, 1 + l, w->x, E, false);
    }
    par_rows(f, f->n_out, row_final);
    if (p->hidden) {
        memcpy(p->hidden, w->xn, (size_t)f->n_out * E * sizeof(float));
        return true;
    }
    product(f, f->n_out, 1, &(const llmr_mat *){&m->output}, &f->logits,
            &(size_t){(size_t)hp->n_vocab}, w->xn, hp->n_embd);
    for (int k = 0; hp->final_softcap > 0.0f && k < f->n_out; k++)   /* gemma2 */
        w->ops->softcap(f->logits + (size_t)k * hp->n_vocab, hp->n_vocab, hp->final_softcap);
    watch_rows(f, hp->n_layer + 1, f->logits, (size_t)hp->n_vocab, true);
    return true;
}

