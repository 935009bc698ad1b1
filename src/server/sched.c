/* sched.c - continuous batching over one model (see sched.h for the loop).
 *
 * Locks: sched->mu guards the queue, the stop flag, the slots' `job` pointers as seen by
 * srv_sched_stats_get, and the counters. job->mu guards the job's out buffer, state and usage
 * (what the consumer reads). Everything else in a job and a slot belongs to the scheduler
 * thread alone. job->cancel is atomic: any thread sets it, the scheduler polls it each step.
 */
#include "server/sched.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "model/model.h"
#include "sampler/sampler.h"
#include "stream/text.h"
#include "tokenizer/tokenizer.h"

struct srv_job {
    srv_sched *s;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* guarded by mu */
    llmr_buf out;              /* text produced and not yet taken */
    size_t *ends;              /* piece boundaries in out */
    int n_ends, cap_ends;
    srv_job_state state;
    srv_usage u;
    int refs;                  /* consumer + scheduler */
    atomic_bool cancel;
    /* scheduler thread only (and submit, before the job is queued) */
    int32_t *prompt;
    int n_prompt, n_eval;      /* prompt tokens; of those, in the slot's cache */
    llmr_sampler *smp;
    int max_tokens, n_gen;
    llmr_stopset stops;
    char *stop_text[SRV_MAX_STOP];
    llmr_utf8 u8;
    llmr_buf pend;             /* assembled text held back (possible start of a stop) */
    int32_t last;              /* sampled, not yet evaluated */
    int pos;                   /* position of `last` */
    double t_submit, t_slot, t_prompt, t_first;
    srv_job *next;             /* queue link */
};

typedef struct slot {
    llmr_seq *seq;
    int32_t *cache;            /* tokens in the KV cache at [0, n_cache) */
    int n_cache;
    srv_job *job;              /* NULL: free */
    uint64_t packed;           /* the step (n_steps + 1) that took a prompt chunk from it */
} slot;

struct srv_sched {
    llmr_model *m;
    const llmr_tokenizer *t;
    srv_sched_opts o;
    int32_t n_vocab;
    llmr_bytes *pieces;        /* each token's output bytes (borrowed from the tokenizer) */
    int32_t *eog;
    size_t n_eog;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    srv_job *qhead, *qtail;
    int n_queued, n_active;
    bool stop;
    slot slots[SRV_MAX_SLOTS];
    pthread_t th;
    bool started;
    double step_s;             /* target seconds per pass (SRV_STEP_S) */
    double row_s;              /* seconds per row of a pass (moving average) */
    uint64_t tokens_in, tokens_out, steps, rows;
    double decode_s;
    /* the pass being built and run (scheduler thread) */
    llmr_batch_part parts[SRV_MAX_SLOTS];
    int pslot[SRV_MAX_SLOTS];  /* the slot of each part */
    int n_parts;
    uint64_t n_steps;          /* steps started (slot->packed marks) */
};

/* ---- jobs -------------------------------------------------------------------------------- */

static void job_free(srv_job *j)
{
    llmr_sampler_free(j->smp);
    free(j->prompt);
    for (int i = 0; i < SRV_MAX_STOP; i++)
        free(j->stop_text[i]);
    llmr_buf_free(&j->out);
    free(j->ends);
    llmr_buf_free(&j->pend);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    free(j);
}

static void job_unref(srv_job *j)
{
    pthread_mutex_lock(&j->mu);
    int left = --j->refs;
    pthread_mutex_unlock(&j->mu);
    if (left == 0)
        job_free(j);
}

/* Moves text to the consumer. */
static void deliver(srv_job *j, const char *text, size_t n)
{
    if (!n)
        return;
    double now = llmr_now();
    pthread_mutex_lock(&j->mu);
    if (j->n_ends == j->cap_ends) {
        int nc = j->cap_ends ? 2 * j->cap_ends : 16;
        size_t *e = realloc(j->ends, (size_t)nc * sizeof *e);
        if (!e) {
            pthread_mutex_unlock(&j->mu);
            return;
        }
        j->ends = e;
        j->cap_ends = nc;
    }
    if (!llmr_buf_append(&j->out, text, n)) {
        pthread_mutex_unlock(&j->mu);
        return;
    }
    j->ends[j->n_ends++] = j->out.len;
    if (j->t_first == 0) {
        j->t_first = now;
        j->u.ttft_s = now - j->t_submit;
    }
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

/* Ends the job. On stop and length the text still held back (a possible start of a stop
 * sequence that did not complete) goes out; a stop sequence that did complete was removed
 * from it by the caller. */
static void job_finish(srv_sched *s, srv_job *j, srv_finish f, int code, const char *msg)
{
    if (f == SRV_FINISH_LENGTH || f == SRV_FINISH_STOP) {
        llmr_utf8_flush(&j->u8, &j->pend);
        deliver(j, j->pend.p, j->pend.len);
        llmr_buf_truncate(&j->pend, 0);
    }
    double now = llmr_now();
    pthread_mutex_lock(&j->mu);
    j->state = SRV_JOB_DONE;
    j->u.finish = f;
    j->u.err_code = f == SRV_FINISH_ERROR ? code : 0;
    if (msg)
        snprintf(j->u.err_msg, sizeof j->u.err_msg, "%s", msg);
    j->u.prompt_tokens = j->n_prompt;
    j->u.completion_tokens = j->n_gen;
    j->u.total_s = now - j->t_submit;
    j->u.queue_s = (j->t_slot ? j->t_slot : now) - j->t_submit;
    j->u.prompt_s = j->t_slot ? (j->t_prompt ? j->t_prompt : now) - j->t_slot : 0;
    j->u.gen_s = j->t_prompt ? now - j->t_prompt : 0;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    pthread_mutex_lock(&s->mu);
    s->tokens_out += (uint64_t)j->n_gen;
    pthread_mutex_unlock(&s->mu);
}

/* The slot's job is over: free the slot for the next request. */
static void slot_release(srv_sched *s, slot *sl)
{
    srv_job *j = sl->job;
    pthread_mutex_lock(&s->mu);
    sl->job = NULL;
    s->n_active--;
    pthread_mutex_unlock(&s->mu);
    job_unref(j);
}

/* A token sampled for job j in slot sl: text, stops, limits. Returns true when the job goes
 * on (its token must be evaluated next step). */
static bool on_token(srv_sched *s, slot *sl, int32_t tok)
{
    srv_job *j = sl->job;
    llmr_err err = {0};
    bool eog = false;
    for (size_t i = 0; i < s->n_eog; i++)
        eog |= s->eog[i] == tok;
    if (eog) {
        job_finish(s, j, SRV_FINISH_STOP, 0, NULL);
        return false;
    }
    j->n_gen++;
    if (llmr_sampler_accept(j->smp, tok, &err) != LLMR_OK) {
        job_finish(s, j, SRV_FINISH_ERROR, err.code, err.msg);
        return false;
    }
    const llmr_bytes *b = &s->pieces[tok];
    if (!llmr_utf8_feed(&j->u8, b->ptr, b->len, &j->pend)) {
        job_finish(s, j, SRV_FINISH_ERROR, LLMR_ERR_NOMEM, "out of memory");
        return false;
    }
    bool hit = false;
    size_t k = llmr_stop_scan(&j->stops, j->pend.p ? j->pend.p : "", j->pend.len, &hit);
    deliver(j, j->pend.p, k);
    if (hit) {
        /* The stop sequence and whatever follows it are never delivered. */
        llmr_buf_truncate(&j->pend, 0);
        memset(&j->u8, 0, sizeof j->u8);
        job_finish(s, j, SRV_FINISH_STOP, 0, NULL);
        return false;
    }
    llmr_buf_consume(&j->pend, k);
    if (llmr_sampler_grammar_done(j->smp)) {
        job_finish(s, j, SRV_FINISH_STOP, 0, NULL);
        return false;
    }
    /* The token goes in at position pos; it needs a place in the cache. */
    int pos = j->n_prompt + j->n_gen - 1;
    if (j->n_gen >= j->max_tokens || pos >= llmr_seq_n_ctx(sl->seq)) {
        job_finish(s, j, SRV_FINISH_LENGTH, 0, NULL);
        return false;
    }
    j->last = tok;
    j->pos = pos;
    return true;
}

/* Samples from logits for the job in sl. */
static bool sample_next(srv_sched *s, slot *sl, const float *logits)
{
    srv_job *j = sl->job;
    llmr_err err = {0};
    int32_t tok = llmr_sampler_sample(j->smp, logits, &err);
    if (tok < 0) {
        job_finish(s, j, SRV_FINISH_ERROR, err.code ? err.code : LLMR_ERR_STATE, err.msg);
        return false;
    }
    return on_token(s, sl, tok);
}

/* ---- the scheduler thread ---------------------------------------------------------------- */

static int common_prefix(const slot *sl, const srv_job *j)
{
    int n = 0;
    while (n < sl->n_cache && n < j->n_prompt && sl->cache[n] == j->prompt[n])
        n++;
    return n;
}

/* Under s->mu: queued jobs that were cancelled leave; others take free slots in order. */
static void admit(srv_sched *s)
{
    srv_job **pp = &s->qhead, *prev = NULL;
    while (*pp) {
        srv_job *j = *pp;
        if (!atomic_load(&j->cancel)) {
            prev = j;
            pp = &j->next;
            continue;
        }
        *pp = j->next;
        if (s->qtail == j)
            s->qtail = prev;
        s->n_queued--;
        pthread_mutex_unlock(&s->mu);
        job_finish(s, j, SRV_FINISH_CANCELLED, 0, NULL);
        job_unref(j);
        pthread_mutex_lock(&s->mu);
        pp = &s->qhead;   /* the list may have changed while unlocked */
        prev = NULL;
    }
    while (s->qhead && s->n_active < s->o.n_slots) {
        srv_job *j = s->qhead;
        int best = -1, best_len = -1;
        for (int i = 0; i < s->o.n_slots; i++) {
            if (s->slots[i].job)
                continue;
            int c = common_prefix(&s->slots[i], j);
            if (c > best_len) {
                best = i;
                best_len = c;
            }
        }
        s->qhead = j->next;
        if (!s->qhead)
            s->qtail = NULL;
        s->n_queued--;
        j->next = NULL;
        slot *sl = &s->slots[best];
        sl->job = j;
        s->n_active++;
        /* The last prompt token is evaluated again even when cached: its logits are needed. */
        if (best_len >= j->n_prompt)
            best_len = j->n_prompt - 1;
        j->n_eval = best_len;
        sl->n_cache = best_len;
        j->t_slot = llmr_now();
        s->tokens_in += (uint64_t)j->n_prompt;
        pthread_mutex_lock(&j->mu);
        j->state = SRV_JOB_PREFILL;
        j->u.cached_tokens = best_len;
        pthread_mutex_unlock(&j->mu);
    }
}

static void drop_cancelled(srv_sched *s)
{
    for (int i = 0; i < s->o.n_slots; i++) {
        slot *sl = &s->slots[i];
        if (sl->job && atomic_load(&sl->job->cancel)) {
            job_finish(s, sl->job, SRV_FINISH_CANCELLED, 0, NULL);
            slot_release(s, sl);
        }
    }
}

/* Rows per pass: as many as take about step_s at the measured cost per row, within
 * [SRV_STEP_MIN_ROWS, SRV_STEP_MAX_ROWS]. Every generating slot's decode token always goes in;
 * prompts fill what is left, at least SRV_PREFILL_MIN tokens. The time bound keeps a prompt
 * from holding up the others' next token for long (a fast model gets long chunks, a slow one
 * short ones); the floor keeps passes that carry prompt work out of the small-batch regime,
 * where a pass costs about as much as one of 16 rows (measured: bench/README.md). Prompts go
 * oldest first, one after another, so the earlier requests get their first token sooner than
 * if all advanced together. */
static int step_rows(const srv_sched *s)
{
    if (s->row_s <= 0)
        return SRV_STEP_MIN_ROWS;
    double n = s->step_s / s->row_s;
    if (n < SRV_STEP_MIN_ROWS)
        return SRV_STEP_MIN_ROWS;
    return n > SRV_STEP_MAX_ROWS ? SRV_STEP_MAX_ROWS : (int)n;
}

/* The pass stops between layers as soon as one of its jobs is cancelled (client gone, stop,
 * shutdown), so a cancel waits for at most one layer, not a whole pass; the other parts are
 * evaluated again next step. */
static bool batch_abort(void *user)
{
    const srv_sched *s = user;
    for (int k = 0; k < s->n_parts; k++)
        if (atomic_load_explicit(&s->slots[s->pslot[k]].job->cancel, memory_order_relaxed))
            return true;
    return false;
}

static bool generating(const srv_job *j)
{
    return j && j->n_eval >= j->n_prompt && j->t_prompt;
}

/* Prompt positions another slot's cache already holds are copied, not evaluated, so requests
 * that share a prefix (a system prompt, a template's preamble, the same question) compute it
 * once: vLLM's and SGLang's automatic prefix caching, across slots. The last prompt token is
 * always evaluated: its logits are needed. */
static void share_prefixes(srv_sched *s)
{
    for (int i = 0; i < s->o.n_slots; i++) {
        slot *sl = &s->slots[i];
        srv_job *j = sl->job;
        if (!j || j->n_eval >= j->n_prompt - 1)
            continue;
        int from = -1, len = j->n_eval;
        for (int k = 0; k < s->o.n_slots; k++) {
            int c = k == i ? 0 : common_prefix(&s->slots[k], j);
            if (c > len) {
                from = k;
                len = c;
            }
        }
        if (from < 0)
            continue;
        if (len > j->n_prompt - 1)
            len = j->n_prompt - 1;
        if (llmr_seq_copy_range(sl->seq, s->slots[from].seq, j->n_eval, len) != LLMR_OK)
            continue;   /* not expected; the positions are then evaluated as usual */
        memcpy(sl->cache + j->n_eval, j->prompt + j->n_eval,
               (size_t)(len - j->n_eval) * sizeof *sl->cache);
        pthread_mutex_lock(&j->mu);
        j->u.cached_tokens += len - j->n_eval;
        pthread_mutex_unlock(&j->mu);
        j->n_eval = len;
        sl->n_cache = len;
    }
}

/* Whether a prompt chunk already in this pass covers j's next positions with the same tokens
 * (from position 0): then j waits one step and copies them (share_prefixes) instead of
 * evaluating them again; eight identical prompts arriving together cost one. */
static bool shares_packed_chunk(const srv_sched *s, const srv_job *j)
{
    if (j->n_eval >= j->n_prompt - 1)
        return false;   /* only its own last token is left */
    for (int k = 0; k < s->n_parts; k++) {
        const srv_job *a = s->slots[s->pslot[k]].job;
        const llmr_batch_part *p = &s->parts[k];
        if (generating(a) || p->pos > j->n_eval || p->pos + p->n <= j->n_eval)
            continue;
        int n = p->pos + p->n < j->n_prompt - 1 ? p->pos + p->n : j->n_prompt - 1;
        if (!memcmp(a->prompt, j->prompt, (size_t)n * sizeof *j->prompt))
            return true;
    }
    return false;
}

/* Adds the generating slots' decode tokens, then prompt chunks, oldest request first. */
static void pack_step(srv_sched *s)
{
    share_prefixes(s);
    s->n_parts = 0;
    int rows = 0;
    for (int i = 0; i < s->o.n_slots; i++) {
        srv_job *j = s->slots[i].job;
        if (!generating(j))
            continue;
        s->parts[s->n_parts] = (llmr_batch_part){s->slots[i].seq, &j->last, 1, j->pos};
        s->pslot[s->n_parts++] = i;
        rows++;
    }
    int budget = step_rows(s) - rows;
    if (budget < SRV_PREFILL_MIN)
        budget = SRV_PREFILL_MIN;
    if (budget > LLMR_UBATCH - rows)
        budget = LLMR_UBATCH - rows;
    while (budget > 0) {
        int best = -1;
        for (int i = 0; i < s->o.n_slots; i++) {
            const srv_job *j = s->slots[i].job;
            if (!j || j->n_eval >= j->n_prompt || s->slots[i].packed == s->n_steps + 1)
                continue;
            if (best < 0 || j->t_submit < s->slots[best].job->t_submit)
                best = i;
        }
        if (best < 0)
            break;
        slot *sl = &s->slots[best];
        srv_job *j = sl->job;
        sl->packed = s->n_steps + 1;
        if (shares_packed_chunk(s, j))
            continue;
        int n = j->n_prompt - j->n_eval;
        if (n > budget)
            n = budget;
        s->parts[s->n_parts] = (llmr_batch_part){sl->seq, j->prompt + j->n_eval, n, j->n_eval};
        s->pslot[s->n_parts++] = best;
        budget -= n;
    }
}

/* A part of the pass was evaluated: record it in the slot's cache and go on with its job. */
static void part_done(srv_sched *s, slot *sl, const llmr_batch_part *p)
{
    srv_job *j = sl->job;
    memcpy(sl->cache + p->pos, p->tokens, (size_t)p->n * sizeof *sl->cache);
    sl->n_cache = p->pos + p->n;
    if (!generating(j)) {
        j->n_eval += p->n;
        if (j->n_eval < j->n_prompt)
            return;
        j->t_prompt = llmr_now();
        pthread_mutex_lock(&j->mu);
        j->state = SRV_JOB_GEN;
        pthread_mutex_unlock(&j->mu);
    }
    if (!sample_next(s, sl, llmr_seq_logits(sl->seq)))
        slot_release(s, sl);
}

static void part_failed(srv_sched *s, slot *sl, int rc)
{
    srv_job *j = sl->job;
    char msg[300];
    snprintf(msg, sizeof msg, "%s: %s", generating(j) ? "batched decode" : "evaluating the prompt",
             llmr_seq_errmsg(sl->seq));
    sl->n_cache = j->n_eval < sl->n_cache ? j->n_eval : sl->n_cache;
    job_finish(s, j, SRV_FINISH_ERROR, rc, msg);
    slot_release(s, sl);
}

/* One step: ONE forward pass over the decode token of every generating slot and chunks of
 * the prompts being evaluated (llmr_seq_eval_mixed), then sampling. */
static void batch_step(srv_sched *s)
{
    pack_step(s);
    s->n_steps++;
    if (!s->n_parts)
        return;
    int rows = 0, n_dec = 0;
    for (int k = 0; k < s->n_parts; k++) {
        rows += s->parts[k].n;
        n_dec += generating(s->slots[s->pslot[k]].job);
    }
    const llmr_abort ab = {batch_abort, s};
    int bad = -1;
    double t0 = llmr_now();
    int rc = llmr_seq_eval_mixed(s->parts, s->n_parts, &ab, &bad);
    double dt = llmr_now() - t0;
    if (rc == LLMR_ERR_CANCELLED)
        return;   /* drop_cancelled frees the cancelled slots; the rest go again */
    if (rc == LLMR_OK) {
        /* cost per row, from passes big enough to be past the small-batch regime */
        double rs = dt / rows;
        if (rows >= SRV_STEP_MIN_ROWS)
            s->row_s = s->row_s > 0 ? 0.5 * s->row_s + 0.5 * rs : rs;
        if (n_dec) {   /* the decode figures of /metrics: passes with decode rows */
            pthread_mutex_lock(&s->mu);
            s->steps++;
            s->rows += (uint64_t)n_dec;
            s->decode_s += dt;
            pthread_mutex_unlock(&s->mu);
        }
    }
    for (int k = 0; k < s->n_parts; k++) {
        slot *sl = &s->slots[s->pslot[k]];
        if (rc == LLMR_OK)
            part_done(s, sl, &s->parts[k]);
        else if (bad < 0 || bad == k)
            part_failed(s, sl, rc);
        /* else: not evaluated because another part was refused; it goes again next step */
    }
}

static void *sched_main(void *arg)
{
    srv_sched *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->stop && !s->qhead && s->n_active == 0)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->stop)
            break;
        admit(s);
        pthread_mutex_unlock(&s->mu);
        drop_cancelled(s);
        batch_step(s);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- open, close, submit ----------------------------------------------------------------- */

int srv_sched_open(llmr_model *m, const llmr_tokenizer *t, const srv_sched_opts *o,
                   srv_sched **out, char *msg, size_t msg_len)
{
    *out = NULL;
    if (o->n_slots < 1 || o->n_slots > SRV_MAX_SLOTS || o->n_ctx < 2) {
        snprintf(msg, msg_len, "%d slots of %d positions: expected 1 to %d slots and at least 2 "
                 "positions", o->n_slots, o->n_ctx, SRV_MAX_SLOTS);
        return LLMR_ERR_ARG;
    }
    srv_sched *s = calloc(1, sizeof *s);
    if (!s)
        return snprintf(msg, msg_len, "out of memory"), LLMR_ERR_NOMEM;
    s->m = m;
    s->t = t;
    s->o = *o;
    s->step_s = SRV_STEP_S;
    /* For measuring the step budget (bench/README.md), not a documented setting. */
    const char *ev = getenv("LLMR_SCHED_STEP_S");
    if (ev && atof(ev) > 0)
        s->step_s = atof(ev);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->n_vocab = llmr_tokenizer_n_vocab(t);
    if (s->n_vocab != llmr_model_n_vocab(m)) {
        snprintf(msg, msg_len, "the tokenizer has %d tokens but the model's output has %d",
                 s->n_vocab, llmr_model_n_vocab(m));
        srv_sched_close(s);
        return LLMR_ERR_FORMAT;
    }
    s->pieces = calloc((size_t)s->n_vocab, sizeof *s->pieces);
    s->eog = calloc((size_t)s->n_vocab, sizeof *s->eog);
    if (!s->pieces || !s->eog)
        goto nomem;
    for (int32_t id = 0; id < s->n_vocab; id++) {
        llmr_token_to_piece(t, id, false, &s->pieces[id].ptr, &s->pieces[id].len);
        if (llmr_token_is_eog(t, id))
            s->eog[s->n_eog++] = id;
    }
    for (int i = 0; i < o->n_slots; i++) {
        slot *sl = &s->slots[i];
        int rc = llmr_seq_new(m, o->n_ctx, &sl->seq);
        if (rc != LLMR_OK) {
            snprintf(msg, msg_len, "KV cache of slot %d (%d positions): %s", i, o->n_ctx,
                     llmr_model_errmsg(m));
            srv_sched_close(s);
            return rc;
        }
        sl->cache = calloc((size_t)o->n_ctx, sizeof *sl->cache);
        if (!sl->cache)
            goto nomem;
    }
    if (pthread_create(&s->th, NULL, sched_main, s)) {
        snprintf(msg, msg_len, "cannot start the scheduler thread");
        srv_sched_close(s);
        return LLMR_ERR_NOMEM;
    }
    s->started = true;
    *out = s;
    return LLMR_OK;
nomem:
    snprintf(msg, msg_len, "out of memory for %d slots", o->n_slots);
    srv_sched_close(s);
    return LLMR_ERR_NOMEM;
}

void srv_sched_cancel_all(srv_sched *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    for (srv_job *j = s->qhead; j; j = j->next)
        atomic_store(&j->cancel, true);
    for (int i = 0; i < s->o.n_slots; i++)
        if (s->slots[i].job)
            atomic_store(&s->slots[i].job->cancel, true);
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void srv_sched_close(srv_sched *s)
{
    if (!s)
        return;
    if (s->started) {
        pthread_mutex_lock(&s->mu);
        s->stop = true;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->th, NULL);
    }
    while (s->qhead) {
        srv_job *j = s->qhead;
        s->qhead = j->next;
        job_finish(s, j, SRV_FINISH_CANCELLED, 0, NULL);
        job_unref(j);
    }
    for (int i = 0; i < SRV_MAX_SLOTS; i++) {
        slot *sl = &s->slots[i];
        if (sl->job) {
            job_finish(s, sl->job, SRV_FINISH_CANCELLED, 0, NULL);
            job_unref(sl->job);
        }
        llmr_seq_free(sl->seq);
        free(sl->cache);
    }
    free(s->pieces);
    free(s->eog);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

static int tokenize(srv_sched *s, srv_job *j, const char *prompt, unsigned flags, srv_error *e)
{
    size_t len = strlen(prompt), cap = len / 2 + 16, n = 0;
    for (int tries = 0; tries < 3; tries++) {
        int32_t *p = realloc(j->prompt, cap * sizeof *p);
        if (!p)
            break;
        j->prompt = p;
        int rc = llmr_tokenize(s->t, prompt, len, flags, j->prompt, cap, &n);
        if (rc == LLMR_OK) {
            j->n_prompt = (int)n;
            return 0;
        }
        if (rc != LLMR_ERR_TOO_BIG)
            return srv_error_set(e, 400, "invalid_request_error", NULL, "prompt",
                                 "the prompt cannot be tokenized: %s", llmr_strerror(rc));
        cap = n > cap ? n : cap * 2;
    }
    return srv_error_set(e, 500, "server_error", NULL, NULL, "out of memory tokenizing");
}

static void sampling_from(const srv_req *r, llmr_sampling *sp, llmr_logit_bias *bias)
{
    *sp = llmr_sampling_defaults();
    if (!isnan(r->temperature)) sp->temperature = r->temperature;
    if (!isnan(r->top_p)) sp->top_p = r->top_p > 0 ? r->top_p : 1e-6f;
    if (!isnan(r->min_p)) sp->min_p = r->min_p;
    if (!isnan(r->presence_penalty)) sp->presence_penalty = r->presence_penalty;
    if (!isnan(r->frequency_penalty)) sp->frequency_penalty = r->frequency_penalty;
    if (!isnan(r->repeat_penalty) && r->repeat_penalty > 0) sp->repeat_penalty = r->repeat_penalty;
    if (r->top_k >= 0) sp->top_k = r->top_k;
    if (r->has_seed) sp->seed = r->seed;
    for (int i = 0; i < r->n_bias; i++)
        /* OpenAI's -100 bans a token; the sampler spells that -infinity. */
        bias[i] = (llmr_logit_bias){r->bias[i].token,
                                    r->bias[i].bias <= -100 ? -INFINITY : r->bias[i].bias};
    sp->logit_bias = bias;
    sp->n_logit_bias = (size_t)r->n_bias;
    sp->json_object = r->json_object && !r->json_schema;
    sp->json_schema = r->json_schema;
}

static int prepare(srv_sched *s, srv_job *j, const srv_req *r, const char *prompt, bool add_bos,
                   bool parse_special, srv_error *e)
{
    unsigned flags = (add_bos ? LLMR_TOK_ADD_SPECIAL : 0) |
                     (parse_special ? LLMR_TOK_PARSE_SPECIAL : 0);
    int rc = tokenize(s, j, prompt, flags, e);
    if (rc)
        return rc;
    if (j->n_prompt == 0)
        return srv_error_set(e, 400, "invalid_request_error", NULL, "prompt",
                             "the prompt is empty (no tokens): there is nothing to continue");
    if (j->n_prompt > s->o.max_prompt || j->n_prompt >= s->o.n_ctx)
        return srv_error_set(e, 400, "invalid_request_error", "context_length_exceeded",
                             r->msgs ? "messages" : "prompt",
                             "the prompt has %d tokens; this server takes at most %d (each slot "
                             "holds %d positions, with room for at least one generated token)",
                             j->n_prompt, s->o.max_prompt < s->o.n_ctx - 1 ? s->o.max_prompt
                                                                          : s->o.n_ctx - 1,
                             s->o.n_ctx);
    if (r->max_tokens > s->o.max_tokens)
        return srv_error_set(e, 400, "invalid_request_error", NULL, "max_tokens",
                             "max_tokens is %d; this server allows at most %d (--max-tokens)",
                             r->max_tokens, s->o.max_tokens);
    j->max_tokens = r->max_tokens > 0 ? r->max_tokens : s->o.max_tokens;
    for (int i = 0; i < r->n_bias; i++)
        if (r->bias[i].token >= s->n_vocab)
            return srv_error_set(e, 400, "invalid_request_error", NULL, "logit_bias",
                                 "logit_bias names token %d; the vocabulary has %d tokens",
                                 r->bias[i].token, s->n_vocab);
    llmr_sampling sp;
    llmr_logit_bias *bias = calloc((size_t)r->n_bias + 1, sizeof *bias);
    if (!bias)
        return srv_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
    sampling_from(r, &sp, bias);
    llmr_err err = {0};
    rc = llmr_sampler_create(&j->smp, s->n_vocab, &sp, NULL, s->pieces, s->eog, s->n_eog, &err);
    free(bias);
    if (rc != LLMR_OK)
        return srv_error_set(e, rc == LLMR_ERR_NOMEM ? 500 : 400,
                             rc == LLMR_ERR_NOMEM ? "server_error" : "invalid_request_error", NULL,
                             r->json_schema || r->json_object ? "response_format" : NULL,
                             "%s", err.msg);
    llmr_sampler_add_history(j->smp, j->prompt, (size_t)j->n_prompt);
    for (int i = 0; i < r->n_stop && i < LLMR_MAX_STOP; i++) {
        j->stop_text[i] = llmr_strdup(r->stop[i]);
        if (!j->stop_text[i])
            return srv_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
        j->stops.s[j->stops.n] = j->stop_text[i];
        j->stops.len[j->stops.n++] = strlen(r->stop[i]);
    }
    return 0;
}

srv_job *srv_sched_submit(srv_sched *s, const srv_req *r, const char *prompt, bool add_bos,
                          bool parse_special, srv_error *e)
{
    srv_job *j = calloc(1, sizeof *j);
    if (!j) {
        srv_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
        return NULL;
    }
    j->s = s;
    j->t_submit = llmr_now();
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    j->refs = 2;
    if (prepare(s, j, r, prompt, add_bos, parse_special, e)) {
        job_free(j);
        return NULL;
    }
    pthread_mutex_lock(&s->mu);
    int free_slots = s->o.n_slots - s->n_active;
    if (s->stop || s->n_queued >= s->o.queue_max + (free_slots > 0 ? free_slots : 0)) {
        int q = s->n_queued;
        pthread_mutex_unlock(&s->mu);
        srv_error_set(e, 503, "overloaded_error", "server_busy", NULL,
                      "the server is busy: %d slots generating and %d requests queued (the "
                      "queue holds %d); retry later", s->o.n_slots, q, s->o.queue_max);
        job_free(j);
        return NULL;
    }
    if (s->qtail)
        s->qtail->next = j;
    else
        s->qhead = j;
    s->qtail = j;
    s->n_queued++;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return j;
}

void srv_take_free(srv_take *t)
{
    free(t->text);
    free(t->ends);
    memset(t, 0, sizeof *t);
}

srv_job_state srv_job_take(srv_job *j, int timeout_ms, srv_take *t)
{
    t->len = 0;
    t->n = 0;
    pthread_mutex_lock(&j->mu);
    if (j->out.len == 0 && j->state != SRV_JOB_DONE && timeout_ms > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)timeout_ms * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&j->cv, &j->mu, &ts);
    }
    if (j->out.len) {
        bool room = true;
        if (j->out.len + 1 > t->cap) {
            char *p = realloc(t->text, j->out.len + 1);
            if (p) {
                t->text = p;
                t->cap = j->out.len + 1;
            }
            room = p != NULL;
        }
        if (room && j->n_ends > t->cap_ends) {
            size_t *e = realloc(t->ends, (size_t)j->n_ends * sizeof *e);
            if (e) {
                t->ends = e;
                t->cap_ends = j->n_ends;
            }
            room = e != NULL;
        }
        if (room) {
            memcpy(t->text, j->out.p, j->out.len);
            t->len = j->out.len;
            t->text[t->len] = 0;
            memcpy(t->ends, j->ends, (size_t)j->n_ends * sizeof *t->ends);
            t->n = j->n_ends;
            llmr_buf_truncate(&j->out, 0);
            j->n_ends = 0;
        }
    }
    /* DONE is reported only once all text has been taken. */
    srv_job_state st = j->out.len ? SRV_JOB_GEN : j->state;
    pthread_mutex_unlock(&j->mu);
    return st;
}

void srv_job_cancel(srv_job *j)
{
    if (!j || atomic_exchange(&j->cancel, true))
        return;
    srv_sched *s = j->s;
    pthread_mutex_lock(&s->mu);
    pthread_cond_signal(&s->cv);   /* a queued job leaves at once */
    pthread_mutex_unlock(&s->mu);
}

void srv_job_usage(srv_job *j, srv_usage *u)
{
    pthread_mutex_lock(&j->mu);
    *u = j->u;
    if (j->state != SRV_JOB_DONE) {
        u->prompt_tokens = j->n_prompt;
        u->finish = SRV_FINISH_NONE;
    }
    pthread_mutex_unlock(&j->mu);
}

void srv_job_release(srv_job *j)
{
    if (!j)
        return;
    pthread_mutex_lock(&j->mu);
    bool done = j->state == SRV_JOB_DONE;
    pthread_mutex_unlock(&j->mu);
    if (!done)
        srv_job_cancel(j);
    job_unref(j);
}

void srv_sched_stats_get(srv_sched *s, srv_sched_stats *st)
{
    pthread_mutex_lock(&s->mu);
    st->n_slots = s->o.n_slots;
    st->active = s->n_active;
    st->queued = s->n_queued;
    st->tokens_in = s->tokens_in;
    st->tokens_out = s->tokens_out;
    st->steps = s->steps;
    st->batched_rows = s->rows;
    st->decode_s = s->decode_s;
    pthread_mutex_unlock(&s->mu);
}
