/* heap.c - binary heap (see heap.h). Sifting moves a hole instead of swapping: the element
 * being placed waits in the scratch slot past the last element. */
#include "core/heap.h"

#include <stdlib.h>
#include <string.h>

#include "core/grow.h"

#define AT(h, i) ((h)->v + (i) * (h)->elem)

void llmr_heap_init(llmr_heap *h, size_t elem, llmr_heap_before before)
{
    *h = (llmr_heap){.elem = elem, .before = before};
}

bool llmr_heap_push(llmr_heap *h, const void *item)
{
    if (h->n + 2 < h->n || !llmr_grow(&h->v, &h->cap, h->n + 2, h->elem))
        return false;
    unsigned char *x = AT(h, h->cap - 1);
    memcpy(x, item, h->elem);
    size_t i = h->n++;
    while (i > 0) {
        size_t par = (i - 1) / 2;
        if (!h->before(x, AT(h, par)))
            break;
        memcpy(AT(h, i), AT(h, par), h->elem);
        i = par;
    }
    memcpy(AT(h, i), x, h->elem);
    return true;
}

bool llmr_heap_pop(llmr_heap *h, void *out)
{
    if (!h->n)
        return false;
    memcpy(out, AT(h, 0), h->elem);
    size_t n = --h->n;
    if (!n)
        return true;
    unsigned char *last = AT(h, n);
    size_t i = 0;
    for (;;) {
        size_t k = 2 * i + 1;
        if (k >= n)
            break;
        if (k + 1 < n && h->before(AT(h, k + 1), AT(h, k)))
            k++;
        if (!h->before(AT(h, k), last))
            break;
        memcpy(AT(h, i), AT(h, k), h->elem);
        i = k;
    }
    memcpy(AT(h, i), last, h->elem);
    return true;
}

void llmr_heap_clear(llmr_heap *h)
{
    h->n = 0;
}

void llmr_heap_free(llmr_heap *h)
{
    free(h->v);
    llmr_heap_init(h, h->elem, h->before);
}
