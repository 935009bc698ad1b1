/* strmap.h - an open-addressing hash map from byte strings to int64 values. Keys are not
 * copied: they must outlive the map (they usually live in an arena or a mapped file). */
#ifndef LLMR_CORE_STRMAP_H
#define LLMR_CORE_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct llmr_strmap {
    struct llmr_strmap_slot *slots;
    size_t cap, count;          /* cap is a power of two */
} llmr_strmap;

/* Reserves room for n keys without rehashing; false when out of memory. */
bool llmri_strmap_init(llmr_strmap *m, size_t n);
void llmri_strmap_free(llmr_strmap *m);
/* Inserts key -> value. Returns 1 when inserted, 0 when the key was already there (its value
 * is left unchanged and written to *old if old is non-NULL), -1 when out of memory. */
int llmri_strmap_put(llmr_strmap *m, const char *key, size_t len, int64_t value, int64_t *old);
/* True and *value when present. */
bool llmri_strmap_get(const llmr_strmap *m, const char *key, size_t len, int64_t *value);
/* 64-bit FNV-1a: simple, and good enough for vocabulary-sized tables. */
uint64_t llmri_hash_bytes(const void *p, size_t n);

#endif
