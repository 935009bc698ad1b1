/* cache.c - the result cache (see cache.h): a doubly linked LRU list; lookups are linear,
 * which is fine for the few hundred entries it holds next to the cost of a generation. */
#include "router/cache.h"
#include "core/digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rt_cache_entry {
    rt_cache_entry *prev, *next;
    char    key[65];
    char   *text;
    size_t  len;
    char   *model;
    double  created;
};

void rt_cache_init(rt_cache *c, size_t max_entries, size_t max_bytes, double ttl_s)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    c->max_entries = max_entries;
    c->max_bytes = max_bytes;
    c->ttl_s = ttl_s;
}

static void unlink_entry(rt_cache *c, rt_cache_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void push_front(rt_cache *c, rt_cache_entry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (!c->tail)
        c->tail = e;
}

static void drop(rt_cache *c, rt_cache_entry *e)
{
    unlink_entry(c, e);
    c->n--;
    c->bytes -= e->len;
    free(e->text);
    free(e->model);
    free(e);
}

void rt_cache_free(rt_cache *c)
{
    while (c->head)
        drop(c, c->head);
    pthread_mutex_destroy(&c->mu);
}

static void put_field(llmr_sha256 *h, const void *p, size_t n)
{
    uint64_t len = n;
    llmri_sha256_update(h, &len, sizeof len);
    if (n)
        llmri_sha256_update(h, p, n);
}

static void put_str(llmr_sha256 *h, const char *s)
{
    if (!s) {
        uint64_t none = UINT64_MAX;          /* NULL differs from "" */
        llmri_sha256_update(h, &none, sizeof none);
    } else {
        put_field(h, s, strlen(s));
    }
}

void rt_cache_key(const char *prompt, const char *route_part, const llmr_gen_opts *o,
                  char hex[65])
{
    llmr_sha256 h;
    llmri_sha256_init(&h);
    put_str(&h, "llmr-router-cache-v1");
    put_str(&h, prompt);
    put_str(&h, route_part);
    const llmr_sampling *s = &o->sampling;
    /* numbers go in as text: no padding bytes or float representation quirks in the digest */
    char nums[512];
    snprintf(nums, sizeof nums, "%d|%.9g|%d|%.9g|%.9g|%.9g|%.9g|%.9g|%.9g|%d|%d|%llu|%d%d%d%d|%d",
             o->max_tokens, s->temperature, s->top_k, s->top_p, s->min_p, s->typical_p,
             s->repeat_penalty, s->presence_penalty, s->frequency_penalty, s->penalty_last_n,
             s->min_keep, (unsigned long long)s->seed, o->add_bos, o->parse_special,
             o->ignore_eos, s->json_object, (int)s->n_logit_bias);
    put_str(&h, nums);
    for (size_t i = 0; i < s->n_logit_bias; i++) {
        snprintf(nums, sizeof nums, "%d:%.9g", s->logit_bias[i].token, s->logit_bias[i].bias);
        put_str(&h, nums);
    }
    put_str(&h, s->grammar);
    put_str(&h, s->json_schema);
    for (int i = 0; i < LLMR_MAX_STOP && o->stop[i]; i++)
        put_str(&h, o->stop[i]);
    uint8_t d[32];
    llmri_sha256_final(&h, d);
    llmri_sha256_hex(d, hex);
}

bool rt_cache_get(rt_cache *c, const char *key, double now, char **text, size_t *len,
                  char **model)
{
    bool found = false;
    pthread_mutex_lock(&c->mu);
    for (rt_cache_entry *e = c->head; e; e = e->next) {
        if (strcmp(e->key, key))
            continue;
        if (now - e->created > c->ttl_s) {
            drop(c, e);
            break;
        }
        *text = malloc(e->len + 1);
        *model = strdup(e->model);
        if (!*text || !*model) {
            free(*text);
            free(*model);
            break;
        }
        memcpy(*text, e->text, e->len);
        (*text)[e->len] = 0;
        *len = e->len;
        unlink_entry(c, e);
        push_front(c, e);
        found = true;
        break;
    }
    if (found)
        c->hits++;
    else
        c->misses++;
    pthread_mutex_unlock(&c->mu);
    return found;
}

void rt_cache_put(rt_cache *c, const char *key, const char *text, size_t len, const char *model,
                  double now)
{
    if (len > c->max_bytes || c->max_entries == 0)
        return;
    rt_cache_entry *e = calloc(1, sizeof *e);
    if (!e)
        return;
    e->text = malloc(len + 1);
    e->model = strdup(model ? model : "");
    if (!e->text || !e->model) {
        free(e->text);
        free(e->model);
        free(e);
        return;
    }
    memcpy(e->text, text, len);
    e->text[len] = 0;
    e->len = len;
    snprintf(e->key, sizeof e->key, "%s", key);
    e->created = now;
    pthread_mutex_lock(&c->mu);
    for (rt_cache_entry *o = c->head; o; o = o->next)
        if (!strcmp(o->key, key)) {
            drop(c, o);
            break;
        }
    while (c->tail && (c->n + 1 > c->max_entries || c->bytes + len > c->max_bytes))
        drop(c, c->tail);
    push_front(c, e);
    c->n++;
    c->bytes += len;
    pthread_mutex_unlock(&c->mu);
}
