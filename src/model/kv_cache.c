/* kv_cache.c - a sequence: its KV cache (per layer and KV head, K and V by position: one row
 * of head_dim values of the cache's type per position, so a quantized cache quantizes each
 * row once, when it is stored, in blocks of 32 along head_dim) and its logits buffer. */
#include "model/forward.h"

#include "core/util.h"

#include <stdlib.h>
#include <string.h>

int llmri_seq_new(llmr_model *m, int n_ctx, llmr_seq **out)
{
    *out = NULL;
    if (m->hp.encoder)
        return llmri_err_set(&m->err, LLMR_ERR_UNSUPPORTED, "%s: a %s model is an encoder: it "
                            "makes embeddings (llmr_embed) and cannot generate text",
                            m->gf->path, gguf_get_str(m->gf, "general.architecture"));
    if (n_ctx <= 0)
        n_ctx = m->n_ctx;
    if (n_ctx > (1 << 24))
        return llmri_err_set(&m->err, LLMR_ERR_ARG, "context length %d is too large", n_ctx);
    const llmr_hparams *hp = &m->hp;
    const int64_t kvd = (int64_t)hp->n_head_kv * hp->head_dim;
    const size_t k_row = llmri_row_size((uint32_t)m->type_k, kvd);
    const size_t v_row = llmri_row_size((uint32_t)m->type_v, kvd);
    uint64_t per_k, per_v, all;
    if (!llmri_mul_ok((uint64_t)n_ctx, k_row, &per_k) || !llmri_mul_ok((uint64_t)n_ctx, v_row, &per_v) ||
        !llmri_mul_ok(per_k + per_v, (uint64_t)hp->n_layer, &all))
        return llmri_err_set(&m->err, LLMR_ERR_TOO_BIG, "KV cache of %d positions is too large",
                            n_ctx);
    llmr_seq *s = calloc(1, sizeof *s);
    if (!s)
        return llmri_err_set(&m->err, LLMR_ERR_NOMEM, "out of memory for a sequence");
    s->m = m;
    s->n_ctx = n_ctx;
    s->k = calloc((size_t)hp->n_layer, sizeof *s->k);
    s->v = calloc((size_t)hp->n_layer, sizeof *s->v);
    s->k_head = llmri_row_size((uint32_t)m->type_k, hp->head_dim);
    s->v_head = llmri_row_size((uint32_t)m->type_v, hp->head_dim);
    s->k_hstride = (size_t)n_ctx * s->k_head;
    s->v_hstride = (size_t)n_ctx * s->v_head;
    /* calloc: large blocks come zeroed from mmap and stay unresident until written */
    s->kv_mem = calloc(1, (size_t)all);
    s->logits_cap = (size_t)hp->n_vocab;
    s->logits = malloc(s->logits_cap * sizeof(float));
    if (!s->k || !s->v || !s->kv_mem || !s->logits) {
        llmri_seq_free(s);
        return llmri_err_set(&m->err, LLMR_ERR_NOMEM,
                            "out of memory for a KV cache of %d positions (%llu bytes)", n_ctx,
                            (unsigned long long)all);
    }
    for (int l = 0; l < hp->n_layer; l++) {
        s->k[l] = s->kv_mem + (size_t)l * (per_k + per_v);
        s->v[l] = s->k[l] + per_k;
    }
    *out = s;
    return LLMR_OK;
}

void llmri_seq_free(llmr_seq *s)
{
    if (!s)
        return;
    free(s->k);
    free(s->v);
    free(s->kv_mem);
    free(s->logits);
    free(s);
}

int llmri_seq_copy_range(llmr_seq *dst, const llmr_seq *src, int p0, int p1)
{
    if (src->m != dst->m || src == dst)
        return llmri_err_set(&dst->err, LLMR_ERR_ARG,
                            "a cache range is copied between two sequences of one model");
    if (p0 < 0 || p0 > p1 || p0 > dst->n_past || p1 > src->n_past || p1 > dst->n_ctx)
        return llmri_err_set(&dst->err, LLMR_ERR_ARG,
                            "cannot copy positions [%d, %d): the source holds %d, the "
                            "destination %d of %d", p0, p1, src->n_past, dst->n_past,
                            dst->n_ctx);
    const llmr_hparams *hp = &dst->m->hp;
    const size_t n = (size_t)(p1 - p0);
    for (int l = 0; l < hp->n_layer; l++)
        for (int h = 0; h < hp->n_head_kv; h++) {   /* the two may differ in n_ctx */
            memcpy(dst->k[l] + h * dst->k_hstride + (size_t)p0 * dst->k_head,
                   src->k[l] + h * src->k_hstride + (size_t)p0 * src->k_head, n * dst->k_head);
            memcpy(dst->v[l] + h * dst->v_hstride + (size_t)p0 * dst->v_head,
                   src->v[l] + h * src->v_hstride + (size_t)p0 * src->v_head, n * dst->v_head);
        }
    dst->n_past = p1;
    return LLMR_OK;
}

int llmri_seq_n_ctx(const llmr_seq *s) { return s->n_ctx; }
const char *llmri_seq_errmsg(const llmr_seq *s) { return s->err.msg; }
const float *llmri_seq_logits(const llmr_seq *s) { return s->logits; }
