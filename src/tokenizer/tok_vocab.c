/* tok_vocab.c - building a tokenizer from the tokenizer.ggml.* keys of a GGUF file. */
#include "tokenizer/tok_impl.h"
#include "tokenizer/tok_unicode.h"
#include "core/grow.h"
#include "core/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- hashing ------------------------------------------------------------------------------ *
 * Not core/strmap: tokenizing does a lookup per word or candidate pair, so this map hashes 8
 * bytes at a time and keeps hash bits and length in the slot (one cache miss per probe, not
 * two), and a later token with the same string replaces an earlier one, as in llama.cpp. */

static inline uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xff51afd7ed558ccdull);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0x100000001B3ull * 0x9E3779B97F4A7C15ull;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0xC2B2AE3D27D4EB4Full;
    h ^= h >> 32;
    h *= 0x165667B19E3779F9ull;
    h ^= h >> 29;
    return h;
}

/* A slot holds 24 bits of the key's hash, its length (255: 255 or more) and id + 1, so that a
 * probe reads the key's bytes only when hash and length agree. */
static inline uint64_t slot_tag(uint64_t h, size_t n)
{
    return (h & 0xFFFFFF0000000000ull) | ((uint64_t)(n < 255 ? n : 255) << 32);
}

#define TAG_MASK 0xFFFFFFFF00000000ull

uint64_t tok_hash(const char *s, size_t n)
{
    return hash_bytes(s, n);
}

int32_t tok_lookup(const llmr_tokenizer *t, const char *s, size_t n)
{
    const str_map *m = &t->lookup;
    if (!m->slot)
        return -1;
    uint64_t h = hash_bytes(s, n);
    uint64_t tag = slot_tag(h, n);
    uint32_t i = (uint32_t)h & m->mask;
    for (;;) {
        uint64_t v = m->slot[i];
        if (v == 0)
            return -1;
        if ((v & TAG_MASK) == tag) {
            int32_t id = (int32_t)((uint32_t)v - 1);
            if ((n < 255 || t->keys_len[id] == n) && memcmp(t->keys[id], s, n) == 0)
                return id;
        }
        i = (i + 1) & m->mask;
    }
}

/* Inserts id under keys[id]; a later id with the same key replaces the earlier one, as
 * llama.cpp's token_to_id map does. The table is kept at most half full. */
static int map_insert(llmr_tokenizer *t, int32_t id);

static int map_rehash(llmr_tokenizer *t, uint32_t new_size)
{
    str_map old = t->lookup;
    t->lookup.slot = calloc(new_size, sizeof *t->lookup.slot);
    if (!t->lookup.slot) {
        t->lookup = old;
        return LLMR_ERR_NOMEM;
    }
    t->lookup.mask = new_size - 1;
    t->lookup.count = 0;
    for (uint32_t i = 0; old.slot && i <= old.mask; i++)
        if (old.slot[i])
            map_insert(t, (int32_t)((uint32_t)old.slot[i] - 1));
    free(old.slot);
    return LLMR_OK;
}

static int map_insert(llmr_tokenizer *t, int32_t id)
{
    str_map *m = &t->lookup;
    if (!m->slot || (uint64_t)(m->count + 1) * 2 > (uint64_t)m->mask + 1) {
        uint32_t size = m->slot ? (m->mask + 1) * 2 : 1024;
        if (map_rehash(t, size))
            return LLMR_ERR_NOMEM;
    }
    const char *s = t->keys[id];
    size_t n = t->keys_len[id];
    uint64_t h = hash_bytes(s, n);
    uint64_t tag = slot_tag(h, n);
    uint32_t i = (uint32_t)h & m->mask;
    for (;;) {
        uint64_t v = m->slot[i];
        if (v == 0) {
            m->slot[i] = tag | ((uint32_t)id + 1);
            m->count++;
            return LLMR_OK;
        }
        int32_t o = (int32_t)((uint32_t)v - 1);
        if ((v & TAG_MASK) == tag && t->keys_len[o] == n &&
            memcmp(t->keys[o], s, n) == 0) {
            m->slot[i] = tag | ((uint32_t)id + 1);
            return LLMR_OK;
        }
        i = (i + 1) & m->mask;
    }
}

static inline uint32_t pair_hash(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return (uint32_t)k;
}

int32_t pair_map_get(const pair_map *m, int32_t a, int32_t b, int32_t *result)
{
    uint64_t k = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
    uint32_t i = pair_hash(k) & m->mask;
    for (;;) {
        const pair_slot *p = &m->slot[i];
        if (p->key == 0)
            return -1;
        if (p->key == k) {
            *result = p->result;
            return p->rank;
        }
        i = (i + 1) & m->mask;
    }
}

/* First insertion wins: the lower rank, as llama.cpp's bpe_ranks.emplace keeps. */
static void pair_map_put(pair_map *m, int32_t a, int32_t b, int32_t rank, int32_t result)
{
    uint64_t k = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
    uint32_t i = pair_hash(k) & m->mask;
    while (m->slot[i].key != 0) {
        if (m->slot[i].key == k)
            return;
        i = (i + 1) & m->mask;
    }
    m->slot[i] = (pair_slot){k, rank, result};
}

/* ---- keys past the vocabulary (strings that only occur in merges) ------------------------- */

static int32_t key_intern(llmr_tokenizer *t, const char *s, size_t n)
{
    int32_t id = tok_lookup(t, s, n);
    if (id >= 0)
        return id;
    /* keys and keys_len grow alike: ck == cl when both succeed */
    size_t ck = t->cap_keys, cl = t->cap_keys, need = (size_t)t->n_keys + 1;
    if (t->n_keys == INT32_MAX || !LLMR_GROW(t->keys, ck, need) ||
        !LLMR_GROW(t->keys_len, cl, need))
        return -1;
    t->cap_keys = ck;
    char *c = llmri_strndup(s, n);
    if (!c)
        return -1;
    id = t->n_keys++;
    t->keys[id] = c;
    t->keys_len[id] = (uint32_t)n;
    if (map_insert(t, id)) {
        t->n_keys--;
        free(c);
        return -1;
    }
    return id;
}

/* ---- loading -------------------------------------------------------------------------------- */

/* Undoes GPT-2's byte map: each code point of s becomes its byte; a code point outside the map
 * (only in added tokens) is kept as its UTF-8. Returns the length written to out (<= n). */
static size_t bpe_decode_text(const char *s, size_t n, char *out, bool *all_mapped)
{
    size_t o = 0, i = 0;
    *all_mapped = true;
    while (i < n) {
        uint32_t cp;
        int l = uc_decode((const uint8_t *)s + i, n - i, &cp);
        if (l == 0) {
            out[o++] = s[i++];
            *all_mapped = false;
            continue;
        }
        int b = uc_cp_to_byte(cp);
        if (b < 0) {
            memcpy(out + o, s + i, (size_t)l);
            o += (size_t)l;
            *all_mapped = false;
        } else {
            out[o++] = (char)b;
        }
        i += (size_t)l;
    }
    return o;
}

/* SentencePiece writes a space as U+2581 (LOWER ONE EIGHTH BLOCK, E2 96 81). */
static size_t spm_unescape(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (i + 3 <= n && memcmp(s + i, "\xE2\x96\x81", 3) == 0) {
            out[o++] = ' ';
            i += 3;
        } else {
            out[o++] = s[i++];
        }
    }
    return o;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Fills text, piece and (for BPE) the lookup keys of every token. */
static int load_strings(llmr_tokenizer *t, const gguf_str *toks)
{
    uint64_t total = 0;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        if (toks[i].len > UINT32_MAX / 4)
            return llmri_err_set(&t->err, LLMR_ERR_FORMAT,
                                "tokenizer.ggml.tokens[%d]: string of %llu bytes is too long",
                                i, (unsigned long long)toks[i].len);
        total += 3 * (toks[i].len + 1);   /* text, piece, key */
    }
    t->arena = malloc(total ? total : 1);
    t->text = calloc((size_t)t->n_vocab, sizeof *t->text);
    t->text_len = calloc((size_t)t->n_vocab, sizeof *t->text_len);
    t->piece = calloc((size_t)t->n_vocab, sizeof *t->piece);
    t->piece_len = calloc((size_t)t->n_vocab, sizeof *t->piece_len);
    t->cap_keys = (size_t)t->n_vocab + 64;
    t->keys = calloc((size_t)t->cap_keys, sizeof *t->keys);
    t->keys_len = calloc((size_t)t->cap_keys, sizeof *t->keys_len);
    if (!t->arena || !t->text || !t->text_len || !t->piece || !t->piece_len || !t->keys ||
        !t->keys_len)
        return llmri_err_set(&t->err, LLMR_ERR_NOMEM, "tokenizer: out of memory");
    char *a = t->arena;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        size_t n = (size_t)toks[i].len;
        t->text[i] = a;
        memcpy(a, toks[i].ptr, n);
        a[n] = 0;
        t->text_len[i] = (uint32_t)n;
        a += n + 1;
        t->max_token_len = n > t->max_token_len ? (uint32_t)n : t->max_token_len;

        /* the piece: control, user-defined and unknown tokens stand for their own text */
        char *p = a;
        size_t pn = 0;
        uint8_t ty = t->type[i];
        if (ty == TT_CONTROL || ty == TT_USER || ty == TT_UNKNOWN) {
            memcpy(p, t->text[i], n);
            pn = n;
        } else if (ty == TT_UNUSED) {
            pn = 0;
        } else if (ty == TT_BYTE && n == 6 && memcmp(t->text[i], "<0x", 3) == 0 &&
                   t->text[i][5] == '>' && hexval(t->text[i][3]) >= 0 &&
                   hexval(t->text[i][4]) >= 0) {
            p[0] = (char)(hexval(t->text[i][3]) * 16 + hexval(t->text[i][4]));
            pn = 1;
        } else if (t->kind == TOK_BPE) {
            bool all;
            pn = bpe_decode_text(t->text[i], n, p, &all);
        } else {
            pn = spm_unescape(t->text[i], n, p);
        }
        p[pn] = 0;
        t->piece[i] = p;
        t->piece_len[i] = (uint32_t)pn;
        if (pn > t->max_piece_len)
            t->max_piece_len = (uint32_t)pn;
        a += pn + 1;

        /* the lookup key: BPE looks words up by the bytes they stand for */
        if (t->kind == TOK_BPE) {
            bool all;
            size_t kn = bpe_decode_text(t->text[i], n, a, &all);
            a[kn] = 0;
            t->keys[i] = a;
            t->keys_len[i] = (uint32_t)kn;
            a += kn + 1;
            /* a token with characters outside the byte map can never equal a mapped word */
            if (!all)
                t->keys_len[i] = UINT32_MAX;
        } else {
            t->keys[i] = t->text[i];
            t->keys_len[i] = (uint32_t)n;
        }
    }
    t->n_keys = t->n_vocab;
    uint32_t size = 1024;
    while (size < (uint64_t)t->n_vocab * 2 + 2)
        size *= 2;
    if (map_rehash(t, size))   /* sized once for the vocabulary: no rehash while loading */
        return llmri_err_set(&t->err, LLMR_ERR_NOMEM, "tokenizer: out of memory");
    for (int32_t i = 0; i < t->n_vocab; i++)
        if (t->keys_len[i] != UINT32_MAX && map_insert(t, i))
            return llmri_err_set(&t->err, LLMR_ERR_NOMEM, "tokenizer: out of memory");
    return LLMR_OK;
}

static int load_merges(llmr_tokenizer *t, const gguf_file *f)
{
    uint64_t n = 0;
    const gguf_str *m = gguf_get_arr(f, "tokenizer.ggml.merges", GGUF_STRING, &n);
    if (!m)
        return llmri_err_set(&t->err, LLMR_ERR_FORMAT,
                            "%s: tokenizer.ggml.merges (array of strings) is missing; a gpt2 "
                            "tokenizer needs its merges", f->path ? f->path : "gguf");
    if (n > INT32_MAX / 4)
        return llmri_err_set(&t->err, LLMR_ERR_TOO_BIG, "tokenizer.ggml.merges: %llu merges",
                            (unsigned long long)n);
    uint32_t size = 16;
    while (size < n * 2)
        size *= 2;
    t->merges.slot = calloc(size, sizeof *t->merges.slot);
    if (!t->merges.slot)
        return llmri_err_set(&t->err, LLMR_ERR_NOMEM, "tokenizer: out of memory");
    t->merges.mask = size - 1;
    size_t buf_cap = 256;
    char *buf = malloc(buf_cap);
    if (!buf)
        return llmri_err_set(&t->err, LLMR_ERR_NOMEM, "tokenizer: out of memory");
    int rc = LLMR_OK;
    for (uint64_t r = 0; r < n; r++) {
        const char *s = m[r].ptr;
        size_t len = (size_t)m[r].len;
        /* "A B": split at the first space after the first byte, as llama.cpp does */
        const char *sp = len > 1 ? memchr(s + 1, ' ', len - 1) : NULL;
        if (!sp) {
            rc = llmri_err_set(&t->err, LLMR_ERR_FORMAT,
                              "tokenizer.ggml.merges[%llu]: \"%.*s\" is not two strings "
                              "separated by a space", (unsigned long long)r,
                              (int)(len > 40 ? 40 : len), s);
            break;
        }
        if (len * 2 + 2 > buf_cap) {
            buf_cap = len * 2 + 2;
            char *nb = realloc(buf, buf_cap);
            if (!nb) {
                rc = LLMR_ERR_NOMEM;
                break;
            }
            buf = nb;
        }
        bool all;
        size_t na = bpe_decode_text(s, (size_t)(sp - s), buf, &all);
        size_t nb2 = bpe_decode_text(sp + 1, len - (size_t)(sp - s) - 1, buf + na, &all);
        int32_t a = key_intern(t, buf, na);
        int32_t b = key_intern(t, buf + na, nb2);
        int32_t ab = key_intern(t, buf, na + nb2);
        if (a < 0 || b < 0 || ab < 0) {
            rc = LLMR_ERR_NOMEM;
            break;
        }
        pair_map_put(&t->merges, a, b, (int32_t)r, ab);
    }
    free(buf);
    if (rc == LLMR_ERR_NOMEM)
        llmri_err_set(&t->err, rc, "tokenizer: out of memory");
    return rc;
}

static llmr_token get_id(const llmr_tokenizer *t, const gguf_file *f, const char *key,
                         llmr_token def)
{
    uint32_t v;
    if (!gguf_get_u32(f, key, &v))
        return def;
    return v < (uint32_t)t->n_vocab ? (llmr_token)v : LLMR_TOKEN_NULL;
}

static bool get_flag(const gguf_file *f, const char *key, bool def)
{
    bool v;
    return gguf_get_bool(f, key, &v) ? v : def;
}

static int cmp_special(const void *a, const void *b, void *user)
{
    const llmr_tokenizer *t = user;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    if (t->text_len[x] != t->text_len[y])
        return t->text_len[x] > t->text_len[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

#if defined(__EMSCRIPTEN__)
/* Emscripten's musl predates qsort_r (musl 1.2.3): the comparison's context goes through a
 * thread-local instead; cmp_special sorts nothing itself, so the call cannot nest. */
static _Thread_local const void *sort_ctx;
static int cmp_special_ctx(const void *a, const void *b)
{
    return cmp_special(a, b, (void *)sort_ctx);
}
static void qsort_r(void *base, size_t n, size_t size,
                    int (*cmp)(const void *, const void *, void *), void *ctx)
{
    (void)cmp;
    sort_ctx = ctx;
    qsort(base, n, size, cmp_special_ctx);
}
#endif

/* Token texts that end a turn in the chat formats llama.cpp knows (llama-vocab.cpp). */
static const char *const eot_names[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>",
    "_<EOT>", "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
    "<end_of_utterance>", NULL
};
static const char *const eog_names[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<end_of_turn>",
    "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>", "<end_of_utterance>",
    NULL
};

static bool name_in(const char *s, const char *const *list)
{
    if (s[0] != '<' && s[0] != '_')   /* every name starts so: skip the common case fast */
        return false;
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

/* True when s contains `word`, ASCII case ignored. */
static bool contains_nocase(const char *s, const char *word)
{
    const size_t n = strlen(word);
    for (; *s; s++) {
        size_t i = 0;
        while (i < n && s[i] && tolower((unsigned char)s[i]) == word[i])
            i++;
        if (i == n)
            return true;
    }
    return false;
}

/* Phi-3's tokenizer.json marks its special tokens rstrip: the whitespace after one belongs to
 * it ("<|user|>\nHi" is <|user|> ▁Hi). GGUF does not carry the flag, so, as llama.cpp does,
 * a model named like Phi-3 gets it on every control and user-defined token and </s>, but not
 * on <unk>, <s> and <|endoftext|>. Nonzero only when out of memory. */
static int phi3_rstrip(llmr_tokenizer *t, const gguf_file *f)
{
    const char *name = gguf_get_str(f, "general.name");
    if (!name || (!contains_nocase(name, "phi-3") && !contains_nocase(name, "phi3")))
        return 0;
    t->rstrip = calloc((size_t)t->n_vocab, 1);
    if (!t->rstrip)
        return -1;
    for (int32_t r = 0; r < t->n_specials; r++)
        t->rstrip[t->specials[r]] = 1;
    static const char *const on[] = {"</s>", NULL};
    static const char *const off[] = {"<unk>", "<s>", "<|endoftext|>", NULL};
    for (int32_t i = 0; i < t->n_vocab; i++) {
        if (name_in(t->text[i], on))
            t->rstrip[i] = 1;
        if (name_in(t->text[i], off))
            t->rstrip[i] = 0;
    }
    return 0;
}

static int load_specials(llmr_tokenizer *t, const gguf_file *f)
{
    llmr_token def_bos = -1, def_eos = -1, def_unk = -1;
    if (t->kind == TOK_SPM) {
        def_bos = 1; def_eos = 2; def_unk = 0;
    } else if (t->kind == TOK_BPE) {
        def_bos = 11; def_eos = 11;
    } else {
        def_bos = 101; def_unk = 100;
    }
    if (def_bos >= t->n_vocab) def_bos = -1;
    if (def_eos >= t->n_vocab) def_eos = -1;
    if (def_unk >= t->n_vocab) def_unk = -1;
    t->bos = get_id(t, f, "tokenizer.ggml.bos_token_id", def_bos);
    t->eos = get_id(t, f, "tokenizer.ggml.eos_token_id", def_eos);
    t->unk = get_id(t, f, "tokenizer.ggml.unknown_token_id", def_unk);
    t->sep = get_id(t, f, "tokenizer.ggml.seperator_token_id",
                    t->kind == TOK_WPM && t->n_vocab > 102 ? 102 : -1);
    t->pad = get_id(t, f, "tokenizer.ggml.padding_token_id", -1);
    t->cls = get_id(t, f, "tokenizer.ggml.cls_token_id", -1);
    t->mask = get_id(t, f, "tokenizer.ggml.mask_token_id", -1);
    t->eot = get_id(t, f, "tokenizer.ggml.eot_token_id", -1);
    t->eom = get_id(t, f, "tokenizer.ggml.eom_token_id", -1);
    if (t->kind == TOK_WPM && t->cls >= 0)
        t->bos = t->cls;   /* BERT's sequence starts with [CLS] */

    /* Llama 3 style vocabularies add BOS unless told otherwise (llama.cpp's pre-type table) */
    bool bos_default = t->kind != TOK_BPE || t->pre == PRE_LLAMA3;
    t->add_bos = get_flag(f, "tokenizer.ggml.add_bos_token", bos_default) && t->bos >= 0;
    t->add_eos = get_flag(f, "tokenizer.ggml.add_eos_token", false) && t->eos >= 0;
    t->add_sep = t->kind == TOK_WPM && get_flag(f, "tokenizer.ggml.add_sep_token", true) &&
                 t->sep >= 0;
    t->add_space_prefix = get_flag(f, "tokenizer.ggml.add_space_prefix", t->kind == TOK_SPM);

    t->eog = calloc((size_t)t->n_vocab, 1);
    t->specials = malloc((size_t)t->n_vocab * sizeof *t->specials);
    if (!t->eog || !t->specials)
        return llmri_err_set(&t->err, LLMR_ERR_NOMEM, "tokenizer: out of memory");
    for (int32_t i = 0; i < t->n_vocab; i++) {
        if (t->eot < 0 && name_in(t->text[i], eot_names))
            t->eot = i;
        if (name_in(t->text[i], eog_names))
            t->eog[i] = 1;
        uint8_t ty = t->type[i];
        if ((ty == TT_CONTROL || ty == TT_USER || ty == TT_UNKNOWN) && t->text_len[i] > 0)
            t->specials[t->n_specials++] = i;
    }
    if (t->eos >= 0) t->eog[t->eos] = 1;
    if (t->eot >= 0) t->eog[t->eot] = 1;
    if (phi3_rstrip(t, f))
        return llmri_err_set(&t->err, LLMR_ERR_NOMEM, "tokenizer: out of memory");
    if (t->eom >= 0) t->eog[t->eom] = 1;
    qsort_r(t->specials, (size_t)t->n_specials, sizeof *t->specials, cmp_special, t);
    for (int k = 0; k < 2; k++) {
        t->by_byte[k] = malloc(((size_t)t->n_specials + 1) * sizeof *t->by_byte[k]);
        if (!t->by_byte[k])
            return llmri_err_set(&t->err, LLMR_ERR_NOMEM, "tokenizer: out of memory");
        uint32_t count[256] = {0};
        for (int32_t r = 0; r < t->n_specials; r++)
            if (k == 1 || t->type[t->specials[r]] == TT_USER)
                count[(uint8_t)t->text[t->specials[r]][0]]++;
        t->by_off[k][0] = 0;
        for (int b = 0; b < 256; b++)
            t->by_off[k][b + 1] = t->by_off[k][b] + count[b];
        uint32_t fill[256];
        memcpy(fill, t->by_off[k], sizeof fill);
        for (int32_t r = 0; r < t->n_specials; r++)
            if (k == 1 || t->type[t->specials[r]] == TT_USER)
                t->by_byte[k][fill[(uint8_t)t->text[t->specials[r]][0]]++] = r;
    }

    for (int b = 0; b < 256; b++) {
        int32_t id = -1;
        if (t->kind == TOK_BPE) {
            char c = (char)b;
            id = tok_lookup(t, &c, 1);
        } else {
            char name[8];
            snprintf(name, sizeof name, "<0x%02X>", b);
            id = tok_lookup(t, name, 6);
            if (id < 0) {
                char c = (char)b;
                id = tok_lookup(t, &c, 1);
            }
            if (id < 0)
                id = t->unk;
        }
        t->byte_tok[b] = id;
    }
    return LLMR_OK;
}

/* True when no token holds U+2581 (SentencePiece's space) after a character other than
 * U+2581: then a merge never joins a character with a following word start, and the text can
 * be merged word by word with the same result as in one piece. */
static bool spm_words_merge_apart(const llmr_tokenizer *t)
{
    for (int32_t i = 0; i < t->n_vocab; i++) {
        const char *s = t->text[i];
        size_t n = t->text_len[i];
        for (size_t k = 1; k + 3 <= n; k++)
            if (memcmp(s + k, "\xE2\x96\x81", 3) == 0 &&
                (k < 3 || memcmp(s + k - 3, "\xE2\x96\x81", 3) != 0))
                return false;
    }
    return true;
}

/* SentencePiece matches its user-defined pieces in the normalized text, where a space and a
 * typed U+2581 are the same character; llmr (as llama.cpp) matches them in the raw text, with
 * the pieces' U+2581 stored as spaces. So "▁  " is Gemma's "▁▁▁" in SentencePiece and in
 * Hugging Face's tokenizer, but split as "▁" and "  " unless the text's U+2581 are read as
 * spaces first. True when that reading is needed and safe: some user-defined piece has a
 * space, and no piece matched in the raw text holds a U+2581 itself. */
static bool spm_user_spaces(const llmr_tokenizer *t)
{
    bool spaces = false;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        uint8_t ty = t->type[i];
        if (ty != TT_USER && ty != TT_CONTROL && ty != TT_UNKNOWN)
            continue;
        if (memmem(t->text[i], t->text_len[i], "\xE2\x96\x81", 3))
            return false;
        spaces |= ty == TT_USER && memchr(t->text[i], ' ', t->text_len[i]) != NULL;
    }
    return spaces;
}

static int load(llmr_tokenizer *t, const gguf_file *f)
{
    const char *path = f->path ? f->path : "gguf";
    const char *model = gguf_get_str(f, "tokenizer.ggml.model");
    if (!model)
        return llmri_err_set(&t->err, LLMR_ERR_FORMAT,
                            "%s: tokenizer.ggml.model (string) is missing: the file has no "
                            "tokenizer", path);
    if (!strcmp(model, "llama"))
        t->kind = TOK_SPM;
    else if (!strcmp(model, "gpt2"))
        t->kind = TOK_BPE;
    else if (!strcmp(model, "bert"))
        t->kind = TOK_WPM;
    else
        return llmri_err_set(&t->err, LLMR_ERR_UNSUPPORTED,
                            "%s: tokenizer.ggml.model \"%.40s\" is not supported (expected "
                            "llama, gpt2 or bert)", path, model);
    snprintf(t->model_name, sizeof t->model_name, "%s", model);
    const char *pre = gguf_get_str(f, "tokenizer.ggml.pre");
    t->pre_name = llmri_strdup(pre ? pre : "default");
    if (!t->pre_name)
        return llmri_err_set(&t->err, LLMR_ERR_NOMEM, "tokenizer: out of memory");
    bool known;
    t->pre = pretok_from_name(t->pre_name, &known);

    uint64_t n = 0;
    const gguf_str *toks = gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_STRING, &n);
    if (!toks || n == 0)
        return llmri_err_set(&t->err, LLMR_ERR_FORMAT,
                            "%s: tokenizer.ggml.tokens (non-empty array of strings) is missing",
                            path);
    if (n > INT32_MAX / 2)
        return llmri_err_set(&t->err, LLMR_ERR_TOO_BIG, "%s: tokenizer.ggml.tokens has %llu "
                            "entries", path, (unsigned long long)n);
    t->n_vocab = (int32_t)n;

    uint64_t ns = 0, nt = 0;
    const float *scores = gguf_get_arr(f, "tokenizer.ggml.scores", GGUF_F32, &ns);
    const int32_t *types = gguf_get_arr(f, "tokenizer.ggml.token_type", GGUF_I32, &nt);
    if (scores && ns != n)
        return llmri_err_set(&t->err, LLMR_ERR_FORMAT, "%s: tokenizer.ggml.scores has %llu "
                            "entries, expected %llu (one per token)", path,
                            (unsigned long long)ns, (unsigned long long)n);
    if (types && nt != n)
        return llmri_err_set(&t->err, LLMR_ERR_FORMAT, "%s: tokenizer.ggml.token_type has "
                            "%llu entries, expected %llu (one per token)", path,
                            (unsigned long long)nt, (unsigned long long)n);
    t->score = calloc(n, sizeof *t->score);
    t->type = malloc(n);
    if (!t->score || !t->type)
        return llmri_err_set(&t->err, LLMR_ERR_NOMEM, "tokenizer: out of memory");
    for (uint64_t i = 0; i < n; i++) {
        if (scores)
            memcpy(&t->score[i], (const char *)scores + 4 * i, 4);
        int32_t ty = TT_NORMAL;
        if (types)
            memcpy(&ty, (const char *)types + 4 * i, 4);
        t->type[i] = (ty >= TT_NORMAL && ty <= TT_BYTE) ? (uint8_t)ty : TT_NORMAL;
    }
    int rc = load_strings(t, toks);
    if (rc)
        return rc;
    if (t->kind == TOK_BPE && (rc = load_merges(t, f)))
        return rc;
    t->ignore_merges = t->kind == TOK_BPE && t->pre == PRE_LLAMA3;
    /* Qwen's tokenizer.json (Qwen2 to Qwen3, and DeepSeek's distilled Qwens) normalizes to NFC;
     * llama.cpp skips it, so "e" + U+0301 got other ids than the "é" the model was trained on */
    t->nfc = t->kind == TOK_BPE &&
             (!strcmp(t->pre_name, "qwen2") || !strcmp(t->pre_name, "deepseek-r1-qwen"));
    t->spm_chunks = t->kind == TOK_SPM && spm_words_merge_apart(t);
    t->spm_u2581 = t->kind == TOK_SPM && spm_user_spaces(t);
    t->cache_min = 4096;
    return load_specials(t, f);
}

int tok_open_gguf(const gguf_file *f, llmr_tokenizer **out, llmr_err *err)
{
    *out = NULL;
    uc_init();
    llmr_tokenizer *t = calloc(1, sizeof *t);
    if (!t)
        return llmri_err_set(err, LLMR_ERR_NOMEM, "tokenizer: out of memory");
    t->bos = t->eos = t->eot = t->eom = t->unk = t->sep = t->pad = t->cls = t->mask = -1;
    int rc = load(t, f);
    if (rc) {
        if (err)
            *err = t->err;
        llmr_tokenizer_close(t);
        return rc;
    }
    *out = t;
    return LLMR_OK;
}

/* ---- public API: open, close, facts --------------------------------------------------------- */

int llmr_tokenizer_open(const char *path, llmr_tokenizer **out)
{
    if (!out)
        return LLMR_ERR_ARG;
    *out = NULL;
    llmr_err err;
    llmri_err_clear(&err);
    gguf_file *f = NULL;
    int rc = path ? gguf_open(path, &f, &err)
                  : llmri_err_set(&err, LLMR_ERR_ARG, "llmr_tokenizer_open: path is NULL");
    llmr_tokenizer *t = NULL;
    if (rc == LLMR_OK) {
        rc = tok_open_gguf(f, &t, &err);
        gguf_close(f);
    }
    if (rc == LLMR_OK) {
        *out = t;
        return rc;
    }
    /* as sqlite3_open: a handle that carries the reason */
    t = calloc(1, sizeof *t);
    if (t)
        t->err = err;
    *out = t;
    return rc;
}

void llmr_tokenizer_close(llmr_tokenizer *t)
{
    if (!t)
        return;
    for (int32_t i = t->n_vocab; i < t->n_keys; i++)
        free(t->keys[i]);
    free(t->keys);
    free(t->keys_len);
    free(t->lookup.slot);
    free(t->merges.slot);
    free(t->text);
    free(t->text_len);
    free(t->piece);
    free(t->piece_len);
    free(t->score);
    free(t->type);
    free(t->specials);
    free(t->by_byte[0]);
    free(t->by_byte[1]);
    free(t->eog);
    free(t->rstrip);
    free(t->arena);
    free(t->pre_name);
    free(t);
}

const char *llmr_tokenizer_errmsg(const llmr_tokenizer *t)
{
    return t ? t->err.msg : "out of memory";
}

int32_t llmr_tokenizer_n_vocab(const llmr_tokenizer *t) { return t ? t->n_vocab : 0; }
llmr_token llmr_tokenizer_bos(const llmr_tokenizer *t) { return t && t->n_vocab ? t->bos : -1; }
llmr_token llmr_tokenizer_eos(const llmr_tokenizer *t) { return t && t->n_vocab ? t->eos : -1; }
llmr_token llmr_tokenizer_eot(const llmr_tokenizer *t) { return t && t->n_vocab ? t->eot : -1; }

const char *llmr_tokenizer_model(const llmr_tokenizer *t)
{
    return t && t->n_vocab ? t->model_name : "";
}

const char *llmr_tokenizer_pre(const llmr_tokenizer *t)
{
    return t && t->pre_name ? t->pre_name : "";
}

bool llmr_token_is_eog(const llmr_tokenizer *t, llmr_token id)
{
    return t && id >= 0 && id < t->n_vocab && t->eog[id];
}

bool llmr_token_is_control(const llmr_tokenizer *t, llmr_token id)
{
    return t && id >= 0 && id < t->n_vocab && t->type[id] == TT_CONTROL;
}

const char *llmr_token_text(const llmr_tokenizer *t, llmr_token id)
{
    return t && id >= 0 && id < t->n_vocab ? t->text[id] : NULL;
}
