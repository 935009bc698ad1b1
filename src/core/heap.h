/* heap.h - a binary min-heap of fixed-size elements ordered by a caller's `before` function:
 * the element for which before(x, y) holds against every other comes out first. The tokenizers'
 * merge queues use it (the best-ranked pair first, the leftmost on ties).
 *
 * The functions are static inline and take the element size and the order at each call: with
 * both constant at the call site the compiler turns the copies into moves and calls `before`
 * directly (inlined), which the merge loops of the tokenizers measurably need; a heap that
 * kept them in the struct paid an indirect call and a memcpy call per comparison and move. */
#ifndef LLMR_CORE_HEAP_H
#define LLMR_CORE_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/grow.h"

/* A strict weak order: whether a must come out before b. */
typedef bool (*llmr_heap_before)(const void *a, const void *b);

/* `llmr_heap h = {0};` is empty. Every call on one heap must pass the same elem and before. */
typedef struct llmr_heap {
    unsigned char *v;        /* n elements, then one scratch slot (cap counts it) */
    size_t         n, cap;
} llmr_heap;

#define LLMR_HEAP_AT(h, i, elem) ((h)->v + (i) * (elem))

/* Copies *item in; false when memory runs out or the size would overflow (heap unchanged). */
static inline bool llmri_heap_push(llmr_heap *h, const void *item, size_t elem,
                                  llmr_heap_before before)
{
    if (h->n > (size_t)-1 - 2 || !llmri_grow(&h->v, &h->cap, h->n + 2, elem))
        return false;
    unsigned char *x = LLMR_HEAP_AT(h, h->cap - 1, elem);   /* the scratch slot */
    memcpy(x, item, elem);
    size_t i = h->n++;
    while (i > 0) {                 /* move the hole up while x belongs above its parent */
        size_t par = (i - 1) / 2;
        if (!before(x, LLMR_HEAP_AT(h, par, elem)))
            break;
        memcpy(LLMR_HEAP_AT(h, i, elem), LLMR_HEAP_AT(h, par, elem), elem);
        i = par;
    }
    memcpy(LLMR_HEAP_AT(h, i, elem), x, elem);
    return true;
}

/* Copies the first element to *out and removes it; false when the heap is empty. */
static inline bool llmri_heap_pop(llmr_heap *h, void *out, size_t elem, llmr_heap_before before)
{
    if (!h->n)
        return false;
    memcpy(out, h->v, elem);
    size_t n = --h->n;
    if (!n)
        return true;
    const unsigned char *last = LLMR_HEAP_AT(h, n, elem);   /* moves into the hole at 0 */
    size_t i = 0;
    for (;;) {                      /* move the hole down while a child belongs above last */
        size_t k = 2 * i + 1;
        if (k >= n)
            break;
        if (k + 1 < n && before(LLMR_HEAP_AT(h, k + 1, elem), LLMR_HEAP_AT(h, k, elem)))
            k++;
        if (!before(LLMR_HEAP_AT(h, k, elem), last))
            break;
        memcpy(LLMR_HEAP_AT(h, i, elem), LLMR_HEAP_AT(h, k, elem), elem);
        i = k;
    }
    memcpy(LLMR_HEAP_AT(h, i, elem), last, elem);
    return true;
}

/* Removes every element and keeps the storage. */
static inline void llmri_heap_clear(llmr_heap *h)
{
    h->n = 0;
}

static inline void llmri_heap_free(llmr_heap *h)
{
    free(h->v);
    *h = (llmr_heap){0};
}

#endif
