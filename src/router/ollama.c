/* ollama.c - pulling models from an ollama registry (the protocol of registry.ollama.ai, the
 * Docker/OCI distribution API): GET /v2/NS/MODEL/manifests/TAG gives a JSON manifest whose
 * layers are content-addressed blobs; the one with mediaType
 * "application/vnd.ollama.image.model" is the GGUF file, fetched from
 * GET /v2/NS/MODEL/blobs/sha256:HEX and checked against that digest. */
#include "core/digest.h"
#include "router/http.h"
#include "router/model_name.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MODEL_LAYER "application/vnd.ollama.image.model"
#define MANIFEST_TYPE "application/vnd.docker.distribution.manifest.v2+json"

typedef struct ollama_name {
    char ns[80], model[128], tag[80];
} ollama_name;

/* Registry names: lower-case letters, digits, '.', '_', '-' (a tag may have upper case). */
static bool part_ok(const char *s, size_t n, bool tag)
{
    if (n == 0 || s[0] == '.' || s[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(islower(c) || isdigit(c) || c == '.' || c == '_' || c == '-' || (tag && isupper(c))))
            return false;
    }
    return true;
}

/* ollama:[NS/]MODEL[:TAG] (the "ollama:" optional) -> its parts; NS defaults to "library",
 * TAG to "latest", as ollama's own names. */
static int parse(const char *name, ollama_name *o, llmr_err *err)
{
    const char *p = strncmp(name, "ollama:", 7) ? name : name + 7;
    const char *colon = strchr(p, ':'), *slash = strchr(p, '/');
    if (colon && slash > colon)
        slash = NULL;
    const char *m = slash ? slash + 1 : p;
    size_t nns = slash ? (size_t)(slash - p) : 7, nm = colon ? (size_t)(colon - m) : strlen(m);
    const char *ns = slash ? p : "library", *tag = colon ? colon + 1 : "latest";
    if (!part_ok(ns, nns, false) || nns >= sizeof o->ns || !part_ok(m, nm, false) ||
        nm >= sizeof o->model || !part_ok(tag, strlen(tag), true) || strlen(tag) >= sizeof o->tag)
        return llmri_err_set(err, LLMR_ERR_ARG, "'%s': expected ollama:[NAMESPACE/]MODEL[:TAG], "
                            "each part of [a-z0-9._-]", name);
    snprintf(o->ns, sizeof o->ns, "%.*s", (int)nns, ns);
    snprintf(o->model, sizeof o->model, "%.*s", (int)nm, m);
    snprintf(o->tag, sizeof o->tag, "%s", tag);
    return LLMR_OK;
}

int rt_ollama_file(const char *name, char *file, size_t n, llmr_err *err)
{
    ollama_name o;
    int rc = parse(name, &o, err);
    if (rc)
        return rc;
    bool lib = !strcmp(o.ns, "library");
    if (snprintf(file, n, "%s%s%s-%s.gguf", lib ? "" : o.ns, lib ? "" : "--", o.model, o.tag) >=
        (int)n)
        return llmri_err_set(err, LLMR_ERR_ARG, "'%s': the name is too long", name);
    return LLMR_OK;
}

static const char *registry_of(const char *registry)
{
    const char *env = getenv("LLMR_OLLAMA_REGISTRY");
    if (registry && *registry)
        return registry;
    return env && *env ? env : LLMR_OLLAMA_REGISTRY;
}

/* The model layer's digest (64 hex digits, after "sha256:") from a manifest. */
static int model_digest(const char *json, const char *url, char hex[65], llmr_err *err)
{
    cJSON *m = cJSON_Parse(json);
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(m, "layers"), *l;
    int rc = llmri_err_set(err, LLMR_ERR_FORMAT, "%s: the manifest has no layer of type %s",
                           url, MODEL_LAYER);
    if (!cJSON_IsArray(layers))
        rc = llmri_err_set(err, LLMR_ERR_FORMAT, "%s: not a manifest (expected JSON with "
                           "\"layers\")", url);
    cJSON_ArrayForEach(l, layers) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(l, "mediaType");
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(l, "digest");
        if (!cJSON_IsString(t) || strcmp(t->valuestring, MODEL_LAYER))
            continue;
        if (!cJSON_IsString(d) || strncmp(d->valuestring, "sha256:", 7) ||
            !llmri_sha256_hex_valid(d->valuestring + 7)) {
            rc = llmri_err_set(err, LLMR_ERR_FORMAT, "%s: the model layer's digest is not "
                               "sha256:<64 hex digits>", url);
            break;
        }
        snprintf(hex, 65, "%s", d->valuestring + 7);
        rc = LLMR_OK;
        break;
    }
    cJSON_Delete(m);
    return rc;
}

int rt_ollama_pull(const char *name, const char *registry, const llmr_fetch_opts *fo,
                   char *path, size_t n, llmr_err *err)
{
    ollama_name o;
    char file[300], dir[4096];
    int rc = parse(name, &o, err);
    if (rc || (rc = rt_ollama_file(name, file, sizeof file, err)))
        return rc;
    llmr_fetch_opts def = llmri_fetch_defaults();
    if (!fo)
        fo = &def;
    if (fo->cache_dir)
        snprintf(dir, sizeof dir, "%s", fo->cache_dir);
    else if ((rc = llmri_cache_dir(dir, sizeof dir, err)))
        return rc;
    if (snprintf(path, n, "%.4000s/%s", dir, file) >= (int)n)
        return llmri_err_set(err, LLMR_ERR_ARG, "cache path too long");
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
        return LLMR_OK;                 /* pulled before: no request */
    const char *reg = registry_of(registry);
    size_t rl = strlen(reg);
    while (rl && reg[rl - 1] == '/')
        rl--;
    char url[1024], blob[1200], hex[65];
    snprintf(url, sizeof url, "%.*s/v2/%s/%s/manifests/%s", (int)(rl < 700 ? rl : 700), reg,
             o.ns, o.model, o.tag);
    rt_http_req req = {.url = url, .accept = MANIFEST_TYPE, .max_bytes = 1 << 20};
    long status;
    char *body;
    size_t len;
    if ((rc = rt_http(&req, &status, &body, &len, err)))
        return rc;
    if (status == 404)
        rc = llmri_err_set(err, LLMR_ERR_NOT_FOUND, "%s:%s is not in the registry %.*s (HTTP "
                           "404 for its manifest)", o.model, o.tag, (int)rl, reg);
    else if (status != 200)
        rc = llmri_err_set(err, LLMR_ERR_NETWORK, "%s: HTTP %ld", url, status);
    else
        rc = model_digest(body, url, hex, err);
    free(body);
    if (rc)
        return rc;
    snprintf(blob, sizeof blob, "%.*s/v2/%s/%s/blobs/sha256:%s", (int)(rl < 700 ? rl : 700),
             reg, o.ns, o.model, hex);
    llmr_fetch_opts bo = *fo;
    bo.sha256 = hex;
    bo.as_name = file;
    bo.cache_dir = dir;
    return llmri_fetch(blob, &bo, path, n, err);
}
