/* grow.h - the one way llmr grows an array: capacity doubles (at least to what is needed), and
 * a size that would overflow size_t is refused instead of wrapping to a small allocation that
 * later writes would run past. */
#ifndef LLMR_CORE_GROW_H
#define LLMR_CORE_GROW_H

#include <stdbool.h>
#include <stddef.h>

/* The capacity an array of `elem`-byte elements with `cap` allocated grows to when it must
 * hold `need`: the larger of need and twice cap, 4 at the least, and never so large that
 * capacity * elem overflows. 0 when need * elem itself overflows (or elem is 0). */
size_t llmri_grow_cap(size_t cap, size_t need, size_t elem);

/* Makes the array at *pv (a `T *` whose address is passed as pv, elements of elem bytes, *cap
 * of them allocated) hold at least `need` elements, by realloc to llmri_grow_cap. Returns true
 * when it already did; false, leaving the array and *cap as they were, when need * elem
 * overflows size_t or memory runs out. Elements past the old capacity are uninitialised. */
bool llmri_grow(void *pv, size_t *cap, size_t need, size_t elem);

/* llmri_grow for an array lvalue and its size_t capacity: LLMR_GROW(v, v_cap, n + 1). */
#define LLMR_GROW(v, cap, need) llmri_grow(&(v), &(cap), (need), sizeof *(v))

#endif
