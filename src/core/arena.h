/* arena.h - a bump allocator for data that lives exactly as long as its owner (a parsed file,
 * a request): one free releases everything, so parsers need no per-object cleanup paths. */
#ifndef LLMR_CORE_ARENA_H
#define LLMR_CORE_ARENA_H

#include <stddef.h>

typedef struct llmr_arena_chunk llmr_arena_chunk;
typedef struct llmr_arena {
    llmr_arena_chunk *head;
    size_t total;            /* bytes handed out, for memory accounting */
} llmr_arena;

/* 16-byte aligned, zeroed memory; NULL when out of memory or size overflows. */
void *llmr_arena_alloc(llmr_arena *a, size_t size);
/* Copies n bytes and appends a NUL. */
char *llmr_arena_strndup(llmr_arena *a, const char *s, size_t n);
void llmr_arena_free(llmr_arena *a);

#endif
