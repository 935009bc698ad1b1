/* config.h - the router's configuration: one JSON document describing models, backends,
 * the strategy, budgets, retries and the result cache (see docs in llmr.h, "Router").
 *
 * Parsing is strict: an unknown key, a wrong type or a value out of range is an error that
 * names the key by its path ("models[2].context") and says what was expected, because a typo
 * in a config file should fail loudly, not be ignored. */
#ifndef LLMR_ROUTER_CONFIG_H
#define LLMR_ROUTER_CONFIG_H

#include "core/error.h"
#include "router/strategy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RT_MAX_ALIASES 16

typedef struct rt_backend_cfg {
    char  *name;
    char  *url;
    char  *api_key_env;          /* NULL: none */
    long   connect_timeout_ms;   /* default 5000 */
    long   idle_timeout_ms;      /* default 30000 */
} rt_backend_cfg;

typedef struct rt_model_cfg {
    char    *id;
    char    *aliases[RT_MAX_ALIASES];
    size_t   n_aliases;
    char    *source;             /* local: a path, URL or hf: reference (NULL for remote) */
    char    *sha256;             /* for a downloaded source (NULL: not checked) */
    int      backend;            /* index in backends, or -1 for a local model */
    char    *remote_model;       /* the "model" sent to the backend (default: the id) */
    bool     remote_chat;        /* api "chat" (default) or "completions" */
    double   quality;            /* declared, 0..1 (default 0.5) */
    double   cost;               /* declared cost per 1k tokens, >= 0 (default 0) */
    double   speed;              /* declared tokens/s, >= 0 (default 0: unknown) */
    uint32_t context;            /* context window in tokens (default 2048) */
    bool     chat, json;         /* capabilities (default true for both) */
    double   size_mb;            /* memory it needs; 0: the file size at load */
    double   keep_alive_s;       /* idle time before unloading; < 0: never (default: the
                                    router's keep_alive_s) */
    bool     preload;            /* load at router open (default false: on first use) */
    int      n_threads, n_ctx;   /* llmr_model_opts for local models (0: automatic) */
} rt_model_cfg;

typedef struct rt_cache_cfg {
    bool     enabled;            /* default false */
    double   ttl_s;              /* default 600 */
    size_t   max_entries;        /* default 256 */
    size_t   max_bytes;          /* default 16 MiB */
    bool     allow_sampling;     /* also cache requests with temperature > 0 (default false) */
} rt_cache_cfg;

/* What a remote client may make the server download (POST /api/models/load with a URL or
 * hf: reference). Models named in the config are trusted and not bound by this. */
typedef struct rt_download_cfg {
    bool     allow;              /* default false: loading by URL through the API is off */
    char   **hosts;              /* host names or IP addresses (lower case) a download and each
                                    of its redirects may go to; a name also allows its
                                    subdomains. A loopback, private or link-local address is
                                    connected to only when that address itself is listed. */
    size_t   n_hosts;
    double   max_mb;             /* bytes of one download, enforced while it streams (default
                                    65536 MiB) */
    double   total_mb;           /* bytes of every API download together (0: no bound) */
} rt_download_cfg;

typedef struct rt_config {
    rt_strategy     strategy;            /* default balanced */
    rt_weights      weights;
    double          memory_budget_mb;    /* 0: unlimited */
    double          keep_alive_s;        /* default 300; < 0: never unload */
    int             max_rounds;          /* passes over the candidates (default 2) */
    double          backoff_ms;          /* pause before the second pass (default 200) ... */
    double          backoff_max_ms;      /* ... doubling, at most this (default 5000) ... */
    double          jitter;              /* ... times a random factor in [1-jitter, 1] (0.5) */
    double          cooldown_s;          /* a failing model sits out this long (default 30) */
    int             failures_to_cooldown;/* consecutive failures that start a cooldown (1) */
    double          health_interval_s;   /* how often cooled-down backends are probed (2) */
    uint64_t        seed;                /* for random and jitter (default: from the clock) */
    rt_cache_cfg    cache;
    char          **model_dirs;          /* folders (realpath'd at parse) whose .gguf files a
                                            client may load by path; none: loading by path
                                            through the API is off */
    size_t          n_model_dirs;
    rt_download_cfg downloads;
    rt_backend_cfg *backends;
    size_t          n_backends;
    rt_model_cfg   *models;
    size_t          n_models;
} rt_config;

/* Parses a config from JSON text. `where` names it in messages (a file name). On error,
 * returns LLMR_ERR_FORMAT (not JSON: line and column), LLMR_ERR_ARG (a key with a wrong type,
 * an unknown key, a value out of range, a duplicate id, a backend that is not defined), with
 * the key's path in the message. *c is freed on error. */
int rt_config_parse(const char *json, size_t len, const char *where, rt_config *c,
                    llmr_err *err);

/* Parses one model object (as in "models": [...]) against the existing config, for models
 * added at run time. */
int rt_config_parse_model(rt_config *c, const char *json, size_t len, rt_model_cfg *m,
                          llmr_err *err);

/* Reads and parses a file. */
int rt_config_load(const char *path, rt_config *c, llmr_err *err);

void rt_config_free(rt_config *c);
void rt_model_cfg_free(rt_model_cfg *m);

#endif
