/* request.c - JSON request bodies -> srv_req (see request.h).
 *
 * Field names and ranges follow the OpenAI API reference (chat/completions, completions) and
 * ollama's docs/api.md (generate, chat: top-level `format`, `system`, `raw`, and an `options`
 * object with num_predict, temperature, top_k, top_p, min_p, stop, seed, repeat_penalty,
 * presence_penalty, frequency_penalty). Unknown fields are ignored, as both servers do.
 */
#include "server/request.h"

#include "core/json.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int srv_error_set(srv_error *e, int status, const char *type, const char *code,
                  const char *param, const char *fmt, ...)
{
    if (!e)
        return status;
    e->status = status;
    e->type = type ? type : "invalid_request_error";
    e->code = code;
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return status;
}

#define BAD(param, ...) srv_error_set(e, 400, "invalid_request_error", NULL, param, __VA_ARGS__)

bool srv_utf8_valid(const char *str, size_t n, size_t *bad)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t need;
        unsigned lo = 0x80, hi = 0xBF;   /* allowed range of the second byte */
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0) lo = 0xA0;            /* no overlongs */
            if (c == 0xED) hi = 0x9F;            /* no surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;            /* nothing past U+10FFFF */
        } else {
            goto fail;
        }
        if (n - i <= need)
            goto fail;
        if (s[i + 1] < lo || s[i + 1] > hi)
            goto fail;
        for (size_t k = 2; k <= need; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                goto fail;
        i += need + 1;
    }
    return true;
fail:
    if (bad)
        *bad = i;
    return false;
}

/* ---- typed field readers: each returns 0 or an error status ------------------------------ */

static int get_string(const cJSON *o, const char *key, const char *param, bool required,
                      char **out, srv_error *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) {
        if (required)
            return BAD(param, "missing required field '%s' (a string)", param);
        return 0;
    }
    if (!cJSON_IsString(v) || !v->valuestring)
        return BAD(param, "'%s' must be a string", param);
    free(*out);
    *out = strdup(v->valuestring);
    if (!*out)
        return srv_error_set(e, 500, "server_error", NULL, param, "out of memory");
    return 0;
}

static int get_number(const cJSON *o, const char *key, const char *param, double lo, double hi,
                      float *out, srv_error *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsNumber(v))
        return BAD(param, "'%s' must be a number", param);
    double d = v->valuedouble;
    if (!(d >= lo && d <= hi))
        return BAD(param, "'%s' is %g; expected a number from %g to %g", param, d, lo, hi);
    *out = (float)d;
    return 0;
}

static int get_int(const cJSON *o, const char *key, const char *param, double lo, double hi,
                   int32_t *out, srv_error *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble))
        return BAD(param, "'%s' must be an integer", param);
    double d = v->valuedouble;
    if (!(d >= lo && d <= hi))
        return BAD(param, "'%s' is %.0f; expected an integer from %.0f to %.0f", param, d, lo, hi);
    *out = (int32_t)d;
    return 0;
}

static int get_bool(const cJSON *o, const char *key, const char *param, bool *out, srv_error *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsBool(v))
        return BAD(param, "'%s' must be true or false", param);
    *out = cJSON_IsTrue(v);
    return 0;
}

static int get_seed(const cJSON *o, const char *key, srv_req *r, srv_error *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v))
        return 0;
    /* A double holds integers exactly up to 2^53; larger seeds are rejected, not rounded. */
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
        fabs(v->valuedouble) > 9007199254740992.0)
        return BAD(key, "'%s' must be an integer of magnitude at most 2^53", key);
    r->has_seed = true;
    r->seed = v->valuedouble < 0 ? (uint64_t)(int64_t)v->valuedouble : (uint64_t)v->valuedouble;
    return 0;
}

/* `stop`: a string or an array of strings (OpenAI and ollama both accept either). */
static int get_stop(const cJSON *o, const char *key, srv_req *r, srv_error *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (cJSON_IsString(v)) {
        if (!v->valuestring[0])
            return BAD(key, "'%s' must not be empty", key);
        r->stop[0] = strdup(v->valuestring);
        r->n_stop = r->stop[0] ? 1 : 0;
        return 0;
    }
    if (!cJSON_IsArray(v))
        return BAD(key, "'%s' must be a string or an array of strings", key);
    int n = cJSON_GetArraySize(v);
    if (n > SRV_MAX_STOP)
        return BAD(key, "'%s' has %d entries; at most %d are allowed", key, n, SRV_MAX_STOP);
    const cJSON *it;
    cJSON_ArrayForEach(it, v) {
        if (!cJSON_IsString(it) || !it->valuestring[0])
            return BAD(key, "every entry of '%s' must be a non-empty string", key);
        if (strlen(it->valuestring) > 256)
            return BAD(key, "an entry of '%s' is longer than 256 bytes", key);
        char *s = strdup(it->valuestring);
        if (!s)
            return srv_error_set(e, 500, "server_error", NULL, key, "out of memory");
        r->stop[r->n_stop++] = s;
    }
    return 0;
}

/* OpenAI logit_bias: {"token id": bias in [-100, 100]}. */
static int get_bias(const cJSON *o, srv_req *r, srv_error *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "logit_bias");
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsObject(v))
        return BAD("logit_bias", "'logit_bias' must be an object mapping token ids to numbers");
    int n = cJSON_GetArraySize(v);
    if (n > SRV_MAX_BIAS)
        return BAD("logit_bias", "'logit_bias' has %d entries; at most %d", n, SRV_MAX_BIAS);
    r->bias = calloc((size_t)n + 1, sizeof *r->bias);
    if (!r->bias)
        return srv_error_set(e, 500, "server_error", NULL, "logit_bias", "out of memory");
    const cJSON *it;
    cJSON_ArrayForEach(it, v) {
        char *end;
        errno = 0;
        long id = strtol(it->string, &end, 10);
        if (errno || end == it->string || *end || id < 0 || id > INT32_MAX)
            return BAD("logit_bias", "logit_bias key '%.40s' is not a token id", it->string);
        if (!cJSON_IsNumber(it) || !(it->valuedouble >= -100 && it->valuedouble <= 100))
            return BAD("logit_bias", "logit_bias of token %ld must be a number in [-100, 100]",
                       id);
        r->bias[r->n_bias++] = (srv_bias){(int32_t)id, (float)it->valuedouble};
    }
    return 0;
}

/* OpenAI message content: a string, or an array of parts of which the text parts are joined
 * ({"type":"text","text":...}); other part types (images) are refused. */
static int get_content(const cJSON *m, int i, char **out, srv_error *e)
{
    char param[48];
    snprintf(param, sizeof param, "messages[%d].content", i);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "content");
    if (!c || cJSON_IsNull(c)) {
        *out = strdup("");   /* an assistant message with only tool calls has null content */
        return *out ? 0 : srv_error_set(e, 500, "server_error", NULL, param, "out of memory");
    }
    if (cJSON_IsString(c)) {
        *out = strdup(c->valuestring);
        return *out ? 0 : srv_error_set(e, 500, "server_error", NULL, param, "out of memory");
    }
    if (!cJSON_IsArray(c))
        return BAD(param, "'%s' must be a string or an array of text parts", param);
    size_t total = 1;
    const cJSON *p;
    cJSON_ArrayForEach(p, c) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "type");
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(p, "text");
        if (!cJSON_IsString(t) || strcmp(t->valuestring, "text") || !cJSON_IsString(x))
            return BAD(param, "'%s': only parts {\"type\":\"text\",\"text\":...} are supported",
                       param);
        total += strlen(x->valuestring);
    }
    char *s = malloc(total);
    if (!s)
        return srv_error_set(e, 500, "server_error", NULL, param, "out of memory");
    s[0] = 0;
    size_t at = 0;
    cJSON_ArrayForEach(p, c) {
        const char *x = cJSON_GetObjectItemCaseSensitive(p, "text")->valuestring;
        size_t n = strlen(x);
        memcpy(s + at, x, n + 1);
        at += n;
    }
    *out = s;
    return 0;
}

static int get_messages(const cJSON *o, srv_req *r, srv_error *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "messages");
    if (!v || cJSON_IsNull(v))
        return BAD("messages", "missing required field 'messages' (an array of messages)");
    if (!cJSON_IsArray(v))
        return BAD("messages", "'messages' must be an array of {role, content} objects");
    int n = cJSON_GetArraySize(v);
    if (n < 1 && r->api == SRV_API_CHAT)
        return BAD("messages", "'messages' must hold at least one message");
    if (n > SRV_MAX_MSGS)
        return BAD("messages", "'messages' has %d entries; at most %d", n, SRV_MAX_MSGS);
    r->msgs = calloc((size_t)n + 1, sizeof *r->msgs);
    if (!r->msgs)
        return srv_error_set(e, 500, "server_error", NULL, "messages", "out of memory");
    const cJSON *m;
    int i = 0;
    cJSON_ArrayForEach(m, v) {
        char param[48];
        snprintf(param, sizeof param, "messages[%d].role", i);
        if (!cJSON_IsObject(m))
            return BAD(param, "messages[%d] must be an object with 'role' and 'content'", i);
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (!cJSON_IsString(role))
            return BAD(param, "'%s' must be one of system, user, assistant, tool", param);
        const char *rs = role->valuestring;
        if (strcmp(rs, "system") && strcmp(rs, "user") && strcmp(rs, "assistant") &&
            strcmp(rs, "tool") && strcmp(rs, "developer"))
            return BAD(param, "'%s' is '%.32s'; expected system, user, assistant or tool", param,
                       rs);
        /* OpenAI's newer "developer" role is the system role under another name. */
        r->msgs[i].role = strdup(strcmp(rs, "developer") ? rs : "system");
        r->n_msgs = i + 1;
        if (!r->msgs[i].role)
            return srv_error_set(e, 500, "server_error", NULL, param, "out of memory");
        int rc = get_content(m, i, &r->msgs[i].content, e);
        if (rc)
            return rc;
        i++;
    }
    return 0;
}

/* OpenAI response_format: {"type":"text"} | {"type":"json_object"} |
 * {"type":"json_schema","json_schema":{"name":...,"schema":{...},"strict":bool}}. */
static int get_response_format(const cJSON *o, srv_req *r, srv_error *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "response_format");
    if (!v || cJSON_IsNull(v))
        return 0;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(v, "type");
    if (!cJSON_IsObject(v) || !cJSON_IsString(t))
        return BAD("response_format", "'response_format' must be an object with a 'type'");
    if (!strcmp(t->valuestring, "text"))
        return 0;
    if (!strcmp(t->valuestring, "json_object")) {
        r->json_object = true;
        return 0;
    }
    if (strcmp(t->valuestring, "json_schema"))
        return BAD("response_format.type",
                   "response_format.type is '%.32s'; expected text, json_object or json_schema",
                   t->valuestring);
    const cJSON *js = cJSON_GetObjectItemCaseSensitive(v, "json_schema");
    const cJSON *schema = cJSON_IsObject(js) ? cJSON_GetObjectItemCaseSensitive(js, "schema")
                                             : NULL;
    if (!cJSON_IsObject(schema))
        return BAD("response_format.json_schema.schema",
                   "response_format json_schema needs json_schema.schema (an object)");
    r->json_schema = cJSON_PrintUnformatted(schema);
    return r->json_schema ? 0 : srv_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
}

/* ollama `format`: "json" or a JSON schema object. */
static int get_ollama_format(const cJSON *o, srv_req *r, srv_error *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "format");
    if (!v || cJSON_IsNull(v))
        return 0;
    if (cJSON_IsString(v)) {
        if (!v->valuestring[0])
            return 0;
        if (strcmp(v->valuestring, "json"))
            return BAD("format", "'format' is '%.32s'; expected \"json\" or a JSON schema",
                       v->valuestring);
        r->json_object = true;
        return 0;
    }
    if (!cJSON_IsObject(v))
        return BAD("format", "'format' must be \"json\" or a JSON schema object");
    r->json_schema = cJSON_PrintUnformatted(v);
    return r->json_schema ? 0 : srv_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
}

/* Log-probabilities. Chat completions, ollama and Responses: `logprobs` (a boolean) and
 * `top_logprobs` (0..20, which needs logprobs, as OpenAI's API has it); /v1/completions:
 * `logprobs` is the number of alternatives (0..20; OpenAI's own stops at 5). */
static int get_logprobs(const cJSON *o, srv_req *r, srv_error *e)
{
    int rc;
    int32_t top = 0;
    if (r->api == SRV_API_COMPLETION) {
        int32_t n = -1;
        if ((rc = get_int(o, "logprobs", "logprobs", 0, LLMR_MAX_TOP_LOGPROBS, &n, e)))
            return rc;
        r->logprobs = n >= 0;
        r->top_logprobs = n > 0 ? n : 0;
        return 0;
    }
    if ((rc = get_bool(o, "logprobs", "logprobs", &r->logprobs, e)) ||
        (rc = get_int(o, "top_logprobs", "top_logprobs", 0, LLMR_MAX_TOP_LOGPROBS, &top, e)))
        return rc;
    if (top > 0 && !r->logprobs)
        return BAD("top_logprobs", "'top_logprobs' needs 'logprobs': true");
    r->top_logprobs = top;
    return 0;
}

/* Sampling fields shared by both OpenAI endpoints. */
static int parse_openai(const cJSON *o, srv_req *r, srv_error *e)
{
    int rc;
    int32_t n = 1, mt = -1, mct = -1;
    if ((rc = get_string(o, "model", "model", false, &r->model, e)) ||
        (rc = get_bool(o, "stream", "stream", &r->stream, e)) ||
        (rc = get_int(o, "max_tokens", "max_tokens", 1, LLMR_MAX_GEN_TOKENS_SRV, &mt, e)) ||
        (rc = get_int(o, "max_completion_tokens", "max_completion_tokens", 1,
                      LLMR_MAX_GEN_TOKENS_SRV, &mct, e)) ||
        (rc = get_number(o, "temperature", "temperature", 0, 2, &r->temperature, e)) ||
        (rc = get_number(o, "top_p", "top_p", 0, 1, &r->top_p, e)) ||
        (rc = get_int(o, "top_k", "top_k", 0, 1e9, &r->top_k, e)) ||
        (rc = get_number(o, "min_p", "min_p", 0, 1, &r->min_p, e)) ||
        (rc = get_number(o, "presence_penalty", "presence_penalty", -2, 2, &r->presence_penalty,
                         e)) ||
        (rc = get_number(o, "frequency_penalty", "frequency_penalty", -2, 2,
                         &r->frequency_penalty, e)) ||
        (rc = get_number(o, "repeat_penalty", "repeat_penalty", 0, 10, &r->repeat_penalty, e)) ||
        (rc = get_int(o, "n", "n", 1, 128, &n, e)) ||
        (rc = get_seed(o, "seed", r, e)) || (rc = get_stop(o, "stop", r, e)) ||
        (rc = get_bias(o, r, e)) || (rc = get_response_format(o, r, e)) ||
        (rc = get_string(o, "user", "user", false, &r->user, e)))
        return rc;
    if (n != 1)
        return BAD("n", "'n' is %d; this server generates one choice per request (n = 1)", n);
    if ((rc = get_logprobs(o, r, e)))
        return rc;
    r->max_tokens = mct > 0 ? mct : mt;
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(o, "stream_options");
    if (so && !cJSON_IsNull(so)) {
        if (!cJSON_IsObject(so))
            return BAD("stream_options", "'stream_options' must be an object");
        if ((rc = get_bool(so, "include_usage", "stream_options.include_usage",
                           &r->include_usage, e)))
            return rc;
    }
    if (r->api == SRV_API_CHAT) {
        /* reasoning_format (llama.cpp's): "none" leaves <think> blocks in the content;
         * "deepseek" and "auto" (the default) move them to reasoning_content */
        char *rf = NULL;
        if ((rc = get_string(o, "reasoning_format", "reasoning_format", false, &rf, e)))
            return rc;
        bool known = !rf || !strcmp(rf, "none") || !strcmp(rf, "auto") ||
                     !strcmp(rf, "deepseek");
        r->split_reasoning = !rf || strcmp(rf, "none");
        free(rf);
        if (!known)
            return BAD("reasoning_format", "'reasoning_format' must be \"none\", \"auto\" or "
                       "\"deepseek\"");
        return (rc = get_messages(o, r, e)) ? rc : srv_req_tools(o, r, e);
    }
    /* /v1/completions: prompt is a string, or an array holding one string. */
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "prompt");
    if (cJSON_IsArray(p) && cJSON_GetArraySize(p) == 1)
        p = cJSON_GetArrayItem(p, 0);
    if (!p || cJSON_IsNull(p))
        return BAD("prompt", "missing required field 'prompt' (a string)");
    if (!cJSON_IsString(p))
        return BAD("prompt", "'prompt' must be a string (or an array of one string)");
    r->prompt = strdup(p->valuestring);
    return r->prompt ? 0 : srv_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
}

static int parse_ollama(const cJSON *o, srv_req *r, srv_error *e)
{
    int rc;
    r->stream = true;   /* ollama streams unless "stream": false */
    if ((rc = get_string(o, "model", "model", false, &r->model, e)) ||
        (rc = get_bool(o, "stream", "stream", &r->stream, e)) ||
        (rc = get_ollama_format(o, r, e)) || (rc = get_logprobs(o, r, e)))
        return rc;
    const cJSON *opt = cJSON_GetObjectItemCaseSensitive(o, "options");
    if (opt && !cJSON_IsNull(opt)) {
        if (!cJSON_IsObject(opt))
            return BAD("options", "'options' must be an object");
        int32_t np = -1, ctx = 0;
        if ((rc = get_int(opt, "num_predict", "options.num_predict", -2, LLMR_MAX_GEN_TOKENS_SRV,
                          &np, e)) ||
            (rc = get_number(opt, "temperature", "options.temperature", 0, 100, &r->temperature,
                             e)) ||
            (rc = get_int(opt, "top_k", "options.top_k", 0, 1e9, &r->top_k, e)) ||
            (rc = get_number(opt, "top_p", "options.top_p", 0, 1, &r->top_p, e)) ||
            (rc = get_number(opt, "min_p", "options.min_p", 0, 1, &r->min_p, e)) ||
            (rc = get_number(opt, "repeat_penalty", "options.repeat_penalty", 0, 10,
                             &r->repeat_penalty, e)) ||
            (rc = get_number(opt, "presence_penalty", "options.presence_penalty", -2, 2,
                             &r->presence_penalty, e)) ||
            (rc = get_number(opt, "frequency_penalty", "options.frequency_penalty", -2, 2,
                             &r->frequency_penalty, e)) ||
            (rc = get_int(opt, "num_ctx", "options.num_ctx", 0, 1 << 24, &ctx, e)) ||
            (rc = get_seed(opt, "seed", r, e)) || (rc = get_stop(opt, "stop", r, e)))
            return rc;
        /* num_predict -1 means "no limit" and -2 "fill the context" in ollama: both become
         * the server's cap. */
        r->max_tokens = np > 0 ? np : -1;
    }
    /* ollama's "think": true puts the reasoning in message.thinking (the response's
     * "thinking" for generate); without it the text stays as the model wrote it */
    if ((rc = get_bool(o, "think", "think", &r->split_reasoning, e)))
        return rc;
    if (r->api == SRV_API_OLLAMA_CHAT)
        return (rc = get_messages(o, r, e)) ? rc : srv_req_tools(o, r, e);
    if ((rc = get_string(o, "prompt", "prompt", false, &r->prompt, e)) ||
        (rc = get_string(o, "system", "system", false, &r->system, e)) ||
        (rc = get_bool(o, "raw", "raw", &r->raw, e)))
        return rc;
    if (!r->prompt && !(r->prompt = strdup("")))
        return srv_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
    return 0;
}

/* The seed's protocol: {"type":"chat","content":"..."} plus, as extensions the web page uses,
 * "temperature", "max_tokens" and "model", and "logprobs"/"top_logprobs" (each token message
 * then carries its tokens' "logprobs", in chat completions' shape). */
static int parse_ws(const cJSON *o, srv_req *r, srv_error *e)
{
    int rc;
    if ((rc = get_string(o, "content", "content", true, &r->prompt, e)) ||
        (rc = get_string(o, "model", "model", false, &r->model, e)) ||
        (rc = get_number(o, "temperature", "temperature", 0, 2, &r->temperature, e)) ||
        (rc = get_int(o, "max_tokens", "max_tokens", 1, LLMR_MAX_GEN_TOKENS_SRV, &r->max_tokens,
                      e)) ||
        (rc = get_logprobs(o, r, e)))
        return rc;
    r->stream = true;
    return 0;
}

int srv_req_parse(srv_api api, const char *body, size_t len, srv_req *r, srv_error *e)
{
    memset(r, 0, sizeof *r);
    r->api = api;
    r->max_tokens = -1;
    r->top_k = -1;
    r->temperature = r->top_p = r->min_p = NAN;
    r->presence_penalty = r->frequency_penalty = r->repeat_penalty = NAN;
    size_t bad;
    if (!srv_utf8_valid(body, len, &bad))
        return BAD("", "the request body is not valid UTF-8 (first bad byte at offset %zu)", bad);
    char err[300];
    cJSON *o = llmri_json_parse(body, len, 0, api == SRV_API_WS ? "the message" : "the request body",
                               NULL, err, sizeof err);
    if (!o)
        return BAD("", "%s", err);
    int rc;
    if (!cJSON_IsObject(o))
        rc = BAD("", "the request body must be a JSON object");
    else if ((rc = get_string(o, "strategy", "strategy", false, &r->strategy, e)))
        ;
    else if (api == SRV_API_CHAT || api == SRV_API_COMPLETION)
        rc = parse_openai(o, r, e);
    else if (api == SRV_API_WS)
        rc = parse_ws(o, r, e);
    else
        rc = parse_ollama(o, r, e);
    cJSON_Delete(o);
    return rc;
}

void srv_req_free(srv_req *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n_msgs; i++) {
        free(r->msgs[i].role);
        free(r->msgs[i].content);
    }
    free(r->msgs);
    for (int i = 0; i < r->n_stop; i++)
        free(r->stop[i]);
    free(r->model);
    free(r->prompt);
    free(r->system);
    free(r->bias);
    free(r->json_schema);
    free(r->user);
    free(r->strategy);
    free(r->tools);
    free(r->tool_choice);
    free(r->messages_json);
    memset(r, 0, sizeof *r);
}
