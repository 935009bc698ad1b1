/* client_source.c - models a client adds at run time (llmr_router_add_source): a source named
 * by outside input, checked against the config's "model_dirs" and "downloads" before anything
 * is read or fetched (router/policy.h says why), then added as a model whose id is its file
 * name. */
#include "llmr.h"
#include "core/path.h"
#include "core/util.h"
#include "router/fetch.h"
#include "router/policy.h"
#include "router/registry.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether v names a source rather than an id: a .gguf path, a URL, hf:. */
static bool is_source(const char *v)
{
    size_t n = strlen(v);
    return (n > 5 && !strcmp(v + n - 5, ".gguf")) || !strncmp(v, "http://", 7) ||
           !strncmp(v, "https://", 8) || !strncmp(v, "hf:", 3);
}

/* A URL or hf: source: downloads must be on and its host listed. */
static int url_allowed(const rt_config *c, const char *src, llmr_src_kind k, llmr_err *err)
{
    if (!c->downloads.allow)
        return llmri_err_set(err, LLMR_ERR_DENIED, "loading models by URL is off: the config "
                            "does not allow downloads (\"downloads\": {\"allow\": true, "
                            "\"hosts\": [...]})");
    char url[2048], host[256];
    int rc = k == LLMR_SRC_HF ? llmri_hf_resolve(src, url, sizeof url, err)
                              : (snprintf(url, sizeof url, "%s", src) >= (int)sizeof url
                                     ? llmri_err_set(err, LLMR_ERR_ARG, "URL too long")
                                     : LLMR_OK);
    if (rc == LLMR_OK)
        rc = rt_url_host(url, host, sizeof host, err);
    if (rc)
        return rc == LLMR_ERR_UNSUPPORTED ? rc : LLMR_ERR_ARG;
    if (!rt_host_listed(host, c->downloads.hosts, c->downloads.n_hosts))
        return llmri_err_set(err, LLMR_ERR_DENIED, "downloads from '%.200s' are not allowed: "
                            "the host is not in the config's downloads.hosts", host);
    return LLMR_OK;
}

/* Whether the config lets a client load src; the source to add goes to out: a path's real
 * path (inside model_dirs), a URL as given. */
static int source_allowed(const rt_config *c, const char *src, char *out, size_t n,
                          llmr_err *err)
{
    llmr_src_kind k = llmri_source_kind(src);
    if (k == LLMR_SRC_URL || k == LLMR_SRC_HF) {
        int rc = url_allowed(c, src, k, err);
        if (rc == LLMR_OK && snprintf(out, n, "%s", src) >= (int)n)
            rc = llmri_err_set(err, LLMR_ERR_ARG, "URL too long");
        return rc;
    }
    if (c->n_model_dirs == 0)
        return llmri_err_set(err, LLMR_ERR_DENIED, "loading model files by path is off: the "
                            "config names no model_dirs");
    int rc = llmri_path_confine(src, c->model_dirs, c->n_model_dirs, out, n, err);
    return rc == LLMR_ERR_ARG ? LLMR_ERR_DENIED : rc;   /* outside the folders */
}

/* The ids, for a message (mu held). */
static void list_ids(const llmr_router *r, char *buf, size_t n)
{
    buf[0] = 0;
    for (size_t i = 0, at = 0; i < r->n_models && at < n; i++)
        at += (size_t)snprintf(buf + at, n - at, "%s%s", i ? ", " : "", r->models[i]->cfg.id);
}

/* The model whose source is real, or NULL (mu held). */
static const rt_entry *find_source(const llmr_router *r, const char *real)
{
    for (size_t i = 0; i < r->n_models; i++)
        if (r->models[i]->cfg.source && !strcmp(r->models[i]->cfg.source, real))
            return r->models[i];
    return NULL;
}

/* Adds real (from src, what the client wrote) as a model named by its file name. */
static int add_as_file(llmr_router *r, const char *src, const char *real, char *id, size_t n,
                       llmr_err *err)
{
    const char *b = strrchr(src, '/');
    b = b ? b + 1 : src;
    size_t len = strlen(b);
    if (len > 5 && !strcmp(b + len - 5, ".gguf"))
        len -= 5;
    if (len == 0 || len >= n)
        return llmri_err_set(err, LLMR_ERR_ARG, "'%.200s' has no file name to make a model "
                            "id of", src);
    snprintf(id, n, "%.*s", (int)len, b);
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "id", id);
    cJSON_AddStringToObject(m, "source", real);
    char *js = cJSON_PrintUnformatted(m);
    cJSON_Delete(m);
    int rc = js ? rt_add_model(r, js, true) : LLMR_ERR_NOMEM;
    free(js);
    if (rc)
        return llmri_err_set(err, rc, "adding %.200s: %s", src, llmr_router_errmsg(r));
    fprintf(stderr, "llmr: model %s added from %s\n", id, real);
    return LLMR_OK;
}

int llmr_router_add_source(llmr_router *r, const char *source, char *id, size_t n, bool *added)
{
    llmr_err err;
    llmri_err_clear(&err);
    if (added)
        *added = false;
    if (!r || !source || !id || n == 0)
        return rt_fail(LLMR_ERR_ARG, "llmr_router_add_source: NULL argument");
    if (!source[0] || strlen(source) > 4000)
        return rt_fail(LLMR_ERR_ARG, "a model source is 1 to 4000 bytes");
    pthread_mutex_lock(&r->mu);
    const rt_entry *e = rt_find(r, source);
    if (e)
        snprintf(id, n, "%s", e->cfg.id);
    char known[512];
    list_ids(r, known, sizeof known);
    pthread_mutex_unlock(&r->mu);
    if (e)
        return rt_fail(LLMR_OK, "");
    if (!is_source(source)) {
        llmri_err_set(&err, LLMR_ERR_NOT_FOUND, "no model '%.200s' (known: %s); a source to add "
                     "must be a .gguf path, an http(s) URL or hf:ORG/REPO/FILE.gguf", source,
                     known);
        return rt_fail(err.code, err.msg);
    }
    char real[4096];
    int rc = source_allowed(&r->cfg, source, real, sizeof real, &err);  /* cfg: fixed */
    if (rc)
        return rt_fail(rc, err.msg);
    /* a source loaded before (by another spelling of its path) is that model again */
    pthread_mutex_lock(&r->mu);
    e = find_source(r, real);
    if (e)
        snprintf(id, n, "%s", e->cfg.id);
    pthread_mutex_unlock(&r->mu);
    if (e)
        return rt_fail(LLMR_OK, "");
    rc = add_as_file(r, source, real, id, n, &err);
    if (rc)
        return rt_fail(rc, err.msg);
    if (added)
        *added = true;
    return rt_fail(LLMR_OK, "");
}
