/* embed_api.c - the public llmr_embed: tokenizes each input with the model's own tokenizer,
 * checks it, runs the model layer's embeddings (model/embed.c) and normalizes.
 *
 * L2 normalisation is llama.cpp's common_embd_normalize with norm 2: the sum of squares in
 * double, each value times 1 / sqrt(sum) (a zero vector stays zero).
 */
#include "model/embed.h"
#include "stream/local.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct embed_result {
    llmr_embeddings pub;     /* first: the caller's pointer is to it */
    float *data;
    const float **vecs;
    size_t *n_vectors, *n_tokens;
    llmr_err err;
} embed_result;

llmr_embed_opts llmr_embed_defaults(void)
{
    llmr_embed_opts o = {.pooling = LLMR_POOL_DEFAULT, .normalize = true, .add_special = true};
    return o;
}

const char *llmr_embeddings_errmsg(const llmr_embeddings *e)
{
    return e ? ((const embed_result *)e)->err.msg : "out of memory";
}

void llmr_embeddings_free(llmr_embeddings *e)
{
    embed_result *r = (embed_result *)e;
    if (!r)
        return;
    free(r->data);
    free(r->vecs);
    free(r->n_vectors);
    free(r->n_tokens);
    free(r);
}

/* The pooling asked for, or the model's: its GGUF key, else MEAN (encoders) / LAST. */
static int choose_pooling(const llmr_model *m, llmr_pooling asked, int *out, llmr_err *err)
{
    const llmr_hparams *hp = llmri_model_hparams(m);
    if (asked < LLMR_POOL_DEFAULT || asked > LLMR_POOL_LAST)
        return llmri_err_set(err, LLMR_ERR_ARG, "pooling %d is out of range (expected -1..3)",
                            (int)asked);
    if (asked != LLMR_POOL_DEFAULT) {
        *out = asked;
        return LLMR_OK;
    }
    if (hp->pooling == LLMRI_POOL_RANK)
        return llmri_err_set(err, LLMR_ERR_UNSUPPORTED, "%s: the model's pooling_type is rank "
                            "(a reranker), which llmr does not support; ask for a pooling",
                            llmri_model_gguf(m)->path);
    *out = hp->pooling >= 0 ? hp->pooling : hp->encoder ? LLMR_POOL_MEAN : LLMR_POOL_LAST;
    return LLMR_OK;
}

/* Tokens of input i: its own ids, or its text tokenized into *buf (grown as needed). */
static int input_tokens(const llmr_tokenizer *tok, const llmr_embed_input *in, size_t i,
                        bool special, int32_t **buf, size_t *n, llmr_err *err)
{
    if (in->tokens) {
        if (!in->n_tokens)
            return llmri_err_set(err, LLMR_ERR_ARG, "input %zu is empty (no tokens)", i);
        *buf = malloc(in->n_tokens * sizeof **buf);
        if (!*buf)
            return llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory");
        memcpy(*buf, in->tokens, in->n_tokens * sizeof **buf);
        *n = in->n_tokens;
        return LLMR_OK;
    }
    if (!in->text || !in->len)
        return llmri_err_set(err, LLMR_ERR_ARG, "input %zu is empty (no text)", i);
    const unsigned flags = special ? LLMR_TOK_ADD_SPECIAL : 0;
    size_t need = 0;
    int rc = llmr_tokenize(tok, in->text, in->len, flags, NULL, 0, &need);
    if (rc == LLMR_ERR_TOO_BIG || rc == LLMR_OK) {
        *buf = malloc((need ? need : 1) * sizeof **buf);
        if (!*buf)
            return llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory");
        rc = llmr_tokenize(tok, in->text, in->len, flags, *buf, need, n);
    }
    if (rc != LLMR_OK)
        return llmri_err_set(err, rc, "input %zu: tokenizing: %s", i, llmr_strerror(rc));
    if (!*n)
        return llmri_err_set(err, LLMR_ERR_ARG, "input %zu gives no tokens", i);
    return LLMR_OK;
}

static void l2_normalize(float *v, int n)
{
    double sum = 0.0;
    for (int i = 0; i < n; i++)
        sum += (double)v[i] * v[i];
    const double norm = sum > 0.0 ? 1.0 / sqrt(sum) : 0.0;
    for (int i = 0; i < n; i++)
        v[i] = (float)(v[i] * norm);
}

static bool all_finite(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return false;
    return true;
}

/* Tokenizes, runs and lays out the result in r. */
static int embed_run(llmr_model *m, const llmr_embed_input *inputs, size_t n,
                     const llmr_embed_opts *o, embed_result *r)
{
    llmr_err *err = &r->err;
    const int max = llmri_embed_max_tokens(m), E = llmri_model_hparams(m)->n_embd;
    int pooling = LLMR_POOL_LAST;
    int rc = choose_pooling(m, o->pooling, &pooling, err);
    if (rc)
        return rc;
    if (!n || n > (1u << 24))
        return llmri_err_set(err, LLMR_ERR_ARG, "embeddings need 1 to %u inputs, not %zu",
                            1u << 24, n);
    if (!inputs)
        return llmri_err_set(err, LLMR_ERR_ARG, "no inputs given");
    const llmr_tokenizer *tok = NULL;
    for (size_t i = 0; i < n && !tok; i++)
        if (!inputs[i].tokens && (rc = llmri_local_tokenizer(m, &tok, err)))
            return rc;
    int32_t **toks = calloc(n, sizeof *toks);
    int *n_tok = calloc(n, sizeof *n_tok);
    r->n_vectors = calloc(n, sizeof *r->n_vectors);
    r->n_tokens = calloc(n, sizeof *r->n_tokens);
    r->vecs = calloc(n, sizeof *r->vecs);
    size_t total_vecs = 0;
    if (!toks || !n_tok || !r->n_vectors || !r->n_tokens || !r->vecs)
        rc = llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n && !rc; i++) {
        size_t nt = 0;
        if ((rc = input_tokens(tok, &inputs[i], i, o->add_special, &toks[i], &nt, err)))
            break;
        if (nt > (size_t)max && o->truncate)
            nt = (size_t)max;
        if (nt > (size_t)max) {
            rc = llmri_err_set(err, LLMR_ERR_CONTEXT, "input %zu has %zu tokens, more than the "
                              "model's context of %d", i, nt, max);
            break;
        }
        n_tok[i] = (int)nt;
        r->n_tokens[i] = nt;
        r->pub.total_tokens += nt;
        r->n_vectors[i] = pooling == LLMR_POOL_NONE ? nt : 1;
        total_vecs += r->n_vectors[i];
    }
    if (!rc && !(r->data = malloc(total_vecs * (size_t)E * sizeof *r->data)))
        rc = llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory for %zu vectors", total_vecs);
    if (!rc && n > 0x7fffffff)
        rc = llmri_err_set(err, LLMR_ERR_ARG, "too many inputs");
    if (!rc)
        rc = llmri_embed(m, (const int32_t *const *)toks, n_tok, (int)n, pooling, r->data, err);
    for (size_t i = 0; toks && i < n; i++)
        free(toks[i]);
    free(toks);
    free(n_tok);
    if (rc)
        return rc;
    if (!all_finite(r->data, total_vecs * (size_t)E))
        return llmri_err_set(err, LLMR_ERR_FORMAT, "%s: the embeddings hold NaN or infinite "
                            "values; the model's weights are corrupt or overflow float",
                            llmri_model_gguf(m)->path);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        r->vecs[i] = r->data + at * (size_t)E;
        if (o->normalize)
            for (size_t k = 0; k < r->n_vectors[i]; k++)
                l2_normalize(r->data + (at + k) * (size_t)E, E);
        at += r->n_vectors[i];
    }
    r->pub.dim = E;
    r->pub.pooling = (llmr_pooling)pooling;
    r->pub.n_inputs = n;
    r->pub.vectors = r->vecs;
    r->pub.n_vectors = r->n_vectors;
    r->pub.n_tokens = r->n_tokens;
    return LLMR_OK;
}

/* The passes run on a thread of their own with this stack: the kernels keep tiles on the
 * stack, and a caller may be a server worker with a small one (civetweb's is 100 KiB). */
#define EMBED_STACK (8u << 20)

typedef struct embed_job {
    llmr_model *m;
    const llmr_embed_input *inputs;
    size_t n;
    llmr_embed_opts o;
    embed_result *r;
    int rc;
} embed_job;

static void *embed_main(void *arg)
{
    embed_job *j = arg;
    j->rc = embed_run(j->m, j->inputs, j->n, &j->o, j->r);
    return NULL;
}

int llmr_embed(llmr_model *m, const llmr_embed_input *inputs, size_t n,
               const llmr_embed_opts *opts, llmr_embeddings **out)
{
    embed_result *r = calloc(1, sizeof *r);
    *out = r ? &r->pub : NULL;
    if (!r)
        return LLMR_ERR_NOMEM;
    if (!m)
        return llmri_err_set(&r->err, LLMR_ERR_ARG, "no model given");
    embed_job j = {.m = m, .inputs = inputs, .n = n,
                   .o = opts ? *opts : llmr_embed_defaults(), .r = r};
    pthread_attr_t a;
    pthread_t th;
    bool started = pthread_attr_init(&a) == 0;
    if (started) {
        started = pthread_attr_setstacksize(&a, EMBED_STACK) == 0 &&
                  pthread_create(&th, &a, embed_main, &j) == 0;
        pthread_attr_destroy(&a);
    }
    if (!started)
        return llmri_err_set(&r->err, LLMR_ERR_NOMEM, "cannot start a thread for embeddings");
    pthread_join(th, NULL);
    return j.rc;
}
