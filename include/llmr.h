/*
 * llmr.h - the public interface of libllmr, a local LLM runner and router.
 *
 * This is the only public header. Conventions (as in sqlite3.h):
 *  - Handles are opaque; whoever opens closes (`*_open` / `*_close`), and close accepts NULL.
 *  - Functions return a result code (LLMR_OK, LLMR_PIECE, LLMR_DONE or an LLMR_ERR_*) or a
 *    handle; out-parameters come last.
 *  - llmr_strerror(code) names a code; a handle's llmr_*_errmsg() gives the last detailed
 *    message, naming the file, offset, key or line and what was expected.
 *  - Option structs come with a llmr_*_defaults() initializer, so adding a field never breaks
 *    a caller.
 *  - Callbacks take a `void *user` as their first argument.
 *  - Nothing in the library calls abort() or exit().
 */
#ifndef LLMR_H
#define LLMR_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(LLMR_BUILDING)
#  define LLMR_API __attribute__((visibility("default")))
#else
#  define LLMR_API
#endif

/* ------------------------------------------------------------------------------------------
 * Result codes. Stable: new codes are only ever appended.
 * ------------------------------------------------------------------------------------------ */
enum {
    LLMR_OK               = 0,   /* success */
    LLMR_ERR              = 1,   /* generic failure (see the errmsg) */
    LLMR_ERR_NOMEM        = 2,   /* out of memory */
    LLMR_ERR_IO           = 3,   /* a file could not be opened, read, written or mapped */
    LLMR_ERR_FORMAT       = 4,   /* malformed or corrupt input (model file, JSON, grammar) */
    LLMR_ERR_UNSUPPORTED  = 5,   /* well-formed but not supported (architecture, type, version) */
    LLMR_ERR_ARG          = 6,   /* an argument or option is out of range */
    LLMR_ERR_CONTEXT      = 7,   /* the context window would overflow */
    LLMR_ERR_STATE        = 8,   /* the call does not fit the handle's state */
    LLMR_ERR_CANCELLED    = 9,   /* stopped by the caller */
    LLMR_ERR_TEMPLATE     = 10,  /* a chat template failed to parse or render */
    LLMR_ERR_NETWORK      = 11,  /* a remote backend failed (connect, timeout, 5xx) */
    LLMR_ERR_BUSY         = 12,  /* overloaded; retry later */
    LLMR_ERR_NOT_FOUND    = 13,  /* no such model, tensor, key or token */
    LLMR_ERR_TOO_BIG      = 14,  /* a size, count or product exceeds what can be represented */

    LLMR_PIECE            = 100, /* llmr_stream_next(): a piece of text is ready */
    LLMR_DONE             = 101  /* llmr_stream_next(): the stream has finished */
};

/* The name and meaning of a result code, e.g. "LLMR_ERR_FORMAT: malformed input". Static
 * storage; never NULL. Any thread. */
LLMR_API const char *llmr_strerror(int code);

/* The library's version as "MAJOR.MINOR.PATCH". Static storage. */
LLMR_API const char *llmr_version(void);

/* ------------------------------------------------------------------------------------------
 * Tensor types: every ggml type id that GGUF files may carry, with its block geometry.
 * ------------------------------------------------------------------------------------------ */

/* Facts about ggml type id `type`: its name ("Q4_K"), elements per block, bytes per block,
 * and whether llmr can compute with it. Returns false for an id no ggml version defines. */
typedef struct llmr_type_info {
    const char *name;
    uint32_t    block_size;   /* elements per block */
    uint32_t    type_size;    /* bytes per block */
    bool        computable;   /* dequantize and dot product are implemented */
} llmr_type_info;
LLMR_API bool llmr_type_get(uint32_t type, llmr_type_info *out);

/* ------------------------------------------------------------------------------------------
 * Tokenizer: text <-> token ids with a model's own vocabulary (tokenizer.ggml.* in GGUF).
 *
 * Supported: SentencePiece-style ("llama": score-driven merges, byte fallback, the leading
 * space), byte-level BPE ("gpt2": merge ranks and the pre-tokenizer named by
 * tokenizer.ggml.pre) and WordPiece ("bert").
 *
 * Invalid UTF-8 in text given to llmr_tokenize is not rejected: every byte that does not
 * begin a valid UTF-8 sequence (stray continuation byte, overlong form, surrogate, value past
 * U+10FFFF, truncated sequence) is replaced by U+FFFD before tokenizing, so the result is what
 * the text with those replacements would give.
 *
 * Thread safety: a tokenizer is immutable once open; every function taking a
 * `const llmr_tokenizer *` may be called from several threads at once.
 * ------------------------------------------------------------------------------------------ */
typedef struct llmr_tokenizer llmr_tokenizer;
typedef int32_t llmr_token;
#define LLMR_TOKEN_NULL (-1)

/* Reads the vocabulary of the GGUF file at `path` (the tensors are not touched).
 * As with sqlite3_open, *out receives a handle even on failure (NULL only when out of memory):
 * read the reason with llmr_tokenizer_errmsg(*out), then llmr_tokenizer_close(*out).
 * Returns LLMR_OK, LLMR_ERR_IO, LLMR_ERR_FORMAT (missing or inconsistent tokenizer keys),
 * LLMR_ERR_UNSUPPORTED (a tokenizer.ggml.model other than llama, gpt2, bert) or
 * LLMR_ERR_NOMEM. An unknown tokenizer.ggml.pre falls back to the GPT-2 pre-tokenizer. */
LLMR_API int llmr_tokenizer_open(const char *path, llmr_tokenizer **out);

/* Frees the tokenizer; accepts NULL. */
LLMR_API void llmr_tokenizer_close(llmr_tokenizer *t);

/* The message of the failed open ("" if none). Static until close. */
LLMR_API const char *llmr_tokenizer_errmsg(const llmr_tokenizer *t);

/* Flags for llmr_tokenize. */
enum {
    /* Add the special tokens the model asks for: BOS when tokenizer.ggml.add_bos_token (by
     * default true for "llama" and "bert", where BOS is [CLS]), EOS when add_eos_token, and
     * [SEP] at the end for "bert". */
    LLMR_TOK_ADD_SPECIAL   = 1u << 0,
    /* Recognize the text of control tokens ("<|eot_id|>", "<s>", ...) in the input and emit
     * them as those tokens. Without it, such text is tokenized like any other text, so user
     * input cannot inject control tokens. User-defined tokens (token type 4) are always
     * recognized, as the vocabulary defines them as plain text pieces. */
    LLMR_TOK_PARSE_SPECIAL = 1u << 1,
};

/* Tokenizes len bytes of text (need not be NUL-terminated) into out[0..cap).
 * *n_out receives the number of tokens. Returns LLMR_OK, LLMR_ERR_TOO_BIG when cap is too
 * small (nothing useful is in out; *n_out holds the number needed: call again), LLMR_ERR_ARG
 * (NULL t, or NULL text with len > 0) or LLMR_ERR_NOMEM. Any thread. */
LLMR_API int llmr_tokenize(const llmr_tokenizer *t, const char *text, size_t len, unsigned flags,
                           llmr_token *out, size_t cap, size_t *n_out);

/* Flags for llmr_detokenize and llmr_detok_stream_open. */
enum {
    /* Render control and unknown tokens as their text ("<|eot_id|>"); by default they give
     * no text. */
    LLMR_DETOK_SPECIAL            = 1u << 0,
    /* Keep the space that a SentencePiece vocabulary with add_space_prefix puts before the
     * first word. By default it is removed from the first piece that has text, so that
     * detokenize(tokenize(x)) == x. */
    LLMR_DETOK_KEEP_LEADING_SPACE = 1u << 1,
};

/* Writes the text of n tokens into buf[0..cap) with a terminating NUL, and its length (without
 * the NUL) in *len_out. The text is the bytes of the pieces, concatenated: no spaces are
 * cleaned up, and bytes are not checked (byte tokens may form invalid UTF-8; they are passed
 * through as they are). Returns LLMR_OK, LLMR_ERR_TOO_BIG when cap < length + 1 (*len_out
 * holds the length: call again with length + 1), LLMR_ERR_NOT_FOUND for an id outside
 * [0, n_vocab) (nothing written) or LLMR_ERR_ARG. Any thread. */
LLMR_API int llmr_detokenize(const llmr_tokenizer *t, const llmr_token *tokens, size_t n,
                             unsigned flags, char *buf, size_t cap, size_t *len_out);

/* The text one token stands for: *piece points at *len bytes owned by the tokenizer (valid
 * until close; not NUL-terminated). Control and unknown tokens give "" unless `special`.
 * No leading-space removal. Returns LLMR_OK or LLMR_ERR_NOT_FOUND (id out of range). */
LLMR_API int llmr_token_to_piece(const llmr_tokenizer *t, llmr_token token, bool special,
                                 const char **piece, size_t *len);

/* The token's string as stored in the vocabulary (e.g. "\u2581the" for SentencePiece,
 * "\u0120the" for byte-level BPE), NUL-terminated, owned by the tokenizer; NULL if out of
 * range. */
LLMR_API const char *llmr_token_text(const llmr_tokenizer *t, llmr_token token);

/* Vocabulary size. */
LLMR_API int32_t llmr_tokenizer_n_vocab(const llmr_tokenizer *t);
/* Special ids, or LLMR_TOKEN_NULL when the vocabulary has none. EOT is tokenizer.ggml.
 * eot_token_id, else a token named <|eot_id|>, <|im_end|>, <|end|>, <end_of_turn>, <EOT>... */
LLMR_API llmr_token llmr_tokenizer_bos(const llmr_tokenizer *t);
LLMR_API llmr_token llmr_tokenizer_eos(const llmr_tokenizer *t);
LLMR_API llmr_token llmr_tokenizer_eot(const llmr_tokenizer *t);
/* The model family of the vocabulary: "llama" (SentencePiece), "gpt2" (byte-level BPE) or
 * "bert" (WordPiece); and tokenizer.ggml.pre ("default" when absent). Static until close. */
LLMR_API const char *llmr_tokenizer_model(const llmr_tokenizer *t);
LLMR_API const char *llmr_tokenizer_pre(const llmr_tokenizer *t);

/* True when generating `token` ends the turn: EOS, EOT, EOM, and the tokens that
 * llama.cpp also treats so (<|eot_id|>, <|im_end|>, <|end|>, <|endoftext|>, <end_of_turn>,
 * <|eom_id|>, <EOT>, <|end_of_text|>...). False for ids out of range. */
LLMR_API bool llmr_token_is_eog(const llmr_tokenizer *t, llmr_token token);
/* True for control tokens (token type 3), such as BOS and EOS. */
LLMR_API bool llmr_token_is_control(const llmr_tokenizer *t, llmr_token token);

/* Streaming detokenizer: turns tokens into text as they are generated, holding back the bytes
 * of an incomplete UTF-8 sequence until its last byte arrives, so that every piece it gives
 * is whole UTF-8 (unless the tokens themselves form invalid UTF-8, which is passed through
 * as soon as it is known to be invalid). The concatenation of everything returned by push
 * and by the final flush equals llmr_detokenize of the same tokens with the same flags, byte
 * for byte. One stream per thread; the tokenizer must outlive it. */
typedef struct llmr_detok_stream llmr_detok_stream;

/* Opens a stream over tokenizer t with LLMR_DETOK_ flags. Returns LLMR_OK, LLMR_ERR_ARG or
 * LLMR_ERR_NOMEM (then *out is NULL). */
LLMR_API int llmr_detok_stream_open(const llmr_tokenizer *t, unsigned flags,
                                    llmr_detok_stream **out);
/* Adds one token. *text and *len receive the text now complete (often empty); valid until the next
 * call on s. Returns LLMR_OK or LLMR_ERR_NOT_FOUND (id out of range; the stream is unchanged). */
LLMR_API int llmr_detok_stream_push(llmr_detok_stream *s, llmr_token token, const char **text,
                                    size_t *len);
/* Ends the text: gives whatever is held back (an incomplete sequence at the very end) and
 * resets the stream for a new text. Returns LLMR_OK. */
LLMR_API int llmr_detok_stream_flush(llmr_detok_stream *s, const char **text, size_t *len);
/* Frees the stream; accepts NULL. */
LLMR_API void llmr_detok_stream_close(llmr_detok_stream *s);

#ifdef __cplusplus
}
#endif
#endif /* LLMR_H */
