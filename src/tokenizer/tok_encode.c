/* tok_encode.c - text to tokens: invalid UTF-8 replacement, special-token splitting, BOS/EOS,
 * and dispatch to the SentencePiece, BPE or WordPiece tokenizer. */
#include "tokenizer/tok_impl.h"
#include "core/grow.h"
#include "tokenizer/tok_unicode.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

int tok_vec_push(tok_vec *v, llmr_token id)
{
    if (!LLMR_GROW(v->v, v->cap, v->n + 1))
        return LLMR_ERR_NOMEM;
    v->v[v->n++] = id;
    return LLMR_OK;
}

void tok_vec_free(tok_vec *v)
{
    free(v->v);
    v->v = NULL;
    v->n = v->cap = 0;
}

/* A run of the input: plain text, or one special token found in it. */
typedef struct frag {
    int32_t id;       /* -1: plain text */
    size_t  off, len;
} frag;

typedef struct frag_list {
    frag  *v;
    size_t n, cap;
} frag_list;

static int frag_push(frag_list *l, int32_t id, size_t off, size_t len)
{
    if (id < 0 && len == 0)
        return LLMR_OK;
    if (!LLMR_GROW(l->v, l->cap, l->n + 1))
        return LLMR_ERR_NOMEM;
    l->v[l->n++] = (frag){id, off, len};
    return LLMR_OK;
}

/* An occurrence of special token specials[rank] at byte pos. */
typedef struct hit {
    int32_t rank;
    size_t  pos;
} hit;

static int cmp_hit(const void *a, const void *b)
{
    const hit *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Finds every occurrence of every recognized special token in one pass over the text (the
 * tokens are indexed by first byte). */
static int find_hits(const llmr_tokenizer *t, const char *text, size_t len, int k, hit **out,
                     size_t *n_out)
{
    hit *v = NULL;
    size_t n = 0, cap = 0;
    const uint32_t *off = t->by_off[k];
    for (size_t p = 0; p < len; p++) {
        uint8_t b = (uint8_t)text[p];
        for (uint32_t j = off[b]; j < off[b + 1]; j++) {
            int32_t r = t->by_byte[k][j];
            int32_t id = t->specials[r];
            size_t nl = t->text_len[id];
            if (nl > len - p || memcmp(text + p, t->text[id], nl) != 0)
                continue;
            if (!LLMR_GROW(v, cap, n + 1)) {
                free(v);
                return LLMR_ERR_NOMEM;
            }
            v[n++] = (hit){r, p};
        }
    }
    *out = v;
    *n_out = n;
    return LLMR_OK;
}

/* Splits the text into plain runs and special tokens. Tokens are taken longest first, each
 * at its occurrences from left to right that do not overlap a token already taken, which is
 * what llama.cpp's tokenizer_st_partition does by splitting fragments token by token (so
 * "<|eot_id|>" wins over a shorter token inside it). Control and unknown tokens only when
 * parse_special; user-defined tokens always, since the vocabulary defines them as pieces of
 * plain text. */
static int partition(const llmr_tokenizer *t, const char *text, size_t len, bool parse_special,
                     frag_list *out)
{
    int k = parse_special ? 1 : 0;
    hit *h = NULL;
    size_t nh = 0;
    int rc = t->by_off[k][256] ? find_hits(t, text, len, k, &h, &nh) : LLMR_OK;
    if (rc)
        return rc;
    frag_list a = {0};
    if (nh == 0) {
        rc = frag_push(&a, -1, 0, len);
        if (rc)
            free(a.v);
        else
            *out = a;
        return rc;
    }
    qsort(h, nh, sizeof *h, cmp_hit);
    int32_t *taken = calloc(len, sizeof *taken);   /* id + 1 at a taken token's start */
    uint8_t *used = calloc(len, 1);
    if (!taken || !used) {
        rc = LLMR_ERR_NOMEM;
    } else {
        for (size_t i = 0; i < nh; i++) {
            int32_t id = t->specials[h[i].rank];
            size_t p = h[i].pos, nl = t->text_len[id];
            if (memchr(used + p, 1, nl))
                continue;
            memset(used + p, 1, nl);
            taken[p] = id + 1;
        }
        size_t start = 0;
        for (size_t p = 0; rc == LLMR_OK && p < len;) {
            if (!taken[p]) {
                p++;
                continue;
            }
            int32_t id = taken[p] - 1;
            if ((rc = frag_push(&a, -1, start, p - start)) == LLMR_OK)
                rc = frag_push(&a, id, p, t->text_len[id]);
            p += t->text_len[id];
            if (t->rstrip && t->rstrip[id])   /* C's isspace: the bytes llama.cpp strips */
                while (p < len && !taken[p] && strchr(" \t\n\v\f\r", text[p]) && text[p])
                    p++;
            start = p;
        }
        if (rc == LLMR_OK)
            rc = frag_push(&a, -1, start, len - start);
    }
    free(taken);
    free(used);
    free(h);
    if (rc) {
        free(a.v);
        return rc;
    }
    *out = a;
    return LLMR_OK;
}

/* SentencePiece marks spaces with U+2581 and, with add_space_prefix, starts every run of
 * text that follows the start or a special token with one (llama.cpp's llama_tokenize_impl). */
static int spm_fragment(const llmr_tokenizer *t, const char *s, size_t n, bool prefix,
                        tok_vec *out)
{
    size_t spaces = prefix ? 1 : 0;
    for (size_t i = 0; i < n; i++)
        spaces += s[i] == ' ';
    size_t total = n + 2 * spaces;
    char *buf = malloc(total + 1);
    if (!buf)
        return LLMR_ERR_NOMEM;
    size_t o = 0;
    if (prefix) {
        memcpy(buf, "\xE2\x96\x81", 3);
        o = 3;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ') {
            memcpy(buf + o, "\xE2\x96\x81", 3);
            o += 3;
        } else {
            buf[o++] = s[i];
        }
    }
    int rc = spm_encode(t, buf, o, out);
    free(buf);
    return rc;
}

/* A fragment of a vocabulary whose tokenizer.json normalizes to NFC (Qwen): normalized
 * first, as Hugging Face does after splitting out the added tokens. ASCII is its own NFC. */
static int bpe_fragment(const llmr_tokenizer *t, const char *s, size_t n, tok_vec *out)
{
    size_t i = 0;
    while (i < n && (unsigned char)s[i] < 0x80)
        i++;
    if (!t->nfc || i == n)
        return bpe_encode(t, s, n, out);
    utf8proc_uint8_t *nfc = NULL;
    utf8proc_ssize_t m = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &nfc,
                                      UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (m < 0)   /* only out of memory: the text is valid UTF-8 (sanitized) */
        return m == UTF8PROC_ERROR_NOMEM ? LLMR_ERR_NOMEM : bpe_encode(t, s, n, out);
    int rc = bpe_encode(t, (const char *)nfc, (size_t)m, out);
    free(nfc);
    return rc;
}

/* A copy of s[0..*len) with every U+2581 written as a space (see spm_u2581); *len is updated.
 * NULL when out of memory. */
static char *u2581_as_spaces(const char *s, size_t *len)
{
    char *o = malloc(*len + 1);
    if (!o)
        return NULL;
    size_t w = 0;
    for (size_t i = 0; i < *len;) {
        if (i + 3 <= *len && memcmp(s + i, "\xE2\x96\x81", 3) == 0) {
            o[w++] = ' ';
            i += 3;
        } else {
            o[w++] = s[i++];
        }
    }
    o[w] = 0;
    *len = w;
    return o;
}

int tok_encode(const llmr_tokenizer *t, const char *text, size_t len, unsigned flags,
               tok_vec *out)
{
    size_t n0 = out->n;
    bool add = flags & LLMR_TOK_ADD_SPECIAL;
    size_t slen;
    bool same;
    char *s = len ? uc_sanitize(text, len, &slen, &same) : (char *)text;
    if (len == 0) {
        slen = 0;
        same = true;
    }
    if (!s)
        return LLMR_ERR_NOMEM;
    if (t->spm_u2581 && slen >= 3 && memmem(s, slen, "\xE2\x96\x81", 3)) {
        char *m = u2581_as_spaces(s, &slen);
        if (!same)
            free(s);
        if (!m)
            return LLMR_ERR_NOMEM;
        s = m;
        same = false;
    }
    frag_list fr = {0};
    int rc = slen ? partition(t, s, slen, flags & LLMR_TOK_PARSE_SPECIAL, &fr) : LLMR_OK;
    if (rc == LLMR_OK && add && t->add_bos)
        rc = tok_vec_push(out, t->bos);
    bool prev_special = true;
    for (size_t i = 0; rc == LLMR_OK && i < fr.n; i++) {
        const frag *f = &fr.v[i];
        if (f->id >= 0) {
            rc = tok_vec_push(out, f->id);
            prev_special = true;
            continue;
        }
        switch (t->kind) {
        case TOK_SPM:
            rc = spm_fragment(t, s + f->off, f->len, t->add_space_prefix && prev_special, out);
            break;
        case TOK_BPE:
            rc = bpe_fragment(t, s + f->off, f->len, out);
            break;
        case TOK_WPM:
            rc = wpm_encode(t, s + f->off, f->len, out);
            break;
        }
        prev_special = false;
    }
    if (rc == LLMR_OK && add && t->add_eos)
        rc = tok_vec_push(out, t->eos);
    if (rc == LLMR_OK && add && t->add_sep)
        rc = tok_vec_push(out, t->sep);
    free(fr.v);
    if (!same)
        free(s);
    if (rc)
        out->n = n0;
    return rc;
}

int llmr_tokenize(const llmr_tokenizer *t, const char *text, size_t len, unsigned flags,
                  llmr_token *out, size_t cap, size_t *n_out)
{
    if (n_out)
        *n_out = 0;
    if (!t || !t->n_vocab || (!text && len) || (!out && cap))
        return LLMR_ERR_ARG;
    tok_vec v = {0};
    int rc = tok_encode(t, text ? text : "", len, flags, &v);
    if (rc == LLMR_OK) {
        if (n_out)
            *n_out = v.n;
        if (v.n > cap)
            rc = LLMR_ERR_TOO_BIG;
        else if (v.n)
            memcpy(out, v.v, v.n * sizeof *out);
    }
    tok_vec_free(&v);
    return rc;
}
