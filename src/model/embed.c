/* embed.c - embeddings: batches of token inputs through an encoder (encoder.c) or a decoder
 * (forward.c, asked for hidden states instead of logits), pooled per input.
 *
 * Pooling is llama.cpp's (llm_build_pooling): MEAN averages every row of the input, CLS takes
 * its first row, LAST its last row, NONE keeps every row.
 */
#include "model/embed.h"
#include "model/encoder.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

int llmri_embed_max_tokens(const llmr_model *m)
{
    return m->hp.encoder ? m->hp.n_ctx_train : m->n_ctx;
}

/* Where the pooled vectors of each input go, and the running sums of MEAN. */
typedef struct pooler {
    int pooling, E;
    const int *n_tok;
    size_t *first;           /* per input: index of its first output vector */
    double *acc;             /* MEAN: per input, E sums */
    float *out;
} pooler;

/* Row `pos` of input i has hidden state h. */
static void pool_row(pooler *p, int i, int pos, const float *h)
{
    const size_t E = (size_t)p->E;
    switch (p->pooling) {
    case LLMR_POOL_NONE:
        memcpy(p->out + (p->first[i] + (size_t)pos) * E, h, E * sizeof(float));
        break;
    case LLMR_POOL_MEAN: {
        double *a = p->acc + (size_t)i * E;
        for (size_t d = 0; d < E; d++)
            a[d] += h[d];
        if (pos == p->n_tok[i] - 1)
            for (size_t d = 0; d < E; d++)
                p->out[p->first[i] * E + d] = (float)(a[d] / p->n_tok[i]);
        break;
    }
    case LLMR_POOL_CLS:
        if (pos == 0)
            memcpy(p->out + p->first[i] * E, h, E * sizeof(float));
        break;
    default:   /* LAST */
        if (pos == p->n_tok[i] - 1)
            memcpy(p->out + p->first[i] * E, h, E * sizeof(float));
        break;
    }
}

/* One pass's rows: segment s covers input seg_in[s], positions segs[s].pos.. */
typedef struct pass_buf {
    int32_t *tok;
    llmr_segment *segs;
    int *seg_in;
    float *hidden;
    int n_segs, rows;
} pass_buf;

static void pool_pass(pooler *p, const pass_buf *b)
{
    for (int s = 0; s < b->n_segs; s++)
        for (int j = 0; j < b->segs[s].n; j++)
            pool_row(p, b->seg_in[s], b->segs[s].pos + j,
                     b->hidden + (size_t)(b->segs[s].row0 + j) * (size_t)p->E);
}

static void add_seg(pass_buf *b, const int32_t *tok, int input, int pos, int n, llmr_seq *seq)
{
    memcpy(b->tok + b->rows, tok + pos, (size_t)n * sizeof *tok);
    b->segs[b->n_segs] = (llmr_segment){seq, pos, b->rows, n};
    b->seg_in[b->n_segs++] = input;
    b->rows += n;
}

/* Encoders: inputs whole, packed into passes of at most `cap` rows. */
static int embed_encoder(llmr_model *m, const int32_t *const *tokens, const int *n_tok, int n,
                         pooler *p, pass_buf *b, int cap, llmr_err *err)
{
    int rc = LLMR_OK;
    for (int i = 0; i < n && !rc;) {
        b->rows = b->n_segs = 0;
        while (i < n && (b->n_segs == 0 || b->rows + n_tok[i] <= cap)) {
            add_seg(b, tokens[i], i, 0, n_tok[i], NULL);
            i++;
        }
        pthread_mutex_lock(&m->run_lock);
        rc = llmri_encode(m, b->tok, b->segs, b->n_segs, b->rows, b->hidden, err);
        pthread_mutex_unlock(&m->run_lock);
        if (!rc)
            pool_pass(p, b);
    }
    return rc;
}

/* Decoders: causal, so an input may be split across passes; its sequence's KV cache carries
 * the earlier positions. Each pass takes up to the work area's rows and LLMR_MAX_BATCH_SEQS
 * inputs' pieces, in order. */
static int embed_decoder(llmr_model *m, const int32_t *const *tokens, const int *n_tok, int n,
                         pooler *p, pass_buf *b, llmr_err *err)
{
    const int cap = m->work->cap;
    llmr_seq **seqs = calloc((size_t)n, sizeof *seqs);
    if (!seqs)
        return llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory");
    int rc = LLMR_OK, i = 0, done = 0;   /* input i has its first `done` tokens evaluated */
    while (i < n && !rc) {
        b->rows = b->n_segs = 0;
        int first = i;
        while (i < n && b->rows < cap && b->n_segs < LLMR_MAX_BATCH_SEQS) {
            if (!seqs[i] && (rc = llmri_seq_new(m, n_tok[i], &seqs[i]))) {
                llmri_err_set(err, rc, "%s", m->err.msg);
                break;
            }
            const int take = n_tok[i] - done < cap - b->rows ? n_tok[i] - done : cap - b->rows;
            add_seg(b, tokens[i], i, done, take, seqs[i]);
            done += take;
            if (done == n_tok[i]) {
                i++;
                done = 0;
            }
        }
        if (rc)
            break;
        pthread_mutex_lock(&m->run_lock);
        for (int r = 0; r < b->rows; r++)
            m->work->out_rows[r] = r;
        llmr_pass f = {.m = m, .tokens = b->tok, .n = b->rows, .segs = b->segs,
                       .n_segs = b->n_segs, .n_out = b->rows, .hidden = b->hidden};
        (void)llmri_forward(&f);   /* no abort hook: always completes */
        pthread_mutex_unlock(&m->run_lock);
        for (int s = 0; s < b->n_segs; s++)
            b->segs[s].s->n_past = b->segs[s].pos + b->segs[s].n;
        pool_pass(p, b);
        for (int k = first; k < i; k++) {   /* finished inputs give their cache back */
            llmri_seq_free(seqs[k]);
            seqs[k] = NULL;
        }
    }
    for (int k = 0; k < n; k++)
        llmri_seq_free(seqs[k]);
    free(seqs);
    return rc;
}

int llmri_embed(llmr_model *m, const int32_t *const *tokens, const int *n_tok, int n,
                int pooling, float *out, llmr_err *err)
{
    const int max = llmri_embed_max_tokens(m), E = m->hp.n_embd;
    if (n < 1 || pooling < LLMR_POOL_NONE || pooling > LLMR_POOL_LAST)
        return llmri_err_set(err, LLMR_ERR_ARG, "embeddings need at least one input and a "
                            "pooling of none, mean, cls or last");
    int longest = 1;
    for (int i = 0; i < n; i++) {
        if (n_tok[i] < 1)
            return llmri_err_set(err, LLMR_ERR_ARG, "input %d has no tokens", i);
        if (n_tok[i] > max)
            return llmri_err_set(err, LLMR_ERR_CONTEXT, "input %d has %d tokens, more than the "
                                "model's context of %d", i, n_tok[i], max);
        for (int j = 0; j < n_tok[i]; j++)
            if (tokens[i][j] < 0 || tokens[i][j] >= m->hp.n_vocab)
                return llmri_err_set(err, LLMR_ERR_ARG, "input %d: token id %d (at index %d) is "
                                    "outside the vocabulary [0, %d)", i, (int)tokens[i][j], j,
                                    m->hp.n_vocab);
        longest = n_tok[i] > longest ? n_tok[i] : longest;
    }
    const int cap = m->hp.encoder ? (longest > LLMR_UBATCH ? longest : LLMR_UBATCH)
                                  : m->work->cap;
    pooler p = {.pooling = pooling, .E = E, .n_tok = n_tok, .out = out};
    pass_buf b = {0};
    p.first = malloc((size_t)n * sizeof *p.first);
    p.acc = pooling == LLMR_POOL_MEAN ? calloc((size_t)n * (size_t)E, sizeof *p.acc) : NULL;
    b.tok = malloc((size_t)cap * sizeof *b.tok);
    b.hidden = malloc((size_t)cap * (size_t)E * sizeof *b.hidden);
    const size_t max_segs = m->hp.encoder ? (size_t)cap : LLMR_MAX_BATCH_SEQS;
    b.segs = malloc(max_segs * sizeof *b.segs);
    b.seg_in = malloc(max_segs * sizeof *b.seg_in);
    int rc;
    if (!p.first || (pooling == LLMR_POOL_MEAN && !p.acc) || !b.tok || !b.hidden || !b.segs ||
        !b.seg_in) {
        rc = llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory for embeddings");
    } else {
        size_t at = 0;
        for (int i = 0; i < n; i++) {
            p.first[i] = at;
            at += pooling == LLMR_POOL_NONE ? (size_t)n_tok[i] : 1;
        }
        rc = m->hp.encoder ? embed_encoder(m, tokens, n_tok, n, &p, &b, cap, err)
                           : embed_decoder(m, tokens, n_tok, n, &p, &b, err);
    }
    free(p.first);
    free(p.acc);
    free(b.tok);
    free(b.hidden);
    free(b.segs);
    free(b.seg_in);
    return rc;
}
