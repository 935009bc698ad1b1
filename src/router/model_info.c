/* model_info.c - a model's file described (llmr_router_model_info_json): what ollama's
 * /api/show reports, read from the GGUF metadata without loading the model. */
#include "llmr.h"
#include "core/util.h"
#include "gguf/gguf.h"
#include "router/fetch.h"
#include "router/registry.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHORT_ARRAY 16      /* numeric arrays up to this long are listed whole */

static cJSON *scalar(gguf_vtype t, const void *p)
{
    switch (t) {
    case GGUF_U8:   return cJSON_CreateNumber(*(const uint8_t *)p);
    case GGUF_I8:   return cJSON_CreateNumber(*(const int8_t *)p);
    case GGUF_U16:  return cJSON_CreateNumber(*(const uint16_t *)p);
    case GGUF_I16:  return cJSON_CreateNumber(*(const int16_t *)p);
    case GGUF_U32:  return cJSON_CreateNumber(*(const uint32_t *)p);
    case GGUF_I32:  return cJSON_CreateNumber(*(const int32_t *)p);
    case GGUF_U64:  return cJSON_CreateNumber((double)*(const uint64_t *)p);
    case GGUF_I64:  return cJSON_CreateNumber((double)*(const int64_t *)p);
    case GGUF_F32:  return cJSON_CreateNumber(*(const float *)p);
    case GGUF_F64:  return cJSON_CreateNumber(*(const double *)p);
    case GGUF_BOOL: return cJSON_CreateBool(*(const uint8_t *)p);
    default:        return cJSON_CreateNull();
    }
}

static size_t vsize(gguf_vtype t)
{
    static const size_t sz[GGUF_VTYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return t < GGUF_VTYPE_COUNT ? sz[t] : 0;
}

static cJSON *value_json(const gguf_value *v, bool verbose)
{
    switch (v->type) {
    case GGUF_STRING: {
        char *s = llmri_strndup(v->str.ptr, (size_t)v->str.len);
        cJSON *o = cJSON_CreateString(s ? s : "");
        free(s);
        return o;
    }
    case GGUF_ARRAY: {
        size_t es = vsize(v->arr.type);
        if (es && (verbose || v->arr.n <= SHORT_ARRAY)) {
            cJSON *a = cJSON_CreateArray();
            for (uint64_t i = 0; i < v->arr.n; i++)
                cJSON_AddItemToArray(a, scalar(v->arr.type, (const char *)v->arr.data + i * es));
            return a;
        }
        if (v->arr.type == GGUF_STRING && verbose && v->arr.n <= 1000000) {
            cJSON *a = cJSON_CreateArray();
            const gguf_str *ss = v->arr.data;
            for (uint64_t i = 0; i < v->arr.n; i++) {
                char *s = llmri_strndup(ss[i].ptr, (size_t)ss[i].len);
                cJSON_AddItemToArray(a, cJSON_CreateString(s ? s : ""));
                free(s);
            }
            return a;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", gguf_vtype_name(v->arr.type));
        cJSON_AddNumberToObject(o, "length", (double)v->arr.n);
        return o;
    }
    case GGUF_I8: case GGUF_I16: case GGUF_I32: case GGUF_I64:
        return cJSON_CreateNumber((double)v->i64);
    case GGUF_F32: case GGUF_F64:
        return cJSON_CreateNumber(v->f64);
    case GGUF_BOOL:
        return cJSON_CreateBool(v->u64 != 0);
    default:
        return cJSON_CreateNumber((double)v->u64);
    }
}

void rt_gguf_details(cJSON *o, const gguf_file *f)
{
    cJSON *d = cJSON_AddObjectToObject(o, "details");
    const char *arch = gguf_get_str(f, "general.architecture");
    cJSON_AddStringToObject(d, "family", arch ? arch : "unknown");
    /* the parameters and the commonest type of the 2-D tensors (the file's quantization) */
    double np = 0;
    uint64_t by_type[LLMR_TYPE_COUNT] = {0};
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        np += (double)f->tensors[i].n_elements;
        if (f->tensors[i].n_dims >= 2 && f->tensors[i].type < LLMR_TYPE_COUNT)
            by_type[f->tensors[i].type] += f->tensors[i].n_elements;
    }
    char ps[32];
    if (np >= 1e9)
        snprintf(ps, sizeof ps, "%.1fB", np / 1e9);
    else if (np >= 1e6)
        snprintf(ps, sizeof ps, "%.0fM", np / 1e6);
    else
        snprintf(ps, sizeof ps, "%.0fK", np / 1e3);
    cJSON_AddStringToObject(d, "parameter_size", ps);
    cJSON_AddNumberToObject(d, "parameters", np);
    int best = -1;
    for (int t = 0; t < LLMR_TYPE_COUNT; t++)
        if (by_type[t] && (best < 0 || by_type[t] > by_type[best]))
            best = t;
    llmr_type_info ti;
    cJSON_AddStringToObject(d, "quantization_level",
                            best >= 0 && llmr_type_get(best, &ti) ? ti.name : "unknown");
}

static cJSON *describe(const char *id, const char *path, bool verbose, llmr_err *err)
{
    gguf_file *f = NULL;
    int rc = gguf_open(path, &f, err);
    if (rc)
        return NULL;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "type", "local");
    cJSON_AddStringToObject(o, "file", path);
    cJSON_AddNumberToObject(o, "size", (double)f->size);
    rt_gguf_details(o, f);
    const char *tmpl = gguf_get_str(f, "tokenizer.chat_template");
    if (tmpl)
        cJSON_AddStringToObject(o, "template", tmpl);
    else
        cJSON_AddNullToObject(o, "template");
    cJSON *md = cJSON_AddObjectToObject(o, "metadata");
    for (uint64_t i = 0; i < f->n_kv; i++) {
        char *k = llmri_strndup(f->kv[i].key.ptr, (size_t)f->kv[i].key.len);
        if (k)
            cJSON_AddItemToObject(md, k, value_json(&f->kv[i].val, verbose));
        free(k);
    }
    gguf_close(f);
    return o;
}

int llmr_router_model_info_json(llmr_router *r, const char *name, bool verbose, char **json)
{
    *json = NULL;
    llmr_err err;
    llmri_err_clear(&err);
    if (!r || !name)
        return rt_fail(LLMR_ERR_ARG, "llmr_router_model_info_json: NULL argument");
    char id[256], path[4096], backend[2048] = "", source[4096] = "";
    bool remote = false;
    pthread_mutex_lock(&r->mu);
    const rt_entry *e = rt_find(r, name);
    if (e) {
        snprintf(id, sizeof id, "%s", e->cfg.id);
        remote = e->cfg.backend >= 0;
        if (remote)
            snprintf(backend, sizeof backend, "%s", r->cfg.backends[e->cfg.backend].url);
        else
            snprintf(source, sizeof source, "%s", e->cfg.source);
    }
    pthread_mutex_unlock(&r->mu);
    if (!e)
        return rt_fail(LLMR_ERR_NOT_FOUND, "no such model");
    cJSON *o;
    if (remote) {
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", id);
        cJSON_AddStringToObject(o, "type", "remote");
        cJSON_AddStringToObject(o, "backend", backend);
    } else {
        if (llmri_source_file(source, NULL, path, sizeof path, NULL))
            return rt_fail(LLMR_ERR_NOT_FOUND, "the model's file is not there (yet)");
        o = describe(id, path, verbose, &err);   /* outside mu: it reads the file */
        if (!o)
            return rt_fail(err.code ? err.code : LLMR_ERR_IO, err.msg);
    }
    *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return *json ? rt_fail(LLMR_OK, "") : rt_fail(LLMR_ERR_NOMEM, "out of memory");
}
