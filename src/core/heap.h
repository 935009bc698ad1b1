/* heap.h - a binary min-heap of fixed-size elements ordered by a caller's `before` function:
 * the element for which before(x, y) holds against every other comes out first. The tokenizers'
 * merge queues use it (the best-ranked pair first, the leftmost on ties). */
#ifndef LLMR_CORE_HEAP_H
#define LLMR_CORE_HEAP_H

#include <stdbool.h>
#include <stddef.h>

/* A strict weak order: whether a must come out before b. */
typedef bool (*llmr_heap_before)(const void *a, const void *b);

typedef struct llmr_heap {
    unsigned char   *v;      /* n elements of `elem` bytes, then one scratch slot */
    size_t           n, cap; /* cap counts the scratch slot */
    size_t           elem;
    llmr_heap_before before;
} llmr_heap;

/* An empty heap of elements of elem bytes; nothing is allocated until the first push. */
void llmr_heap_init(llmr_heap *h, size_t elem, llmr_heap_before before);
/* Copies *item in; false when memory runs out or the size would overflow (heap unchanged). */
bool llmr_heap_push(llmr_heap *h, const void *item);
/* Copies the first element to *out and removes it; false when the heap is empty. */
bool llmr_heap_pop(llmr_heap *h, void *out);
/* Removes every element and keeps the storage. */
void llmr_heap_clear(llmr_heap *h);
void llmr_heap_free(llmr_heap *h);

#endif
