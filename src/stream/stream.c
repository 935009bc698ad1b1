/* stream.c - the generation loop, written once for every source (see source.h).
 *
 * A token's bytes go through three stages before the caller sees them:
 *   UTF-8 assembly (text.h)  ->  stop-sequence scan with hold-back  ->  piece filters.
 * Control (stop, pause, resume) is a mutex-guarded pair of flags with a condition variable the
 * owner thread waits on; it is checked before every token. Retries and fallback sources are
 * only tried before the first piece is delivered, so text is never repeated. */
#include "stream/source.h"
#include "stream/text.h"
#include "core/think.h"
#include "core/util.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SOURCES (1 + LLMR_MAX_FALLBACKS)

/* A token's log-probabilities waiting for the piece its bytes go into: start is where its
 * bytes begin in `pending` (see llmr_stream_logprobs for which piece that is). */
typedef struct lp_pend {
    llmr_token_logprob lp;
    size_t start;
} lp_pend;

/* A span of decided text as the reasoning splitter cut it, waiting to be a piece. */
typedef struct span {
    size_t off, len;           /* in spans_text */
    bool   reasoning;
} span;

struct llmr_stream {
    /* ---- fixed at open ---- */
    llmr_gen_opts  o;                          /* copy; strings point into the fields below */
    char          *prompt;
    char          *stop_copy[LLMR_MAX_STOP];
    char          *grammar, *json_schema;
    llmr_logit_bias *bias;
    llmr_filter    filters[LLMR_MAX_FILTERS];
    llmr_stopset   stops;
    llmr_source   *srcs[MAX_SOURCES];
    size_t         n_srcs;

    /* ---- control: guarded by mu; cv wakes a paused or sleeping owner ---- */
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    bool           stop_req;
    bool           paused;
    bool           finished;                   /* written by the owner under mu */

    /* ---- owner thread only ---- */
    size_t         cur;                        /* source in use */
    bool           active;                     /* cur has begun and not ended */
    int            retries;                    /* retries made on cur */
    llmr_finish    ending;                     /* decided, pending the last piece; NONE: running */
    bool           flushed;                    /* the ending's last text has been taken */
    int            final_rc;                   /* what next() returns once finished */
    llmr_utf8      utf8;
    llmr_buf       pending;                    /* assembled text not yet decided (hold-back) */
    llmr_buf       piece;                      /* the piece handed out last */
    llmr_buf       alt;                        /* a filter's replacement, swapped with piece */
    llmr_buf       text;                       /* everything delivered */
    lp_pend       *lp_pend;                    /* logprobs of tokens not yet in a piece */
    size_t         n_lp_pend, cap_lp_pend;
    llmr_token_logprob *lp_out;                /* taken for the next piece, or shown */
    size_t         n_lp_out, cap_lp_out;
    bool           lp_fresh;                   /* lp_out is taken, not yet shown */
    size_t         n_lp_shown;                 /* lp_out's entries behind the last piece */
    llmri_think    think;                      /* split_reasoning: the splitter ... */
    llmr_buf       spans_text;                 /* ... and the spans it cut, to hand out */
    span          *spans;
    size_t         n_spans, cap_spans, span_head;
    llmr_usage     u;
    size_t         chars;                      /* code points delivered */
    int32_t        last_id;
    int            stop_hit;                   /* the stop sequence that ended it, or -1 */
    double         t_open;
    double         t_call;                     /* when the current next() call began */
    double         paused_s;                   /* time spent paused, all told (owner writes) */
    double         paused_call;                /* paused_s when the current call began */
    llmr_err       err;
};

/* Copies the options so the caller's strings and arrays may go away after open. */
static int copy_opts(llmr_stream *s, const llmr_gen_opts *o, const char *prompt)
{
    s->o = *o;
    s->prompt = llmri_strdup(prompt);
    if (!s->prompt)
        return LLMR_ERR_NOMEM;
    memset(s->o.stop, 0, sizeof s->o.stop);
    for (int i = 0; i < LLMR_MAX_STOP && o->stop[i]; i++) {
        if (!(s->stop_copy[i] = llmri_strdup(o->stop[i])))
            return LLMR_ERR_NOMEM;
        s->o.stop[i] = s->stop_copy[i];
        s->stops.s[i] = s->stop_copy[i];
        s->stops.len[i] = strlen(s->stop_copy[i]);
        s->stops.n = i + 1;
    }
    const llmr_sampling *sp = &o->sampling;
    if ((sp->grammar && !(s->grammar = llmri_strdup(sp->grammar))) ||
        (sp->json_schema && !(s->json_schema = llmri_strdup(sp->json_schema))))
        return LLMR_ERR_NOMEM;
    s->o.sampling.grammar = s->grammar;
    s->o.sampling.json_schema = s->json_schema;
    if (sp->n_logit_bias) {
        if (!(s->bias = malloc(sp->n_logit_bias * sizeof *s->bias)))
            return LLMR_ERR_NOMEM;
        memcpy(s->bias, sp->logit_bias, sp->n_logit_bias * sizeof *s->bias);
    }
    s->o.sampling.logit_bias = s->bias;
    if (o->n_filters)
        memcpy(s->filters, o->filters, o->n_filters * sizeof *o->filters);
    s->o.filters = s->filters;
    s->o.fallbacks = NULL;        /* already turned into sources */
    s->o.n_fallbacks = 0;
    return LLMR_OK;
}

/* ---- control -------------------------------------------------------------------------- */

/* Blocks while paused; returns whether a stop was asked. Called before every token. */
static bool control_wait(llmr_stream *s)
{
    pthread_mutex_lock(&s->mu);
    if (s->paused && !s->stop_req) {
        double t0 = llmri_now();
        while (s->paused && !s->stop_req)
            pthread_cond_wait(&s->cv, &s->mu);
        s->paused_s += llmri_now() - t0;
    }
    bool stop = s->stop_req;
    pthread_mutex_unlock(&s->mu);
    return stop;
}

/* Sleeps ms milliseconds unless a stop comes first (then returns true). */
static bool sleep_unless_stopped(llmr_stream *s, unsigned ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    while (!s->stop_req && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&s->cv, &s->mu, &until);
    bool stop = s->stop_req;
    pthread_mutex_unlock(&s->mu);
    return stop;
}

void llmr_stream_stop(llmr_stream *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop_req = true;
    pthread_cond_broadcast(&s->cv);
    /* The sources are fixed from open to close, and cancel is safe from any thread: a step
     * waiting on a model's engine or a network read wakes now. */
    for (size_t i = 0; i < s->n_srcs; i++)
        if (s->srcs[i]->ops->cancel)
            s->srcs[i]->ops->cancel(s->srcs[i]);
    pthread_mutex_unlock(&s->mu);
}

static int set_paused(llmr_stream *s, bool paused)
{
    if (!s)
        return LLMR_ERR_ARG;
    pthread_mutex_lock(&s->mu);
    int rc = LLMR_OK;
    if (s->finished)
        rc = LLMR_ERR_STATE;
    else {
        s->paused = paused;
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int llmr_stream_pause(llmr_stream *s) { return set_paused(s, true); }
int llmr_stream_resume(llmr_stream *s) { return set_paused(s, false); }

llmr_status llmr_stream_status(llmr_stream *s)
{
    if (!s)
        return LLMR_STATUS_FINISHED;
    pthread_mutex_lock(&s->mu);
    llmr_status st = s->finished ? LLMR_STATUS_FINISHED
                   : s->paused && !s->stop_req ? LLMR_STATUS_PAUSED : LLMR_STATUS_RUNNING;
    for (size_t i = 0; st == LLMR_STATUS_RUNNING && i < s->n_srcs; i++)
        if (s->srcs[i]->ops->queued && s->srcs[i]->ops->queued(s->srcs[i]))
            st = LLMR_STATUS_QUEUED;
    pthread_mutex_unlock(&s->mu);
    return st;
}

/* ---- sources, retries, fallback --------------------------------------------------------- */

static void end_source(llmr_stream *s)
{
    if (s->active) {
        s->srcs[s->cur]->ops->end(s->srcs[s->cur]);
        s->active = false;
    }
}

/* After source cur failed with rc before any piece: decides whether to retry it (retryable
 * code, retries left: sleeps the backoff delay) or to move to the next source (any error but a
 * bad argument). Returns LLMR_OK to try again, or the code to give up with. */
static int recover(llmr_stream *s, int rc)
{
    end_source(s);
    if (rc == LLMR_ERR_ARG || rc == LLMR_ERR_CANCELLED || rc == LLMR_ERR_NOMEM)
        return rc;
    if (llmr_err_retryable(rc) && s->retries < s->o.max_retries) {
        double d = s->o.retry_delay_ms * pow(s->o.backoff, s->retries);
        unsigned ms = d > 600000.0 ? 600000u : (unsigned)d;
        s->retries++;
        s->u.attempts++;
        if (s->o.cb.on_retry)
            s->o.cb.on_retry(s->o.cb.user, s->retries, ms, rc, s->err.msg);
        if (sleep_unless_stopped(s, ms))
            return llmri_err_set(&s->err, LLMR_ERR_CANCELLED, "stopped while waiting to retry");
        return LLMR_OK;
    }
    if (s->cur + 1 < s->n_srcs) {
        s->cur++;
        s->retries = 0;
        s->u.attempts++;
        return LLMR_OK;
    }
    return rc;
}

/* Begins the request on the current source, retrying and falling back as recover() allows. */
static int begin_request(llmr_stream *s)
{
    for (;;) {
        llmr_source *src = s->srcs[s->cur];
        llmri_err_clear(&s->err);
        double t0 = llmri_now();
        int rc = src->ops->begin(src, s->prompt, &s->o, &s->u.prompt_tokens,
                                 &s->u.cached_tokens, &s->err);
        s->u.prompt_s = llmri_now() - t0;
        if (rc == LLMR_OK) {
            s->active = true;
            return LLMR_OK;
        }
        if (!s->err.msg[0])
            llmri_err_set(&s->err, rc, "%s", llmr_strerror(rc));
        src->ops->end(src);        /* a failed begin may hold resources too */
        int again = recover(s, rc);
        if (again != LLMR_OK)
            return again;
    }
}

/* Forgets the partial output of a failed attempt (nothing of it was delivered). */
static void reset_attempt(llmr_stream *s)
{
    memset(&s->utf8, 0, sizeof s->utf8);
    llmri_buf_truncate(&s->pending, 0);
    s->n_lp_pend = 0;
    s->n_spans = s->span_head = 0;
    llmri_buf_truncate(&s->spans_text, 0);
    s->u.generated_tokens = 0;
}

/* ---- open / close ----------------------------------------------------------------------- */

static void destroy_sources(llmr_source **srcs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (srcs[i])
            srcs[i]->ops->destroy(srcs[i]);
}

static int fail_open(llmr_stream *s, int rc)
{
    if (!s->err.msg[0] || s->err.code != rc)
        llmri_err_set(&s->err, rc, "%s", llmr_strerror(rc));
    s->ending = LLMR_FINISH_ERROR;
    s->u.finish = LLMR_FINISH_ERROR;
    s->final_rc = rc;
    pthread_mutex_lock(&s->mu);
    s->finished = true;
    pthread_mutex_unlock(&s->mu);
    if (s->o.cb.on_error)
        s->o.cb.on_error(s->o.cb.user, rc, s->err.msg);
    return rc;
}

static llmr_stream *stream_alloc(void)
{
    llmr_stream *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);   /* sleep_unless_stopped's deadlines */
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    s->t_open = llmri_now();
    s->last_id = -1;
    s->stop_hit = -1;
    s->u.attempts = 1;
    return s;
}

int llmri_stream_open_failed(int rc, const char *msg, const llmr_gen_opts *o, llmr_stream **out)
{
    llmr_stream *s = stream_alloc();
    *out = s;
    if (!s)
        return rc;
    if (o)
        s->o.cb = o->cb;
    llmri_err_set(&s->err, rc, "%s", msg);
    return fail_open(s, rc);
}

int llmri_stream_open_sources(llmr_source **srcs, size_t n_srcs, const char *prompt,
                             const llmr_gen_opts *o, llmr_stream **out)
{
    if (out)
        *out = NULL;
    llmr_gen_opts defaults = llmr_gen_defaults();
    if (!o)
        o = &defaults;
    if (!out || !prompt || n_srcs == 0 || n_srcs > MAX_SOURCES) {
        destroy_sources(srcs, n_srcs);
        return LLMR_ERR_ARG;
    }
    llmr_stream *s = stream_alloc();
    if (!s) {
        destroy_sources(srcs, n_srcs);
        return LLMR_ERR_NOMEM;
    }
    memcpy(s->srcs, srcs, n_srcs * sizeof *srcs);
    s->n_srcs = n_srcs;
    *out = s;

    int rc = llmri_gen_opts_check(o, &s->err);
    if (rc != LLMR_OK) {
        s->o.cb = o->cb;
        return fail_open(s, rc);
    }
    if ((rc = copy_opts(s, o, prompt)) != LLMR_OK)
        return fail_open(s, rc);
    /* Scratch sized once here, so the per-token path does not allocate in the common case. */
    if (!llmri_buf_reserve(&s->pending, 4 * LLMR_MAX_STOP_LEN) ||
        !llmri_buf_reserve(&s->piece, 4 * LLMR_MAX_STOP_LEN) ||
        !llmri_buf_reserve(&s->text, 16384))
        return fail_open(s, LLMR_ERR_NOMEM);
    if (s->o.logprobs) {
        s->cap_lp_pend = s->cap_lp_out = 8;   /* grown only past 8 tokens in one piece */
        s->lp_pend = malloc(s->cap_lp_pend * sizeof *s->lp_pend);
        s->lp_out = malloc(s->cap_lp_out * sizeof *s->lp_out);
        if (!s->lp_pend || !s->lp_out)
            return fail_open(s, LLMR_ERR_NOMEM);
    }
    if (s->o.cb.on_start)
        s->o.cb.on_start(s->o.cb.user, s->prompt);
    if ((rc = begin_request(s)) != LLMR_OK)
        return fail_open(s, rc);
    return LLMR_OK;
}

void llmr_stream_close(llmr_stream *s)
{
    if (!s)
        return;
    end_source(s);
    destroy_sources(s->srcs, s->n_srcs);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->prompt);
    for (int i = 0; i < LLMR_MAX_STOP; i++)
        free(s->stop_copy[i]);
    free(s->grammar);
    free(s->json_schema);
    free(s->bias);
    llmri_buf_free(&s->pending);
    llmri_buf_free(&s->piece);
    llmri_buf_free(&s->alt);
    llmri_buf_free(&s->text);
    free(s->lp_pend);
    free(s->lp_out);
    llmri_buf_free(&s->spans_text);
    free(s->spans);
    free(s);
}

/* ---- the loop ------------------------------------------------------------------------- */

/* A piece is handed out, or dropped: the tokens taken for it are shown with it (once), or
 * dropped with it. */
static void lp_show(llmr_stream *s, bool shown)
{
    s->n_lp_shown = shown && s->lp_fresh ? s->n_lp_out : 0;
    if (!shown)
        s->n_lp_out = 0;
    s->lp_fresh = false;
}

/* Runs the filters over t[0..n) and, if the piece survives, fills *p and returns LLMR_PIECE;
 * LLMR_OK when a filter dropped it (or left it empty); LLMR_ERR_NOMEM. */
static int make_piece(llmr_stream *s, const char *t, size_t n, bool reasoning, llmr_piece *p)
{
    llmri_buf_truncate(&s->piece, 0);
    if (!llmri_buf_append(&s->piece, t, n))
        return llmri_err_set(&s->err, LLMR_ERR_NOMEM, "out of memory for a piece");
    const char *cur = s->piece.p;
    size_t len = n;
    for (size_t i = 0; i < s->o.n_filters; i++) {
        size_t out_len = len;
        const char *r = s->filters[i].fn(s->filters[i].user, cur, len, &out_len);
        if (!r) {
            lp_show(s, false);            /* the piece's tokens go with it */
            return LLMR_OK;
        }
        if (r != cur) {
            /* The replacement is the filter's; copy it so the piece lives until the next call
             * on the stream whatever the filter does meanwhile. */
            llmri_buf_truncate(&s->alt, 0);
            if (!llmri_buf_append(&s->alt, r, out_len))
                return llmri_err_set(&s->err, LLMR_ERR_NOMEM, "out of memory for a piece");
            llmr_buf tmp = s->piece;
            s->piece = s->alt;
            s->alt = tmp;
            cur = s->piece.p;
            len = out_len;
        }
    }
    if (len == 0) {
        lp_show(s, false);
        return LLMR_OK;
    }
    if (!llmri_buf_append(&s->text, cur, len))
        return llmri_err_set(&s->err, LLMR_ERR_NOMEM, "out of memory for the text");
    s->chars += llmri_utf8_count(cur, len);
    p->text = cur;
    p->len = len;
    p->index = s->u.pieces++;
    p->n_tokens = s->u.generated_tokens;
    p->token = s->last_id;
    p->elapsed = llmri_now() - s->t_open;
    p->reasoning = reasoning;
    s->u.text_bytes = s->text.len;
    lp_show(s, true);
    return LLMR_PIECE;
}

/* ---- reasoning apart from the answer (split_reasoning) ---------------------------------- */

static void span_out(void *user, bool reasoning, const char *text, size_t len)
{
    llmr_stream *s = user;
    if (s->n_spans == s->cap_spans) {
        size_t nc = s->cap_spans ? 2 * s->cap_spans : 4;
        span *sp = realloc(s->spans, nc * sizeof *sp);
        if (!sp)
            return;                   /* out of memory: the span is lost, not the stream */
        s->spans = sp;
        s->cap_spans = nc;
    }
    size_t off = s->spans_text.len;
    if (llmri_buf_append(&s->spans_text, text, len))
        s->spans[s->n_spans++] = (span){off, len, reasoning};
}

/* The next queued span as a piece: LLMR_PIECE, or LLMR_OK when none is left (filters may
 * drop some), or an error. */
static int pop_span(llmr_stream *s, llmr_piece *p)
{
    while (s->span_head < s->n_spans) {
        span sp = s->spans[s->span_head++];
        int rc = make_piece(s, s->spans_text.p + sp.off, sp.len, sp.reasoning, p);
        if (rc != LLMR_OK)
            return rc;
    }
    s->n_spans = s->span_head = 0;
    llmri_buf_truncate(&s->spans_text, 0);
    return LLMR_OK;
}

/* Decided text t[0..n) to the caller: a piece, or with split_reasoning the spans the splitter
 * cuts from it (the first now, the others on the next calls); last: the end of the text. */
static int emit_text(llmr_stream *s, const char *t, size_t n, bool last, llmr_piece *p)
{
    if (!s->o.split_reasoning)
        return n ? make_piece(s, t, n, false, p) : LLMR_OK;
    llmri_think_feed(&s->think, t, n, span_out, s);
    if (last)
        llmri_think_flush(&s->think, span_out, s);
    return pop_span(s, p);
}

/* Generation time so far: time inside next() calls, pauses excluded (the caller's time
 * between calls is not the engine's). */
static double gen_time(const llmr_stream *s)
{
    return s->u.gen_s + (llmri_now() - s->t_call) - (s->paused_s - s->paused_call);
}

static void report_progress(llmr_stream *s)
{
    uint32_t every = s->o.progress_every;
    if (!s->o.cb.on_progress || every == 0 || s->u.generated_tokens % every != 0)
        return;
    llmr_progress pr;
    pr.tokens = s->u.generated_tokens;
    pr.max_tokens = (uint32_t)s->o.max_tokens;
    pr.elapsed = llmri_now() - s->t_open;
    double gen_s = gen_time(s);
    pr.tokens_per_s = gen_s > 0 ? pr.tokens / gen_s : 0;
    pr.chars_per_s = pr.elapsed > 0 ? (double)s->chars / pr.elapsed : 0;
    pr.eta_s = pr.max_tokens && pr.tokens_per_s > 0
                   ? (pr.max_tokens - pr.tokens) / pr.tokens_per_s : -1;
    s->o.cb.on_progress(s->o.cb.user, &pr);
}

/* ---- log-probabilities: which tokens a piece carries ----------------------------------- */

/* Holds token tok's log-probabilities until its bytes (from `start` in pending) are in a
 * piece. False when out of memory. */
static bool lp_hold(llmr_stream *s, const llmr_src_token *tok, size_t start)
{
    if (!s->o.logprobs || !tok->lp)
        return true;
    if (s->n_lp_pend == s->cap_lp_pend) {
        lp_pend *p = realloc(s->lp_pend, 2 * s->cap_lp_pend * sizeof *p);
        if (!p)
            return false;
        s->lp_pend = p;
        s->cap_lp_pend *= 2;
    }
    s->lp_pend[s->n_lp_pend++] = (lp_pend){*tok->lp, start};
    return true;
}

/* The text about to be handed out is pending[0..cut): the held tokens that begin inside it
 * go to lp_out for the next piece, the others stay, their offsets moved down by cut. */
static bool lp_take(llmr_stream *s, size_t cut)
{
    if (!s->lp_fresh)
        s->n_lp_out = 0;          /* else text taken before made no piece yet: add to it */
    s->lp_fresh = true;
    size_t keep = 0;
    for (size_t i = 0; i < s->n_lp_pend; i++) {
        lp_pend *e = &s->lp_pend[i];
        if (e->start >= cut) {
            e->start -= cut;
            s->lp_pend[keep++] = *e;
            continue;
        }
        if (s->n_lp_out == s->cap_lp_out) {
            llmr_token_logprob *o = realloc(s->lp_out, 2 * s->cap_lp_out * sizeof *o);
            if (!o)
                return false;
            s->lp_out = o;
            s->cap_lp_out *= 2;
        }
        s->lp_out[s->n_lp_out++] = e->lp;
    }
    s->n_lp_pend = keep;
    return true;
}

/* A stop sequence begins at cut: tokens from there on are in no piece. */
static void lp_cut(llmr_stream *s, size_t cut)
{
    size_t keep = 0;
    for (size_t i = 0; i < s->n_lp_pend; i++)
        if (s->lp_pend[i].start < cut)
            s->lp_pend[keep++] = s->lp_pend[i];
    s->n_lp_pend = keep;
}

size_t llmr_stream_logprobs(llmr_stream *s, const llmr_token_logprob **out)
{
    size_t n = s && s->o.logprobs ? s->n_lp_shown : 0;
    if (out)
        *out = n ? s->lp_out : NULL;
    return n;
}

/* The end has been decided: hands out what is left of the text (once), then LLMR_DONE. A stop
 * sequence hit already cut `pending` at its start; a cancel drops what was held back. */
static int finish_text(llmr_stream *s, llmr_piece *p)
{
    if (s->flushed)
        return LLMR_DONE;
    s->flushed = true;
    if (s->ending == LLMR_FINISH_CANCELLED)
        return LLMR_DONE;
    if (!llmri_utf8_flush(&s->utf8, &s->pending))
        return llmri_err_set(&s->err, LLMR_ERR_NOMEM, "out of memory");
    if (!lp_take(s, s->pending.len))
        return llmri_err_set(&s->err, LLMR_ERR_NOMEM, "out of memory");
    int rc = emit_text(s, s->pending.p, s->pending.len, true, p);
    return rc == LLMR_OK ? LLMR_DONE : rc;
}

/* One token through UTF-8 assembly and the stop scan; fills *p and returns LLMR_PIECE when a
 * piece is ready, LLMR_OK when not (yet), or an error. Sets s->ending on a stop-sequence hit. */
static int take_token(llmr_stream *s, const llmr_src_token *tok, llmr_piece *p)
{
    size_t before = s->pending.len;
    if (!llmri_utf8_feed(&s->utf8, tok->bytes, tok->len, &s->pending) ||
        !lp_hold(s, tok, before))
        return llmri_err_set(&s->err, LLMR_ERR_NOMEM, "out of memory");
    if (s->pending.len == before)
        return LLMR_OK;
    bool hit;
    size_t cut = llmri_stop_scan(&s->stops, s->pending.p, s->pending.len, &hit);
    if (hit) {
        /* which stop it was: one that the text holds at cut (the first listed, when a stop
         * and its own prefix both match there) */
        for (int i = 0; i < s->stops.n && s->stop_hit < 0; i++)
            if (s->pending.len - cut >= s->stops.len[i] &&
                !memcmp(s->pending.p + cut, s->stops.s[i], s->stops.len[i]))
                s->stop_hit = i;
        llmri_buf_truncate(&s->pending, cut);
        lp_cut(s, cut);
        memset(&s->utf8, 0, sizeof s->utf8);   /* bytes after the stop are never delivered */
        s->ending = LLMR_FINISH_STOP;
        return LLMR_OK;
    }
    if (cut == 0)
        return LLMR_OK;
    if (!lp_take(s, cut))
        return llmri_err_set(&s->err, LLMR_ERR_NOMEM, "out of memory");
    int rc = emit_text(s, s->pending.p, cut, false, p);
    llmri_buf_consume(&s->pending, cut);
    return rc;
}

/* The attempt's first token has come. A source that evaluates its prompt after begin (the
 * local engine: queued, then batched) reports its prompt figures now; the time this call spent
 * before the token (waiting for a slot, evaluating the prompt) is not generation time. */
static void first_token(llmr_stream *s, llmr_source *src)
{
    if (src->ops->prompt_info)
        src->ops->prompt_info(src, &s->u.cached_tokens, &s->u.prompt_s);
    if (s->o.split_reasoning)
        llmri_think_init(&s->think, src->ops->think_open ? src->ops->think_open(src)
                                                         : llmri_think_opens(s->prompt));
    s->t_call = llmri_now();
    s->paused_call = s->paused_s;
}

/* Steps the source until a piece is ready or the stream ends. */
static int produce(llmr_stream *s, llmr_piece *p)
{
    for (;;) {
        if (s->ending == LLMR_FINISH_CANCELLED)
            s->n_spans = s->span_head = 0;     /* a stop drops what was not handed out */
        int rc = pop_span(s, p);               /* spans cut from text decided before */
        if (rc != LLMR_OK)
            return rc;
        if (s->ending != LLMR_FINISH_NONE)
            return finish_text(s, p);
        if (control_wait(s)) {
            s->ending = LLMR_FINISH_CANCELLED;
            continue;
        }
        if (s->o.max_tokens && s->u.generated_tokens >= (uint32_t)s->o.max_tokens) {
            s->ending = LLMR_FINISH_LENGTH;
            continue;
        }
        llmr_src_token tok = {0};
        llmr_source *src = s->srcs[s->cur];
        rc = src->ops->step(src, &tok, &s->err);
        if (rc == LLMR_ERR_CONTEXT) {
            s->ending = LLMR_FINISH_LENGTH;   /* the context is full: as llama.cpp, a length end */
            continue;
        }
        if (rc == LLMR_ERR_CANCELLED && control_wait(s)) {
            s->ending = LLMR_FINISH_CANCELLED;   /* llmr_stream_stop woke a waiting step */
            continue;
        }
        if (rc != LLMR_OK) {
            if (!s->err.msg[0] || s->err.code != rc)
                llmri_err_set(&s->err, rc, "%s: %s", src->name, llmr_strerror(rc));
            if (s->u.pieces > 0)
                return rc;
            /* recover() answers LLMR_OK (try again), LLMR_ERR_CANCELLED (stopped while
             * waiting to retry) or rc (give up); so does begin_request() for the new try. */
            rc = recover(s, rc);
            if (rc == LLMR_OK) {
                reset_attempt(s);
                rc = begin_request(s);
            }
            if (rc == LLMR_ERR_CANCELLED) {
                s->ending = LLMR_FINISH_CANCELLED;
                continue;
            }
            if (rc != LLMR_OK)
                return rc;
            continue;
        }
        if (s->u.generated_tokens++ == 0)
            first_token(s, src);
        s->last_id = tok.id;
        /* Pause or stop may have come during the step: hold its token while paused, so no
         * piece is delivered then, and drop it on a stop. */
        if (control_wait(s)) {
            s->ending = LLMR_FINISH_CANCELLED;
            continue;
        }
        report_progress(s);
        if (tok.last || (tok.eog && !s->o.ignore_eos)) {
            s->ending = LLMR_FINISH_STOP;
            continue;
        }
        if ((rc = take_token(s, &tok, p)) != LLMR_OK)
            return rc;
    }
}

static void mark_finished(llmr_stream *s, llmr_finish f, int rc)
{
    s->ending = f;
    s->u.finish = f;
    s->final_rc = rc;
    s->u.total_s = llmri_now() - s->t_open;
    s->u.prompt_tps = s->u.prompt_s > 0
                          ? (s->u.prompt_tokens - s->u.cached_tokens) / s->u.prompt_s : 0;
    s->u.gen_tps = s->u.gen_s > 0 ? s->u.generated_tokens / s->u.gen_s : 0;
    end_source(s);
    pthread_mutex_lock(&s->mu);
    s->finished = true;
    s->paused = false;
    pthread_mutex_unlock(&s->mu);
}

int llmr_stream_next(llmr_stream *s, llmr_piece *p)
{
    if (!s || !p)
        return LLMR_ERR_ARG;
    if (s->final_rc)
        return s->final_rc;
    s->t_call = llmri_now();
    s->paused_call = s->paused_s;
    int rc = produce(s, p);
    s->u.gen_s = gen_time(s);
    if (rc == LLMR_PIECE) {
        if (p->index == 0)
            s->u.ttft_s = p->elapsed;
        if (s->o.cb.on_token)
            s->o.cb.on_token(s->o.cb.user, p);
        return rc;
    }
    if (rc == LLMR_DONE) {
        mark_finished(s, s->ending, LLMR_DONE);
        if (s->o.cb.on_complete) {
            llmr_result r = {s->text.p ? s->text.p : "", s->text.len, s->u};
            s->o.cb.on_complete(s->o.cb.user, &r);
        }
        return rc;
    }
    mark_finished(s, LLMR_FINISH_ERROR, rc);
    if (s->o.cb.on_error)
        s->o.cb.on_error(s->o.cb.user, rc, s->err.msg);
    return rc;
}

/* ---- accessors ---------------------------------------------------------------------------- */

llmr_finish llmr_stream_finish_reason(llmr_stream *s) { return s ? s->u.finish : LLMR_FINISH_NONE; }

void llmr_stream_usage(llmr_stream *s, llmr_usage *u)
{
    if (!u)
        return;
    if (s)
        *u = s->u;
    else
        memset(u, 0, sizeof *u);
}

const char *llmr_stream_text(llmr_stream *s, size_t *len)
{
    if (len)
        *len = s && s->text.p ? s->text.len : 0;
    return s && s->text.p ? s->text.p : "";
}

const char *llmr_stream_stop_sequence(const llmr_stream *s)
{
    return s && s->stop_hit >= 0 ? s->o.stop[s->stop_hit] : NULL;
}

const char *llmr_stream_errmsg(const llmr_stream *s)
{
    return s ? s->err.msg : "no stream (out of memory or a NULL argument)";
}
