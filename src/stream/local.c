/* local.c - the local source: a model with its tokenizer and sampler (see source.h).
 *
 * Per model, the stream layer keeps (in the model's ext slot, made on first use) the tokenizer,
 * each token's output bytes and the end-of-generation ids (what the grammar needs), and the
 * model's generation engine (batch.h): every local stream on the model is one job of it, so
 * streams opened from any threads are decoded together, up to the model's n_parallel at once,
 * the others queued. The engine's slots keep their KV caches between requests: a new request
 * evaluates only the prompt tokens after the longest prefix it shares with a cache (the
 * prefix cache). */
#include "stream/local.h"
#include "stream/batch.h"
#include "model/model.h"
#include "sampler/sampler.h"
#include "tokenizer/tokenizer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct local_model {
    llmr_tokenizer *tok;
    llmr_bytes     *pieces;        /* [n_vocab] each token's output bytes (borrowed from tok) */
    int32_t        *eog;           /* end-of-generation ids */
    size_t          n_eog;
    int32_t         n_vocab;
    llmr_engine    *eng;
} local_model;

typedef struct local_source {
    llmr_source   base;
    llmr_model   *m;
    local_model  *lm;
    llmr_sampler *smp;
    int32_t      *prompt;          /* the request's prompt tokens */
    size_t        n_prompt, cap_prompt;
    bool          submitted;       /* the job is in the engine (until end) */
    bool          grammar_done;    /* the grammar is complete: end at the next step */
    llmr_token_logprob lp;         /* the last step's token (with logprobs) */
    llmr_job      job;
} local_source;

static pthread_mutex_t ext_lock = PTHREAD_MUTEX_INITIALIZER;   /* makes each model's ext once */

static void local_model_free(void *p)
{
    local_model *lm = p;
    if (!lm)
        return;
    llmri_engine_free(lm->eng);
    llmr_tokenizer_close(lm->tok);
    free(lm->pieces);
    free(lm->eog);
    free(lm);
}

static bool is_eog(const void *user, int32_t id)
{
    return llmr_token_is_eog(user, id);
}

/* Builds the per-model state: tokenizer from the model's own GGUF metadata, token bytes and
 * EOG ids for the grammar, and the engine. */
static int local_model_new(llmr_model *m, local_model **out, llmr_err *err)
{
    local_model *lm = calloc(1, sizeof *lm);
    if (!lm)
        return llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory");
    int rc = tok_open_gguf(llmri_model_gguf(m), &lm->tok, err);
    if (rc != LLMR_OK)
        goto fail;
    lm->n_vocab = llmr_tokenizer_n_vocab(lm->tok);
    if (lm->n_vocab != llmri_model_n_vocab(m)) {
        rc = llmri_err_set(err, LLMR_ERR_FORMAT, "%s: the tokenizer has %d tokens but the model's "
                          "output has %d", m->gf->path, lm->n_vocab, llmri_model_n_vocab(m));
        goto fail;
    }
    lm->pieces = calloc((size_t)lm->n_vocab, sizeof *lm->pieces);
    lm->eog = calloc((size_t)lm->n_vocab, sizeof *lm->eog);
    if (!lm->pieces || !lm->eog) {
        rc = llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (int32_t id = 0; id < lm->n_vocab; id++) {
        llmr_token_to_piece(lm->tok, id, false, &lm->pieces[id].ptr, &lm->pieces[id].len);
        if (llmr_token_is_eog(lm->tok, id))
            lm->eog[lm->n_eog++] = id;
    }
    if ((rc = llmri_engine_new(m, m->n_parallel, m->max_queued, is_eog, lm->tok, &lm->eng,
                              err)) != LLMR_OK)
        goto fail;
    *out = lm;
    return LLMR_OK;
fail:
    local_model_free(lm);
    return rc;
}

static int local_model_get_impl(llmr_model *m, local_model **out, llmr_err *err)
{
    pthread_mutex_lock(&ext_lock);
    int rc = LLMR_OK;
    if (!m->ext && (rc = local_model_new(m, (local_model **)&m->ext, err)) == LLMR_OK)
        m->ext_free = local_model_free;
    *out = m->ext;
    pthread_mutex_unlock(&ext_lock);
    return rc;
}

int llmri_local_tokenizer(llmr_model *m, const llmr_tokenizer **out, llmr_err *err)
{
    local_model *lm;
    int rc = local_model_get_impl(m, &lm, err);
    *out = rc == LLMR_OK ? lm->tok : NULL;
    return rc;
}

int llmri_local_configure(llmr_model *m, int n_parallel, int n_ctx, int max_queued,
                         llmr_err *err)
{
    local_model *lm;
    int rc = local_model_get_impl(m, &lm, err);
    return rc ? rc : llmri_engine_configure(lm->eng, n_parallel, n_ctx, max_queued, err);
}

void llmri_local_stats(llmr_model *m, llmr_engine_stats *st)
{
    memset(st, 0, sizeof *st);
    pthread_mutex_lock(&ext_lock);
    local_model *lm = m->ext;
    pthread_mutex_unlock(&ext_lock);
    if (lm)
        llmri_engine_stats_get(lm->eng, st);
}

/* ---- the request ------------------------------------------------------------------------ */

static int tokenize_prompt(local_source *ls, const char *prompt, const llmr_gen_opts *o,
                           llmr_err *err)
{
    unsigned flags = (o->add_bos ? LLMR_TOK_ADD_SPECIAL : 0) |
                     (o->parse_special ? LLMR_TOK_PARSE_SPECIAL : 0);
    size_t len = strlen(prompt), n = 0;
    int rc = llmr_tokenize(ls->lm->tok, prompt, len, flags, ls->prompt, ls->cap_prompt, &n);
    if (rc == LLMR_ERR_TOO_BIG) {
        int32_t *p = realloc(ls->prompt, n * sizeof *p);
        if (!p)
            return llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory for %zu prompt tokens", n);
        ls->prompt = p;
        ls->cap_prompt = n;
        rc = llmr_tokenize(ls->lm->tok, prompt, len, flags, ls->prompt, ls->cap_prompt, &n);
    }
    if (rc != LLMR_OK)
        return llmri_err_set(err, rc, "tokenizing the prompt: %s", llmr_strerror(rc));
    ls->n_prompt = n;
    return LLMR_OK;
}

static int local_begin(llmr_source *src, const char *prompt, const llmr_gen_opts *o,
                       uint32_t *n_prompt, uint32_t *n_cached, llmr_err *err)
{
    local_source *ls = (local_source *)src;
    local_model *lm = ls->lm;
    ls->grammar_done = false;
    llmri_engine_job_init(&ls->job);
    int rc = llmri_sampler_create(&ls->smp, lm->n_vocab, &o->sampling, NULL, lm->pieces, lm->eog,
                                 lm->n_eog, err);
    if (rc != LLMR_OK)
        return rc;
    if ((rc = tokenize_prompt(ls, prompt, o, err)) != LLMR_OK)
        return rc;
    int n_ctx = llmri_engine_n_ctx(lm->eng);
    *n_prompt = (uint32_t)ls->n_prompt;   /* also when too long: the caller may say by how much */
    if (ls->n_prompt == 0)
        return llmri_err_set(err, LLMR_ERR_ARG, "the prompt is empty (no tokens, not even BOS): "
                            "there is nothing to continue");
    if (o->max_prompt_tokens && ls->n_prompt > o->max_prompt_tokens)
        return llmri_err_set(err, LLMR_ERR_CONTEXT, "%s: the prompt is %zu tokens; at most %u "
                            "are taken", src->name, ls->n_prompt, o->max_prompt_tokens);
    if (ls->n_prompt >= (size_t)n_ctx)
        return llmri_err_set(err, LLMR_ERR_CONTEXT, "%s: the prompt is %zu tokens but the context "
                            "holds %d, with room needed for at least one generated token",
                            src->name, ls->n_prompt, n_ctx);
    *n_cached = 0;                 /* known once a slot takes it: see local_prompt_info */
    llmri_sampler_add_history(ls->smp, ls->prompt, ls->n_prompt);
    ls->job.prompt = ls->prompt;
    ls->job.n_prompt = (int)ls->n_prompt;
    ls->job.smp = ls->smp;
    ls->job.no_cache = o->no_cache;
    ls->job.stop_at_eog = !o->ignore_eos;
    ls->job.max_tokens = (uint32_t)o->max_tokens;
    ls->job.top_logprobs = o->logprobs ? o->top_logprobs : -1;
    if ((rc = llmri_engine_submit(lm->eng, &ls->job, err)) != LLMR_OK)
        return rc;
    ls->submitted = true;
    return LLMR_OK;
}

static int local_step(llmr_source *src, llmr_src_token *tok, llmr_err *err)
{
    local_source *ls = (local_source *)src;
    local_model *lm = ls->lm;
    if (ls->grammar_done) {       /* nothing more can follow: end as an EOS would */
        *tok = (llmr_src_token){"", 0, llmr_tokenizer_eos(lm->tok), true, true, NULL};
        return LLMR_OK;
    }
    int32_t t;
    int rc = llmri_engine_next(lm->eng, &ls->job, &t, &ls->grammar_done, &ls->lp, err);
    if (rc != LLMR_OK) {
        if (rc != LLMR_ERR_CANCELLED) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            llmri_err_set(err, rc, "%s: %s", src->name, msg);
        }
        return rc;
    }
    tok->id = t;
    tok->eog = llmr_token_is_eog(lm->tok, t);
    tok->bytes = lm->pieces[t].ptr ? lm->pieces[t].ptr : "";
    tok->len = lm->pieces[t].len;
    tok->lp = NULL;
    if (ls->job.top_logprobs >= 0) {
        ls->lp.bytes = tok->bytes;
        ls->lp.len = tok->len;
        for (int32_t k = 0; k < ls->lp.n_top; k++) {
            const llmr_bytes *b = &lm->pieces[ls->lp.top[k].token];
            ls->lp.top[k].bytes = b->ptr ? b->ptr : "";
            ls->lp.top[k].len = b->len;
        }
        tok->lp = &ls->lp;
    }
    return LLMR_OK;
}

static void local_end(llmr_source *src)
{
    local_source *ls = (local_source *)src;
    if (ls->submitted) {
        llmri_engine_leave(ls->lm->eng, &ls->job);
        ls->submitted = false;
    }
    llmri_sampler_free(ls->smp);
    ls->smp = NULL;
}

static void local_destroy(llmr_source *src)
{
    local_source *ls = (local_source *)src;
    local_end(src);
    free(ls->prompt);
    free(ls);
}

static void local_cancel(llmr_source *src)
{
    local_source *ls = (local_source *)src;
    llmri_engine_cancel(ls->lm->eng, &ls->job);
}

static bool local_queued(llmr_source *src)
{
    local_source *ls = (local_source *)src;
    return llmri_engine_queued(ls->lm->eng, &ls->job);
}

static void local_prompt_info(llmr_source *src, uint32_t *n_cached, double *prompt_s)
{
    local_source *ls = (local_source *)src;
    llmri_engine_prompt_info(ls->lm->eng, &ls->job, n_cached, prompt_s);
}

static const llmr_source_ops local_ops = {
    .begin = local_begin, .step = local_step, .end = local_end, .destroy = local_destroy,
    .cancel = local_cancel, .queued = local_queued, .prompt_info = local_prompt_info,
};

int llmri_local_source_new(llmr_model *m, llmr_source **out, llmr_err *err)
{
    *out = NULL;
    if (m->hp.encoder)   /* refused at open, not when the engine first makes a KV slot */
        return llmri_err_set(err, LLMR_ERR_UNSUPPORTED, "%s: a %s model is an encoder: it makes "
                            "embeddings and cannot generate text", m->gf->path,
                            gguf_get_str(m->gf, "general.architecture"));
    local_model *lm;
    int rc = local_model_get_impl(m, &lm, err);
    if (rc != LLMR_OK)
        return rc;
    local_source *ls = calloc(1, sizeof *ls);
    if (!ls)
        return llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory");
    ls->base.ops = &local_ops;
    const char *path = m->gf->path, *slash = strrchr(path, '/');
    snprintf(ls->base.name, sizeof ls->base.name, "%s", slash ? slash + 1 : path);
    ls->m = m;
    ls->lm = lm;
    llmri_engine_job_init(&ls->job);
    atomic_init(&ls->job.cancel, false);
    *out = &ls->base;
    return LLMR_OK;
}
