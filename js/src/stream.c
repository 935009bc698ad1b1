/* stream.c - streams for JavaScript: each is pulled with llmr_stream_next() on a worker thread
 * of this addon, and its events (the serving model, start, every piece, progress, retries,
 * the end) reach JavaScript through a thread-safe function of its own, in order.
 *
 * The worker pulls as fast as the library generates, whether or not JavaScript takes the
 * pieces yet: a stream whose consumer is slow must not hold its KV slot (and so every stream
 * queued behind it) hostage. llmr_stream_pause() is what holds a stream still.
 *
 * Lifetimes. A jstream is referenced by the JavaScript stream object (napi_wrap; its finalizer
 * runs when the object is garbage collected, and stops the stream) and by its thread-safe
 * function (released by the worker when the stream has closed; its finalizer runs on the
 * JavaScript thread). Both drop their reference on the JavaScript thread; the last frees it.
 * The JavaScript object itself is only weakly referenced, so an abandoned stream can be
 * collected. */
#include "addon.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORKERS 256             /* threads pulling streams; more streams wait in the queue.
                                       A paused stream keeps its thread, so this is large */
#define WORKER_STACK (8u << 20)     /* a chat template render may recurse deeply */

js_router *js_router_take(napi_env env, napi_value v);

typedef struct pool pool;

typedef struct jstream {
    pool           *pool;
    js_router      *jr;                /* one reference, released after the stream closes */
    char           *prompt;            /* a completion's prompt, or NULL for a conversation: */
    llmr_chat_msg  *msgs;              /* its messages (strings owned), for llmr_router_chat_open */
    size_t          n_msgs;
    js_opts         opts;
    napi_threadsafe_function tsfn;
    char            model[160];        /* worker thread only */
    /* JavaScript thread only */
    napi_ref        self;              /* weak: the JavaScript stream object */
    int             js_refs;
    /* guarded by mu: the stream handle, for the control calls of the JavaScript thread */
    pthread_mutex_t mu;
    llmr_stream    *s;
    bool            stop_req, pause_req, finished;
    /* guarded by pool->mu */
    struct jstream *next_q;            /* waiting for a worker */
    struct jstream *prev_l, *next_l;   /* every stream not yet finished */
} jstream;

struct pool {
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    jstream        *q_head, *q_tail;   /* FIFO of streams waiting for a worker */
    jstream        *live;              /* queued or running */
    pthread_t       threads[MAX_WORKERS];
    int             n_threads, n_idle;
    int             n_queued;          /* streams in the FIFO */
    bool            shutdown;
    napi_env        env;
};

/* ---- events ------------------------------------------------------------------------------ */

enum { EV_MODEL, EV_START, EV_TOKEN, EV_PROGRESS, EV_RETRY, EV_END, EV_LOGPROBS };

typedef struct ev {
    int    kind;
    int    code;          /* EV_END: 0 or the error; EV_RETRY: the failure's code */
    char  *text;          /* the piece, model id, or message */
    double d[14];
} ev;

/* Queues an event (worker thread). Never blocks: the queue has no bound, and its length is
 * bounded by the pieces a stream makes. */
static void post(jstream *js, int kind, int code, const char *text, size_t len, const double *d,
                 size_t nd)
{
    ev *e = calloc(1, sizeof *e);
    if (!e)
        return;
    e->kind = kind;
    e->code = code;
    if (text && !(e->text = malloc(len + 1))) {
        free(e);
        return;
    }
    if (text) {
        memcpy(e->text, text, len);
        e->text[len] = 0;
    }
    if (nd)
        memcpy(e->d, d, nd * sizeof *d);
    if (napi_call_threadsafe_function(js->tsfn, e, napi_tsfn_nonblocking) != napi_ok) {
        free(e->text);
        free(e);
    }
}

static void set_num(napi_env env, napi_value o, const char *k, double v)
{
    napi_value n;
    napi_create_double(env, v, &n);
    napi_set_named_property(env, o, k, n);
}

static void set_str(napi_env env, napi_value o, const char *k, const char *v)
{
    napi_value s;
    if (v)
        napi_create_string_utf8(env, v, NAPI_AUTO_LENGTH, &s);
    else
        napi_get_null(env, &s);
    napi_set_named_property(env, o, k, s);
}

static napi_value event_object(napi_env env, const ev *e)
{
    static const char *const progress[] = {"tokens", "maxTokens", "elapsed", "tokensPerSecond",
                                           "charactersPerSecond", "etaSeconds", NULL};
    static const char *const retry[] = {"attempt", "delayMs", NULL};
    static const char *const usage[] = {"promptTokens", "cachedTokens", "generatedTokens",
                                        "pieces", "textBytes", "promptSeconds", "genSeconds",
                                        "ttftSeconds", "totalSeconds", "promptTokensPerSecond",
                                        "tokensPerSecond", "attempts", NULL};
    const char *const *keys = e->kind == EV_PROGRESS ? progress
                              : e->kind == EV_RETRY  ? retry
                                                     : usage;
    napi_value o;
    napi_create_object(env, &o);
    for (size_t i = 0; keys[i]; i++)
        set_num(env, o, keys[i], e->d[i]);
    if (e->kind == EV_END) {
        set_str(env, o, "finishReason", llmr_finish_name((llmr_finish)e->d[12]));
        set_num(env, o, "code", e->code);
    }
    if (e->kind == EV_END || e->kind == EV_RETRY) {
        char code[64] = "";
        if (e->code)
            js_code_name(e->code, code, sizeof code);
        set_str(env, o, "errorCode", e->code ? code : NULL);
    }
    return o;
}

static void jstream_unref(napi_env env, jstream *js)
{
    if (--js->js_refs > 0)
        return;
    if (js->self)
        napi_delete_reference(env, js->self);
    js_opts_free(&js->opts);
    free(js->prompt);
    for (size_t i = 0; i < js->n_msgs; i++) {
        free((char *)js->msgs[i].role);
        free((char *)js->msgs[i].content);
    }
    free(js->msgs);
    pthread_mutex_destroy(&js->mu);
    free(js);
}

/* On the JavaScript thread: dispatch(target, kind, text, a, b, c, d). */
static void call_js(napi_env env, napi_value fn, void *ctx, void *data)
{
    jstream *js = ctx;
    ev *e = data;
    napi_value target = NULL;
    if (env && js->self)
        napi_get_reference_value(env, js->self, &target);
    if (target) {
        napi_value argv[8], undef;
        napi_get_undefined(env, &undef);
        napi_create_int32(env, e->kind, &argv[1]);
        argv[0] = target;
        if (e->text)
            napi_create_string_utf8(env, e->text, NAPI_AUTO_LENGTH, &argv[2]);
        else
            napi_get_null(env, &argv[2]);
        size_t argc = 3;
        if (e->kind == EV_TOKEN) {
            for (int i = 0; i < 5; i++)
                napi_create_double(env, e->d[i], &argv[argc++]);
        } else if (e->kind != EV_MODEL && e->kind != EV_START && e->kind != EV_LOGPROBS) {
            argv[argc++] = event_object(env, e);
        }
        napi_value ret;
        if (napi_call_function(env, undef, fn, argc, argv, &ret) == napi_pending_exception) {
            /* an exception in a listener is the program's, as for any event emitter */
            napi_value exc;
            napi_get_and_clear_last_exception(env, &exc);
            napi_fatal_exception(env, exc);
        }
    }
    free(e->text);
    free(e);
}

static void tsfn_finalize(napi_env env, void *data, void *hint)
{
    jstream_unref(env, hint);
}

/* ---- the library's callbacks (worker thread, inside llmr_stream_next) -------------------- */

static void on_start(void *user, const char *prompt)
{
    post(user, EV_START, 0, NULL, 0, NULL, 0);
}

static void on_progress(void *user, const llmr_progress *p)
{
    double d[6] = {p->tokens, p->max_tokens, p->elapsed, p->tokens_per_s, p->chars_per_s,
                   p->eta_s};
    post(user, EV_PROGRESS, 0, NULL, 0, d, 6);
}

static void on_retry(void *user, int attempt, unsigned delay_ms, int code, const char *msg)
{
    double d[2] = {attempt, delay_ms};
    post(user, EV_RETRY, code, msg, strlen(msg), d, 2);
}

/* ---- the worker -------------------------------------------------------------------------- */

static void post_model(jstream *js, llmr_stream *s)
{
    char id[sizeof js->model];
    if (llmr_router_stream_model(js->jr->r, s, id, sizeof id) && strcmp(id, js->model)) {
        snprintf(js->model, sizeof js->model, "%s", id);
        post(js, EV_MODEL, 0, id, strlen(id), NULL, 0);
    }
}

/* Closes s (freeing its slot in the model) before the end event goes out, so that a stream's
 * end seen from JavaScript means its slot is free again: a stream opened after `await
 * s.result()` never waits for the slot s held. msg may point into s: it is copied first. */
static void post_end(jstream *js, llmr_stream *s, int rc, const char *msg)
{
    llmr_usage u;
    memset(&u, 0, sizeof u);
    if (s)
        llmr_stream_usage(s, &u);
    char *msg_copy = strdup(msg ? msg : "");
    pthread_mutex_lock(&js->mu);
    js->s = NULL;
    js->finished = true;
    pthread_mutex_unlock(&js->mu);
    llmr_stream_close(s);
    msg = msg_copy ? msg_copy : "out of memory";
    if (rc == LLMR_OK || rc == LLMR_DONE)
        rc = 0;
    if (rc == LLMR_ERR_CANCELLED) {   /* stopped before it opened: a cancel, not an error */
        rc = 0;
        u.finish = LLMR_FINISH_CANCELLED;
    }
    double d[13] = {u.prompt_tokens, u.cached_tokens, u.generated_tokens, u.pieces,
                    (double)u.text_bytes, u.prompt_s, u.gen_s, u.ttft_s, u.total_s,
                    u.prompt_tps, u.gen_tps, u.attempts, rc ? LLMR_FINISH_ERROR : u.finish};
    post(js, EV_END, rc, rc ? msg : NULL, rc ? strlen(msg) : 0, d, 13);
    free(msg_copy);
}

/* A growing string for post_logprobs; on failure it stays NULL and nothing is posted. */
typedef struct { char *p; size_t len, cap; } jbuf;

static void jb_printf(jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jb_printf(jbuf *b, const char *fmt, ...)
{
    if (!b->p && b->cap)
        return;                                    /* an earlier allocation failed */
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap ? b->cap : 256) * 2 + (size_t)n;
        char *q = realloc(b->p, cap);
        if (!q) {
            free(b->p);
            b->p = NULL;
            b->cap = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
}

static void jb_bytes(jbuf *b, const char *bytes, size_t len)
{
    jb_printf(b, "[");
    for (size_t i = 0; i < len; i++)
        jb_printf(b, "%s%u", i ? "," : "", (unsigned)(unsigned char)bytes[i]);
    jb_printf(b, "]");
}

/* The log-probabilities of the tokens behind the piece just read, as JSON made of numbers
 * only (a token's bytes may be part of a UTF-8 character, so they go as byte arrays and the
 * JavaScript side decodes them): posted just before the piece's token event. */
static void post_logprobs(jstream *js, llmr_stream *s)
{
    const llmr_token_logprob *lp = NULL;
    size_t n = llmr_stream_logprobs(s, &lp);
    jbuf b = {0};
    jb_printf(&b, "[");
    for (size_t i = 0; i < n; i++) {
        jb_printf(&b, "%s{\"id\":%d,\"logprob\":%.9g,\"bytes\":", i ? "," : "", (int)lp[i].token,
                  (double)lp[i].logprob);
        jb_bytes(&b, lp[i].bytes, lp[i].len);
        jb_printf(&b, ",\"top\":[");
        for (int k = 0; k < lp[i].n_top && k < LLMR_MAX_TOP_LOGPROBS; k++) {
            jb_printf(&b, "%s{\"id\":%d,\"logprob\":%.9g,\"bytes\":", k ? "," : "",
                      (int)lp[i].top[k].token, (double)lp[i].top[k].logprob);
            jb_bytes(&b, lp[i].top[k].bytes, lp[i].top[k].len);
            jb_printf(&b, "}");
        }
        jb_printf(&b, "]}");
    }
    jb_printf(&b, "]");
    if (b.p)
        post(js, EV_LOGPROBS, 0, b.p, b.len, NULL, 0);
    free(b.p);
}

static void run(jstream *js)
{
    llmr_stream *s = NULL;
    llmr_piece p;
    int rc = LLMR_ERR_CANCELLED;
    const char *msg = "";
    pthread_mutex_lock(&js->mu);
    bool stop = js->stop_req;
    pthread_mutex_unlock(&js->mu);
    if (!stop) {
        llmr_callbacks cb = {.user = js, .on_start = on_start, .on_progress = on_progress,
                             .on_retry = on_retry};
        js->opts.go.cb = cb;
        rc = js->prompt ? llmr_router_stream_open(js->jr->r, js->prompt, &js->opts.ro,
                                                  &js->opts.go, &s)
                        : llmr_router_chat_open(js->jr->r, js->msgs, js->n_msgs, &js->opts.ro,
                                                &js->opts.go, &s);
        if (rc) {
            msg = s && *llmr_stream_errmsg(s) ? llmr_stream_errmsg(s)
                                              : llmr_router_errmsg(js->jr->r);
        } else {
            pthread_mutex_lock(&js->mu);
            js->s = s;
            if (js->stop_req)
                llmr_router_stream_stop(js->jr->r, s);
            else if (js->pause_req)
                llmr_stream_pause(s);
            pthread_mutex_unlock(&js->mu);
            post_model(js, s);
            bool first = true;
            while ((rc = llmr_stream_next(s, &p)) == LLMR_PIECE) {
                if (first)
                    post_model(js, s);   /* failover happens before the first piece only */
                first = false;
                if (js->opts.go.logprobs)
                    post_logprobs(js, s);
                double d[5] = {p.index, p.n_tokens, p.token, p.elapsed, p.reasoning};
                post(js, EV_TOKEN, 0, p.text, p.len, d, 5);
            }
            if (rc != LLMR_DONE)
                msg = llmr_stream_errmsg(s);
        }
    }
    post_end(js, s, rc, msg);
    js_router_release(js->jr);
    js->jr = NULL;
}

static void unlink_live(pool *pl, jstream *js)
{
    if (js->prev_l)
        js->prev_l->next_l = js->next_l;
    else
        pl->live = js->next_l;
    if (js->next_l)
        js->next_l->prev_l = js->prev_l;
}

static void *worker(void *arg)
{
    pool *pl = arg;
    pthread_mutex_lock(&pl->mu);
    for (;;) {
        while (!pl->q_head && !pl->shutdown) {
            pl->n_idle++;
            pthread_cond_wait(&pl->cv, &pl->mu);
            pl->n_idle--;
        }
        jstream *js = pl->q_head;
        if (!js)
            break;                         /* shutdown with nothing left to finish */
        pl->q_head = js->next_q;
        pl->n_queued--;
        if (!pl->q_head)
            pl->q_tail = NULL;
        pthread_mutex_unlock(&pl->mu);
        run(js);
        pthread_mutex_lock(&pl->mu);
        unlink_live(pl, js);
        /* the release lets the JavaScript thread free js: it must be off the live list */
        napi_release_threadsafe_function(js->tsfn, napi_tsfn_release);
    }
    pthread_mutex_unlock(&pl->mu);
    return NULL;
}

/* Hands js to a worker, starting one when none is idle (pool->mu held). */
static int enqueue(pool *pl, jstream *js)
{
    if (pl->shutdown)
        return LLMR_ERR_STATE;
    /* an idle worker may already be promised to a stream queued before this one */
    if (pl->n_idle <= pl->n_queued && pl->n_threads < MAX_WORKERS) {
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setstacksize(&at, WORKER_STACK);
        int rc = pthread_create(&pl->threads[pl->n_threads], &at, worker, pl);
        pthread_attr_destroy(&at);
        if (rc == 0)
            pl->n_threads++;
        else if (pl->n_threads == 0)
            return LLMR_ERR_NOMEM;
    }
    js->next_q = NULL;
    if (pl->q_tail)
        pl->q_tail->next_q = js;
    else
        pl->q_head = js;
    pl->q_tail = js;
    pl->n_queued++;
    js->prev_l = NULL;
    js->next_l = pl->live;
    if (pl->live)
        pl->live->prev_l = js;
    pl->live = js;
    pthread_cond_signal(&pl->cv);
    return LLMR_OK;
}

/* ---- control ----------------------------------------------------------------------------- */

static void request_stop(jstream *js)
{
    pthread_mutex_lock(&js->mu);
    js->stop_req = true;
    if (js->s)
        llmr_router_stream_stop(js->jr->r, js->s);
    pthread_mutex_unlock(&js->mu);
}

/* Process or worker-thread exit: stop every stream, let the workers finish them, join. */
static void pool_shutdown(void *arg)
{
    pool *pl = arg;
    pthread_mutex_lock(&pl->mu);
    pl->shutdown = true;
    for (jstream *js = pl->live; js; js = js->next_l)
        request_stop(js);
    pthread_cond_broadcast(&pl->cv);
    int n = pl->n_threads;
    pl->n_threads = 0;
    pthread_mutex_unlock(&pl->mu);
    for (int i = 0; i < n; i++)
        pthread_join(pl->threads[i], NULL);
}

static void pool_free(napi_env env, void *data, void *hint)
{
    pool *pl = data;
    pthread_mutex_destroy(&pl->mu);
    pthread_cond_destroy(&pl->cv);
    free(pl);
}

int js_pool_init(napi_env env)
{
    pool *pl = calloc(1, sizeof *pl);
    if (!pl)
        return -1;
    pthread_mutex_init(&pl->mu, NULL);
    pthread_cond_init(&pl->cv, NULL);
    pl->env = env;
    napi_set_instance_data(env, pl, pool_free, NULL);
    napi_add_env_cleanup_hook(env, pool_shutdown, pl);
    return 0;
}

static void self_finalize(napi_env env, void *data, void *hint)
{
    jstream *js = data;
    request_stop(js);   /* garbage: nobody can read its pieces, so free its slot now */
    if (js->self) {
        napi_delete_reference(env, js->self);
        js->self = NULL;
    }
    jstream_unref(env, js);
}

/* A conversation: an array of {role, content} (content a string, null or undefined). */
static bool read_messages(napi_env env, napi_value arr, jstream *js)
{
    uint32_t n = 0;
    napi_get_array_length(env, arr, &n);
    if (n == 0 || n > 100000)
        return js_throw(env, "LLMR_ERR_ARG", "messages: expected 1..100000 messages"), false;
    if (!(js->msgs = calloc(n, sizeof *js->msgs)))
        return js_throw(env, "LLMR_ERR_NOMEM", "messages: out of memory"), false;
    for (uint32_t i = 0; i < n; i++) {
        napi_value m, role, content;
        napi_valuetype t = napi_undefined;
        napi_get_element(env, arr, i, &m);
        napi_typeof(env, m, &t);
        if (t != napi_object)
            return js_throw(env, "LLMR_ERR_ARG", "messages[%u]: expected {role, content}", i), false;
        js->n_msgs = i + 1;
        napi_get_named_property(env, m, "role", &role);
        napi_get_named_property(env, m, "content", &content);
        if (!(js->msgs[i].role = js_string(env, role, "messages[].role")))
            return false;
        napi_typeof(env, content, &t);
        if (t != napi_null && t != napi_undefined &&
            !(js->msgs[i].content = js_string(env, content, "messages[].content")))
            return false;
    }
    return true;
}

/* streamOpen(router, self, dispatch, prompt or messages, genOpts, routeOpts): starts a stream
 * whose events go to dispatch(self, kind, ...). Options are checked here, so a bad one throws
 * at once. */
napi_value js_stream_open(napi_env env, napi_callback_info info)
{
    napi_value a[6], name;
    size_t argc = 6;
    napi_get_cb_info(env, info, &argc, a, NULL, NULL);
    if (argc < 6)
        return js_throw(env, "LLMR_ERR_ARG", "streamOpen: 6 arguments expected");
    pool *pl = NULL;
    napi_get_instance_data(env, (void **)&pl);
    jstream *js = calloc(1, sizeof *js);
    if (!js)
        return js_throw(env, "LLMR_ERR_NOMEM", "out of memory");
    pthread_mutex_init(&js->mu, NULL);
    js->pool = pl;
    js->js_refs = 1;
    bool is_chat = false;
    napi_is_array(env, a[3], &is_chat);
    if (!(is_chat ? read_messages(env, a[3], js) : !!(js->prompt = js_string(env, a[3], "prompt"))) ||
        !js_opts_read(env, a[4], a[5], &js->opts) ||
        !(js->jr = js_router_take(env, a[0]))) {
        jstream_unref(env, js);
        return NULL;
    }
    napi_create_string_utf8(env, "llmr stream", NAPI_AUTO_LENGTH, &name);
    if (napi_create_threadsafe_function(env, a[2], NULL, name, 0, 1, NULL, tsfn_finalize, js,
                                        call_js, &js->tsfn) != napi_ok) {
        js_router_release(js->jr);
        jstream_unref(env, js);
        return js_throw(env, "LLMR_ERR_ARG", "streamOpen: dispatch must be a function");
    }
    js->js_refs = 2;   /* the object's wrap and the thread-safe function */
    if (napi_wrap(env, a[1], js, self_finalize, NULL, NULL) != napi_ok ||
        napi_create_reference(env, a[1], 0, &js->self) != napi_ok) {
        napi_release_threadsafe_function(js->tsfn, napi_tsfn_abort);
        js_router_release(js->jr);
        js->jr = NULL;
        jstream_unref(env, js);
        return js_throw(env, "LLMR_ERR_ARG", "streamOpen: bad stream object");
    }
    /* our exit hook must run before the thread-safe functions' own (hooks run last-added
     * first), so that no worker touches a thread-safe function Node has already torn down */
    napi_remove_env_cleanup_hook(env, pool_shutdown, pl);
    napi_add_env_cleanup_hook(env, pool_shutdown, pl);
    pthread_mutex_lock(&pl->mu);
    int rc = enqueue(pl, js);
    pthread_mutex_unlock(&pl->mu);
    if (rc) {
        napi_release_threadsafe_function(js->tsfn, napi_tsfn_abort);
        js_router_release(js->jr);
        js->jr = NULL;
        return js_throw(env, rc == LLMR_ERR_STATE ? "LLMR_ERR_STATE" : "LLMR_ERR_NOMEM",
                        rc == LLMR_ERR_STATE ? "the process is exiting" :
                                               "cannot start a worker thread");
    }
    napi_value undef;
    napi_get_undefined(env, &undef);
    return undef;
}

/* streamControl(self, what): "stop", "pause", "resume" -> undefined; "status" -> "queued",
 * "running", "paused" or "finished". */
napi_value js_stream_control(napi_env env, napi_callback_info info)
{
    napi_value a[2], out;
    size_t argc = 2;
    napi_get_cb_info(env, info, &argc, a, NULL, NULL);
    jstream *js = NULL;
    char what[16] = "";
    size_t len;
    if (argc < 2 || napi_unwrap(env, a[0], (void **)&js) != napi_ok || !js ||
        napi_get_value_string_utf8(env, a[1], what, sizeof what, &len) != napi_ok)
        return js_throw(env, "LLMR_ERR_ARG", "streamControl: bad arguments");
    const char *status = NULL;
    if (!strcmp(what, "stop")) {
        request_stop(js);
    } else {
        pthread_mutex_lock(&js->mu);
        if (!strcmp(what, "pause") || !strcmp(what, "resume")) {
            js->pause_req = what[0] == 'p';
            if (js->s)
                (js->pause_req ? llmr_stream_pause : llmr_stream_resume)(js->s);
        } else {
            static const char *const names[] = {"running", "paused", "finished", "queued"};
            llmr_status st = js->s ? llmr_stream_status(js->s) : LLMR_STATUS_QUEUED;
            status = js->finished ? "finished" : (unsigned)st < 4 ? names[st] : "running";
        }
        pthread_mutex_unlock(&js->mu);
    }
    if (status)
        napi_create_string_utf8(env, status, NAPI_AUTO_LENGTH, &out);
    else
        napi_get_undefined(env, &out);
    return out;
}
