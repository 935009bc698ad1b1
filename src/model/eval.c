/* eval.c - the work area and the eval entry points: single-sequence evaluation in chunks of
 * LLMR_UBATCH rows, and mixed batches of several sequences in one pass. Each checks its
 * arguments, lays out the rows and segments, and hands them to llmri_forward (forward.c). */
#include "model/forward.h"

#include "core/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

void llmri_work_free(struct llmr_work *w)
{
    if (!w)
        return;
    free(w->x); free(w->xn); free(w->q); free(w->k); free(w->v); free(w->att);
    free(w->t); free(w->hb); free(w->hb2); free(w->att_scratch);
    for (int i = 0; i < MAX_XQ; i++)
        free(w->xq[i]);
    free(w->rope_cs); free(w->row_pos); free(w->row_seq); free(w->out_rows); free(w->blogits);
    free(w->btok); free(w->nf_stage);
    free(w->moe_logits); free(w->moe_w); free(w->moe_wts); free(w->xg); free(w->tg);
    free(w->moe_ids); free(w->moe_rows); free(w->moe_cnt);
    free(w);
}

/* Buffers are malloc'd for LLMR_UBATCH rows but pages are only touched for the rows used,
 * so one-token decoding keeps a small resident set. */
int llmri_work_new(llmr_model *m, struct llmr_work **out, llmr_err *err)
{
    const llmr_hparams *hp = &m->hp;
    struct llmr_work *w = calloc(1, sizeof *w);
    if (!w)
        return llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory for the work area");
    const size_t cap = LLMR_UBATCH, E = (size_t)hp->n_embd;
    /* the widest FFN: the dense one, an expert's, the shared expert's */
    size_t F = (size_t)hp->n_ff;
    F = max_sz(F, max_sz((size_t)hp->n_ff_exp, (size_t)hp->n_ff_shexp));
    const size_t qd = (size_t)hp->n_head * hp->head_dim, kvd = (size_t)hp->n_head_kv * hp->head_dim;
    const int nth = m->n_threads;
    w->cap = (int)cap;
    /* widest converted activation row over every weight and input length */
    size_t xs = 0;
    const size_t Ks[3] = {E, qd, F};
    for (int t = 0; t < LLMR_TYPE_COUNT; t++)
        for (int i = 0; i < 3; i++)
            if (llmri_traits((uint32_t)t))
                xs = max_sz(xs, llmri_row_size(llmri_traits((uint32_t)t)->vec_dot_type,
                                              (int64_t)Ks[i]));
    w->xq_stride = (xs + 63) / 64 * 64;
    w->x = malloc(cap * E * sizeof(float));
    w->xn = malloc(cap * E * sizeof(float));
    w->q = malloc(cap * qd * sizeof(float));
    w->k = malloc(cap * kvd * sizeof(float));
    w->v = malloc(cap * kvd * sizeof(float));
    w->att = malloc(cap * qd * sizeof(float));
    w->t = malloc(cap * E * sizeof(float));
    w->hb = malloc(cap * F * sizeof(float));
    w->hb2 = malloc(cap * F * sizeof(float));
    w->att_scratch_stride = (llmri_att_scratch_bytes(hp) + 63) / 64 * 64;
    w->att_scratch = malloc((size_t)nth * w->att_scratch_stride);
    bool ok = w->x && w->xn && w->q && w->k && w->v && w->att && w->t && w->hb && w->hb2 &&
              w->att_scratch;
    for (int i = 0; i < MAX_XQ && ok; i++)
        ok = (w->xq[i] = malloc(cap * w->xq_stride)) != NULL;
    w->rope_stride = hp->n_rot * (hp->rope_base_swa > 0.0f ? 2 : 1);
    w->rope_cs = malloc(cap * (size_t)w->rope_stride * sizeof(float));
    w->ops = llmri_rowops_get();
    w->row_pos = malloc(cap * sizeof(int));
    w->row_seq = malloc(cap * sizeof(llmr_seq *));
    w->out_rows = malloc(cap * sizeof(int));
    w->btok = malloc(cap * sizeof(int32_t));
    w->nf_stage = malloc(cap * sizeof(int));
    if (hp->n_expert) {
        const size_t X = (size_t)hp->n_expert, k = (size_t)hp->n_expert_used;
        w->moe_logits = malloc(cap * X * sizeof(float));
        w->moe_ids = malloc(cap * k * sizeof(int32_t));
        w->moe_w = malloc(cap * k * sizeof(float));
        w->moe_rows = malloc(X * cap * sizeof(int));
        w->moe_wts = malloc(X * cap * sizeof(float));
        w->moe_cnt = malloc(X * sizeof(int));
        w->xg = malloc(cap * E * sizeof(float));
        w->tg = malloc(cap * E * sizeof(float));
        ok = ok && w->moe_logits && w->moe_ids && w->moe_w && w->moe_rows && w->moe_wts &&
             w->moe_cnt && w->xg && w->tg;
    }
    if (!ok || !w->row_pos || !w->row_seq || !w->out_rows || !w->rope_cs || !w->btok ||
        !w->nf_stage) {
        llmri_work_free(w);
        return llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory for the work area");
    }
    *out = w;
    return LLMR_OK;
}

static int check_tokens(llmr_seq *s, const int32_t *tokens, int n)
{
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= s->m->hp.n_vocab)
            return llmri_err_set(&s->err, LLMR_ERR_ARG,
                                "token id %d (at index %d) is outside the vocabulary [0, %d)",
                                (int)tokens[i], i, s->m->hp.n_vocab);
    return LLMR_OK;
}

/* The error for output row k of the pass just run, when w->nf_stage says its values were not
 * finite (see llmri_forward): what is NaN or infinite, and the first stage that made it so. A
 * trained model never gets there, so this names a corrupt file rather than a sampling issue
 * ("every token is banned" is what the sampler would otherwise conclude). */
static int nonfinite_error(llmr_seq *s, const float *logits, int stage, int pos)
{
    const llmr_model *m = s->m;
    const size_t nv = (size_t)m->hp.n_vocab;
    bool nan = false, inf = false;
    for (size_t i = 0; i < nv; i++) {
        nan |= isnan(logits[i]);
        inf |= isinf(logits[i]);
    }
    const char *what = nan ? "the logits are NaN" : inf ? "the logits are infinite"
                                                        : "the hidden state is NaN or infinite";
    if (stage == 0)
        return llmri_err_set(&s->err, LLMR_ERR_FORMAT, "%s at position %d: the token embedding "
                            "(token_embd.weight) already holds NaN or infinite values; the "
                            "model's weights are corrupt", what, pos);
    if (stage <= m->hp.n_layer)
        return llmri_err_set(&s->err, LLMR_ERR_FORMAT, "%s at position %d: layer %d (blk.%d.*) "
                            "is the first whose output holds NaN or infinite values; the "
                            "model's weights are corrupt or overflow float", what, pos,
                            stage - 1, stage - 1);
    return llmri_err_set(&s->err, LLMR_ERR_FORMAT, "%s at position %d: every layer's output is "
                        "finite, so the output norm or output.weight makes them so; the "
                        "model's weights are corrupt or overflow float", what, pos);
}

int llmri_seq_eval(llmr_seq *s, const int32_t *tokens, int n, int pos, bool all,
                  const float **logits)
{
    llmr_model *m = s->m;
    const size_t nv = (size_t)m->hp.n_vocab;
    if (n < 1 || !tokens)
        return llmri_err_set(&s->err, LLMR_ERR_ARG, "eval needs at least one token");
    if (pos < 0 || pos > s->n_past)
        return llmri_err_set(&s->err, LLMR_ERR_ARG,
                            "position %d: only positions up to %d are in the cache", pos,
                            s->n_past);
    if ((int64_t)pos + n > s->n_ctx)
        return llmri_err_set(&s->err, LLMR_ERR_CONTEXT,
                            "%d tokens at position %d exceed the context of %d positions", n,
                            pos, s->n_ctx);
    int rc = check_tokens(s, tokens, n);
    if (rc)
        return rc;
    if (all && (size_t)n * nv > s->logits_cap) {
        float *p = realloc(s->logits, (size_t)n * nv * sizeof(float));
        if (!p)
            return llmri_err_set(&s->err, LLMR_ERR_NOMEM, "out of memory for %d rows of logits", n);
        s->logits = p;
        s->logits_cap = (size_t)n * nv;
    }
    pthread_mutex_lock(&m->run_lock);
    for (int done = 0; done < n;) {
        const int rows = n - done < m->work->cap ? n - done : m->work->cap;
        llmr_segment sg = {s, pos + done, 0, rows};
        llmr_pass f = {.m = m, .tokens = tokens + done, .n = rows, .segs = &sg, .n_segs = 1};
        if (all) {
            f.n_out = rows;
            for (int r = 0; r < rows; r++)
                m->work->out_rows[r] = r;
            f.logits = s->logits + (size_t)done * nv;
        } else {
            f.n_out = 1;
            m->work->out_rows[0] = rows - 1;
            f.logits = s->logits;
        }
        (void)llmri_forward(&f);   /* no abort hook: always completes */
        for (int k = 0; k < f.n_out; k++)
            if (m->work->nf_stage[k] != LLMR_FINITE) {
                const int r = m->work->out_rows[k];
                rc = nonfinite_error(s, f.logits + (size_t)(all ? k : 0) * nv,
                                     m->work->nf_stage[k], pos + done + r);
                s->n_past = pos + done;     /* this chunk's positions are not kept */
                pthread_mutex_unlock(&m->run_lock);
                return rc;
            }
        done += rows;
        s->n_past = pos + done;
    }
    pthread_mutex_unlock(&m->run_lock);
    *logits = s->logits;
    return LLMR_OK;
}

/* Checks one part of a mixed batch before anything is evaluated. */
static int check_part(const llmr_batch_part *p, const llmr_model *m)
{
    llmr_seq *s = p->seq;
    if (s->m != m)
        return llmri_err_set(&s->err, LLMR_ERR_ARG, "batched sequences must share a model");
    if (p->n < 1 || !p->tokens)
        return llmri_err_set(&s->err, LLMR_ERR_ARG, "a batched sequence needs at least one token");
    if (p->pos < 0 || p->pos > s->n_past)
        return llmri_err_set(&s->err, LLMR_ERR_ARG,
                            "position %d: only positions up to %d are in the cache", p->pos,
                            s->n_past);
    if ((int64_t)p->pos + p->n > s->n_ctx)
        return llmri_err_set(&s->err, LLMR_ERR_CONTEXT,
                            "%d tokens at position %d exceed the context of %d positions", p->n,
                            p->pos, s->n_ctx);
    return check_tokens(s, p->tokens, p->n);
}

int llmri_seq_eval_mixed(const llmr_batch_part *parts, int n, const llmr_abort *ab, int *bad)
{
    if (bad)
        *bad = -1;
    if (n < 1 || n > LLMR_MAX_BATCH_SEQS)
        return LLMR_ERR_ARG;   /* no sequence to carry a message: the count itself is wrong */
    llmr_model *m = parts[0].seq->m;
    int rows = 0;
    for (int i = 0; i < n; i++) {
        int rc = check_part(&parts[i], m);
        for (int k = 0; k < i && !rc; k++)
            if (parts[k].seq == parts[i].seq)
                rc = llmri_err_set(&parts[i].seq->err, LLMR_ERR_ARG,
                                  "a sequence appears twice in one batch");
        if (!rc && parts[i].n > m->work->cap - rows)
            rc = llmri_err_set(&parts[i].seq->err, LLMR_ERR_ARG,
                              "a batch holds at most %d rows", m->work->cap);
        if (rc) {
            if (bad)
                *bad = i;
            return rc;
        }
        rows += parts[i].n;
    }
    const size_t nv = (size_t)m->hp.n_vocab;
    pthread_mutex_lock(&m->run_lock);
    struct llmr_work *w = m->work;
    if ((size_t)n * nv > w->blogits_cap) {
        float *p = realloc(w->blogits, (size_t)n * nv * sizeof(float));
        if (!p) {
            pthread_mutex_unlock(&m->run_lock);
            if (bad)
                *bad = 0;
            return llmri_err_set(&parts[0].seq->err, LLMR_ERR_NOMEM, "out of memory for logits");
        }
        w->blogits = p;
        w->blogits_cap = (size_t)n * nv;
    }
    /* Segments and tokens in row order; each part's last row gives its logits. */
    llmr_segment sg[LLMR_MAX_BATCH_SEQS];
    int32_t *tok = w->btok;
    for (int i = 0, r = 0; i < n; r += parts[i].n, i++) {
        sg[i] = (llmr_segment){parts[i].seq, parts[i].pos, r, parts[i].n};
        memcpy(tok + r, parts[i].tokens, (size_t)parts[i].n * sizeof *tok);
        w->out_rows[i] = r + parts[i].n - 1;
    }
    llmr_pass f = {.m = m, .tokens = tok, .n = rows, .segs = sg, .n_segs = n, .n_out = n,
             .logits = w->blogits, .ab = ab};
    bool done = llmri_forward(&f);
    int rc = done ? LLMR_OK : LLMR_ERR_CANCELLED;
    for (int i = 0; i < n; i++) {
        llmr_seq *s = parts[i].seq;
        /* The first part with NaN or infinities is reported (the caller fails it, and runs
         * the others again: they were evaluated, and evaluating them again is harmless). */
        bool keep = done;
        if (done && w->nf_stage[i] != LLMR_FINITE && rc == LLMR_OK) {
            rc = nonfinite_error(s, w->blogits + (size_t)i * nv, w->nf_stage[i],
                                 parts[i].pos + parts[i].n - 1);
            keep = false;
            if (bad)
                *bad = i;
        }
        if (keep)
            memcpy(s->logits, w->blogits + (size_t)i * nv, nv * sizeof(float));
        /* Cut short, the pass left positions from pos on half-written in some layers. */
        s->n_past = keep ? parts[i].pos + parts[i].n
                         : (s->n_past < parts[i].pos ? s->n_past : parts[i].pos);
    }
    pthread_mutex_unlock(&m->run_lock);
    return rc;
}

int llmri_seq_eval_batch(llmr_seq *const *seqs, const int32_t *tokens, const int *pos, int n)
{
    if (n < 1 || n > LLMR_MAX_BATCH_SEQS)
        return LLMR_ERR_ARG;
    llmr_batch_part parts[LLMR_MAX_BATCH_SEQS];
    for (int i = 0; i < n; i++)
        parts[i] = (llmr_batch_part){seqs[i], tokens + i, 1, pos[i]};
    return llmri_seq_eval_mixed(parts, n, NULL, NULL);
}
