/* router.c - the public router API (llmr.h, "Router"): opening a config, loading and
 * unloading models, ranking them for a request, and the status report. Routed streams
 * (failover, backoff, the result cache) are in router_stream.c. */
#include "llmr.h"
#include "router/registry.h"
#include "stream/local.h"
#include "model/model.h"
#include "gguf/gguf.h"
#include "router/fetch.h"
#include "core/grow.h"
#include "core/util.h"

#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char tl_err[512];

int rt_fail(int rc, const char *msg)
{
    snprintf(tl_err, sizeof tl_err, "%s", msg);
    return rc;
}

const char *llmr_router_errmsg(const llmr_router *r) { return tl_err; }

/* ---- open / close ----------------------------------------------------------------------- */

static int add_entry(llmr_router *r, rt_model_cfg *m, bool from_api)
{
    if (!LLMR_GROW(r->models, r->cap_models, r->n_models + 1))
        return LLMR_ERR_NOMEM;
    rt_entry *e = calloc(1, sizeof *e);
    if (!e)
        return LLMR_ERR_NOMEM;
    e->cfg = *m;                          /* moves the strings */
    memset(m, 0, sizeof *m);
    e->last_used = llmri_now();
    e->from_api = from_api;
    r->models[r->n_models++] = e;
    return LLMR_OK;
}

static int router_init(llmr_router *r, llmr_err *err)
{
    rt_cache_init(&r->cache, r->cfg.cache.max_entries, r->cfg.cache.max_bytes,
                  r->cfg.cache.ttl_s);
    r->rng = r->cfg.seed;
    for (size_t i = 0; i < r->cfg.n_models; i++)
        if (add_entry(r, &r->cfg.models[i], false))
            return llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory");
    free(r->cfg.models);
    r->cfg.models = NULL;
    r->cfg.n_models = 0;
    if (rt_reaper_start(r))
        return llmri_err_set(err, LLMR_ERR_NOMEM, "cannot start the router's thread");
    for (size_t i = 0; i < r->n_models; i++) {
        rt_entry *e = r->models[i];
        if (!e->cfg.preload || e->cfg.backend >= 0)
            continue;
        pthread_mutex_lock(&r->mu);
        int rc = rt_acquire(r, e, err);
        if (rc == LLMR_OK)
            rt_release(r, e, 0, 0);
        pthread_mutex_unlock(&r->mu);
        if (rc)
            return rc;
    }
    return LLMR_OK;
}

static llmr_router *router_new(const char *name)
{
    llmr_router *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    pthread_mutex_init(&r->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    snprintf(r->name, sizeof r->name, "%s", name ? name : "config");
    rt_cache_init(&r->cache, 0, 0, 0);
    return r;
}

static int open_common(llmr_router *r, int rc, llmr_err *err)
{
    if (rc == LLMR_OK) {
        rt_cache_free(&r->cache);
        rc = router_init(r, err);
    }
    return rt_fail(rc, rc ? err->msg : "");
}

int llmr_router_open_json(const char *json, const char *name, llmr_router **out)
{
    llmr_err err;
    llmri_err_clear(&err);
    if (!out || !json)
        return rt_fail(LLMR_ERR_ARG, "llmr_router_open_json: NULL argument");
    llmr_router *r = *out = router_new(name);
    if (!r)
        return rt_fail(LLMR_ERR_NOMEM, "out of memory");
    int rc = rt_config_parse(json, strlen(json), r->name, &r->cfg, &err);
    return open_common(r, rc, &err);
}

int llmr_router_open(const char *path, llmr_router **out)
{
    llmr_err err;
    llmri_err_clear(&err);
    if (!out || !path)
        return rt_fail(LLMR_ERR_ARG, "llmr_router_open: NULL argument");
    llmr_router *r = *out = router_new(path);
    if (!r)
        return rt_fail(LLMR_ERR_NOMEM, "out of memory");
    int rc = rt_config_load(path, &r->cfg, &err);
    return open_common(r, rc, &err);
}

void llmr_router_close(llmr_router *r)
{
    if (!r)
        return;
    rt_reaper_stop(r);
    for (size_t i = 0; i < r->n_models; i++) {
        rt_close_model(r, r->models[i]);
        rt_model_cfg_free(&r->models[i]->cfg);
        free(r->models[i]);
    }
    free(r->models);
    while (r->removed) {
        rt_entry *e = r->removed;
        r->removed = e->next_removed;
        rt_model_cfg_free(&e->cfg);
        free(e);
    }
    rt_config_free(&r->cfg);
    rt_cache_free(&r->cache);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

/* ---- load / unload / add / remove ------------------------------------------------------- */

static int not_found(llmr_router *r, const char *id)
{
    char known[400] = "";
    size_t at = 0;
    for (size_t i = 0; i < r->n_models && at < sizeof known; i++)
        at += (size_t)snprintf(known + at, sizeof known - at, "%s%s", i ? ", " : "",
                               r->models[i]->cfg.id);
    char msg[512];
    snprintf(msg, sizeof msg, "no model '%s' in the router (known: %s)", id, known);
    return rt_fail(LLMR_ERR_NOT_FOUND, msg);
}

int llmr_router_load(llmr_router *r, const char *id)
{
    llmr_err err;
    llmri_err_clear(&err);
    pthread_mutex_lock(&r->mu);
    rt_entry *e = rt_find(r, id);
    int rc;
    if (!e) {
        rc = not_found(r, id);
    } else if ((rc = rt_acquire(r, e, &err)) == LLMR_OK) {
        rt_release(r, e, 0, 0);
        rt_fail(LLMR_OK, "");
    } else {
        rt_note_failure(r, e, rc, err.msg);
        rt_fail(rc, err.msg);
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int llmr_router_unload(llmr_router *r, const char *id)
{
    llmr_err err;
    pthread_mutex_lock(&r->mu);
    rt_entry *e = rt_find(r, id);
    int rc = !e ? not_found(r, id) : rt_unload(r, e, &err);
    if (e)
        rt_fail(rc, rc ? err.msg : "");
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int llmr_router_add_model(llmr_router *r, const char *json)
{
    return rt_add_model(r, json, false);
}

int rt_add_model(llmr_router *r, const char *json, bool from_api)
{
    llmr_err err;
    rt_model_cfg m;
    pthread_mutex_lock(&r->mu);
    /* the parser checks ids against cfg.models: give it the live list's view */
    rt_model_cfg *view = calloc(r->n_models + 1, sizeof *view);
    int rc = view ? LLMR_OK : LLMR_ERR_NOMEM;
    if (view) {
        for (size_t i = 0; i < r->n_models; i++)
            view[i] = r->models[i]->cfg;      /* shallow: borrowed for the check */
        r->cfg.models = view;
        r->cfg.n_models = r->n_models;
        rc = rt_config_parse_model(&r->cfg, json, strlen(json), &m, &err);
        r->cfg.models = NULL;
        r->cfg.n_models = 0;
        free(view);
        if (rc == LLMR_OK && (rc = add_entry(r, &m, from_api)))
            rt_model_cfg_free(&m);
    }
    rt_fail(rc, rc ? (rc == LLMR_ERR_NOMEM ? "out of memory" : err.msg) : "");
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int llmr_router_remove_model(llmr_router *r, const char *id)
{
    pthread_mutex_lock(&r->mu);
    rt_entry *e = rt_find(r, id);
    int rc;
    if (!e) {
        rc = not_found(r, id);
    } else if (e->active || e->loading) {
        char msg[300];
        snprintf(msg, sizeof msg, "model '%s' is in use by %d streams", e->cfg.id, e->active);
        rc = rt_fail(LLMR_ERR_BUSY, msg);
    } else {
        if (e->model) {
            rt_close_model(r, e);
            r->mem_used_mb -= e->mem_mb;
        }
        size_t i = 0;
        while (r->models[i] != e)
            i++;
        memmove(&r->models[i], &r->models[i + 1], (r->n_models - i - 1) * sizeof *r->models);
        r->n_models--;
        /* a request ranked before the removal may still hold e as a later candidate: keep
         * the entry (marked) until close, so that pointer stays valid */
        e->model = NULL;
        e->mem_mb = 0;
        e->removed = true;
        e->next_removed = r->removed;
        r->removed = e;
        rc = rt_fail(LLMR_OK, "");
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

/* ---- ranking ---------------------------------------------------------------------------- */

llmr_route_opts llmr_route_defaults(void)
{
    llmr_route_opts o;
    memset(&o, 0, sizeof o);
    return o;
}

/* Tokens a prompt may take: about 4 bytes per token in English text; bytes/3 errs on the
 * side of a bigger context, so a model that is picked does not run out. */
static uint32_t estimate_tokens(const char *prompt)
{
    size_t n = strlen(prompt) / 3 + 1;
    return n > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)n;
}

typedef struct plan {
    rt_strategy strategy;
    rt_need     need;
    uint32_t    prompt_tokens;
    rt_cand     cands[RT_MAX_CAND];
    rt_rank     ranks[RT_MAX_CAND];
    size_t      n, n_eligible;
    rt_entry   *pinned;           /* route->model */
} plan;

/* Ranks the models for a request (mu held). */
static int make_plan(llmr_router *r, const char *prompt, const llmr_route_opts *ro,
                     const llmr_gen_opts *o, plan *p)
{
    memset(p, 0, sizeof *p);
    p->strategy = r->cfg.strategy;
    if (ro->strategy && !rt_strategy_parse(ro->strategy, &p->strategy)) {
        char msg[400];
        snprintf(msg, sizeof msg, "strategy '%s': expected one of %s", ro->strategy,
                 rt_strategy_list());
        return rt_fail(LLMR_ERR_ARG, msg);
    }
    if (ro->model && !(p->pinned = rt_find(r, ro->model)))
        return not_found(r, ro->model);
    p->prompt_tokens = estimate_tokens(prompt);
    p->need.context = ro->min_context ? ro->min_context
                                      : p->prompt_tokens + (uint32_t)(o->max_tokens > 0 ?
                                                                      o->max_tokens : 0);
    p->need.chat = ro->chat;
    p->need.json = ro->json || o->sampling.json_object;
    p->need.local = o->logprobs;
    double now = llmri_now();
    p->n = r->n_models < RT_MAX_CAND ? r->n_models : RT_MAX_CAND;
    for (size_t i = 0; i < p->n; i++) {
        const rt_entry *e = r->models[i];
        rt_cand *c = &p->cands[i];
        c->id = e->cfg.id;
        c->quality = e->cfg.quality;
        c->cost = e->cfg.cost;
        c->measured = e->measured_tps > 0;
        c->speed = c->measured ? e->measured_tps : e->cfg.speed;
        c->context = e->cfg.context;
        c->chat = e->cfg.chat;
        c->json = e->cfg.json;
        c->active = e->active;
        c->remote = e->cfg.backend >= 0;
        c->loaded = c->remote || e->model;
        c->healthy = !rt_cooling(r, e, now, &c->cooldown_left_s);
    }
    p->n_eligible = rt_rank_models(p->strategy, &r->cfg.weights, p->cands, p->n, &p->need,
                                   &r->rr_turn, &r->rng, p->ranks);
    return LLMR_OK;
}

/* The candidate entries in the order they are tried (mu held). */
static size_t candidates(llmr_router *r, const plan *p, const llmr_route_opts *ro,
                         rt_entry **out)
{
    size_t n = 0;
    if (p->pinned)
        out[n++] = p->pinned;
    if (p->pinned && ro->strict)
        return n;
    for (size_t i = 0; i < p->n_eligible; i++) {
        rt_entry *e = r->models[p->ranks[i].idx];
        if (e != p->pinned)
            out[n++] = e;
    }
    return n;
}

/* Says why no model can serve the request (mu held). */
static int none_eligible(const plan *p)
{
    char msg[512];
    size_t at = (size_t)snprintf(msg, sizeof msg, "no model can serve this request "
                                 "(needs context %u%s%s):", p->need.context,
                                 p->need.chat ? ", chat" : "", p->need.json ? ", JSON mode" : "");
    for (size_t i = 0; i < p->n && at < sizeof msg; i++)
        at += (size_t)snprintf(msg + at, sizeof msg - at, " %s: %s;",
                               p->cands[p->ranks[i].idx].id, p->ranks[i].why + 10);
    return rt_fail(LLMR_ERR_NOT_FOUND, msg);
}

int rt_plan_locked(llmr_router *r, const char *prompt, const llmr_route_opts *ro,
                   const llmr_gen_opts *o, rt_entry **out, size_t *n)
{
    *n = 0;
    plan *p = malloc(sizeof *p);
    if (!p)
        return rt_fail(LLMR_ERR_NOMEM, "out of memory");
    int rc = make_plan(r, prompt, ro, o, p);
    if (rc == LLMR_OK) {
        *n = candidates(r, p, ro, out);
        rc = *n ? rt_fail(LLMR_OK, "") : none_eligible(p);
    }
    free(p);
    return rc;
}

int rt_route(llmr_router *r, const char *prompt, const llmr_route_opts *ro,
             const llmr_gen_opts *o, rt_entry **out, size_t max, size_t *n)
{
    *n = 0;
    rt_entry **all = calloc(RT_MAX_CAND + 1, sizeof *all);
    if (!all)
        return rt_fail(LLMR_ERR_NOMEM, "out of memory");
    size_t k = 0;
    pthread_mutex_lock(&r->mu);
    int rc = rt_plan_locked(r, prompt, ro, o, all, &k);
    pthread_mutex_unlock(&r->mu);
    if (rc == LLMR_ERR_NOT_FOUND && k == 0 && !ro->model)
        rc = LLMR_OK;   /* nothing eligible: an empty list (the errmsg says why), as documented */
    for (size_t i = 0; i < k && i < max; i++)
        out[(*n)++] = all[i];
    free(all);
    return rc;
}

static void explain_text(llmr_router *r, const plan *p, char *buf, size_t n)
{
    size_t at = 0;
#define OUT(...) (at += (at < n ? (size_t)snprintf(buf + at, n - at, __VA_ARGS__) : 0))
    OUT("strategy: %s", rt_strategy_name(p->strategy));
    if (p->strategy == RT_BALANCED)
        OUT(" (weights: quality %.2f, cost %.2f, speed %.2f, load %.2f)",
            r->cfg.weights.quality, r->cfg.weights.cost, r->cfg.weights.speed,
            r->cfg.weights.load);
    OUT("\nrequest: ~%u prompt tokens (estimated as bytes/3), needs context %u%s%s\n",
        p->prompt_tokens, p->need.context, p->need.chat ? ", chat" : "",
        p->need.json ? ", JSON mode" : "");
    if (p->pinned)
        OUT("model asked for: %s (tried first)\n", p->pinned->cfg.id);
    for (size_t i = 0; i < p->n; i++) {
        const rt_rank *k = &p->ranks[i];
        const rt_cand *c = &p->cands[k->idx];
        if (k->eligible)
            OUT("%2zu. %-24s score %9.4f  %s%s\n", i + 1, c->id, k->score, k->why,
                c->remote ? " [remote]" : c->loaded ? " [loaded]" : "");
        else
            OUT(" -  %-24s %s\n", c->id, k->why);
    }
    if (p->n_eligible == 0)
        OUT("no model can serve this request\n");
#undef OUT
}

int llmr_router_explain(llmr_router *r, const char *prompt, const llmr_route_opts *ro,
                        const llmr_gen_opts *o, char **text)
{
    llmr_route_opts dro = llmr_route_defaults();
    llmr_gen_opts dgo = llmr_gen_defaults();
    *text = NULL;
    plan *p = malloc(sizeof *p);
    char *buf = malloc(16384);
    if (!p || !buf) {
        free(p);
        free(buf);
        return rt_fail(LLMR_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_lock(&r->mu);
    uint64_t turn = r->rr_turn, rng = r->rng;
    int rc = make_plan(r, prompt, ro ? ro : &dro, o ? o : &dgo, p);
    r->rr_turn = turn;             /* explaining does not take round-robin's turn */
    r->rng = rng;
    if (rc == LLMR_OK)
        explain_text(r, p, buf, 16384);
    pthread_mutex_unlock(&r->mu);
    free(p);
    if (rc) {
        free(buf);
        return rc;
    }
    *text = buf;
    return rt_fail(LLMR_OK, "");
}

/* ---- status ----------------------------------------------------------------------------- */

bool llmr_router_model_id(llmr_router *r, const char *name, char *id, size_t n, bool *loaded)
{
    if (!r || !name || !id || !n)
        return false;
    pthread_mutex_lock(&r->mu);
    const rt_entry *e = rt_find(r, name);
    if (e) {
        snprintf(id, n, "%s", e->cfg.id);
        if (loaded)
            *loaded = e->cfg.backend >= 0 || e->model;
    }
    pthread_mutex_unlock(&r->mu);
    return e != NULL;
}

/* The local model a request without a name means: the only one (mu held). */
static rt_entry *only_local(llmr_router *r)
{
    rt_entry *one = NULL;
    for (size_t i = 0; i < r->n_models; i++)
        if (r->models[i]->cfg.backend < 0 && !r->models[i]->removed) {
            if (one)
                return NULL;
            one = r->models[i];
        }
    return one;
}

int llmr_router_embed(llmr_router *r, const char *name, const llmr_embed_input *inputs,
                      size_t n, const llmr_embed_opts *opts, llmr_embeddings **out, char *id,
                      size_t id_len)
{
    *out = NULL;
    if (id && id_len)
        id[0] = 0;
    if (!r)
        return rt_fail(LLMR_ERR_ARG, "llmr_router_embed: NULL router");
    bool unnamed = !name || !name[0] || !strcmp(name, "auto");
    llmr_err err = {0};
    pthread_mutex_lock(&r->mu);
    rt_entry *e = unnamed ? only_local(r) : rt_find(r, name);
    int rc = !e || e->removed
                 ? llmri_err_set(&err, LLMR_ERR_NOT_FOUND,
                                unnamed ? "embeddings need a \"model\": the id of a local model"
                                        : "the model '%.200s' does not exist", name)
             : e->cfg.backend >= 0
                 ? llmri_err_set(&err, LLMR_ERR_UNSUPPORTED, "the model '%s' is remote; "
                                "embeddings are computed by local models only", e->cfg.id)
                 : rt_acquire(r, e, &err);
    llmr_model *m = rc ? NULL : e->model;
    if (!rc && id && id_len)
        snprintf(id, id_len, "%s", e->cfg.id);
    pthread_mutex_unlock(&r->mu);
    if (rc)
        return rt_fail(rc, err.msg);
    double t0 = llmri_now();
    rc = llmr_embed(m, inputs, n, opts, out);
    pthread_mutex_lock(&r->mu);
    rt_release(r, e, 0, llmri_now() - t0);
    pthread_mutex_unlock(&r->mu);
    return rt_fail(rc, rc && *out ? llmr_embeddings_errmsg(*out) : "");
}

int llmr_router_set_model_defaults(llmr_router *r, const llmr_model_opts *o)
{
    if (!r || !o)
        return rt_fail(LLMR_ERR_ARG, "llmr_router_set_model_defaults: NULL argument");
    if (o->n_threads < 0 || o->n_threads > 1024 || o->n_ctx < 0 || o->n_parallel < 0 ||
        o->n_parallel > 64 || o->max_queued < -1)
        return rt_fail(LLMR_ERR_ARG, "llmr_router_set_model_defaults: a value is out of range "
                       "(n_threads 0..1024, n_ctx >= 0, n_parallel 0..64, max_queued >= -1)");
    pthread_mutex_lock(&r->mu);
    r->model_defaults = *o;
    r->defaults_set = true;
    /* a model loaded before (a preload) is loaded again: its thread pool and batching are
     * sized when it opens */
    for (size_t i = 0; i < r->n_models; i++) {
        rt_entry *e = r->models[i];
        if (e->cfg.backend >= 0 || !e->model || e->active || e->loading)
            continue;
        llmr_err err = {0};
        int rc = rt_unload(r, e, &err);
        if (rc == LLMR_OK && (rc = rt_acquire(r, e, &err)) == LLMR_OK)
            rt_release(r, e, 0, 0);
        if (rc)
            fprintf(stderr, "llmr: warning: model %s: loading again with new options: %s\n",
                    e->cfg.id, err.msg);
    }
    pthread_mutex_unlock(&r->mu);
    return rt_fail(LLMR_OK, "");
}

void llmr_router_batch_stats(llmr_router *r, llmr_batch_stats *st)
{
    memset(st, 0, sizeof *st);
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n_models; i++) {
        rt_entry *e = r->models[i];
        if (e->cfg.backend >= 0 || !e->model)
            continue;
        llmr_batch_stats one;
        llmri_local_stats(e->model, &one);
        st->n_slots += one.n_slots;
        st->active += one.active;
        st->queued += one.queued;
        st->tokens_in += one.tokens_in;
        st->tokens_out += one.tokens_out;
        st->steps += one.steps;
        st->rows += one.rows;
        st->decode_s += one.decode_s;
    }
    pthread_mutex_unlock(&r->mu);
}

int llmr_router_status_json(llmr_router *r, char **json)
{
    *json = NULL;
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "models");
    pthread_mutex_lock(&r->mu);
    double now = llmri_now();
    cJSON_AddStringToObject(root, "strategy", rt_strategy_name(r->cfg.strategy));
    cJSON_AddNumberToObject(root, "memory_budget_mb", r->cfg.memory_budget_mb);
    cJSON_AddNumberToObject(root, "memory_used_mb", r->mem_used_mb);
    cJSON_AddNumberToObject(root, "cache_hits", (double)r->cache.hits);
    cJSON_AddNumberToObject(root, "cache_misses", (double)r->cache.misses);
    for (size_t i = 0; i < r->n_models; i++) {
        const rt_entry *e = r->models[i];
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "id", e->cfg.id);
        cJSON *al = cJSON_AddArrayToObject(m, "aliases");
        for (size_t k = 0; k < e->cfg.n_aliases; k++)
            cJSON_AddItemToArray(al, cJSON_CreateString(e->cfg.aliases[k]));
        bool remote = e->cfg.backend >= 0;
        cJSON_AddStringToObject(m, "type", remote ? "remote" : "local");
        if (remote)
            cJSON_AddStringToObject(m, "backend", r->cfg.backends[e->cfg.backend].url);
        else
            cJSON_AddStringToObject(m, "source", e->cfg.source);
        cJSON_AddNumberToObject(m, "quality", e->cfg.quality);
        cJSON_AddNumberToObject(m, "cost", e->cfg.cost);
        cJSON_AddNumberToObject(m, "speed", e->cfg.speed);
        cJSON_AddNumberToObject(m, "measured_tps", e->measured_tps);
        cJSON_AddNumberToObject(m, "context", e->cfg.context);
        cJSON_AddBoolToObject(m, "chat", e->cfg.chat);
        cJSON_AddBoolToObject(m, "json", e->cfg.json);
        cJSON_AddBoolToObject(m, "loaded", remote || e->model);
        cJSON_AddNumberToObject(m, "size_mb", e->model ? e->mem_mb : e->cfg.size_mb);
        cJSON_AddNumberToObject(m, "keep_alive_s", rt_keep_alive(r, e));
        cJSON_AddNumberToObject(m, "active", e->active);
        cJSON_AddNumberToObject(m, "served", (double)e->served);
        cJSON_AddNumberToObject(m, "failures", (double)e->failures);
        double left;
        bool cooling = rt_cooling(r, e, now, &left);
        cJSON_AddStringToObject(m, "state", remote ? (cooling ? "cooldown" : "available")
                                            : e->loading ? "loading"
                                            : e->model   ? "loaded" : "unloaded");
        double ka = rt_keep_alive(r, e);
        if (!remote && e->model && ka >= 0) {
            /* when keep_alive unloads it if it stays idle (ollama's expires_at) */
            double in = ka - (now - e->last_used);
            cJSON_AddNumberToObject(m, "expires_in_s", in > 0 && !e->active ? in : 0);
        }
        char file[4096];
        if (!remote && !llmri_source_file(e->cfg.source, NULL, file, sizeof file, NULL))
            cJSON_AddStringToObject(m, "file", file);
        if (!remote && e->model)
            rt_gguf_details(m, llmri_model_gguf(e->model));
        cJSON_AddBoolToObject(m, "healthy", !cooling);
        if (cooling)
            cJSON_AddNumberToObject(m, "cooldown_left_s", left);
        if (e->last_error[0])
            cJSON_AddStringToObject(m, "last_error", e->last_error);
        cJSON_AddItemToArray(arr, m);
    }
    pthread_mutex_unlock(&r->mu);
    *json = cJSON_Print(root);
    cJSON_Delete(root);
    return *json ? rt_fail(LLMR_OK, "") : rt_fail(LLMR_ERR_NOMEM, "out of memory");
}
