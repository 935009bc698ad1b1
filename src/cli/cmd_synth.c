/* cmd_synth.c - `llmr synth`: a random-weight model of a real model's shape, in any type, with
 * the tokenizer copied from a vocab GGUF file. Benchmark models are made by this, never
 * committed. Weights are uniform with standard deviation 0.02 (the usual initializer scale),
 * norms are 1, so activations stay finite through any depth; the same seed gives the same
 * file whatever the thread count (each row has its own random stream).
 */
#include "cli/cli.h"
#include "core/util.h"
#include "gguf/gguf.h"
#include "kernels/kernels.h"
#include "model/quant.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct shape {
    const char *name, *arch;
    int n_layer, n_embd, n_head, n_head_kv, n_ff, n_ctx, n_vocab;
    float rope_base, rms_eps;
    bool tied, biases;
} shape;

/* What the families of arch_dense.c add to a shape (0: the default). */
typedef struct shape_ext {
    int head_dim, n_rot, n_swa;
    float attn_softcap, final_softcap;
    float rope_linear;       /* rope.scaling.factor (linear) */
    int n_ctx_orig;          /* phi3: LongRoPE's original context (factors long and short) */
    float rope_attn_factor;  /* phi3: rope.scaling.attn_factor */
    int n_expert, n_expert_used, n_ff_exp, n_ff_shexp;   /* mixtures of experts */
} shape_ext;

typedef struct dense_shape {
    shape sh;
    shape_ext x;
} dense_shape;

/* The -tiny shapes switch on every feature of their family at a size that runs in
 * milliseconds (rows of 256 values, so that K-quants apply); windows of 8 positions and
 * small soft-caps so that a short sequence meets them. The -1b shapes are 1B-class models
 * for benchmarks, with layer counts that llama.cpp recognises where it needs one (gemma2). */
#define DENSE(nm, ar, L, E, H, KV, F, ctx, base, eps, tie, ...)                               \
    {{.name = nm, .arch = ar, .n_layer = L, .n_embd = E, .n_head = H, .n_head_kv = KV,         \
      .n_ff = F, .n_ctx = ctx, .n_vocab = 32000, .rope_base = base, .rms_eps = eps,            \
      .tied = tie},                                                                            \
     {__VA_ARGS__}}

static const shape SHAPES[] = {
    {"tinyllama-1.1b", "llama", 22, 2048, 32, 4, 5632, 2048, 32000, 10000.0f, 1e-5f, false, false},
    {"stories15m", "llama", 6, 288, 6, 6, 768, 256, 32000, 10000.0f, 1e-5f, false, false},
    {"stories42m", "llama", 8, 512, 8, 8, 1376, 1024, 32000, 10000.0f, 1e-5f, false, false},
    {"stories110m", "llama", 12, 768, 12, 12, 2048, 1024, 32000, 10000.0f, 1e-5f, false, false},
    {"llama2-7b", "llama", 32, 4096, 32, 32, 11008, 4096, 32000, 10000.0f, 1e-5f, false, false},
    {"smollm-135m", "llama", 30, 576, 9, 3, 1536, 2048, 49152, 10000.0f, 1e-5f, true, false},
    {"qwen2-0.5b", "qwen2", 24, 896, 14, 2, 4864, 32768, 151936, 1000000.0f, 1e-6f, true, true},
    /* encoders (model/encoder.h); their eps is LayerNorm's */
    {"bert-tiny", "bert", 3, 128, 4, 4, 512, 512, 30522, 10000.0f, 1e-12f, false, true},
    {"nomic-bert-tiny", "nomic-bert", 2, 128, 4, 4, 384, 2048, 30522, 1000.0f, 1e-12f, false,
     false},
    {"bert-large", "bert", 24, 1024, 16, 16, 4096, 512, 30522, 10000.0f, 1e-12f, false, true},
};

static bool is_encoder(const shape *sh)
{
    return !strcmp(sh->arch, "bert") || !strcmp(sh->arch, "nomic-bert");
}

static const dense_shape DENSE_SHAPES[] = {
    DENSE("gemma-tiny", "gemma", 2, 256, 4, 1, 512, 512, 10000.0f, 1e-6f, true, .head_dim = 128),
    DENSE("gemma2-tiny", "gemma2", 4, 256, 4, 2, 512, 512, 10000.0f, 1e-6f, true,
          .head_dim = 128, .n_swa = 8, .attn_softcap = 0.1f, .final_softcap = 0.5f),
    DENSE("gemma3-tiny", "gemma3", 6, 256, 4, 2, 512, 512, 1000000.0f, 1e-6f, true,
          .head_dim = 128, .n_swa = 8, .rope_linear = 8.0f),
    DENSE("phi3-tiny", "phi3", 3, 256, 4, 2, 512, 256, 10000.0f, 1e-5f, false, .n_rot = 48,
          .n_swa = 8, .n_ctx_orig = 64, .rope_attn_factor = 1.2f),
    DENSE("qwen3-tiny", "qwen3", 3, 256, 4, 2, 512, 4096, 1000000.0f, 1e-6f, false,
          .head_dim = 128),
    DENSE("llama-moe-tiny", "llama", 2, 256, 4, 2, 512, 512, 10000.0f, 1e-5f, false,
          .n_expert = 4, .n_expert_used = 2),
    DENSE("qwen2moe-tiny", "qwen2moe", 2, 256, 4, 2, 512, 4096, 1000000.0f, 1e-6f, false,
          .n_expert = 4, .n_expert_used = 2, .n_ff_exp = 256, .n_ff_shexp = 512),
    DENSE("qwen3moe-tiny", "qwen3moe", 2, 256, 4, 2, 512, 4096, 1000000.0f, 1e-6f, false,
          .head_dim = 128, .n_expert = 8, .n_expert_used = 2, .n_ff_exp = 256),
    /* tinyllama-1.1b's active parameters: 2 of 8 experts, each half its FFN */
    DENSE("llama-moe-1b", "llama", 22, 2048, 32, 4, 2816, 2048, 10000.0f, 1e-5f, false,
          .n_expert = 8, .n_expert_used = 2),
    DENSE("gemma-1b", "gemma", 18, 1536, 8, 1, 8192, 8192, 10000.0f, 1e-6f, true,
          .head_dim = 256),
    DENSE("gemma2-1b", "gemma2", 26, 1152, 4, 1, 6912, 8192, 10000.0f, 1e-6f, true,
          .head_dim = 256, .n_swa = 4096, .attn_softcap = 50.0f, .final_softcap = 30.0f),
    DENSE("gemma3-1b", "gemma3", 26, 1152, 4, 1, 6912, 32768, 1000000.0f, 1e-6f, true,
          .head_dim = 256, .n_swa = 512),
    DENSE("phi3-1b", "phi3", 24, 2048, 32, 8, 5632, 4096, 10000.0f, 1e-5f, false,
          .n_swa = 2047),
    DENSE("qwen3-1b", "qwen3", 28, 2048, 16, 8, 6144, 40960, 1000000.0f, 1e-6f, true,
          .head_dim = 128),
};

typedef struct rnd_src {
    uint64_t seed;
    float scale;     /* half-width of the uniform distribution */
    float offset;    /* added (1 for norms) */
} rnd_src;

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void random_row(void *user, int64_t r, float *dst, int64_t ncols)
{
    const rnd_src *s = user;
    uint64_t st = s->seed ^ ((uint64_t)r * 0xD1B54A32D192ED03ull);
    for (int64_t i = 0; i < ncols; i++) {
        float u = (float)(splitmix(&st) >> 40) * (1.0f / 16777216.0f);   /* [0, 1) */
        dst[i] = s->offset + s->scale * (2.0f * u - 1.0f);
    }
}

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

typedef struct synth {
    gguf_writer *w;
    llmr_pool *pool;
    const llmr_qtarget *tg;
    llmr_qpos qp;
    uint64_t seed;
    bool pure;
    void **bufs;
    int n_bufs;
    uint64_t bytes;
    llmr_err err;
} synth;

static int add(synth *s, const char *name, int64_t ne0, int64_t ne1, float scale, float offset)
{
    int layer = -1;
    sscanf(name, "blk.%d.", &layer);
    s->qp.i_attn_v = s->qp.i_ffn_down = layer;
    const int n_dims = ne1 ? 2 : 1;
    uint32_t ty = llmri_qtype_for(s->tg, name, n_dims, ne0, &s->qp, s->pure);
    rnd_src src = {s->seed ^ hash_name(name), scale, offset};
    size_t nb;
    void *buf;
    int rc = llmri_rows_convert(s->pool, ty, ne0, ne1 ? ne1 : 1, random_row, &src, &buf, &nb,
                               &s->err);
    if (rc)
        return rc;
    s->bufs[s->n_bufs++] = buf;
    s->bytes += nb;
    int64_t ne[2] = {ne0, ne1};
    return gguf_writer_add_tensor(s->w, name, ty, (uint32_t)n_dims, ne, buf);
}

/* An encoder (model/encoder.h): LayerNorm weights around 1 and every bias random, so that
 * a wrong norm or a dropped bias shows in the output. */
static int build_encoder(synth *s, const shape *sh, int n_vocab, int n_types)
{
    const float W = 0.02f * sqrtf(3.0f);
    const int64_t E = sh->n_embd, F = sh->n_ff, kvd = sh->n_head_kv * (sh->n_embd / sh->n_head);
    const bool bert = !strcmp(sh->arch, "bert");
    int rc;
    char n[96];
#define T(name, a, b, sc, off)                                                                 \
    if ((rc = add(s, name, a, b, sc, off)))                                                    \
        return rc;
#define LN(base)                                                                               \
    snprintf(n, sizeof n, "%s.weight", base); T(n, E, 0, 0.1f, 1.0f)                           \
    snprintf(n, sizeof n, "%s.bias", base); T(n, E, 0, W, 0)
    T("token_embd.weight", E, n_vocab, W, 0)
    T("token_types.weight", E, n_types, W, 0)
    if (bert)
        T("position_embd.weight", E, sh->n_ctx, W, 0)
    LN("token_embd_norm")
    for (int l = 0; l < sh->n_layer; l++) {
        char b[80];
#define L(suffix, a, c, sc) snprintf(b, sizeof b, "blk.%d.%s", l, suffix); T(b, a, c, sc, 0)
        if (bert) {
            L("attn_q.weight", E, E, W) L("attn_q.bias", E, 0, W)
            L("attn_k.weight", E, kvd, W) L("attn_k.bias", kvd, 0, W)
            L("attn_v.weight", E, kvd, W) L("attn_v.bias", kvd, 0, W)
            L("attn_output.bias", E, 0, W)
            L("ffn_up.bias", F, 0, W) L("ffn_down.bias", E, 0, W)
        } else {
            L("attn_qkv.weight", E, E + 2 * kvd, W) L("ffn_gate.weight", E, F, W)
        }
        L("attn_output.weight", E, E, W)
        L("ffn_up.weight", E, F, W) L("ffn_down.weight", F, E, W)
#undef L
        snprintf(b, sizeof b, "blk.%d.attn_output_norm", l);
        LN(b)
        snprintf(b, sizeof b, "blk.%d.layer_output_norm", l);
        LN(b)
    }
#undef LN
#undef T
    return LLMR_OK;
}

static bool is_dense(const shape *sh, const shape_ext *x)
{
    return (strcmp(sh->arch, "llama") && strcmp(sh->arch, "qwen2")) || x->n_expert;
}

/* A 3-D tensor [ne0, ne1, ne2] (the experts' weights), rows drawn as one [ne0, ne1 * ne2]. */
static int add3(synth *s, const char *name, int64_t ne0, int64_t ne1, int64_t ne2, float scale)
{
    uint32_t ty = llmri_qtype_for(s->tg, name, 3, ne0, &s->qp, s->pure);
    rnd_src src = {s->seed ^ hash_name(name), scale, 0.0f};
    size_t nb;
    void *buf;
    int rc = llmri_rows_convert(s->pool, ty, ne0, ne1 * ne2, random_row, &src, &buf, &nb,
                               &s->err);
    if (rc)
        return rc;
    s->bufs[s->n_bufs++] = buf;
    s->bytes += nb;
    int64_t ne[3] = {ne0, ne1, ne2};
    return gguf_writer_add_tensor(s->w, name, ty, 3, ne, buf);
}

/* The FFN of a mixture of experts: router, experts, and qwen2moe's shared expert. */
static int build_moe_ffn(synth *s, const shape *sh, const shape_ext *x, int l)
{
    const float W = 0.02f * sqrtf(3.0f);
    const int64_t E = sh->n_embd, X = x->n_expert;
    const int64_t Fe = x->n_ff_exp ? x->n_ff_exp : sh->n_ff, Fs = x->n_ff_shexp;
    char n[64];
    int rc;
#define NAME(suffix) (snprintf(n, sizeof n, "blk.%d.%s", l, suffix), n)
    /* the router's weights 10x the others', so that rows choose different experts */
    if ((rc = add(s, NAME("ffn_gate_inp.weight"), E, X, 10.0f * W, 0)) ||
        (rc = add3(s, NAME("ffn_gate_exps.weight"), E, Fe, X, W)) ||
        (rc = add3(s, NAME("ffn_up_exps.weight"), E, Fe, X, W)) ||
        (rc = add3(s, NAME("ffn_down_exps.weight"), Fe, E, X, W)))
        return rc;
    if (Fs && ((rc = add(s, NAME("ffn_gate_inp_shexp.weight"), E, 0, 10.0f * W, 0)) ||
               (rc = add(s, NAME("ffn_gate_shexp.weight"), E, Fs, W, 0)) ||
               (rc = add(s, NAME("ffn_up_shexp.weight"), E, Fs, W, 0)) ||
               (rc = add(s, NAME("ffn_down_shexp.weight"), Fs, E, W, 0))))
        return rc;
#undef NAME
    return LLMR_OK;
}

static int64_t head_dim(const shape *sh, const shape_ext *x)
{
    return x->head_dim ? x->head_dim : sh->n_embd / sh->n_head;
}

/* gemma*, phi3, qwen3. Norm weights are 1 +- 0.2 here, so that a norm applied to the wrong
 * values (or not at all) changes the logits. */
static int build_dense(synth *s, const shape *sh, const shape_ext *x, int n_vocab)
{
    const float W = 0.02f * sqrtf(3.0f), N = 0.2f;
    const int64_t E = sh->n_embd, F = sh->n_ff, hd = head_dim(sh, x);
    const int64_t qd = sh->n_head * hd, kvd = sh->n_head_kv * hd;
    const bool phi3 = !strcmp(sh->arch, "phi3"), gemma23 = !strncmp(sh->arch, "gemma", 5) &&
                                                           strcmp(sh->arch, "gemma");
    const bool qk_norm = !strcmp(sh->arch, "gemma3") || !strncmp(sh->arch, "qwen3", 5);
    int rc;
    if ((rc = add(s, "token_embd.weight", E, n_vocab, W, 0)) ||
        (rc = add(s, "output_norm.weight", E, 0, N, 1.0f)))
        return rc;
    if (!sh->tied && (rc = add(s, "output.weight", E, n_vocab, W, 0)))
        return rc;
    /* LongRoPE divisors in [1, 3): head_dim / 2 of them, as llama.cpp b4748 reads them */
    if (phi3 && x->n_ctx_orig &&
        ((rc = add(s, "rope_factors_long.weight", hd / 2, 0, 1.0f, 2.0f)) ||
         (rc = add(s, "rope_factors_short.weight", hd / 2, 0, 0.5f, 1.5f))))
        return rc;
    for (int l = 0; l < sh->n_layer; l++) {
        char n[64];
#define T(suffix, a, b, sc, off)                                                               \
    do {                                                                                       \
        snprintf(n, sizeof n, "blk.%d.%s", l, suffix);                                         \
        if ((rc = add(s, n, a, b, sc, off)))                                                   \
            return rc;                                                                         \
    } while (0);
        T("attn_norm.weight", E, 0, N, 1.0f)
        if (phi3) {
            T("attn_qkv.weight", E, qd + 2 * kvd, W, 0)
        } else {
            T("attn_q.weight", E, qd, W, 0)
            T("attn_k.weight", E, kvd, W, 0)
            T("attn_v.weight", E, kvd, W, 0)
        }
        if (!strcmp(sh->arch, "qwen2moe")) {
            T("attn_q.bias", qd, 0, W, 0)
            T("attn_k.bias", kvd, 0, W, 0)
            T("attn_v.bias", kvd, 0, W, 0)
        }
        if (qk_norm) {
            T("attn_q_norm.weight", hd, 0, N, 1.0f)
            T("attn_k_norm.weight", hd, 0, N, 1.0f)
        }
        T("attn_output.weight", qd, E, W, 0)
        if (gemma23)
            T("post_attention_norm.weight", E, 0, N, 1.0f)
        T("ffn_norm.weight", E, 0, N, 1.0f)
        if (x->n_expert) {
            if ((rc = build_moe_ffn(s, sh, x, l)))
                return rc;
        } else if (phi3) {
            T("ffn_up.weight", E, 2 * F, W, 0)
        } else {
            T("ffn_gate.weight", E, F, W, 0)
            T("ffn_up.weight", E, F, W, 0)
        }
        if (!x->n_expert)
            T("ffn_down.weight", F, E, W, 0)
        if (gemma23)
            T("post_ffw_norm.weight", E, 0, N, 1.0f)
#undef T
    }
    return LLMR_OK;
}

static int build(synth *s, const shape *sh, const shape_ext *x, int n_vocab)
{
    if (is_dense(sh, x))
        return build_dense(s, sh, x, n_vocab);
    const float W = 0.02f * sqrtf(3.0f);   /* uniform(-a, a) has sd a / sqrt(3) */
    const int64_t E = sh->n_embd, F = sh->n_ff, hd = sh->n_embd / sh->n_head;
    const int64_t qd = sh->n_head * hd, kvd = sh->n_head_kv * hd;
    int rc;
    if ((rc = add(s, "token_embd.weight", E, n_vocab, W, 0)) ||
        (rc = add(s, "output_norm.weight", E, 0, 0, 1.0f)))
        return rc;
    if (!sh->tied && (rc = add(s, "output.weight", E, n_vocab, W, 0)))
        return rc;
    for (int l = 0; l < sh->n_layer; l++) {
        char n[64];
#define T(suffix, a, b, sc, off)                                                               \
    snprintf(n, sizeof n, "blk.%d.%s", l, suffix);                                             \
    if ((rc = add(s, n, a, b, sc, off)))                                                       \
        return rc;
        T("attn_norm.weight", E, 0, 0, 1.0f)
        T("attn_q.weight", E, qd, W, 0)
        T("attn_k.weight", E, kvd, W, 0)
        T("attn_v.weight", E, kvd, W, 0)
        if (sh->biases) {
            T("attn_q.bias", qd, 0, W, 0)
            T("attn_k.bias", kvd, 0, W, 0)
            T("attn_v.bias", kvd, 0, W, 0)
        }
        T("attn_output.weight", qd, E, W, 0)
        T("ffn_norm.weight", E, 0, 0, 1.0f)
        T("ffn_gate.weight", E, F, W, 0)
        T("ffn_up.weight", E, F, W, 0)
        T("ffn_down.weight", F, E, W, 0)
#undef T
    }
    return LLMR_OK;
}

static void set_hparams(gguf_writer *w, const shape *sh, const shape_ext *x,
                        const llmr_qtarget *tg, int n_vocab)
{
    char k[128], name[96];
#define K(suffix) (snprintf(k, sizeof k, "%s.%s", sh->arch, suffix), k)
    gguf_writer_set_str(w, "general.architecture", sh->arch);
    snprintf(name, sizeof name, "synthetic %s (random weights)", sh->name);
    gguf_writer_set_str(w, "general.name", name);
    gguf_writer_set_u32(w, "general.file_type", tg->ftype);
    gguf_writer_set_u32(w, K("context_length"), (uint32_t)sh->n_ctx);
    gguf_writer_set_u32(w, K("embedding_length"), (uint32_t)sh->n_embd);
    gguf_writer_set_u32(w, K("block_count"), (uint32_t)sh->n_layer);
    gguf_writer_set_u32(w, K("feed_forward_length"), (uint32_t)sh->n_ff);
    gguf_writer_set_u32(w, K("attention.head_count"), (uint32_t)sh->n_head);
    gguf_writer_set_u32(w, K("attention.head_count_kv"), (uint32_t)sh->n_head_kv);
    if (is_encoder(sh)) {
        gguf_writer_set_f32(w, K("attention.layer_norm_epsilon"), sh->rms_eps);
        gguf_writer_set_bool(w, K("attention.causal"), false);
        /* 2 = cls, as BGE's files say; 1 = mean, as nomic-embed's */
        gguf_writer_set_u32(w, K("pooling_type"), !strcmp(sh->arch, "bert") ? 2 : 1);
    } else {
        gguf_writer_set_f32(w, K("attention.layer_norm_rms_epsilon"), sh->rms_eps);
    }
    gguf_writer_set_f32(w, K("rope.freq_base"), sh->rope_base);
    if (!strcmp(sh->arch, "llama")) {
        gguf_writer_set_u32(w, K("rope.dimension_count"), (uint32_t)(sh->n_embd / sh->n_head));
        gguf_writer_set_u32(w, K("vocab_size"), (uint32_t)n_vocab);
    }
    if (is_dense(sh, x)) {
        gguf_writer_set_u32(w, K("attention.key_length"), (uint32_t)head_dim(sh, x));
        gguf_writer_set_u32(w, K("attention.value_length"), (uint32_t)head_dim(sh, x));
        gguf_writer_set_u32(w, K("rope.dimension_count"),
                            (uint32_t)(x->n_rot ? x->n_rot : head_dim(sh, x)));
    }
    if (x->n_swa)
        gguf_writer_set_u32(w, K("attention.sliding_window"), (uint32_t)x->n_swa);
    if (x->attn_softcap > 0.0f)
        gguf_writer_set_f32(w, K("attn_logit_softcapping"), x->attn_softcap);
    if (x->final_softcap > 0.0f)
        gguf_writer_set_f32(w, K("final_logit_softcapping"), x->final_softcap);
    if (x->rope_linear > 0.0f) {
        gguf_writer_set_str(w, K("rope.scaling.type"), "linear");
        gguf_writer_set_f32(w, K("rope.scaling.factor"), x->rope_linear);
    }
    if (x->n_ctx_orig)
        gguf_writer_set_u32(w, K("rope.scaling.original_context_length"),
                            (uint32_t)x->n_ctx_orig);
    if (x->rope_attn_factor > 0.0f)
        gguf_writer_set_f32(w, K("rope.scaling.attn_factor"), x->rope_attn_factor);
    if (x->n_expert) {
        gguf_writer_set_u32(w, K("expert_count"), (uint32_t)x->n_expert);
        gguf_writer_set_u32(w, K("expert_used_count"), (uint32_t)x->n_expert_used);
    }
    if (x->n_ff_exp)
        gguf_writer_set_u32(w, K("expert_feed_forward_length"), (uint32_t)x->n_ff_exp);
    if (x->n_ff_shexp)
        gguf_writer_set_u32(w, K("expert_shared_feed_forward_length"), (uint32_t)x->n_ff_shexp);
#undef K
}

static void list_shapes(void)
{
    for (size_t i = 0; i < sizeof SHAPES / sizeof SHAPES[0]; i++)
        fprintf(stderr, "%s%s", i ? " " : "  shapes: ", SHAPES[i].name);
    for (size_t i = 0; i < sizeof DENSE_SHAPES / sizeof DENSE_SHAPES[0]; i++)
        fprintf(stderr, " %s", DENSE_SHAPES[i].sh.name);
    fputc('\n', stderr);
}

int cmd_synth(int argc, char **argv)
{
    const char *shape_s = NULL, *type_s = "F16", *vocab = NULL, *out = NULL;
    long threads = 0, seed = 1234, layers = 0;
    bool pure = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const bool has = i + 1 < argc;
        if (!strcmp(a, "--shape") && has)
            shape_s = argv[++i];
        else if (!strcmp(a, "--type") && has)
            type_s = argv[++i];
        else if (!strcmp(a, "--vocab") && has)
            vocab = argv[++i];
        else if (!strcmp(a, "-o") && has)
            out = argv[++i];
        else if (!strcmp(a, "--pure"))
            pure = true;
        else if (!strcmp(a, "--layers") && has) {
            if (!cli_parse_long(argv[++i], 1, 4096, &layers))
                return cli_usage_error("synth", "--layers wants an integer in [1, 4096]");
        }
        else if (!strcmp(a, "--seed") && has) {
            if (!cli_parse_long(argv[++i], 0, 0x7fffffffL, &seed))
                return cli_usage_error("synth", "--seed wants a non-negative integer");
        } else if ((!strcmp(a, "-t") || !strcmp(a, "--threads")) && has) {
            if (!cli_parse_threads("synth", a, argv[++i], 1, &threads))
                return CLI_USAGE;
        } else
            return cli_usage_error("synth", "unexpected argument '%s'", a);
    }
    if (!shape_s || !vocab || !out)
        return cli_usage_error("synth", "--shape, --vocab and -o are required");
    shape shp;
    const shape *sh = NULL;
    static const shape_ext no_ext;
    const shape_ext *x = &no_ext;
    for (size_t i = 0; i < sizeof SHAPES / sizeof SHAPES[0]; i++)
        if (!strcmp(SHAPES[i].name, shape_s))
            sh = &SHAPES[i];
    for (size_t i = 0; i < sizeof DENSE_SHAPES / sizeof DENSE_SHAPES[0]; i++)
        if (!strcmp(DENSE_SHAPES[i].sh.name, shape_s))
            sh = &DENSE_SHAPES[i].sh, x = &DENSE_SHAPES[i].x;
    if (!sh) {
        list_shapes();
        return cli_usage_error("synth", "unknown shape '%s'", shape_s);
    }
    if (layers) {   /* the shape with another depth (llama.cpp types some families by it) */
        shp = *sh;
        shp.n_layer = (int)layers;
        sh = &shp;
    }
    llmr_qtarget tg;
    if (!llmri_qtarget_find(type_s, &tg))
        return cli_usage_error("synth", "unknown type '%s' (expected one of: %s)", type_s,
                               llmr_qtarget_names);
    synth s = {.tg = &tg, .seed = (uint64_t)seed * 0x9E3779B97F4A7C15ull, .pure = pure};
    gguf_file *vf;
    if (gguf_open(vocab, &vf, &s.err))
        return cli_fail("synth", "%s", s.err.msg);
    uint64_t nt = 0;
    if (!gguf_get_arr(vf, "tokenizer.ggml.tokens", GGUF_STRING, &nt) || nt < 1 || nt > (1u << 30)) {
        gguf_close(vf);
        return cli_fail("synth", "%s: no tokenizer.ggml.tokens array to take the vocabulary from",
                        vocab);
    }
    const int n_vocab = (int)nt;
    if (n_vocab != sh->n_vocab)
        fprintf(stderr, "llmr synth: note: %s has %d tokens; %s has %d, using %d\n", vocab,
                n_vocab, sh->name, sh->n_vocab, n_vocab);
    int rc = CLI_BAD_INPUT;
    s.w = gguf_writer_new();
    s.pool = llmri_pool_new(threads ? (int)threads : llmri_physical_cores());
    s.bufs = calloc((size_t)sh->n_layer * 24 + 8, sizeof *s.bufs);
    s.qp = (llmr_qpos){.n_layer = sh->n_layer, .has_output = !sh->tied || is_encoder(sh)};
    if (!s.w || !s.pool || !s.bufs) {
        cli_fail("synth", "out of memory");
        goto done;
    }
    set_hparams(s.w, sh, x, &tg, n_vocab);
    for (uint64_t i = 0; i < vf->n_kv; i++)
        if (!strncmp(vf->kv[i].key.ptr, "tokenizer.", 10))
            gguf_writer_set_value(s.w, vf->kv[i].key.ptr, &vf->kv[i].val);
    uint64_t n_types = 2;   /* BERT's sentence A and B, when the vocabulary does not say */
    if (gguf_get_u64(vf, "tokenizer.ggml.token_type_count", &n_types) && (n_types < 1 ||
                                                                           n_types > 64))
        n_types = 2;
    rc = is_encoder(sh) ? build_encoder(&s, sh, n_vocab, (int)n_types) : build(&s, sh, x, n_vocab);
    if (rc || gguf_writer_write(s.w, out, 3, &s.err)) {
        rc = CLI_BAD_INPUT;
        cli_fail("synth", "%s", s.err.msg[0] ? s.err.msg : "cannot build the model");
        goto done;
    }
    fprintf(stderr, "llmr synth: wrote %s (%s, %s, %.2f MiB of weights)\n", out, sh->name,
            tg.name, (double)s.bytes / (1024.0 * 1024.0));
    rc = CLI_OK;
done:
    for (int i = 0; s.bufs && i < s.n_bufs; i++)
        free(s.bufs[i]);
    free(s.bufs);
    llmri_pool_free(s.pool);
    gguf_writer_free(s.w);
    gguf_close(vf);
    return rc;
}
