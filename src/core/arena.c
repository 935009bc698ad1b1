/* arena.c - bump allocator (see arena.h). */
#include "core/arena.h"
#include "core/grow.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct llmr_arena_chunk {
    llmr_arena_chunk *next;
    size_t cap, used;
    _Alignas(16) unsigned char data[];
};

enum { CHUNK_MIN = 64 * 1024 };

void llmri_arena_init(llmr_arena *a, size_t limit)
{
    *a = (llmr_arena){.limit = limit};
}

static void *refuse(llmr_arena *a)
{
    a->exhausted = true;
    return NULL;
}

void *llmri_arena_alloc(llmr_arena *a, size_t size)
{
    if (size > SIZE_MAX - sizeof(llmr_arena_chunk) - 64)
        return refuse(a);
    size = size ? (size + 15) & ~(size_t)15 : 16;
    if (a->limit && (size > a->limit || a->total > a->limit - size))
        return refuse(a);
    llmr_arena_chunk *c = a->head;
    if (!c || c->cap - c->used < size) {
        size_t cap = size > CHUNK_MIN ? size : CHUNK_MIN;
        c = malloc(sizeof *c + cap);
        if (!c)
            return refuse(a);
        c->cap = cap;
        c->used = 0;
        if (size > CHUNK_MIN && a->head) {   /* a big block: keep filling the current chunk */
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    void *p = c->data + c->used;
    c->used += size;
    a->total += size;
    memset(p, 0, size);
    return p;
}

char *llmri_arena_strndup(llmr_arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        return refuse(a);
    char *p = llmri_arena_alloc(a, n + 1);
    if (p && n)
        memcpy(p, s, n);
    return p;
}

bool llmri_arena_grow(llmr_arena *a, void *pv, size_t *cap, size_t n, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t nc = llmri_grow_cap(*cap, need, elem);
    void *p = nc ? llmri_arena_alloc(a, nc * elem) : refuse(a);
    if (!p)
        return false;
    void *old;
    memcpy(&old, pv, sizeof old);   /* pv is a T **: object pointers share one representation */
    if (n)
        memcpy(p, old, n * elem);
    memcpy(pv, &p, sizeof p);
    *cap = nc;
    return true;
}

void llmri_arena_free(llmr_arena *a)
{
    llmr_arena_chunk *c = a->head;
    while (c) {
        llmr_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    llmri_arena_init(a, a->limit);
}
