/* model.c - hyper-parameters from GGUF metadata, weight views with load-time validation, and
 * the public llmr_model_* API.
 *
 * Key names follow llama.cpp's llama-arch.cpp (LLM_KV_*): "<arch>.embedding_length", ...,
 * tensor names its LLM_TENSOR_* ("blk.N.attn_q.weight", ...). Shapes are GGUF's ne order:
 * ne[0] is the input (row) length, ne[1] the output count.
 */
#include "model/forward.h"
#include "model/encoder.h"

#include "core/threadpool.h"
#include "core/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct arch_info {
    const char *name;
    llmr_arch arch;
    llmr_rope_kind rope;
    bool biases;           /* Q/K/V biases required */
} arch_info;

static const arch_info ARCHS[] = {
    {"llama", LLMR_ARCH_LLAMA, LLMR_ROPE_NORM, false},
    {"qwen2", LLMR_ARCH_QWEN2, LLMR_ROPE_NEOX, true},
    {"bert", LLMR_ARCH_BERT, LLMR_ROPE_NEOX, false},
    {"nomic-bert", LLMR_ARCH_NOMIC_BERT, LLMR_ROPE_NEOX, false},
    {"gemma", LLMR_ARCH_GEMMA, LLMR_ROPE_NEOX, false},
    {"gemma2", LLMR_ARCH_GEMMA2, LLMR_ROPE_NEOX, false},
    {"gemma3", LLMR_ARCH_GEMMA3, LLMR_ROPE_NEOX, false},
    {"phi3", LLMR_ARCH_PHI3, LLMR_ROPE_NEOX, false},
    {"qwen3", LLMR_ARCH_QWEN3, LLMR_ROPE_NEOX, false},
    {"qwen2moe", LLMR_ARCH_QWEN2MOE, LLMR_ROPE_NEOX, true},
    {"qwen3moe", LLMR_ARCH_QWEN3MOE, LLMR_ROPE_NEOX, false},
};

const char *llmri_arch_name(llmr_arch a)
{
    for (size_t i = 0; i < sizeof ARCHS / sizeof ARCHS[0]; i++)
        if (ARCHS[i].arch == a)
            return ARCHS[i].name;
    return "unknown";
}

static const arch_info *find_arch(const char *name)
{
    for (size_t i = 0; i < sizeof ARCHS / sizeof ARCHS[0]; i++)
        if (!strcmp(ARCHS[i].name, name))
            return &ARCHS[i];
    return NULL;
}

/* "<arch>.<suffix>" */
static const char *akey(char *buf, size_t cap, const char *arch, const char *suffix)
{
    snprintf(buf, cap, "%s.%s", arch, suffix);
    return buf;
}

static int get_int(const gguf_file *gf, const char *arch, const char *suffix, bool required,
                   int def, int lo, int hi, int *out, llmr_err *err)
{
    char key[128];
    akey(key, sizeof key, arch, suffix);
    const gguf_kv *kv = gguf_find(gf, key);
    if (!kv) {
        if (required)
            return llmri_err_set(err, LLMR_ERR_FORMAT, "%s: missing metadata key %s", gf->path,
                                key);
        *out = def;
        return LLMR_OK;
    }
    uint64_t v;
    if (!gguf_get_u64(gf, key, &v) || v < (uint64_t)lo || v > (uint64_t)hi)
        return llmri_err_set(err, LLMR_ERR_FORMAT,
                            "%s: metadata key %s must be an integer in [%d, %d]", gf->path, key,
                            lo, hi);
    *out = (int)v;
    return LLMR_OK;
}

static int get_float(const gguf_file *gf, const char *arch, const char *suffix, bool required,
                     float def, float *out, llmr_err *err)
{
    char key[128];
    akey(key, sizeof key, arch, suffix);
    if (!gguf_find(gf, key)) {
        if (required)
            return llmri_err_set(err, LLMR_ERR_FORMAT, "%s: missing metadata key %s", gf->path,
                                key);
        *out = def;
        return LLMR_OK;
    }
    if (!gguf_get_f32(gf, key, out) || !(*out == *out))
        return llmri_err_set(err, LLMR_ERR_FORMAT, "%s: metadata key %s must be a number",
                            gf->path, key);
    return LLMR_OK;
}

int llmri_hparams_load(const gguf_file *gf, llmr_hparams *hp, llmr_err *err)
{
    memset(hp, 0, sizeof *hp);
    const char *an = gguf_get_str(gf, "general.architecture");
    if (!an)
        return llmri_err_set(err, LLMR_ERR_FORMAT, "%s: missing metadata key general.architecture",
                            gf->path);
    const arch_info *ai = find_arch(an);
    if (!ai)
        return llmri_err_set(err, LLMR_ERR_UNSUPPORTED,
                            "%s: general.architecture '%s' is not supported (expected llama, "
                            "qwen2, qwen3, gemma, gemma2, gemma3, phi3, qwen2moe, qwen3moe, bert or "
                            "nomic-bert)", gf->path, an);
    hp->arch = ai->arch;
    hp->rope = ai->rope;
    const int BIG = 1 << 24;
    int rc;
    if ((rc = get_int(gf, an, "embedding_length", true, 0, 1, BIG, &hp->n_embd, err)) ||
        (rc = get_int(gf, an, "block_count", true, 0, 1, 4096, &hp->n_layer, err)) ||
        (rc = get_int(gf, an, "feed_forward_length", true, 0, 1, BIG, &hp->n_ff, err)) ||
        (rc = get_int(gf, an, "attention.head_count", true, 0, 1, 65536, &hp->n_head, err)) ||
        (rc = get_int(gf, an, "attention.head_count_kv", false, hp->n_head, 1, 65536,
                      &hp->n_head_kv, err)) ||
        (rc = get_int(gf, an, "context_length", false, 2048, 1, 1 << 30, &hp->n_ctx_train, err)))
        return rc;
    if (hp->n_embd % hp->n_head)
        return llmri_err_set(err, LLMR_ERR_FORMAT,
                            "%s: embedding_length %d is not a multiple of head_count %d",
                            gf->path, hp->n_embd, hp->n_head);
    if ((rc = get_int(gf, an, "attention.key_length", false, hp->n_embd / hp->n_head, 2, 65536,
                      &hp->head_dim, err)))
        return rc;
    int vlen;
    if ((rc = get_int(gf, an, "attention.value_length", false, hp->head_dim, 1, 65536, &vlen,
                      err)))
        return rc;
    if (vlen != hp->head_dim)
        return llmri_err_set(err, LLMR_ERR_UNSUPPORTED,
                            "%s: %s.attention.value_length %d differs from key_length %d",
                            gf->path, an, vlen, hp->head_dim);
    if (hp->n_head % hp->n_head_kv)
        return llmri_err_set(err, LLMR_ERR_FORMAT,
                            "%s: attention.head_count %d is not a multiple of head_count_kv %d",
                            gf->path, hp->n_head, hp->n_head_kv);
    if ((rc = get_int(gf, an, "rope.dimension_count", false, hp->head_dim, 2, hp->head_dim,
                      &hp->n_rot, err)))
        return rc;
    if (hp->n_rot % 2)
        return llmri_err_set(err, LLMR_ERR_FORMAT, "%s: %s.rope.dimension_count %d is odd",
                            gf->path, an, hp->n_rot);
    const bool enc = llmri_arch_is_encoder(ai->arch);
    /* embeddings' pooling (llama_pooling_type numbers; decoders may carry it too) */
    if ((rc = get_int(gf, an, "pooling_type", false, -1, 0, 4, &hp->pooling, err)))
        return rc;
    if ((rc = get_float(gf, an, enc ? "attention.layer_norm_epsilon"
                                    : "attention.layer_norm_rms_epsilon", true, 0, &hp->rms_eps,
                        err)) ||
        (rc = get_float(gf, an, "rope.freq_base", false, 10000.0f, &hp->rope_base, err)))
        return rc;
    /* Linear scaling: freq_scale = 1/factor (rope.scaling.factor, or the older
     * rope.scale_linear). Other scaling types (yarn) are not implemented. */
    hp->rope_scale = 1.0f;
    char key[128];
    const char *stype = gguf_get_str(gf, akey(key, sizeof key, an, "rope.scaling.type"));
    /* longrope (phi3) is its per-dimension factors, read with the tensors */
    if (stype && strcmp(stype, "none") && strcmp(stype, "linear") &&
        !(hp->arch == LLMR_ARCH_PHI3 && !strcmp(stype, "longrope")))
        return llmri_err_set(err, LLMR_ERR_UNSUPPORTED, "%s: %s '%s' is not supported "
                            "(expected none or linear)", gf->path, key, stype);
    float factor = 0.0f;
    if (stype && !strcmp(stype, "linear"))
        get_float(gf, an, "rope.scaling.factor", false, 0.0f, &factor, err);
    else if (!stype)
        get_float(gf, an, "rope.scale_linear", false, 0.0f, &factor, err);
    if (factor > 0.0f)
        hp->rope_scale = 1.0f / factor;
    if (!(hp->rope_base > 0.0f) || !(hp->rms_eps >= 0.0f))
        return llmri_err_set(err, LLMR_ERR_FORMAT, "%s: rope.freq_base and rms epsilon must be "
                            "positive", gf->path);
    /* vocab_size is often absent (qwen2): then the tokenizer's token count, then the
     * embedding's row count. */
    uint64_t nt = 0;
    int vs = 0;
    if ((rc = get_int(gf, an, "vocab_size", false, 0, 1, 1 << 30, &vs, err)))
        return rc;
    if (!vs && gguf_get_arr(gf, "tokenizer.ggml.tokens", GGUF_STRING, &nt) && nt && nt < (1u << 30))
        vs = (int)nt;
    if (!vs) {
        const gguf_tensor *te = gguf_find_tensor(gf, "token_embd.weight");
        if (te && te->n_dims == 2 && te->ne[1] > 0 && te->ne[1] < (1 << 30))
            vs = (int)te->ne[1];
    }
    if (!vs)
        return llmri_err_set(err, LLMR_ERR_FORMAT, "%s: cannot tell the vocabulary size (no %s."
                            "vocab_size, tokenizer.ggml.tokens or token_embd.weight)", gf->path, an);
    hp->n_vocab = vs;
    hp->attn_scale = 1.0f / sqrtf((float)hp->head_dim);
    if (enc)
        return llmri_encoder_hparams(gf, an, hp, err);
    if ((rc = llmri_moe_hparams(gf, an, hp, err)))
        return rc;
    if (hp->arch >= LLMR_ARCH_GEMMA)
        return llmri_dense_hparams(gf, an, hp, err);
    return LLMR_OK;
}

/* Finds tensor `name` and checks its type and shape: n_dims values of ne (trailing 1s are
 * ignored). Vectors (`vec`) must be F32; matrices must have computable types whose
 * activations can be converted. */
static int bind_nd(const gguf_file *gf, const char *name, int64_t ne0, int64_t ne1, int64_t ne2,
                   bool vec, bool optional, llmr_mat *out, llmr_err *err)
{
    memset(out, 0, sizeof *out);
    const gguf_tensor *t = gguf_find_tensor(gf, name);
    if (!t) {
        if (optional)
            return LLMR_OK;
        return llmri_err_set(err, LLMR_ERR_FORMAT, "%s: missing tensor %s", gf->path, name);
    }
    int64_t want[GGUF_MAX_DIMS] = {ne0, vec ? 1 : ne1, ne2, 1};
    bool ok = true;
    for (int i = 0; i < GGUF_MAX_DIMS; i++)
        ok &= (i < (int)t->n_dims ? t->ne[i] : 1) == want[i];
    if (!ok) {
        char got[96] = "", *p = got;
        for (uint32_t i = 0; i < t->n_dims && i < GGUF_MAX_DIMS; i++)
            p += snprintf(p, (size_t)(got + sizeof got - p), "%s%lld", i ? ", " : "",
                          (long long)t->ne[i]);
        if (vec)
            return llmri_err_set(err, LLMR_ERR_FORMAT, "%s: tensor %s has shape [%s], expected "
                                "[%lld] from the metadata", gf->path, name, got, (long long)ne0);
        if (ne2 > 1)
            return llmri_err_set(err, LLMR_ERR_FORMAT, "%s: tensor %s has shape [%s], expected "
                                "[%lld, %lld, %lld] from the metadata", gf->path, name, got,
                                (long long)ne0, (long long)ne1, (long long)ne2);
        return llmri_err_set(err, LLMR_ERR_FORMAT, "%s: tensor %s has shape [%s], expected "
                            "[%lld, %lld] from the metadata", gf->path, name, got,
                            (long long)ne0, (long long)ne1);
    }
    llmr_type_info ti;
    const char *tn = llmr_type_get(t->type, &ti) ? ti.name : "unknown";
    if (vec) {
        if (t->type != LLMR_TYPE_F32)
            return llmri_err_set(err, LLMR_ERR_UNSUPPORTED, "%s: tensor %s has type %s (id %u), "
                                "expected F32", gf->path, name, tn, t->type);
    } else {
        /* A layout of llmr quantize --repack binds as its plain type: llmri_weights_repack
         * either keeps it for its products or converts it back before anything reads it. */
        uint32_t ty = t->type;
        if (gguf_type_is_repacked(t->type, &ty, NULL) && !llmri_traits_layout(t->type))
            return llmri_err_set(err, LLMR_ERR_UNSUPPORTED, "%s: tensor %s has type %s (id "
                                "%#x), a row-interleaved layout this build of llmr does not "
                                "have; make the file again from the plain one with this "
                                "build's `llmr quantize --repack`", gf->path, name, tn, t->type);
        const llmr_type_traits *tr = llmri_traits(ty);
        const llmr_type_traits *vt = tr ? llmri_traits(tr->vec_dot_type) : NULL;
        if (!tr || !tr->vec_dot || !vt || !vt->from_float)
            return llmri_err_set(err, LLMR_ERR_UNSUPPORTED, "%s: tensor %s has type %s (id %u), "
                                "which llmr cannot compute with", gf->path, name, tn, t->type);
        if (ne0 % tr->block_size || ne0 % vt->block_size)
            return llmri_err_set(err, LLMR_ERR_FORMAT, "%s: tensor %s: row length %lld is not a "
                                "multiple of the %s block size", gf->path, name,
                                (long long)ne0, tn);
        out->tr = tr;
    }
    out->data = t->data;
    out->type = out->tr ? out->tr->type : t->type;
    out->cols = ne0;
    out->rows = vec ? 1 : ne1 * ne2;
    out->row_bytes = llmri_row_size(out->type, ne0);
    uint64_t need;
    if (!out->row_bytes || !llmri_mul_ok(out->row_bytes, (uint64_t)out->rows, &need) ||
        need > t->nbytes)
        return llmri_err_set(err, LLMR_ERR_FORMAT, "%s: tensor %s: data is smaller than its "
                            "shape implies", gf->path, name);
    return LLMR_OK;
}

static int bind(const gguf_file *gf, const char *name, int64_t ne0, int64_t ne1, bool vec,
                bool optional, llmr_mat *out, llmr_err *err)
{
    return bind_nd(gf, name, ne0, ne1, 1, vec, optional, out, err);
}

int llmri_weights_load(llmr_model *m, llmr_err *err)
{
    const gguf_file *gf = m->gf;
    const llmr_hparams *hp = &m->hp;
    const int64_t E = hp->n_embd, F = hp->n_ff, V = hp->n_vocab;
    const int64_t qd = (int64_t)hp->n_head * hp->head_dim, kvd = (int64_t)hp->n_head_kv * hp->head_dim;
    if (hp->encoder)
        return llmri_encoder_weights_load(m, err);
    int rc;
    if ((rc = bind(gf, "token_embd.weight", E, V, false, false, &m->tok_embd, err)) ||
        (rc = bind(gf, "output_norm.weight", E, 0, true, false, &m->out_norm, err)) ||
        (rc = bind(gf, "output.weight", E, V, false, true, &m->output, err)))
        return rc;
    m->hp.tied_output = m->output.data == NULL;
    if (m->hp.tied_output)
        m->output = m->tok_embd;
    llmr_mat rf;
    if ((rc = bind(gf, "rope_freqs.weight", hp->n_rot / 2, 0, true, true, &rf, err)))
        return rc;
    m->rope_freqs = rf.data;
    m->layers = calloc((size_t)hp->n_layer, sizeof *m->layers);
    if (!m->layers)
        return llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory");
    const bool biases = hp->arch == LLMR_ARCH_QWEN2;
    for (int l = 0; l < hp->n_layer; l++) {
        if (hp->arch >= LLMR_ARCH_GEMMA || hp->n_expert) {
            if ((rc = llmri_dense_layer(m, l, err)))
                return rc;
            continue;
        }
        llmr_layer *L = &m->layers[l];
        char n[96];
#define BIND(field, suffix, ne0, ne1, vec)                                                     \
    do {                                                                                       \
        snprintf(n, sizeof n, "blk.%d.%s", l, suffix);                                         \
        if ((rc = bind(gf, n, ne0, ne1, vec, false, &L->field, err)))                          \
            return rc;                                                                         \
    } while (0)
        BIND(attn_norm, "attn_norm.weight", E, 0, true);
        BIND(wq, "attn_q.weight", E, qd, false);
        BIND(wk, "attn_k.weight", E, kvd, false);
        BIND(wv, "attn_v.weight", E, kvd, false);
        BIND(wo, "attn_output.weight", qd, E, false);
        BIND(ffn_norm, "ffn_norm.weight", E, 0, true);
        BIND(w_gate, "ffn_gate.weight", E, F, false);
        BIND(w_up, "ffn_up.weight", E, F, false);
        BIND(w_down, "ffn_down.weight", F, E, false);
#undef BIND
        const struct { const char *s; int64_t ne; const float **dst; } bs[3] = {
            {"attn_q.bias", qd, &L->bq}, {"attn_k.bias", kvd, &L->bk}, {"attn_v.bias", kvd, &L->bv}};
        for (int i = 0; i < 3; i++) {
            llmr_mat b;
            snprintf(n, sizeof n, "blk.%d.%s", l, bs[i].s);
            /* qwen2 always has them; a llama file may too (some converters emit them) */
            if ((rc = bind(gf, n, bs[i].ne, 0, true, !biases, &b, err)))
                return rc;
            *bs[i].dst = b.data;
        }
    }
    return LLMR_OK;
}

int llmri_bind(const gguf_file *gf, const char *name, int64_t ne0, int64_t ne1, bool vec,
               bool optional, llmr_mat *out, llmr_err *err)
{
    return bind(gf, name, ne0, ne1, vec, optional, out, err);
}

int llmri_bind3(const gguf_file *gf, const char *name, int64_t ne0, int64_t ne1, int64_t ne2,
                llmr_mat *out, llmr_err *err)
{
    return bind_nd(gf, name, ne0, ne1, ne2, false, false, out, err);
}

int llmri_get_int(const gguf_file *gf, const char *arch, const char *suffix, bool required,
                  int def, int lo, int hi, int *out, llmr_err *err)
{
    return get_int(gf, arch, suffix, required, def, lo, hi, out, err);
}

int llmri_get_float(const gguf_file *gf, const char *arch, const char *suffix, bool required,
                    float def, float *out, llmr_err *err)
{
    return get_float(gf, arch, suffix, required, def, out, err);
}

/* ---- accessors ----------------------------------------------------------------------------- */

const gguf_file *llmri_model_gguf(const llmr_model *m) { return m->gf; }
const llmr_hparams *llmri_model_hparams(const llmr_model *m) { return &m->hp; }
int llmri_model_n_vocab(const llmr_model *m) { return m->hp.n_vocab; }
int llmri_model_n_ctx(const llmr_model *m) { return m->n_ctx; }

uint64_t llmri_model_n_params(const llmr_model *m)
{
    uint64_t n = 0;
    for (uint64_t i = 0; i < m->gf->n_tensors; i++)
        n += m->gf->tensors[i].n_elements;
    return n;
}

uint64_t llmri_model_size(const llmr_model *m)
{
    uint64_t n = 0;
    for (uint64_t i = 0; i < m->gf->n_tensors; i++)
        n += m->gf->tensors[i].nbytes;
    return n;
}

/* ---- public API -------------------------------------------------------------------------- */

llmr_model_opts llmr_model_defaults(void)
{
    llmr_model_opts o = {.n_threads = 0, .n_ctx = 0, .kv_type = LLMR_KV_F16,
                         .kv_type_v = LLMR_KV_SAME};
    return o;
}

static const char *const kv_names[] = {"f16", "f32", "q8_0", "q4_0"};

bool llmr_kv_type_parse(const char *name, llmr_kv_type *out)
{
    for (int i = 0; name && i < (int)(sizeof kv_names / sizeof *kv_names); i++)
        if (!strcasecmp(name, kv_names[i])) {
            *out = (llmr_kv_type)i;
            return true;
        }
    return false;
}

const char *llmr_kv_type_name(llmr_kv_type t)
{
    return t >= LLMR_KV_F16 && t <= LLMR_KV_Q4_0 ? kv_names[t] : "?";
}

/* The ggml type of a cache type (checked in range by the caller). */
static int kv_ggml_type(llmr_kv_type t)
{
    static const int types[] = {LLMR_TYPE_F16, LLMR_TYPE_F32, LLMR_TYPE_Q8_0, LLMR_TYPE_Q4_0};
    return types[t];
}

/* Default context: the model's training context, capped so that a 128k-context model does
 * not allocate a multi-gigabyte cache unless asked (llama.cpp's tools cap at 4096 too). */
#define DEFAULT_CTX_CAP 4096
/* Streams decoded together by default: as `llmr serve --parallel`. Slots are made on demand,
 * so the default costs nothing to a caller that runs one stream at a time. */
#define DEFAULT_PARALLEL 4

/* The model file, from a path or from memory (data != NULL). */
typedef struct model_src {
    const char *path;
    const void *data;
    size_t size;
} model_src;

static int model_open(const model_src *src, const llmr_model_opts *opts, llmr_model **out)
{
    llmr_model_opts o = opts ? *opts : llmr_model_defaults();
    llmr_model *m = calloc(1, sizeof *m);
    *out = m;
    if (!m)
        return LLMR_ERR_NOMEM;
    pthread_mutex_init(&m->run_lock, NULL);
    llmr_err *err = &m->err;
    if (!src->path && !src->data)
        return llmri_err_set(err, LLMR_ERR_ARG, "no model path given");
    if (o.kv_type_v == LLMR_KV_SAME)
        o.kv_type_v = o.kv_type;
    if (o.n_threads < 0 || o.n_threads > 1024 || o.n_ctx < 0 || o.kv_type < LLMR_KV_F16 ||
        o.kv_type > LLMR_KV_Q4_0 || o.kv_type_v < LLMR_KV_F16 || o.kv_type_v > LLMR_KV_Q4_0)
        return llmri_err_set(err, LLMR_ERR_ARG, "model options out of range (n_threads %d, "
                            "n_ctx %d, kv_type %d, kv_type_v %d)", o.n_threads, o.n_ctx,
                            (int)o.kv_type, (int)o.kv_type_v);
    if (o.n_parallel < 0 || o.n_parallel > LLMR_MAX_BATCH_SEQS || o.max_queued < -1)
        return llmri_err_set(err, LLMR_ERR_ARG, "model options out of range (n_parallel %d: "
                            "expected 0..%d; max_queued %d: expected -1 or more)", o.n_parallel,
                            LLMR_MAX_BATCH_SEQS, o.max_queued);
    m->n_parallel = o.n_parallel ? o.n_parallel : DEFAULT_PARALLEL;
    m->max_queued = o.max_queued;
    int rc = src->data ? gguf_open_mem(src->data, src->size, src->path, &m->gf, err)
                       : gguf_open(src->path, &m->gf, err);
    if (rc)
        return rc;
    if ((rc = llmri_hparams_load(m->gf, &m->hp, err)) || (rc = llmri_weights_load(m, err)))
        return rc;
    /* Threads past the CPUs this process may use only wait for a busy core: each pool step
     * then costs a scheduler time slice (-t 999 ran hundreds of times slower). */
    const int cpus = llmri_cpu_count();
    m->n_threads = o.n_threads ? (o.n_threads < cpus ? o.n_threads : cpus) : llmri_physical_cores();
    m->n_ctx = o.n_ctx ? o.n_ctx
                       : (m->hp.n_ctx_train < DEFAULT_CTX_CAP ? m->hp.n_ctx_train : DEFAULT_CTX_CAP);
    m->type_k = kv_ggml_type(o.kv_type);
    m->type_v = kv_ggml_type(o.kv_type_v);
    /* a quantized cache quantizes each head's part of a row in whole blocks */
    if ((o.kv_type >= LLMR_KV_Q8_0 || o.kv_type_v >= LLMR_KV_Q8_0) && !m->hp.encoder &&
        m->hp.head_dim % 32)
        return llmri_err_set(err, LLMR_ERR_UNSUPPORTED, "%s: a %s KV cache needs a head "
                            "dimension that is a multiple of 32 (this model's is %d)",
                            m->gf->path,
                            llmr_kv_type_name(o.kv_type >= LLMR_KV_Q8_0 ? o.kv_type
                                                                        : o.kv_type_v),
                            m->hp.head_dim);
    llmri_dense_ready(m);
    m->pool = llmri_pool_new(m->n_threads);
    if (!m->pool)
        return llmri_err_set(err, LLMR_ERR_NOMEM, "cannot start %d threads", m->n_threads);
    if ((rc = llmri_weights_repack(m, err)))
        return rc;
    return llmri_work_new(m, &m->work, err);
}

int llmr_model_open(const char *path, const llmr_model_opts *opts, llmr_model **out)
{
    const model_src src = {.path = path};
    return model_open(&src, opts, out);
}

int llmr_model_open_memory(const void *data, size_t size, const char *name,
                           const llmr_model_opts *opts, llmr_model **out)
{
    if (!data) {
        int rc = model_open(&(model_src){.path = NULL}, opts, out);
        if (*out)
            llmri_err_set(&(*out)->err, rc, "no model data given");
        return rc;
    }
    const model_src src = {.path = name ? name : "(memory)", .data = data, .size = size};
    return model_open(&src, opts, out);
}

void llmr_model_close(llmr_model *m)
{
    if (!m)
        return;
    if (m->ext_free)
        m->ext_free(m->ext);
    llmri_pool_free(m->pool);
    llmri_work_free(m->work);
    free(m->layers);
    llmri_encoder_free(m->enc);
    gguf_close(m->gf);
    pthread_mutex_destroy(&m->run_lock);
    free(m);
}

const char *llmr_model_errmsg(const llmr_model *m)
{
    if (!m)
        return "out of memory";
    return m->err.msg;
}
