/* sched.c - a server request as a library stream (see sched.h).
 *
 * The generation itself - batching with the other requests on the model, sampling, UTF-8
 * assembly, stop sequences, usage - is the library's (src/stream: one llmr_stream per job on
 * the model's engine). What this file adds is what an HTTP worker needs around it: the
 * server's limits turned into HTTP errors, and a pull thread per job that takes the stream's
 * pieces into a buffer the worker drains with a timeout, so the worker can watch its client
 * and the time limit while the stream waits for a slot or a pass.
 *
 * Locks: job->mu guards the job's out buffer, state and usage; sched->mu the job list and the
 * count of running pull threads.
 */
#include "server/sched.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "model/model.h"
#include "stream/batch.h"
#include "stream/local.h"
#include "stream/text.h"

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
    int refs;                  /* consumer + pull thread */
    /* the pull thread's (set before it starts) */
    llmr_stream *st;
    srv_job *next;             /* s->jobs, guarded by s->mu */
};

struct srv_sched {
    llmr_model *m;
    srv_sched_opts o;
    int32_t n_vocab;
    pthread_mutex_t mu;
    pthread_cond_t cv;         /* a pull thread ended */
    srv_job *jobs;             /* with a running pull thread */
    int n_threads;
    bool closing;
};

/* ---- jobs -------------------------------------------------------------------------------- */

static void job_free(srv_job *j)
{
    llmri_buf_free(&j->out);
    free(j->ends);
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

/* Moves a piece to the consumer. */
static void deliver(srv_job *j, const char *text, size_t n)
{
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
    if (llmri_buf_append(&j->out, text, n))
        j->ends[j->n_ends++] = j->out.len;
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

static srv_finish finish_of(llmr_finish f)
{
    switch (f) {
    case LLMR_FINISH_STOP:      return SRV_FINISH_STOP;
    case LLMR_FINISH_LENGTH:    return SRV_FINISH_LENGTH;
    case LLMR_FINISH_CANCELLED: return SRV_FINISH_CANCELLED;
    case LLMR_FINISH_ERROR:     return SRV_FINISH_ERROR;
    default:                    return SRV_FINISH_NONE;
    }
}

/* The request's figures, as the stream counts them (one definition of each). */
static void usage_of(llmr_stream *st, int rc, srv_usage *u)
{
    llmr_usage lu;
    llmr_stream_usage(st, &lu);
    u->prompt_tokens = (int)lu.prompt_tokens;
    u->cached_tokens = (int)lu.cached_tokens;
    u->completion_tokens = (int)lu.generated_tokens;
    u->prompt_s = lu.prompt_s;
    u->gen_s = lu.gen_s;
    u->ttft_s = lu.ttft_s;
    u->total_s = lu.total_s;
    /* what the request spent neither on its prompt nor generating: waiting for a slot */
    double q = lu.total_s - lu.prompt_s - lu.gen_s;
    u->queue_s = q > 0 ? q : 0;
    u->finish = finish_of(lu.finish);
    u->err_code = u->finish == SRV_FINISH_ERROR ? rc : 0;
    if (u->finish == SRV_FINISH_ERROR)
        snprintf(u->err_msg, sizeof u->err_msg, "%s", llmr_stream_errmsg(st));
}

/* Pulls the stream to its end on its own thread. */
static void *pull_main(void *arg)
{
    srv_job *j = arg;
    srv_sched *s = j->s;
    llmr_piece p;
    int rc;
    while ((rc = llmr_stream_next(j->st, &p)) == LLMR_PIECE)
        deliver(j, p.text, p.len);
    pthread_mutex_lock(&j->mu);
    usage_of(j->st, rc, &j->u);
    j->state = SRV_JOB_DONE;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    llmr_stream_close(j->st);          /* before the count drops: close may free the model */
    pthread_mutex_lock(&s->mu);
    for (srv_job **pp = &s->jobs; *pp; pp = &(*pp)->next)
        if (*pp == j) {
            *pp = j->next;
            break;
        }
    s->n_threads--;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    job_unref(j);
    return NULL;
}

/* ---- open, close ------------------------------------------------------------------------ */

int srv_sched_open(llmr_model *m, const srv_sched_opts *o, srv_sched **out, char *msg,
                   size_t msg_len)
{
    *out = NULL;
    if (o->n_slots < 1 || o->n_slots > SRV_MAX_SLOTS || o->n_ctx < 2) {
        snprintf(msg, msg_len, "%d slots of %d positions: expected 1 to %d slots and at least 2 "
                 "positions", o->n_slots, o->n_ctx, SRV_MAX_SLOTS);
        return LLMR_ERR_ARG;
    }
    llmr_err err = {0};
    /* the server's queue of 0 lets no request wait; the engine spells that -1 */
    int rc = llmri_local_configure(m, o->n_slots, o->n_ctx, o->queue_max ? o->queue_max : -1,
                                  &err);
    if (rc) {
        snprintf(msg, msg_len, "%s", err.msg);
        return rc;
    }
    srv_sched *s = calloc(1, sizeof *s);
    if (!s)
        return snprintf(msg, msg_len, "out of memory"), LLMR_ERR_NOMEM;
    s->m = m;
    s->o = *o;
    s->n_vocab = llmri_model_n_vocab(m);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    *out = s;
    return LLMR_OK;
}

void srv_sched_cancel_all(srv_sched *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    for (srv_job *j = s->jobs; j; j = j->next)
        srv_job_cancel(j);
    pthread_mutex_unlock(&s->mu);
}

void srv_sched_close(srv_sched *s)
{
    if (!s)
        return;
    srv_sched_cancel_all(s);
    pthread_mutex_lock(&s->mu);
    s->closing = true;
    while (s->n_threads > 0)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

/* ---- submit ----------------------------------------------------------------------------- */

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

/* The limit on prompt tokens: --max-prompt, and the slot's context less one generated token. */
static int prompt_cap(const srv_sched *s)
{
    return s->o.max_prompt < s->o.n_ctx - 1 ? s->o.max_prompt : s->o.n_ctx - 1;
}

static int context_error(const srv_sched *s, const srv_req *r, int n_prompt, srv_error *e)
{
    return srv_error_set(e, 400, "invalid_request_error", "context_length_exceeded",
                         r->msgs ? "messages" : "prompt",
                         "the prompt has %d tokens; this server takes at most %d (each slot "
                         "holds %d positions, with room for at least one generated token)",
                         n_prompt, prompt_cap(s), s->o.n_ctx);
}

/* An open that failed, as the HTTP error the request gets. */
static int open_error(srv_sched *s, const srv_req *r, llmr_stream *st, int rc,
                      srv_error *e)
{
    const char *msg = st ? llmr_stream_errmsg(st) : "out of memory";
    llmr_usage u;
    llmr_stream_usage(st, &u);
    switch (rc) {
    case LLMR_ERR_CONTEXT:
        return context_error(s, r, (int)u.prompt_tokens, e);
    case LLMR_ERR_BUSY: {
        llmr_engine_stats es;
        llmri_local_stats(s->m, &es);
        return srv_error_set(e, 503, "overloaded_error", "server_busy", NULL,
                             "the server is busy: %d slots generating and %d requests queued "
                             "(the queue holds %d); retry later", s->o.n_slots, es.queued,
                             s->o.queue_max);
    }
    case LLMR_ERR_NOMEM:
        return srv_error_set(e, 500, "server_error", NULL, NULL, "%s", msg);
    default:
        return srv_error_set(e, 400, "invalid_request_error", NULL,
                             r->json_schema || r->json_object ? "response_format" : NULL,
                             "%s", msg);
    }
}

static int check_request(const srv_sched *s, const srv_req *r, srv_error *e)
{
    if (r->max_tokens > s->o.max_tokens)
        return srv_error_set(e, 400, "invalid_request_error", NULL, "max_tokens",
                             "max_tokens is %d; this server allows at most %d (--max-tokens)",
                             r->max_tokens, s->o.max_tokens);
    for (int i = 0; i < r->n_bias; i++)
        if (r->bias[i].token >= s->n_vocab)
            return srv_error_set(e, 400, "invalid_request_error", NULL, "logit_bias",
                                 "logit_bias names token %d; the vocabulary has %d tokens",
                                 r->bias[i].token, s->n_vocab);
    return 0;
}

/* Opens the request's stream on the model. */
static int open_stream(srv_sched *s, const srv_req *r, const char *prompt, bool add_bos,
                       bool parse_special, llmr_stream **st, srv_error *e)
{
    int err = check_request(s, r, e);
    if (err)
        return err;
    llmr_gen_opts o = llmr_gen_defaults();
    llmr_logit_bias *bias = calloc((size_t)r->n_bias + 1, sizeof *bias);
    if (!bias)
        return srv_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
    sampling_from(r, &o.sampling, bias);
    o.max_tokens = r->max_tokens > 0 ? r->max_tokens : s->o.max_tokens;
    for (int i = 0; i < r->n_stop && i < LLMR_MAX_STOP; i++)
        o.stop[i] = r->stop[i];
    o.add_bos = add_bos;
    o.parse_special = parse_special;
    o.max_retries = 0;               /* a full queue is a 503 now, not a wait */
    o.progress_every = 0;
    int rc = llmr_stream_open(s->m, prompt, &o, st);
    free(bias);
    if (rc != LLMR_OK) {
        err = open_error(s, r, *st, rc, e);
        llmr_stream_close(*st);
        *st = NULL;
        return err;
    }
    llmr_usage u;
    llmr_stream_usage(*st, &u);
    if ((int)u.prompt_tokens > prompt_cap(s)) {
        llmr_stream_close(*st);
        *st = NULL;
        return context_error(s, r, (int)u.prompt_tokens, e);
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
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    j->refs = 2;
    j->state = SRV_JOB_QUEUED;
    if (open_stream(s, r, prompt, add_bos, parse_special, &j->st, e)) {
        job_free(j);
        return NULL;
    }
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_mutex_lock(&s->mu);
    pthread_t th;
    bool started = !s->closing && pthread_create(&th, &at, pull_main, j) == 0;
    if (started) {
        j->next = s->jobs;
        s->jobs = j;
        s->n_threads++;
    }
    pthread_mutex_unlock(&s->mu);
    pthread_attr_destroy(&at);
    if (!started) {
        llmr_stream_close(j->st);
        job_free(j);
        srv_error_set(e, 503, "overloaded_error", "server_busy", NULL,
                      "the server cannot start another generation now; retry later");
        return NULL;
    }
    return j;
}

/* ---- the consumer ----------------------------------------------------------------------- */

void srv_take_free(srv_take *t)
{
    free(t->text);
    free(t->ends);
    memset(t, 0, sizeof *t);
}

/* Moves the job's text into t (mu held); false when out of memory (nothing moved). */
static bool move_text(srv_job *j, srv_take *t)
{
    if (j->out.len + 1 > t->cap) {
        char *p = realloc(t->text, j->out.len + 1);
        if (!p)
            return false;
        t->text = p;
        t->cap = j->out.len + 1;
    }
    if (j->n_ends > t->cap_ends) {
        size_t *e = realloc(t->ends, (size_t)j->n_ends * sizeof *e);
        if (!e)
            return false;
        t->ends = e;
        t->cap_ends = j->n_ends;
    }
    memcpy(t->text, j->out.p, j->out.len);
    t->len = j->out.len;
    t->text[t->len] = 0;
    memcpy(t->ends, j->ends, (size_t)j->n_ends * sizeof *t->ends);
    t->n = j->n_ends;
    llmri_buf_truncate(&j->out, 0);
    j->n_ends = 0;
    return true;
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
    if (j->out.len)
        move_text(j, t);
    /* DONE is reported only once all text has been taken. */
    srv_job_state st = j->out.len ? SRV_JOB_GEN : j->state;
    pthread_mutex_unlock(&j->mu);
    return st;
}

void srv_job_cancel(srv_job *j)
{
    if (!j)
        return;
    /* The stream stays open until the pull thread has ended (it holds a reference), and stop
     * is safe from any thread: a queued, prefilling or generating stream ends at once. */
    pthread_mutex_lock(&j->mu);
    if (j->state != SRV_JOB_DONE)
        llmr_stream_stop(j->st);
    pthread_mutex_unlock(&j->mu);
}

void srv_job_usage(srv_job *j, srv_usage *u)
{
    pthread_mutex_lock(&j->mu);
    *u = j->u;
    pthread_mutex_unlock(&j->mu);
}

void srv_job_release(srv_job *j)
{
    if (!j)
        return;
    srv_job_cancel(j);
    job_unref(j);
}

void srv_sched_stats_get(srv_sched *s, srv_sched_stats *st)
{
    llmr_engine_stats es;
    llmri_local_stats(s->m, &es);
    st->n_slots = es.n_slots;
    st->active = es.active;
    st->queued = es.queued;
    st->tokens_in = es.tokens_in;
    st->tokens_out = es.tokens_out;
    st->steps = es.steps;
    st->batched_rows = es.rows;
    st->decode_s = es.decode_s;
}
