/* tok_encode.c - text to tokens: invalid UTF-8 replacement, special-token splitting, BOS/EOS,
 * and dispatch to the SentencePiece, BPE or WordPiece tokenizer. */
#include "tokenizer/tok_impl.h"
#include "tokenizer/tok_unicode.h"

#include <stdlib.h>
#include <string.h>

int tok_vec_push(tok_vec *v, llmr_token id)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        llmr_token *nv = realloc(v->v, cap * sizeof *nv);
        if (!nv)
            return LLMR_ERR_NOMEM;
        v->v = nv;
        v->cap = cap;
    }
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
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        frag *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return LLMR_ERR_NOMEM;
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = (frag){id, off, len};
    return LLMR_OK;
}

/* Splits the plain-text runs at every occurrence of each special token, longest tokens first
 * (as llama.cpp's tokenizer_st_partition does, so "<|eot_id|>" wins over a shorter token
 * that it contains). Control and unknown tokens only when parse_special; user-defined
 * tokens always, since the vocabulary defines them as pieces of plain text. */
static int partition(const llmr_tokenizer *t, const char *text, size_t len, bool parse_special,
                     frag_list *out)
{
    frag_list a = {0}, b = {0};
    int rc = frag_push(&a, -1, 0, len);
    for (int32_t k = 0; rc == LLMR_OK && k < t->n_specials; k++) {
        int32_t id = t->specials[k];
        if (!parse_special && t->type[id] != TT_USER)
            continue;
        const char *needle = t->text[id];
        size_t nl = t->text_len[id];
        b.n = 0;
        bool found = false;
        for (size_t i = 0; rc == LLMR_OK && i < a.n; i++) {
            frag f = a.v[i];
            if (f.id >= 0 || f.len < nl) {
                rc = frag_push(&b, f.id, f.off, f.len);
                continue;
            }
            size_t pos = f.off, end = f.off + f.len;
            for (;;) {
                const char *hit = memmem(text + pos, end - pos, needle, nl);
                if (!hit)
                    break;
                size_t at = (size_t)(hit - text);
                found = true;
                if ((rc = frag_push(&b, -1, pos, at - pos)) ||
                    (rc = frag_push(&b, id, at, nl)))
                    break;
                pos = at + nl;
            }
            if (rc == LLMR_OK)
                rc = frag_push(&b, -1, pos, end - pos);
        }
        if (found) {
            frag_list tmp = a;
            a = b;
            b = tmp;
        }
    }
    free(b.v);
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
            rc = bpe_encode(t, s + f->off, f->len, out);
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
