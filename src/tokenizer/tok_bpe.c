/* tok_bpe.c - byte-level BPE ("gpt2" in GGUF): GPT-2, Llama 3, Qwen2, DeepSeek, Falcon...
 *
 * The text is split into words by the vocabulary's pre-tokenizer (tok_pretok.c). A word
 * starts as one symbol per byte (the vocabulary stores each byte as a printable code point,
 * GPT-2's bytes_to_unicode; tok_vocab.c indexes tokens by the bytes they stand for, so no
 * re-encoding is needed here). Adjacent pairs that have a merge rule are queued by rank,
 * lowest first (leftmost on ties); the best is merged, its neighbours re-queued, stale
 * entries skipped. With ignore_merges (Llama 3), a word that is itself a token is emitted
 * whole, as Hugging Face's tokenizers do for that vocabulary.
 */
#include "core/grow.h"
#include "core/heap.h"
#include "tokenizer/tok_impl.h"

#include <stdlib.h>

typedef struct bsym {
    int32_t prev, next;
    int32_t id;            /* key id (may be past n_vocab: a string that only merges know) */
    uint32_t start, n;
} bsym;

typedef struct bpair {
    int32_t rank;
    int32_t left, right;
    int32_t lid, rid;      /* the ids the pair was made from: a mismatch means it is stale */
    int32_t result;
} bpair;

typedef struct bpe_ctx {
    const llmr_tokenizer *t;
    tok_vec *out;
    wc_entry *cache;         /* NULL for short texts (tok_cache.c) */
    bsym    *sym;
    size_t   sym_cap;
    llmr_heap heap;          /* of bpair, the lowest rank first */
} bpe_ctx;

static bool bp_before(const void *x, const void *y)
{
    const bpair *a = x, *b = y;
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

static int add_pair(bpe_ctx *c, int32_t l, int32_t r)
{
    if (l < 0 || r < 0)
        return LLMR_OK;
    int32_t a = c->sym[l].id, b = c->sym[r].id;
    if (a < 0 || b < 0)
        return LLMR_OK;
    int32_t result;
    int32_t rank = pair_map_get(&c->t->merges, a, b, &result);
    if (rank < 0)
        return LLMR_OK;
    bpair p = {rank, l, r, a, b, result};
    return llmri_heap_push(&c->heap, &p, sizeof p, bp_before) ? LLMR_OK : LLMR_ERR_NOMEM;
}

static int emit_bytes(bpe_ctx *c, const char *s, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        int32_t id = c->t->byte_tok[(uint8_t)s[j]];
        if (id >= 0 && id < c->t->n_vocab) {
            int rc = tok_vec_push(c->out, id);
            if (rc)
                return rc;
        }
    }
    return LLMR_OK;
}

static int merge_word(bpe_ctx *c, const char *w, size_t n);

static int bpe_word(void *user, const char *w, size_t n)
{
    bpe_ctx *c = user;
    const llmr_tokenizer *t = c->t;
    if (n == 1 || t->ignore_merges) {
        int32_t id = n == 1 ? t->byte_tok[(uint8_t)w[0]] : tok_lookup(t, w, n);
        if (id >= 0 && id < t->n_vocab)
            return tok_vec_push(c->out, id);
        if (n == 1)
            return emit_bytes(c, w, n);
    }
    if (n > INT32_MAX)
        return LLMR_ERR_TOO_BIG;
    wc_entry *e = NULL;
    int rc;
    if (wc_find(c->cache, w, n, c->out, &e, &rc))
        return rc;
    size_t n0 = c->out->n;
    rc = merge_word(c, w, n);
    if (rc == LLMR_OK && c->out->n > n0)   /* an empty result (odd vocabularies) is not cached */
        wc_fill(e, w, n, c->out->v + n0, c->out->n - n0);
    return rc;
}

/* The merges of one word (n >= 2). */
static int merge_word(bpe_ctx *c, const char *w, size_t n)
{
    const llmr_tokenizer *t = c->t;
    if (!LLMR_GROW(c->sym, c->sym_cap, n))
        return LLMR_ERR_NOMEM;
    bsym *s = c->sym;
    int32_t ns = (int32_t)n;
    for (int32_t i = 0; i < ns; i++)
        s[i] = (bsym){i - 1, i + 1 == ns ? -1 : i + 1, t->byte_tok[(uint8_t)w[i]],
                      (uint32_t)i, 1};
    llmri_heap_clear(&c->heap);
    int rc = LLMR_OK;
    for (int32_t i = 1; rc == LLMR_OK && i < ns; i++)
        rc = add_pair(c, i - 1, i);
    bpair p;
    while (rc == LLMR_OK && llmri_heap_pop(&c->heap, &p, sizeof p, bp_before)) {
        bsym *L = &s[p.left], *R = &s[p.right];
        if (L->n == 0 || R->n == 0 || L->next != p.right || L->id != p.lid || R->id != p.rid)
            continue;
        L->n += R->n;
        L->id = p.result;
        R->n = 0;
        L->next = R->next;
        if (R->next >= 0)
            s[R->next].prev = p.left;
        rc = add_pair(c, L->prev, p.left);
        if (rc == LLMR_OK)
            rc = add_pair(c, p.left, L->next);
    }
    for (int32_t i = 0; rc == LLMR_OK && i != -1; i = s[i].next) {
        if (s[i].id >= 0 && s[i].id < t->n_vocab)
            rc = tok_vec_push(c->out, s[i].id);
        else
            rc = emit_bytes(c, w + s[i].start, s[i].n);
    }
    return rc;
}

int bpe_encode(const llmr_tokenizer *t, const char *text, size_t len, tok_vec *out)
{
    bpe_ctx c = {.t = t, .out = out};
    if (len >= t->cache_min)
        c.cache = wc_new();   /* NULL (out of memory) only makes it slower */
    int rc = pretok_split(t->pre, text, len, bpe_word, &c);
    free(c.cache);
    free(c.sym);
    llmri_heap_free(&c.heap);
    return rc;
}
