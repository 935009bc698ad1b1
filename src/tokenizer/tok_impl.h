/* tok_impl.h - the tokenizer's private structures, shared by the files of this folder only. */
#ifndef LLMR_TOK_IMPL_H
#define LLMR_TOK_IMPL_H

#include "tokenizer/tokenizer.h"

/* tokenizer.ggml.token_type values (llama.cpp's llama_token_type). */
enum {
    TT_UNDEFINED = 0, TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_USER = 4, TT_UNUSED = 5,
    TT_BYTE = 6
};

typedef enum { TOK_SPM, TOK_BPE, TOK_WPM } tok_kind;

/* Pre-tokenizers, one per distinct regex set of the BPE vocabularies (tok_pretok.c). */
typedef enum {
    PRE_DEFAULT, PRE_GPT2, PRE_LLAMA3, PRE_QWEN2, PRE_DEEPSEEK_LLM, PRE_DEEPSEEK_CODER,
    PRE_FALCON, PRE_STARCODER, PRE_COUNT
} tok_pre;

/* Open-addressing map from byte strings to ids: the strings are the tokenizer's keys[id]. */
typedef struct str_map {
    uint64_t *slot;          /* hash high 32 bits << 32 | (id + 1); 0 = empty. The stored
                                hash bits let most probes skip reading the key itself. */
    uint32_t  mask;
    uint32_t  count;
} str_map;

/* Map from a pair of ids to the merge (rank, result id). */
typedef struct pair_slot {
    uint64_t key;            /* (left << 32 | right) + 1, 0 = empty */
    int32_t  rank;
    int32_t  result;
} pair_slot;

typedef struct pair_map {
    pair_slot *slot;         /* one cache line holds the key and its answer */
    uint32_t   mask;
} pair_map;

struct llmr_tokenizer {
    tok_kind kind;
    tok_pre  pre;
    char     model_name[16];
    char    *pre_name;
    int32_t  n_vocab;

    char    **text;          /* vocabulary strings as stored, NUL-terminated */
    uint32_t *text_len;
    float    *score;
    uint8_t  *type;          /* TT_* */
    char    **piece;         /* what a token stands for as text (▁ -> space, byte map undone) */
    uint32_t *piece_len;
    uint32_t  max_piece_len;

    /* Lookup of vocabulary strings. SPM and WPM: the strings as stored. BPE: the raw bytes
     * the token stands for (its piece); entries [n_vocab, n_keys) are strings that only
     * appear inside merges, given ids past the vocabulary so merges can refer to them. */
    str_map   lookup;
    char    **keys;          /* [n_keys]; past n_vocab they are malloc'd one by one */
    uint32_t *keys_len;
    int32_t   n_keys;
    size_t    cap_keys;

    pair_map  merges;        /* BPE */
    int32_t   byte_tok[256]; /* SPM: <0xNN>; BPE: the token of the byte's mapped char */
    bool      ignore_merges; /* BPE (Llama 3): a word that is a token is not merged */
    bool      nfc;           /* BPE (Qwen): text is NFC-normalized before pre-tokenizing, as
                                the tokenizer.json's NFC normalizer does; GGUF does not say */
    size_t    cache_min;     /* BPE, SPM: texts this long get a per-call cache of merged
                                words (4096; tests set SIZE_MAX to compare without it) */
    uint32_t  max_token_len; /* WPM */
    bool      spm_chunks;    /* SPM: no token has a U+2581 right after another character, so
                                no merge crosses the start of a word: words merge apart */
    bool      spm_u2581;     /* SPM with user-defined pieces of spaces (Gemma's "▁▁"...): a
                                U+2581 typed in the text is read as the space it stands for */

    /* Tokens recognized before pre-tokenization, longest first. */
    int32_t  *specials;
    int32_t   n_specials;
    /* By first byte, the ranks (indexes into specials) of the tokens starting with it:
     * by_byte[k][by_off[k][b] .. by_off[k][b + 1]); k = 0: user-defined tokens only (always
     * recognized), k = 1: every special token (LLMR_TOK_PARSE_SPECIAL). */
    int32_t  *by_byte[2];
    uint32_t  by_off[2][257];

    llmr_token bos, eos, eot, eom, unk, sep, pad, cls, mask;
    bool add_bos, add_eos, add_sep, add_space_prefix;
    uint8_t *eog;            /* one byte per id: ends generation */
    uint8_t *rstrip;         /* one byte per id, or NULL: the whitespace right after this
                                special token in the text is dropped (Phi-3) */

    llmr_err err;            /* why open failed */
    char   *arena;           /* all strings, one block */
};

/* The hash the lookup uses (fast, 8 bytes at a time). */
uint64_t tok_hash(const char *s, size_t n);
/* Lookup of s[0..n) among t->keys: id or -1. */
int32_t tok_lookup(const llmr_tokenizer *t, const char *s, size_t n);
int32_t pair_map_get(const pair_map *m, int32_t a, int32_t b, int32_t *result);

/* The three tokenizers, each appending to out the tokens of one fragment of plain text
 * (special tokens have been split off already). Return LLMR_OK or LLMR_ERR_NOMEM. */
int spm_encode(const llmr_tokenizer *t, const char *text, size_t len, tok_vec *out);
int bpe_encode(const llmr_tokenizer *t, const char *text, size_t len, tok_vec *out);
int wpm_encode(const llmr_tokenizer *t, const char *text, size_t len, tok_vec *out);

int tok_vec_push(tok_vec *v, llmr_token id);

/* A cache of merged words for one call (tok_cache.c). Text repeats its words and a word's
 * tokens depend on its bytes alone, so a long text merges each distinct word about once.
 * Direct-mapped: a newer word replaces an older one in its slot; one cache line per entry. */
#define WC_WORD  22          /* longer words are not cached */
#define WC_IDS   8           /* nor words of more tokens */
#define WC_SLOTS 4096
typedef struct wc_entry {
    uint64_t hash;
    uint8_t  len, n;
    char     word[WC_WORD];
    int32_t  ids[WC_IDS];
} wc_entry;

wc_entry *wc_new(void);
/* With a cache c (may be NULL): true when word w[0..n) is cached, its tokens then appended to
 * out (*rc: LLMR_OK or LLMR_ERR_NOMEM). Otherwise *slot is where wc_fill should record it
 * (NULL if the word is not cacheable). */
bool wc_find(wc_entry *c, const char *w, size_t n, tok_vec *out, wc_entry **slot, int *rc);
void wc_fill(wc_entry *slot, const char *w, size_t n, const llmr_token *ids, size_t n_ids);

/* Pre-tokenization (tok_pretok.c): splits UTF-8 text into words. The callback receives each
 * word's byte range in order; a non-zero return stops and is passed back. */
typedef int (*pretok_word_fn)(void *user, const char *word, size_t len);
int pretok_split(tok_pre pre, const char *text, size_t len, pretok_word_fn fn, void *user);
/* The pre-tokenizer for a tokenizer.ggml.pre name; *known is false for a name not in the
 * table, which gets PRE_DEFAULT (llama.cpp's regex list for a vocabulary without a name). */
tok_pre pretok_from_name(const char *name, bool *known);

#endif
