/* tok_spm.c - SentencePiece-style BPE over a vocabulary with scores ("llama" in GGUF).
 *
 * The text (spaces already written as U+2581) starts as one symbol per UTF-8 character.
 * Every adjacent pair whose concatenation is a token goes into a priority queue keyed by
 * that token's score (highest first; the leftmost pair on ties). The best pair is merged,
 * its neighbours' pairs are queued, and stale entries are skipped when they surface, so the
 * whole text costs O(n log n) instead of rescanning all pairs after every merge. Symbols that
 * end up not being tokens are written as their bytes (<0xNN> byte fallback).
 */
#include "core/heap.h"
#include "tokenizer/tok_impl.h"
#include "tokenizer/tok_unicode.h"

#include <stdlib.h>
#include <string.h>

typedef struct sym {
    int32_t  prev, next;
    uint32_t start, n;
} sym;

typedef struct bigram {
    float    score;
    int32_t  left, right;
    uint32_t size;
} bigram;

/* a before b: higher score, then lower left index */
static bool bg_before(const void *x, const void *y)
{
    const bigram *a = x, *b = y;
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static int try_bigram(const llmr_tokenizer *t, const char *text, const sym *s, int32_t l,
                      int32_t r, llmr_heap *h)
{
    if (l < 0 || r < 0)
        return LLMR_OK;
    uint32_t size = s[l].n + s[r].n;
    int32_t id = tok_lookup(t, text + s[l].start, size);
    if (id < 0 || id >= t->n_vocab)
        return LLMR_OK;
    bigram b = {t->score[id], l, r, size};
    return llmri_heap_push(h, &b, sizeof b, bg_before) ? LLMR_OK : LLMR_ERR_NOMEM;
}

/* Merges text[0..len) as one piece, with the caller's scratch (s has room for len). */
static int spm_piece(const llmr_tokenizer *t, const char *text, size_t len, sym *s,
                     llmr_heap *hp, tok_vec *out)
{
    llmr_heap h = *hp;   /* a local copy: the heap's moves cannot alias its fields */
    llmri_heap_clear(&h);
    int32_t n = 0;
    for (size_t off = 0; off < len;) {
        size_t cl = (size_t)uc_lead_len((uint8_t)text[off]);
        if (cl > len - off)
            cl = len - off;
        s[n] = (sym){n - 1, off + cl == len ? -1 : n + 1, (uint32_t)off, (uint32_t)cl};
        n++;
        off += cl;
    }
    int rc = LLMR_OK;
    for (int32_t i = 1; rc == LLMR_OK && i < n; i++)
        rc = try_bigram(t, text, s, i - 1, i, &h);
    bigram b;
    while (rc == LLMR_OK && llmri_heap_pop(&h, &b, sizeof b, bg_before)) {
        sym *L = &s[b.left], *R = &s[b.right];
        /* stale: one side was merged away or has grown since the pair was queued */
        if (L->n == 0 || R->n == 0 || L->n + R->n != b.size)
            continue;
        L->n += R->n;
        R->n = 0;
        L->next = R->next;
        if (R->next >= 0)
            s[R->next].prev = b.left;
        rc = try_bigram(t, text, s, L->prev, b.left, &h);
        if (rc == LLMR_OK)
            rc = try_bigram(t, text, s, b.left, L->next, &h);
    }
    for (int32_t i = 0; rc == LLMR_OK && i != -1; i = s[i].next) {
        int32_t id = tok_lookup(t, text + s[i].start, s[i].n);
        if (id >= 0 && id < t->n_vocab) {
            rc = tok_vec_push(out, id);
            continue;
        }
        for (uint32_t j = 0; rc == LLMR_OK && j < s[i].n; j++) {
            int32_t bt = t->byte_tok[(uint8_t)text[s[i].start + j]];
            if (bt >= 0)
                rc = tok_vec_push(out, bt);
        }
    }
    *hp = h;
    return rc;
}

static bool at_space(const char *s, size_t i, size_t len)
{
    return i + 3 <= len && memcmp(s + i, "\xE2\x96\x81", 3) == 0;
}

int spm_encode(const llmr_tokenizer *t, const char *text, size_t len, tok_vec *out)
{
    if (len == 0)
        return LLMR_OK;
    if (len > INT32_MAX)
        return LLMR_ERR_TOO_BIG;
    sym *s = malloc(len * sizeof *s);
    llmr_heap h = {0};
    if (!s)
        return LLMR_ERR_NOMEM;
    int rc = LLMR_OK;
    if (!t->spm_chunks) {
        rc = spm_piece(t, text, len, s, &h, out);
    } else {
        /* one heap per word keeps it small: a word starts at a U+2581 that follows
         * another character (see spm_chunks) */
        wc_entry *cache = len >= t->cache_min ? wc_new() : NULL;
        size_t start = 0;
        for (size_t i = 1; rc == LLMR_OK && i <= len; i++) {
            if (i < len && !(at_space(text, i, len) && !(i >= 3 && at_space(text, i - 3, len))))
                continue;
            wc_entry *e;
            if (!wc_find(cache, text + start, i - start, out, &e, &rc)) {
                size_t n0 = out->n;
                rc = spm_piece(t, text + start, i - start, s, &h, out);
                if (rc == LLMR_OK)
                    wc_fill(e, text + start, i - start, out->v + n0, out->n - n0);
            }
            start = i;
        }
        free(cache);
    }
    llmri_heap_free(&h);
    free(s);
    return rc;
}
