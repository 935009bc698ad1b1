/* arch_dense.c - the dense families beyond llama and qwen2: what each adds to the common
 * hyper-parameters and tensors. The layer itself is forward.c's with their steps switched on;
 * the row math only they use (GeGLU, soft-capping, the sliding-window softmax) is rowops.h's.
 *
 * Keys and tensor names are llama.cpp's (llama-arch.cpp); what each family computes is its
 * published model definition (Hugging Face transformers' modeling_gemma*.py, modeling_phi3.py,
 * modeling_qwen3.py), as llama.cpp's graphs for it compute it:
 *  - gemma: token embeddings times sqrt(n_embd); GeGLU with tanh GELU; tied output. GGUF
 *    stores Gemma's RMSNorm weights as 1 + w, so the norms are plain RMSNorms here.
 *  - gemma2: gemma plus an RMSNorm after attention and after the FFN, attention scores
 *    soft-capped (cap * tanh(s / cap), attn_logit_softcapping, default 50) and the logits
 *    likewise (final_logit_softcapping, default 30), a sliding window (default 4096) on the
 *    even layers, and q scaled by 1/sqrt(head_dim) (by 1/sqrt(n_embd / n_head) for the 46-layer
 *    27B, whose query_pre_attn_scalar is that).
 *  - gemma3: gemma2's layer without soft-capping, plus an RMSNorm of each q and k head; five
 *    sliding-window layers then one global (layer l is local when l % 6 < 5); local layers use
 *    RoPE base 10000 unscaled, global ones rope.freq_base with the file's scaling.
 *  - phi3: fused QKV (attn_qkv: q rows, then k, then v) and fused gate-up (ffn_up: gate rows,
 *    then up) weights, read as views of the fused tensor; NeoX RoPE over rope.dimension_count
 *    dimensions; LongRoPE divisors rope_factors_long / rope_factors_short (long when the
 *    context exceeds rope.scaling.original_context_length) and rope.scaling.attn_factor on
 *    cos and sin; a sliding window on every layer when attention.sliding_window is set.
 *  - qwen3: qwen2 without biases, with the per-head q and k RMSNorms.
 * The mixtures of experts (qwen2moe: qwen2's attention; qwen3moe: qwen3's; llama files with
 * ffn_*_exps) share this loader for their attention; arch_moe.c binds their FFN.
 */
#include "model/forward.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Gemma 3's local layers: RoPE base (rope_local_base_freq) and the local:global pattern. */
#define GEMMA3_LOCAL_BASE 10000.0f
#define GEMMA3_PATTERN 6

int llmri_dense_hparams(const gguf_file *gf, const char *an, llmr_hparams *hp, llmr_err *err)
{
    int rc = LLMR_OK;
    const bool gemma = hp->arch == LLMR_ARCH_GEMMA || hp->arch == LLMR_ARCH_GEMMA2 ||
                       hp->arch == LLMR_ARCH_GEMMA3;
    if (gemma) {
        hp->embd_scale = sqrtf((float)hp->n_embd);
        hp->ffn_gelu = true;
    }
    /* The 27B models scale q by their query_pre_attn_scalar, n_embd / n_head. */
    const int big_layers = hp->arch == LLMR_ARCH_GEMMA2 ? 46 : 62;
    if ((hp->arch == LLMR_ARCH_GEMMA2 || hp->arch == LLMR_ARCH_GEMMA3) &&
        hp->n_layer == big_layers)
        hp->attn_scale = 1.0f / sqrtf((float)(hp->n_embd / hp->n_head));
    switch (hp->arch) {
    case LLMR_ARCH_GEMMA2:
        if ((rc = llmri_get_int(gf, an, "attention.sliding_window", false, 4096, 1, 1 << 30,
                                &hp->n_swa, err)) ||
            (rc = llmri_get_float(gf, an, "attn_logit_softcapping", false, 50.0f,
                                  &hp->attn_softcap, err)) ||
            (rc = llmri_get_float(gf, an, "final_logit_softcapping", false, 30.0f,
                                  &hp->final_softcap, err)))
            return rc;
        if (!(hp->attn_softcap > 0.0f) || !(hp->final_softcap > 0.0f))
            return llmri_err_set(err, LLMR_ERR_FORMAT, "%s: %s soft-capping values must be "
                                "positive", gf->path, an);
        break;
    case LLMR_ARCH_GEMMA3:
        if ((rc = llmri_get_int(gf, an, "attention.sliding_window", true, 0, 1, 1 << 30,
                                &hp->n_swa, err)))
            return rc;
        hp->rope_base_swa = GEMMA3_LOCAL_BASE;
        break;
    case LLMR_ARCH_PHI3:
        if ((rc = llmri_get_int(gf, an, "attention.sliding_window", false, 0, 0, 1 << 30,
                                &hp->n_swa, err)) ||
            (rc = llmri_get_float(gf, an, "rope.scaling.attn_factor", false, 1.0f,
                                  &hp->rope_mscale, err)) ||
            (rc = llmri_get_int(gf, an, "rope.scaling.original_context_length", false,
                                hp->n_ctx_train, 1, 1 << 30, &hp->n_ctx_orig, err)))
            return rc;
        if (!(hp->rope_mscale > 0.0f))
            return llmri_err_set(err, LLMR_ERR_FORMAT, "%s: %s.rope.scaling.attn_factor must "
                                "be positive", gf->path, an);
        break;
    default:
        break;
    }
    return LLMR_OK;
}

/* Rows [r0, r0 + n) of W, as a matrix of its own (a part of a fused weight). */
static llmr_mat rows_of(const llmr_mat *W, int64_t r0, int64_t n)
{
    llmr_mat v = *W;
    v.data = (const uint8_t *)W->data + (size_t)r0 * W->row_bytes;
    v.rows = n;
    return v;
}

static int bind_vec(const gguf_file *gf, int l, const char *suffix, int64_t n,
                    const float **dst, llmr_err *err)
{
    char name[96];
    snprintf(name, sizeof name, "blk.%d.%s", l, suffix);
    llmr_mat v;
    int rc = llmri_bind(gf, name, n, 0, true, false, &v, err);
    *dst = v.data;
    return rc;
}

/* phi3's LongRoPE divisors: n_rot / 2 values (llama.cpp's files may hold head_dim / 2, of
 * which the first n_rot / 2 are used). */
static int bind_rope_factors(const gguf_file *gf, const llmr_hparams *hp, const char *name,
                             const float **dst, llmr_err *err)
{
    const gguf_tensor *t = gguf_find_tensor(gf, name);
    const int64_t n = t && t->n_dims == 1 && t->ne[0] == hp->head_dim / 2 ? hp->head_dim / 2
                                                                            : hp->n_rot / 2;
    llmr_mat v;
    int rc = llmri_bind(gf, name, n, 0, true, true, &v, err);
    *dst = v.data;
    return rc;
}

int llmri_dense_layer(llmr_model *m, int l, llmr_err *err)
{
    const gguf_file *gf = m->gf;
    const llmr_hparams *hp = &m->hp;
    llmr_layer *L = &m->layers[l];
    const int64_t E = hp->n_embd, F = hp->n_ff, hd = hp->head_dim;
    const int64_t qd = (int64_t)hp->n_head * hd, kvd = (int64_t)hp->n_head_kv * hd;
    const llmr_arch a = hp->arch;
    char n[96];
    int rc;
    llmr_mat fused;
#define BIND(field, suffix, ne0, ne1)                                                          \
    do {                                                                                       \
        snprintf(n, sizeof n, "blk.%d.%s", l, suffix);                                         \
        if ((rc = llmri_bind(gf, n, ne0, ne1, false, false, field, err)))                      \
            return rc;                                                                         \
    } while (0)
    if ((rc = llmri_bind(gf, (snprintf(n, sizeof n, "blk.%d.attn_norm.weight", l), n), E, 0,
                         true, false, &L->attn_norm, err)) ||
        (rc = llmri_bind(gf, (snprintf(n, sizeof n, "blk.%d.ffn_norm.weight", l), n), E, 0,
                         true, false, &L->ffn_norm, err)))
        return rc;
    snprintf(n, sizeof n, "blk.%d.attn_qkv.weight", l);
    if (a == LLMR_ARCH_PHI3 && gguf_find_tensor(gf, n)) {
        BIND(&fused, "attn_qkv.weight", E, qd + 2 * kvd);
        L->wq = rows_of(&fused, 0, qd);
        L->wk = rows_of(&fused, qd, kvd);
        L->wv = rows_of(&fused, qd + kvd, kvd);
    } else {
        BIND(&L->wq, "attn_q.weight", E, qd);
        BIND(&L->wk, "attn_k.weight", E, kvd);
        BIND(&L->wv, "attn_v.weight", E, kvd);
    }
    BIND(&L->wo, "attn_output.weight", qd, E);
    if (a == LLMR_ARCH_QWEN2MOE)   /* qwen2's Q/K/V biases */
        if ((rc = bind_vec(gf, l, "attn_q.bias", qd, &L->bq, err)) ||
            (rc = bind_vec(gf, l, "attn_k.bias", kvd, &L->bk, err)) ||
            (rc = bind_vec(gf, l, "attn_v.bias", kvd, &L->bv, err)))
            return rc;
    if (hp->n_expert) {
        if ((rc = llmri_moe_layer(m, l, err)))
            return rc;
    } else if (a == LLMR_ARCH_PHI3) {
        BIND(&fused, "ffn_up.weight", E, 2 * F);
        L->w_gate = rows_of(&fused, 0, F);
        L->w_up = rows_of(&fused, F, F);
    } else {
        BIND(&L->w_gate, "ffn_gate.weight", E, F);
        BIND(&L->w_up, "ffn_up.weight", E, F);
    }
    if (!hp->n_expert)
        BIND(&L->w_down, "ffn_down.weight", F, E);
#undef BIND
    if (a == LLMR_ARCH_GEMMA2 || a == LLMR_ARCH_GEMMA3)
        if ((rc = bind_vec(gf, l, "post_attention_norm.weight", E, &L->attn_post_norm, err)) ||
            (rc = bind_vec(gf, l, "post_ffw_norm.weight", E, &L->ffn_post_norm, err)))
            return rc;
    if (a == LLMR_ARCH_GEMMA3 || a == LLMR_ARCH_QWEN3 || a == LLMR_ARCH_QWEN3MOE)
        if ((rc = bind_vec(gf, l, "attn_q_norm.weight", hd, &L->q_norm, err)) ||
            (rc = bind_vec(gf, l, "attn_k_norm.weight", hd, &L->k_norm, err)))
            return rc;
    if (a == LLMR_ARCH_GEMMA2)
        L->n_swa = l % 2 == 0 ? hp->n_swa : 0;
    else if (a == LLMR_ARCH_GEMMA3) {
        L->rope_swa = l % GEMMA3_PATTERN < GEMMA3_PATTERN - 1;
        L->n_swa = L->rope_swa ? hp->n_swa : 0;
    } else if (a == LLMR_ARCH_PHI3)
        L->n_swa = hp->n_swa;
    if (a == LLMR_ARCH_PHI3 && l == 0)
        if ((rc = bind_rope_factors(gf, hp, "rope_factors_long.weight", &m->rope_long, err)) ||
            (rc = bind_rope_factors(gf, hp, "rope_factors_short.weight", &m->rope_short, err)))
            return rc;
    return LLMR_OK;
}

/* LongRoPE picks its divisors by the context the model runs with, as llama.cpp does (per
 * model: every sequence of it uses the same). */
void llmri_dense_ready(llmr_model *m)
{
    if (m->hp.arch != LLMR_ARCH_PHI3 || (!m->rope_long && !m->rope_short))
        return;
    const float *pick = m->n_ctx > m->hp.n_ctx_orig ? m->rope_long : m->rope_short;
    m->rope_freqs = pick ? pick : m->rope_freqs;
}
