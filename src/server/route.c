/* route.c - the model routes over the server's router (llmr.h, "The server over a
 * router"): listings, load and unload, and the server's options for the models the router
 * loads.
 *
 * The router keeps the registry: which models exist, which are loaded, the memory budget, keep
 * alive, health and the ranking. States: "loaded", "loading", "unloaded" for local models;
 * "available" or "cooldown" (failing, sitting out) for remote ones. */
#include "server/server_int.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/util.h"
#include "router/digest.h"
#include "router/fetch.h"
#include "router/policy.h"
#include "router/registry.h"

int srv_route_init(llmr_server *s, llmr_router *r, char *msg, size_t msg_len)
{
    llmr_model_opts mo = llmr_model_defaults();
    mo.n_threads = s->o.n_threads;
    mo.n_ctx = s->o.ctx_size;
    mo.n_parallel = s->o.parallel;
    /* the server's queue of 0 lets no request wait; the engine spells that -1 */
    mo.max_queued = s->o.queue_size ? s->o.queue_size : -1;
    int rc = llmr_router_set_model_defaults(r, &mo);
    if (rc) {
        snprintf(msg, msg_len, "%s", llmr_router_errmsg(r));
        return rc;
    }
    /* Local files load on first use; say now, not at the first request, that one is missing
     * (a file may still appear later - `llmr pull` - so this is a warning, not an error). */
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n_models; i++) {
        const rt_entry *e = r->models[i];
        const char *src = e->cfg.source;
        struct stat st;
        if (e->cfg.backend < 0 && src && !strstr(src, "://") && strncmp(src, "hf:", 3) &&
            stat(src, &st) != 0)
            fprintf(stderr, "llmr serve: warning: model %s: %s does not exist (yet); requests "
                            "for it will fail until it does\n", e->cfg.id, src);
    }
    pthread_mutex_unlock(&r->mu);
    return 0;
}

/* ---- listings ---------------------------------------------------------------------------- */

static const char *entry_state(const llmr_router *r, const rt_entry *e, double now)
{
    if (e->cfg.backend >= 0)
        return rt_cooling(r, e, now, NULL) ? "cooldown" : "available";
    return e->loading ? "loading" : e->model ? "loaded" : "unloaded";
}

/* GET /v1/models: every model, as OpenAI lists them, with llmr's state beside. */
void srv_route_models_openai(srv_ctx *x)
{
    llmr_server *s = x->srv;
    llmr_router *r = s->models;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "object", "list");
    cJSON *d = cJSON_AddArrayToObject(o, "data");
    pthread_mutex_lock(&r->mu);
    double now = llmri_now();
    for (size_t i = 0; i < r->n_models; i++) {
        const rt_entry *e = r->models[i];
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "id", e->cfg.id);
        cJSON_AddStringToObject(m, "object", "model");
        cJSON_AddNumberToObject(m, "created", (double)(long)time(NULL));
        cJSON_AddStringToObject(m, "owned_by", "llmr");
        cJSON_AddStringToObject(m, "state", entry_state(r, e, now));
        cJSON_AddStringToObject(m, "type", e->cfg.backend >= 0 ? "remote" : "local");
        cJSON *al = cJSON_AddArrayToObject(m, "aliases");
        for (size_t k = 0; k < e->cfg.n_aliases; k++)
            cJSON_AddItemToArray(al, cJSON_CreateString(e->cfg.aliases[k]));
        cJSON_AddItemToArray(d, m);
    }
    pthread_mutex_unlock(&r->mu);
    srv_reply_cjson(x, 200, o);
}

typedef struct model_file {
    const rt_entry *e;
    char            path[4096];
    char            digest[65];
} model_file;

/* The sha256 of each local model's file (ps: of the loaded ones), found without the router's
 * lock: the first time, hashing a big file takes seconds. Entries stay valid while the router
 * is open (removed ones are kept until close), so they key the result. *n: how many. */
static model_file *model_digests(llmr_router *r, bool ps, size_t *n)
{
    pthread_mutex_lock(&r->mu);
    model_file *v = calloc(r->n_models ? r->n_models : 1, sizeof *v);
    *n = 0;
    for (size_t i = 0; v && i < r->n_models; i++) {
        const rt_entry *e = r->models[i];
        if (e->cfg.backend >= 0 || (ps && !e->model) ||
            llmri_source_file(e->cfg.source, NULL, v[*n].path, sizeof v[*n].path, NULL))
            continue;
        v[(*n)++].e = e;
    }
    pthread_mutex_unlock(&r->mu);
    for (size_t i = 0; i < *n; i++)
        if (!llmri_sha256_file_hex_cached(v[i].path, v[i].digest))
            v[i].digest[0] = 0;          /* no file (yet): a download not made */
    return v;
}

/* GET /api/tags: every model; GET /api/ps: the ones in memory (loaded local models), as
 * ollama's ps lists running models. A local model's digest is its file's sha256. */
void srv_route_models_ollama(srv_ctx *x, bool ps)
{
    llmr_router *r = x->srv->models;
    size_t n_files;
    model_file *files = model_digests(r, ps, &n_files);
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "models");
    pthread_mutex_lock(&r->mu);
    double now = llmri_now();
    for (size_t i = 0; i < r->n_models; i++) {
        const rt_entry *e = r->models[i];
        if (ps && !e->model)
            continue;
        const char *digest = "";
        for (size_t k = 0; k < n_files; k++)
            if (files[k].e == e)
                digest = files[k].digest;
        uint64_t size = (uint64_t)((e->model ? e->mem_mb : e->cfg.size_mb) * 1048576.0);
        cJSON *m = srv_ollama_entry(e->cfg.id, digest, size, e->model, ps);
        cJSON_AddStringToObject(m, "state", entry_state(r, e, now));
        if (ps && rt_keep_alive(r, e) >= 0) {
            /* ollama's expires_at: when keep_alive unloads it if it stays idle */
            double left = rt_keep_alive(r, e) - (now - e->last_used);
            time_t at = time(NULL) + (time_t)(left > 0 && !e->active ? left : 0);
            struct tm tm;
            char when[40];
            gmtime_r(&at, &tm);
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
            cJSON_ReplaceItemInObject(m, "expires_at", cJSON_CreateString(when));
        }
        cJSON_AddItemToArray(arr, m);
    }
    pthread_mutex_unlock(&r->mu);
    free(files);
    srv_reply_cjson(x, 200, o);
}

/* GET /api/models: the router's status (every model with its metadata, state, counts). */
void srv_route_models_list(srv_ctx *x)
{
    llmr_router *r = x->srv->models;
    char *js = NULL;
    if (llmr_router_status_json(r, &js) != LLMR_OK) {
        srv_reply_errorf(x, 500, "server_error", NULL, "out of memory");
        return;
    }
    cJSON *o = cJSON_Parse(js);
    free(js);
    if (!o) {
        srv_reply_errorf(x, 500, "server_error", NULL, "out of memory");
        return;
    }
    /* add each model's state (the status is a snapshot; so is this) */
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "models"), *m;
    pthread_mutex_lock(&r->mu);
    double now = llmri_now();
    cJSON_ArrayForEach(m, arr) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
        const rt_entry *e = cJSON_IsString(id) ? rt_find(r, id->valuestring) : NULL;
        cJSON_AddStringToObject(m, "state", e ? entry_state(r, e, now) : "removed");
        cJSON_AddStringToObject(m, "name", cJSON_IsString(id) ? id->valuestring : "");
    }
    pthread_mutex_unlock(&r->mu);
    srv_reply_cjson(x, 200, o);
}

/* ---- load and unload --------------------------------------------------------------------- */

static int status_of(int rc)
{
    switch (rc) {
    case LLMR_ERR_NOT_FOUND:
    case LLMR_ERR_IO: return 404;
    case LLMR_ERR_BUSY:
    case LLMR_ERR_TOO_BIG: return 409;
    case LLMR_ERR_FORMAT:
    case LLMR_ERR_ARG: return 422;
    case LLMR_ERR_NETWORK: return 502;
    default: return 500;
    }
}

/* Whether a load request names a source rather than an id: a .gguf path, a URL, hf:. */
static bool is_source(const char *v)
{
    size_t n = strlen(v);
    return (n > 5 && !strcmp(v + n - 5, ".gguf")) || !strncmp(v, "http://", 7) ||
           !strncmp(v, "https://", 8) || !strncmp(v, "hf:", 3);
}

/* Whether the config lets a client load src, checked before anything is read or fetched;
 * the source to add goes to out: a path's real path (inside model_dirs), a URL as given. A
 * refusal is a 403 that names the config key to change; for a path it reads the same whether
 * or not the file exists outside the folders. */
static bool source_allowed(srv_ctx *x, const char *src, char *out, size_t n)
{
    const rt_config *c = &x->srv->models->cfg;       /* fixed while the router is open */
    llmr_err err = {0};
    llmr_src_kind k = llmri_source_kind(src);
    if (k == LLMR_SRC_URL || k == LLMR_SRC_HF) {
        char url[2048], host[256];
        if (!c->downloads.allow) {
            srv_reply_errorf(x, 403, "permission_error", "downloads_disabled",
                             "loading models by URL is off: this server's config does not "
                             "allow downloads (\"downloads\": {\"allow\": true, \"hosts\": "
                             "[...]})");
            return false;
        }
        int rc = k == LLMR_SRC_HF ? llmri_hf_resolve(src, url, sizeof url, &err)
                                  : (snprintf(url, sizeof url, "%s", src) >= (int)sizeof url
                                         ? llmri_err_set(&err, LLMR_ERR_ARG, "URL too long")
                                         : LLMR_OK);
        if (rc == LLMR_OK)
            rc = rt_url_host(url, host, sizeof host, &err);
        if (rc) {
            srv_reply_errorf(x, 400, "invalid_request_error", NULL, "%s", err.msg);
            return false;
        }
        if (!rt_host_listed(host, c->downloads.hosts, c->downloads.n_hosts)) {
            srv_reply_errorf(x, 403, "permission_error", "host_not_allowed",
                             "downloads from '%.200s' are not allowed: the host is not in "
                             "this server's downloads.hosts", host);
            return false;
        }
        snprintf(out, n, "%s", src);
        return true;
    }
    if (c->n_model_dirs == 0) {
        srv_reply_errorf(x, 403, "permission_error", "paths_disabled",
                         "loading model files by path is off: this server's config names no "
                         "model_dirs");
        return false;
    }
    int rc = rt_path_confine(src, c->model_dirs, c->n_model_dirs, out, n, &err);
    if (rc)
        srv_reply_errorf(x, rc == LLMR_ERR_NOT_FOUND ? 404 : 403,
                         rc == LLMR_ERR_NOT_FOUND ? "invalid_request_error" : "permission_error",
                         rc == LLMR_ERR_NOT_FOUND ? "model_not_found" : "path_not_allowed", "%s",
                         err.msg);
    return rc == LLMR_OK;
}

/* Adds a client's source as a model whose id is its file name without .gguf (src is what
 * the client wrote, real what source_allowed made of it). The id in id_out. */
static int add_source(srv_ctx *x, const char *src, const char *real, char *id_out, size_t n)
{
    llmr_router *r = x->srv->models;
    const char *b = strrchr(src, '/');
    b = b ? b + 1 : src;
    size_t len = strlen(b);
    if (len > 5 && !strcmp(b + len - 5, ".gguf"))
        len -= 5;
    if (len == 0 || len >= n) {
        srv_reply_errorf(x, 400, "invalid_request_error", NULL,
                         "'%.200s' has no file name to make a model id of", src);
        return -1;
    }
    snprintf(id_out, n, "%.*s", (int)len, b);
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "id", id_out);
    cJSON_AddStringToObject(m, "source", real);
    char *js = cJSON_PrintUnformatted(m);
    cJSON_Delete(m);
    int rc = js ? rt_add_model(r, js, true) : LLMR_ERR_NOMEM;
    free(js);
    if (rc) {
        srv_reply_errorf(x, rc == LLMR_ERR_NOMEM ? 500 : 400, "invalid_request_error", NULL,
                         "adding %.200s: %s", src, llmr_router_errmsg(r));
        return -1;
    }
    fprintf(stderr, "llmr serve: model %s added from %s\n", id_out, real);
    return 0;
}

/* POST /api/models/load {"model": ID or SOURCE}: loads through the router (evicting idle
 * models to fit the budget) and opens the model's scheduler. */
void srv_route_models_load(srv_ctx *x)
{
    llmr_server *s = x->srv;
    llmr_router *r = s->models;
    cJSON *o = srv_read_json(x);
    if (!o)
        return;
    const cJSON *mv = cJSON_GetObjectItemCaseSensitive(o, "model");
    if (!cJSON_IsString(mv) || !mv->valuestring[0] || strlen(mv->valuestring) > 4000) {
        srv_reply_errorf(x, 400, "invalid_request_error", NULL,
                         "missing field 'model' (a model id from GET /api/models, or a "
                         "source: a .gguf path, an http(s) URL, hf:ORG/REPO/FILE.gguf)");
        cJSON_Delete(o);
        return;
    }
    char id[256];
    pthread_mutex_lock(&r->mu);
    const rt_entry *e = rt_find(r, mv->valuestring);
    if (e)
        snprintf(id, sizeof id, "%s", e->cfg.id);
    pthread_mutex_unlock(&r->mu);
    if (!e && !is_source(mv->valuestring)) {
        char known[512] = "";
        pthread_mutex_lock(&r->mu);
        for (size_t i = 0, at = 0; i < r->n_models && at < sizeof known; i++)
            at += (size_t)snprintf(known + at, sizeof known - at, "%s%s", i ? ", " : "",
                                   r->models[i]->cfg.id);
        pthread_mutex_unlock(&r->mu);
        srv_reply_errorf(x, 404, "invalid_request_error", "model_not_found",
                         "no model '%.200s' (known: %s); a source to add must be a .gguf path, "
                         "an http(s) URL or hf:ORG/REPO/FILE.gguf", mv->valuestring, known);
        cJSON_Delete(o);
        return;
    }
    bool added = false;
    if (!e) {
        char real[4096];
        if (!source_allowed(x, mv->valuestring, real, sizeof real)) {
            cJSON_Delete(o);
            return;
        }
        /* a source loaded before (by another spelling of its path) is that model again */
        pthread_mutex_lock(&r->mu);
        for (size_t i = 0; i < r->n_models && !e; i++)
            if (r->models[i]->cfg.source && !strcmp(r->models[i]->cfg.source, real))
                e = r->models[i];
        if (e)
            snprintf(id, sizeof id, "%s", e->cfg.id);
        pthread_mutex_unlock(&r->mu);
        if (!e && add_source(x, mv->valuestring, real, id, sizeof id)) {
            cJSON_Delete(o);
            return;
        }
        added = !e;
    }
    cJSON_Delete(o);
    pthread_mutex_lock(&r->mu);
    rt_entry *ee = rt_find(r, id);
    bool was = ee && (ee->model || ee->cfg.backend >= 0);
    pthread_mutex_unlock(&r->mu);
    int rc = llmr_router_load(r, id);
    if (rc && added) {
        /* a source that does not load is not kept: the registry lists what can be served */
        char why[512];
        snprintf(why, sizeof why, "%s", llmr_router_errmsg(r));
        llmr_router_remove_model(r, id);
        srv_reply_errorf(x, status_of(rc), status_of(rc) >= 500 ? "server_error"
                                                                : "invalid_request_error",
                         NULL, "loading %s failed: %s", id, why);
        return;
    }
    if (rc) {
        srv_reply_errorf(x, status_of(rc), rc == LLMR_ERR_BUSY ? "invalid_request_error"
                                                               : "server_error",
                         rc == LLMR_ERR_BUSY ? "model_busy" : NULL, "loading %s failed: %s", id,
                         llmr_router_errmsg(r));
        return;
    }
    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "status", "loaded");
    cJSON_AddBoolToObject(res, "changed", !was);
    cJSON_AddStringToObject(res, "model", id);
    srv_reply_cjson(x, 200, res);
}

/* DELETE /api/models/ID: unloads a local model (it loads again on next use). 404 for an
 * unknown id; 409 (code model_busy) while requests run on it. */
static void unload(srv_ctx *x, const char *id)
{
    llmr_router *r = x->srv->models;
    pthread_mutex_lock(&r->mu);
    const rt_entry *e = rt_find(r, id);
    bool was = e && e->model;
    char cid[256] = "";
    if (e)
        snprintf(cid, sizeof cid, "%s", e->cfg.id);
    pthread_mutex_unlock(&r->mu);
    int rc = llmr_router_unload(r, id);
    if (rc == LLMR_ERR_NOT_FOUND) {
        srv_reply_errorf(x, 404, "invalid_request_error", "model_not_found", "%s",
                         llmr_router_errmsg(r));
    } else if (rc == LLMR_ERR_BUSY) {
        srv_reply_errorf(x, 409, "invalid_request_error", "model_busy",
                         "%s; try again when its requests have finished", llmr_router_errmsg(r));
    } else if (rc) {
        srv_reply_errorf(x, 500, "server_error", NULL, "%s", llmr_router_errmsg(r));
    } else {
        cJSON *res = cJSON_CreateObject();
        cJSON_AddStringToObject(res, "status", "unloaded");
        cJSON_AddBoolToObject(res, "changed", was);
        cJSON_AddStringToObject(res, "model", cid);
        srv_reply_cjson(x, 200, res);
    }
}

/* /api/models/...: DELETE /api/models/ID, and POST /api/models/load wherever civetweb sends
 * it. */
int srv_h_api_models_item(struct mg_connection *c, void *ud)
{
    llmr_server *s = ud;
    const struct mg_request_info *ri = mg_get_request_info(c);
    if (!strcmp(ri->local_uri, "/api/models/load"))
        return srv_h_api_models_load(c, ud);
    srv_ctx x;
    srv_ctx_init(&x, s, c, SRV_API_CHAT);
    atomic_fetch_add(&s->m.requests[5], 1);
    if (!srv_check(&x, "DELETE", SRV_KEY))
        goto out;
    const char *raw = ri->local_uri + strlen("/api/models/");
    char id[256];
    /* civetweb gives local_uri already URL-decoded */
    if (!raw[0] || strlen(raw) >= sizeof id || strchr(raw, '/')) {
        srv_reply_errorf(&x, 404, "invalid_request_error", "model_not_found",
                         "DELETE /api/models/ID takes a model id (GET /api/models lists them)");
        goto out;
    }
    snprintf(id, sizeof id, "%s", raw);
    if (!s->models) {
        srv_reply_errorf(&x, 400, "invalid_request_error", NULL,
                         "this server serves one model (-m); unloading a model needs "
                         "`llmr serve --config FILE`");
        goto out;
    }
    unload(&x, id);
out:
    srv_access_log(&x);
    return 1;
}
