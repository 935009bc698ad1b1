/* registry.h - the router's internal state: the models it knows, loaded or not, with their
 * health, and the requests in flight. Shared by router.c (public API, requests) and
 * registry.c (loading, eviction, keep-alive, health). */
#ifndef LLMR_ROUTER_REGISTRY_H
#define LLMR_ROUTER_REGISTRY_H

#include "router/cache.h"
#include "router/config.h"
#include "router/remote.h"
#include "router/strategy.h"
#include "stream/source.h"

#include <pthread.h>

typedef struct rt_entry {
    rt_model_cfg cfg;              /* owned; fixed after add */
    /* ---- guarded by the router's mu ---- */
    llmr_model *model;             /* a loaded local model, else NULL */
    double      mem_mb;            /* what it counts against the budget while loaded */
    bool        loading;           /* a thread is loading it (others wait on cv) */
    int         active;            /* streams running on it */
    double      last_used;         /* llmri_now() when a stream on it last ended or began */
    unsigned long long served, failures;
    int         consecutive_failures;
    double      cooldown_until;    /* sits out until then */
    bool        needs_probe;       /* a remote that failed: back only after a health check */
    double      last_probe;
    double      measured_tps;      /* exponentially weighted, 0 until measured */
    char        last_error[256];
    bool        from_api;          /* added by a remote client (rt_add_model): every load
                                      checks its source against the config's model_dirs and
                                      downloads rules; fixed after add */
    bool        removed;           /* taken out by llmr_router_remove_model */
    struct rt_entry *next_removed; /* kept in r->removed until close */
} rt_entry;

typedef struct rt_req rt_req;

struct llmr_router {
    pthread_mutex_t mu;
    pthread_cond_t  cv;            /* a load finished, or the reaper should wake */
    rt_config       cfg;           /* models[] here are moved into entries; backends stay */
    rt_entry      **models;        /* guarded by mu (the array; entries are never freed while
                                      the router is open, only marked by removal) */
    size_t          n_models, cap_models;
    double          mem_used_mb;   /* loaded + reserved for loads in progress */
    uint64_t        rr_turn, rng;
    rt_cache        cache;
    rt_req         *reqs;          /* requests in flight, for llmr_router_stream_model */
    rt_entry       *removed;       /* entries removed at run time, freed at close */
    pthread_t       reaper;
    bool            reaper_started, quit;
    char            name[256];
    unsigned long long dl_bytes;   /* bytes of from_api downloads, received or reserved for
                                      one in progress (downloads.total_mb); guarded by mu */
    llmr_model_opts model_defaults;   /* options of the local models loaded from now on
                                         (llmr_router_set_model_defaults; a server's -t,
                                         --ctx-size, --parallel, --queue) */
    bool            defaults_set;
};

/* llmr_router_add_model, with from_api: the model comes from a remote client, so its source
 * is held to the config's model_dirs and downloads rules whenever it loads (the caller checks
 * them before adding too, to answer with a clear refusal). */
int rt_add_model(llmr_router *r, const char *json, bool from_api);

/* The router's model close, as every unload path does it (mu held): close, forget, log. */
void rt_close_model(llmr_router *r, rt_entry *e);

/* Most candidates a request considers. */
#define RT_MAX_CAND 64

/* Sets the thread's router error message (llmr_router_errmsg) and returns rc. */
int rt_fail(int rc, const char *msg);

/* Ranks the models for a request and writes the ones to try, in order, to out (room for
 * RT_MAX_CAND), with mu held. LLMR_ERR_NOT_FOUND when none can serve it (or ro->model names
 * no model), with the reasons in the error message; LLMR_ERR_ARG for an unknown strategy. */
int rt_plan_locked(llmr_router *r, const char *prompt, const llmr_route_opts *ro,
                   const llmr_gen_opts *o, rt_entry **out, size_t *n);

/* Ranks the models for a request and writes the entries to try, in order, to out (at most
 * max): the asked-for model first (ro->model), then the eligible ones by strategy (none after
 * it when ro->strict). Takes mu. LLMR_OK (n may be 0: nothing eligible, the message in
 * llmr_router_errmsg says why each was excluded), LLMR_ERR_NOT_FOUND (ro->model unknown) or
 * LLMR_ERR_ARG (unknown strategy), with the message in llmr_router_errmsg. */
int rt_route(llmr_router *r, const char *prompt, const llmr_route_opts *ro,
             const llmr_gen_opts *o, rt_entry **out, size_t max, size_t *n);

/* The remote request settings of a remote entry (e->cfg.backend >= 0): its backend's URL, key
 * variable and timeouts, its remote model name and API. The strings belong to the router's
 * config (they live as long as the router). */
llmr_remote_cfg rt_remote_cfg(const llmr_router *r, const rt_entry *e);

/* Finds an entry by id or alias (mu held); NULL when none. */
rt_entry *rt_find(llmr_router *r, const char *name);

/* Makes e usable by one more stream (mu held; may drop and retake it to download or load):
 * loads a local model when needed, evicting idle ones to fit the budget. On LLMR_OK the
 * caller holds one `active` count on e and must rt_release() it. */
int rt_acquire(llmr_router *r, rt_entry *e, llmr_err *err);

/* Gives back an rt_acquire (mu held): updates use time and, for a finished stream, speed. */
void rt_release(llmr_router *r, rt_entry *e, uint32_t tokens, double gen_s);

/* Unloads e if loaded and idle (mu held). LLMR_ERR_BUSY while streams run on it. */
int rt_unload(llmr_router *r, rt_entry *e, llmr_err *err);

/* Records a failure of e with rc (mu held): counts it and, for failures that are not the
 * request's fault, starts a cooldown. */
void rt_note_failure(llmr_router *r, rt_entry *e, int rc, const char *msg);
void rt_note_success(llmr_router *r, rt_entry *e);

/* Whether e is out of rotation now (mu held), and for how long. */
bool rt_cooling(const llmr_router *r, const rt_entry *e, double now, double *left);

/* The reaper thread: keep-alive unloading and health checks. */
int  rt_reaper_start(llmr_router *r);
void rt_reaper_stop(llmr_router *r);

/* The effective keep-alive of e in seconds (< 0: never unload). */
double rt_keep_alive(const llmr_router *r, const rt_entry *e);

#endif
