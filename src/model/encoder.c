/* encoder.c - the BERT-family encoder pass (bert, nomic-bert), top to bottom, as llama.cpp's
 * build_bert graph computes it (post-norm layers):
 *
 *   x = LayerNorm(tok_embd[t] + token_types[0] (+ position_embd[pos]))      embd_norm
 *   per layer:
 *     q, k, v = Wq x + bq, Wk x + bk, Wv x + bv        bert
 *             = split(Wqkv x), then RoPE (NeoX) on q, k  nomic-bert
 *     att = softmax(q K^T / sqrt(head_dim)) V            over the input's own rows, no mask
 *     x = LayerNorm(Wo att (+ bo) + x)                    attn_output_norm
 *     f = Wdown gelu(Wup x + up_b) + down_b               bert
 *       = Wdown (silu(Wgate x) * Wup x)                   nomic-bert
 *     x = LayerNorm(f + x)                                layer_output_norm
 *
 * The hidden state after the last layer is the output: there is no final norm and no head.
 * Numerics follow llama.cpp's: activations are converted to each weight's vec_dot_type before
 * a product, attention is in F32, LayerNorm accumulates in double (ggml_norm), and GELU is
 * ggml's: the tanh form, looked up by the input rounded to F16 with the result rounded to F16
 * (ggml-cpu's GGML_GELU_FP16 table), exact outside [-10, 10].
 *
 * Buffers are sized per call for the rows of the pass (an embedding request is not the
 * per-token hot path).
 */
#include "model/encoder.h"

#include "core/threadpool.h"
#include "core/util.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENC_TILE 32          /* query rows per attention task */

/* ---- hyper-parameters and weights --------------------------------------------------------- */

int llmri_encoder_hparams(const gguf_file *gf, const char *arch, llmr_hparams *hp, llmr_err *err)
{
    char key[128];
    snprintf(key, sizeof key, "%s.attention.causal", arch);
    bool causal = false;
    if (gguf_find(gf, key) && (!gguf_get_bool(gf, key, &causal) || causal))
        return llmri_err_set(err, causal ? LLMR_ERR_UNSUPPORTED : LLMR_ERR_FORMAT,
                            "%s: %s must be the boolean false for %s (a bidirectional encoder)",
                            gf->path, key, arch);
    uint64_t ntt = 0;
    if (gguf_find(gf, "tokenizer.ggml.token_type_count") &&
        (!gguf_get_u64(gf, "tokenizer.ggml.token_type_count", &ntt) || ntt < 1 || ntt > 65536))
        return llmri_err_set(err, LLMR_ERR_FORMAT, "%s: tokenizer.ggml.token_type_count must be "
                            "an integer in [1, 65536]", gf->path);
    hp->n_token_types = (int)ntt;   /* 0: taken from token_types.weight */
    hp->encoder = true;
    return LLMR_OK;
}

static int bind_norm(const gguf_file *gf, const char *name, int64_t E, llmr_lnorm *out,
                     llmr_err *err)
{
    char n[128];
    llmr_mat w, b;
    int rc;
    snprintf(n, sizeof n, "%s.weight", name);
    if ((rc = llmri_bind(gf, n, E, 0, true, false, &w, err)))
        return rc;
    snprintf(n, sizeof n, "%s.bias", name);
    if ((rc = llmri_bind(gf, n, E, 0, true, false, &b, err)))
        return rc;
    out->w = w.data;
    out->b = b.data;
    return LLMR_OK;
}

static int bind_bias(const gguf_file *gf, const char *name, int64_t ne, const float **out,
                     llmr_err *err)
{
    llmr_mat b;
    int rc = llmri_bind(gf, name, ne, 0, true, false, &b, err);
    *out = b.data;
    return rc;
}

static int bind_layer(const gguf_file *gf, const llmr_hparams *hp, int l, llmr_enc_layer *L,
                      llmr_err *err)
{
    const int64_t E = hp->n_embd, F = hp->n_ff, kvd = (int64_t)hp->n_head_kv * hp->head_dim;
    const bool bert = hp->arch == LLMR_ARCH_BERT;
    char n[96];
    int rc;
#define NAME(s) (snprintf(n, sizeof n, "blk.%d.%s", l, s), n)
    if (bert) {
        if ((rc = llmri_bind(gf, NAME("attn_q.weight"), E, E, false, false, &L->wq, err)) ||
            (rc = bind_bias(gf, NAME("attn_q.bias"), E, &L->bq, err)) ||
            (rc = llmri_bind(gf, NAME("attn_k.weight"), E, kvd, false, false, &L->wk, err)) ||
            (rc = bind_bias(gf, NAME("attn_k.bias"), kvd, &L->bk, err)) ||
            (rc = llmri_bind(gf, NAME("attn_v.weight"), E, kvd, false, false, &L->wv, err)) ||
            (rc = bind_bias(gf, NAME("attn_v.bias"), kvd, &L->bv, err)) ||
            (rc = bind_bias(gf, NAME("attn_output.bias"), E, &L->bo, err)) ||
            (rc = bind_bias(gf, NAME("ffn_up.bias"), F, &L->up_b, err)) ||
            (rc = bind_bias(gf, NAME("ffn_down.bias"), E, &L->down_b, err)))
            return rc;
    } else if ((rc = llmri_bind(gf, NAME("attn_qkv.weight"), E, E + 2 * kvd, false, false,
                                &L->wqkv, err)) ||
               (rc = llmri_bind(gf, NAME("ffn_gate.weight"), E, F, false, false, &L->gate, err)))
        return rc;
    if ((rc = llmri_bind(gf, NAME("attn_output.weight"), E, E, false, false, &L->wo, err)) ||
        (rc = llmri_bind(gf, NAME("ffn_up.weight"), E, F, false, false, &L->up, err)) ||
        (rc = llmri_bind(gf, NAME("ffn_down.weight"), F, E, false, false, &L->down, err)))
        return rc;
    char base[64];
    snprintf(base, sizeof base, "blk.%d.attn_output_norm", l);
    if ((rc = bind_norm(gf, base, E, &L->attn_out_norm, err)))
        return rc;
    snprintf(base, sizeof base, "blk.%d.layer_output_norm", l);
    return bind_norm(gf, base, E, &L->out_norm, err);
#undef NAME
}

int llmri_encoder_weights_load(llmr_model *m, llmr_err *err)
{
    const gguf_file *gf = m->gf;
    llmr_hparams *hp = &m->hp;
    const int64_t E = hp->n_embd;
    if (hp->n_embd != hp->n_head * hp->head_dim)
        return llmri_err_set(err, LLMR_ERR_UNSUPPORTED, "%s: attention.key_length %d times "
                            "head_count %d differs from embedding_length %d", gf->path,
                            hp->head_dim, hp->n_head, hp->n_embd);
    struct llmr_encoder *e = m->enc = calloc(1, sizeof *e);
    if (!e || !(e->layers = calloc((size_t)hp->n_layer, sizeof *e->layers)))
        return llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory");
    int rc;
    if ((rc = llmri_bind(gf, "token_embd.weight", E, hp->n_vocab, false, false, &m->tok_embd,
                         err)))
        return rc;
    if (!hp->n_token_types) {
        const gguf_tensor *t = gguf_find_tensor(gf, "token_types.weight");
        hp->n_token_types = t && t->n_dims == 2 && t->ne[1] >= 1 && t->ne[1] <= 65536
                                ? (int)t->ne[1] : 1;
    }
    if ((rc = llmri_bind(gf, "token_types.weight", E, hp->n_token_types, false, false,
                         &e->type_embd, err)) ||
        (rc = bind_norm(gf, "token_embd_norm", E, &e->embd_norm, err)))
        return rc;
    if (hp->arch == LLMR_ARCH_BERT &&
        (rc = llmri_bind(gf, "position_embd.weight", E, hp->n_ctx_train, false, false,
                         &e->pos_embd, err)))
        return rc;
    for (int l = 0; l < hp->n_layer; l++)
        if ((rc = bind_layer(gf, hp, l, &e->layers[l], err)))
            return rc;
    return LLMR_OK;
}

void llmri_encoder_free(struct llmr_encoder *e)
{
    if (!e)
        return;
    free(e->layers);
    free(e);
}

/* ---- row math ----------------------------------------------------------------------------- */

/* ggml_norm then the weight and bias (llm_build_norm with LLM_NORM): mean and variance
 * accumulated in double, the centred values kept in float. o may be x. */
static void layer_norm(float *o, const float *x, const llmr_lnorm *ln, int n, float eps)
{
    double sum = 0.0;
    for (int i = 0; i < n; i++)
        sum += (double)x[i];
    const float mean = (float)(sum / n);
    double sum2 = 0.0;
    for (int i = 0; i < n; i++) {
        const float v = x[i] - mean;
        o[i] = v;
        sum2 += (double)(v * v);
    }
    const float scale = 1.0f / sqrtf((float)(sum2 / n) + eps);
    for (int i = 0; i < n; i++) {
        const float y = o[i] * scale;
        const float yw = y * ln->w[i];   /* two roundings, as ggml_mul then ggml_add */
        o[i] = yw + ln->b[i];
    }
}

static uint16_t gelu_table[1 << 16];
static pthread_once_t gelu_once = PTHREAD_ONCE_INIT;

static float gelu_exact(float x)
{
    const float c = 0.79788456080286535587989211986876f;   /* sqrt(2 / pi) */
    return 0.5f * x * (1.0f + tanhf(c * x * (1.0f + 0.044715f * x * x)));
}

static void gelu_init(void)
{
    for (uint32_t i = 0; i < (1u << 16); i++)
        gelu_table[i] = llmri_fp32_to_fp16(gelu_exact(llmri_fp16_to_fp32((uint16_t)i)));
}

static void gelu_row(float *x, int n)
{
    for (int i = 0; i < n; i++) {
        const float v = x[i];
        if (v <= -10.0f)
            x[i] = 0.0f;
        else if (v < 10.0f)
            x[i] = llmri_fp16_to_fp32(gelu_table[llmri_fp32_to_fp16(v)]);
    }
}

/* ---- the pass ------------------------------------------------------------------------------ */

typedef struct enc {
    llmr_model *m;
    const struct llmr_encoder *e;
    const llmr_enc_layer *L;
    const int32_t *tokens;
    const llmr_segment *segs;
    int n_segs, n;
    int *row_pos;
    float *x, *t, *qkv, *att, *h, *h2, *sc, *rope_cs;
    uint8_t *xq;
    size_t xq_stride, sc_per_thread;
    int qkv_ld;              /* floats per row of qkv: n_embd + 2 kv dims */
    /* the current row step */
    void (*row_fn)(struct enc *e, int r);
    /* the current product: Y = W X (+ bias) */
    const llmr_mat *W;
    const float *bias, *X;
    size_t ldx, ldy;
    float *Y;
    int K, chunk, n_chunks;
    int att_tasks;
    _Atomic int next;
} enc;

static void rows_step(void *arg, int ith, int nth)
{
    enc *e = arg;
    const int per = (e->n + nth - 1) / nth;
    const int r0 = ith * per, r1 = r0 + per < e->n ? r0 + per : e->n;
    for (int r = r0; r < r1; r++)
        e->row_fn(e, r);
}

static void par_rows(enc *e, void (*fn)(enc *, int))
{
    e->row_fn = fn;
    llmri_pool_run(e->m->pool, rows_step, e);
}

static void row_convert(enc *e, int r)
{
    const uint32_t vt = e->W->tr->vec_dot_type;
    llmri_traits(vt)->from_float(e->X + (size_t)r * e->ldx, e->xq + (size_t)r * e->xq_stride,
                                 e->K);
}

static void mm_step(void *arg, int ith, int nth)
{
    (void)ith;
    (void)nth;
    enc *e = arg;
    const bool f32 = e->W->tr->vec_dot_type == LLMR_TYPE_F32;
    int c;
    while ((c = atomic_fetch_add_explicit(&e->next, 1, memory_order_relaxed)) < e->n_chunks) {
        const int i0 = c * e->chunk;
        const int i1 = i0 + e->chunk < e->W->rows ? i0 + e->chunk : (int)e->W->rows;
        llmri_matmul_rows(e->W->tr, e->K, e->W->data, e->W->row_bytes, i0, i1,
                         f32 ? (const void *)e->X : e->xq,
                         f32 ? e->ldx * sizeof(float) : e->xq_stride, e->n, e->Y, e->ldy);
        if (e->bias)
            for (int j = 0; j < e->n; j++)
                for (int i = i0; i < i1; i++)
                    e->Y[(size_t)j * e->ldy + i] += e->bias[i];
    }
}

/* Y = W X (+ bias) over every row: X has rows of W->cols floats, ldx apart. */
static void product(enc *e, const llmr_mat *W, const float *bias, const float *X, size_t ldx,
                    float *Y, size_t ldy)
{
    e->W = W;
    e->bias = bias;
    e->X = X;
    e->ldx = ldx;
    e->Y = Y;
    e->ldy = ldy;
    e->K = (int)W->cols;
    if (W->tr->vec_dot_type != LLMR_TYPE_F32)
        par_rows(e, row_convert);
    const int nth = llmri_pool_size(e->m->pool);
    int chunk = (int)(W->rows / (nth * 4));
    chunk = chunk < 16 ? 16 : (chunk + 15) / 16 * 16;
    e->chunk = chunk;
    e->n_chunks = (int)((W->rows + chunk - 1) / chunk);
    atomic_store_explicit(&e->next, 0, memory_order_relaxed);
    llmri_pool_run(e->m->pool, mm_step, e);
}

/* Adds row r of an embedding matrix (any type) to dst. */
static void add_embd_row(const llmr_mat *M, int64_t r, float *dst, float *tmp, int n)
{
    const uint8_t *row = (const uint8_t *)M->data + (size_t)r * M->row_bytes;
    if (M->type == LLMR_TYPE_F32)
        memcpy(tmp, row, (size_t)n * sizeof(float));
    else
        M->tr->to_float(row, tmp, n);
    for (int i = 0; i < n; i++)
        dst[i] += tmp[i];
}

static void row_embed(enc *e, int r)
{
    const llmr_hparams *hp = &e->m->hp;
    const int E = hp->n_embd;
    float *x = e->x + (size_t)r * E, *tmp = e->t + (size_t)r * E;
    memset(x, 0, (size_t)E * sizeof(float));
    add_embd_row(&e->m->tok_embd, e->tokens[r], x, tmp, E);
    add_embd_row(&e->e->type_embd, 0, x, tmp, E);   /* every token is of type 0 ("sentence A") */
    if (hp->arch == LLMR_ARCH_BERT)
        add_embd_row(&e->e->pos_embd, e->row_pos[r], x, tmp, E);
    else
        llmri_rope_table(e->rope_cs + (size_t)r * hp->n_rot, e->row_pos[r], hp, NULL);
    layer_norm(x, x, &e->e->embd_norm, E, hp->rms_eps);
}

static void row_rope(enc *e, int r)
{
    const llmr_hparams *hp = &e->m->hp;
    float *q = e->qkv + (size_t)r * e->qkv_ld, *k = q + hp->n_embd;
    const float *cs = e->rope_cs + (size_t)r * hp->n_rot;
    for (int h = 0; h < hp->n_head; h++)
        llmri_rope_apply(q + (size_t)h * hp->head_dim, cs, hp);
    for (int h = 0; h < hp->n_head_kv; h++)
        llmri_rope_apply(k + (size_t)h * hp->head_dim, cs, hp);
}

/* x = LayerNorm(t + x) with the given norm: the post-norm residual of both halves. */
static void residual_norm(enc *e, int r, const llmr_lnorm *ln)
{
    const int E = e->m->hp.n_embd;
    float *x = e->x + (size_t)r * E;
    const float *t = e->t + (size_t)r * E;
    for (int i = 0; i < E; i++)
        x[i] = t[i] + x[i];
    layer_norm(x, x, ln, E, e->m->hp.rms_eps);
}

static void row_attn_out(enc *e, int r) { residual_norm(e, r, &e->L->attn_out_norm); }
static void row_ffn_out(enc *e, int r) { residual_norm(e, r, &e->L->out_norm); }

static void row_act(enc *e, int r)
{
    const int F = e->m->hp.n_ff;
    float *a = e->h + (size_t)r * F;
    if (e->m->hp.arch == LLMR_ARCH_BERT)
        gelu_row(a, F);
    else
        e->m->work->ops->swiglu(a, e->h2 + (size_t)r * F, F);
}

/* One task: query rows [j0, j1) of segment si, head h, against every row of the segment. */
static void attn_task(enc *e, float *sc, int si, int h, int j0, int j1)
{
    const llmr_hparams *hp = &e->m->hp;
    const llmr_segment *sg = &e->segs[si];
    const int hd = hp->head_dim, ns = sg->n, nj = j1 - j0, E = hp->n_embd;
    const int g = h / (hp->n_head / hp->n_head_kv), kvd = hp->n_head_kv * hd;
    const size_t ld = (size_t)e->qkv_ld;
    const float *base = e->qkv + (size_t)sg->row0 * ld;
    const llmr_type_traits *f32 = llmri_traits(LLMR_TYPE_F32);
    float *vt = sc + (size_t)ENC_TILE * ns;
    llmri_matmul_rows(f32, hd, base + E + (size_t)g * hd, ld * sizeof(float), 0, ns,
                     base + (size_t)j0 * ld + (size_t)h * hd, ld * sizeof(float), nj, sc,
                     (size_t)ns);
    const float scale = 1.0f / sqrtf((float)hd);
    for (int j = 0; j < nj; j++)
        e->m->work->ops->softmax(sc + (size_t)j * ns, ns, ns, scale);
    /* V transposed, so that each output value is a dot of a V column with a score row */
    const float *v = base + E + kvd + (size_t)g * hd;
    for (int i = 0; i < ns; i++)
        for (int d = 0; d < hd; d++)
            vt[(size_t)d * ns + i] = v[(size_t)i * ld + d];
    llmri_matmul_rows(f32, ns, vt, (size_t)ns * sizeof(float), 0, hd, sc,
                     (size_t)ns * sizeof(float), nj,
                     e->att + (size_t)(sg->row0 + j0) * E + (size_t)h * hd, (size_t)E);
}

static void attn_step(void *arg, int ith, int nth)
{
    (void)nth;
    enc *e = arg;
    const int nh = e->m->hp.n_head;
    float *sc = e->sc + (size_t)ith * e->sc_per_thread;
    int t;
    while ((t = atomic_fetch_add_explicit(&e->next, 1, memory_order_relaxed)) < e->att_tasks) {
        int si = 0;
        for (;; si++) {
            const int ntile = (e->segs[si].n + ENC_TILE - 1) / ENC_TILE;
            if (t < ntile * nh)
                break;
            t -= ntile * nh;
        }
        const int h = t % nh, j0 = t / nh * ENC_TILE;
        const int j1 = j0 + ENC_TILE < e->segs[si].n ? j0 + ENC_TILE : e->segs[si].n;
        attn_task(e, sc, si, h, j0, j1);
    }
}

static void run_attention(enc *e)
{
    int tasks = 0;
    for (int si = 0; si < e->n_segs; si++)
        tasks += (e->segs[si].n + ENC_TILE - 1) / ENC_TILE * e->m->hp.n_head;
    e->att_tasks = tasks;
    atomic_store_explicit(&e->next, 0, memory_order_relaxed);
    llmri_pool_run(e->m->pool, attn_step, e);
}

/* One layer, the header's lines in order. */
static void encode_layer(enc *e)
{
    const llmr_hparams *hp = &e->m->hp;
    const llmr_enc_layer *L = e->L;
    const size_t E = (size_t)hp->n_embd, F = (size_t)hp->n_ff;
    const size_t kvd = (size_t)hp->n_head_kv * hp->head_dim;
    const size_t ld = (size_t)e->qkv_ld;
    if (hp->arch == LLMR_ARCH_BERT) {
        product(e, &L->wq, L->bq, e->x, E, e->qkv, ld);
        product(e, &L->wk, L->bk, e->x, E, e->qkv + E, ld);
        product(e, &L->wv, L->bv, e->x, E, e->qkv + E + kvd, ld);
    } else {
        product(e, &L->wqkv, NULL, e->x, E, e->qkv, ld);
        par_rows(e, row_rope);
    }
    run_attention(e);
    product(e, &L->wo, L->bo, e->att, E, e->t, E);                  /* t = Wo att + bo */
    par_rows(e, row_attn_out);                                     /* x = LN(t + x) */
    if (hp->arch == LLMR_ARCH_BERT) {
        product(e, &L->up, L->up_b, e->x, E, e->h, F);              /* h = gelu(Wup x + b) */
    } else {
        product(e, &L->gate, NULL, e->x, E, e->h, F);               /* h = silu(Wgate x) */
        product(e, &L->up, NULL, e->x, E, e->h2, F);                /*     * Wup x */
    }
    par_rows(e, row_act);
    product(e, &L->down, L->down_b, e->h, F, e->t, E);             /* t = Wdown h + b */
    par_rows(e, row_ffn_out);                                      /* x = LN(t + x) */
}

static void enc_free(enc *e)
{
    free(e->row_pos); free(e->x); free(e->t); free(e->qkv); free(e->att); free(e->h);
    free(e->h2); free(e->sc); free(e->rope_cs); free(e->xq);
}

static int enc_alloc(enc *e, int max_seg, llmr_err *err)
{
    const llmr_hparams *hp = &e->m->hp;
    const size_t n = (size_t)e->n, E = (size_t)hp->n_embd, F = (size_t)hp->n_ff;
    const size_t K = E > F ? E : F;
    /* the widest converted row of K values over every type (layers may differ in type) */
    size_t xs = 0;
    for (int t = 0; t < LLMR_TYPE_COUNT; t++)
        if (llmri_traits((uint32_t)t)) {
            const size_t s = llmri_row_size(llmri_traits((uint32_t)t)->vec_dot_type, (int64_t)K);
            xs = s > xs ? s : xs;
        }
    e->xq_stride = (xs + 63) / 64 * 64;
    e->qkv_ld = hp->n_embd + 2 * hp->n_head_kv * hp->head_dim;
    e->sc_per_thread = ((size_t)ENC_TILE + (size_t)hp->head_dim) * (size_t)max_seg;
    const size_t nth = (size_t)llmri_pool_size(e->m->pool);
    e->row_pos = malloc(n * sizeof(int));
    e->x = malloc(n * E * sizeof(float));
    e->t = malloc(n * E * sizeof(float));
    e->qkv = malloc(n * (size_t)e->qkv_ld * sizeof(float));
    e->att = malloc(n * E * sizeof(float));
    e->h = malloc(n * F * sizeof(float));
    e->h2 = malloc(n * F * sizeof(float));
    e->sc = malloc(nth * e->sc_per_thread * sizeof(float));
    e->rope_cs = malloc(n * (size_t)hp->n_rot * sizeof(float));
    e->xq = malloc(n * e->xq_stride + 64);
    if (!e->row_pos || !e->x || !e->t || !e->qkv || !e->att || !e->h || !e->h2 || !e->sc ||
        !e->rope_cs || !e->xq)
        return llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory for an encoder pass of %d rows",
                            e->n);
    return LLMR_OK;
}

int llmri_encode(llmr_model *m, const int32_t *tokens, const llmr_segment *segs, int n_segs,
                 int n, float *out, llmr_err *err)
{
    pthread_once(&gelu_once, gelu_init);
    enc es = {.m = m, .e = m->enc, .tokens = tokens, .segs = segs, .n_segs = n_segs, .n = n};
    enc *e = &es;
    int max_seg = 1;
    for (int si = 0; si < n_segs; si++)
        max_seg = segs[si].n > max_seg ? segs[si].n : max_seg;
    int rc = enc_alloc(e, max_seg, err);
    if (rc == LLMR_OK) {
        for (int si = 0; si < n_segs; si++)
            for (int j = 0; j < segs[si].n; j++)
                e->row_pos[segs[si].row0 + j] = segs[si].pos + j;
        par_rows(e, row_embed);
        for (int l = 0; l < m->hp.n_layer; l++) {
            e->L = &e->e->layers[l];
            encode_layer(e);
        }
        memcpy(out, e->x, (size_t)n * (size_t)m->hp.n_embd * sizeof(float));
    }
    enc_free(e);
    return rc;
}
