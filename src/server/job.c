/* job.c - a server request's stream pulled into a buffer (see job.h).
 *
 * Locks: job->mu guards the job's out buffer, state and usage; jobs->mu the job list and the
 * count of running pull threads.
 */
#include "server/job.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/util.h"

struct srv_job {
    srv_jobs *js;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* guarded by mu */
    llmr_buf out;              /* text produced and not yet taken */
    size_t *ends;              /* piece boundaries in out */
    bool *thought;             /* per piece: reasoning (split) */
    cJSON **lp;                /* per piece: its tokens' log-probabilities, or NULL */
    int n_ends, cap_ends;
    srv_job_state state;
    srv_usage u;
    int refs;                  /* consumer + pull thread */
    /* the pull thread's (set before it starts) */
    llmr_stream *st;
    llmr_router *owner;        /* the router st was opened on */
    char model[160];           /* the model serving st (guarded by mu) */
    bool tools;                /* keep the answer's text in `all`, read the calls at the end */
    bool logprobs;             /* SRV_JOB_LOGPROBS */
    cJSON *lp_pend;            /* the pull thread's: entries for the next piece delivered */
    llmr_buf all;              /* the pull thread's */
    char *tool_json;           /* set before DONE (guarded by mu) */
    srv_job *next;             /* s->jobs, guarded by s->mu */
};

struct srv_jobs {
    pthread_mutex_t mu;
    pthread_cond_t cv;         /* a pull thread ended */
    srv_job *jobs;             /* with a running pull thread */
    int n_threads;
    bool closing;
};

/* ---- jobs -------------------------------------------------------------------------------- */

static void lp_free(cJSON **lp, int n)
{
    for (int i = 0; lp && i < n; i++)
        cJSON_Delete(lp[i]);
}

static void job_free(srv_job *j)
{
    lp_free(j->lp, j->n_ends);
    free(j->lp);
    cJSON_Delete(j->lp_pend);
    llmri_buf_free(&j->out);
    llmri_buf_free(&j->all);
    free(j->tool_json);
    free(j->ends);
    free(j->thought);
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

/* Moves a piece to the consumer; thought: it is reasoning. */
static void deliver(srv_job *j, const char *text, size_t n, bool thought)
{
    pthread_mutex_lock(&j->mu);
    if (j->n_ends == j->cap_ends) {
        int nc = j->cap_ends ? 2 * j->cap_ends : 16;
        size_t *e = realloc(j->ends, (size_t)nc * sizeof *e);
        if (e)
            j->ends = e;
        bool *th = e ? realloc(j->thought, (size_t)nc * sizeof *th) : NULL;
        if (th)
            j->thought = th;
        cJSON **lp = th ? realloc(j->lp, (size_t)nc * sizeof *lp) : NULL;
        if (!lp) {
            pthread_mutex_unlock(&j->mu);
            return;
        }
        j->lp = lp;
        j->cap_ends = nc;
    }
    if (llmri_buf_append(&j->out, text, n)) {
        j->thought[j->n_ends] = thought;
        /* the tokens taken since the last piece go with this one (the splitter may hold
         * text back, or cut one piece into several: the first gets them) */
        j->lp[j->n_ends] = j->lp_pend;
        j->lp_pend = NULL;
        j->ends[j->n_ends++] = j->out.len;
    }
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

/* A piece to the consumer, and an answer's to `all` too (the calls are read from it). */
static void piece_out(srv_job *j, bool reasoning, const char *text, size_t len)
{
    if (j->tools && !reasoning && !llmri_buf_append(&j->all, text, len))
        j->tools = false;              /* out of memory: the reply goes as text */
    deliver(j, text, len, reasoning);
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
    const char *stop = llmr_stream_stop_sequence(st);
    snprintf(u->stop_seq, sizeof u->stop_seq, "%s", stop ? stop : "");
    if (u->finish == SRV_FINISH_ERROR)
        snprintf(u->err_msg, sizeof u->err_msg, "%s", llmr_stream_errmsg(st));
}

cJSON *srv_logprob_entry(const char *bytes, size_t len, float logprob)
{
    llmr_buf t = {0};
    size_t at = 0, bad;
    while (at < len && !srv_utf8_valid(bytes + at, len - at, &bad)) {
        llmri_buf_append(&t, bytes + at, bad);
        llmri_buf_append(&t, "\xEF\xBF\xBD", 3);       /* U+FFFD */
        at += bad + 1;
    }
    llmri_buf_append(&t, bytes + at, len - at);
    llmri_buf_append(&t, "", 1);
    cJSON *o = cJSON_CreateObject(), *b = cJSON_CreateArray();
    cJSON_AddStringToObject(o, "token", t.p ? t.p : "");
    cJSON_AddNumberToObject(o, "logprob", logprob);
    for (size_t i = 0; i < len; i++)
        cJSON_AddItemToArray(b, cJSON_CreateNumber((unsigned char)bytes[i]));
    cJSON_AddItemToObject(o, "bytes", b);
    llmri_buf_free(&t);
    return o;
}

/* The log-probabilities of the piece just taken from the stream, for the next delivered. */
static void lp_collect(srv_job *j)
{
    const llmr_token_logprob *lp;
    size_t n = llmr_stream_logprobs(j->st, &lp);
    if (n && !j->lp_pend)
        j->lp_pend = cJSON_CreateArray();
    for (size_t i = 0; i < n && j->lp_pend; i++) {
        cJSON *e = srv_logprob_entry(lp[i].bytes, lp[i].len, lp[i].logprob);
        cJSON *top = cJSON_AddArrayToObject(e, "top_logprobs");
        for (int32_t k = 0; k < lp[i].n_top; k++)
            cJSON_AddItemToArray(top, srv_logprob_entry(lp[i].top[k].bytes, lp[i].top[k].len,
                                                        lp[i].top[k].logprob));
        cJSON_AddItemToArray(j->lp_pend, e);
    }
}

/* Pulls the stream to its end on its own thread. */
static void *pull_main(void *arg)
{
    srv_job *j = arg;
    srv_jobs *s = j->js;
    llmr_piece p;
    int rc;
    bool first = true;
    while ((rc = llmr_stream_next(j->st, &p)) == LLMR_PIECE) {
        if (first) {
            /* failover ends at the first piece: the model that answers is known now */
            char id[160];
            bool named = llmr_router_stream_model(j->owner, j->st, id, sizeof id);
            pthread_mutex_lock(&j->mu);
            if (named)
                memcpy(j->model, id, sizeof id);
            usage_of(j->st, LLMR_OK, &j->u);   /* the prompt's figures, known from here */
            pthread_mutex_unlock(&j->mu);
            first = false;
        }
        if (j->logprobs)
            lp_collect(j);
        piece_out(j, p.reasoning, p.text, p.len);
    }
    char *calls = NULL;
    if (j->tools && llmr_router_stream_tool_calls(j->owner, j->st, j->all.p ? j->all.p : "",
                                                  j->all.len, &calls) != LLMR_OK)
        calls = NULL;
    pthread_mutex_lock(&j->mu);
    j->tool_json = calls;
    usage_of(j->st, rc, &j->u);
    j->state = SRV_JOB_DONE;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    llmr_stream_close(j->st);          /* before the count drops: the router waits for it */
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

/* ---- the list, start ---------------------------------------------------------------- */

srv_jobs *srv_jobs_new(void)
{
    srv_jobs *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    return s;
}

void srv_jobs_cancel_all(srv_jobs *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    for (srv_job *j = s->jobs; j; j = j->next)
        srv_job_cancel(j);
    pthread_mutex_unlock(&s->mu);
}

void srv_jobs_free(srv_jobs *s)
{
    if (!s)
        return;
    srv_jobs_cancel_all(s);
    pthread_mutex_lock(&s->mu);
    s->closing = true;
    while (s->n_threads > 0)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

srv_job *srv_job_start(srv_jobs *s, llmr_router *router, llmr_stream *st, unsigned flags,
                       srv_error *e)
{
    srv_job *j = calloc(1, sizeof *j);
    if (!j) {
        llmr_stream_close(st);
        srv_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
        return NULL;
    }
    j->js = s;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    j->refs = 2;
    j->state = SRV_JOB_QUEUED;
    j->st = st;
    j->owner = router;
    j->tools = flags & SRV_JOB_TOOLS;
    j->logprobs = flags & SRV_JOB_LOGPROBS;
    bool paused = flags & SRV_JOB_PAUSED;
    if (!llmr_router_stream_model(router, st, j->model, sizeof j->model))
        j->model[0] = 0;
    if (paused)
        llmr_stream_pause(st);     /* before the first step: no token is made */
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
    lp_free(t->lp, t->n);
    free(t->text);
    free(t->ends);
    free(t->thought);
    free(t->lp);
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
        if (e)
            t->ends = e;
        bool *th = e ? realloc(t->thought, (size_t)j->n_ends * sizeof *th) : NULL;
        if (th)
            t->thought = th;
        cJSON **lp = th ? realloc(t->lp, (size_t)j->n_ends * sizeof *lp) : NULL;
        if (!lp)
            return false;
        t->lp = lp;
        t->cap_ends = j->n_ends;
    }
    memcpy(t->text, j->out.p, j->out.len);
    t->len = j->out.len;
    t->text[t->len] = 0;
    memcpy(t->ends, j->ends, (size_t)j->n_ends * sizeof *t->ends);
    memcpy(t->thought, j->thought, (size_t)j->n_ends * sizeof *t->thought);
    memcpy(t->lp, j->lp, (size_t)j->n_ends * sizeof *t->lp);   /* moved: t owns them now */
    t->n = j->n_ends;
    llmri_buf_truncate(&j->out, 0);
    j->n_ends = 0;
    return true;
}

srv_job_state srv_job_take(srv_job *j, int timeout_ms, srv_take *t)
{
    lp_free(t->lp, t->n);
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

void srv_job_pause(srv_job *j, bool paused)
{
    if (!j)
        return;
    pthread_mutex_lock(&j->mu);
    if (j->state != SRV_JOB_DONE) {
        if (paused)
            llmr_stream_pause(j->st);
        else
            llmr_stream_resume(j->st);
    }
    pthread_mutex_unlock(&j->mu);
}

const char *srv_job_tool_calls(srv_job *j)
{
    pthread_mutex_lock(&j->mu);
    const char *t = j->state == SRV_JOB_DONE ? j->tool_json : NULL;
    pthread_mutex_unlock(&j->mu);
    return t;
}

void srv_job_model(srv_job *j, char *buf, size_t n)
{
    pthread_mutex_lock(&j->mu);
    snprintf(buf, n, "%s", j->model);
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
