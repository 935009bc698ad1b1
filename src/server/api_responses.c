/* api_responses.c - OpenAI's Responses API: POST /v1/responses, whole or streamed as the
 * response.* events, with function tools and previous_response_id.
 *
 * A request is translated into the chat request it means (instructions as a system message,
 * input items as messages, function_call and function_call_output items as an assistant's
 * tool_calls and tool messages, text.format as response_format) and parsed by the same code
 * as /v1/chat/completions. A stored response (store, the default) keeps its conversation in
 * memory - at most RESP_MAX of them, each for RESP_TTL_S seconds - so a later request can
 * continue it with previous_response_id. */
#include "server/server_int.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/util.h"

#define BAD(param, ...) srv_error_set(e, 400, "invalid_request_error", NULL, param, __VA_ARGS__)
#define RESP_MAX 256
#define RESP_TTL_S 3600.0
#define RESP_MAX_BYTES (4u << 20)   /* a stored conversation */

/* ---- stored conversations ---------------------------------------------------------------- */

typedef struct stored {
    char id[48];
    char *messages;        /* the conversation as chat messages (JSON array text) */
    double at;
} stored;

struct srv_responses {
    pthread_mutex_t mu;
    stored items[RESP_MAX];
    int n;
};

srv_responses *srv_responses_new(void)
{
    srv_responses *r = calloc(1, sizeof *r);
    if (r)
        pthread_mutex_init(&r->mu, NULL);
    return r;
}

void srv_responses_free(srv_responses *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n; i++)
        free(r->items[i].messages);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

/* Drops expired entries, and the oldest when full (mu held). */
static void expire(srv_responses *r, double now, bool room)
{
    int k = 0;
    for (int i = 0; i < r->n; i++) {
        if (now - r->items[i].at > RESP_TTL_S || (room && i == 0 && r->n == RESP_MAX)) {
            free(r->items[i].messages);
            continue;
        }
        r->items[k++] = r->items[i];
    }
    r->n = k;
}

static void put(srv_responses *r, const char *id, char *messages)
{
    if (!messages || strlen(messages) > RESP_MAX_BYTES) {
        free(messages);
        return;
    }
    pthread_mutex_lock(&r->mu);
    expire(r, llmri_now(), true);
    stored *s = &r->items[r->n++];
    snprintf(s->id, sizeof s->id, "%s", id);
    s->messages = messages;
    s->at = llmri_now();
    pthread_mutex_unlock(&r->mu);
}

/* A copy of the stored conversation id, or NULL. */
static cJSON *get(srv_responses *r, const char *id)
{
    cJSON *m = NULL;
    pthread_mutex_lock(&r->mu);
    expire(r, llmri_now(), false);
    for (int i = 0; i < r->n && !m; i++)
        if (!strcmp(r->items[i].id, id))
            m = cJSON_Parse(r->items[i].messages);
    pthread_mutex_unlock(&r->mu);
    return m;
}

/* ---- the request, as a chat request ------------------------------------------------------ */

/* The text of content given as a string or as parts of {"type": input_text | output_text |
 * text, "text"}. */
static int parts_text(const cJSON *c, const char *param, llmr_buf *out, srv_error *e)
{
    if (cJSON_IsString(c))
        return llmri_buf_append(out, c->valuestring, strlen(c->valuestring)) ? 0 : 500;
    if (!cJSON_IsArray(c))
        return BAD(param, "'%s' must be a string or an array of text parts", param);
    const cJSON *p;
    cJSON_ArrayForEach(p, c) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "type");
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(p, "text");
        const char *ty = cJSON_IsString(t) ? t->valuestring : "";
        if ((strcmp(ty, "input_text") && strcmp(ty, "output_text") && strcmp(ty, "text")) ||
            !cJSON_IsString(x))
            return BAD(param, "'%s': only text parts are supported (input_text, output_text)",
                       param);
        if (!llmri_buf_append(out, x->valuestring, strlen(x->valuestring)))
            return 500;
    }
    return 0;
}

/* The assistant message that the function_call items in a row make (created on the first). */
static cJSON *calls_message(cJSON *msgs)
{
    cJSON *last = cJSON_GetArrayItem(msgs, cJSON_GetArraySize(msgs) - 1);
    if (last && cJSON_GetObjectItemCaseSensitive(last, "tool_calls"))
        return last;
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "assistant");
    cJSON_AddNullToObject(m, "content");
    cJSON_AddArrayToObject(m, "tool_calls");
    cJSON_AddItemToArray(msgs, m);
    return m;
}

static int add_item(const cJSON *it, int i, cJSON *msgs, srv_error *e)
{
    char param[48];
    snprintf(param, sizeof param, "input[%d]", i);
    if (!cJSON_IsObject(it))
        return BAD(param, "'%s' must be an object (a message or a function call item)", param);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "type");
    const char *ty = cJSON_IsString(t) ? t->valuestring : "message";
    const cJSON *cid = cJSON_GetObjectItemCaseSensitive(it, "call_id");
    if (!strcmp(ty, "function_call")) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(it, "arguments");
        if (!cJSON_IsString(cid) || !cJSON_IsString(name) || !cJSON_IsString(args))
            return BAD(param, "'%s': a function_call has call_id, name and arguments", param);
        cJSON *c = cJSON_CreateObject(), *f;
        cJSON_AddStringToObject(c, "id", cid->valuestring);
        cJSON_AddStringToObject(c, "type", "function");
        cJSON_AddItemToObject(c, "function", f = cJSON_CreateObject());
        cJSON_AddStringToObject(f, "name", name->valuestring);
        cJSON_AddStringToObject(f, "arguments", args->valuestring);
        cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(calls_message(msgs), "tool_calls"),
                             c);
        return 0;
    }
    if (!strcmp(ty, "function_call_output")) {
        const cJSON *out = cJSON_GetObjectItemCaseSensitive(it, "output");
        if (!cJSON_IsString(cid) || !cJSON_IsString(out))
            return BAD(param, "'%s': a function_call_output has call_id and output", param);
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", "tool");
        cJSON_AddStringToObject(m, "tool_call_id", cid->valuestring);
        cJSON_AddStringToObject(m, "content", out->valuestring);
        cJSON_AddItemToArray(msgs, m);
        return 0;
    }
    if (strcmp(ty, "message"))
        return BAD(param, "'%s': items of type '%.32s' are not supported (message, "
                   "function_call, function_call_output)", param, ty);
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(it, "role");
    if (!cJSON_IsString(role))
        return BAD(param, "'%s' has no role", param);
    llmr_buf b = {0};
    int rc = parts_text(cJSON_GetObjectItemCaseSensitive(it, "content"), param, &b, e);
    if (!rc) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", role->valuestring);
        cJSON_AddStringToObject(m, "content", b.p ? b.p : "");
        cJSON_AddItemToArray(msgs, m);
    }
    llmri_buf_free(&b);
    return rc;
}

static int add_tools(const cJSON *in, cJSON *o, srv_error *e)
{
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(in, "tools");
    if (tools && !cJSON_IsNull(tools)) {
        if (!cJSON_IsArray(tools))
            return BAD("tools", "'tools' must be an array of function tools");
        cJSON *arr = cJSON_AddArrayToObject(o, "tools");
        const cJSON *t;
        int i = 0;
        cJSON_ArrayForEach(t, tools) {
            const cJSON *ty = cJSON_GetObjectItemCaseSensitive(t, "type");
            if (!cJSON_IsString(ty) || strcmp(ty->valuestring, "function"))
                return BAD("tools", "tools[%d]: only function tools are supported", i);
            cJSON_AddItemToArray(arr, srv_function_tool(
                                          cJSON_GetObjectItemCaseSensitive(t, "name"),
                                          cJSON_GetObjectItemCaseSensitive(t, "description"),
                                          cJSON_GetObjectItemCaseSensitive(t, "parameters")));
            i++;
        }
    }
    const cJSON *tc = cJSON_GetObjectItemCaseSensitive(in, "tool_choice");
    if (cJSON_IsString(tc)) {
        cJSON_AddStringToObject(o, "tool_choice", tc->valuestring);
    } else if (cJSON_IsObject(tc)) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(tc, "name");
        if (!cJSON_IsString(n))
            return BAD("tool_choice", "'tool_choice' as an object is {\"type\": \"function\", "
                       "\"name\": NAME}");
        srv_named_tool_choice(o, n->valuestring);
    } else if (tc && !cJSON_IsNull(tc)) {
        return BAD("tool_choice", "'tool_choice' must be a string or an object");
    }
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(in, "parallel_tool_calls");
    if (cJSON_IsBool(pt))
        cJSON_AddItemToObject(o, "parallel_tool_calls", cJSON_Duplicate(pt, true));
    return 0;
}

/* text.format as response_format. */
static int add_format(const cJSON *in, cJSON *o, srv_error *e)
{
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(in, "text");
    const cJSON *f = cJSON_IsObject(text) ? cJSON_GetObjectItemCaseSensitive(text, "format")
                                          : NULL;
    if (!f)
        return 0;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(f, "type");
    const char *ty = cJSON_IsString(t) ? t->valuestring : "";
    cJSON *rf = cJSON_CreateObject();
    cJSON_AddStringToObject(rf, "type", ty);
    if (!strcmp(ty, "json_schema")) {
        cJSON *js = cJSON_AddObjectToObject(rf, "json_schema");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(f, "name");
        const cJSON *schema = cJSON_GetObjectItemCaseSensitive(f, "schema");
        cJSON_AddStringToObject(js, "name", cJSON_IsString(name) ? name->valuestring : "out");
        if (schema)
            cJSON_AddItemToObject(js, "schema", cJSON_Duplicate(schema, true));
    } else if (strcmp(ty, "text") && strcmp(ty, "json_object")) {
        cJSON_Delete(rf);
        return BAD("text.format", "'text.format.type' must be text, json_object or json_schema");
    }
    cJSON_AddItemToObject(o, "response_format", rf);
    return 0;
}

/* Log-probabilities: `top_logprobs` (0..20) and `include` naming
 * "message.output_text.logprobs" ask for them (the first also for alternatives). */
static int add_logprobs(const cJSON *in, cJSON *o, srv_error *e)
{
    const cJSON *inc = cJSON_GetObjectItemCaseSensitive(in, "include");
    const cJSON *top = cJSON_GetObjectItemCaseSensitive(in, "top_logprobs");
    bool want = cJSON_IsNumber(top) && top->valuedouble > 0;
    if (inc && !cJSON_IsNull(inc) && !cJSON_IsArray(inc))
        return BAD("include", "'include' must be an array of strings");
    const cJSON *it;
    cJSON_ArrayForEach(it, inc) {
        if (!cJSON_IsString(it))
            return BAD("include", "'include' must be an array of strings");
        want |= !strcmp(it->valuestring, "message.output_text.logprobs");
    }
    if (top && !cJSON_IsNull(top))        /* checked as chat's top_logprobs is */
        cJSON_AddItemToObject(o, "top_logprobs", cJSON_Duplicate(top, true));
    if (want)
        cJSON_AddBoolToObject(o, "logprobs", true);
    return 0;
}

/* The chat request meant; *conv gets the conversation without the instructions (for the
 * store). */
static int translate(srv_responses *store, const cJSON *in, cJSON **out, cJSON **conv,
                     srv_error *e)
{
    *out = *conv = NULL;
    if (!cJSON_IsObject(in))
        return BAD(NULL, "the body must be a JSON object");
    cJSON *o = cJSON_CreateObject(), *msgs = cJSON_CreateArray();
    static const char *const same[] = {"model", "temperature", "top_p", "stream"};
    for (size_t k = 0; k < sizeof same / sizeof *same; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, same[k]);
        if (v)
            cJSON_AddItemToObject(o, same[k], cJSON_Duplicate(v, true));
    }
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(in, "max_output_tokens");
    if (mt && !cJSON_IsNull(mt))
        cJSON_AddItemToObject(o, "max_tokens", cJSON_Duplicate(mt, true));
    int rc = 0;
    const cJSON *prev = cJSON_GetObjectItemCaseSensitive(in, "previous_response_id");
    if (prev && !cJSON_IsNull(prev)) {
        cJSON *old = cJSON_IsString(prev) ? get(store, prev->valuestring) : NULL;
        if (!old)
            rc = srv_error_set(e, 404, "invalid_request_error", "previous_response_not_found",
                               "previous_response_id", "no stored response '%.64s' (responses "
                               "are kept for %.0f s, at most %d)",
                               cJSON_IsString(prev) ? prev->valuestring : "?", RESP_TTL_S,
                               RESP_MAX);
        cJSON_Delete(msgs);
        msgs = old ? old : cJSON_CreateArray();
    }
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(in, "input");
    if (!rc && cJSON_IsString(input)) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", "user");
        cJSON_AddStringToObject(m, "content", input->valuestring);
        cJSON_AddItemToArray(msgs, m);
    } else if (!rc && cJSON_IsArray(input)) {
        const cJSON *it;
        int i = 0;
        cJSON_ArrayForEach(it, input) {
            if ((rc = add_item(it, i++, msgs, e)))
                break;
        }
    } else if (!rc) {
        rc = BAD("input", "missing required field 'input' (a string or an array of items)");
    }
    const cJSON *ins = cJSON_GetObjectItemCaseSensitive(in, "instructions");
    cJSON *all = cJSON_Duplicate(msgs, true);
    if (!rc && cJSON_IsString(ins)) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", "system");
        cJSON_AddStringToObject(m, "content", ins->valuestring);
        cJSON_InsertItemInArray(all, 0, m);
    } else if (!rc && ins && !cJSON_IsNull(ins)) {
        rc = BAD("instructions", "'instructions' must be a string");
    }
    cJSON_AddItemToObject(o, "messages", all);
    if (!rc)
        rc = add_tools(in, o, e);
    if (!rc)
        rc = add_format(in, o, e);
    if (!rc)
        rc = add_logprobs(in, o, e);
    if (rc == 500)
        rc = srv_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
    if (rc) {
        cJSON_Delete(o);
        cJSON_Delete(msgs);
        return rc;
    }
    *out = o;
    *conv = msgs;
    return 0;
}

/* ---- the reply ---------------------------------------------------------------------------- */

typedef struct rs_stream {
    srv_ctx *x;
    const cJSON *in;       /* the request, echoed in the response object */
    const char *model;
    char id[48], msg_id[48];
    long created;
    bool tools, ok, item_open;
    bool stream;           /* events as they come; else one response object at the end */
    int seq;
    llmr_buf text;         /* the reply's text so far (held with tools) */
    srv_gen *g;
    cJSON *lp;             /* with logprobs: the tokens of the text so far */
} rs_stream;

static void make_id(char *buf, size_t n, const char *prefix)
{
    static atomic_uint seq;
    snprintf(buf, n, "%s_%08lx%08x", prefix, (unsigned long)time(NULL),
             atomic_fetch_add(&seq, 1));
}

static cJSON *message_item(rs_stream *st, const char *text, bool done)
{
    cJSON *m = cJSON_CreateObject(), *c;
    cJSON_AddStringToObject(m, "type", "message");
    cJSON_AddStringToObject(m, "id", st->msg_id);
    cJSON_AddStringToObject(m, "status", done ? "completed" : "in_progress");
    cJSON_AddStringToObject(m, "role", "assistant");
    cJSON_AddItemToObject(m, "content", c = cJSON_CreateArray());
    if (done) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "type", "output_text");
        cJSON_AddStringToObject(p, "text", text);
        cJSON_AddArrayToObject(p, "annotations");
        if (st->g->logprobs)
            cJSON_AddItemToObject(p, "logprobs", st->lp ? cJSON_Duplicate(st->lp, true)
                                                        : cJSON_CreateArray());
        cJSON_AddItemToArray(c, p);
    }
    return m;
}

static cJSON *call_item(const cJSON *call, bool done)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(call, "function");
    const char *cid = cJSON_GetObjectItemCaseSensitive(call, "id")->valuestring;
    cJSON *m = cJSON_CreateObject();
    char id[48];
    snprintf(id, sizeof id, "fc_%s", strncmp(cid, "call_", 5) ? cid : cid + 5);
    cJSON_AddStringToObject(m, "type", "function_call");
    cJSON_AddStringToObject(m, "id", id);
    cJSON_AddStringToObject(m, "call_id", cid);
    cJSON_AddStringToObject(m, "name", cJSON_GetObjectItemCaseSensitive(f, "name")->valuestring);
    cJSON_AddStringToObject(m, "arguments",
                            done ? cJSON_GetObjectItemCaseSensitive(f, "arguments")->valuestring
                                 : "");
    cJSON_AddStringToObject(m, "status", done ? "completed" : "in_progress");
    return m;
}

/* The response object; output NULL: still running. */
static cJSON *response_obj(rs_stream *st, cJSON *output, const srv_usage *u)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "id", st->id);
    cJSON_AddStringToObject(r, "object", "response");
    cJSON_AddNumberToObject(r, "created_at", (double)st->created);
    bool cut = u && u->finish != SRV_FINISH_STOP;
    cJSON_AddStringToObject(r, "status", !output ? "in_progress" : cut ? "incomplete"
                                                                        : "completed");
    cJSON_AddStringToObject(r, "model", st->model);
    cJSON_AddItemToObject(r, "output", output ? output : cJSON_CreateArray());
    if (output && cut) {
        cJSON *d = cJSON_AddObjectToObject(r, "incomplete_details");
        cJSON_AddStringToObject(d, "reason", "max_output_tokens");
    } else {
        cJSON_AddNullToObject(r, "incomplete_details");
    }
    cJSON_AddNullToObject(r, "error");
    static const char *const echo[] = {"instructions", "previous_response_id", "tools",
                                       "tool_choice", "temperature", "top_p",
                                       "max_output_tokens", "metadata"};
    for (size_t k = 0; k < sizeof echo / sizeof *echo; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(st->in, echo[k]);
        cJSON_AddItemToObject(r, echo[k], v ? cJSON_Duplicate(v, true) : cJSON_CreateNull());
    }
    if (u) {
        cJSON *us = cJSON_AddObjectToObject(r, "usage");
        cJSON_AddNumberToObject(us, "input_tokens", u->prompt_tokens);
        cJSON_AddNumberToObject(us, "output_tokens", u->completion_tokens);
        cJSON_AddNumberToObject(us, "total_tokens", u->prompt_tokens + u->completion_tokens);
    } else {
        cJSON_AddNullToObject(r, "usage");
    }
    return r;
}

/* The output items of a finished reply, and the assistant message for the store. */
static cJSON *output_of(rs_stream *st, const char *text, const cJSON *tc, cJSON **stored_msg)
{
    cJSON *out = cJSON_CreateArray();
    const char *t = tc ? cJSON_GetObjectItemCaseSensitive(tc, "content")->valuestring : text;
    const cJSON *calls = cJSON_GetObjectItemCaseSensitive(tc, "tool_calls");
    if (t[0] || !calls)
        cJSON_AddItemToArray(out, message_item(st, t, true));
    const cJSON *c;
    cJSON_ArrayForEach(c, calls)
        cJSON_AddItemToArray(out, call_item(c, true));
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "assistant");
    cJSON_AddStringToObject(m, "content", t);
    if (calls)
        cJSON_AddItemToObject(m, "tool_calls", cJSON_Duplicate(calls, true));
    *stored_msg = m;
    return out;
}

static void store_conversation(srv_responses *store, const rs_stream *st, const cJSON *in,
                               cJSON *conv, cJSON *reply)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(in, "store");
    if (cJSON_IsFalse(s)) {
        cJSON_Delete(reply);
        cJSON_Delete(conv);
        return;
    }
    cJSON_AddItemToArray(conv, reply);
    put(store, st->id, cJSON_PrintUnformatted(conv));
    cJSON_Delete(conv);
}

static bool send_event(rs_stream *st, const char *type, cJSON *o)
{
    cJSON_AddStringToObject(o, "type", type);
    cJSON_AddNumberToObject(o, "sequence_number", st->seq++);
    char *js = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    llmr_buf b = {0};
    bool ok = js && llmri_buf_printf(&b, "event: %s\ndata: %s\n\n", type, js) &&
              srv_stream_write(st->x, b.p, b.len);
    free(js);
    llmri_buf_free(&b);
    return st->ok = st->ok && ok;
}

static cJSON *ev_item(int index, cJSON *item)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "output_index", index);
    cJSON_AddItemToObject(o, "item", item);
    return o;
}

static cJSON *ev_part(rs_stream *st, const char *key, const char *text)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "item_id", st->msg_id);
    cJSON_AddNumberToObject(o, "output_index", 0);
    cJSON_AddNumberToObject(o, "content_index", 0);
    if (key)
        cJSON_AddStringToObject(o, key, text);
    return o;
}

static cJSON *text_part(const char *text)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "type", "output_text");
    cJSON_AddStringToObject(p, "text", text);
    cJSON_AddArrayToObject(p, "annotations");
    return p;
}

static bool open_item(rs_stream *st)
{
    if (st->item_open)
        return true;
    st->item_open = true;
    send_event(st, "response.output_item.added", ev_item(0, message_item(st, "", false)));
    cJSON *o = ev_part(st, NULL, NULL);
    cJSON_AddItemToObject(o, "part", text_part(""));
    return send_event(st, "response.content_part.added", o);
}

static bool emit(void *user, const char *text, size_t len, bool thought)
{
    rs_stream *st = user;
    (void)thought;
    if (!llmri_buf_append(&st->text, text, len))
        return st->ok = false;
    const cJSON *e;
    if (st->g->piece_lp && !st->lp)
        st->lp = cJSON_CreateArray();
    cJSON_ArrayForEach(e, st->g->piece_lp)
        cJSON_AddItemToArray(st->lp, cJSON_Duplicate(e, true));
    if (st->tools || !st->stream)   /* with tools, text may be a call: held until the end */
        return true;
    char *t = llmri_strndup(text, len);
    cJSON *d = ev_part(st, "delta", t ? t : "");
    if (st->g->logprobs)
        cJSON_AddItemToObject(d, "logprobs", st->g->piece_lp
                                                 ? cJSON_Duplicate(st->g->piece_lp, true)
                                                 : cJSON_CreateArray());
    bool ok = t && open_item(st);
    if (ok)
        ok = send_event(st, "response.output_text.delta", d);
    else
        cJSON_Delete(d);
    free(t);
    return ok;
}

/* The items' ends: the text item's done events, then each call's events. */
static void close_items(rs_stream *st, const char *text, const cJSON *tc)
{
    int index = 0;
    if (text[0] || !tc) {
        if (st->tools && text[0]) {
            open_item(st);
            send_event(st, "response.output_text.delta", ev_part(st, "delta", text));
        }
        if (st->item_open) {
            send_event(st, "response.output_text.done", ev_part(st, "text", text));
            cJSON *o = ev_part(st, NULL, NULL);
            cJSON_AddItemToObject(o, "part", text_part(text));
            send_event(st, "response.content_part.done", o);
            send_event(st, "response.output_item.done", ev_item(0, message_item(st, text, true)));
            index = 1;
        }
    }
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(tc, "tool_calls")) {
        cJSON *item = call_item(c, true);
        const char *iid = cJSON_GetObjectItemCaseSensitive(item, "id")->valuestring;
        const char *args = cJSON_GetObjectItemCaseSensitive(item, "arguments")->valuestring;
        send_event(st, "response.output_item.added", ev_item(index, call_item(c, false)));
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "item_id", iid);
        cJSON_AddNumberToObject(d, "output_index", index);
        cJSON_AddStringToObject(d, "delta", args);
        send_event(st, "response.function_call_arguments.delta", d);
        d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "item_id", iid);
        cJSON_AddNumberToObject(d, "output_index", index);
        cJSON_AddStringToObject(d, "arguments", args);
        send_event(st, "response.function_call_arguments.done", d);
        send_event(st, "response.output_item.done", ev_item(index++, item));
    }
}

static bool write_reply(rs_stream *st, srv_gen *g, bool stream, cJSON *conv);

/* Writes the reply; conv (the conversation so far) is stored with it, or freed. */
static void reply(rs_stream *st, srv_gen *g, bool stream, cJSON *conv)
{
    if (!write_reply(st, g, stream, conv))
        cJSON_Delete(conv);
}

static bool write_reply(rs_stream *st, srv_gen *g, bool stream, cJSON *conv)
{
    srv_ctx *x = st->x;
    st->stream = stream;
    srv_usage u;
    if (stream) {
        if (!srv_stream_begin(x, "text/event-stream"))
            return false;
        st->ok = true;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "response", response_obj(st, NULL, NULL));
        send_event(st, "response.created", o);
        o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "response", response_obj(st, NULL, NULL));
        send_event(st, "response.in_progress", o);
    }
    bool live = srv_pump(x, g, emit, st);
    srv_gen_usage(g, &u);
    srv_note_usage(x, &u);
    if (!live || (stream && !st->ok))
        return false;
    if (u.finish == SRV_FINISH_ERROR) {
        if (!stream) {
            srv_reply_errorf(x, 500, "server_error", NULL, "generation failed: %s", u.err_msg);
            return false;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "code", "server_error");
        cJSON_AddStringToObject(o, "message", u.err_msg);
        send_event(st, "error", o);
        srv_stream_end(x);
        return false;
    }
    cJSON *tc = st->tools ? srv_gen_calls(g) : NULL;
    const char *text = tc ? cJSON_GetObjectItemCaseSensitive(tc, "content")->valuestring
                          : st->text.p ? st->text.p : "";
    if (stream)
        close_items(st, text, tc);
    cJSON *msg;
    cJSON *r = response_obj(st, output_of(st, text, tc, &msg), &u);
    cJSON_Delete(tc);
    store_conversation(x->srv->responses, st, st->in, conv, msg);
    if (!stream) {
        srv_reply_cjson(x, 200, r);
        return true;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "response", r);
    send_event(st, u.finish == SRV_FINISH_STOP ? "response.completed" : "response.incomplete", o);
    srv_stream_end(x);
    return true;
}

/* What srv_handle_generation's halves share: the request as it came, and the conversation
 * to store with the reply (taken by it). */
typedef struct rs_req {
    srv_responses *store;
    cJSON *in, *conv;
} rs_req;

/* The body, translated into the chat request it means and parsed. */
static bool accept_cb(srv_ctx *x, void *user, srv_req *r)
{
    rs_req *q = user;
    memset(r, 0, sizeof *r);
    if (!srv_check(x, "POST", SRV_KEY) || !(q->in = srv_read_json(x)))
        return false;
    srv_error e = {0};
    cJSON *chat = NULL;
    int rc = translate(q->store, q->in, &chat, &q->conv, &e);
    char *body = rc ? NULL : cJSON_PrintUnformatted(chat);
    cJSON_Delete(chat);
    if (!rc)
        rc = body ? srv_req_parse(SRV_API_CHAT, body, strlen(body), r, &e)
                  : srv_error_set(&e, 500, "server_error", NULL, NULL, "out of memory");
    free(body);
    if (rc) {
        srv_reply_error(x, &e);
        srv_req_free(r);
        return false;
    }
    r->split_reasoning = false;
    return true;
}

static void reply_cb(srv_ctx *x, const srv_req *r, srv_gen *g, void *user)
{
    rs_req *q = user;
    rs_stream st = {.x = x, .in = q->in, .model = g->model, .created = (long)time(NULL),
                    .tools = g->tools, .g = g};
    make_id(st.id, sizeof st.id, "resp");
    make_id(st.msg_id, sizeof st.msg_id, "msg");
    reply(&st, g, r->stream, q->conv);    /* takes conv */
    q->conv = NULL;
    llmri_buf_free(&st.text);
    cJSON_Delete(st.lp);
}

int srv_h_responses(struct mg_connection *c, void *ud)
{
    llmr_server *s = ud;
    rs_req q = {.store = s->responses};
    int rc = srv_handle_generation(c, s, SRV_API_CHAT, accept_cb, reply_cb, &q);
    cJSON_Delete(q.conv);
    cJSON_Delete(q.in);
    return rc;
}
