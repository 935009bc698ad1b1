/* config.c - strict parsing of the router's JSON configuration (see config.h). */
#include "router/config.h"
#include "core/json.h"
#include "core/digest.h"
#include "core/buf.h"
#include "core/util.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ---- helpers: each names the key by its path ------------------------------------------- */

typedef struct ctx {
    const char *where;
    llmr_err   *err;
} ctx;

static int bad(ctx *x, const char *path, const char *what)
{
    return llmri_err_set(x->err, LLMR_ERR_ARG, "%s: %s: %s", x->where, path, what);
}

/* Every key of obj must be in `allowed` (NULL-terminated). */
static int known_keys(ctx *x, const cJSON *obj, const char *path, const char *const *allowed)
{
    for (const cJSON *it = obj->child; it; it = it->next) {
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = !strcmp(it->string, allowed[i]);
        if (!ok) {
            char list[600] = "", p[256];
            for (size_t i = 0, at = 0; allowed[i] && at < sizeof list; i++)
                at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", i ? ", " : "",
                                       allowed[i]);
            snprintf(p, sizeof p, "%s%s%s", path, *path ? "." : "", it->string);
            char msg[800];
            snprintf(msg, sizeof msg, "unknown key (expected one of: %s)", list);
            return bad(x, p, msg);
        }
    }
    return LLMR_OK;
}

static void join(char *out, size_t n, const char *path, const char *key)
{
    snprintf(out, n, "%s%s%s", path, *path ? "." : "", key);
}

/* An optional number in [lo, hi]; leaves *v alone when absent. */
static int num(ctx *x, const cJSON *obj, const char *path, const char *key, double lo,
               double hi, double *v)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!it)
        return LLMR_OK;
    char p[256], msg[160];
    join(p, sizeof p, path, key);
    if (!cJSON_IsNumber(it))
        return bad(x, p, "expected a number");
    if (!(it->valuedouble >= lo && it->valuedouble <= hi)) {
        snprintf(msg, sizeof msg, "%g is out of range: expected %g..%g", it->valuedouble, lo, hi);
        return bad(x, p, msg);
    }
    *v = it->valuedouble;
    return LLMR_OK;
}

static int integer(ctx *x, const cJSON *obj, const char *path, const char *key, double lo,
                   double hi, double *v)
{
    double d = *v;
    int rc = num(x, obj, path, key, lo, hi, &d);
    if (rc)
        return rc;
    if (d != floor(d)) {
        char p[256];
        join(p, sizeof p, path, key);
        return bad(x, p, "expected a whole number");
    }
    *v = d;
    return LLMR_OK;
}

static int boolean(ctx *x, const cJSON *obj, const char *path, const char *key, bool *v)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!it)
        return LLMR_OK;
    if (!cJSON_IsBool(it)) {
        char p[256];
        join(p, sizeof p, path, key);
        return bad(x, p, "expected true or false");
    }
    *v = cJSON_IsTrue(it);
    return LLMR_OK;
}

/* An optional non-empty string, copied into *v (freed first). */
static int string(ctx *x, const cJSON *obj, const char *path, const char *key, char **v)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!it)
        return LLMR_OK;
    char p[256];
    join(p, sizeof p, path, key);
    if (!cJSON_IsString(it) || !it->valuestring[0])
        return bad(x, p, "expected a non-empty string");
    free(*v);
    if (!(*v = llmri_strdup(it->valuestring)))
        return llmri_err_set(x->err, LLMR_ERR_NOMEM, "out of memory");
    return LLMR_OK;
}

static bool id_ok(const char *s)
{
    if (!*s || strlen(s) > 120)
        return false;
    for (; *s; s++)
        if (*s <= ' ' || *s == '"' || *s == '/' || *s == 127)
            return false;
    return true;
}

/* ---- sections --------------------------------------------------------------------------- */

static int parse_backend(ctx *x, const cJSON *b, const char *name, rt_backend_cfg *o)
{
    char path[200];
    snprintf(path, sizeof path, "backends.%s", name);
    if (!cJSON_IsObject(b))
        return bad(x, path, "expected an object with \"url\"");
    static const char *const keys[] = {"url", "api_key_env", "connect_timeout_ms",
                                       "idle_timeout_ms", NULL};
    int rc;
    if ((rc = known_keys(x, b, path, keys)))
        return rc;
    o->connect_timeout_ms = 5000;
    o->idle_timeout_ms = 30000;
    if (!(o->name = llmri_strdup(name)))
        return llmri_err_set(x->err, LLMR_ERR_NOMEM, "out of memory");
    if ((rc = string(x, b, path, "url", &o->url)) || (rc = string(x, b, path, "api_key_env",
                                                                  &o->api_key_env)))
        return rc;
    char p[256];
    join(p, sizeof p, path, "url");
    if (!o->url)
        return bad(x, p, "missing: expected the backend's base URL, http(s)://HOST:PORT");
    if (strncmp(o->url, "http://", 7) && strncmp(o->url, "https://", 8))
        return bad(x, p, "expected an http:// or https:// URL");
    double ct = (double)o->connect_timeout_ms, it = (double)o->idle_timeout_ms;
    if ((rc = integer(x, b, path, "connect_timeout_ms", 1, 600000, &ct)) ||
        (rc = integer(x, b, path, "idle_timeout_ms", 1, 3600000, &it)))
        return rc;
    o->connect_timeout_ms = (long)ct;
    o->idle_timeout_ms = (long)it;
    return LLMR_OK;
}

static int find_backend(const rt_config *c, const char *name)
{
    for (size_t i = 0; i < c->n_backends; i++)
        if (!strcmp(c->backends[i].name, name))
            return (int)i;
    return -1;
}

/* Whether name is already an id or alias of models[0..n). */
static bool name_taken(const rt_config *c, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(c->models[i].id, name))
            return true;
        for (size_t k = 0; k < c->models[i].n_aliases; k++)
            if (!strcmp(c->models[i].aliases[k], name))
                return true;
    }
    return false;
}

static int parse_model(ctx *x, const rt_config *c, size_t n_before, const cJSON *m,
                       const char *path, rt_model_cfg *o)
{
    if (!cJSON_IsObject(m))
        return bad(x, path, "expected an object with \"id\" and \"source\" or \"backend\"");
    static const char *const keys[] = {
        "id", "aliases", "source", "path", "sha256", "backend", "remote_model", "api",
        "quality", "cost", "speed", "context", "chat", "json", "size_mb", "keep_alive_s",
        "preload", "threads", "n_ctx", NULL};
    int rc;
    if ((rc = known_keys(x, m, path, keys)))
        return rc;
    o->backend = -1;
    o->remote_chat = true;
    o->quality = 0.5;
    o->context = 2048;
    o->chat = o->json = true;
    o->keep_alive_s = NAN;               /* NAN: the router's default */
    char p[256];
    if ((rc = string(x, m, path, "id", &o->id)))
        return rc;
    join(p, sizeof p, path, "id");
    if (!o->id)
        return bad(x, p, "missing: every model needs an id");
    if (!id_ok(o->id))
        return bad(x, p, "expected 1..120 characters without spaces, quotes or '/'");
    if (name_taken(c, n_before, o->id))
        return bad(x, p, "duplicate: another model already has this id or alias");
    const cJSON *al = cJSON_GetObjectItemCaseSensitive(m, "aliases");
    join(p, sizeof p, path, "aliases");
    if (al && !cJSON_IsArray(al))
        return bad(x, p, "expected an array of strings");
    for (const cJSON *a = al ? al->child : NULL; a; a = a->next) {
        char ap[300];
        snprintf(ap, sizeof ap, "%s[%zu]", p, o->n_aliases);
        if (!cJSON_IsString(a) || !id_ok(a->valuestring))
            return bad(x, ap, "expected a name without spaces, quotes or '/'");
        if (o->n_aliases == RT_MAX_ALIASES)
            return bad(x, p, "too many aliases (at most 16)");
        if (name_taken(c, n_before, a->valuestring) || !strcmp(a->valuestring, o->id))
            return bad(x, ap, "duplicate: another model already has this id or alias");
        if (!(o->aliases[o->n_aliases++] = llmri_strdup(a->valuestring)))
            return llmri_err_set(x->err, LLMR_ERR_NOMEM, "out of memory");
    }
    if ((rc = string(x, m, path, "source", &o->source)) ||
        (rc = string(x, m, path, "path", &o->source)) ||
        (rc = string(x, m, path, "sha256", &o->sha256)) ||
        (rc = string(x, m, path, "remote_model", &o->remote_model)))
        return rc;
    if (o->sha256 && !llmri_sha256_hex_valid(o->sha256)) {
        join(p, sizeof p, path, "sha256");
        return bad(x, p, "expected 64 hex digits");
    }
    const cJSON *be = cJSON_GetObjectItemCaseSensitive(m, "backend");
    if (be) {
        join(p, sizeof p, path, "backend");
        if (!cJSON_IsString(be))
            return bad(x, p, "expected the name of an entry in \"backends\"");
        if ((o->backend = find_backend(c, be->valuestring)) < 0) {
            char msg[300];
            snprintf(msg, sizeof msg, "'%s' is not defined in \"backends\"", be->valuestring);
            return bad(x, p, msg);
        }
    }
    if (!o->source == (o->backend < 0))
        return bad(x, path, o->source ? "has both \"source\" and \"backend\": expected one"
                                      : "has neither \"source\" (a local GGUF path, URL or "
                                        "hf: reference) nor \"backend\": expected one");
    const cJSON *api = cJSON_GetObjectItemCaseSensitive(m, "api");
    if (api) {
        join(p, sizeof p, path, "api");
        if (!cJSON_IsString(api) || (strcmp(api->valuestring, "chat") &&
                                     strcmp(api->valuestring, "completions")))
            return bad(x, p, "expected \"chat\" or \"completions\"");
        o->remote_chat = !strcmp(api->valuestring, "chat");
    }
    double ctxv = o->context, ka = o->keep_alive_s, th = 0, nctx = 0;
    if ((rc = num(x, m, path, "quality", 0, 1, &o->quality)) ||
        (rc = num(x, m, path, "cost", 0, 1e9, &o->cost)) ||
        (rc = num(x, m, path, "speed", 0, 1e9, &o->speed)) ||
        (rc = integer(x, m, path, "context", 1, 16777216, &ctxv)) ||
        (rc = boolean(x, m, path, "chat", &o->chat)) ||
        (rc = boolean(x, m, path, "json", &o->json)) ||
        (rc = num(x, m, path, "size_mb", 0, 1e9, &o->size_mb)) ||
        (rc = num(x, m, path, "keep_alive_s", -1, 1e9, &ka)) ||
        (rc = boolean(x, m, path, "preload", &o->preload)) ||
        (rc = integer(x, m, path, "threads", 0, 1024, &th)) ||
        (rc = integer(x, m, path, "n_ctx", 0, 16777216, &nctx)))
        return rc;
    o->context = (uint32_t)ctxv;
    o->keep_alive_s = ka;
    o->n_threads = (int)th;
    o->n_ctx = (int)nctx;
    if (o->backend >= 0 && !o->remote_model && !(o->remote_model = llmri_strdup(o->id)))
        return llmri_err_set(x->err, LLMR_ERR_NOMEM, "out of memory");
    return LLMR_OK;
}

/* An optional array of non-empty strings, each checked by ok (NULL: any) and copied into a
 * malloc'd array (*v, *n) by conv, which may rewrite it (out has PATH_MAX bytes). */
static int strings(ctx *x, const cJSON *obj, const char *path, const char *key,
                   int (*conv)(ctx *x, const char *p, const char *in, char *out), char ***v,
                   size_t *n)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!arr)
        return LLMR_OK;
    char p[256];
    join(p, sizeof p, path, key);
    if (!cJSON_IsArray(arr))
        return bad(x, p, "expected an array of strings");
    size_t cnt = (size_t)cJSON_GetArraySize(arr);
    if (cnt > 1000)
        return bad(x, p, "too many entries (at most 1000)");
    if (cnt && !(*v = calloc(cnt, sizeof **v)))
        return llmri_err_set(x->err, LLMR_ERR_NOMEM, "out of memory");
    char out[PATH_MAX];
    for (const cJSON *it = arr->child; it; it = it->next) {
        char ip[300];
        snprintf(ip, sizeof ip, "%s[%zu]", p, *n);
        if (!cJSON_IsString(it) || !it->valuestring[0])
            return bad(x, ip, "expected a non-empty string");
        int rc = conv(x, ip, it->valuestring, out);
        if (rc)
            return rc;
        if (!((*v)[(*n)++] = llmri_strdup(out)))
            return llmri_err_set(x->err, LLMR_ERR_NOMEM, "out of memory");
    }
    return LLMR_OK;
}

/* A model folder, resolved now (realpath) so that later checks compare real paths. */
static int model_dir(ctx *x, const char *p, const char *in, char *out)
{
    struct stat st;
    char msg[PATH_MAX + 100];
    if (!realpath(in, out)) {
        snprintf(msg, sizeof msg, "%s: %s", in, strerror(errno));
        return bad(x, p, msg);
    }
    if (stat(out, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(msg, sizeof msg, "%s: not a folder", in);
        return bad(x, p, msg);
    }
    return LLMR_OK;
}

/* A download host: a DNS name or an IP address, as it appears in a URL (IPv6 without the
 * brackets), compared case-insensitively, so stored in lower case. */
static int host_name(ctx *x, const char *p, const char *in, char *out)
{
    size_t n = strlen(in);
    if (n > 253)
        return bad(x, p, "longer than a host name can be (253)");
    for (size_t i = 0; i <= n; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (ch && !isalnum(ch) && ch != '.' && ch != '-' && ch != ':' && ch != '_')
            return bad(x, p, "expected a host name or IP address (no scheme, port or path), "
                             "e.g. \"huggingface.co\"");
        out[i] = (char)tolower(ch);
    }
    return LLMR_OK;
}

static int parse_downloads(ctx *x, const cJSON *root, rt_download_cfg *d)
{
    const cJSON *dl = cJSON_GetObjectItemCaseSensitive(root, "downloads");
    if (!dl)
        return LLMR_OK;
    static const char *const keys[] = {"allow", "hosts", "max_mb", "total_mb", NULL};
    if (!cJSON_IsObject(dl))
        return bad(x, "downloads", "expected an object {allow, hosts, max_mb, total_mb}");
    int rc;
    if ((rc = known_keys(x, dl, "downloads", keys)) ||
        (rc = boolean(x, dl, "downloads", "allow", &d->allow)) ||
        (rc = strings(x, dl, "downloads", "hosts", host_name, &d->hosts, &d->n_hosts)) ||
        (rc = num(x, dl, "downloads", "max_mb", 0.001, 1e9, &d->max_mb)) ||
        (rc = num(x, dl, "downloads", "total_mb", 0, 1e12, &d->total_mb)))
        return rc;
    if (d->allow && d->n_hosts == 0)
        return bad(x, "downloads.hosts", "missing or empty: with \"allow\": true, list the "
                   "hosts downloads may come from, e.g. [\"huggingface.co\", \"hf.co\"]");
    return LLMR_OK;
}

static int parse_root(ctx *x, const cJSON *root, rt_config *c)
{
    if (!cJSON_IsObject(root))
        return bad(x, "(top level)", "expected a JSON object");
    static const char *const keys[] = {
        "strategy", "weights", "memory_budget_mb", "keep_alive_s", "retry", "cooldown_s",
        "failures_to_cooldown", "health_interval_s", "seed", "cache", "model_dirs",
        "downloads", "backends", "models", NULL};
    int rc;
    if ((rc = known_keys(x, root, "", keys)))
        return rc;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(root, "strategy");
    if (st && (!cJSON_IsString(st) || !rt_strategy_parse(st->valuestring, &c->strategy))) {
        char msg[400];
        snprintf(msg, sizeof msg, "%s%s%s: expected one of %s", st && cJSON_IsString(st) ? "'" : "",
                 cJSON_IsString(st) ? st->valuestring : "not a string",
                 cJSON_IsString(st) ? "' is not a strategy" : "", rt_strategy_list());
        return bad(x, "strategy", msg);
    }
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(root, "weights");
    if (w) {
        static const char *const wk[] = {"quality", "cost", "speed", "load", NULL};
        if (!cJSON_IsObject(w))
            return bad(x, "weights", "expected an object {quality, cost, speed, load}");
        if ((rc = known_keys(x, w, "weights", wk)) ||
            (rc = num(x, w, "weights", "quality", 0, 100, &c->weights.quality)) ||
            (rc = num(x, w, "weights", "cost", 0, 100, &c->weights.cost)) ||
            (rc = num(x, w, "weights", "speed", 0, 100, &c->weights.speed)) ||
            (rc = num(x, w, "weights", "load", 0, 100, &c->weights.load)))
            return rc;
        if (c->weights.quality + c->weights.cost + c->weights.speed + c->weights.load <= 0)
            return bad(x, "weights", "all zero: expected at least one positive weight");
    }
    double ftc = c->failures_to_cooldown, seed = 0;
    if ((rc = num(x, root, "", "memory_budget_mb", 0, 1e12, &c->memory_budget_mb)) ||
        (rc = num(x, root, "", "keep_alive_s", -1, 1e9, &c->keep_alive_s)) ||
        (rc = num(x, root, "", "cooldown_s", 0, 1e6, &c->cooldown_s)) ||
        (rc = integer(x, root, "", "failures_to_cooldown", 1, 1000, &ftc)) ||
        (rc = num(x, root, "", "health_interval_s", 0.05, 3600, &c->health_interval_s)) ||
        (rc = integer(x, root, "", "seed", 0, 9007199254740991.0, &seed)))
        return rc;
    c->failures_to_cooldown = (int)ftc;
    if (cJSON_GetObjectItemCaseSensitive(root, "seed"))
        c->seed = (uint64_t)seed;
    const cJSON *re = cJSON_GetObjectItemCaseSensitive(root, "retry");
    if (re) {
        static const char *const rk[] = {"max_rounds", "backoff_ms", "backoff_max_ms", "jitter",
                                         NULL};
        double mr = c->max_rounds;
        if (!cJSON_IsObject(re))
            return bad(x, "retry", "expected an object {max_rounds, backoff_ms, backoff_max_ms, "
                       "jitter}");
        if ((rc = known_keys(x, re, "retry", rk)) ||
            (rc = integer(x, re, "retry", "max_rounds", 1, 10, &mr)) ||
            (rc = num(x, re, "retry", "backoff_ms", 0, 600000, &c->backoff_ms)) ||
            (rc = num(x, re, "retry", "backoff_max_ms", 0, 600000, &c->backoff_max_ms)) ||
            (rc = num(x, re, "retry", "jitter", 0, 1, &c->jitter)))
            return rc;
        c->max_rounds = (int)mr;
    }
    const cJSON *ca = cJSON_GetObjectItemCaseSensitive(root, "cache");
    if (ca) {
        static const char *const ck[] = {"enabled", "ttl_s", "max_entries", "max_bytes",
                                         "allow_sampling", NULL};
        double me = (double)c->cache.max_entries, mb = (double)c->cache.max_bytes;
        if (!cJSON_IsObject(ca))
            return bad(x, "cache", "expected an object {enabled, ttl_s, max_entries, max_bytes, "
                       "allow_sampling}");
        if ((rc = known_keys(x, ca, "cache", ck)) ||
            (rc = boolean(x, ca, "cache", "enabled", &c->cache.enabled)) ||
            (rc = num(x, ca, "cache", "ttl_s", 0, 1e9, &c->cache.ttl_s)) ||
            (rc = integer(x, ca, "cache", "max_entries", 1, 1e7, &me)) ||
            (rc = integer(x, ca, "cache", "max_bytes", 1, 1e12, &mb)) ||
            (rc = boolean(x, ca, "cache", "allow_sampling", &c->cache.allow_sampling)))
            return rc;
        c->cache.max_entries = (size_t)me;
        c->cache.max_bytes = (size_t)mb;
    }
    if ((rc = strings(x, root, "", "model_dirs", model_dir, &c->model_dirs,
                      &c->n_model_dirs)) ||
        (rc = parse_downloads(x, root, &c->downloads)))
        return rc;
    const cJSON *bs = cJSON_GetObjectItemCaseSensitive(root, "backends");
    if (bs) {
        if (!cJSON_IsObject(bs))
            return bad(x, "backends", "expected an object of NAME: {\"url\": ...}");
        size_t n = (size_t)cJSON_GetArraySize(bs);
        if (n && !(c->backends = calloc(n, sizeof *c->backends)))
            return llmri_err_set(x->err, LLMR_ERR_NOMEM, "out of memory");
        for (const cJSON *b = bs->child; b; b = b->next) {
            size_t i = c->n_backends++;
            if ((rc = parse_backend(x, b, b->string, &c->backends[i])))
                return rc;
        }
    }
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(root, "models");
    if (!ms)
        return bad(x, "models", "missing: expected an array of model objects");
    if (!cJSON_IsArray(ms))
        return bad(x, "models", "expected an array of model objects");
    size_t n = (size_t)cJSON_GetArraySize(ms);
    if (n == 0)
        return bad(x, "models", "empty: expected at least one model");
    if (!(c->models = calloc(n, sizeof *c->models)))
        return llmri_err_set(x->err, LLMR_ERR_NOMEM, "out of memory");
    for (const cJSON *m = ms->child; m; m = m->next) {
        char path[64];
        snprintf(path, sizeof path, "models[%zu]", c->n_models);
        size_t i = c->n_models++;      /* counted first, so a failure's parts are freed */
        if ((rc = parse_model(x, c, i, m, path, &c->models[i])))
            return rc;
    }
    return LLMR_OK;
}

static void defaults(rt_config *c)
{
    memset(c, 0, sizeof *c);
    c->strategy = RT_BALANCED;
    c->weights = rt_weights_default();
    c->keep_alive_s = 300;
    c->max_rounds = 2;
    c->backoff_ms = 200;
    c->backoff_max_ms = 5000;
    c->jitter = 0.5;
    c->cooldown_s = 30;
    c->failures_to_cooldown = 1;
    c->health_interval_s = 2;
    c->seed = (uint64_t)time(NULL) ^ ((uint64_t)(llmri_now() * 1e9));
    c->cache.ttl_s = 600;
    c->cache.max_entries = 256;
    c->cache.max_bytes = (size_t)16 << 20;
    c->downloads.max_mb = 65536;
}

/* cJSON reports where parsing stopped; turn that into a line and column. */
static int json_error(const char *json, size_t len, const char *where, llmr_err *err)
{
    const char *at = cJSON_GetErrorPtr();
    size_t line = 1, col = 1;
    if (at && at >= json && at <= json + len)
        for (const char *p = json; p < at; p++) {
            if (*p == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
    return llmri_err_set(err, LLMR_ERR_FORMAT, "%s: not valid JSON: line %zu, column %zu", where,
                        line, col);
}

int rt_config_parse(const char *json, size_t len, const char *where, rt_config *c,
                    llmr_err *err)
{
    defaults(c);
    if (!llmri_json_depth_ok(json, len, LLMR_JSON_MAX_DEPTH, NULL))
        return llmri_err_set(err, LLMR_ERR_FORMAT, "%s: JSON nests deeper than %d levels", where,
                            LLMR_JSON_MAX_DEPTH);
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root)
        return json_error(json, len, where, err);
    ctx x = {where, err};
    int rc = parse_root(&x, root, c);
    cJSON_Delete(root);
    if (rc)
        rt_config_free(c);
    return rc;
}

int rt_config_parse_model(rt_config *c, const char *json, size_t len, rt_model_cfg *m,
                          llmr_err *err)
{
    memset(m, 0, sizeof *m);
    if (!llmri_json_depth_ok(json, len, LLMR_JSON_MAX_DEPTH, NULL))
        return llmri_err_set(err, LLMR_ERR_FORMAT, "model: JSON nests deeper than %d levels",
                            LLMR_JSON_MAX_DEPTH);
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root)
        return json_error(json, len, "model", err);
    ctx x = {"model", err};
    int rc = parse_model(&x, c, c->n_models, root, "(model)", m);
    cJSON_Delete(root);
    if (rc)
        rt_model_cfg_free(m);
    return rc;
}

int rt_config_load(const char *path, rt_config *c, llmr_err *err)
{
    memset(c, 0, sizeof *c);
    llmr_buf b = {.limit = (size_t)64 << 20};
    int rc = llmri_buf_read_path(&b, path);
    if (rc == LLMR_ERR_TOO_BIG)
        rc = llmri_err_set(err, rc, "%s: larger than 64 MiB", path);
    else if (rc == LLMR_ERR_NOMEM)
        rc = llmri_err_set(err, rc, "out of memory reading %s", path);
    else if (rc)
        rc = llmri_err_set(err, rc, "%s: %s", path, strerror(errno));
    if (rc == LLMR_OK)
        rc = rt_config_parse(b.p, b.len, path, c, err);
    llmri_buf_free(&b);
    return rc;
}

void rt_model_cfg_free(rt_model_cfg *m)
{
    free(m->id);
    for (size_t i = 0; i < m->n_aliases; i++)
        free(m->aliases[i]);
    free(m->source);
    free(m->sha256);
    free(m->remote_model);
    memset(m, 0, sizeof *m);
}

void rt_config_free(rt_config *c)
{
    for (size_t i = 0; i < c->n_backends; i++) {
        free(c->backends[i].name);
        free(c->backends[i].url);
        free(c->backends[i].api_key_env);
    }
    free(c->backends);
    for (size_t i = 0; i < c->n_models; i++)
        rt_model_cfg_free(&c->models[i]);
    free(c->models);
    for (size_t i = 0; i < c->n_model_dirs; i++)
        free(c->model_dirs[i]);
    free(c->model_dirs);
    for (size_t i = 0; i < c->downloads.n_hosts; i++)
        free(c->downloads.hosts[i]);
    free(c->downloads.hosts);
    c->model_dirs = c->downloads.hosts = NULL;
    c->n_model_dirs = c->downloads.n_hosts = 0;
    c->backends = NULL;
    c->models = NULL;
    c->n_backends = c->n_models = 0;
}
