/* gen.c - one request's generation, whichever model serves it: a job on a local model's
 * continuous-batching scheduler, or a streamed request to a remote OpenAI-compatible backend
 * (router/remote.h). With --config the candidates come from the router's ranking and a
 * candidate that fails before its first piece of text hands the request to the next: a remote
 * one's first piece is read before the reply begins, so a dead backend is found out while
 * nothing has been sent and no text can be repeated. */
#include "server/server_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "router/registry.h"
#include "router/remote.h"

#define MAX_TRY 16     /* candidates tried for one request */

/* ---- prompts ----------------------------------------------------------------------------- */

static bool is_chat(const srv_req *r, const srv_msg *msgs)
{
    return msgs || r->api == SRV_API_CHAT || r->api == SRV_API_OLLAMA_CHAT;
}

/* ollama generate: raw prompts go as they are; otherwise system + prompt through the chat
 * template, as ollama applies the model's template. lm NULL: no template. */
static char *generate_prompt(llmr_server *s, srv_lm *lm, const srv_req *r, srv_error *e,
                             bool *templated)
{
    bool lock = lm == &s->lm;
    if (lock)
        pthread_mutex_lock(&s->lock);
    bool has_tmpl = lm && lm->chat_template;
    if (lock)
        pthread_mutex_unlock(&s->lock);
    if (r->raw || !has_tmpl) {
        *templated = false;
        if (r->system && r->system[0] && !r->raw) {
            size_t n = strlen(r->system) + strlen(r->prompt) + 3;
            char *p = malloc(n);
            if (p)
                snprintf(p, n, "%s\n\n%s", r->system, r->prompt);
            return p;
        }
        return llmri_strdup(r->prompt);
    }
    *templated = true;
    srv_msg m[2];
    int n = 0;
    if (r->system && r->system[0])
        m[n++] = (srv_msg){"system", r->system};
    m[n++] = (srv_msg){"user", r->prompt};
    return srv_render_chat(s, lm, m, n, e);
}

/* The prompt text for a local model lm (NULL: a remote completions backend, which gets the
 * conversation in the plain fallback template). *templated: the template's markers are control
 * tokens. NULL with *e on failure. */
static char *build_prompt(llmr_server *s, srv_lm *lm, const srv_req *r, const srv_msg *msgs,
                          int n_msgs, bool *templated, srv_error *e)
{
    *templated = true;
    char *p;
    if (msgs)
        p = srv_render_chat(s, lm, msgs, n_msgs, e);
    else if (r->api == SRV_API_CHAT || r->api == SRV_API_OLLAMA_CHAT)
        p = srv_render_chat(s, lm, r->msgs, r->n_msgs, e);
    else if (r->api == SRV_API_OLLAMA_GEN)
        p = generate_prompt(s, lm, r, e, templated);
    else {
        *templated = false;
        p = llmri_strdup(r->prompt ? r->prompt : "");
    }
    if (!p && !e->status)
        srv_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
    return p;
}

/* Submits to a local model's scheduler. A completion prompt is the user's text: its "<s>" is
 * text, not a control token. A rendered template's markers are control tokens, and the
 * template writes BOS itself when the model wants one (tokenizer.chat_template starts with
 * {{ bos_token }}), so BOS is only added to plain prompts. */
static int submit_local(llmr_server *s, srv_gen *g, const srv_req *r, const srv_msg *msgs,
                        int n_msgs, srv_error *e)
{
    bool templated;
    char *prompt = build_prompt(s, g->lm, r, msgs, n_msgs, &templated, e);
    if (!prompt)
        return e->status;
    bool lock = g->lm == &s->lm;
    if (lock)
        pthread_mutex_lock(&s->lock);
    const char *ct = g->lm->chat_template;
    bool add_bos = !templated || !ct || !strstr(ct, "bos_token");
    srv_sched *sc = g->lm->sched;
    if (lock)
        pthread_mutex_unlock(&s->lock);
    g->job = srv_sched_submit(sc, r, prompt, add_bos, templated, e);
    free(prompt);
    return g->job ? 0 : e->status;
}

/* ---- -m: the one model ------------------------------------------------------------------- */

static int start_single(llmr_server *s, const srv_req *r, const srv_msg *msgs, int n_msgs,
                        srv_gen *g, srv_error *e)
{
    int st = srv_model_take(s, r->model, e);
    if (st)
        return st;
    g->held = true;
    g->lm = &s->lm;
    pthread_mutex_lock(&s->lock);
    const char *own = s->alias ? s->alias : s->name;
    snprintf(g->model, sizeof g->model, "%s", r->model && r->model[0] ? r->model : own);
    snprintf(g->model_hdr, sizeof g->model_hdr, "%s", own);
    pthread_mutex_unlock(&s->lock);
    st = submit_local(s, g, r, msgs, n_msgs, e);
    if (st)
        srv_gen_end(g);
    return st;
}

/* ---- --config: candidates ---------------------------------------------------------------- */

/* Text the ranking estimates the request's size from. */
static char *route_text(const srv_req *r, const srv_msg *msgs, int n_msgs)
{
    if (!msgs && r->api != SRV_API_CHAT && r->api != SRV_API_OLLAMA_CHAT)
        return llmri_strdup(r->prompt ? r->prompt : "");
    if (!msgs) {
        msgs = r->msgs;
        n_msgs = r->n_msgs;
    }
    size_t n = 1;
    for (int i = 0; i < n_msgs; i++)
        n += strlen(msgs[i].content) + 1;
    char *t = malloc(n), *p = t;
    if (!t)
        return NULL;
    for (int i = 0; i < n_msgs; i++) {
        size_t k = strlen(msgs[i].content);
        memcpy(p, msgs[i].content, k);
        p += k;
        *p++ = '\n';
    }
    *p = 0;
    return t;
}

/* The entry a request's "model" names: an id or alias as it is, or with ollama's ":latest" or a
 * ".gguf" suffix taken off. Router mu held. */
static rt_entry *find_named(llmr_router *rt, const char *name)
{
    rt_entry *e = rt_find(rt, name);
    if (e)
        return e;
    char b[256];
    size_t n = strlen(name);
    if (n >= sizeof b)
        return NULL;
    memcpy(b, name, n + 1);
    if (n > 7 && !strcmp(b + n - 7, ":latest"))
        b[n - 7] = 0;
    else if (n > 5 && !strcmp(b + n - 5, ".gguf"))
        b[n - 5] = 0;
    else
        return NULL;
    return rt_find(rt, b);
}

static void log_fail(char *log, size_t cap, const char *id, const char *msg)
{
    size_t at = strlen(log);
    if (at + 4 < cap)
        snprintf(log + at, cap - at, "%s%s: %s", at ? "; " : "", id, msg);
}

/* Gives back a candidate that failed (or, ok, that served). */
static void release_entry(llmr_server *s, rt_entry *e, bool ok, bool health, int rc,
                          const char *msg, uint32_t tokens, double gen_s)
{
    pthread_mutex_lock(&s->router->mu);
    if (ok)
        rt_note_success(s->router, e);
    else if (health)
        rt_note_failure(s->router, e, rc, msg);
    rt_release(s->router, e, tokens, gen_s);
    pthread_mutex_unlock(&s->router->mu);
}

/* Tries a local candidate: load it (router), open its scheduler, submit. 0, or a status with
 * *e; *retry says whether the next candidate may take the request. */
static int try_local(llmr_server *s, rt_entry *ce, srv_gen *g, const srv_req *r,
                     const srv_msg *msgs, int n_msgs, srv_error *e, bool *retry)
{
    llmr_router *rt = s->router;
    llmr_err err = {0};
    char msg[400];
    pthread_mutex_lock(&rt->mu);
    int rc = ce->removed ? llmri_err_set(&err, LLMR_ERR_NOT_FOUND, "model '%s' was removed",
                                        ce->cfg.id)
                         : rt_acquire(rt, ce, &err);
    srv_lm *lm = NULL;
    if (rc == LLMR_OK && !(lm = srv_route_lm(s, ce, msg, sizeof msg))) {
        rc = LLMR_ERR;
        llmri_err_set(&err, rc, "model '%s': %s", ce->cfg.id, msg);
        rt_note_failure(rt, ce, rc, err.msg);
        rt_release(rt, ce, 0, 0);
    } else if (rc) {
        rt_note_failure(rt, ce, rc, err.msg);
    }
    pthread_mutex_unlock(&rt->mu);
    *retry = true;
    if (rc)
        return srv_error_set(e, 503, "server_error", "model_unavailable", "model", "%s",
                             err.msg);
    g->lm = lm;
    g->entry = ce;
    int st = submit_local(s, g, r, msgs, n_msgs, e);
    if (st) {
        /* a full queue or a prompt past this model's context: another model may take it; a
         * bad request fails everywhere */
        *retry = st == 503 || (e->code && !strcmp(e->code, "context_length_exceeded"));
        release_entry(s, ce, false, false, 0, "", 0, 0);
        g->entry = NULL;
        g->lm = NULL;
    }
    return st;
}

static srv_finish remote_finish(const char *f)
{
    return !strcmp(f, "length") ? SRV_FINISH_LENGTH : SRV_FINISH_STOP;
}

/* Reads the first piece of a begun remote request (or its end). */
static int remote_first(srv_gen *g, llmr_err *err)
{
    const char *text;
    size_t len;
    int rc = llmri_remote_step(g->rem, &text, &len, err);
    if (rc == LLMR_OK) {
        g->first = llmri_strndup(text, len);
        g->first_len = len;
        g->pieces = 1;
        g->t_first = llmri_now();
        return g->first ? LLMR_OK : llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory");
    }
    if (rc == LLMR_DONE) {
        g->rem_done = true;
        g->finish = remote_finish(llmri_remote_finish(g->rem));
        g->t_end = llmri_now();
        return LLMR_OK;
    }
    return rc;
}

static void gen_link(srv_gen *g, bool add)
{
    llmr_server *s = g->s;
    pthread_mutex_lock(&s->lock);
    if (add) {
        g->next = s->gens;
        s->gens = g;
    } else {
        for (srv_gen **pp = &s->gens; *pp; pp = &(*pp)->next)
            if (*pp == g) {
                *pp = g->next;
                break;
            }
    }
    pthread_mutex_unlock(&s->lock);
}

/* Tries a remote candidate: send the request, wait for its first piece. */
static int try_remote(llmr_server *s, rt_entry *ce, srv_gen *g, const srv_req *r,
                      const srv_msg *msgs, int n_msgs, srv_error *e)
{
    llmr_router *rt = s->router;
    llmr_err err = {0};
    pthread_mutex_lock(&rt->mu);
    llmr_remote_cfg rc_cfg = llmri_remote_defaults();
    int rc = ce->removed ? llmri_err_set(&err, LLMR_ERR_NOT_FOUND, "model '%s' was removed",
                                        ce->cfg.id)
                         : rt_acquire(rt, ce, &err);
    if (rc == LLMR_OK) {
        rc_cfg = rt_remote_cfg(rt, ce);   /* its strings live as long as the router */
        rc_cfg.alive = g->alive;
        rc_cfg.alive_user = g->alive_user;
    }
    pthread_mutex_unlock(&rt->mu);
    if (rc)
        return srv_error_set(e, 503, "server_error", "backend_unavailable", "model", "%s",
                             err.msg);
    g->entry = ce;
    g->t0 = llmri_now();
    rc = llmri_remote_open(&rc_cfg, &g->rem, &err);
    char *prompt = NULL;
    const char *roles[SRV_MAX_MSGS + 1], *contents[SRV_MAX_MSGS + 1];
    const char *stop[SRV_MAX_STOP + 1];
    llmr_remote_req q = llmri_remote_req_defaults();
    if (rc == LLMR_OK) {
        int mt = r->max_tokens > 0 && r->max_tokens < s->o.max_tokens ? r->max_tokens
                                                                      : s->o.max_tokens;
        q.max_tokens = mt;
        q.temperature = isnan(r->temperature) ? -1 : r->temperature;
        q.top_p = isnan(r->top_p) ? -1 : r->top_p;
        q.seed = r->has_seed && r->seed <= (uint64_t)INT64_MAX ? (int64_t)r->seed : -1;
        for (int i = 0; i < r->n_stop; i++)
            stop[i] = r->stop[i];
        stop[r->n_stop] = NULL;
        q.stop = stop;
        q.json_mode = r->json_object || r->json_schema;
        /* a chat backend gets the conversation itself; a completions one gets it as text */
        const srv_msg *m = msgs ? msgs : r->msgs;
        int nm = msgs ? n_msgs : r->n_msgs;
        if (rc_cfg.chat && is_chat(r, msgs)) {
            for (int i = 0; i < nm && i < SRV_MAX_MSGS; i++) {
                roles[i] = m[i].role;
                contents[i] = m[i].content;
            }
            q.msg_roles = roles;
            q.msg_contents = contents;
            q.n_msgs = (size_t)(nm < SRV_MAX_MSGS ? nm : SRV_MAX_MSGS);
        } else if (rc_cfg.chat && r->api == SRV_API_OLLAMA_GEN && r->system && r->system[0]) {
            roles[0] = "system";
            contents[0] = r->system;
            roles[1] = "user";
            contents[1] = r->prompt;
            q.msg_roles = roles;
            q.msg_contents = contents;
            q.n_msgs = 2;
        }
        bool templated;
        srv_error pe = {0};
        prompt = q.n_msgs ? NULL : build_prompt(s, NULL, r, msgs, n_msgs, &templated, &pe);
        if (!q.n_msgs && !prompt)
            rc = llmri_err_set(&err, LLMR_ERR_ARG, "%s", pe.msg);
    }
    if (rc == LLMR_OK) {
        gen_link(g, true);
        rc = llmri_remote_begin(g->rem, prompt ? prompt : "", &q, &err);
        if (rc == LLMR_OK)
            rc = remote_first(g, &err);
        if (rc)
            gen_link(g, false);
    }
    free(prompt);
    if (rc) {
        llmri_remote_close(g->rem);
        g->rem = NULL;
        g->entry = NULL;
        release_entry(s, ce, false, rc != LLMR_ERR_CANCELLED, rc, err.msg, 0, 0);
        return srv_error_set(e, rc == LLMR_ERR_CANCELLED ? 503 : 502, "server_error",
                             "backend_unavailable", "model", "%s", err.msg);
    }
    return 0;
}

/* Every candidate failed: wait before the next pass, as the router's own streams do - the
 * config's backoff doubling per pass up to its maximum, times a random factor in
 * [1 - jitter, 1] so that many clients do not retry in lockstep. */
static void backoff(llmr_router *rt, int round)
{
    pthread_mutex_lock(&rt->mu);
    double d = rt->cfg.backoff_ms * pow(2.0, round - 1);
    if (d > rt->cfg.backoff_max_ms)
        d = rt->cfg.backoff_max_ms;
    d *= 1.0 - rt->cfg.jitter * rt_rand01(&rt->rng);
    pthread_mutex_unlock(&rt->mu);
    struct timespec ts = {(time_t)(d / 1000), (long)(fmod(d, 1000.0) * 1e6)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int start_routed(llmr_server *s, const srv_req *r, const srv_msg *msgs, int n_msgs,
                        srv_gen *g, srv_error *e)
{
    llmr_router *rt = s->router;
    if (atomic_load(&s->stopping))
        return srv_error_set(e, 503, "server_error", "shutting_down", NULL,
                             "the server is shutting down");
    llmr_route_opts ro = llmr_route_defaults();
    const char *want = r->model && r->model[0] && strcmp(r->model, "auto") ? r->model : NULL;
    if (want) {
        pthread_mutex_lock(&rt->mu);
        rt_entry *ne = find_named(rt, want);
        ro.model = ne ? ne->cfg.id : want;   /* ids live as long as the router */
        pthread_mutex_unlock(&rt->mu);
    }
    ro.strategy = r->strategy;
    ro.chat = is_chat(r, msgs);
    ro.json = r->json_object || r->json_schema;
    llmr_gen_opts go = llmr_gen_defaults();
    go.max_tokens = r->max_tokens > 0 ? (uint32_t)r->max_tokens : 0;
    char *text = route_text(r, msgs, n_msgs);
    if (!text)
        return srv_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
    rt_entry *cand[MAX_TRY];
    size_t n = 0;
    int rc = rt_route(rt, text, &ro, &go, cand, MAX_TRY, &n);
    free(text);
    if (rc == LLMR_ERR_NOT_FOUND && want)
        return srv_error_set(e, 404, "invalid_request_error", "model_not_found", "model",
                             "%s (GET /v1/models lists them)", llmr_router_errmsg(rt));
    if (rc == LLMR_ERR_ARG)
        return srv_error_set(e, 400, "invalid_request_error", NULL, "strategy", "%s",
                             llmr_router_errmsg(rt));
    if (rc)
        return srv_error_set(e, 500, "server_error", NULL, NULL, "%s", llmr_router_errmsg(rt));
    if (n == 0)
        return srv_error_set(e, 400, "invalid_request_error", "no_eligible_model", NULL, "%s",
                             llmr_router_errmsg(rt));
    atomic_fetch_add(&s->in_flight, 1);
    g->counted = true;
    char log[1024] = "";
    int st = 503;
    size_t tried = 0;
    bool retry = true;
    for (int round = 0; retry && round < rt->cfg.max_rounds; round++) {
        if (round > 0)
            backoff(rt, round);
        for (size_t i = 0; i < n; i++, tried++) {
            rt_entry *ce = cand[i];
            memset(e, 0, sizeof *e);
            st = ce->cfg.backend >= 0 ? try_remote(s, ce, g, r, msgs, n_msgs, e)
                                      : try_local(s, ce, g, r, msgs, n_msgs, e, &retry);
            if (st == 0) {
                snprintf(g->model, sizeof g->model, "%s", ce->cfg.id);
                snprintf(g->model_hdr, sizeof g->model_hdr, "%s", ce->cfg.id);
                if (log[0])
                    fprintf(stderr, "llmr serve: %s answers after: %s\n", ce->cfg.id, log);
                return 0;
            }
            log_fail(log, sizeof log, ce->cfg.id, e->msg);
            if (atomic_load(&s->stopping))
                retry = false;
            if (!retry)
                break;
        }
    }
    atomic_fetch_sub(&s->in_flight, 1);
    g->counted = false;
    if (st >= 500) {
        /* 503 with Retry-After: every model may be back soon */
        srv_error last = *e;
        srv_error_set(e, 503, last.type, last.code, last.param, "%s%.900s",
                      tried > 0 ? "every candidate failed: " : "", log);
    }
    return e->status;
}

/* ---- the generation ---------------------------------------------------------------------- */

int srv_gen_start(llmr_server *s, const srv_req *r, const srv_msg *msgs, int n_msgs,
                  bool (*alive)(void *user), void *alive_user, srv_gen *g, srv_error *e)
{
    memset(g, 0, sizeof *g);
    memset(e, 0, sizeof *e);
    g->s = s;
    g->alive = alive;
    g->alive_user = alive_user;
    return s->router ? start_routed(s, r, msgs, n_msgs, g, e)
                     : start_single(s, r, msgs, n_msgs, g, e);
}

/* Replaces t's contents with one piece. */
static bool take_one(srv_take *t, const char *text, size_t len)
{
    t->n = 0;
    t->len = 0;
    if (len + 1 > t->cap) {
        char *p = realloc(t->text, len + 1);
        if (!p)
            return false;
        t->text = p;
        t->cap = len + 1;
    }
    if (t->cap_ends < 1) {
        size_t *p = realloc(t->ends, sizeof *p);
        if (!p)
            return false;
        t->ends = p;
        t->cap_ends = 1;
    }
    memcpy(t->text, text, len);
    t->text[len] = 0;
    t->len = len;
    t->ends[0] = len;
    t->n = 1;
    return true;
}

srv_job_state srv_gen_take(srv_gen *g, int timeout_ms, srv_take *t)
{
    if (g->job)
        return srv_job_take(g->job, timeout_ms, t);
    t->n = 0;
    t->len = 0;
    if (!g->rem)
        return SRV_JOB_DONE;
    if (g->first && !g->first_given) {
        g->first_given = true;
        take_one(t, g->first, g->first_len);
        return g->rem_done ? SRV_JOB_DONE : SRV_JOB_GEN;
    }
    if (g->rem_done)
        return SRV_JOB_DONE;
    const char *text;
    size_t len;
    llmr_err err = {0};
    int rc = llmri_remote_step(g->rem, &text, &len, &err);
    if (rc == LLMR_OK) {
        g->pieces++;
        if (!take_one(t, text, len)) {
            g->finish = SRV_FINISH_ERROR;
            snprintf(g->err, sizeof g->err, "out of memory");
            g->rem_done = true;
            g->t_end = llmri_now();
            return SRV_JOB_DONE;
        }
        return SRV_JOB_GEN;
    }
    g->rem_done = true;
    g->t_end = llmri_now();
    if (rc == LLMR_DONE) {
        g->finish = remote_finish(llmri_remote_finish(g->rem));
    } else if (rc == LLMR_ERR_CANCELLED) {
        g->finish = SRV_FINISH_CANCELLED;
    } else {
        g->finish = SRV_FINISH_ERROR;
        snprintf(g->err, sizeof g->err, "%.250s", err.msg);
    }
    return SRV_JOB_DONE;
}

void srv_gen_cancel(srv_gen *g)
{
    if (g->job)
        srv_job_cancel(g->job);
    else if (g->rem)
        llmri_remote_cancel(g->rem);
}

void srv_gen_usage(srv_gen *g, srv_usage *u)
{
    if (g->job) {
        srv_job_usage(g->job, u);
        return;
    }
    memset(u, 0, sizeof *u);
    double end = g->t_end > 0 ? g->t_end : llmri_now();
    u->completion_tokens = g->pieces;   /* a backend's pieces: one per token, as it streams */
    u->finish = g->finish;
    u->ttft_s = g->t_first > 0 ? g->t_first - g->t0 : 0;
    u->prompt_s = u->ttft_s;
    u->gen_s = g->t_first > 0 ? end - g->t_first : 0;
    u->total_s = end - g->t0;
    if (g->finish == SRV_FINISH_ERROR) {
        u->err_code = LLMR_ERR_NETWORK;
        snprintf(u->err_msg, sizeof u->err_msg, "%s", g->err);
    }
}

void srv_gen_end(srv_gen *g)
{
    llmr_server *s = g->s;
    srv_usage u = {0};
    if (g->job || g->rem)
        srv_gen_usage(g, &u);
    if (g->job)
        srv_job_release(g->job);
    g->job = NULL;
    if (g->rem) {
        gen_link(g, false);
        llmri_remote_end(g->rem);
        llmri_remote_close(g->rem);
        g->rem = NULL;
    }
    if (g->entry) {
        /* a backend that broke off mid-answer counts against it; a cancel does not */
        bool ok = u.finish != SRV_FINISH_ERROR;
        release_entry(s, g->entry, ok, true, LLMR_ERR_NETWORK, u.err_msg,
                      ok ? (uint32_t)u.completion_tokens : 0, u.gen_s);
        g->entry = NULL;
    }
    if (g->held)
        srv_model_put(s);
    if (g->counted)
        atomic_fetch_sub(&s->in_flight, 1);
    g->held = g->counted = false;
    free(g->first);
    g->first = NULL;
}

void srv_gen_cancel_all(llmr_server *s)
{
    pthread_mutex_lock(&s->lock);
    for (srv_gen *g = s->gens; g; g = g->next)
        if (g->rem)
            llmri_remote_cancel(g->rem);
    pthread_mutex_unlock(&s->lock);
}
