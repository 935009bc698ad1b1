/* api_openai.c - POST /v1/chat/completions, POST /v1/completions, GET /v1/models.
 *
 * Streaming follows OpenAI's chunk shapes (API reference, "The chat completion chunk object"):
 *   data: {"id","object":"chat.completion.chunk","created","model","system_fingerprint",
 *          "choices":[{"index":0,"delta":{"role":"assistant","content":""},
 *                      "logprobs":null,"finish_reason":null}]}
 *   data: {... "delta":{"content":"piece"} ...}                 (one per batch of text)
 *   data: {... "delta":{}, "finish_reason":"stop"|"length"}      (the final choice chunk)
 *   data: {... "choices":[], "usage":{...}}                      (only with include_usage;
 *                                                                  then every chunk carries
 *                                                                  "usage":null before it)
 *   data: [DONE]
 * /v1/completions streams "text_completion" objects with choices[].text the same way.
 *
 * With logprobs, a choice's "logprobs" holds the tokens of its text (not of its reasoning):
 * chat's {"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}], "refusal": null}
 * (API reference, "The chat completion object"), completions' legacy {"tokens",
 * "token_logprobs", "top_logprobs": [{TOKEN: LOGPROB}], "text_offset"}, each chunk with the
 * tokens of its text.
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

typedef struct oa_stream {
    srv_ctx *x;
    const srv_req *r;
    char id[48];
    long created;
    const char *model;
    bool chat;
    bool ok;
    bool tools;          /* the reply is held until its calls are read (gen tools) */
    llmr_buf held;
    srv_gen *g;
    const cJSON *lp_now; /* the tokens of the choice being written (borrowed), or NULL */
    cJSON *held_lp;      /* the tokens of the held text */
    size_t text_off;     /* completions: code points of the text so far (text_offset) */
} oa_stream;

/* A choice's "logprobs" for the tokens in entries (srv_take's shape), or null. */
static cJSON *choice_logprobs(oa_stream *st, const cJSON *entries)
{
    if (!st->r->logprobs || !entries)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    if (st->chat) {
        cJSON_AddItemToObject(o, "content", cJSON_Duplicate(entries, true));
        cJSON_AddNullToObject(o, "refusal");
        return o;
    }
    cJSON *tokens = cJSON_AddArrayToObject(o, "tokens");
    cJSON *lps = cJSON_AddArrayToObject(o, "token_logprobs");
    cJSON *tops = cJSON_AddArrayToObject(o, "top_logprobs");
    cJSON *offs = cJSON_AddArrayToObject(o, "text_offset");
    const cJSON *e;
    cJSON_ArrayForEach(e, entries) {
        cJSON_AddItemToArray(tokens, cJSON_Duplicate(cJSON_GetObjectItem(e, "token"), false));
        cJSON_AddItemToArray(lps, cJSON_Duplicate(cJSON_GetObjectItem(e, "logprob"), false));
        cJSON *top = cJSON_CreateObject(), *a;
        cJSON_ArrayForEach(a, cJSON_GetObjectItem(e, "top_logprobs"))
            if (!cJSON_GetObjectItemCaseSensitive(top, cJSON_GetObjectItem(a, "token")->valuestring))
                cJSON_AddNumberToObject(top, cJSON_GetObjectItem(a, "token")->valuestring,
                                        cJSON_GetObjectItem(a, "logprob")->valuedouble);
        cJSON_AddItemToArray(tops, top);
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)st->text_off));
        /* offsets in code points of the completion, as a client's string indexes count */
        cJSON_ArrayForEach(a, cJSON_GetObjectItem(e, "bytes"))
            st->text_off += ((int)a->valuedouble & 0xC0) != 0x80;
    }
    return o;
}

static cJSON *chunk_head(oa_stream *st)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", st->id);
    cJSON_AddStringToObject(o, "object", st->chat ? "chat.completion.chunk" : "text_completion");
    cJSON_AddNumberToObject(o, "created", (double)st->created);
    cJSON_AddStringToObject(o, "model", st->model);
    cJSON_AddStringToObject(o, "system_fingerprint", "llmr-" LLMR_VERSION_STRING);
    return o;
}

/* One choice: delta (chat) or text (completions); finish NULL while streaming. */
static void add_choice(oa_stream *st, cJSON *o, const char *text, size_t len, bool role,
                       const char *finish)
{
    cJSON *arr = cJSON_AddArrayToObject(o, "choices");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddItemToArray(arr, c);
    cJSON_AddNumberToObject(c, "index", 0);
    char *t = llmri_strndup(text ? text : "", text ? len : 0);
    if (st->chat) {
        cJSON *d = cJSON_AddObjectToObject(c, "delta");
        if (role)
            cJSON_AddStringToObject(d, "role", "assistant");
        if (text)
            cJSON_AddStringToObject(d, "content", t ? t : "");
    } else {
        cJSON_AddStringToObject(c, "text", t ? t : "");
    }
    free(t);
    cJSON_AddItemToObject(c, "logprobs", choice_logprobs(st, st->lp_now));
    if (finish)
        cJSON_AddStringToObject(c, "finish_reason", finish);
    else
        cJSON_AddNullToObject(c, "finish_reason");
    if (st->r->include_usage)
        cJSON_AddNullToObject(o, "usage");
}

static bool send_event(oa_stream *st, cJSON *o)
{
    char *js = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!js)
        return false;
    size_t n = strlen(js);
    char *ev = malloc(n + 10);
    if (!ev) {
        free(js);
        return false;
    }
    memcpy(ev, "data: ", 6);
    memcpy(ev + 6, js, n);
    memcpy(ev + 6 + n, "\n\n", 2);
    bool ok = srv_stream_write(st->x, ev, n + 8);
    free(ev);
    free(js);
    return ok;
}

/* The tokens of held text wait with it. */
static bool hold_lp(oa_stream *st, const cJSON *entries)
{
    if (!entries)
        return true;
    if (!st->held_lp && !(st->held_lp = cJSON_CreateArray()))
        return false;
    const cJSON *e;
    cJSON_ArrayForEach(e, entries)
        cJSON_AddItemToArray(st->held_lp, cJSON_Duplicate(e, true));
    return true;
}

static bool emit_delta(void *user, const char *text, size_t len, bool thought)
{
    oa_stream *st = user;
    if (st->tools && !thought)   /* text that may be a call is not content until the end */
        return st->ok = llmri_buf_append(&st->held, text, len) && hold_lp(st, st->g->piece_lp);
    cJSON *o = chunk_head(st);
    st->lp_now = thought ? NULL : st->g->piece_lp;
    add_choice(st, o, thought ? NULL : text, len, false, NULL);
    st->lp_now = NULL;
    if (thought && st->chat) {
        /* reasoning goes in delta.reasoning_content, as llama.cpp's server sends it */
        cJSON *d = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "choices"), 0), "delta");
        char *t = llmri_strndup(text, len);
        cJSON_AddStringToObject(d, "reasoning_content", t ? t : "");
        free(t);
    }
    return st->ok = send_event(st, o);
}

/* A content delta sent as it is (the held text of a reply with tools but no calls). */
static bool emit_delta_now(oa_stream *st, const char *text, size_t len)
{
    bool tools = st->tools;
    st->tools = false;
    const cJSON *lp = st->g->piece_lp;
    st->g->piece_lp = st->held_lp;
    bool ok = emit_delta(st, text, len, false);
    st->g->piece_lp = lp;
    st->tools = tools;
    return ok;
}

static cJSON *usage_json(const srv_usage *u)
{
    cJSON *us = cJSON_CreateObject();
    cJSON_AddNumberToObject(us, "prompt_tokens", u->prompt_tokens);
    cJSON_AddNumberToObject(us, "completion_tokens", u->completion_tokens);
    cJSON_AddNumberToObject(us, "total_tokens", u->prompt_tokens + u->completion_tokens);
    cJSON *pd = cJSON_AddObjectToObject(us, "prompt_tokens_details");
    cJSON_AddNumberToObject(pd, "cached_tokens", u->cached_tokens);
    return us;
}

/* The end of a streamed reply with tools: the text outside the calls as content, then each
 * call as OpenAI streams them (its index, id, type and name; then its arguments). */
static bool stream_tool_calls(oa_stream *st, const cJSON *tc)
{
    const char *content = cJSON_GetObjectItemCaseSensitive(tc, "content")->valuestring;
    st->lp_now = st->held_lp;       /* the reply's tokens go with its first chunk */
    if (content && content[0]) {
        cJSON *o = chunk_head(st);
        add_choice(st, o, content, strlen(content), false, NULL);
        st->lp_now = NULL;
        if (!send_event(st, o))
            return false;
    }
    const cJSON *c;
    int i = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(tc, "tool_calls")) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(c, "function");
        for (int part = 0; part < 2; part++) {
            cJSON *o = chunk_head(st);
            add_choice(st, o, NULL, 0, false, NULL);
            st->lp_now = NULL;
            cJSON *d = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "choices"), 0), "delta");
            cJSON *arr = cJSON_AddArrayToObject(d, "tool_calls"), *x = cJSON_CreateObject();
            cJSON_AddItemToArray(arr, x);
            cJSON_AddNumberToObject(x, "index", i);
            cJSON *xf;
            if (part == 0) {
                cJSON_AddStringToObject(x, "id",
                                        cJSON_GetObjectItemCaseSensitive(c, "id")->valuestring);
                cJSON_AddStringToObject(x, "type", "function");
                xf = cJSON_AddObjectToObject(x, "function");
                cJSON_AddStringToObject(xf, "name",
                                        cJSON_GetObjectItemCaseSensitive(f, "name")->valuestring);
                cJSON_AddStringToObject(xf, "arguments", "");
            } else {
                xf = cJSON_AddObjectToObject(x, "function");
                cJSON_AddStringToObject(
                    xf, "arguments", cJSON_GetObjectItemCaseSensitive(f, "arguments")->valuestring);
            }
            if (!send_event(st, o))
                return false;
        }
        i++;
    }
    return true;
}

/* finish_reason as OpenAI spells it: a cancel by timeout reads "length" (the reply was cut). */
static const char *oa_finish(const srv_usage *u)
{
    return u->finish == SRV_FINISH_STOP ? "stop" : "length";
}

static void error_event(oa_stream *st, const srv_usage *u)
{
    srv_error e;
    srv_error_set(&e, 500, "server_error", NULL, NULL, "generation failed: %s", u->err_msg);
    cJSON *o = cJSON_CreateObject();
    cJSON *er = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(er, "message", e.msg);
    cJSON_AddStringToObject(er, "type", e.type);
    cJSON_AddNullToObject(er, "param");
    cJSON_AddNullToObject(er, "code");
    send_event(st, o);
}

static void stream_reply(oa_stream *st, srv_gen *j)
{
    srv_ctx *x = st->x;
    if (!srv_stream_begin(x, "text/event-stream"))
        return;
    if (st->chat) {
        cJSON *o = chunk_head(st);
        add_choice(st, o, "", 0, true, NULL);
        if (!send_event(st, o))
            return;
    }
    st->ok = true;
    bool live = srv_pump(x, j, emit_delta, st);
    srv_usage u;
    srv_gen_usage(j, &u);
    srv_note_usage(x, &u);
    if (!live || !st->ok)
        return;   /* the client is gone: nothing more to say */
    if (u.finish == SRV_FINISH_ERROR) {
        error_event(st, &u);
    } else {
        cJSON *tc = st->tools ? srv_gen_calls(j) : NULL;
        bool calls = tc != NULL;
        bool sent = calls ? stream_tool_calls(st, tc)
                          : !st->tools || !st->held.len ||
                                emit_delta_now(st, st->held.p, st->held.len);
        cJSON_Delete(tc);
        if (!sent)
            return;
        cJSON *o = chunk_head(st);
        add_choice(st, o, st->chat ? NULL : "", 0, false, calls ? "tool_calls" : oa_finish(&u));
        send_event(st, o);
        if (st->r->include_usage) {
            o = chunk_head(st);
            cJSON_AddArrayToObject(o, "choices");
            cJSON_AddItemToObject(o, "usage", usage_json(&u));
            send_event(st, o);
        }
    }
    srv_stream_write(x, "data: [DONE]\n\n", 14);
    srv_stream_end(x);
}

static void whole_reply(oa_stream *st, srv_gen *j)
{
    srv_ctx *x = st->x;
    char *text = NULL, *thought = NULL;
    size_t len = 0;
    bool live = srv_wait_all(x, j, &text, &len, &thought);
    srv_usage u;
    srv_gen_usage(j, &u);
    srv_note_usage(x, &u);
    if (!live || u.finish == SRV_FINISH_ERROR)
        free(thought);
    if (!live) {
        free(text);
        return;
    }
    if (u.finish == SRV_FINISH_ERROR) {
        free(text);
        srv_reply_errorf(x, 500, "server_error", NULL, "generation failed: %s", u.err_msg);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", st->id);
    cJSON_AddStringToObject(o, "object", st->chat ? "chat.completion" : "text_completion");
    cJSON_AddNumberToObject(o, "created", (double)st->created);
    cJSON_AddStringToObject(o, "model", st->model);
    cJSON_AddStringToObject(o, "system_fingerprint", "llmr-" LLMR_VERSION_STRING);
    cJSON *arr = cJSON_AddArrayToObject(o, "choices");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddItemToArray(arr, c);
    cJSON_AddNumberToObject(c, "index", 0);
    cJSON *tc = st->tools ? srv_gen_calls(j) : NULL;
    if (st->chat) {
        cJSON *m = cJSON_AddObjectToObject(c, "message");
        cJSON_AddStringToObject(m, "role", "assistant");
        const char *content = tc ? cJSON_GetObjectItemCaseSensitive(tc, "content")->valuestring
                                 : text;
        if (tc && !content[0])
            cJSON_AddNullToObject(m, "content");     /* OpenAI: only calls, no content */
        else
            cJSON_AddStringToObject(m, "content", content ? content : "");
        cJSON_AddNullToObject(m, "refusal");
        if (thought)
            cJSON_AddStringToObject(m, "reasoning_content", thought);
        if (tc)
            cJSON_AddItemToObject(m, "tool_calls",
                                  cJSON_DetachItemFromObject(tc, "tool_calls"));
    } else {
        cJSON_AddStringToObject(c, "text", text ? text : "");
    }
    cJSON_AddItemToObject(c, "logprobs", choice_logprobs(st, j->lp_text));
    cJSON_AddStringToObject(c, "finish_reason", tc ? "tool_calls" : oa_finish(&u));
    cJSON_Delete(tc);
    free(thought);
    cJSON_AddItemToObject(o, "usage", usage_json(&u));
    free(text);
    char *js = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (js)
        srv_reply_json(x, 200, js, NULL);
    else
        srv_reply_errorf(x, 500, "server_error", NULL, "out of memory");
    free(js);
}

static void make_id(char *buf, size_t n, const char *prefix)
{
    static atomic_ullong counter;
    unsigned long long k = atomic_fetch_add(&counter, 1) + 1;
    snprintf(buf, n, "%s-%lx%06llx", prefix, (unsigned long)time(NULL), k);
}

static void reply(srv_ctx *x, const srv_req *r, srv_gen *g, void *user)
{
    (void)user;
    oa_stream st = {.x = x, .r = r, .created = (long)time(NULL), .chat = r->api == SRV_API_CHAT,
                    .model = g->model, .tools = g->tools, .g = g};
    make_id(st.id, sizeof st.id, st.chat ? "chatcmpl" : "cmpl");
    if (r->stream)
        stream_reply(&st, g);
    else
        whole_reply(&st, g);
    llmri_buf_free(&st.held);
    cJSON_Delete(st.held_lp);
}

int srv_h_chat(struct mg_connection *c, void *s)
{
    return srv_handle_generation(c, s, SRV_API_CHAT, NULL, reply, NULL);
}

int srv_h_completions(struct mg_connection *c, void *s)
{
    return srv_handle_generation(c, s, SRV_API_COMPLETION, NULL, reply, NULL);
}

/* GET /v1/models: {"object":"list","data":[{"id","object":"model","created","owned_by"}]} */
int srv_h_models(struct mg_connection *c, void *ud)
{
    llmr_server *s = ud;
    srv_ctx x;
    srv_ctx_init(&x, s, c, SRV_API_CHAT);
    atomic_fetch_add(&s->m.requests[SRV_REQ_OTHER], 1);
    if (srv_check(&x, "GET", SRV_KEY)) {
        if (srv_models_hold(s)) {
            srv_route_models_openai(&x);
            srv_models_put(s);
        } else {
            srv_reply_json(&x, 200, "{\"object\":\"list\",\"data\":[]}", NULL);
        }
    }
    srv_access_log(&x);
    return 1;
}
