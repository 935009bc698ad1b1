/* cache.h - the router's result cache: whole completions keyed on a digest of the whole
 * prompt and every option that can change the text (never on a prefix of the prompt), with
 * a time-to-live, and bounds on entries and bytes enforced by evicting the least recently
 * used. Thread-safe (one mutex). */
#ifndef LLMR_ROUTER_CACHE_H
#define LLMR_ROUTER_CACHE_H

#include "llmr.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct rt_cache_entry rt_cache_entry;

typedef struct rt_cache {
    pthread_mutex_t mu;
    rt_cache_entry *head, *tail;     /* most recently used first */
    size_t n, bytes;
    size_t max_entries, max_bytes;
    double ttl_s;
    unsigned long long hits, misses;
} rt_cache;

void rt_cache_init(rt_cache *c, size_t max_entries, size_t max_bytes, double ttl_s);
void rt_cache_free(rt_cache *c);

/* The key of a request: SHA-256 over a canonical encoding of the prompt, the model or strategy
 * asked for, and every generation option that shapes the text (max_tokens, every sampling
 * field, stop sequences, grammar, schema, BOS and special-token handling). Each field is
 * length-prefixed, so no two different requests encode alike. */
void rt_cache_key(const char *prompt, const char *route_part, const llmr_gen_opts *o,
                  char hex[65]);

/* Copies the text and model id of a live entry into malloc'd strings; false when absent or
 * expired (an expired entry is dropped). */
bool rt_cache_get(rt_cache *c, const char *key, double now, char **text, size_t *len,
                  char **model);

/* Stores (or replaces) an entry; one larger than max_bytes is not stored. */
void rt_cache_put(rt_cache *c, const char *key, const char *text, size_t len, const char *model,
                  double now);

#endif
