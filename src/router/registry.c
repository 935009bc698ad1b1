/* registry.c - loading, memory budget with LRU eviction, keep-alive and health (see
 * registry.h). Slow work (downloads, model loads, health probes) runs with the router's lock
 * released; an entry being loaded is marked so that other threads wait for it instead of
 * loading it twice. */
#include "router/registry.h"
#include "stream/local.h"
#include "model/model.h"
#include "router/fetch.h"
#include "router/policy.h"
#include "router/remote.h"
#include "core/util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static rt_entry *find_exact(llmr_router *r, const char *name)
{
    for (size_t i = 0; i < r->n_models; i++) {
        rt_entry *e = r->models[i];
        if (!strcmp(e->cfg.id, name))
            return e;
        for (size_t k = 0; k < e->cfg.n_aliases; k++)
            if (!strcmp(e->cfg.aliases[k], name))
                return e;
    }
    return NULL;
}

rt_entry *rt_find(llmr_router *r, const char *name)
{
    rt_entry *e = find_exact(r, name);
    if (e)
        return e;
    /* ollama's clients write "NAME:latest", and people paste file names ("NAME.gguf") */
    char b[256];
    size_t n = strlen(name);
    if (n >= sizeof b)
        return NULL;
    memcpy(b, name, n + 1);
    if (n > 7 && !strcmp(b + n - 7, ":latest"))
        b[n - 7] = 0;
    else if (n > 5 && !strcmp(b + n - 5, ".gguf"))
        b[n - 5] = 0;
    else
        return NULL;
    return find_exact(r, b);
}

double rt_keep_alive(const llmr_router *r, const rt_entry *e)
{
    return isnan(e->cfg.keep_alive_s) ? r->cfg.keep_alive_s : e->cfg.keep_alive_s;
}

void rt_close_model(llmr_router *r, rt_entry *e)
{
    (void)r;
    if (!e->model)
        return;
    llmr_model_close(e->model);
    e->model = NULL;
    fprintf(stderr, "llmr: model %s unloaded\n", e->cfg.id);
}

static void do_unload(llmr_router *r, rt_entry *e)
{
    rt_close_model(r, e);
    e->model = NULL;
    r->mem_used_mb -= e->mem_mb;
    e->mem_mb = 0;
}

int rt_unload(llmr_router *r, rt_entry *e, llmr_err *err)
{
    if (e->active || e->loading)
        return llmri_err_set(err, LLMR_ERR_BUSY, "model '%s' is in use by %d stream%s",
                            e->cfg.id, e->active, e->active == 1 ? "" : "s");
    if (e->model)
        do_unload(r, e);
    return LLMR_OK;
}

/* Frees budget for need_mb by unloading idle models, least recently used first, and reserves
 * it for e. LLMR_ERR_BUSY naming the models in use when it cannot. */
static int make_room(llmr_router *r, rt_entry *e, double need_mb, llmr_err *err)
{
    double budget = r->cfg.memory_budget_mb;
    if (budget > 0 && need_mb > budget)
        return llmri_err_set(err, LLMR_ERR_TOO_BIG, "model '%s' needs %.1f MiB, more than the "
                            "whole memory budget (%.1f MiB)", e->cfg.id, need_mb, budget);
    while (budget > 0 && r->mem_used_mb + need_mb > budget + 1e-9) {
        rt_entry *lru = NULL;
        for (size_t i = 0; i < r->n_models; i++) {
            rt_entry *x = r->models[i];
            if (x != e && x->model && !x->active && !x->loading &&
                (!lru || x->last_used < lru->last_used))
                lru = x;
        }
        if (!lru) {
            char busy[300] = "";
            size_t at = 0;
            for (size_t i = 0; i < r->n_models && at < sizeof busy; i++)
                if (r->models[i]->mem_mb > 0 && r->models[i] != e)
                    at += (size_t)snprintf(busy + at, sizeof busy - at, "%s%s (%.1f MiB)",
                                           at ? ", " : "", r->models[i]->cfg.id,
                                           r->models[i]->mem_mb);
            return llmri_err_set(err, LLMR_ERR_BUSY, "memory budget %.1f MiB: model '%s' needs "
                                "%.1f MiB but %.1f MiB are held by models in use: %s", budget,
                                e->cfg.id, need_mb, r->mem_used_mb, busy);
        }
        do_unload(r, lru);
    }
    r->mem_used_mb += need_mb;
    e->mem_mb = need_mb;
    return LLMR_OK;
}

/* A from_api entry's source, held to the config's rules again at every load (a symlink in a
 * model folder may have changed since the model was added): a path must resolve inside
 * model_dirs (the real path goes to src); a download must be allowed, goes only to the listed
 * hosts and is bounded by downloads.max_mb and what is left of downloads.total_mb, which it
 * reserves in r->dl_bytes (*reserved) until it ends - unless the file is in the cache
 * already, when nothing will be fetched. mu held. */
static int api_source(llmr_router *r, rt_entry *e, llmr_fetch_opts *fo, char *src, size_t n,
                      unsigned long long *reserved, llmr_err *err)
{
    const rt_download_cfg *d = &r->cfg.downloads;
    llmr_src_kind k = llmri_source_kind(e->cfg.source);
    if (k != LLMR_SRC_URL && k != LLMR_SRC_HF)
        return llmri_path_confine(e->cfg.source, r->cfg.model_dirs, r->cfg.n_model_dirs, src, n,
                               err);
    if (!d->allow)
        return llmri_err_set(err, LLMR_ERR_ARG, "model '%s': downloads are off in this "
                            "server's config", e->cfg.id);
    unsigned long long max = (unsigned long long)(d->max_mb * 1048576.0);
    char file[4096];
    struct stat st;
    bool cached = llmri_source_file(e->cfg.source, NULL, file, sizeof file, NULL) == LLMR_OK &&
                  stat(file, &st) == 0;      /* downloaded before: nothing to count */
    if (d->total_mb > 0 && !cached) {
        unsigned long long total = (unsigned long long)(d->total_mb * 1048576.0);
        unsigned long long left = total > r->dl_bytes ? total - r->dl_bytes : 0;
        if (left == 0)
            return llmri_err_set(err, LLMR_ERR_TOO_BIG, "model '%s': this server's download "
                                "allowance is used up (downloads.total_mb: %g MiB)", e->cfg.id,
                                d->total_mb);
        max = left < max ? left : max;
    }
    fo->hosts = d->hosts;
    fo->n_hosts = d->n_hosts;
    fo->max_bytes = max;
    fo->drop_partial = true;
    r->dl_bytes += *reserved = cached ? 0 : max;
    snprintf(src, n, "%s", e->cfg.source);
    return LLMR_OK;
}

/* What a client hears when its download failed: connection details (refused, timed out,
 * HTTP 404, not a GGUF file) would let it probe which hosts and ports answer, so they go to
 * the server's log (control characters made visible, as the URL is the client's) and the
 * client gets one message. The limits say what they are: they tell nothing of the network. */
static int api_download_failed(const llmr_router *r, const rt_entry *e, int rc, llmr_err *err)
{
    char detail[sizeof err->msg];
    snprintf(detail, sizeof detail, "%s", err->msg);
    for (char *p = detail; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    fprintf(stderr, "llmr: model %s: download failed: %s\n", e->cfg.id, detail);
    const rt_download_cfg *d = &r->cfg.downloads;
    char total[80] = "";
    if (d->total_mb > 0)
        snprintf(total, sizeof total, ", downloads.total_mb: %g MiB together", d->total_mb);
    if (rc == LLMR_ERR_TOO_BIG)
        return llmri_err_set(err, rc, "model '%s': the file is larger than this server allows "
                            "(downloads.max_mb: %g MiB%s)", e->cfg.id, d->max_mb, total);
    if (rc == LLMR_ERR_BUSY)
        return llmri_err_set(err, rc, "model '%s': another download of this file is running",
                            e->cfg.id);
    return llmri_err_set(err, LLMR_ERR_NETWORK, "model '%s': download failed", e->cfg.id);
}

/* Downloads (if a URL) and loads e's model; mu is held on entry and exit, dropped inside. */
/* A model's batching as the defaults say, its slots no longer than it was trained for. */
static int configure_batching(llmr_model *m, const llmr_model_opts *mo, const char *id,
                              llmr_err *err)
{
    int n_ctx = mo->n_ctx ? mo->n_ctx : llmri_model_n_ctx(m);
    int train = llmri_model_hparams(m)->n_ctx_train;
    if (train > 0 && n_ctx > train)
        n_ctx = train;
    int rc = llmri_local_configure(m, mo->n_parallel ? mo->n_parallel : 4, n_ctx,
                                  mo->max_queued, err);
    if (rc)
        return llmri_err_set(err, rc, "model '%s': %.300s", id, err->msg);
    fprintf(stderr, "llmr: model %s ready: %d slots, each with its own KV cache of %d "
                    "positions; queue of %d\n", id, mo->n_parallel ? mo->n_parallel : 4, n_ctx,
            mo->max_queued > 0 ? mo->max_queued : 0);
    return LLMR_OK;
}

static int load_local(llmr_router *r, rt_entry *e, llmr_err *err)
{
    char path[4096], api_src[4096];
    llmr_fetch_opts fo = llmri_fetch_defaults();
    fo.sha256 = e->cfg.sha256;
    unsigned long long reserved = 0, received = 0;
    fo.received = &received;
    const char *src = e->cfg.source;
    llmr_src_kind kind = llmri_source_kind(src);
    bool client_download = e->from_api && (kind == LLMR_SRC_URL || kind == LLMR_SRC_HF);
    /* A client's download is tried once: the client may retry it, and the retries' backoff
     * would let it tell a closed port (seconds) from a host that answers (at once). */
    if (client_download)
        fo.max_attempts = 1;
    if (e->from_api) {
        int rc = api_source(r, e, &fo, api_src, sizeof api_src, &reserved, err);
        if (rc)
            return rc;
        src = api_src;
    }
    e->loading = true;
    pthread_mutex_unlock(&r->mu);
    int rc = llmri_fetch(src, &fo, path, sizeof path, err);
    if (rc && client_download)
        rc = api_download_failed(r, e, rc, err);
    double need = e->cfg.size_mb;
    if (rc == LLMR_OK && need <= 0) {
        struct stat st;
        need = stat(path, &st) == 0 ? (double)st.st_size / (1024.0 * 1024.0) : 0;
    }
    pthread_mutex_lock(&r->mu);
    r->dl_bytes = r->dl_bytes - reserved + received;   /* the reservation becomes the use */
    if (rc == LLMR_OK)
        rc = make_room(r, e, need, err);
    if (rc == LLMR_OK) {
        pthread_mutex_unlock(&r->mu);
        llmr_model_opts mo = r->defaults_set ? r->model_defaults : llmr_model_defaults();
        if (e->cfg.n_threads)
            mo.n_threads = e->cfg.n_threads;
        if (e->cfg.n_ctx > 0 && (mo.n_ctx == 0 || e->cfg.n_ctx < mo.n_ctx))
            mo.n_ctx = e->cfg.n_ctx;
        llmr_model *m = NULL;
        rc = llmr_model_open(path, &mo, &m);
        if (rc)
            llmri_err_set(err, rc, "model '%s': %s", e->cfg.id,
                         m ? llmr_model_errmsg(m) : "out of memory");
        if (rc == LLMR_OK && r->defaults_set)
            rc = configure_batching(m, &mo, e->cfg.id, err);
        if (rc) {
            llmr_model_close(m);
            m = NULL;
        }
        pthread_mutex_lock(&r->mu);
        if (m) {
            e->model = m;
        } else {
            r->mem_used_mb -= e->mem_mb;     /* give the reservation back */
            e->mem_mb = 0;
        }
    }
    e->loading = false;
    pthread_cond_broadcast(&r->cv);
    return rc;
}

llmr_remote_cfg rt_remote_cfg(const llmr_router *r, const rt_entry *e)
{
    llmr_remote_cfg c = llmri_remote_defaults();
    const rt_backend_cfg *b = &r->cfg.backends[e->cfg.backend];
    c.url = b->url;
    c.api_key_env = b->api_key_env;
    c.connect_timeout_ms = b->connect_timeout_ms;
    c.idle_timeout_ms = b->idle_timeout_ms;
    c.model = e->cfg.remote_model;
    c.chat = e->cfg.remote_chat;
    return c;
}

int rt_acquire(llmr_router *r, rt_entry *e, llmr_err *err)
{
    if (e->cfg.backend < 0) {
        while (e->loading)
            pthread_cond_wait(&r->cv, &r->mu);
        if (!e->model) {
            int rc = load_local(r, e, err);
            if (rc)
                return rc;
        }
    }
    e->active++;
    e->last_used = llmri_now();
    return LLMR_OK;
}

void rt_release(llmr_router *r, rt_entry *e, uint32_t tokens, double gen_s)
{
    if (e->active > 0)
        e->active--;
    e->last_used = llmri_now();
    if (tokens >= 4 && gen_s > 0) {
        /* an exponentially weighted mean, so one odd request does not swing the ranking */
        double tps = tokens / gen_s;
        e->measured_tps = e->measured_tps > 0 ? 0.7 * e->measured_tps + 0.3 * tps : tps;
    }
    if (e->model && !e->active && rt_keep_alive(r, e) == 0)
        do_unload(r, e);                 /* keep_alive 0: unload as soon as it is idle */
}

void rt_note_failure(llmr_router *r, rt_entry *e, int rc, const char *msg)
{
    e->failures++;
    snprintf(e->last_error, sizeof e->last_error, "%s", msg);
    /* a bad request, a cancel, a prompt too long or an unsupported option says nothing about
     * the model's health */
    if (rc == LLMR_ERR_ARG || rc == LLMR_ERR_CANCELLED || rc == LLMR_ERR_CONTEXT ||
        rc == LLMR_ERR_UNSUPPORTED)
        return;
    /* a local model runs one stream at a time: busy means in use, not broken */
    if (rc == LLMR_ERR_BUSY && e->cfg.backend < 0)
        return;
    if (++e->consecutive_failures >= r->cfg.failures_to_cooldown) {
        double now = llmri_now();
        e->cooldown_until = now + r->cfg.cooldown_s;
        e->needs_probe = e->cfg.backend >= 0;
        e->last_probe = now;
    }
}

void rt_note_success(llmr_router *r, rt_entry *e)
{
    e->consecutive_failures = 0;
    e->cooldown_until = 0;
    e->needs_probe = false;
    e->served++;
}

bool rt_cooling(const llmr_router *r, const rt_entry *e, double now, double *left)
{
    double l = e->cooldown_until - now;
    if (left)
        *left = l > 0 ? l : 0;
    return l > 0 || e->needs_probe;
}

/* ---- the reaper ------------------------------------------------------------------------- */

static void reap_idle(llmr_router *r, double now)
{
    for (size_t i = 0; i < r->n_models; i++) {
        rt_entry *e = r->models[i];
        double ka = rt_keep_alive(r, e);
        if (e->model && !e->active && !e->loading && ka >= 0 && now - e->last_used >= ka)
            do_unload(r, e);
    }
}

/* Probes one remote that waits for a health check, if any is due (drops mu to probe). */
static void probe_one(llmr_router *r, double now)
{
    for (size_t i = 0; i < r->n_models; i++) {
        rt_entry *e = r->models[i];
        if (!e->needs_probe || now < e->cooldown_until ||
            now - e->last_probe < r->cfg.health_interval_s)
            continue;
        e->last_probe = now;
        const rt_backend_cfg *b = &r->cfg.backends[e->cfg.backend];
        char url[2048];
        snprintf(url, sizeof url, "%s", b->url);
        long timeout = b->connect_timeout_ms < 2000 ? 2000 : b->connect_timeout_ms;
        pthread_mutex_unlock(&r->mu);
        llmr_err err;
        int rc = llmri_remote_health(url, timeout, &err);
        pthread_mutex_lock(&r->mu);
        if (rc == LLMR_OK) {
            e->needs_probe = false;
            e->consecutive_failures = 0;
        }
        return;                          /* the list may have changed meanwhile */
    }
}

static void *reaper_main(void *arg)
{
    llmr_router *r = arg;
    pthread_mutex_lock(&r->mu);
    while (!r->quit) {
        double now = llmri_now();
        reap_idle(r, now);
        probe_one(r, now);
        if (r->quit)
            break;
        /* wake every 100 ms: keep-alive and probe times are compared at that resolution */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&r->cv, &r->mu, &ts);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

int rt_reaper_start(llmr_router *r)
{
    if (pthread_create(&r->reaper, NULL, reaper_main, r) != 0)
        return LLMR_ERR_NOMEM;
    r->reaper_started = true;
    return LLMR_OK;
}

void rt_reaper_stop(llmr_router *r)
{
    if (!r->reaper_started)
        return;
    pthread_mutex_lock(&r->mu);
    r->quit = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->reaper, NULL);
    r->reaper_started = false;
}
