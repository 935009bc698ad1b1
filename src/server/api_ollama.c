/* api_ollama.c - ollama's API (docs/api.md): POST /api/generate and /api/chat stream NDJSON
 * (application/x-ndjson), one object per line:
 *   {"model","created_at","response":"piece","done":false}                      (generate)
 *   {"model","created_at","message":{"role":"assistant","content":"piece"},"done":false} (chat)
 * and a last line with "done":true, "done_reason" ("stop" | "length"), total_duration,
 * load_duration, prompt_eval_count, prompt_eval_duration, eval_count, eval_duration
 * (durations in nanoseconds). "stream": false sends that last object alone with the whole
 * text. With "logprobs": true, each line has "logprobs": [{"token", "logprob", "bytes",
 * "top_logprobs": [...]}] for the tokens of its text (not of its thinking), as ollama 0.12.
 * GET /api/tags, /api/ps and /api/version describe the model and the server; a model's
 * "digest" is its file's sha256 in hex, as ollama gives its blobs'.
 */
#include "server/server_int.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/util.h"
#include "llmr_version.h"
#include "core/digest.h"

typedef struct ol_stream {
    srv_ctx *x;
    const char *model;
    bool chat;
    bool ok;
    bool tools;          /* the reply is held until its calls are read (gen tools) */
    llmr_buf held;
    srv_gen *g;
    cJSON *held_lp;      /* the tokens of the held text */
} ol_stream;

/* Line o gets "logprobs": the tokens in entries (a copy), when the request asked for them. */
static void add_logprobs(ol_stream *st, cJSON *o, const cJSON *entries)
{
    if (st->g->logprobs)
        cJSON_AddItemToObject(o, "logprobs", entries ? cJSON_Duplicate(entries, true)
                                                     : cJSON_CreateArray());
}

static cJSON *line_head(ol_stream *st, const char *text, size_t len)
{
    cJSON *o = cJSON_CreateObject();
    char when[48];
    srv_iso_time(when, sizeof when);
    cJSON_AddStringToObject(o, "model", st->model);
    cJSON_AddStringToObject(o, "created_at", when);
    char *t = llmri_strndup(text, len);
    if (st->chat) {
        cJSON *m = cJSON_AddObjectToObject(o, "message");
        cJSON_AddStringToObject(m, "role", "assistant");
        cJSON_AddStringToObject(m, "content", t ? t : "");
    } else {
        cJSON_AddStringToObject(o, "response", t ? t : "");
    }
    free(t);
    return o;
}

/* A line whose text is reasoning: ollama's message.thinking (chat) or thinking (generate). */
static cJSON *line_thought(ol_stream *st, const char *text, size_t len)
{
    cJSON *o = line_head(st, "", 0);
    char *t = llmri_strndup(text, len);
    cJSON_AddStringToObject(st->chat ? cJSON_GetObjectItemCaseSensitive(o, "message") : o,
                            "thinking", t ? t : "");
    free(t);
    return o;
}

static char *line_text(cJSON *o, size_t *n)
{
    char *js = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!js)
        return NULL;
    *n = strlen(js);
    char *l = realloc(js, *n + 2);
    if (!l) {
        free(js);
        return NULL;
    }
    l[(*n)++] = '\n';
    l[*n] = 0;
    return l;
}

static bool send_line(ol_stream *st, cJSON *o)
{
    size_t n;
    char *l = line_text(o, &n);
    bool ok = l && srv_stream_write(st->x, l, n);
    free(l);
    return ok;
}

static bool emit_piece(void *user, const char *text, size_t len, bool thought)
{
    ol_stream *st = user;
    if (st->tools && !thought) { /* text that may be a call is not content until the end */
        const cJSON *e;
        if (st->g->piece_lp && !st->held_lp)
            st->held_lp = cJSON_CreateArray();
        cJSON_ArrayForEach(e, st->g->piece_lp)
            cJSON_AddItemToArray(st->held_lp, cJSON_Duplicate(e, true));
        return st->ok = llmri_buf_append(&st->held, text, len);
    }
    cJSON *o = thought ? line_thought(st, text, len) : line_head(st, text, len);
    if (!thought)
        add_logprobs(st, o, st->g->piece_lp);
    cJSON_AddBoolToObject(o, "done", false);
    return st->ok = send_line(st, o);
}

/* The message of a reply with tools, as ollama writes it: the text outside the calls as
 * content, and each call as {"function": {"name", "arguments": OBJECT}}. NULL when the reply
 * (text) made no calls. */
static cJSON *calls_message(ol_stream *st, srv_gen *g)
{
    cJSON *tc = srv_gen_calls(g);
    if (!tc)
        return NULL;
    const cJSON *calls = cJSON_GetObjectItemCaseSensitive(tc, "tool_calls");
    const char *content = cJSON_GetObjectItemCaseSensitive(tc, "content")->valuestring;
    cJSON *o = line_head(st, content, strlen(content));
    cJSON *arr = cJSON_AddArrayToObject(cJSON_GetObjectItemCaseSensitive(o, "message"),
                                        "tool_calls");
    const cJSON *c;
    cJSON_ArrayForEach(c, calls) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(c, "function");
        cJSON *x = cJSON_CreateObject(), *xf = cJSON_AddObjectToObject(x, "function");
        cJSON_AddStringToObject(xf, "name",
                                cJSON_GetObjectItemCaseSensitive(f, "name")->valuestring);
        cJSON *args = cJSON_Parse(cJSON_GetObjectItemCaseSensitive(f, "arguments")->valuestring);
        cJSON_AddItemToObject(xf, "arguments", args ? args : cJSON_CreateObject());
        cJSON_AddItemToArray(arr, x);
    }
    cJSON_Delete(tc);
    return o;
}

static void add_done(cJSON *o, const srv_usage *u)
{
    cJSON_AddBoolToObject(o, "done", true);
    cJSON_AddStringToObject(o, "done_reason", u->finish == SRV_FINISH_STOP ? "stop" : "length");
    cJSON_AddNumberToObject(o, "total_duration", (double)(long long)(u->total_s * 1e9));
    /* The model is loaded once, at start: the wait for a slot is what delays this request. */
    cJSON_AddNumberToObject(o, "load_duration", (double)(long long)(u->queue_s * 1e9));
    cJSON_AddNumberToObject(o, "prompt_eval_count", u->prompt_tokens);
    cJSON_AddNumberToObject(o, "prompt_eval_duration", (double)(long long)(u->prompt_s * 1e9));
    cJSON_AddNumberToObject(o, "eval_count", u->completion_tokens);
    cJSON_AddNumberToObject(o, "eval_duration", (double)(long long)(u->gen_s * 1e9));
}

/* Streamed: one line per piece, then the held reply of a request with tools (its calls or
 * its text) and the "done" line. */
static void stream_reply(ol_stream *st, srv_gen *g)
{
    srv_ctx *x = st->x;
    if (!srv_stream_begin(x, "application/x-ndjson"))
        return;
    st->ok = true;
    bool live = srv_pump(x, g, emit_piece, st);
    srv_usage u;
    srv_gen_usage(g, &u);
    srv_note_usage(x, &u);
    if (!live || !st->ok)
        return;
    cJSON *o;
    if (u.finish == SRV_FINISH_ERROR) {
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", st->model);
        cJSON_AddStringToObject(o, "error", u.err_msg);
    } else {
        cJSON *msg = st->tools ? calls_message(st, g) : NULL;
        if (!msg && st->tools && st->held.len)
            msg = line_head(st, st->held.p, st->held.len);
        if (msg) {
            add_logprobs(st, msg, st->held_lp);
            cJSON_AddBoolToObject(msg, "done", false);
            send_line(st, msg);
        }
        o = line_head(st, "", 0);
        add_done(o, &u);
    }
    send_line(st, o);
    srv_stream_end(x);
}

static void whole_reply(ol_stream *st, srv_gen *g)
{
    char *text = NULL, *thought = NULL;
    size_t tl = 0;
    bool live = srv_wait_all(st->x, g, &text, &tl, &thought);
    srv_usage u;
    srv_gen_usage(g, &u);
    srv_note_usage(st->x, &u);
    if (live && u.finish == SRV_FINISH_ERROR) {
        srv_reply_errorf(st->x, 500, "server_error", NULL, "generation failed: %s", u.err_msg);
    } else if (live) {
        cJSON *o = st->tools ? calls_message(st, g) : NULL;
        if (!o)
            o = line_head(st, text ? text : "", tl);
        if (thought)
            cJSON_AddStringToObject(st->chat ? cJSON_GetObjectItemCaseSensitive(o, "message") : o,
                                    "thinking", thought);
        add_logprobs(st, o, g->lp_text);
        add_done(o, &u);
        srv_reply_cjson(st->x, 200, o);
    }
    free(text);
    free(thought);
}

static void reply(srv_ctx *x, const srv_req *r, srv_gen *g, void *user)
{
    (void)user;
    ol_stream st = {.x = x, .chat = r->api == SRV_API_OLLAMA_CHAT, .model = g->model,
                    .tools = g->tools, .g = g};
    if (r->stream)
        stream_reply(&st, g);
    else
        whole_reply(&st, g);
    llmri_buf_free(&st.held);
    cJSON_Delete(st.held_lp);
}

int srv_h_ollama_generate(struct mg_connection *c, void *s)
{
    return srv_handle_generation(c, s, SRV_API_OLLAMA_GEN, NULL, reply, NULL);
}

int srv_h_ollama_chat(struct mg_connection *c, void *s)
{
    return srv_handle_generation(c, s, SRV_API_OLLAMA_CHAT, NULL, reply, NULL);
}

cJSON *srv_ollama_entry(const char *id, const char *digest, uint64_t size,
                        const cJSON *details, bool ps)
{
    cJSON *m = cJSON_CreateObject();
    char name[300];
    snprintf(name, sizeof name, "%s:latest", id);
    cJSON_AddStringToObject(m, "name", name);
    cJSON_AddStringToObject(m, "model", name);
    char when[48];
    srv_iso_time(when, sizeof when);
    if (!ps)
        cJSON_AddStringToObject(m, "modified_at", when);
    cJSON_AddNumberToObject(m, "size", (double)size);
    cJSON_AddStringToObject(m, "digest", digest);
    cJSON *d = cJSON_AddObjectToObject(m, "details");
    cJSON_AddStringToObject(d, "parent_model", "");
    cJSON_AddStringToObject(d, "format", details ? "gguf" : "unknown");
    if (details) {
        static const char *const keys[] = {"family", "parameter_size", "quantization_level"};
        for (size_t i = 0; i < 3; i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(details, keys[i]);
            cJSON_AddStringToObject(d, keys[i], cJSON_IsString(v) ? v->valuestring : "");
            if (i == 0) {
                cJSON *fs = cJSON_AddArrayToObject(d, "families");
                cJSON_AddItemToArray(fs, cJSON_CreateString(cJSON_IsString(v) ? v->valuestring
                                                                                : ""));
            }
        }
    }
    if (ps) {
        cJSON_AddStringToObject(m, "expires_at", "2099-01-01T00:00:00Z");
        cJSON_AddNumberToObject(m, "size_vram", 0);
    }
    return m;
}

static int list_models(struct mg_connection *c, void *ud, bool ps)
{
    llmr_server *s = ud;
    srv_ctx x;
    srv_ctx_init(&x, s, c, SRV_API_OLLAMA_GEN);
    atomic_fetch_add(&s->m.requests[SRV_REQ_OTHER], 1);
    if (srv_check(&x, "GET", SRV_KEY)) {
        if (srv_models_hold(s)) {
            srv_route_models_ollama(&x, ps);
            srv_models_put(s);
        } else {
            srv_reply_json(&x, 200, "{\"models\":[]}", NULL);
        }
    }
    srv_access_log(&x);
    return 1;
}

int srv_h_ollama_tags(struct mg_connection *c, void *s)
{
    return list_models(c, s, false);
}

int srv_h_ollama_ps(struct mg_connection *c, void *s)
{
    return list_models(c, s, true);
}

int srv_h_ollama_version(struct mg_connection *c, void *ud)
{
    srv_ctx x;
    srv_ctx_init(&x, ud, c, SRV_API_OLLAMA_GEN);
    if (srv_check(&x, "GET", SRV_KEY))
        srv_reply_json(&x, 200, "{\"version\":\"" LLMR_VERSION_STRING "\"}", NULL);
    srv_access_log(&x);
    return 1;
}

/* POST /api/show {"model": NAME, "verbose": bool}: what the model's file says (the router's
 * llmr_router_model_info_json), in ollama's shape: modelfile, parameters, template, details,
 * model_info (the GGUF metadata), capabilities. */
static cJSON *show_reply(const cJSON *info)
{
    cJSON *o = cJSON_CreateObject();
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(info, "file");
    const cJSON *tmpl = cJSON_GetObjectItemCaseSensitive(info, "template");
    const char *t = cJSON_IsString(tmpl) ? tmpl->valuestring : "";
    llmr_buf mf = {0};
    llmri_buf_printf(&mf, "# Modelfile generated by llmr\nFROM %s\n",
                     cJSON_IsString(file) ? file->valuestring : "remote");
    if (t[0])
        llmri_buf_printf(&mf, "TEMPLATE \"\"\"%s\"\"\"\n", t);
    cJSON_AddStringToObject(o, "modelfile", mf.p ? mf.p : "");
    llmri_buf_free(&mf);
    cJSON_AddStringToObject(o, "parameters", "");
    cJSON_AddStringToObject(o, "template", t);
    cJSON *d = cJSON_AddObjectToObject(o, "details");
    const cJSON *det = cJSON_GetObjectItemCaseSensitive(info, "details");
    cJSON_AddStringToObject(d, "parent_model", "");
    cJSON_AddStringToObject(d, "format", det ? "gguf" : "unknown");
    static const char *const keys[] = {"family", "parameter_size", "quantization_level"};
    for (int k = 0; k < 3; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(det, keys[k]);
        cJSON_AddStringToObject(d, keys[k], cJSON_IsString(v) ? v->valuestring : "");
        if (k == 0)
            cJSON_AddItemToArray(cJSON_AddArrayToObject(d, "families"),
                                 cJSON_CreateString(cJSON_IsString(v) ? v->valuestring : ""));
    }
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(info, "metadata");
    cJSON *mi = md ? cJSON_Duplicate(md, true) : cJSON_CreateObject();
    const cJSON *np = cJSON_GetObjectItemCaseSensitive(det, "parameters");
    if (cJSON_IsNumber(np) && !cJSON_GetObjectItemCaseSensitive(mi, "general.parameter_count"))
        cJSON_AddNumberToObject(mi, "general.parameter_count", np->valuedouble);
    cJSON_AddItemToObject(o, "model_info", mi);
    cJSON *caps = cJSON_AddArrayToObject(o, "capabilities");
    cJSON_AddItemToArray(caps, cJSON_CreateString("completion"));
    if (strstr(t, "tools"))
        cJSON_AddItemToArray(caps, cJSON_CreateString("tools"));
    if (strstr(t, "<think>"))
        cJSON_AddItemToArray(caps, cJSON_CreateString("thinking"));
    char when[48];
    srv_iso_time(when, sizeof when);
    cJSON_AddStringToObject(o, "modified_at", when);
    return o;
}

int srv_h_ollama_show(struct mg_connection *c, void *ud)
{
    llmr_server *s = ud;
    srv_ctx x;
    srv_ctx_init(&x, s, c, SRV_API_OLLAMA_GEN);
    atomic_fetch_add(&s->m.requests[SRV_REQ_OTHER], 1);
    if (!srv_check(&x, "POST", SRV_KEY))
        goto out;
    cJSON *in = srv_read_json(&x);
    if (!in)
        goto out;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(in, "model");
    if (!cJSON_IsString(m))
        m = cJSON_GetObjectItemCaseSensitive(in, "name");    /* the older spelling */
    bool verbose = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(in, "verbose"));
    if (!cJSON_IsString(m) || !m->valuestring[0] || strlen(m->valuestring) > 1000) {
        srv_reply_errorf(&x, 400, "invalid_request_error", NULL, "missing field 'model'");
    } else if (!srv_models_hold(s)) {
        srv_reply_errorf(&x, 503, "server_error", "model_loading", "the model is loading");
    } else {
        char *js = NULL;
        int rc = llmr_router_model_info_json(s->models, m->valuestring, verbose, &js);
        char why[300];
        snprintf(why, sizeof why, "%s", llmr_router_errmsg(s->models));
        srv_models_put(s);
        cJSON *info = rc ? NULL : cJSON_Parse(js);
        free(js);
        if (rc == LLMR_ERR_NOT_FOUND)
            srv_reply_errorf(&x, 404, "invalid_request_error", "model_not_found",
                             "model '%.200s' not found (%s)", m->valuestring, why);
        else if (!info)
            srv_reply_errorf(&x, 500, "server_error", NULL, "%s", rc ? why : "out of memory");
        else
            srv_reply_cjson(&x, 200, show_reply(info));
        cJSON_Delete(info);
    }
    cJSON_Delete(in);
out:
    srv_access_log(&x);
    return 1;
}
