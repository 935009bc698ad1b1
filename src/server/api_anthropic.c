/* api_anthropic.c - Anthropic's Messages API: POST /v1/messages (whole, or streamed as
 * message_start, content_block_start / delta / stop, message_delta, message_stop) and
 * POST /v1/messages/count_tokens.
 *
 * A request is translated into the OpenAI chat request it means - system blocks to a system
 * message, text blocks to content, tool_use blocks to an assistant's tool_calls, tool_result
 * blocks to tool messages, tools and tool_choice to OpenAI's - and parsed by the same code as
 * /v1/chat/completions, so every field is checked once; errors come back in Anthropic's shape.
 * A reply cut by one of stop_sequences says stop_reason "stop_sequence" and which. With
 * "thinking": {"type": "enabled", "budget_tokens": N}, a reasoning model's <think> block
 * becomes a thinking content block (streamed as thinking_delta) before the text block.
 */
#include "server/server_int.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/util.h"

#define BAD(param, ...) srv_error_set(e, 400, "invalid_request_error", NULL, param, __VA_ARGS__)

/* ---- the request, as an OpenAI chat request ---------------------------------------------- */

/* The text of a content given as a string or as blocks of {"type":"text","text"}. */
static int block_text(const cJSON *c, const char *param, llmr_buf *out, srv_error *e)
{
    if (cJSON_IsString(c))
        return llmri_buf_append(out, c->valuestring, strlen(c->valuestring)) ? 0 : 500;
    if (!cJSON_IsArray(c))
        return BAD(param, "'%s' must be a string or an array of content blocks", param);
    const cJSON *b;
    cJSON_ArrayForEach(b, c) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(b, "type");
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(b, "text");
        if (!cJSON_IsString(t) || strcmp(t->valuestring, "text") || !cJSON_IsString(x))
            return BAD(param, "'%s': only text blocks are supported here", param);
        if (!llmri_buf_append(out, x->valuestring, strlen(x->valuestring)))
            return 500;
    }
    return 0;
}

/* An assistant's tool_use block as an OpenAI tool call. */
static cJSON *tool_call_of(const cJSON *b, const char *param, srv_error *e, int *rc)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(b, "id");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(b, "name");
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(b, "input");
    if (!cJSON_IsString(id) || !cJSON_IsString(name) || !cJSON_IsObject(input)) {
        *rc = BAD(param, "'%s': a tool_use block has an id, a name and an input object", param);
        return NULL;
    }
    cJSON *c = cJSON_CreateObject(), *f;
    cJSON_AddStringToObject(c, "id", id->valuestring);
    cJSON_AddStringToObject(c, "type", "function");
    cJSON_AddItemToObject(c, "function", f = cJSON_CreateObject());
    cJSON_AddStringToObject(f, "name", name->valuestring);
    char *args = cJSON_PrintUnformatted(input);
    cJSON_AddStringToObject(f, "arguments", args ? args : "{}");
    free(args);
    return c;
}

/* One Anthropic message as OpenAI messages appended to out: tool results first (each a tool
 * message), then the text, with an assistant's tool_use blocks as its tool_calls. */
static int add_message(const cJSON *m, int i, cJSON *out, srv_error *e)
{
    char param[48];
    snprintf(param, sizeof param, "messages[%d]", i);
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
    if (!cJSON_IsObject(m) || !cJSON_IsString(role) ||
        (strcmp(role->valuestring, "user") && strcmp(role->valuestring, "assistant")))
        return BAD(param, "'%s' must be {\"role\": \"user\" or \"assistant\", \"content\"}",
                   param);
    if (cJSON_IsString(content)) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "role", role->valuestring);
        cJSON_AddStringToObject(o, "content", content->valuestring);
        cJSON_AddItemToArray(out, o);
        return 0;
    }
    if (!cJSON_IsArray(content))
        return BAD(param, "'%s.content' must be a string or an array of blocks", param);
    llmr_buf text = {0};
    cJSON *calls = cJSON_CreateArray();
    int rc = 0;
    const cJSON *b;
    cJSON_ArrayForEach(b, content) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(b, "type");
        const char *ty = cJSON_IsString(t) ? t->valuestring : "";
        if (!strcmp(ty, "text")) {
            const cJSON *x = cJSON_GetObjectItemCaseSensitive(b, "text");
            if (!cJSON_IsString(x)) {
                rc = BAD(param, "'%s': a text block has a string \"text\"", param);
                break;
            }
            llmri_buf_append(&text, x->valuestring, strlen(x->valuestring));
        } else if (!strcmp(ty, "tool_use")) {
            cJSON *c = tool_call_of(b, param, e, &rc);
            if (!c)
                break;
            cJSON_AddItemToArray(calls, c);
        } else if (!strcmp(ty, "tool_result")) {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(b, "tool_use_id");
            const cJSON *rcont = cJSON_GetObjectItemCaseSensitive(b, "content");
            llmr_buf res = {0};
            if (!cJSON_IsString(id)) {
                rc = BAD(param, "'%s': a tool_result block has a tool_use_id", param);
                break;
            }
            if (rcont && (rc = block_text(rcont, param, &res, e))) {
                llmri_buf_free(&res);
                break;
            }
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "role", "tool");
            cJSON_AddStringToObject(o, "tool_call_id", id->valuestring);
            cJSON_AddStringToObject(o, "content", res.p ? res.p : "");
            cJSON_AddItemToArray(out, o);
            llmri_buf_free(&res);
        } else if (strcmp(ty, "thinking") && strcmp(ty, "redacted_thinking")) {
            rc = BAD(param, "'%s': content blocks of type '%.32s' are not supported (text, "
                     "tool_use, tool_result)", param, ty);
            break;
        }
    }
    if (!rc && (text.len || cJSON_GetArraySize(calls) || !strcmp(role->valuestring, "user"))) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "role", role->valuestring);
        if (text.len || !cJSON_GetArraySize(calls))
            cJSON_AddStringToObject(o, "content", text.p ? text.p : "");
        else
            cJSON_AddNullToObject(o, "content");
        if (cJSON_GetArraySize(calls)) {
            cJSON_AddItemToObject(o, "tool_calls", calls);
            calls = NULL;
        }
        cJSON_AddItemToArray(out, o);
    }
    cJSON_Delete(calls);
    llmri_buf_free(&text);
    return rc;
}

/* tools and tool_choice in OpenAI's form. */
static int add_tools(const cJSON *in, cJSON *o, srv_error *e)
{
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(in, "tools");
    if (tools && !cJSON_IsNull(tools)) {
        if (!cJSON_IsArray(tools))
            return BAD("tools", "'tools' must be an array of {name, description, input_schema}");
        cJSON *arr = cJSON_AddArrayToObject(o, "tools");
        const cJSON *t;
        cJSON_ArrayForEach(t, tools)
            cJSON_AddItemToArray(arr, srv_function_tool(
                                          cJSON_GetObjectItemCaseSensitive(t, "name"),
                                          cJSON_GetObjectItemCaseSensitive(t, "description"),
                                          cJSON_GetObjectItemCaseSensitive(t, "input_schema")));
    }
    const cJSON *tc = cJSON_GetObjectItemCaseSensitive(in, "tool_choice");
    if (!tc || cJSON_IsNull(tc))
        return 0;
    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(tc, "type");
    const char *t = cJSON_IsString(ty) ? ty->valuestring : "";
    if (!strcmp(t, "tool")) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(tc, "name");
        if (!cJSON_IsString(n))
            return BAD("tool_choice", "'tool_choice' of type tool names the tool: \"name\"");
        srv_named_tool_choice(o, n->valuestring);
    } else if (!strcmp(t, "auto") || !strcmp(t, "any") || !strcmp(t, "none")) {
        cJSON_AddStringToObject(o, "tool_choice", !strcmp(t, "any") ? "required" : t);
    } else {
        return BAD("tool_choice", "'tool_choice' must be {\"type\": \"auto\", \"any\", \"tool\" "
                   "or \"none\"}");
    }
    const cJSON *dp = cJSON_GetObjectItemCaseSensitive(tc, "disable_parallel_tool_use");
    if (cJSON_IsFalse(dp))
        cJSON_AddTrueToObject(o, "parallel_tool_calls");
    return 0;
}

/* Extended thinking: {"type": "enabled", "budget_tokens": N} (N >= 1024 and below
 * max_tokens, as Anthropic requires; the thinking counts against max_tokens, which is what
 * bounds it here) or {"type": "disabled"}. */
static int get_thinking(const cJSON *in, bool *think, srv_error *e)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(in, "thinking");
    *think = false;
    if (!t || cJSON_IsNull(t))
        return 0;
    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(t, "type");
    if (!cJSON_IsObject(t) || !cJSON_IsString(ty) ||
        (strcmp(ty->valuestring, "enabled") && strcmp(ty->valuestring, "disabled")))
        return BAD("thinking", "'thinking' must be {\"type\": \"enabled\", \"budget_tokens\": N} "
                   "or {\"type\": \"disabled\"}");
    if (!strcmp(ty->valuestring, "disabled"))
        return 0;
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(t, "budget_tokens");
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(in, "max_tokens");
    if (!cJSON_IsNumber(b) || b->valuedouble != (double)(long long)b->valuedouble ||
        b->valuedouble < 1024)
        return BAD("thinking.budget_tokens", "'thinking.budget_tokens' must be an integer of "
                   "at least 1024");
    if (cJSON_IsNumber(mt) && b->valuedouble >= mt->valuedouble)
        return BAD("thinking.budget_tokens", "'thinking.budget_tokens' must be less than "
                   "max_tokens");
    *think = true;
    return 0;
}

/* The OpenAI chat request an Anthropic request means (count: /count_tokens, where
 * max_tokens is not given); *think: extended thinking is on. */
static int translate(const cJSON *in, bool count, cJSON **out, bool *think, srv_error *e)
{
    *out = NULL;
    *think = false;
    if (!cJSON_IsObject(in))
        return BAD(NULL, "the body must be a JSON object");
    cJSON *o = cJSON_CreateObject();
    static const char *const same[] = {"model", "temperature", "top_p", "top_k", "stream"};
    for (size_t k = 0; k < sizeof same / sizeof *same; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, same[k]);
        if (v)
            cJSON_AddItemToObject(o, same[k], cJSON_Duplicate(v, true));
    }
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(in, "max_tokens");
    int rc = 0;
    if (count) {
        cJSON_AddNumberToObject(o, "max_tokens", 1);
        cJSON_DeleteItemFromObjectCaseSensitive(o, "stream");
        cJSON_AddFalseToObject(o, "stream");
    } else if (!mt) {
        rc = BAD("max_tokens", "missing required field 'max_tokens'");
    } else {
        cJSON_AddItemToObject(o, "max_tokens", cJSON_Duplicate(mt, true));
    }
    const cJSON *ss = cJSON_GetObjectItemCaseSensitive(in, "stop_sequences");
    if (!rc && ss)
        cJSON_AddItemToObject(o, "stop", cJSON_Duplicate(ss, true));
    cJSON *msgs = cJSON_AddArrayToObject(o, "messages");
    const cJSON *sys = cJSON_GetObjectItemCaseSensitive(in, "system");
    if (!rc && sys && !cJSON_IsNull(sys)) {
        llmr_buf b = {0};
        if (!(rc = block_text(sys, "system", &b, e))) {
            cJSON *m = cJSON_CreateObject();
            cJSON_AddStringToObject(m, "role", "system");
            cJSON_AddStringToObject(m, "content", b.p ? b.p : "");
            cJSON_AddItemToArray(msgs, m);
        }
        llmri_buf_free(&b);
    }
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(in, "messages");
    if (!rc && !cJSON_IsArray(ms))
        rc = BAD("messages", "missing required field 'messages' (an array)");
    const cJSON *m;
    int i = 0;
    if (!rc)
        cJSON_ArrayForEach(m, ms) {
            if ((rc = add_message(m, i++, msgs, e)))
                break;
        }
    if (!rc)
        rc = add_tools(in, o, e);
    if (!rc)
        rc = get_thinking(in, think, e);
    if (rc == 500)
        rc = srv_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
    if (rc) {
        cJSON_Delete(o);
        return rc;
    }
    *out = o;
    return 0;
}

/* Reads and translates the body into r; false after replying with an error. */
static bool accept_request(srv_ctx *x, bool count, srv_req *r)
{
    memset(r, 0, sizeof *r);
    if (!srv_check(x, "POST", SRV_KEY))
        return false;
    cJSON *in = srv_read_json(x);
    if (!in)
        return false;
    srv_error e = {0};
    cJSON *o = NULL;
    bool think;
    int rc = translate(in, count, &o, &think, &e);
    cJSON_Delete(in);
    char *body = rc ? NULL : cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!rc && !body)
        rc = srv_error_set(&e, 500, "api_error", NULL, NULL, "out of memory");
    if (!rc)
        rc = srv_req_parse(SRV_API_CHAT, body, strlen(body), r, &e);
    free(body);
    if (rc) {
        srv_reply_error(x, &e);
        srv_req_free(r);
        return false;
    }
    r->split_reasoning = think;     /* else the text as the model wrote it */
    return true;
}

/* ---- the reply ---------------------------------------------------------------------------- */

typedef struct an_stream {
    srv_ctx *x;
    const char *model;
    char id[40];
    bool tools;
    bool ok;
    int n_blocks;          /* content blocks started */
    char open;             /* the last one, still open: 't' text, 'k' thinking; 0 none */
    llmr_buf held;         /* with tools: the text, until its calls are read */
} an_stream;

static const char *stop_reason(const srv_usage *u, bool calls)
{
    return calls ? "tool_use" : u->stop_seq[0] ? "stop_sequence"
                 : u->finish == SRV_FINISH_STOP ? "end_turn" : "max_tokens";
}

/* The message's (or message_delta's) stop_sequence: the one that cut the reply, or null. */
static void add_stop_sequence(cJSON *m, const srv_usage *u, bool calls)
{
    if (u->stop_seq[0] && !calls)
        cJSON_AddStringToObject(m, "stop_sequence", u->stop_seq);
    else
        cJSON_AddNullToObject(m, "stop_sequence");
}

/* A thinking content block. The signature is Anthropic's check that the thinking is its own
 * when a client sends it back; a local model's thinking has none (and blocks sent back are
 * not shown to the model again), so it is empty. */
static cJSON *thinking_block(const char *text)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "type", "thinking");
    cJSON_AddStringToObject(b, "thinking", text);
    cJSON_AddStringToObject(b, "signature", "");
    return b;
}

static cJSON *usage_json(const srv_usage *u, bool with_input)
{
    cJSON *us = cJSON_CreateObject();
    if (with_input)
        cJSON_AddNumberToObject(us, "input_tokens", u->prompt_tokens);
    cJSON_AddNumberToObject(us, "output_tokens", u->completion_tokens);
    return us;
}

/* A tool_use content block for one call. */
static cJSON *tool_use_block(const cJSON *call)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(call, "function");
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "type", "tool_use");
    const char *id = cJSON_GetObjectItemCaseSensitive(call, "id")->valuestring;
    char tid[48];
    snprintf(tid, sizeof tid, "toolu_%s", strncmp(id, "call_", 5) ? id : id + 5);
    cJSON_AddStringToObject(b, "id", tid);
    cJSON_AddStringToObject(b, "name", cJSON_GetObjectItemCaseSensitive(f, "name")->valuestring);
    cJSON *in = cJSON_Parse(cJSON_GetObjectItemCaseSensitive(f, "arguments")->valuestring);
    cJSON_AddItemToObject(b, "input", in ? in : cJSON_CreateObject());
    return b;
}

static cJSON *message_head(an_stream *st)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "id", st->id);
    cJSON_AddStringToObject(m, "type", "message");
    cJSON_AddStringToObject(m, "role", "assistant");
    cJSON_AddStringToObject(m, "model", st->model);
    return m;
}

static void whole_reply(an_stream *st, srv_gen *g)
{
    char *text = NULL, *thought = NULL;
    size_t len = 0;
    bool live = srv_wait_all(st->x, g, &text, &len, &thought);
    srv_usage u;
    srv_gen_usage(g, &u);
    srv_note_usage(st->x, &u);
    if (live && u.finish == SRV_FINISH_ERROR)
        srv_reply_errorf(st->x, 500, "api_error", NULL, "generation failed: %s", u.err_msg);
    if (!live || u.finish == SRV_FINISH_ERROR) {
        free(text);
        free(thought);
        return;
    }
    cJSON *tc = st->tools ? srv_gen_calls(g) : NULL;
    cJSON *m = message_head(st), *content = cJSON_AddArrayToObject(m, "content");
    if (thought)
        cJSON_AddItemToArray(content, thinking_block(thought));
    free(thought);
    const char *t = tc ? cJSON_GetObjectItemCaseSensitive(tc, "content")->valuestring : text;
    if (t && t[0]) {
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "type", "text");
        cJSON_AddStringToObject(b, "text", t);
        cJSON_AddItemToArray(content, b);
    }
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(tc, "tool_calls"))
        cJSON_AddItemToArray(content, tool_use_block(c));
    cJSON_AddStringToObject(m, "stop_reason", stop_reason(&u, tc != NULL));
    add_stop_sequence(m, &u, tc != NULL);
    cJSON_AddItemToObject(m, "usage", usage_json(&u, true));
    cJSON_Delete(tc);
    free(text);
    srv_reply_cjson(st->x, 200, m);
}

/* One server-sent event: "event: TYPE" and its data (o, freed). */
static bool send_event(an_stream *st, cJSON *o)
{
    const char *type = cJSON_GetObjectItemCaseSensitive(o, "type")->valuestring;
    char *js = cJSON_PrintUnformatted(o);
    llmr_buf b = {0};
    bool ok = js && llmri_buf_printf(&b, "event: %s\ndata: %s\n\n", type, js) &&
              srv_stream_write(st->x, b.p, b.len);
    free(js);
    llmri_buf_free(&b);
    cJSON_Delete(o);
    return st->ok = st->ok && ok;
}

static cJSON *event(const char *type)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", type);
    return o;
}

static bool block_start(an_stream *st, int index, cJSON *block)
{
    cJSON *o = event("content_block_start");
    cJSON_AddNumberToObject(o, "index", index);
    cJSON_AddItemToObject(o, "content_block", block);
    return send_event(st, o);
}

static bool block_delta(an_stream *st, int index, const char *type, const char *key,
                        const char *text, size_t len)
{
    cJSON *o = event("content_block_delta"), *d;
    cJSON_AddNumberToObject(o, "index", index);
    cJSON_AddItemToObject(o, "delta", d = cJSON_CreateObject());
    cJSON_AddStringToObject(d, "type", type);
    char *t = llmri_strndup(text, len);
    cJSON_AddStringToObject(d, key, t ? t : "");
    free(t);
    return send_event(st, o);
}

static bool block_stop(an_stream *st, int index)
{
    cJSON *o = event("content_block_stop");
    cJSON_AddNumberToObject(o, "index", index);
    return send_event(st, o);
}

/* Ends the open block; a thinking block ends with its signature (signature_delta). */
static bool close_block(an_stream *st)
{
    if (!st->open)
        return true;
    bool ok = st->open != 'k' ||
              block_delta(st, st->n_blocks - 1, "signature_delta", "signature", "", 0);
    st->open = 0;
    return ok && block_stop(st, st->n_blocks - 1);
}

/* A delta of kind 't' (text) or 'k' (thinking), in a block of that kind: the open one, or a
 * new one after it. */
static bool kind_delta(an_stream *st, char kind, const char *text, size_t len)
{
    if (st->open != kind) {
        if (!close_block(st))
            return false;
        cJSON *b = kind == 'k' ? thinking_block("") : cJSON_CreateObject();
        if (kind == 't') {
            cJSON_AddStringToObject(b, "type", "text");
            cJSON_AddStringToObject(b, "text", "");
        } else {
            cJSON_DeleteItemFromObjectCaseSensitive(b, "signature");
        }
        if (!block_start(st, st->n_blocks++, b))
            return false;
        st->open = kind;
    }
    return kind == 'k' ? block_delta(st, st->n_blocks - 1, "thinking_delta", "thinking", text, len)
                       : block_delta(st, st->n_blocks - 1, "text_delta", "text", text, len);
}

static bool emit(void *user, const char *text, size_t len, bool thought)
{
    an_stream *st = user;
    if (thought)
        return kind_delta(st, 'k', text, len);
    if (st->tools)         /* text that may be a call is not a text block until the end */
        return st->ok = llmri_buf_append(&st->held, text, len);
    return kind_delta(st, 't', text, len);
}

/* The end of a streamed reply with tools: its text, then each call as a tool_use block whose
 * input arrives as input_json_delta. Returns whether calls were sent. */
static bool stream_calls(an_stream *st, srv_gen *g)
{
    cJSON *tc = srv_gen_calls(g);
    const char *t = tc ? cJSON_GetObjectItemCaseSensitive(tc, "content")->valuestring
                       : st->held.p;
    size_t tl = tc ? strlen(t) : st->held.len;
    if (tl)
        kind_delta(st, 't', t, tl);
    close_block(st);
    int index = st->n_blocks;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(tc, "tool_calls")) {
        cJSON *b = tool_use_block(c);
        char *args = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(b, "input"));
        cJSON_ReplaceItemInObject(b, "input", cJSON_CreateObject());
        block_start(st, index, b);
        block_delta(st, index, "input_json_delta", "partial_json", args ? args : "{}",
                    args ? strlen(args) : 2);
        block_stop(st, index++);
        st->n_blocks = index;
        free(args);
    }
    bool calls = tc != NULL;
    cJSON_Delete(tc);
    return calls;
}

static void stream_reply(an_stream *st, srv_gen *g)
{
    srv_ctx *x = st->x;
    if (!srv_stream_begin(x, "text/event-stream"))
        return;
    st->ok = true;
    srv_usage u;
    srv_gen_usage(g, &u);           /* the prompt is known: the first piece is there */
    cJSON *o = event("message_start"), *m = message_head(st);
    cJSON_AddArrayToObject(m, "content");
    cJSON_AddNullToObject(m, "stop_reason");
    cJSON_AddNullToObject(m, "stop_sequence");
    cJSON_AddItemToObject(m, "usage", usage_json(&u, true));
    cJSON_AddItemToObject(o, "message", m);
    send_event(st, o);
    send_event(st, event("ping"));
    bool live = srv_pump(x, g, emit, st);
    srv_gen_usage(g, &u);
    srv_note_usage(x, &u);
    if (!live || !st->ok)
        return;
    if (u.finish == SRV_FINISH_ERROR) {
        o = event("error");
        cJSON *er = cJSON_AddObjectToObject(o, "error");
        cJSON_AddStringToObject(er, "type", "api_error");
        cJSON_AddStringToObject(er, "message", u.err_msg);
        send_event(st, o);
        srv_stream_end(x);
        return;
    }
    bool calls = st->tools && stream_calls(st, g);
    close_block(st);
    o = event("message_delta");
    cJSON *d = cJSON_AddObjectToObject(o, "delta");
    cJSON_AddStringToObject(d, "stop_reason", stop_reason(&u, calls));
    add_stop_sequence(d, &u, calls);
    cJSON_AddItemToObject(o, "usage", usage_json(&u, false));
    send_event(st, o);
    send_event(st, event("message_stop"));
    srv_stream_end(x);
}

static void make_id(char *buf, size_t n)
{
    static atomic_uint seq;
    snprintf(buf, n, "msg_%08lx%06x", (unsigned long)time(NULL),
             atomic_fetch_add(&seq, 1) & 0xffffff);
}

/* The reply of /v1/messages; count: of /v1/messages/count_tokens, the prompt's tokens as
 * the model that would answer counts them (the request is opened for one token and ended). */
static void answer(an_stream *st, srv_gen *g, bool count, bool stream)
{
    if (count) {
        srv_usage u;
        srv_gen_usage(g, &u);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "input_tokens", u.prompt_tokens);
        srv_reply_cjson(st->x, 200, o);
    } else if (stream) {
        stream_reply(st, g);
    } else {
        whole_reply(st, g);
    }
}

/* srv_handle_generation's halves; user points at `count` (/count_tokens). */
static bool accept_cb(srv_ctx *x, void *user, srv_req *r)
{
    return accept_request(x, *(const bool *)user, r);
}

static void reply_cb(srv_ctx *x, const srv_req *r, srv_gen *g, void *user)
{
    an_stream st = {.x = x, .model = g->model, .tools = g->tools};
    make_id(st.id, sizeof st.id);
    answer(&st, g, *(const bool *)user, r->stream);
    llmri_buf_free(&st.held);
}

int srv_h_anthropic_messages(struct mg_connection *c, void *ud)
{
    bool count = false;
    return srv_handle_generation(c, ud, SRV_API_ANTHROPIC, accept_cb, reply_cb, &count);
}

int srv_h_anthropic_count(struct mg_connection *c, void *ud)
{
    bool count = true;
    return srv_handle_generation(c, ud, SRV_API_ANTHROPIC, accept_cb, reply_cb, &count);
}
