/* request_tools.c - the tool-calling fields of a chat request (OpenAI's and ollama's):
 * "tools", "tool_choice", "parallel_tool_calls", and the history's calls ("tool_calls" of
 * assistant messages, "tool_call_id"/"name" of tool messages), which reach the model's
 * template as a JSON conversation (llmr_route_opts.messages_json). The tools themselves are
 * validated by the router, which names the entry at fault. */
#include "server/request.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BAD(param, ...) srv_error_set(e, 400, "invalid_request_error", NULL, param, __VA_ARGS__)
#define MAX_TOOLS 1024
#define MAX_CALLS 64          /* calls in one history message */

static int oom(srv_error *e)
{
    return srv_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
}

/* tool_choice: "auto" | "none" | "required" | {"type":"function","function":{"name":N}}. */
static int get_tool_choice(const cJSON *o, srv_req *r, srv_error *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "tool_choice");
    if (!v || cJSON_IsNull(v))
        return 0;
    const char *name = NULL;
    if (cJSON_IsString(v)) {
        if (strcmp(v->valuestring, "auto") && strcmp(v->valuestring, "none") &&
            strcmp(v->valuestring, "required"))
            return BAD("tool_choice", "'tool_choice' is '%.40s'; expected \"auto\", \"none\", "
                       "\"required\" or {\"type\":\"function\",\"function\":{\"name\":...}}",
                       v->valuestring);
        name = v->valuestring;
    } else if (cJSON_IsObject(v)) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(v, "function");
        const cJSON *n = cJSON_IsObject(f) ? cJSON_GetObjectItemCaseSensitive(f, "name") : NULL;
        if (!cJSON_IsString(n) || !n->valuestring[0])
            return BAD("tool_choice", "'tool_choice' as an object must be {\"type\":\"function\","
                       "\"function\":{\"name\": NAME}}");
        name = n->valuestring;
    } else {
        return BAD("tool_choice", "'tool_choice' must be a string or an object");
    }
    return (r->tool_choice = strdup(name)) ? 0 : oom(e);
}

/* A history call's arguments as the template sees them: an object (OpenAI sends a JSON
 * string; ollama an object). */
static cJSON *call_for_template(const cJSON *call, int i, int k, srv_error *e, int *rc)
{
    char param[64];
    snprintf(param, sizeof param, "messages[%d].tool_calls[%d]", i, k);
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(call, "function");
    const cJSON *n = cJSON_IsObject(f) ? cJSON_GetObjectItemCaseSensitive(f, "name") : NULL;
    if (!cJSON_IsString(n)) {
        *rc = BAD(param, "'%s' must be {\"function\": {\"name\", \"arguments\"}}", param);
        return NULL;
    }
    cJSON *c = cJSON_Duplicate(call, true);
    cJSON *cf = c ? cJSON_GetObjectItemCaseSensitive(c, "function") : NULL;
    const cJSON *a = cf ? cJSON_GetObjectItemCaseSensitive(cf, "arguments") : NULL;
    if (cJSON_IsString(a)) {
        cJSON *parsed = cJSON_Parse(a->valuestring);
        if (cJSON_IsObject(parsed))
            cJSON_ReplaceItemInObject(cf, "arguments", parsed);
        else
            cJSON_Delete(parsed);
    }
    if (!c)
        *rc = oom(e);
    return c;
}

/* One message as the template gets it: role, content as text (r's, flattened), and the
 * tool fields. */
static cJSON *message_for_template(const cJSON *m, const srv_msg *sm, int i, srv_error *e,
                                   int *rc)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "role", sm->role);
    cJSON_AddStringToObject(o, "content", sm->content);
    const cJSON *tc = cJSON_GetObjectItemCaseSensitive(m, "tool_calls");
    if (tc && !cJSON_IsNull(tc)) {
        if (!cJSON_IsArray(tc) || cJSON_GetArraySize(tc) > MAX_CALLS) {
            char param[48];
            snprintf(param, sizeof param, "messages[%d].tool_calls", i);
            *rc = BAD(param, "'%s' must be an array of at most %d calls", param, MAX_CALLS);
            cJSON_Delete(o);
            return NULL;
        }
        cJSON *arr = cJSON_AddArrayToObject(o, "tool_calls");
        const cJSON *c;
        int k = 0;
        cJSON_ArrayForEach(c, tc) {
            cJSON *x = call_for_template(c, i, k++, e, rc);
            if (!x) {
                cJSON_Delete(o);
                return NULL;
            }
            cJSON_AddItemToArray(arr, x);
        }
    }
    static const char *const keys[] = {"tool_call_id", "name"};
    for (int k = 0; k < 2; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, keys[k]);
        if (cJSON_IsString(v))
            cJSON_AddStringToObject(o, keys[k], v->valuestring);
    }
    return o;
}

static bool history_has_tools(const cJSON *msgs)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs)
        if (cJSON_GetObjectItemCaseSensitive(m, "tool_calls") ||
            cJSON_GetObjectItemCaseSensitive(m, "tool_call_id"))
            return true;
    return false;
}

int srv_req_tools(const cJSON *o, srv_req *r, srv_error *e)
{
    int rc = 0;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "tools");
    if (t && !cJSON_IsNull(t)) {
        if (!cJSON_IsArray(t))
            return BAD("tools", "'tools' must be an array of {\"type\":\"function\","
                       "\"function\":{...}} objects");
        int n = cJSON_GetArraySize(t);
        if (n > MAX_TOOLS)
            return BAD("tools", "'tools' has %d entries; at most %d", n, MAX_TOOLS);
        if (n > 0 && !(r->tools = cJSON_PrintUnformatted(t)))
            return oom(e);
    }
    if ((rc = get_tool_choice(o, r, e)))
        return rc;
    r->parallel_tool_calls = false;   /* as llama.cpp's server: one call unless asked */
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "parallel_tool_calls");
    if (p && !cJSON_IsNull(p)) {
        if (!cJSON_IsBool(p))
            return BAD("parallel_tool_calls", "'parallel_tool_calls' must be true or false");
        r->parallel_tool_calls = cJSON_IsTrue(p);
    }
    if (r->tool_choice && strcmp(r->tool_choice, "auto") && strcmp(r->tool_choice, "none") &&
        !r->tools)
        return BAD("tool_choice", "'tool_choice' is '%.64s' but the request has no tools",
                   r->tool_choice);
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(o, "messages");
    if (!r->msgs || (!r->tools && !history_has_tools(msgs)))
        return 0;
    cJSON *arr = cJSON_CreateArray();
    const cJSON *m;
    int i = 0;
    cJSON_ArrayForEach(m, msgs) {
        if (i >= r->n_msgs)
            break;
        cJSON *x = message_for_template(m, &r->msgs[i], i, e, &rc);
        if (!x) {
            cJSON_Delete(arr);
            return rc;
        }
        cJSON_AddItemToArray(arr, x);
        i++;
    }
    r->messages_json = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    return r->messages_json ? 0 : oom(e);
}

cJSON *srv_function_tool(const cJSON *name, const cJSON *description, const cJSON *parameters)
{
    cJSON *x = cJSON_CreateObject(), *f;
    cJSON_AddStringToObject(x, "type", "function");
    cJSON_AddItemToObject(x, "function", f = cJSON_CreateObject());
    const cJSON *parts[] = {name, description, parameters};
    static const char *const keys[] = {"name", "description", "parameters"};
    for (int k = 0; k < 3; k++)
        if (parts[k])
            cJSON_AddItemToObject(f, keys[k], cJSON_Duplicate(parts[k], true));
    return x;
}

void srv_named_tool_choice(cJSON *o, const char *name)
{
    cJSON *x = cJSON_AddObjectToObject(o, "tool_choice");
    cJSON_AddStringToObject(x, "type", "function");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(x, "function"), "name", name);
}
