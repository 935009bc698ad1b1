/* tok_cache.c - the per-call cache of merged words (see wc_entry in tok_impl.h). */
#include "tokenizer/tok_impl.h"

#include <stdlib.h>
#include <string.h>

wc_entry *wc_new(void)
{
    return calloc(WC_SLOTS, sizeof(wc_entry));
}

bool wc_find(wc_entry *c, const char *w, size_t n, tok_vec *out, wc_entry **slot, int *rc)
{
    *slot = NULL;
    *rc = LLMR_OK;
    if (!c || n == 0 || n > WC_WORD)
        return false;
    uint64_t h = tok_hash(w, n);
    wc_entry *e = &c[h & (WC_SLOTS - 1)];
    if (e->hash == h && e->len == n && memcmp(e->word, w, n) == 0) {
        for (int i = 0; i < e->n && *rc == LLMR_OK; i++)
            *rc = tok_vec_push(out, e->ids[i]);
        return true;
    }
    e->hash = h;
    e->len = 0;   /* empty until wc_fill */
    *slot = e;
    return false;
}

void wc_fill(wc_entry *e, const char *w, size_t n, const llmr_token *ids, size_t n_ids)
{
    if (!e || n_ids > WC_IDS)
        return;
    e->len = (uint8_t)n;
    e->n = (uint8_t)n_ids;
    memcpy(e->word, w, n);
    memcpy(e->ids, ids, n_ids * sizeof *ids);
}
