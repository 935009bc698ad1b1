/* strmap.c - open-addressing string hash map with linear probing (see strmap.h). */
#include "core/strmap.h"

#include <stdlib.h>
#include <string.h>

struct llmr_strmap_slot {
    const char *key;   /* NULL = empty */
    size_t len;
    uint64_t hash;
    int64_t value;
};

uint64_t llmri_hash_bytes(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ull;
    }
    return h;
}

bool llmri_strmap_init(llmr_strmap *m, size_t n)
{
    size_t cap = 16;
    while (cap < n * 2 + 2) {
        if (cap > SIZE_MAX / 4)
            return false;
        cap *= 2;
    }
    m->slots = calloc(cap, sizeof *m->slots);
    m->cap = m->slots ? cap : 0;
    m->count = 0;
    return m->slots != NULL;
}

void llmri_strmap_free(llmr_strmap *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->count = 0;
}

static struct llmr_strmap_slot *find(const llmr_strmap *m, const char *key, size_t len,
                                     uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct llmr_strmap_slot *s = &m->slots[i];
        if (!s->key || (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0))
            return s;
    }
}

static bool grow(llmr_strmap *m)
{
    llmr_strmap bigger;
    if (!llmri_strmap_init(&bigger, m->cap))
        return false;
    for (size_t i = 0; i < m->cap; i++) {
        struct llmr_strmap_slot *s = &m->slots[i];
        if (s->key)
            *find(&bigger, s->key, s->len, s->hash) = *s;
    }
    bigger.count = m->count;
    free(m->slots);
    *m = bigger;
    return true;
}

int llmri_strmap_put(llmr_strmap *m, const char *key, size_t len, int64_t value, int64_t *old)
{
    if ((!m->slots && !llmri_strmap_init(m, 8)) || ((m->count + 1) * 2 > m->cap && !grow(m)))
        return -1;
    uint64_t h = llmri_hash_bytes(key, len);
    struct llmr_strmap_slot *s = find(m, key, len, h);
    if (s->key) {
        if (old)
            *old = s->value;
        return 0;
    }
    *s = (struct llmr_strmap_slot){key, len, h, value};
    m->count++;
    return 1;
}

bool llmri_strmap_get(const llmr_strmap *m, const char *key, size_t len, int64_t *value)
{
    if (!m->slots)
        return false;
    struct llmr_strmap_slot *s = find(m, key, len, llmri_hash_bytes(key, len));
    if (!s->key)
        return false;
    if (value)
        *value = s->value;
    return true;
}
