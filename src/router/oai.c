/* oai.c - decoding OpenAI-style streamed chunks (see oai.h). */
#include "router/oai.h"
#include "core/json.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

void llmri_oai_delta_free(llmr_oai_delta *d)
{
    if (d->json_)
        cJSON_Delete(d->json_);
    d->json_ = NULL;
}

/* The server's words for an error object: its message, else the whole object. */
static void error_text(const cJSON *e, char *out, size_t n)
{
    const cJSON *m = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "message") : NULL;
    if (cJSON_IsString(m))
        snprintf(out, n, "%s", m->valuestring);
    else if (cJSON_IsString(e))
        snprintf(out, n, "%s", e->valuestring);
    else {
        char *s = cJSON_PrintUnformatted(e);
        snprintf(out, n, "%s", s ? s : "(no message)");
        cJSON_free(s);
    }
}

/* Rate limits and overload are worth retrying later (BUSY); anything else the server reports
 * mid-stream is a backend failure (NETWORK), which the router also fails over from. */
static int error_code_of(const cJSON *e)
{
    const char *keys[] = {"type", "code"};
    for (int i = 0; i < 2; i++) {
        const cJSON *t = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, keys[i]) : NULL;
        if (cJSON_IsString(t) && (strstr(t->valuestring, "overload") ||
                                  strstr(t->valuestring, "rate_limit") ||
                                  strstr(t->valuestring, "unavailable")))
            return LLMR_ERR_BUSY;
        if (cJSON_IsNumber(t) && (t->valueint == 429 || t->valueint == 503))
            return LLMR_ERR_BUSY;
    }
    return LLMR_ERR_NETWORK;
}

static int malformed(const char *data, size_t len, const char *why, llmr_err *err)
{
    char q[81];
    size_t k = len < 80 ? len : 80;
    for (size_t i = 0; i < k; i++)
        q[i] = (data[i] >= 32 && data[i] < 127) ? data[i] : '?';
    q[k] = 0;
    return llmri_err_set(err, LLMR_ERR_FORMAT, "malformed stream chunk from the backend (%s): "
                        "'%s%s'", why, q, len > 80 ? "..." : "");
}

int llmri_oai_decode(const char *data, size_t len, bool chat, llmr_oai_delta *d, llmr_err *err)
{
    llmri_oai_delta_free(d);
    d->done = false;
    d->text = NULL;
    d->len = 0;
    d->tool_calls = NULL;
    d->finish[0] = 0;
    if (len == 6 && !memcmp(data, "[DONE]", 6)) {
        d->done = true;
        return LLMR_OK;
    }
    if (!llmri_json_depth_ok(data, len, LLMR_JSON_MAX_DEPTH, NULL))
        return malformed(data, len, "JSON nested too deep", err);
    cJSON *j = cJSON_ParseWithLength(data, len);
    if (!j)
        return malformed(data, len, "not JSON", err);
    d->json_ = j;
    if (!cJSON_IsObject(j))
        return malformed(data, len, "not a JSON object", err);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    if (e && !cJSON_IsNull(e)) {
        char msg[400];
        error_text(e, msg, sizeof msg);
        return llmri_err_set(err, error_code_of(e), "the backend reported an error: %s", msg);
    }
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(j, "model");
    if (cJSON_IsString(model))
        snprintf(d->model, sizeof d->model, "%s", model->valuestring);
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(j, "choices");
    if (!cJSON_IsArray(ch))
        return malformed(data, len, "no \"choices\" array", err);
    const cJSON *c0 = cJSON_GetArrayItem(ch, 0);
    if (!c0)
        return LLMR_OK;        /* usage-only chunks (stream_options.include_usage) have none */
    if (!cJSON_IsObject(c0))
        return malformed(data, len, "choices[0] is not an object", err);
    const cJSON *fr = cJSON_GetObjectItemCaseSensitive(c0, "finish_reason");
    if (cJSON_IsString(fr))
        snprintf(d->finish, sizeof d->finish, "%s", fr->valuestring);
    const cJSON *t;
    if (chat) {
        const cJSON *delta = cJSON_GetObjectItemCaseSensitive(c0, "delta");
        if (delta && !cJSON_IsObject(delta))
            return malformed(data, len, "choices[0].delta is not an object", err);
        t = delta ? cJSON_GetObjectItemCaseSensitive(delta, "content") : NULL;
        const cJSON *tc = delta ? cJSON_GetObjectItemCaseSensitive(delta, "tool_calls") : NULL;
        if (tc && !cJSON_IsNull(tc) && !cJSON_IsArray(tc))
            return malformed(data, len, "delta.tool_calls is not an array", err);
        d->tool_calls = cJSON_IsArray(tc) ? tc : NULL;
    } else {
        t = cJSON_GetObjectItemCaseSensitive(c0, "text");
    }
    if (t && !cJSON_IsNull(t) && !cJSON_IsString(t))
        return malformed(data, len, chat ? "delta.content is not a string" : "text is not a "
                         "string", err);
    if (cJSON_IsString(t)) {
        d->text = t->valuestring;
        d->len = strlen(t->valuestring);
    }
    return LLMR_OK;
}

int llmri_oai_http_error(long status, const char *body, size_t len, const char *url,
                        llmr_err *err)
{
    char msg[400] = "";
    cJSON *j = body && len && llmri_json_depth_ok(body, len, LLMR_JSON_MAX_DEPTH, NULL)
                   ? cJSON_ParseWithLength(body, len)
                   : NULL;
    const cJSON *e = j ? cJSON_GetObjectItemCaseSensitive(j, "error") : NULL;
    if (e)
        error_text(e, msg, sizeof msg);
    else if (body && len) {
        size_t k = len < 200 ? len : 200, o = 0;
        for (size_t i = 0; i < k; i++)
            msg[o++] = (body[i] >= 32 && body[i] < 127) ? body[i] : ' ';
        msg[o] = 0;
    }
    cJSON_Delete(j);
    int code = status == 429 || status == 503 ? LLMR_ERR_BUSY
             : status >= 500                  ? LLMR_ERR_NETWORK
             : status == 404                  ? LLMR_ERR_NOT_FOUND
                                              : LLMR_ERR_ARG;
    return llmri_err_set(err, code, "%s: HTTP %ld%s%s", url, status, msg[0] ? ": " : "", msg);
}
