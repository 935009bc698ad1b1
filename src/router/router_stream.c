/* router_stream.c - routed streams (llmr.h, "Router"): the request source, the callbacks
 * that store finished results in the cache, and llmr_router_stream_open.
 *
 * A routed request is one stream over one source, the request source below, which holds the
 * ranked candidates and opens the real source (local or remote) of the first that accepts the
 * request. It fails over inside the source - in begin(), and in step() until the first token -
 * so the stream loop sees one source whose text is never repeated. Between passes over all
 * candidates it waits an exponential backoff with jitter. */
#include "llmr.h"
#include "router/registry.h"
#include "router/remote_source.h"
#include "stream/local.h"
#include "stream/toolcall.h"
#include "gguf/gguf.h"
#include "model/model.h"
#include <cjson/cJSON.h>
#include "core/buf.h"
#include "core/util.h"
#include "core/think.h"

#include <errno.h>
#include <stdatomic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the request source ----------------------------------------------------------------- */

struct rt_req {
    llmr_source     base;
    llmr_router    *r;
    rt_req         *next;            /* in r->reqs, guarded by r->mu */
    const llmr_stream *stream;       /* set after open, guarded by r->mu */
    char            model_id[128];   /* who serves it now, guarded by r->mu */
    rt_entry       *cand[RT_MAX_CAND];
    size_t          n_cand, cur;
    llmr_source    *inner;           /* the serving source (pointer written under r->mu, so
                                        llmr_router_stream_stop can cancel it) */
    bool            inner_remote;
    atomic_bool     cancelled;       /* llmr_router_stream_stop was called */
    rt_entry       *inner_e;         /* its entry (holds one active count) */
    bool            produced;        /* the inner source gave text: no more failover */
    uint32_t        n_tok;
    double          t_first;
    char           *prompt;
    llmr_gen_opts   o;               /* the caller's options (borrowed pointers: valid during
                                        open only) */
    const llmr_gen_opts *so;         /* the stream's copy, as begin received it: valid for
                                        the stream's life, so failover in step() can use it */
    const char     *sprompt;         /* likewise the stream's copy of the prompt */
    llmr_callbacks  user_cb;
    char            cache_key[65];
    bool            cache_store;
    char           *replay;          /* a cached result: streamed as one token */
    size_t          replay_len;
    int             replay_state;
    char            log[1024];       /* one line per failed candidate */
    bool            chat;            /* a chat request: local models get it in their template */
    llmr_chat_msg  *msgs;            /* the conversation (copied: one block with msg_store) */
    size_t          n_msgs;
    bool            raw_untemplated; /* route.raw_without_template */
    char           *remote_prompt;   /* its text for a remote completions backend (NULL: the
                                        prompt, for a chat request of one user message) */
    char           *chat_prompt;     /* the prompt rendered for the serving local model */
    llmr_gen_opts   chat_opts;       /* the stream's options with add_bos off (the template
                                        writes BOS); lives as long as the request */
    char           *msgs_json;       /* route.messages_json (copied), or NULL */
    char           *tools_json;      /* route.tools (copied) when tool_choice is not "none" */
    llmri_tools    *tools;           /* ... validated */
    char           *tool_only;       /* "required": "", a function name: it; NULL: auto */
    bool            tool_parallel;
    char           *tool_gbnf;       /* the grammar for the serving model's format */
    char           *remote_calls;    /* a remote chat backend's tool calls (JSON array), read
                                        when its reply ended; NULL: none */
    llmri_tc_format tc_format;       /* the serving model's tool-call format */
    bool            think_open;      /* the serving model's prompt ends in an open <think> */
    bool          (*alive)(void *);  /* route.alive, asked only while the open runs */
    void           *alive_user;
    atomic_bool     opening;
    int             step_rc;         /* the error that ended the serving source, if any */
    char            step_msg[256];
};

static bool can_fail_over(int rc)
{
    /* a bad argument fails everywhere, and a cancel is the caller's wish */
    return rc != LLMR_ERR_ARG && rc != LLMR_ERR_CANCELLED && rc != LLMR_OK;
}

static void log_failure(rt_req *q, const char *id, const char *msg)
{
    size_t at = strlen(q->log);
    if (at < sizeof q->log - 1)
        snprintf(q->log + at, sizeof q->log - at, "%s%s: %s", at ? "; " : "", id, msg);
}

/* Drops the serving source; `ok` says whether it ended well (mu not held). */
static void drop_inner(rt_req *q, bool ok, int rc, const char *msg)
{
    if (!q->inner_e)
        return;
    pthread_mutex_lock(&q->r->mu);
    llmr_source *in = q->inner;
    q->inner = NULL;
    pthread_mutex_unlock(&q->r->mu);
    if (in) {
        in->ops->end(in);
        in->ops->destroy(in);
    }
    double gen_s = q->n_tok ? llmri_now() - q->t_first : 0;
    pthread_mutex_lock(&q->r->mu);
    rt_entry *e = q->inner_e;
    if (ok)
        rt_note_success(q->r, e);
    else
        rt_note_failure(q->r, e, rc, msg);
    rt_release(q->r, e, ok ? q->n_tok : 0, gen_s);
    pthread_mutex_unlock(&q->r->mu);
    q->inner_e = NULL;
}

/* The remote's liveness hook: the caller's, while the open runs (the caller's pointer is
 * only known to be valid then). */
static bool rq_alive(void *user)
{
    rt_req *q = user;
    return !atomic_load(&q->opening) || !q->alive || q->alive(q->alive_user);
}


/* The tool-call format of local model e's template and, for "required" or a named function,
 * the grammar that makes the model write a valid call in it. */
static int tool_setup(rt_req *q, const rt_entry *e, llmr_err *err)
{
    free(q->tool_gbnf);
    q->tool_gbnf = NULL;
    if (!q->tools)
        return LLMR_OK;
    const char *src = gguf_get_str(llmri_model_gguf(e->model), "tokenizer.chat_template");
    q->tc_format = src ? llmri_toolcall_format_of_template(src) : LLMRI_TC_GENERIC;
    if (!q->tool_only)
        return LLMR_OK;
    return llmri_toolcall_grammar(q->tools, q->tool_only[0] ? q->tool_only : NULL, q->tc_format,
                                 q->tool_parallel, &q->tool_gbnf, err);
}

/* Tries one candidate: acquire (load), make its source, begin. */
static int try_candidate(rt_req *q, rt_entry *e, const char *prompt, const llmr_gen_opts *o,
                         uint32_t *n_prompt, uint32_t *n_cached, llmr_err *err)
{
    llmr_router *r = q->r;
    if (o->logprobs && e->cfg.backend >= 0)   /* the request's need, not the model's fault */
        return llmri_err_set(err, LLMR_ERR_UNSUPPORTED, "model '%s': log-probabilities come "
                            "from local models only", e->cfg.id);
    if (q->tools && e->cfg.backend >= 0 && !(q->chat && e->cfg.remote_chat))
        return llmri_err_set(err, LLMR_ERR_UNSUPPORTED, "model '%s': tools go to chat backends "
                            "only (its api is completions)", e->cfg.id);
    free(q->remote_calls);
    q->remote_calls = NULL;
    pthread_mutex_lock(&r->mu);
    int rc = e->removed ? llmri_err_set(err, LLMR_ERR_NOT_FOUND, "model '%s' was removed",
                                       e->cfg.id)
                        : rt_acquire(r, e, err);
    if (rc == LLMR_OK && e->cfg.backend >= 0) {
        llmr_remote_cfg rc_cfg = rt_remote_cfg(r, e);
        rc_cfg.alive = rq_alive;
        rc_cfg.alive_user = q;
        rc = rt_remote_source_new(&rc_cfg, &q->inner, err);   /* copies the strings */
        q->inner_remote = true;
        if (rc)
            rt_release(r, e, 0, 0);
    } else if (rc == LLMR_OK) {
        rc = llmri_local_source_new(e->model, &q->inner, err);
        q->inner_remote = false;
        if (rc)
            rt_release(r, e, 0, 0);
    }
    if (rc) {
        rt_note_failure(r, e, rc, err->msg);
        pthread_mutex_unlock(&r->mu);
        return rc;
    }
    snprintf(q->model_id, sizeof q->model_id, "%s", e->cfg.id);
    pthread_mutex_unlock(&r->mu);
    q->inner_e = e;
    q->n_tok = 0;
    q->produced = false;
    if (q->chat && e->cfg.backend < 0) {
        /* a local model gets the conversation in its own template (a remote chat API applies
         * its server's), so both answer the same request */
        llmri_chat_text ct;
        free(q->chat_prompt);
        llmri_chat_in in = {.msgs = q->msgs, .n = q->n_msgs, .msgs_json = q->msgs_json,
                            .tools_json = q->tools_json,
                            .raw_untemplated = q->raw_untemplated};
        rc = llmri_chat_render(e->model, &in, &ct, err);
        q->chat_prompt = ct.text;
        q->think_open = rc == LLMR_OK && llmri_think_opens(ct.text);
        if (rc == LLMR_OK)
            rc = tool_setup(q, e, err);
        if (rc) {
            if (rc != LLMR_ERR_ARG)
                llmri_err_set(err, rc, "model '%s': %.200s", e->cfg.id, err->msg);
            drop_inner(q, false, rc, err->msg);
            return rc;
        }
        q->chat_opts = *o;
        q->chat_opts.add_bos = ct.add_bos;
        q->chat_opts.parse_special = ct.parse_special;
        if (q->tool_gbnf)
            q->chat_opts.sampling.grammar = q->tool_gbnf;
        prompt = q->chat_prompt;
        o = &q->chat_opts;
    } else if (q->chat && e->cfg.remote_chat) {
        rc = rt_remote_source_set_messages(q->inner, q->msgs, q->n_msgs, err);
        if (rc) {
            drop_inner(q, false, rc, err->msg);
            return rc;
        }
        /* the tools and the history's calls go as they are: the backend applies its own
         * template, reads its model's calls and streams them back as delta.tool_calls */
        const char *tc = !q->tools ? NULL : !q->tool_only ? "auto"
                       : q->tool_only[0] ? q->tool_only : "required";
        rt_remote_source_set_tools(q->inner, q->msgs_json, q->tools_json, tc, q->tool_parallel);
    } else if (q->chat && q->remote_prompt) {
        prompt = q->remote_prompt;
    }
    rc = q->inner->ops->begin(q->inner, prompt, o, n_prompt, n_cached, err);
    if (rc)
        drop_inner(q, false, rc, err->msg);
    return rc;
}

static void sleep_ms(double ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(fmod(ms, 1000.0) * 1e6)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* One pass over the candidates from q->cur on; the first that begins wins. */
static int begin_pass(rt_req *q, const char *prompt, const llmr_gen_opts *o, uint32_t *n_prompt,
                      uint32_t *n_cached, llmr_err *err)
{
    int rc = LLMR_ERR_NOT_FOUND;
    for (; q->cur < q->n_cand; q->cur++) {
        if (atomic_load(&q->cancelled))
            return llmri_err_set(err, LLMR_ERR_CANCELLED, "stopped before a model answered");
        rt_entry *e = q->cand[q->cur];
        rc = try_candidate(q, e, prompt, o, n_prompt, n_cached, err);
        if (rc == LLMR_OK || !can_fail_over(rc))
            return rc;
        log_failure(q, e->cfg.id, err->msg);
    }
    return rc;
}

static int rq_begin(llmr_source *src, const char *prompt, const llmr_gen_opts *o,
                    uint32_t *n_prompt, uint32_t *n_cached, llmr_err *err)
{
    rt_req *q = (rt_req *)src;
    *n_prompt = *n_cached = 0;
    q->so = o;
    q->sprompt = prompt;
    if (q->replay)
        return LLMR_OK;
    llmr_router *r = q->r;
    q->log[0] = 0;
    int rc = LLMR_ERR_NOT_FOUND;
    for (int round = 0; round < r->cfg.max_rounds; round++) {
        if (round > 0) {
            /* every candidate failed: back off before the next pass, exponentially, with
             * jitter so that many clients do not retry in lockstep */
            double d = r->cfg.backoff_ms * pow(2.0, round - 1);
            if (d > r->cfg.backoff_max_ms)
                d = r->cfg.backoff_max_ms;
            pthread_mutex_lock(&r->mu);
            double j = 1.0 - r->cfg.jitter * rt_rand01(&r->rng);
            pthread_mutex_unlock(&r->mu);
            sleep_ms(d * j);
        }
        q->cur = 0;
        rc = begin_pass(q, prompt, o, n_prompt, n_cached, err);
        if (rc == LLMR_OK || !can_fail_over(rc))
            return rc;
    }
    return llmri_err_set(err, rc, "every candidate failed (%d pass%s): %s", r->cfg.max_rounds,
                        r->cfg.max_rounds == 1 ? "" : "es", q->log);
}

static int rq_step(llmr_source *src, llmr_src_token *tok, llmr_err *err)
{
    rt_req *q = (rt_req *)src;
    if (q->replay) {
        tok->id = -1;
        tok->eog = q->replay_state > 0;
        tok->bytes = tok->eog ? "" : q->replay;
        tok->len = tok->eog ? 0 : q->replay_len;
        q->replay_state++;
        return LLMR_OK;
    }
    for (;;) {
        if (!q->inner)
            return llmri_err_set(err, LLMR_ERR_STATE, "router: step without a serving model");
        int rc = q->inner->ops->step(q->inner, tok, err);
        if (rc == LLMR_OK) {
            if (!q->n_tok++)
                q->t_first = llmri_now();
            if (tok->len)
                q->produced = true;
            if (tok->eog && q->inner_remote && q->tools) {   /* before the source goes */
                free(q->remote_calls);
                q->remote_calls = rt_remote_source_tool_calls(q->inner);
            }
            return LLMR_OK;
        }
        if (rc == LLMR_ERR_CANCELLED && atomic_load(&q->cancelled)) {
            /* llmr_router_stream_stop cut the network wait: end quietly, and the stream,
             * whose stop flag is already set, finishes as cancelled rather than failed */
            tok->bytes = "";
            tok->len = 0;
            tok->id = -1;
            tok->eog = true;
            return LLMR_OK;
        }
        if (q->produced || !can_fail_over(rc) || rc == LLMR_ERR_CONTEXT) {
            if (rc != LLMR_ERR_CONTEXT) {         /* a full context is a normal end */
                q->step_rc = rc;
                snprintf(q->step_msg, sizeof q->step_msg, "%.200s", err->msg);
            }
            return rc;
        }
        /* failed before any text: the next candidate takes the request over */
        const char *id = q->inner_e->cfg.id;
        log_failure(q, id, err->msg);
        drop_inner(q, false, rc, err->msg);
        q->cur++;
        uint32_t np, nc;
        int step_rc = rc;
        rc = q->cur < q->n_cand ? begin_pass(q, q->sprompt, q->so, &np, &nc, err) : step_rc;
        if (rc == LLMR_ERR_NOT_FOUND && step_rc != LLMR_ERR_NOT_FOUND)
            rc = step_rc;          /* no candidate was left: the failure is the last one's */
        if (rc)
            return llmri_err_set(err, rc, "every candidate failed before its first token: %s",
                                q->log);
    }
}

static void rq_end(llmr_source *src)
{
    rt_req *q = (rt_req *)src;
    /* a stream cut by a backend error after its first text still counts against the model */
    drop_inner(q, q->step_rc == LLMR_OK, q->step_rc, q->step_msg);
}

static void rq_destroy(llmr_source *src)
{
    rt_req *q = (rt_req *)src;
    drop_inner(q, true, LLMR_OK, "");
    pthread_mutex_lock(&q->r->mu);
    for (rt_req **pp = &q->r->reqs; *pp; pp = &(*pp)->next)
        if (*pp == q) {
            *pp = q->next;
            break;
        }
    pthread_mutex_unlock(&q->r->mu);
    free(q->prompt);
    free(q->replay);
    free(q->chat_prompt);
    free(q->remote_prompt);
    free(q->msgs);
    free(q->msgs_json);
    free(q->tools_json);
    free(q->remote_calls);
    llmri_tools_free(q->tools);
    free(q->tool_only);
    free(q->tool_gbnf);
    free(q);
}

/* Any thread: stops the serving source's wait (a network read, or a local model's queue or
 * pass); r->mu keeps `inner` from being destroyed meanwhile (drop_inner clears it under mu). */
static void rq_cancel(llmr_source *src)
{
    rt_req *q = (rt_req *)src;
    atomic_store(&q->cancelled, true);
    pthread_mutex_lock(&q->r->mu);
    if (q->inner && q->inner_remote)
        rt_remote_source_cancel(q->inner);
    else if (q->inner && q->inner->ops->cancel)
        q->inner->ops->cancel(q->inner);
    pthread_mutex_unlock(&q->r->mu);
}

static bool rq_queued(llmr_source *src)
{
    rt_req *q = (rt_req *)src;
    pthread_mutex_lock(&q->r->mu);
    bool queued = q->inner && q->inner->ops->queued && q->inner->ops->queued(q->inner);
    pthread_mutex_unlock(&q->r->mu);
    return queued;
}

static void rq_prompt_info(llmr_source *src, uint32_t *n_cached, double *prompt_s)
{
    rt_req *q = (rt_req *)src;
    if (q->inner && q->inner->ops->prompt_info)   /* owner thread: inner is stable */
        q->inner->ops->prompt_info(q->inner, n_cached, prompt_s);
}

/* The serving local model's prompt (its template's rendering) opened a <think> block. */
static bool rq_think_open(llmr_source *src)
{
    rt_req *q = (rt_req *)src;
    if (q->inner_remote)
        return false;
    return q->chat ? q->think_open : q->sprompt && llmri_think_opens(q->sprompt);
}

static const llmr_source_ops RQ_OPS = {
    .begin = rq_begin, .step = rq_step, .end = rq_end, .destroy = rq_destroy,
    .cancel = rq_cancel, .queued = rq_queued, .prompt_info = rq_prompt_info,
    .think_open = rq_think_open,
};

/* ---- callbacks: the user's, plus storing finished results in the cache ------------------ */

static void cb_start(void *u, const char *p)
{
    rt_req *q = u;
    q->user_cb.on_start(q->user_cb.user, p);
}
static void cb_token(void *u, const llmr_piece *p)
{
    rt_req *q = u;
    q->user_cb.on_token(q->user_cb.user, p);
}
static void cb_progress(void *u, const llmr_progress *p)
{
    rt_req *q = u;
    q->user_cb.on_progress(q->user_cb.user, p);
}
static void cb_error(void *u, int code, const char *msg)
{
    rt_req *q = u;
    q->user_cb.on_error(q->user_cb.user, code, msg);
}
static void cb_retry(void *u, int a, unsigned d, int code, const char *msg)
{
    rt_req *q = u;
    q->user_cb.on_retry(q->user_cb.user, a, d, code, msg);
}
static void cb_complete(void *u, const llmr_result *res)
{
    rt_req *q = u;
    /* only whole answers are worth replaying: a cancelled one is cut short */
    if (q->cache_store && (res->usage.finish == LLMR_FINISH_STOP ||
                           res->usage.finish == LLMR_FINISH_LENGTH)) {
        pthread_mutex_lock(&q->r->mu);
        char id[128];
        snprintf(id, sizeof id, "%s", q->model_id);
        pthread_mutex_unlock(&q->r->mu);
        rt_cache_put(&q->r->cache, q->cache_key, res->text, res->len, id, llmri_now());
    }
    if (q->user_cb.on_complete)
        q->user_cb.on_complete(q->user_cb.user, res);
}

static llmr_callbacks wrap_callbacks(rt_req *q)
{
    llmr_callbacks c = {0}, *u = &q->user_cb;
    c.user = q;
    c.on_start = u->on_start ? cb_start : NULL;
    c.on_token = u->on_token ? cb_token : NULL;
    c.on_progress = u->on_progress ? cb_progress : NULL;
    c.on_error = u->on_error ? cb_error : NULL;
    c.on_retry = u->on_retry ? cb_retry : NULL;
    c.on_complete = cb_complete;
    return c;
}

/* ---- opening a routed stream ------------------------------------------------------------ */

/* Whether this request's result may come from, and go to, the cache. */
static bool cache_applies(const llmr_router *r, const llmr_route_opts *ro, const llmr_gen_opts *o)
{
    if (ro->cache < 0 || (!r->cfg.cache.enabled && ro->cache <= 0))
        return false;
    if (o->n_filters || o->logprobs || o->split_reasoning)
        return false;              /* filters are code: their output cannot be keyed; a
                                      cached text has no log-probabilities, nor reasoning
                                      pieces */
    bool sampling = o->sampling.temperature > 0;
    return !sampling || ro->cache > 0 || r->cfg.cache.allow_sampling;
}

static rt_req *req_new(llmr_router *r, const char *prompt, const llmr_gen_opts *o)
{
    rt_req *q = calloc(1, sizeof *q);
    if (!q || !(q->prompt = llmri_strdup(prompt))) {
        free(q);
        return NULL;
    }
    q->base.ops = &RQ_OPS;
    snprintf(q->base.name, sizeof q->base.name, "router %.100s", r->name);
    q->r = r;
    q->o = *o;
    q->user_cb = o->cb;
    return q;
}

#define MAX_TOOLS 1024

/* The request's tools and how the model must use them; on failure the router's message is
 * set. */
static int req_set_tools(rt_req *q, const llmr_route_opts *ro, const llmr_gen_opts *o)
{
    llmr_err err = {0};
    if (ro->messages_json && !(q->msgs_json = llmri_strdup(ro->messages_json)))
        return rt_fail(LLMR_ERR_NOMEM, "out of memory");
    const char *tc = ro->tool_choice ? ro->tool_choice : "auto";
    if (!ro->tools || !strcmp(tc, "none"))
        return LLMR_OK;
    int rc = llmri_tools_parse(ro->tools, MAX_TOOLS, &q->tools, &err);
    if (rc)
        return rt_fail(rc == LLMR_ERR_NOMEM ? rc : LLMR_ERR_ARG, err.msg);
    if (!(q->tools_json = llmri_strdup(ro->tools)))
        return rt_fail(LLMR_ERR_NOMEM, "out of memory");
    q->tool_parallel = ro->parallel_tool_calls;
    if (!strcmp(tc, "auto"))
        return LLMR_OK;
    if (strcmp(tc, "required") && llmri_tools_find(q->tools, tc) < 0)
        return rt_fail(LLMR_ERR_ARG, "tool_choice names a function that is not among the tools");
    if (o->sampling.grammar || o->sampling.json_schema || o->sampling.json_object)
        return rt_fail(LLMR_ERR_ARG, "tool_choice \"required\" or a named function cannot be "
                       "combined with a grammar, a JSON schema or JSON mode");
    q->tool_only = llmri_strdup(strcmp(tc, "required") ? tc : "");
    return q->tool_only ? LLMR_OK : rt_fail(LLMR_ERR_NOMEM, "out of memory");
}

/* Copies the conversation into one block: the array, then each string. */
static int req_set_msgs(rt_req *q, const llmr_chat_msg *msgs, size_t n)
{
    size_t bytes = (n ? n : 1) * sizeof *msgs;
    for (size_t i = 0; i < n; i++) {
        if (!msgs[i].role || !msgs[i].content)
            return rt_fail(LLMR_ERR_ARG, "llmr_router_chat_open: a message has no role or "
                           "content");
        bytes += strlen(msgs[i].role) + strlen(msgs[i].content) + 2;
    }
    llmr_chat_msg *m = malloc(bytes);
    if (!m)
        return rt_fail(LLMR_ERR_NOMEM, "out of memory");
    char *p = (char *)(m + (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        size_t lr = strlen(msgs[i].role) + 1, lc = strlen(msgs[i].content) + 1;
        m[i].role = memcpy(p, msgs[i].role, lr);
        p += lr;
        m[i].content = memcpy(p, msgs[i].content, lc);
        p += lc;
    }
    q->msgs = m;
    q->n_msgs = n;
    return LLMR_OK;
}

/* The text a conversation is ranked and cached by: roles and contents with separators no
 * message can fake (0x1e, 0x1f are not in text a person writes, and a template never sees
 * this string). */
static char *conversation_key(const llmr_chat_msg *msgs, size_t n)
{
    llmr_buf b = {0};
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++)
        ok = llmri_buf_append(&b, msgs[i].role, strlen(msgs[i].role)) &&
             llmri_buf_append(&b, "\x1f", 1) &&
             llmri_buf_append(&b, msgs[i].content, strlen(msgs[i].content)) &&
             llmri_buf_append(&b, "\x1e", 1);
    char *s = ok ? llmri_strndup(b.p ? b.p : "", b.len) : NULL;
    llmri_buf_free(&b);
    return s;
}

/* Opens a routed stream; msgs non-NULL: a conversation (prompt is its key text). */
static int open_routed(llmr_router *r, const char *prompt, const llmr_chat_msg *msgs,
                       size_t n_msgs, const llmr_route_opts *ro, const llmr_gen_opts *o,
                       llmr_stream **out)
{
    rt_req *q = req_new(r, prompt, o);
    if (!q)
        return rt_fail(LLMR_ERR_NOMEM, "out of memory");
    q->chat = ro->chat || msgs;
    q->raw_untemplated = ro->raw_without_template;
    q->alive = ro->alive;
    q->alive_user = ro->alive_user;
    atomic_store(&q->opening, true);
    int rc = req_set_tools(q, ro, o);
    if (rc) {
        /* the message is set */
    } else if (msgs) {
        llmri_chat_text ct;
        llmr_err err = {0};
        if ((rc = req_set_msgs(q, msgs, n_msgs)) == LLMR_OK) {
            /* what a completions backend gets: the plain fallback, or ollama's joined text */
            llmri_chat_in in = {.msgs = q->msgs, .n = q->n_msgs,
                                .raw_untemplated = q->raw_untemplated};
            rc = llmri_chat_render(NULL, &in, &ct, &err);
            q->remote_prompt = ct.text;
            if (rc)
                rt_fail(rc, err.msg);
        }
    } else if (q->chat) {
        /* a chat request of one user message */
        llmr_chat_msg one = {"user", prompt};
        rc = req_set_msgs(q, &one, 1);
    }
    if (rc) {
        rq_destroy(&q->base);
        return llmri_stream_open_failed(rc, llmr_router_errmsg(r), o, out);
    }
    /* tools and rich messages are not part of the key: such requests are not cached */
    bool use_cache = cache_applies(r, ro, o) && !ro->tools && !ro->messages_json;
    char route_part[400];
    snprintf(route_part, sizeof route_part, "%s|%d|%s|%d|%d|%u|%d", ro->model ? ro->model : "",
             ro->strict, ro->strategy ? ro->strategy : "", q->chat, ro->json, ro->min_context,
             ro->raw_without_template);
    char *cached = NULL, *cached_model = NULL;
    size_t cached_len = 0;
    if (use_cache) {
        rt_cache_key(prompt, route_part, o, q->cache_key);
        if (rt_cache_get(&r->cache, q->cache_key, llmri_now(), &cached, &cached_len,
                         &cached_model)) {
            q->replay = cached;
            q->replay_len = cached_len;
            snprintf(q->model_id, sizeof q->model_id, "%s (cached)", cached_model);
            free(cached_model);
        } else {
            q->cache_store = true;
        }
    }
    llmr_route_opts ro2 = *ro;
    ro2.chat = q->chat;
    pthread_mutex_lock(&r->mu);
    rc = q->replay ? LLMR_OK : rt_plan_locked(r, prompt, &ro2, o, q->cand, &q->n_cand);
    if (rc == LLMR_OK) {
        q->next = r->reqs;
        r->reqs = q;
    }
    pthread_mutex_unlock(&r->mu);
    if (rc) {
        rq_destroy(&q->base);
        return llmri_stream_open_failed(rc, llmr_router_errmsg(r), o, out);
    }
    /* The stream loop sees one source and retries nothing itself: failover and backoff
     * happen inside the request source, across models. */
    llmr_gen_opts o2 = *o;
    o2.max_retries = 0;
    o2.fallbacks = NULL;
    o2.n_fallbacks = 0;
    o2.cb = wrap_callbacks(q);
    q->o.cb = o2.cb;
    llmr_source *src = &q->base;
    rc = llmri_stream_open_sources(&src, 1, prompt, &o2, out);
    pthread_mutex_lock(&r->mu);
    for (rt_req *x = r->reqs; x; x = x->next)
        if (x == q) {                   /* still alive: the stream may have freed it */
            q->stream = *out;
            atomic_store(&q->opening, false);
        }
    pthread_mutex_unlock(&r->mu);
    return rt_fail(rc, rc && *out ? llmr_stream_errmsg(*out) : "");
}

int llmr_router_stream_open(llmr_router *r, const char *prompt, const llmr_route_opts *ro,
                            const llmr_gen_opts *o, llmr_stream **out)
{
    llmr_route_opts dro = llmr_route_defaults();
    llmr_gen_opts dgo = llmr_gen_defaults();
    if (!out)
        return rt_fail(LLMR_ERR_ARG, "llmr_router_stream_open: NULL out");
    *out = NULL;
    if (!r || !prompt)
        return rt_fail(LLMR_ERR_ARG, "llmr_router_stream_open: NULL argument");
    return open_routed(r, prompt, NULL, 0, ro ? ro : &dro, o ? o : &dgo, out);
}

int llmr_router_chat_open(llmr_router *r, const llmr_chat_msg *msgs, size_t n_msgs,
                          const llmr_route_opts *ro, const llmr_gen_opts *o, llmr_stream **out)
{
    llmr_route_opts dro = llmr_route_defaults();
    llmr_gen_opts dgo = llmr_gen_defaults();
    if (!out)
        return rt_fail(LLMR_ERR_ARG, "llmr_router_chat_open: NULL out");
    *out = NULL;
    if (!r || (!msgs && n_msgs))
        return rt_fail(LLMR_ERR_ARG, "llmr_router_chat_open: NULL argument");
    if (n_msgs > 100000)
        return rt_fail(LLMR_ERR_ARG, "llmr_router_chat_open: more than 100000 messages");
    for (size_t i = 0; i < n_msgs; i++)
        if (!msgs[i].role || !msgs[i].content)
            return rt_fail(LLMR_ERR_ARG, "llmr_router_chat_open: a message has no role or "
                           "content");
    char *key = conversation_key(msgs, n_msgs);
    if (!key)
        return rt_fail(LLMR_ERR_NOMEM, "out of memory");
    int rc = open_routed(r, key, msgs, n_msgs, ro ? ro : &dro, o ? o : &dgo, out);
    free(key);
    return rc;
}

bool llmr_router_stream_model(llmr_router *r, const llmr_stream *s, char *buf, size_t n)
{
    bool found = false;
    pthread_mutex_lock(&r->mu);
    for (rt_req *x = r->reqs; x && s; x = x->next)
        if (x->stream == s) {
            snprintf(buf, n, "%s", x->model_id);
            found = true;
            break;
        }
    pthread_mutex_unlock(&r->mu);
    return found;
}

void llmr_router_stream_stop(llmr_router *r, llmr_stream *s)
{
    (void)r;
    llmr_stream_stop(s);   /* which reaches the serving source through rq_cancel */
}


/* "call_" and 24 random letters and digits, as OpenAI's ids look. */
static void call_id(llmr_router *r, char id[32])
{
    static const char al[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    memcpy(id, "call_", 5);
    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < 24; i++)
        id[5 + i] = al[(int)(rt_rand01(&r->rng) * 62) % 62];
    pthread_mutex_unlock(&r->mu);
    id[29] = 0;
}

int llmr_router_stream_tool_calls(llmr_router *r, const llmr_stream *s, const char *text,
                                  size_t len, char **json)
{
    *json = NULL;
    rt_req *q = NULL;
    pthread_mutex_lock(&r->mu);
    for (rt_req *x = r->reqs; x && s; x = x->next)
        if (x->stream == s)
            q = x;
    pthread_mutex_unlock(&r->mu);
    if (!q || !q->tools)       /* the stream's owner thread: q lives until it closes s */
        return rt_fail(LLMR_ERR_NOT_FOUND, "the stream was not opened on this router with tools");
    if (q->inner_remote) {     /* the backend read its model's calls: its text is content */
        cJSON *o = cJSON_CreateObject(), *calls = q->remote_calls ? cJSON_Parse(q->remote_calls)
                                                                   : NULL;
        char *t = llmri_strndup(text ? text : "", text ? len : 0);
        cJSON_AddStringToObject(o, "content", t ? t : "");
        free(t);
        cJSON_AddItemToObject(o, "tool_calls", calls ? calls : cJSON_CreateArray());
        *json = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        return rt_fail(*json ? LLMR_OK : LLMR_ERR_NOMEM, *json ? "" : "out of memory");
    }
    llmri_tool_calls tc;
    llmr_err err = {0};
    int rc = llmri_toolcall_parse(text ? text : "", len, q->tc_format, q->tools, &tc, &err);
    if (rc)
        return rt_fail(rc, err.msg);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "content", tc.content ? tc.content : "");
    cJSON *arr = cJSON_AddArrayToObject(o, "tool_calls");
    for (size_t i = 0; i < tc.n; i++) {
        char id[32];
        call_id(r, id);
        cJSON *c = cJSON_CreateObject(), *f;
        cJSON_AddStringToObject(c, "id", tc.calls[i].id ? tc.calls[i].id : id);
        cJSON_AddStringToObject(c, "type", "function");
        cJSON_AddItemToObject(c, "function", f = cJSON_CreateObject());
        cJSON_AddStringToObject(f, "name", tc.calls[i].name);
        cJSON_AddStringToObject(f, "arguments", tc.calls[i].arguments);
        cJSON_AddItemToArray(arr, c);
    }
    llmri_tool_calls_free(&tc);
    *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return rt_fail(*json ? LLMR_OK : LLMR_ERR_NOMEM, *json ? "" : "out of memory");
}

bool llmr_router_stream_thinking(llmr_router *r, const llmr_stream *s)
{
    bool open = false;
    pthread_mutex_lock(&r->mu);
    for (rt_req *x = r->reqs; x && s; x = x->next)
        if (x->stream == s)
            open = x->think_open && !x->inner_remote;
    pthread_mutex_unlock(&r->mu);
    return open;
}
