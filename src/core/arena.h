/* arena.h - a bump allocator for data that lives exactly as long as its owner (a parsed file,
 * a request, a template render): one free releases everything, so parsers need no per-object
 * cleanup paths. `llmr_arena a = {0};` is an empty arena without a limit. */
#ifndef LLMR_CORE_ARENA_H
#define LLMR_CORE_ARENA_H

#include <stdbool.h>
#include <stddef.h>

typedef struct llmr_arena_chunk llmr_arena_chunk;
typedef struct llmr_arena {
    llmr_arena_chunk *head;
    size_t total;            /* bytes handed out, all chunks together */
    size_t limit;            /* refuse to hand out more than this many bytes; 0: no limit */
    bool   exhausted;        /* set once an allocation was refused (limit or memory) */
} llmr_arena;

/* An empty arena that hands out at most `limit` bytes (0: no limit). */
void llmri_arena_init(llmr_arena *a, size_t limit);
/* 16-byte aligned, zeroed memory, distinct for every call (size 0 included); NULL, and
 * `exhausted` set, when out of memory, past the limit, or size overflows. */
void *llmri_arena_alloc(llmr_arena *a, size_t size);
/* Copies n bytes and appends a NUL. */
char *llmri_arena_strndup(llmr_arena *a, const char *s, size_t n);
/* Arena counterpart of llmri_grow: makes the array at *pv (a `T *` passed by address, n
 * elements in use, *cap allocated) hold `need` elements by copying it into a fresh block of
 * llmri_grow_cap elements. The old block stays in the arena until it is freed, so an array
 * costs at most twice its final size. False, leaving the array as it was, on overflow or when
 * the arena refuses. */
bool llmri_arena_grow(llmr_arena *a, void *pv, size_t *cap, size_t n, size_t need, size_t elem);
/* Releases every allocation; the arena is empty (limit kept, exhaustion cleared). */
void llmri_arena_free(llmr_arena *a);

#endif
