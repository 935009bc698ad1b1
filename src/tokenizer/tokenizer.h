/* tokenizer.h - the tokenizer layer's internal interface (the public one is in llmr.h).
 *
 * A llmr_tokenizer is built from the tokenizer.ggml.* keys of a GGUF file (see llama.cpp's
 * docs/gguf.md "Tokenizer" section): tokens (strings), scores (f32), token_type (i32:
 * 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte), merges (strings "a b",
 * by rank), the special ids and the add_* flags. It copies what it needs, so it may outlive
 * the file.
 */
#ifndef LLMR_TOKENIZER_H
#define LLMR_TOKENIZER_H

#include "core/error.h"
#include "gguf/gguf.h"
#include "llmr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Builds a tokenizer from an open GGUF file (which the caller keeps or closes as it likes).
 * On failure *out is NULL and err says which key was missing or wrong. */
int tok_open_gguf(const gguf_file *f, llmr_tokenizer **out, llmr_err *err);

/* A growable token array. */
typedef struct tok_vec {
    llmr_token *v;
    size_t n, cap;
} tok_vec;

void tok_vec_free(tok_vec *v);

/* Appends the tokens of text[0..len) (LLMR_TOK_* flags) to *out. Returns LLMR_OK or
 * LLMR_ERR_NOMEM (out keeps what it had). */
int tok_encode(const llmr_tokenizer *t, const char *text, size_t len, unsigned flags,
               tok_vec *out);

/* The piece of one token (see llmr_token_to_piece); NULL for an id out of range. */
const char *tok_piece(const llmr_tokenizer *t, llmr_token id, bool special, size_t *len);

/* Streaming decoder state, embeddable (no allocation): the stream layer keeps one per
 * generation. Text returned points into `out`, valid until the next call. */
typedef struct tok_stream {
    const llmr_tokenizer *t;
    unsigned flags;
    bool     started;        /* a piece with text has been seen (leading-space rule applied) */
    uint8_t  held[4];        /* an incomplete UTF-8 sequence at the end of the text so far */
    int      n_held;
    char    *out;            /* scratch for the returned text */
    size_t   out_cap;
} tok_stream;

/* Returns LLMR_OK or LLMR_ERR_NOMEM (the scratch buffer is sized once, here). */
int tok_stream_init(tok_stream *s, const llmr_tokenizer *t, unsigned flags);
void tok_stream_free(tok_stream *s);
/* See llmr_detok_stream_push / _flush. */
int tok_stream_push(tok_stream *s, llmr_token id, const char **text, size_t *len);
int tok_stream_flush(tok_stream *s, const char **text, size_t *len);

#endif
