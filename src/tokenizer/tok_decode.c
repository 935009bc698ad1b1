/* tok_decode.c - tokens to text: pieces, whole-text detokenization and the streaming decoder.
 *
 * A piece is the bytes a token stands for (tok_vocab.c precomputes them): SentencePiece's
 * U+2581 is a space, <0xNN> is byte NN, byte-level BPE's code points are their bytes again.
 * Text is the plain concatenation of pieces; the only edit is SentencePiece's leading space
 * (add_space_prefix put it before the first word, so it is taken off the first piece that
 * has text), made identically by llmr_detokenize and the stream, so both give the same bytes.
 */
#include "tokenizer/tok_impl.h"

#include <stdlib.h>
#include <string.h>

const char *tok_piece(const llmr_tokenizer *t, llmr_token id, bool special, size_t *len)
{
    if (!t || id < 0 || id >= t->n_vocab) {
        *len = 0;
        return NULL;
    }
    uint8_t ty = t->type[id];
    if (!special && (ty == TT_CONTROL || ty == TT_UNKNOWN)) {
        *len = 0;
        return "";
    }
    *len = t->piece_len[id];
    return t->piece[id];
}

int llmr_token_to_piece(const llmr_tokenizer *t, llmr_token token, bool special,
                        const char **piece, size_t *len)
{
    size_t n;
    const char *p = tok_piece(t, token, special, &n);
    if (piece)
        *piece = p ? p : "";
    if (len)
        *len = n;
    return p ? LLMR_OK : LLMR_ERR_NOT_FOUND;
}

/* The piece with the leading-space rule applied; *started tracks whether text has begun. */
static const char *piece_for(const llmr_tokenizer *t, llmr_token id, unsigned flags,
                             bool *started, size_t *len)
{
    const char *p = tok_piece(t, id, flags & LLMR_DETOK_SPECIAL, len);
    if (!p || *len == 0)
        return p;
    if (!*started) {
        *started = true;
        if (t->add_space_prefix && !(flags & LLMR_DETOK_KEEP_LEADING_SPACE) && p[0] == ' ') {
            p++;
            (*len)--;
        }
    }
    return p;
}

int llmr_detokenize(const llmr_tokenizer *t, const llmr_token *tokens, size_t n,
                    unsigned flags, char *buf, size_t cap, size_t *len_out)
{
    if (len_out)
        *len_out = 0;
    if (!t || !t->n_vocab || (!tokens && n) || (!buf && cap))
        return LLMR_ERR_ARG;
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= t->n_vocab)
            return LLMR_ERR_NOT_FOUND;
    bool started = false;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l;
        const char *p = piece_for(t, tokens[i], flags, &started, &l);
        if (total + l < cap)   /* once a piece does not fit, the result is TOO_BIG anyway */
            memcpy(buf + total, p, l);
        else
            cap = 0;
        total += l;
    }
    if (len_out)
        *len_out = total;
    if (total + 1 > cap)
        return LLMR_ERR_TOO_BIG;
    buf[total] = 0;
    return LLMR_OK;
}

/* ---- streaming ------------------------------------------------------------------------------ */

/* How many bytes at the end of s[0..n) are the start of a UTF-8 sequence that later bytes
 * could still complete (0 when the end is complete, or when what is there can never become
 * valid: that is passed on at once rather than held forever). */
static int incomplete_tail(const uint8_t *s, size_t n)
{
    for (int k = 1; k <= 3 && (size_t)k <= n; k++) {
        uint8_t b = s[n - (size_t)k];
        if ((b & 0xC0) == 0x80)
            continue;   /* a continuation byte: look further back for the lead */
        int need = b >= 0xC2 && b <= 0xDF ? 2 : b >= 0xE0 && b <= 0xEF ? 3
                 : b >= 0xF0 && b <= 0xF4 ? 4 : 0;
        if (need <= k)
            return 0;   /* ASCII, an invalid lead, or a sequence already complete */
        if (k >= 2) {   /* the second byte's narrower range (RFC 3629 section 4) */
            uint8_t c = s[n - (size_t)k + 1];
            if ((b == 0xE0 && c < 0xA0) || (b == 0xED && c > 0x9F) ||
                (b == 0xF0 && c < 0x90) || (b == 0xF4 && c > 0x8F))
                return 0;
        }
        return k;
    }
    return 0;
}

int tok_stream_init(tok_stream *s, const llmr_tokenizer *t, unsigned flags)
{
    memset(s, 0, sizeof *s);
    s->t = t;
    s->flags = flags;
    size_t max = 0;
    for (int32_t i = 0; i < t->n_vocab; i++)
        if (t->piece_len[i] > max)
            max = t->piece_len[i];
    s->out_cap = max + 8;   /* a piece plus held bytes: no allocation per token */
    s->out = malloc(s->out_cap);
    return s->out ? LLMR_OK : LLMR_ERR_NOMEM;
}

void tok_stream_free(tok_stream *s)
{
    free(s->out);
    s->out = NULL;
}

int tok_stream_push(tok_stream *s, llmr_token id, const char **text, size_t *len)
{
    *text = "";
    *len = 0;
    if (!s->t || id < 0 || id >= s->t->n_vocab)
        return LLMR_ERR_NOT_FOUND;
    size_t l;
    const char *p = piece_for(s->t, id, s->flags, &s->started, &l);
    size_t n = (size_t)s->n_held;
    memcpy(s->out, s->held, n);
    memcpy(s->out + n, p, l);
    n += l;
    int keep = incomplete_tail((const uint8_t *)s->out, n);
    n -= (size_t)keep;
    memcpy(s->held, s->out + n, (size_t)keep);
    s->n_held = keep;
    s->out[n] = 0;
    *text = s->out;
    *len = n;
    return LLMR_OK;
}

int tok_stream_flush(tok_stream *s, const char **text, size_t *len)
{
    size_t n = (size_t)s->n_held;
    if (s->out) {
        memcpy(s->out, s->held, n);
        s->out[n] = 0;
    }
    *text = s->out ? s->out : "";
    *len = s->out ? n : 0;
    s->n_held = 0;
    s->started = false;
    return LLMR_OK;
}

struct llmr_detok_stream {
    tok_stream s;
};

int llmr_detok_stream_open(const llmr_tokenizer *t, unsigned flags, llmr_detok_stream **out)
{
    if (!out)
        return LLMR_ERR_ARG;
    *out = NULL;
    if (!t || !t->n_vocab)
        return LLMR_ERR_ARG;
    llmr_detok_stream *d = malloc(sizeof *d);
    if (!d)
        return LLMR_ERR_NOMEM;
    if (tok_stream_init(&d->s, t, flags)) {
        free(d);
        return LLMR_ERR_NOMEM;
    }
    *out = d;
    return LLMR_OK;
}

int llmr_detok_stream_push(llmr_detok_stream *d, llmr_token token, const char **text,
                           size_t *len)
{
    const char *tx;
    size_t n;
    if (!d)
        return LLMR_ERR_ARG;
    int rc = tok_stream_push(&d->s, token, &tx, &n);
    if (text)
        *text = tx;
    if (len)
        *len = n;
    return rc;
}

int llmr_detok_stream_flush(llmr_detok_stream *d, const char **text, size_t *len)
{
    const char *tx;
    size_t n;
    if (!d)
        return LLMR_ERR_ARG;
    int rc = tok_stream_flush(&d->s, &tx, &n);
    if (text)
        *text = tx;
    if (len)
        *len = n;
    return rc;
}

void llmr_detok_stream_close(llmr_detok_stream *d)
{
    if (!d)
        return;
    tok_stream_free(&d->s);
    free(d);
}
