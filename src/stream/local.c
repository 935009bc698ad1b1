/* local.c - the local source: a model with its tokenizer and sampler (see source.h).
 *
 * Per model, the stream layer keeps (in the model's ext slot, made on first use) the tokenizer,
 * each token's output bytes and the end-of-generation ids (what the grammar needs), and one
 * sequence whose KV cache outlives a request: the prefix cache. A new request evaluates only
 * the prompt tokens after the longest prefix it shares with what the cache holds
 * (llmr_seq_eval at position p overwrites positions >= p, so no explicit truncation is
 * needed). A model runs one request at a time; a second gets LLMR_ERR_BUSY. */
#include "stream/local.h"
#include "model/model.h"
#include "sampler/sampler.h"
#include "tokenizer/tokenizer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct local_model {
    pthread_mutex_t lock;          /* guards busy */
    bool            busy;
    llmr_tokenizer *tok;
    llmr_bytes     *pieces;        /* [n_vocab] each token's output bytes (borrowed from tok) */
    int32_t        *eog;           /* end-of-generation ids */
    size_t          n_eog;
    int32_t         n_vocab;
    /* The prefix cache: the sequence and the tokens its KV cache holds at [0, n_cached).
     * Only the request holding `busy` touches these. */
    llmr_seq       *seq;
    int32_t        *cached;
    int             n_cached;
} local_model;

typedef struct local_source {
    llmr_source   base;
    llmr_model   *m;
    local_model  *lm;
    bool          holding;         /* this source holds lm->busy */
    llmr_sampler *smp;
    int32_t      *prompt;          /* the request's prompt tokens */
    size_t        n_prompt, cap_prompt;
    const float  *logits;          /* for the next sample */
    int32_t       pending;         /* sampled, not yet evaluated (-1: none) */
    bool          grammar_done;    /* the grammar is complete: end at the next step */
} local_source;

static pthread_mutex_t ext_lock = PTHREAD_MUTEX_INITIALIZER;   /* makes each model's ext once */

static void local_model_free(void *p)
{
    local_model *lm = p;
    if (!lm)
        return;
    llmr_seq_free(lm->seq);
    llmr_tokenizer_close(lm->tok);
    free(lm->pieces);
    free(lm->eog);
    free(lm->cached);
    pthread_mutex_destroy(&lm->lock);
    free(lm);
}

/* Builds the per-model state: tokenizer from the model's own GGUF metadata, token bytes and
 * EOG ids for the grammar, and the cache sequence. */
static int local_model_new(llmr_model *m, local_model **out, llmr_err *err)
{
    local_model *lm = calloc(1, sizeof *lm);
    if (!lm)
        return llmr_err_set(err, LLMR_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&lm->lock, NULL);
    int rc = tok_open_gguf(llmr_model_gguf(m), &lm->tok, err);
    if (rc != LLMR_OK)
        goto fail;
    lm->n_vocab = llmr_tokenizer_n_vocab(lm->tok);
    if (lm->n_vocab != llmr_model_n_vocab(m)) {
        rc = llmr_err_set(err, LLMR_ERR_FORMAT, "%s: the tokenizer has %d tokens but the model's "
                          "output has %d", m->gf->path, lm->n_vocab, llmr_model_n_vocab(m));
        goto fail;
    }
    lm->pieces = calloc((size_t)lm->n_vocab, sizeof *lm->pieces);
    lm->eog = calloc((size_t)lm->n_vocab, sizeof *lm->eog);
    lm->cached = calloc((size_t)llmr_model_n_ctx(m), sizeof *lm->cached);
    if (!lm->pieces || !lm->eog || !lm->cached) {
        rc = llmr_err_set(err, LLMR_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (int32_t id = 0; id < lm->n_vocab; id++) {
        llmr_token_to_piece(lm->tok, id, false, &lm->pieces[id].ptr, &lm->pieces[id].len);
        if (llmr_token_is_eog(lm->tok, id))
            lm->eog[lm->n_eog++] = id;
    }
    if ((rc = llmr_seq_new(m, 0, &lm->seq)) != LLMR_OK) {
        llmr_err_set(err, rc, "%s", llmr_model_errmsg(m));
        goto fail;
    }
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

int llmr_local_tokenizer(llmr_model *m, const llmr_tokenizer **out, llmr_err *err)
{
    local_model *lm;
    int rc = local_model_get_impl(m, &lm, err);
    *out = rc == LLMR_OK ? lm->tok : NULL;
    return rc;
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
            return llmr_err_set(err, LLMR_ERR_NOMEM, "out of memory for %zu prompt tokens", n);
        ls->prompt = p;
        ls->cap_prompt = n;
        rc = llmr_tokenize(ls->lm->tok, prompt, len, flags, ls->prompt, ls->cap_prompt, &n);
    }
    if (rc != LLMR_OK)
        return llmr_err_set(err, rc, "tokenizing the prompt: %s", llmr_strerror(rc));
    ls->n_prompt = n;
    return LLMR_OK;
}

/* Evaluates the prompt after the longest prefix the cache already holds. */
static int eval_prompt(local_source *ls, bool no_cache, uint32_t *n_cached, llmr_err *err)
{
    local_model *lm = ls->lm;
    size_t n = ls->n_prompt, common = 0;
    if (!no_cache)
        while (common < n && common < (size_t)lm->n_cached && lm->cached[common] == ls->prompt[common])
            common++;
    if (common == n)              /* the last prompt token must be evaluated for its logits */
        common = n - 1;
    lm->n_cached = (int)common;   /* what stays valid whatever happens next */
    int rc = llmr_seq_eval(lm->seq, ls->prompt + common, (int)(n - common), (int)common, false,
                           &ls->logits);
    if (rc != LLMR_OK)
        return llmr_err_set(err, rc, "%s: evaluating the prompt: %s", ls->base.name,
                            llmr_seq_errmsg(lm->seq));
    memcpy(lm->cached + common, ls->prompt + common, (n - common) * sizeof *lm->cached);
    lm->n_cached = (int)n;
    *n_cached = (uint32_t)common;
    return LLMR_OK;
}

static int local_begin(llmr_source *src, const char *prompt, const llmr_gen_opts *o,
                       uint32_t *n_prompt, uint32_t *n_cached, llmr_err *err)
{
    local_source *ls = (local_source *)src;
    pthread_mutex_lock(&ls->lm->lock);
    bool busy = ls->lm->busy;
    ls->lm->busy = true;
    pthread_mutex_unlock(&ls->lm->lock);
    if (busy)
        return llmr_err_set(err, LLMR_ERR_BUSY, "%s: the model is generating for another "
                            "stream (one at a time per model)", src->name);
    ls->holding = true;
    ls->pending = -1;
    ls->grammar_done = false;
    local_model *lm = ls->lm;
    int rc = llmr_sampler_create(&ls->smp, lm->n_vocab, &o->sampling, NULL, lm->pieces, lm->eog,
                                 lm->n_eog, err);
    if (rc != LLMR_OK)
        return rc;
    if ((rc = tokenize_prompt(ls, prompt, o, err)) != LLMR_OK)
        return rc;
    int n_ctx = llmr_seq_n_ctx(lm->seq);
    if (ls->n_prompt == 0)
        return llmr_err_set(err, LLMR_ERR_ARG, "the prompt is empty (no tokens, not even BOS): "
                            "there is nothing to continue");
    if (ls->n_prompt >= (size_t)n_ctx)
        return llmr_err_set(err, LLMR_ERR_CONTEXT, "%s: the prompt is %zu tokens but the context "
                            "holds %d, with room needed for at least one generated token",
                            src->name, ls->n_prompt, n_ctx);
    *n_prompt = (uint32_t)ls->n_prompt;
    llmr_sampler_add_history(ls->smp, ls->prompt, ls->n_prompt);
    return eval_prompt(ls, o->no_cache, n_cached, err);
}

static int local_step(llmr_source *src, llmr_src_token *tok, llmr_err *err)
{
    local_source *ls = (local_source *)src;
    local_model *lm = ls->lm;
    if (ls->grammar_done) {       /* nothing more can follow: end as an EOS would */
        *tok = (llmr_src_token){"", 0, llmr_tokenizer_eos(lm->tok), true, true};
        return LLMR_OK;
    }
    if (ls->pending >= 0) {
        /* Evaluate the token sampled last time only now, so that the request's last token
         * (at a limit or a stop) costs no forward pass. */
        int pos = lm->n_cached;
        if (pos >= llmr_seq_n_ctx(lm->seq))
            return llmr_err_set(err, LLMR_ERR_CONTEXT, "%s: the context of %d positions is "
                                "full", src->name, pos);
        int rc = llmr_seq_eval(lm->seq, &ls->pending, 1, pos, false, &ls->logits);
        if (rc != LLMR_OK)
            return llmr_err_set(err, rc, "%s: %s", src->name, llmr_seq_errmsg(lm->seq));
        lm->cached[pos] = ls->pending;
        lm->n_cached = pos + 1;
        ls->pending = -1;
    }
    int32_t t = llmr_sampler_sample(ls->smp, ls->logits, err);
    if (t < 0)
        return err->code ? err->code : LLMR_ERR_STATE;
    int rc = llmr_sampler_accept(ls->smp, t, err);
    if (rc != LLMR_OK)
        return rc;
    ls->grammar_done = llmr_sampler_grammar_done(ls->smp);
    tok->id = t;
    tok->eog = llmr_token_is_eog(lm->tok, t);
    tok->bytes = lm->pieces[t].ptr ? lm->pieces[t].ptr : "";
    tok->len = lm->pieces[t].len;
    ls->pending = t;
    return LLMR_OK;
}

static void local_end(llmr_source *src)
{
    local_source *ls = (local_source *)src;
    llmr_sampler_free(ls->smp);
    ls->smp = NULL;
    if (ls->holding) {
        pthread_mutex_lock(&ls->lm->lock);
        ls->lm->busy = false;
        pthread_mutex_unlock(&ls->lm->lock);
        ls->holding = false;
    }
}

static void local_destroy(llmr_source *src)
{
    local_source *ls = (local_source *)src;
    local_end(src);
    free(ls->prompt);
    free(ls);
}

static const llmr_source_ops local_ops = {local_begin, local_step, local_end, local_destroy};

int llmr_local_source_new(llmr_model *m, llmr_source **out, llmr_err *err)
{
    *out = NULL;
    local_model *lm;
    int rc = local_model_get_impl(m, &lm, err);
    if (rc != LLMR_OK)
        return rc;
    local_source *ls = calloc(1, sizeof *ls);
    if (!ls)
        return llmr_err_set(err, LLMR_ERR_NOMEM, "out of memory");
    ls->base.ops = &local_ops;
    const char *path = m->gf->path, *slash = strrchr(path, '/');
    snprintf(ls->base.name, sizeof ls->base.name, "%s", slash ? slash + 1 : path);
    ls->m = m;
    ls->lm = lm;
    ls->pending = -1;
    *out = &ls->base;
    return LLMR_OK;
}
