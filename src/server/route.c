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
#include "core/digest.h"

/* The router's status (llmr_router_status_json) as cJSON; NULL when out of memory. */
static cJSON *router_status(llmr_router *r)
{
    char *js = NULL;
    if (llmr_router_status_json(r, &js) != LLMR_OK)
        return NULL;
    cJSON *o = cJSON_Parse(js);
    free(js);
    return o;
}

static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double num_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

int srv_route_init(llmr_server *s, llmr_router *r, char *msg, size_t msg_len)
{
    llmr_model_opts mo = llmr_model_defaults();
    mo.n_threads = s->o.n_threads;
    mo.n_ctx = s->o.ctx_size;
    mo.kv_type = s->o.cache_type_k;
    mo.kv_type_v = s->o.cache_type_v;
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
    cJSON *st = router_status(r), *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(st, "models")) {
        const char *src = str_of(m, "source");
        struct stat sb;
        if (src[0] && !strstr(src, "://") && strncmp(src, "hf:", 3) && stat(src, &sb) != 0)
            fprintf(stderr, "llmr serve: warning: model %s: %s does not exist (yet); requests "
                            "for it will fail until it does\n", str_of(m, "id"), src);
    }
    cJSON_Delete(st);
    return 0;
}

/* ---- listings ---------------------------------------------------------------------------- */

/* GET /v1/models: every model, as OpenAI lists them, with llmr's state beside. */
void srv_route_models_openai(srv_ctx *x)
{
    cJSON *st = router_status(x->srv->models), *e;
    if (!st) {
        srv_reply_errorf(x, 500, "server_error", NULL, "out of memory");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "object", "list");
    cJSON *d = cJSON_AddArrayToObject(o, "data");
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(st, "models")) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "id", str_of(e, "id"));
        cJSON_AddStringToObject(m, "object", "model");
        cJSON_AddNumberToObject(m, "created", (double)(long)time(NULL));
        cJSON_AddStringToObject(m, "owned_by", "llmr");
        cJSON_AddStringToObject(m, "state", str_of(e, "state"));
        cJSON_AddStringToObject(m, "type", str_of(e, "type"));
        cJSON *al = cJSON_GetObjectItemCaseSensitive(e, "aliases");
        cJSON_AddItemToObject(m, "aliases", al ? cJSON_Duplicate(al, true)
                                               : cJSON_CreateArray());
        cJSON_AddItemToArray(d, m);
    }
    cJSON_Delete(st);
    srv_reply_cjson(x, 200, o);
}

/* GET /api/tags: every model; GET /api/ps: the ones in memory (loaded local models), as
 * ollama's ps lists running models. A local model's digest is its file's sha256, hashed
 * without any lock held (the first time, a big file takes seconds; then it is cached). */
void srv_route_models_ollama(srv_ctx *x, bool ps)
{
    cJSON *st = router_status(x->srv->models), *e;
    if (!st) {
        srv_reply_errorf(x, 500, "server_error", NULL, "out of memory");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "models");
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(st, "models")) {
        bool loaded = !strcmp(str_of(e, "state"), "loaded");
        if (ps && !loaded)
            continue;
        char digest[65] = "";
        const char *file = str_of(e, "file");
        if (file[0] && !llmri_sha256_file_hex_cached(file, digest))
            digest[0] = 0;                /* no file (yet): a download not made */
        uint64_t size = (uint64_t)(num_of(e, "size_mb") * 1048576.0);
        cJSON *m = srv_ollama_entry(str_of(e, "id"), digest, size,
                                    cJSON_GetObjectItemCaseSensitive(e, "details"), ps);
        cJSON_AddStringToObject(m, "state", str_of(e, "state"));
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(e, "expires_in_s");
        if (ps && cJSON_IsNumber(in)) {
            /* ollama's expires_at: when keep_alive unloads it if it stays idle */
            time_t at = time(NULL) + (time_t)in->valuedouble;
            struct tm tm;
            char when[40];
            gmtime_r(&at, &tm);
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
            cJSON_ReplaceItemInObject(m, "expires_at", cJSON_CreateString(when));
        }
        cJSON_AddItemToArray(arr, m);
    }
    cJSON_Delete(st);
    srv_reply_cjson(x, 200, o);
}

/* GET /api/models: the router's status (every model with its metadata, state, counts). */
void srv_route_models_list(srv_ctx *x)
{
    cJSON *o = router_status(x->srv->models), *m;
    if (!o) {
        srv_reply_errorf(x, 500, "server_error", NULL, "out of memory");
        return;
    }
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(o, "models"))
        cJSON_AddStringToObject(m, "name", str_of(m, "id"));
    srv_reply_cjson(x, 200, o);
}

/* ---- load and unload --------------------------------------------------------------------- */

static int status_of(int rc)
{
    switch (rc) {
    case LLMR_ERR_NOT_FOUND:
    case LLMR_ERR_IO: return 404;
    case LLMR_ERR_DENIED: return 403;
    case LLMR_ERR_BUSY:
    case LLMR_ERR_TOO_BIG: return 409;
    case LLMR_ERR_FORMAT:
    case LLMR_ERR_ARG: return 422;
    case LLMR_ERR_NETWORK: return 502;
    default: return 500;
    }
}

/* POST /api/models/load {"model": ID or SOURCE}: a source the config allows is added first
 * (llmr_router_add_source); then the router loads it, evicting idle models to fit the
 * budget. */
void srv_route_models_load(srv_ctx *x)
{
    llmr_router *r = x->srv->models;
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
    bool added = false;
    int rc = llmr_router_add_source(r, mv->valuestring, id, sizeof id, &added);
    cJSON_Delete(o);
    if (rc) {
        int st = rc == LLMR_ERR_ARG ? 400 : rc == LLMR_ERR_NOMEM ? 500 : status_of(rc);
        srv_reply_errorf(x, st, st == 403 ? "permission_error" : st >= 500 ? "server_error"
                                                                         : "invalid_request_error",
                         st == 404 ? "model_not_found" : st == 403 ? "permission_denied" : NULL,
                         "%s", llmr_router_errmsg(r));
        return;
    }
    bool was = false;
    char cid[256];
    if (!added)
        llmr_router_model_id(r, id, cid, sizeof cid, &was);
    rc = llmr_router_load(r, id);
    if (rc) {
        char why[512];
        snprintf(why, sizeof why, "%s", llmr_router_errmsg(r));
        if (added)   /* a source that does not load is not kept: the registry lists what can be served */
            llmr_router_remove_model(r, id);
        srv_reply_errorf(x, status_of(rc), rc == LLMR_ERR_BUSY ? "invalid_request_error"
                                           : status_of(rc) >= 500 ? "server_error"
                                                                   : "invalid_request_error",
                         rc == LLMR_ERR_BUSY ? "model_busy" : NULL, "loading %s failed: %s", id,
                         why);
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
    char cid[256] = "";
    bool was = false;
    llmr_router_model_id(r, id, cid, sizeof cid, &was);
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

/* /api/models/...: DELETE /api/models/ID, GET /api/models/ID/gguf, and POST
 * /api/models/load wherever civetweb sends it. */
int srv_h_api_models_item(struct mg_connection *c, void *ud)
{
    llmr_server *s = ud;
    const struct mg_request_info *ri = mg_get_request_info(c);
    if (!strcmp(ri->local_uri, "/api/models/load"))
        return srv_h_api_models_load(c, ud);
    srv_ctx x;
    srv_ctx_init(&x, s, c, SRV_API_CHAT);
    atomic_fetch_add(&s->m.requests[SRV_REQ_OTHER], 1);
    const char *raw = ri->local_uri + strlen("/api/models/");
    size_t rl = strlen(raw);
    if (rl > 5 && !strcmp(raw + rl - 5, "/gguf") && strcmp(ri->request_method, "DELETE")) {
        srv_model_gguf(&x, raw);    /* GET /api/models/ID/gguf: the model's file (static.c) */
        goto out;
    }
    if (!srv_check(&x, "DELETE", SRV_KEY))
        goto out;
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
