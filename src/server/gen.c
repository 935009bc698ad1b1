/* gen.c - one request's generation: the request's fields as library options, a routed
 * stream (llmr_router_stream_open, or llmr_router_chat_open for a conversation) and the job
 * that pulls it (job.h). Which model answers, failover before the first piece, backoff,
 * cooldowns, templates and remote backends are the router's; this file only turns a request
 * into the router's terms and the router's errors into HTTP statuses.
 *
 * An HTTP reply waits for the stream's first piece (or its end) before it begins, so a request
 * that no model can answer - every candidate failed, the queue is full, the prompt is past
 * the context - gets a status code, not a broken stream. */
#include "server/server_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define WAIT_MS 100     /* how often the first-piece wait looks at the client */

/* ---- the request as options ------------------------------------------------------------- */

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

static int gen_opts(const llmr_server *s, const srv_req *r, llmr_gen_opts *o,
                    llmr_logit_bias *bias, srv_error *e)
{
    if (r->max_tokens > s->o.max_tokens)
        return srv_error_set(e, 400, "invalid_request_error", NULL, "max_tokens",
                             "max_tokens is %d; this server allows at most %d (--max-tokens)",
                             r->max_tokens, s->o.max_tokens);
    *o = llmr_gen_defaults();
    sampling_from(r, &o->sampling, bias);
    o->max_tokens = r->max_tokens > 0 ? r->max_tokens : s->o.max_tokens;
    for (int i = 0; i < r->n_stop && i < LLMR_MAX_STOP; i++)
        o->stop[i] = r->stop[i];
    o->max_retries = 0;               /* a full queue is a 503 now, not a wait */
    o->progress_every = 0;
    o->max_prompt_tokens = s->o.max_prompt > 0 ? (uint32_t)s->o.max_prompt : 0;
    o->logprobs = r->logprobs;
    o->top_logprobs = r->top_logprobs;
    o->split_reasoning = r->split_reasoning;
    return 0;
}

/* The HTTP error for a stream that failed before its first piece. */
static int stream_error(const srv_req *r, bool named, int rc, const char *msg, srv_error *e)
{
    bool json = r->json_schema || r->json_object;
    switch (rc) {
    case LLMR_ERR_NOT_FOUND:
        if (named)
            return srv_error_set(e, 404, "invalid_request_error", "model_not_found", "model",
                                 "%s (GET /v1/models lists them)", msg);
        return srv_error_set(e, 400, "invalid_request_error", "no_eligible_model", NULL, "%s",
                             msg);
    case LLMR_ERR_CONTEXT:
        return srv_error_set(e, 400, "invalid_request_error", "context_length_exceeded",
                             r->msgs ? "messages" : "prompt", "%s", msg);
    case LLMR_ERR_ARG:
    case LLMR_ERR_FORMAT:
    case LLMR_ERR_UNSUPPORTED:
        return srv_error_set(e, 400, "invalid_request_error", NULL,
                             strstr(msg, "strategy") ? "strategy" : json ? "response_format"
                                                                         : NULL,
                             "%s", msg);
    case LLMR_ERR_BUSY:
        return srv_error_set(e, 503, "overloaded_error", "server_busy", NULL,
                             "the server is busy: %s; retry later", msg);
    case LLMR_ERR_NOMEM:
        return srv_error_set(e, 500, "server_error", NULL, NULL, "%s", msg);
    default:
        /* every candidate failed (a dead backend, a model that does not load): 503 with
         * Retry-After, as they may be back soon */
        return srv_error_set(e, 503, "server_error", "backend_unavailable", "model", "%s", msg);
    }
}

/* ---- opening the stream ----------------------------------------------------------------- */

/* Opens the request's routed stream. msgs (the WebSocket history) or the request's own. */
static int open_stream(llmr_server *s, const srv_req *r, const srv_msg *msgs, int n_msgs,
                       const llmr_gen_opts *go, bool (*alive)(void *), void *alive_user,
                       llmr_stream **st, srv_error *e)
{
    llmr_route_opts ro = llmr_route_defaults();
    ro.alive = alive;                  /* a client who leaves stops a backend's wait at once */
    ro.alive_user = alive_user;
    if (s->single)
        ro.min_context = 1;            /* the model itself says whether the prompt fits */
    bool named = r->model && r->model[0] && strcmp(r->model, "auto");
    ro.model = named ? r->model : NULL;
    ro.strategy = r->strategy;
    ro.json = r->json_object || r->json_schema;
    ro.messages_json = r->messages_json;
    ro.tools = r->tools;
    ro.tool_choice = r->tool_choice;
    ro.parallel_tool_calls = r->parallel_tool_calls;
    llmr_gen_opts o = *go;
    const srv_msg *m = msgs ? msgs : r->msgs;
    int nm = msgs ? n_msgs : r->n_msgs;
    bool chat = msgs || r->api == SRV_API_CHAT || r->api == SRV_API_OLLAMA_CHAT;
    llmr_chat_msg conv[2];
    int rc;
    if (!chat && r->api == SRV_API_OLLAMA_GEN && !r->raw) {
        /* ollama's /api/generate: system and prompt through the model's template, or as
         * plain text joined by a blank line when it has none */
        int n = 0;
        if (r->system && r->system[0])
            conv[n++] = (llmr_chat_msg){"system", r->system};
        conv[n++] = (llmr_chat_msg){"user", r->prompt ? r->prompt : ""};
        ro.raw_without_template = true;
        rc = llmr_router_chat_open(s->models, conv, (size_t)n, &ro, &o, st);
    } else if (chat) {
        /* srv_msg and llmr_chat_msg are the same two strings */
        llmr_chat_msg *cm = calloc((size_t)nm + 1, sizeof *cm);
        if (!cm)
            return srv_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
        for (int i = 0; i < nm; i++)
            cm[i] = (llmr_chat_msg){m[i].role, m[i].content};
        rc = llmr_router_chat_open(s->models, cm, (size_t)nm, &ro, &o, st);
        free(cm);
    } else {
        /* a completion prompt is the user's text: its "<s>" is text, not a control token */
        o.add_bos = true;
        o.parse_special = false;
        rc = llmr_router_stream_open(s->models, r->prompt ? r->prompt : "", &ro, &o, st);
    }
    if (rc == LLMR_OK)
        return 0;
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", *st ? llmr_stream_errmsg(*st) : llmr_router_errmsg(s->models));
    llmr_stream_close(*st);
    *st = NULL;
    return stream_error(r, named, rc, msg, e);
}

/* Whether an error before the first piece is about finding a model to answer (a status
 * code) rather than about the answer (a model's own failure: in the reply, as any error
 * during generation is). */
static bool routing_error(int rc)
{
    return rc == LLMR_ERR_NETWORK || rc == LLMR_ERR_BUSY || rc == LLMR_ERR_NOT_FOUND ||
           rc == LLMR_ERR_CONTEXT || rc == LLMR_ERR_UNSUPPORTED || rc == LLMR_ERR_CANCELLED;
}

/* HTTP replies begin once the first piece is there (or the stream ended): until then a
 * failure is still a status code. The pieces taken wait in g->first for the first take. */
static int wait_first(srv_gen *g, const srv_req *r, bool (*alive)(void *), void *alive_user,
                      srv_error *e)
{
    double t0 = llmri_now(), limit = g->s->o.timeout_s;
    for (;;) {
        g->first_state = srv_job_take(g->job, WAIT_MS, &g->first);
        if (g->first.n > 0)
            break;
        if (g->first_state != SRV_JOB_DONE) {
            /* the client left while its request waited, or the time limit passed: the
             * stream ends as cancelled and the reply says so */
            if ((alive && !alive(alive_user)) || (limit > 0 && llmri_now() - t0 > limit))
                srv_job_cancel(g->job);
            continue;
        }
        srv_usage u;                        /* ended before any text */
        srv_job_usage(g->job, &u);
        if (u.finish == SRV_FINISH_ERROR && routing_error(u.err_code)) {
            bool named = r->model && r->model[0] && strcmp(r->model, "auto");
            return stream_error(r, named, u.err_code, u.err_msg, e);
        }
        break;
    }
    g->first_pending = true;
    return 0;
}

/* The model that answers, for "model" fields and X-LLMR-Model. */
static void name_model(llmr_server *s, const srv_req *r, srv_gen *g)
{
    char id[160];
    srv_job_model(g->job, id, sizeof id);
    snprintf(g->model_hdr, sizeof g->model_hdr, "%s", id);
    /* -m echoes the name the request used, as a one-model server answers to any of its
     * names; a router names the model that answered */
    bool echo = s->single && r->model && r->model[0];
    snprintf(g->model, sizeof g->model, "%s", echo ? r->model : id);
}

int srv_gen_start(llmr_server *s, const srv_req *r, const srv_msg *msgs, int n_msgs,
                  unsigned flags, bool (*alive)(void *user), void *alive_user, srv_gen *g,
                  srv_error *e)
{
    memset(g, 0, sizeof *g);
    memset(e, 0, sizeof *e);
    g->s = s;
    int st;
    if (s->single) {
        if ((st = srv_model_take(s, r->model, e)))
            return st;
        g->held = true;
    } else {
        if (atomic_load(&s->stopping))
            return srv_error_set(e, 503, "server_error", "shutting_down", NULL,
                                 "the server is shutting down");
        atomic_fetch_add(&s->in_flight, 1);
    }
    g->counted = true;
    llmr_gen_opts o;
    llmr_logit_bias *bias = calloc((size_t)r->n_bias + 1, sizeof *bias);
    llmr_stream *stream = NULL;
    st = bias ? gen_opts(s, r, &o, bias, e)
              : srv_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
    if (!st)
        st = open_stream(s, r, msgs, n_msgs, &o, alive, alive_user, &stream, e);
    free(bias);
    if (!st) {
        g->tools = r->tools && !(r->tool_choice && !strcmp(r->tool_choice, "none"));
        unsigned jf = (flags & SRV_GEN_PAUSED ? SRV_JOB_PAUSED : 0) |
                      (g->tools ? SRV_JOB_TOOLS : 0) | (r->logprobs ? SRV_JOB_LOGPROBS : 0);
        g->logprobs = r->logprobs;
        g->job = srv_job_start(s->jobs, s->models, stream, jf, e);
        st = g->job ? 0 : e->status;
    }
    if (!st && (flags & SRV_GEN_WAIT_FIRST))
        st = wait_first(g, r, alive, alive_user, e);
    if (st) {
        srv_gen_end(g);
        return st;
    }
    name_model(s, r, g);
    return 0;
}

/* ---- the generation --------------------------------------------------------------------- */

static void take_swap(srv_take *a, srv_take *b)
{
    srv_take t = *a;
    *a = *b;
    *b = t;
}

srv_job_state srv_gen_take(srv_gen *g, int timeout_ms, srv_take *t)
{
    if (!g->job) {
        t->n = 0;
        t->len = 0;
        return SRV_JOB_DONE;
    }
    if (g->first_pending) {
        g->first_pending = false;
        take_swap(t, &g->first);
        if (t->n > 0)
            return SRV_JOB_GEN;
    }
    return srv_job_take(g->job, timeout_ms, t);
}

void srv_gen_cancel(srv_gen *g)
{
    srv_job_cancel(g->job);
}

void srv_gen_pause(srv_gen *g, bool paused)
{
    srv_job_pause(g->job, paused);
}

cJSON *srv_gen_calls(srv_gen *g)
{
    const char *js = g->job && g->tools ? srv_job_tool_calls(g->job) : NULL;
    cJSON *o = js ? cJSON_Parse(js) : NULL;
    if (o && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "tool_calls")) > 0)
        return o;
    cJSON_Delete(o);
    return NULL;
}

void srv_gen_usage(srv_gen *g, srv_usage *u)
{
    if (g->job)
        srv_job_usage(g->job, u);
    else
        memset(u, 0, sizeof *u);
}

void srv_gen_end(srv_gen *g)
{
    llmr_server *s = g->s;
    if (g->job)
        srv_job_release(g->job);
    g->job = NULL;
    srv_take_free(&g->first);
    cJSON_Delete(g->lp_text);
    g->lp_text = NULL;
    if (g->held)
        srv_model_put(s);
    else if (g->counted)
        atomic_fetch_sub(&s->in_flight, 1);
    g->held = g->counted = false;
}

int srv_handle_generation(struct mg_connection *c, llmr_server *s, srv_api api,
                          srv_accept_fn accept, srv_reply_fn reply, void *user)
{
    srv_ctx x;
    srv_ctx_init(&x, s, c, api);
    atomic_fetch_add(&s->m.requests[api], 1);
    srv_req r;
    srv_gen g;                 /* x.model_hdr points into it until the access log is written */
    if (accept ? accept(&x, user, &r) : srv_accept_generation(&x, api, &r)) {
        srv_error e = {0};
        if (srv_gen_start(s, &r, NULL, 0, SRV_GEN_WAIT_FIRST, srv_client_alive_cb, &x, &g, &e)) {
            srv_reply_error(&x, &e);
        } else {
            x.model_hdr = g.model_hdr;
            reply(&x, &r, &g, user);
            srv_gen_end(&g);
        }
        srv_req_free(&r);
    }
    srv_access_log(&x);
    return 1;
}

void srv_gen_cancel_all(llmr_server *s)
{
    srv_jobs_cancel_all(s->jobs);
}
