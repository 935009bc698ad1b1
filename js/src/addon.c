/* addon.c - llmr.node: module set-up, errors, option conversion and the router functions.
 * The JavaScript layer (lib/llmr.cjs) gives the API its shape; this file turns its calls into
 * libllmr calls. Anything that can take long (opening a router that preloads models, loading
 * a model, closing) runs as napi async work, off the JavaScript thread. */
#include "addon.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- errors ------------------------------------------------------------------------------ */

void js_code_name(int rc, char *buf, size_t n)
{
    /* llmr_strerror() reads "LLMR_ERR_FORMAT: malformed input": the code is before the ':' */
    const char *s = llmr_strerror(rc);
    size_t k = strcspn(s, ":");
    if (k >= n)
        k = n - 1;
    memcpy(buf, s, k);
    buf[k] = 0;
}

static napi_value make_error(napi_env env, const char *code, const char *msg)
{
    napi_value c, m, e;
    napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c);
    napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
    napi_create_error(env, c, m, &e);
    return e;
}

napi_value js_error_value(napi_env env, int rc, const char *msg)
{
    char code[64];
    js_code_name(rc, code, sizeof code);
    return make_error(env, code, msg && *msg ? msg : llmr_strerror(rc));
}

napi_value js_throw(napi_env env, const char *code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending)
        napi_throw(env, make_error(env, code, msg));
    return NULL;
}

static napi_value throw_rc(napi_env env, int rc, const char *msg)
{
    napi_throw(env, js_error_value(env, rc, msg));
    return NULL;
}

char *js_string(napi_env env, napi_value v, const char *what)
{
    napi_valuetype t;
    size_t len = 0;
    if (napi_typeof(env, v, &t) != napi_ok || t != napi_string ||
        napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok)
        return js_throw(env, "LLMR_ERR_ARG", "%s: expected a string", what), NULL;
    char *s = malloc(len + 1);
    if (!s)
        return js_throw(env, "LLMR_ERR_NOMEM", "%s: out of memory", what), NULL;
    napi_get_value_string_utf8(env, v, s, len + 1, &len);
    if (strlen(s) != len) {   /* a NUL inside would silently cut a C string short */
        free(s);
        return js_throw(env, "LLMR_ERR_ARG", "%s: contains a NUL character", what), NULL;
    }
    return s;
}

/* ---- options ----------------------------------------------------------------------------- */

/* Looks up obj[name]; false when absent or undefined. */
static bool prop(napi_env env, napi_value obj, const char *name, napi_value *v, napi_valuetype *t)
{
    bool has = false;
    if (!obj || napi_has_named_property(env, obj, name, &has) != napi_ok || !has)
        return false;
    napi_get_named_property(env, obj, name, v);
    napi_typeof(env, *v, t);
    return *t != napi_undefined;
}

static const char *type_name(napi_valuetype t)
{
    static const char *const n[] = {"undefined", "null", "a boolean", "a number", "a string",
                                    "a symbol", "an object", "a function", "an external",
                                    "a bigint"};
    return (unsigned)t < sizeof n / sizeof *n ? n[t] : "something else";
}

/* A number option; `integer` also requires a whole number in [lo, hi]. */
static bool num_opt(napi_env env, napi_value obj, const char *name, bool integer, double lo,
                    double hi, double *out, bool *set)
{
    napi_value v;
    napi_valuetype t;
    *set = false;
    if (!prop(env, obj, name, &v, &t))
        return true;
    if (t != napi_number)
        return js_throw(env, "LLMR_ERR_ARG", "%s: expected a number, got %s", name,
                        type_name(t)), false;
    double d;
    napi_get_value_double(env, v, &d);
    char shown[40];   /* as JavaScript writes it: NaN, Infinity */
    if (isnan(d) || isinf(d))
        snprintf(shown, sizeof shown, "%s", isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
    else
        snprintf(shown, sizeof shown, "%.17g", d);
    if (isnan(d) || (integer && (!isfinite(d) || d != floor(d))))
        return js_throw(env, "LLMR_ERR_ARG", "%s: %s is not %s", name, shown,
                        integer ? "an integer" : "a number"), false;
    if (d < lo || d > hi)
        return js_throw(env, "LLMR_ERR_ARG", "%s: %s is out of range: expected %.17g..%.17g",
                        name, shown, lo, hi), false;
    *out = d;
    *set = true;
    return true;
}

#define NUM(name, field, integer, lo, hi, type)                                          \
    do {                                                                                 \
        double d_;                                                                       \
        bool s_;                                                                         \
        if (!num_opt(env, gen, name, integer, lo, hi, &d_, &s_))                         \
            return false;                                                                \
        if (s_)                                                                          \
            field = (type)d_;                                                            \
    } while (0)

static bool bool_opt(napi_env env, napi_value obj, const char *name, bool *field)
{
    napi_value v;
    napi_valuetype t;
    if (!prop(env, obj, name, &v, &t))
        return true;
    if (t != napi_boolean)
        return js_throw(env, "LLMR_ERR_ARG", "%s: expected a boolean, got %s", name,
                        type_name(t)), false;
    napi_get_value_bool(env, v, field);
    return true;
}

static bool str_opt(napi_env env, napi_value obj, const char *name, js_opts *o, const char **field)
{
    napi_value v;
    napi_valuetype t;
    if (!prop(env, obj, name, &v, &t))
        return true;
    if (o->n_strs >= sizeof o->strs / sizeof *o->strs)
        return js_throw(env, "LLMR_ERR_ARG", "%s: too many strings", name), false;
    char *s = js_string(env, v, name);
    if (!s)
        return false;
    o->strs[o->n_strs++] = s;
    *field = s;
    return true;
}

static bool stops(napi_env env, napi_value gen, js_opts *o)
{
    napi_value v, item;
    napi_valuetype t;
    bool arr = false;
    uint32_t n = 0;
    if (!prop(env, gen, "stopSequences", &v, &t))
        return true;
    napi_is_array(env, v, &arr);
    if (!arr)
        return js_throw(env, "LLMR_ERR_ARG", "stopSequences: expected an array of strings"),
               false;
    napi_get_array_length(env, v, &n);
    if (n > LLMR_MAX_STOP)
        return js_throw(env, "LLMR_ERR_ARG", "stopSequences: %u given, at most %d", n,
                        LLMR_MAX_STOP), false;
    for (uint32_t i = 0; i < n; i++) {
        napi_get_element(env, v, i, &item);
        char *s = js_string(env, item, "stopSequences[]");
        if (!s)
            return false;
        o->strs[o->n_strs++] = s;
        o->go.stop[i] = s;
    }
    return true;
}

/* logitBias: an array of [token, bias] pairs (the JavaScript layer turns {id: bias} into it). */
static bool biases(napi_env env, napi_value gen, js_opts *o)
{
    napi_value v, pair, a, b;
    napi_valuetype t;
    bool arr = false;
    uint32_t n = 0, k = 0;
    if (!prop(env, gen, "logitBias", &v, &t))
        return true;
    napi_is_array(env, v, &arr);
    if (arr)
        napi_get_array_length(env, v, &n);
    if (!arr || n > 1u << 20)
        return js_throw(env, "LLMR_ERR_ARG", "logitBias: expected [token, bias] pairs"), false;
    if (n == 0)
        return true;
    if (!(o->bias = calloc(n, sizeof *o->bias)))
        return js_throw(env, "LLMR_ERR_NOMEM", "logitBias: out of memory"), false;
    for (uint32_t i = 0; i < n; i++) {
        double tok, bias;
        napi_valuetype ta, tb;
        napi_get_element(env, v, i, &pair);
        napi_is_array(env, pair, &arr);
        if (arr)
            napi_get_array_length(env, pair, &k);
        if (!arr || k != 2)
            return js_throw(env, "LLMR_ERR_ARG", "logitBias[%u]: expected [token, bias]", i),
                   false;
        napi_get_element(env, pair, 0, &a);
        napi_get_element(env, pair, 1, &b);
        napi_typeof(env, a, &ta);
        napi_typeof(env, b, &tb);
        if (ta != napi_number || tb != napi_number)
            return js_throw(env, "LLMR_ERR_ARG", "logitBias[%u]: expected numbers", i), false;
        napi_get_value_double(env, a, &tok);
        napi_get_value_double(env, b, &bias);
        if (!(tok >= 0 && tok <= INT32_MAX && tok == floor(tok)) || isnan(bias) ||
            bias == INFINITY)
            return js_throw(env, "LLMR_ERR_ARG", "logitBias[%u]: token %g, bias %g: expected "
                            "a token id and a finite bias or -Infinity", i, tok, bias), false;
        o->bias[i].token = (int32_t)tok;
        o->bias[i].bias = (float)bias;
    }
    o->go.sampling.logit_bias = o->bias;
    o->go.sampling.n_logit_bias = n;
    return true;
}

bool js_opts_read(napi_env env, napi_value gen, napi_value route, js_opts *o)
{
    memset(o, 0, sizeof *o);
    o->go = llmr_gen_defaults();
    o->ro = llmr_route_defaults();
    llmr_sampling *sp = &o->go.sampling;
    NUM("maxTokens", o->go.max_tokens, true, 0, LLMR_MAX_GEN_TOKENS, int32_t);
    NUM("temperature", sp->temperature, false, 0, 1e6, float);
    NUM("topK", sp->top_k, true, 0, INT32_MAX, int32_t);
    NUM("topP", sp->top_p, false, -1e6, 1e6, float);
    NUM("minP", sp->min_p, false, -1e6, 1e6, float);
    NUM("typicalP", sp->typical_p, false, -1e6, 1e6, float);
    NUM("repeatPenalty", sp->repeat_penalty, false, -1e6, 1e6, float);
    NUM("presencePenalty", sp->presence_penalty, false, -1e6, 1e6, float);
    NUM("frequencyPenalty", sp->frequency_penalty, false, -1e6, 1e6, float);
    NUM("penaltyLastN", sp->penalty_last_n, true, 0, INT32_MAX, int32_t);
    NUM("minKeep", sp->min_keep, true, 0, INT32_MAX, int32_t);
    NUM("seed", sp->seed, true, 0, 9007199254740991.0, uint64_t);
    NUM("progressEvery", o->go.progress_every, true, 0, UINT32_MAX, uint32_t);
    NUM("maxRetries", o->go.max_retries, true, 0, 10, int);
    NUM("retryDelayMs", o->go.retry_delay_ms, true, 0, 3600000, unsigned);
    NUM("backoff", o->go.backoff, false, 1, 10, double);
    NUM("topLogprobs", o->go.top_logprobs, true, 0, LLMR_MAX_TOP_LOGPROBS, int32_t);
    if (!bool_opt(env, gen, "jsonObject", &sp->json_object) ||
        !bool_opt(env, gen, "addBos", &o->go.add_bos) ||
        !bool_opt(env, gen, "parseSpecial", &o->go.parse_special) ||
        !bool_opt(env, gen, "ignoreEos", &o->go.ignore_eos) ||
        !bool_opt(env, gen, "noCache", &o->go.no_cache) ||
        !bool_opt(env, gen, "splitReasoning", &o->go.split_reasoning) ||
        !bool_opt(env, gen, "logprobs", &o->go.logprobs) ||
        !str_opt(env, gen, "grammar", o, &sp->grammar) ||
        !str_opt(env, gen, "jsonSchema", o, &sp->json_schema) || !stops(env, gen, o) ||
        !biases(env, gen, o))
        return false;
    /* the route */
    double d;
    bool set;
    if (!str_opt(env, route, "model", o, &o->ro.model) ||
        !str_opt(env, route, "strategy", o, &o->ro.strategy) ||
        !bool_opt(env, route, "strict", &o->ro.strict) ||
        !bool_opt(env, route, "chat", &o->ro.chat) ||
        !bool_opt(env, route, "json", &o->ro.json) ||
        !num_opt(env, route, "minContext", true, 0, UINT32_MAX, &d, &set))
        return false;
    if (set)
        o->ro.min_context = (uint32_t)d;
    if (!num_opt(env, route, "cache", true, -1, 1, &d, &set))
        return false;
    if (set)
        o->ro.cache = (int)d;
    char err[512];
    int rc = llmr_gen_validate(&o->go, err, sizeof err);
    if (rc)
        return throw_rc(env, rc, err), false;
    return true;
}

void js_opts_free(js_opts *o)
{
    for (size_t i = 0; i < o->n_strs; i++)
        free(o->strs[i]);
    free(o->bias);
    o->n_strs = 0;
    o->bias = NULL;
}

/* ---- routers ----------------------------------------------------------------------------- */

void js_router_release(js_router *jr)
{
    if (jr && atomic_fetch_sub(&jr->refs, 1) == 1) {
        llmr_router_close(jr->r);
        free(jr);
    }
}

/* What JavaScript holds: the External's data. `jr` is NULL once routerClose let go. */
typedef struct router_handle {
    js_router *jr;
} router_handle;

static void handle_finalize(napi_env env, void *data, void *hint)
{
    router_handle *h = data;
    js_router_release(h->jr);
    free(h);
}

static js_router *get_router(napi_env env, napi_value v, router_handle **hp)
{
    router_handle *h = NULL;
    napi_valuetype t;
    if (napi_typeof(env, v, &t) != napi_ok || t != napi_external ||
        napi_get_value_external(env, v, (void **)&h) != napi_ok || !h)
        return js_throw(env, "LLMR_ERR_ARG", "expected a router handle"), NULL;
    if (hp)
        *hp = h;
    if (!h->jr)
        return js_throw(env, "LLMR_ERR_STATE", "the router is closed (cleanup() was called)"), NULL;
    return h->jr;
}

/* Exported for stream.c: the router of a handle, with one more reference for the caller. */
js_router *js_router_take(napi_env env, napi_value v);
js_router *js_router_take(napi_env env, napi_value v)
{
    js_router *jr = get_router(env, v, NULL);
    if (jr)
        atomic_fetch_add(&jr->refs, 1);
    return jr;
}

enum { OP_OPEN, OP_LOAD, OP_CLOSE };

typedef struct job {
    napi_async_work work;
    napi_deferred   deferred;
    int             op;
    js_router      *jr;        /* OP_LOAD: referenced; OP_CLOSE: the one to release */
    char           *text;      /* OP_OPEN: the config JSON; OP_LOAD: the model id */
    char           *name;
    llmr_router    *opened;
    int             rc;
    char            msg[2048];
} job;

static void job_execute(napi_env env, void *data)
{
    job *j = data;
    j->rc = LLMR_OK;
    if (j->op == OP_OPEN) {
        j->rc = llmr_router_open_json(j->text, j->name, &j->opened);
        if (j->rc)
            snprintf(j->msg, sizeof j->msg, "%s",
                     j->opened ? llmr_router_errmsg(j->opened) : "out of memory");
        if (j->rc) {
            llmr_router_close(j->opened);
            j->opened = NULL;
        }
    } else if (j->op == OP_LOAD) {
        j->rc = llmr_router_load(j->jr->r, j->text);
        if (j->rc)
            snprintf(j->msg, sizeof j->msg, "%s", llmr_router_errmsg(j->jr->r));
    }
    /* OP_CLOSE: the release happens in job_complete's thread-independent call below */
    if (j->op == OP_CLOSE || j->op == OP_LOAD) {
        js_router_release(j->jr);
        j->jr = NULL;
    }
}

static void job_complete(napi_env env, napi_status status, void *data)
{
    job *j = data;
    napi_value result;
    if (j->rc) {
        napi_reject_deferred(env, j->deferred, js_error_value(env, j->rc, j->msg));
    } else if (j->op == OP_OPEN) {
        router_handle *h = calloc(1, sizeof *h);
        js_router *jr = calloc(1, sizeof *jr);
        if (!h || !jr) {
            free(h);
            free(jr);
            llmr_router_close(j->opened);
            napi_reject_deferred(env, j->deferred, js_error_value(env, LLMR_ERR_NOMEM, ""));
        } else {
            jr->r = j->opened;
            atomic_init(&jr->refs, 1);
            h->jr = jr;
            napi_create_external(env, h, handle_finalize, NULL, &result);
            napi_resolve_deferred(env, j->deferred, result);
        }
    } else {
        napi_get_undefined(env, &result);
        napi_resolve_deferred(env, j->deferred, result);
    }
    napi_delete_async_work(env, j->work);
    free(j->text);
    free(j->name);
    free(j);
}

static napi_value start_job(napi_env env, job *j)
{
    napi_value promise, name;
    napi_create_promise(env, &j->deferred, &promise);
    napi_create_string_utf8(env, "llmr", NAPI_AUTO_LENGTH, &name);
    napi_create_async_work(env, NULL, name, job_execute, job_complete, j, &j->work);
    napi_queue_async_work(env, j->work);
    return promise;
}

static size_t args(napi_env env, napi_callback_info info, napi_value *argv, size_t n)
{
    size_t argc = n;
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    napi_value undef;
    napi_get_undefined(env, &undef);
    for (size_t i = argc; i < n; i++)
        argv[i] = undef;
    return argc;
}

/* routerOpen(configJson, name) -> Promise<handle> */
static napi_value router_open(napi_env env, napi_callback_info info)
{
    napi_value a[2];
    args(env, info, a, 2);
    job *j = calloc(1, sizeof *j);
    if (!j)
        return js_throw(env, "LLMR_ERR_NOMEM", "out of memory");
    j->op = OP_OPEN;
    if (!(j->text = js_string(env, a[0], "config")) || !(j->name = js_string(env, a[1], "name"))) {
        free(j->text);
        free(j);
        return NULL;
    }
    return start_job(env, j);
}

/* routerLoad(handle, id) -> Promise<void> */
static napi_value router_load(napi_env env, napi_callback_info info)
{
    napi_value a[2];
    args(env, info, a, 2);
    js_router *jr = js_router_take(env, a[0]);
    if (!jr)
        return NULL;
    job *j = calloc(1, sizeof *j);
    if (!j || !(j->text = js_string(env, a[1], "model id"))) {
        free(j);
        js_router_release(jr);
        return j ? NULL : js_throw(env, "LLMR_ERR_NOMEM", "out of memory");
    }
    j->op = OP_LOAD;
    j->jr = jr;
    return start_job(env, j);
}

/* routerClose(handle) -> Promise<void>: lets go of JavaScript's reference (the router closes
 * when the last stream on it has closed too). */
static napi_value router_close(napi_env env, napi_callback_info info)
{
    napi_value a[1];
    args(env, info, a, 1);
    router_handle *h;
    js_router *jr = get_router(env, a[0], &h);
    if (!jr)
        return NULL;
    job *j = calloc(1, sizeof *j);
    if (!j)
        return js_throw(env, "LLMR_ERR_NOMEM", "out of memory");
    h->jr = NULL;
    j->op = OP_CLOSE;
    j->jr = jr;
    return start_job(env, j);
}

/* routerCall(handle, what, arg): the quick calls (they take the router's lock only briefly):
 * "add" (model JSON), "remove" (id), "unload" (id), "status" (-> JSON text), "defaults"
 * ({threads, ctxSize, parallel, maxQueued}: llmr_router_set_model_defaults). */
static napi_value router_call(napi_env env, napi_callback_info info)
{
    napi_value a[3], out = NULL;
    args(env, info, a, 3);
    js_router *jr = get_router(env, a[0], NULL);
    char what[16] = "";
    size_t len;
    if (!jr || napi_get_value_string_utf8(env, a[1], what, sizeof what, &len) != napi_ok)
        return js_throw(env, "LLMR_ERR_ARG", "routerCall: bad arguments");
    if (!strcmp(what, "status")) {
        char *json = NULL;
        int rc = llmr_router_status_json(jr->r, &json);
        if (rc)
            return throw_rc(env, rc, llmr_router_errmsg(jr->r));
        napi_create_string_utf8(env, json, NAPI_AUTO_LENGTH, &out);
        free(json);
        return out;
    }
    if (!strcmp(what, "defaults")) {   /* {threads, ctxSize, parallel, maxQueued} */
        llmr_model_opts mo = llmr_model_defaults();
        double d;
        bool set;
        if (!num_opt(env, a[2], "threads", true, 0, 1024, &d, &set))
            return NULL;
        if (set)
            mo.n_threads = (int)d;
        if (!num_opt(env, a[2], "ctxSize", true, 0, 16777216, &d, &set))
            return NULL;
        if (set)
            mo.n_ctx = (int)d;
        if (!num_opt(env, a[2], "parallel", true, 0, 64, &d, &set))
            return NULL;
        if (set)
            mo.n_parallel = (int)d;
        if (!num_opt(env, a[2], "maxQueued", true, -1, INT32_MAX, &d, &set))
            return NULL;
        if (set)
            mo.max_queued = (int)d;
        int rc = llmr_router_set_model_defaults(jr->r, &mo);
        if (rc)
            return throw_rc(env, rc, llmr_router_errmsg(jr->r));
        napi_get_undefined(env, &out);
        return out;
    }
    char *arg = js_string(env, a[2], what);
    if (!arg)
        return NULL;
    int rc = !strcmp(what, "add")      ? llmr_router_add_model(jr->r, arg)
             : !strcmp(what, "remove") ? llmr_router_remove_model(jr->r, arg)
             : !strcmp(what, "unload") ? llmr_router_unload(jr->r, arg)
                                       : LLMR_ERR_ARG;
    free(arg);
    if (rc)
        return throw_rc(env, rc, llmr_router_errmsg(jr->r));
    napi_get_undefined(env, &out);
    return out;
}

/* version() -> "0.1.0" */
static napi_value version(napi_env env, napi_callback_info info)
{
    napi_value v;
    napi_create_string_utf8(env, llmr_version(), NAPI_AUTO_LENGTH, &v);
    return v;
}

NAPI_MODULE_INIT()
{
    static const struct {
        const char *name;
        napi_callback fn;
    } fns[] = {
        {"routerOpen", router_open},     {"routerLoad", router_load},
        {"routerClose", router_close},   {"routerCall", router_call},
        {"streamOpen", js_stream_open},  {"streamControl", js_stream_control},
        {"version", version},
    };
    if (js_pool_init(env))
        return NULL;
    for (size_t i = 0; i < sizeof fns / sizeof *fns; i++) {
        napi_value f;
        napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
        napi_set_named_property(env, exports, fns[i].name, f);
    }
    return exports;
}
