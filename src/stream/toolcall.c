/* toolcall.c - tool calls: the tools array, reading calls out of a model's text, and the
 * grammar that makes a model write one (see toolcall.h). */
#include "stream/toolcall.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/strmap.h"
#include "core/util.h"
#include "sampler/sampler.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct llmri_tools {
    cJSON        *doc;
    size_t        n;
    const char  **names;
    const cJSON **params;       /* NULL: any object */
    llmr_strmap   index;        /* name -> i */
};

static const struct { const char *marker; llmri_tc_format f; } MARKERS[] = {
    {"[TOOL_CALLS]", LLMRI_TC_MISTRAL},
    {"<tool_call>", LLMRI_TC_HERMES},
    {"<|python_tag|>", LLMRI_TC_LLAMA3},
};

llmri_tc_format llmri_toolcall_format_of_template(const char *t)
{
    for (size_t i = 0; t && i < sizeof MARKERS / sizeof *MARKERS; i++)
        if (strstr(t, MARKERS[i].marker))
            return MARKERS[i].f;
    /* Llama 3.2 asks for {"name": ..., "parameters": ...} with no marker */
    if (t && strstr(t, "\"parameters\": ") && strstr(t, "\"name\": "))
        return LLMRI_TC_LLAMA3;
    return LLMRI_TC_GENERIC;
}

const char *llmri_toolcall_format_name(llmri_tc_format f)
{
    static const char *const names[] = {"auto", "hermes", "llama3", "mistral", "generic"};
    return (unsigned)f < 5 ? names[f] : "?";
}

/* ---- the tools array ----------------------------------------------------------------------- */

static bool good_name(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= 64 && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789_-") == n;
}

void llmri_tools_free(llmri_tools *t)
{
    if (!t)
        return;
    cJSON_Delete(t->doc);
    free(t->names);
    free(t->params);
    llmri_strmap_free(&t->index);
    free(t);
}

size_t llmri_tools_count(const llmri_tools *t) { return t ? t->n : 0; }

int llmri_tools_find(const llmri_tools *t, const char *name)
{
    int64_t v;
    return t && llmri_strmap_get(&t->index, name, strlen(name), &v) ? (int)v : -1;
}

static int tool_entry(llmri_tools *t, const cJSON *e, size_t i, llmr_err *err)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(e, "type");
    const cJSON *fn = cJSON_GetObjectItemCaseSensitive(e, "function");
    if (!cJSON_IsObject(e) || (type && (!cJSON_IsString(type) ||
                                        strcmp(type->valuestring, "function"))))
        return llmri_err_set(err, LLMR_ERR_FORMAT, "tools[%zu]: expected {\"type\": "
                            "\"function\", \"function\": {...}}", i);
    if (!cJSON_IsObject(fn))
        return llmri_err_set(err, LLMR_ERR_FORMAT, "tools[%zu].function: expected an object "
                            "with name and parameters", i);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(fn, "parameters");
    if (!cJSON_IsString(name) || !good_name(name->valuestring))
        return llmri_err_set(err, LLMR_ERR_FORMAT, "tools[%zu].function.name: expected 1 to 64 "
                            "of a-z, A-Z, 0-9, _ and -", i);
    if (params && !cJSON_IsObject(params) && !cJSON_IsTrue(params))
        return llmri_err_set(err, LLMR_ERR_FORMAT, "tools[%zu].function.parameters: expected a "
                            "JSON schema object", i);
    int put = llmri_strmap_put(&t->index, name->valuestring, strlen(name->valuestring),
                               (int64_t)i, NULL);
    if (put < 0)
        return llmri_err_set(err, LLMR_ERR_NOMEM, "tools: out of memory");
    if (put == 0)
        return llmri_err_set(err, LLMR_ERR_FORMAT, "tools[%zu].function.name: \"%s\" is "
                            "already the name of another tool", i, name->valuestring);
    t->names[i] = name->valuestring;
    t->params[i] = cJSON_IsObject(params) && params->child ? params : NULL;
    return LLMR_OK;
}

int llmri_tools_parse(const char *json, size_t max_tools, llmri_tools **out, llmr_err *err)
{
    *out = NULL;
    size_t at = 0, len = strlen(json);
    if (!llmri_json_depth_ok(json, len, LLMR_JSON_MAX_DEPTH, &at))
        return llmri_err_set(err, LLMR_ERR_FORMAT, "tools: JSON nested deeper than %d levels",
                            LLMR_JSON_MAX_DEPTH);
    llmri_tools *t = calloc(1, sizeof *t);
    if (!t)
        return llmri_err_set(err, LLMR_ERR_NOMEM, "tools: out of memory");
    t->doc = cJSON_ParseWithOpts(json, NULL, true);
    int rc = LLMR_OK;
    if (!cJSON_IsArray(t->doc))
        rc = llmri_err_set(err, LLMR_ERR_FORMAT, "tools: expected a JSON array of tools");
    else if ((t->n = (size_t)cJSON_GetArraySize(t->doc)) > max_tools)
        rc = llmri_err_set(err, LLMR_ERR_TOO_BIG, "tools: %zu tools; at most %zu", t->n,
                           max_tools);
    else if (!(t->names = calloc(t->n + 1, sizeof *t->names)) ||
             !(t->params = calloc(t->n + 1, sizeof *t->params)) ||
             !llmri_strmap_init(&t->index, t->n))
        rc = llmri_err_set(err, LLMR_ERR_NOMEM, "tools: out of memory");
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, (rc ? NULL : t->doc))
        if ((rc = tool_entry(t, e, i++, err)))
            break;
    if (rc) {
        llmri_tools_free(t);
        return rc;
    }
    *out = t;
    return LLMR_OK;
}

/* ---- reading calls ------------------------------------------------------------------------- */

typedef struct reader {
    const llmri_tools *tools;
    llmri_tool_calls  *out;
    size_t             cap;
    llmr_buf           content;
    bool               bad, oom;
} reader;

static bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

/* One JSON value at text[0..len) (after blanks); *used gets the bytes it took, blanks after
 * it included. NULL when there is none. */
static cJSON *json_at(const char *text, size_t len, size_t *used)
{
    size_t i = 0, at;
    while (i < len && is_space(text[i]))
        i++;
    if (i == len || !llmri_json_depth_ok(text + i, len - i, LLMR_JSON_MAX_DEPTH, &at))
        return NULL;
    const char *end = NULL;
    cJSON *v = cJSON_ParseWithLengthOpts(text + i, len - i, &end, false);
    if (!v)
        return NULL;
    size_t k = (size_t)(end - text);
    while (k < len && is_space(text[k]))
        k++;
    *used = k;
    return v;
}

/* Adds the call object o ({"name", "arguments" or "parameters", "id"?}); marks the reader
 * bad when it is not a valid call. */
static void add_call(reader *r, const cJSON *o)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    const cJSON *fn = cJSON_GetObjectItemCaseSensitive(o, "function");
    if (cJSON_IsObject(fn))                    /* OpenAI's own {"id", "function": {...}} */
        o = fn;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(o, "arguments");
    if (!args)
        args = cJSON_GetObjectItemCaseSensitive(o, "parameters");
    if (!cJSON_IsObject(o) || !cJSON_IsString(name) ||
        (r->tools && llmri_tools_find(r->tools, name->valuestring) < 0) ||
        (id && !cJSON_IsString(id))) {
        r->bad = true;
        return;
    }
    cJSON *parsed = NULL;                      /* arguments written as a JSON string */
    if (cJSON_IsString(args))
        args = parsed = cJSON_Parse(args->valuestring);
    char *a = !args ? llmri_strdup("{}") : cJSON_IsObject(args) ? cJSON_PrintUnformatted(args)
                                                                : NULL;
    cJSON_Delete(parsed);
    if (!a) {
        r->bad = true;
        return;
    }
    if (r->out->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 4;
        llmri_tool_call *nv = realloc(r->out->calls, nc * sizeof *nv);
        if (!nv) {
            free(a);
            r->oom = r->bad = true;
            return;
        }
        r->out->calls = nv;
        r->cap = nc;
    }
    llmri_tool_call *c = &r->out->calls[r->out->n++];
    c->arguments = a;
    c->name = llmri_strdup(name->valuestring);
    c->id = id ? llmri_strdup(id->valuestring) : NULL;
    if (!c->name || (id && !c->id))
        r->oom = r->bad = true;
}

/* A run of calls: one call object, or an array of them (Mistral), separated by `sep`. */
static void read_calls(reader *r, const char *p, size_t len, bool array, char sep)
{
    size_t used;
    while (!r->bad && len > 0) {
        cJSON *v = json_at(p, len, &used);
        if (!v || (array != cJSON_IsArray(v))) {
            r->bad = true;
            cJSON_Delete(v);
            return;
        }
        const cJSON *e;
        if (array)
            cJSON_ArrayForEach(e, v)
                add_call(r, e);
        else
            add_call(r, v);
        cJSON_Delete(v);
        p += used;
        len -= used;
        if (len > 0 && sep && *p == sep) {
            p++;
            len--;
        } else if (len > 0) {
            r->bad = true;
        }
    }
}

static const char *find(const char *p, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (p[i] == needle[0] && memcmp(p + i, needle, n) == 0)
            return p + i;
    return NULL;
}

static void read_hermes(reader *r, const char *p, size_t len)
{
    const char *end = p + len, *open;
    while ((open = find(p, (size_t)(end - p), "<tool_call>")) && !r->bad) {
        llmri_buf_append(&r->content, p, (size_t)(open - p));
        const char *in = open + 11;
        const char *close = find(in, (size_t)(end - in), "</tool_call>");
        read_calls(r, in, (size_t)((close ? close : end) - in), false, 0);
        p = close ? close + 12 : end;
    }
    llmri_buf_append(&r->content, p, (size_t)(end - p));
}

static void read_llama3(reader *r, const char *p, size_t len)
{
    size_t i = 0;
    while (i < len && is_space(p[i]))
        i++;
    if (len - i >= 14 && memcmp(p + i, "<|python_tag|>", 14) == 0) {
        read_calls(r, p + i + 14, len - i - 14, false, ';');
        return;
    }
    read_calls(r, p + i, len - i, false, 0);
}

static void read_mistral(reader *r, const char *p, size_t len)
{
    const char *m = find(p, len, "[TOOL_CALLS]");
    if (!m) {
        r->bad = true;
        return;
    }
    llmri_buf_append(&r->content, p, (size_t)(m - p));
    read_calls(r, m + 12, len - (size_t)(m + 12 - p), true, 0);
}

static void read_generic(reader *r, const char *p, size_t len)
{
    size_t used;
    cJSON *v = json_at(p, len, &used);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(v, "tool_calls"), *e;
    const cJSON *one = cJSON_GetObjectItemCaseSensitive(v, "tool_call");
    if (!v || used != len || (!cJSON_IsArray(list) && !one) || (list && !list->child))
        r->bad = true;
    else if (list)
        cJSON_ArrayForEach(e, list)
            add_call(r, e);
    else
        add_call(r, one);
    cJSON_Delete(v);
}

static char *trimmed(const char *p, size_t n)
{
    while (n && is_space(*p))
        p++, n--;
    while (n && is_space(p[n - 1]))
        n--;
    return llmri_strndup(p, n);
}

void llmri_tool_calls_free(llmri_tool_calls *tc)
{
    if (!tc)
        return;
    for (size_t i = 0; i < tc->n; i++) {
        free(tc->calls[i].name);
        free(tc->calls[i].arguments);
        free(tc->calls[i].id);
    }
    free(tc->calls);
    free(tc->content);
    memset(tc, 0, sizeof *tc);
}

int llmri_toolcall_parse(const char *text, size_t len, llmri_tc_format fmt,
                         const llmri_tools *tools, llmri_tool_calls *out, llmr_err *err)
{
    memset(out, 0, sizeof *out);
    if (fmt == LLMRI_TC_AUTO) {
        fmt = LLMRI_TC_GENERIC;
        for (size_t i = 0; i < sizeof MARKERS / sizeof *MARKERS; i++)
            if (find(text, len, MARKERS[i].marker)) {
                fmt = MARKERS[i].f;
                break;
            }
    }
    reader r = {.tools = tools, .out = out};
    switch (fmt) {
    case LLMRI_TC_HERMES: read_hermes(&r, text, len); break;
    case LLMRI_TC_LLAMA3: read_llama3(&r, text, len); break;
    case LLMRI_TC_MISTRAL: read_mistral(&r, text, len); break;
    default:
        read_generic(&r, text, len);
        if (r.bad && !r.oom && !out->n) {     /* Llama's bare {"name", "parameters"} */
            r.bad = false;
            read_llama3(&r, text, len);
        }
        break;
    }
    bool oom = r.oom;
    if (r.bad || !out->n) {                    /* not calls after all: all of it is text */
        llmri_tool_calls_free(out);
        llmri_buf_free(&r.content);
        out->content = trimmed(text, len);
    } else {
        out->content = trimmed(llmri_buf_str(&r.content), r.content.len);
        oom |= r.content.failed;
        llmri_buf_free(&r.content);
    }
    if (oom || !out->content) {
        llmri_tool_calls_free(out);
        return llmri_err_set(err, LLMR_ERR_NOMEM, "tool calls: out of memory");
    }
    return LLMR_OK;
}

/* ---- the grammar --------------------------------------------------------------------------- */

/* callobj ::= {"name": "NAME", "KEY": <the tool's arguments rule>} */
static void call_rule(llmr_buf *b, size_t i, const char *name, const char *key)
{
    llmri_buf_printf(b, "tc-call-%zu ::= \"{\" space \"\\\"name\\\"\" space \":\" space "
                        "\"\\\"%s\\\"\" space \",\" space \"\\\"%s\\\"\" space \":\" space "
                        "tool-%zu space \"}\"\n", i, name, key, i);
}

static void wrapper(llmr_buf *b, llmri_tc_format fmt, bool parallel)
{
    switch (fmt) {
    case LLMRI_TC_HERMES:
        llmri_buf_printf(b, "root ::= tc-h%s\ntc-h ::= \"<tool_call>\\n\" tc-call "
                            "\"\\n</tool_call>\"\n", parallel ? " ( \"\\n\" tc-h )*" : "");
        break;
    case LLMRI_TC_LLAMA3:
        llmri_buf_puts(b, parallel ? "root ::= \"<|python_tag|>\" tc-call ( \";\" tc-call )*\n"
                                   : "root ::= tc-call\n");
        break;
    case LLMRI_TC_MISTRAL:
        llmri_buf_printf(b, "root ::= \"[TOOL_CALLS][\" tc-call%s \"]\"\n",
                        parallel ? " ( \",\" space tc-call )*" : "");
        break;
    default:
        llmri_buf_printf(b, "root ::= \"{\" space \"\\\"tool_calls\\\"\" space \":\" space \"[\" "
                            "space tc-call space%s \"]\" space \"}\"\n",
                        parallel ? " ( \",\" space tc-call space )*" : "");
        break;
    }
}

int llmri_toolcall_grammar(const llmri_tools *tools, const char *only, llmri_tc_format fmt,
                           bool parallel, char **gbnf, llmr_err *err)
{
    *gbnf = NULL;
    int pick = only ? llmri_tools_find(tools, only) : -1;
    if (only && pick < 0)
        return llmri_err_set(err, LLMR_ERR_NOT_FOUND, "tool_choice names function \"%.64s\", "
                            "which is not among the tools", only);
    size_t n = llmri_tools_count(tools), lo = pick < 0 ? 0 : (size_t)pick;
    size_t hi = pick < 0 ? n : lo + 1;
    if (lo == hi)
        return llmri_err_set(err, LLMR_ERR_ARG, "tool calls: no tools to call");
    const char *key = fmt == LLMRI_TC_LLAMA3 ? "parameters" : "arguments";
    const cJSON **schemas = calloc(hi - lo, sizeof *schemas);
    char (*names)[24] = calloc(hi - lo, sizeof *names), (*where)[48] = calloc(hi - lo,
                                                                               sizeof *where);
    const char **np = calloc(hi - lo, sizeof *np), **wp = calloc(hi - lo, sizeof *wp);
    cJSON *any = cJSON_Parse("{\"type\":\"object\"}");
    llmr_buf top = {0};
    int rc = LLMR_OK;
    if (!schemas || !names || !where || !np || !wp || !any) {
        rc = llmri_err_set(err, LLMR_ERR_NOMEM, "tool calls: out of memory");
        goto out;
    }
    wrapper(&top, fmt, parallel);
    llmri_buf_puts(&top, "tc-call ::=");
    for (size_t i = lo; i < hi; i++) {
        size_t k = i - lo;
        schemas[k] = tools->params[i] ? tools->params[i] : any;
        snprintf(names[k], sizeof names[k], "tool-%zu", i);
        snprintf(where[k], sizeof where[k], "tools/%zu/function/parameters", i);
        np[k] = names[k];
        wp[k] = where[k];
        llmri_buf_printf(&top, "%s tc-call-%zu", k ? " |" : "", i);
    }
    llmri_buf_puts(&top, "\n");
    for (size_t i = lo; i < hi; i++)
        call_rule(&top, i, tools->names[i], key);
    if (top.failed)
        rc = llmri_err_set(err, LLMR_ERR_NOMEM, "tool calls: out of memory");
    else
        rc = llmri_json_schema_gbnf_set((const struct cJSON *const *)schemas, np, wp, hi - lo,
                                        llmri_buf_str(&top), gbnf, err);
out:
    free(schemas);
    free(names);
    free(where);
    free(np);
    free(wp);
    cJSON_Delete(any);
    llmri_buf_free(&top);
    return rc;
}
