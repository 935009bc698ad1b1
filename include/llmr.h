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
    LLMR_ERR_DENIED       = 15,  /* not allowed by the configuration (a path, a download) */

    LLMR_PIECE            = 100, /* llmr_stream_next(): a piece of text is ready */
    LLMR_DONE             = 101  /* llmr_stream_next(): the stream has finished */
};

/* The name and meaning of a result code, e.g. "LLMR_ERR_FORMAT: malformed input". Static
 * storage; never NULL. Any thread. */
LLMR_API const char *llmr_strerror(int code);

/* Whether an error code is worth retrying after a delay (a remote backend failed or is busy:
 * LLMR_ERR_NETWORK, LLMR_ERR_BUSY). */
LLMR_API bool llmr_err_retryable(int code);

/* The library's version as "MAJOR.MINOR.PATCH". Static storage. */
LLMR_API const char *llmr_version(void);

/* ------------------------------------------------------------------------------------------
 * Tensor types: every ggml type id that GGUF files may carry, with its block geometry.
 * ------------------------------------------------------------------------------------------ */

/* Facts about ggml type id `type`: its name ("Q4_K"), elements per block, bytes per block,
 * and whether llmr can compute with it. Returns false for an id no ggml version defines.
 * Also describes llmr's own ids for row-interleaved layouts (`llmr quantize --repack`: 0x10000
 * | rows << 8 | plain id, named like "Q8_0_R8", with the plain type's block geometry); those
 * report computable false: a model load converts them or uses them through its own kernels. */
typedef struct llmr_type_info {
    const char *name;
    uint32_t    block_size;   /* elements per block */
    uint32_t    type_size;    /* bytes per block */
    bool        computable;   /* dequantize and dot product are implemented */
} llmr_type_info;
LLMR_API bool llmr_type_get(uint32_t type, llmr_type_info *out);

/* ------------------------------------------------------------------------------------------
 * Models: a GGUF file's weights (memory-mapped, shared) ready for evaluation.
 * Supported architectures: llama (Llama 1/2/3, TinyLlama, SmolLM, Mistral dense) and qwen2.
 * ------------------------------------------------------------------------------------------ */
typedef struct llmr_model llmr_model;

/* Element type of the KV cache (llama.cpp's --cache-type-k / -v). F16 halves F32's memory;
 * F32 reproduces llama.cpp's F32-cache logits most closely; Q8_0 (34 bytes per 32 values)
 * and Q4_0 (18 bytes) quantize each position's keys or values once, when stored, in blocks of
 * 32 along the head dimension (which must then be a multiple of 32): 0.53x and 0.28x F16's
 * memory and of the bytes a decode step reads from the cache. Their accuracy, measured as
 * the KL divergence of the next-token distribution from an F16 cache's over a 4k-token
 * prompt, is in bench/README.md ("Long context"). LLMR_KV_SAME is only for kv_type_v:
 * the V cache takes kv_type's type. */
typedef enum llmr_kv_type {
    LLMR_KV_SAME = -1, LLMR_KV_F16 = 0, LLMR_KV_F32 = 1, LLMR_KV_Q8_0 = 2, LLMR_KV_Q4_0 = 3
} llmr_kv_type;

typedef struct llmr_model_opts {
    int n_threads;          /* compute threads, 0..1024; 0 = the number of physical cores;
                               more than the CPUs this process may run on (its affinity
                               mask) is capped at that count */
    int n_ctx;              /* context (positions) of each sequence - of each stream's KV slot
                               (see n_parallel); 0 = the model's training context, at most
                               4096 */
    llmr_kv_type kv_type;   /* the K cache's type, and the V cache's unless kv_type_v says
                               otherwise; default LLMR_KV_F16 */
    llmr_kv_type kv_type_v; /* the V cache's type; default LLMR_KV_SAME (as kv_type). A
                               struct not made by llmr_model_defaults() that leaves this 0
                               gets an F16 V cache */
    int n_parallel;         /* streams decoded together (continuous batching, see "Generation
                               and streaming"): 1..64, 0 = 4. Each generating stream holds one
                               KV slot of n_ctx positions; slots are allocated when first
                               needed, so a model that only ever runs one stream at a time
                               holds one. Streams beyond n_parallel queue, oldest first */
    int max_queued;         /* streams that may wait for a slot; an open beyond that fails
                               with LLMR_ERR_BUSY (retryable). 0 = no limit; -1 = none may
                               wait: an open finding every slot taken is LLMR_ERR_BUSY */
} llmr_model_opts;

/* Default options (all automatic, F16 cache for keys and values). */
LLMR_API llmr_model_opts llmr_model_defaults(void);

/* The llmr_kv_type named by `name` ("f16", "f32", "q8_0", "q4_0", as llama.cpp's
 * --cache-type-k spells them, case-insensitive) in *out: true, or false for any other name. */
LLMR_API bool llmr_kv_type_parse(const char *name, llmr_kv_type *out);
/* The name of a llmr_kv_type ("f16", ...); "?" for a value out of range. */
LLMR_API const char *llmr_kv_type_name(llmr_kv_type t);

/* Opens the GGUF model at `path` (opts may be NULL for the defaults): maps the file, reads
 * the hyper-parameters, and checks every tensor's presence, type and shape against them, so
 * that a bad file fails here with a message naming the key or tensor, never later.
 * As with sqlite3_open, *out receives a handle even on failure (NULL only when out of memory):
 * read the reason with llmr_model_errmsg(*out), then llmr_model_close(*out).
 * Returns LLMR_OK, LLMR_ERR_IO (cannot open or map), LLMR_ERR_FORMAT (malformed file, missing
 * tensor or key, shape that disagrees with the metadata), LLMR_ERR_UNSUPPORTED (architecture
 * or tensor type), LLMR_ERR_ARG (options out of range) or LLMR_ERR_NOMEM.
 * Thread safety: the handle may be used from several threads; evaluations take turns. */
LLMR_API int llmr_model_open(const char *path, const llmr_model_opts *opts, llmr_model **out);

/* As llmr_model_open(), for a GGUF file already in memory: `data` (`size` bytes) is used in
 * place, not copied, so it must stay unchanged and alive until llmr_model_close(); the caller
 * frees it afterwards. `name` (may be NULL: "(memory)") stands for the file in error messages.
 * This is how a front end without a file system loads a model (the WebAssembly build's worker
 * streams a download into memory and opens it here). Same results as llmr_model_open(), with
 * LLMR_ERR_ARG for NULL data. Any thread. */
LLMR_API int llmr_model_open_memory(const void *data, size_t size, const char *name,
                                    const llmr_model_opts *opts, llmr_model **out);

/* Opens the first of `paths` that opens (a model that may fail to load, then its backup):
 * tries each in order with llmr_model_open() and the same options (NULL:
 * defaults), stops at the first success and returns LLMR_OK with the model in *out and its
 * position in *which (may be NULL). When all fail, returns the last error code and, when
 * errbuf is not NULL, writes one line per path saying why it failed. */
LLMR_API int llmr_model_open_first(const char *const *paths, size_t n_paths,
                                   const llmr_model_opts *o, llmr_model **out, size_t *which,
                                   char *errbuf, size_t errbuf_len);

/* Turns what a user types for a model into the path of a local GGUF file, so that every
 * front end accepts the same names: an existing path (returned as it is: opening it reports a
 * bad file); an alias (the cache's aliases.json, `llmr alias`); a file of the download cache
 * ($LLMR_CACHE_DIR, default ~/.cache/llmr) by the name `llmr ls` prints, with or without
 * .gguf, or ollama's NAME:TAG (the file NAME-TAG; NAME is NAME:latest); an http(s) URL or
 * hf:ORG/REPO/FILE.gguf, downloaded into the cache on first use (this may take long and
 * draws no progress); "stories260K" or "default": the default model shipped with llmr
 * (models/stories260K.gguf; $LLMR_DEFAULT_MODEL overrides it); NULL or "" is the default model
 * too. Writes the path (NUL-terminated) to path (path_len bytes).
 * Returns LLMR_OK, LLMR_ERR_NOT_FOUND (an unknown name: the message lists close matches),
 * LLMR_ERR_ARG (a name matching several cached files, a path too long for path_len), or a
 * download's error (LLMR_ERR_NETWORK, LLMR_ERR_FORMAT, LLMR_ERR_IO), with one line saying why
 * in errbuf (errbuf_len bytes; may be NULL). Any thread. */
LLMR_API int llmr_model_resolve(const char *name, char *path, size_t path_len, char *errbuf,
                                size_t errbuf_len);

/* The last detailed error message of m ("" if none); valid until the next call on m. */
LLMR_API const char *llmr_model_errmsg(const llmr_model *m);

/* Frees the model and unmaps its file; accepts NULL. Every sequence, tokenizer or stream made
 * from it must be closed first. */
LLMR_API void llmr_model_close(llmr_model *m);

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
 * LLMR_ERR_NOMEM. A missing or unknown tokenizer.ggml.pre gets llama.cpp's default BPE
 * pre-tokenizer (its regex list for "default"). */
LLMR_API int llmr_tokenizer_open(const char *path, llmr_tokenizer **out);

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
 * small (nothing useful is in out; *n_out holds the number needed: call again) or when one
 * piece of text to merge is 2 GiB or more (then *n_out is 0), LLMR_ERR_ARG
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

/* Frees the tokenizer; accepts NULL. */
LLMR_API void llmr_tokenizer_close(llmr_tokenizer *t);

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

/* ------------------------------------------------------------------------------------------
 * Embeddings (src/stream/embed_api.c): one vector per input text (or per token), from
 * encoder models (bert: BGE, MiniLM, E5; nomic-bert) and from decoders (llama, qwen2: the
 * hidden state after the output norm, as llama.cpp's embeddings are).
 * ------------------------------------------------------------------------------------------ */

/* How the hidden states of an input's tokens become its vector. The numbers are those of
 * the GGUF key <arch>.pooling_type (llama.cpp's llama_pooling_type). */
typedef enum llmr_pooling {
    LLMR_POOL_DEFAULT = -1,  /* the model's <arch>.pooling_type; when the file has none:
                                MEAN for encoders, LAST for decoders */
    LLMR_POOL_NONE = 0,      /* no pooling: one vector per token */
    LLMR_POOL_MEAN = 1,      /* the average over the input's tokens */
    LLMR_POOL_CLS = 2,       /* the first token's (BERT's [CLS]) */
    LLMR_POOL_LAST = 3       /* the last token's */
} llmr_pooling;

typedef struct llmr_embed_opts {
    llmr_pooling pooling;   /* default LLMR_POOL_DEFAULT */
    bool normalize;         /* divide each vector by its L2 norm (a zero vector stays zero);
                               default true */
    bool add_special;       /* tokenize with the special tokens the model asks for (BERT's
                               [CLS] ... [SEP], a decoder's BOS); default true */
    bool truncate;          /* cut an input longer than the model's context to its first
                               tokens instead of failing with LLMR_ERR_CONTEXT; default false */
} llmr_embed_opts;

/* Default options: the model's pooling, L2-normalised, special tokens added. */
LLMR_API llmr_embed_opts llmr_embed_defaults(void);

/* One input: text (len bytes, tokenized with the model's tokenizer; special-token text is
 * never parsed as such) or, when tokens is not NULL, n_tokens token ids used as they are. */
typedef struct llmr_embed_input {
    const char *text;
    size_t len;
    const llmr_token *tokens;
    size_t n_tokens;
} llmr_embed_input;

/* The result of llmr_embed. Read-only for the caller; freed by llmr_embeddings_free. */
typedef struct llmr_embeddings {
    int dim;                     /* values per vector: the model's embedding length */
    llmr_pooling pooling;        /* the pooling used (never LLMR_POOL_DEFAULT) */
    size_t n_inputs;
    const float *const *vectors; /* per input: n_vectors[i] * dim floats, vector after vector */
    const size_t *n_vectors;     /* per input: 1, or its token count with LLMR_POOL_NONE */
    const size_t *n_tokens;      /* per input: the tokens evaluated */
    uint64_t total_tokens;       /* their sum (OpenAI's usage.prompt_tokens) */
} llmr_embeddings;

/* Embeds n inputs in as few passes over the weights as they fit in: an encoder evaluates
 * several whole inputs per pass (each attends to its own tokens only), a decoder several
 * inputs per batched pass (long ones in chunks). opts may be NULL for the defaults.
 * As with llmr_model_open, *out receives a result even on failure (NULL only when out of
 * memory): read the reason with llmr_embeddings_errmsg(*out), then llmr_embeddings_free(*out).
 * Returns LLMR_OK; LLMR_ERR_ARG for n == 0, an empty input (no text, or no tokens), a token
 * id outside the vocabulary or options out of range; LLMR_ERR_CONTEXT for an input of more
 * tokens than the model's context (an encoder's context_length: its positions; a decoder's
 * llmr_model_opts.n_ctx), unless opts->truncate; LLMR_ERR_UNSUPPORTED for a model whose GGUF asks
 * for rank pooling (rerankers); LLMR_ERR_FORMAT when the weights make NaN or infinite values;
 * LLMR_ERR_NOMEM. The messages name the input by its index.
 * Thread safety: any thread, whatever its stack size (the passes run on a thread of their
 * own); calls on one model take turns with each other and with its streams' evaluation. */
LLMR_API int llmr_embed(llmr_model *m, const llmr_embed_input *inputs, size_t n,
                        const llmr_embed_opts *opts, llmr_embeddings **out);

/* Why llmr_embed failed ("" after success); valid until e is freed. */
LLMR_API const char *llmr_embeddings_errmsg(const llmr_embeddings *e);

/* Frees a result of llmr_embed; accepts NULL. */
LLMR_API void llmr_embeddings_free(llmr_embeddings *e);

/* ------------------------------------------------------------------------------------------
 * Sampling and constrained output (src/sampler/).
 *
 * What a caller sets to choose the next token from the model's logits. The stream layer copies
 * these fields into its generation options; they are validated before generation starts
 * (llmr_sampling_validate), so a bad value is an LLMR_ERR_ARG up front, never mid-stream.
 *
 * Order of application (llama.cpp's common default chain):
 *   penalties (repetition, presence, frequency over the last penalty_last_n tokens)
 *   -> logit bias -> grammar mask -> top-k -> typical-p -> top-p -> min-p -> temperature
 *   -> draw from the softmax with the seeded PRNG (xoshiro256**, seeded through splitmix64).
 * temperature == 0 is exact greedy decoding: the argmax after penalties, bias and grammar,
 * ties going to the lowest token id; the other filters cannot change it and are skipped.
 * ------------------------------------------------------------------------------------------ */

/* Pass as llmr_sampling.seed to draw a seed from the clock and the process id at start. */
#define LLMR_SEED_RANDOM UINT64_MAX

/* One logit bias entry: `bias` is added to token `token`'s logit; -INFINITY bans it. */
typedef struct llmr_logit_bias {
    int32_t token;
    float   bias;
} llmr_logit_bias;

typedef struct llmr_sampling {
    float    temperature;       /* >= 0; 0 = greedy (argmax, ties to lowest id). Default 0.8 */
    int32_t  top_k;             /* keep the k most likely; 0 = off. Default 40 */
    float    top_p;             /* nucleus: smallest set reaching mass p, in (0,1]; 1 = off. 0.95 */
    float    min_p;             /* drop p < min_p * p_max, in [0,1]; 0 = off. Default 0.05 */
    float    typical_p;         /* locally typical sampling, in (0,1]; 1 = off. Default 1 */
    float    repeat_penalty;    /* > 0; logit/r if positive, logit*r if not; 1 = off. Default 1 */
    float    presence_penalty;  /* subtracted once from any token in the window. Default 0 */
    float    frequency_penalty; /* subtracted count times. Default 0 */
    int32_t  penalty_last_n;    /* window of recent tokens the penalties see; 0 = off. 64 */
    int32_t  min_keep;          /* top-k/typical/top-p/min-p keep at least this many. Default 1 */
    uint64_t seed;              /* PRNG seed; same seed and settings give the same output.
                                   LLMR_SEED_RANDOM (the default) picks one at start */
    const llmr_logit_bias *logit_bias; /* n_logit_bias entries, borrowed; copied at open */
    size_t   n_logit_bias;
    /* Constrained output: at most one of the three below. Borrowed; copied at open. */
    const char *grammar;        /* GBNF text (llama.cpp's syntax), start rule `root`; or NULL */
    const char *json_schema;    /* a JSON schema (subset, see llmr_json_schema_to_grammar) */
    bool        json_object;    /* any JSON object (OpenAI response_format json_object) */
} llmr_sampling;

/* The defaults above (llama.cpp's). Any thread. */
LLMR_API llmr_sampling llmr_sampling_defaults(void);

/* Checks every field of *s, and compiles its grammar or schema if any. Returns LLMR_OK, or
 * LLMR_ERR_ARG (a value out of range, or several grammars given), LLMR_ERR_FORMAT (a grammar
 * or schema that does not parse; the message gives line and column), LLMR_ERR_UNSUPPORTED (a
 * schema keyword outside the supported subset), with a message in errbuf (errbuf_len bytes,
 * may be NULL/0). Any thread. */
LLMR_API int llmr_sampling_validate(const llmr_sampling *s, char *errbuf, size_t errbuf_len);

/* Parses GBNF text and checks it: every rule referenced is defined, `root` exists, no rule is
 * left-recursive, every rule can finish (`a ::= "x" a` cannot). Returns LLMR_OK or
 * LLMR_ERR_FORMAT with "line L, column C: what" (or the rule's name) in errbuf. */
LLMR_API int llmr_grammar_validate(const char *gbnf, char *errbuf, size_t errbuf_len);

/* Turns a JSON schema into GBNF text, so that whatever the weights the output parses and
 * validates against the schema. The supported subset is listed in the README ("JSON
 * schemas"): types, numeric bounds (exact), string lengths, pattern (an ECMA-262 subset),
 * format (date, time, date-time, uuid, email, uri), enum/const, arrays with items,
 * prefixItems and counts, objects with required/optional properties (in schema order) and
 * additionalProperties, anyOf/oneOf/allOf, local $ref/$defs (recursive), nullable. Any other
 * keyword, and any schema no value can match, is an error whose message names the keyword
 * and where it is (a JSON pointer): LLMR_ERR_UNSUPPORTED outside the subset, LLMR_ERR_FORMAT
 * for a malformed or unsatisfiable schema (a $ref cycle with no base case), LLMR_ERR_TOO_BIG
 * past the grammar's size bound. On success *gbnf is a malloc'd string the caller frees with
 * llmr_grammar_text_free(). schema == NULL gives the grammar of any JSON object. Any thread;
 * recursion is bounded, so a call fits a 100 KiB thread stack. */
LLMR_API int llmr_json_schema_to_grammar(const char *schema, char **gbnf, char *errbuf,
                                         size_t errbuf_len);
LLMR_API void llmr_grammar_text_free(char *gbnf);

/* ------------------------------------------------------------------------------------------
 * Chat templates: render a conversation into a prompt the way Hugging Face's
 * apply_chat_template does with Python's jinja2 (sandboxed environment, trim_blocks,
 * lstrip_blocks, loop controls, raise_exception, strftime_now, tojson without ASCII escaping).
 * The template is usually the model's `tokenizer.chat_template` GGUF key.
 * ------------------------------------------------------------------------------------------ */

/* A parsed chat template. One thread at a time may use a handle (the error message lives in
 * it); separate handles are independent. */
typedef struct llmr_template llmr_template;

/* One message of a conversation. `content` may be NULL (the template sees None). */
typedef struct llmr_chat_msg {
    const char *role;       /* "system", "user", "assistant", "tool", ... */
    const char *content;
} llmr_chat_msg;

/* Render options; start from llmr_template_defaults(). Strings are borrowed for the call. */
typedef struct llmr_template_opts {
    bool        add_generation_prompt;  /* end with the assistant's turn header (default true) */
    const char *bos_token;              /* the template's `bos_token` (default "") */
    const char *eos_token;              /* the template's `eos_token` (default "") */
    const char *date;                   /* "YYYY-MM-DD" that strftime_now() sees, or NULL for
                                           today (local time) */
    const char *tools_json;             /* JSON array bound to `tools`, or NULL (undefined) */
    size_t      max_output;             /* bytes of rendered text; 0 = 16 MiB */
    uint64_t    max_steps;              /* evaluation steps before giving up; 0 = 10 million */
} llmr_template_opts;

LLMR_API llmr_template_opts llmr_template_defaults(void);

/* Parses `source` (a Jinja2 chat template; NULL selects the plain fallback below) into
 * *out. *out is set even on failure (except LLMR_ERR_NOMEM/LLMR_ERR_ARG) so that
 * llmr_template_errmsg() can tell what was wrong; close it either way.
 * Returns LLMR_OK, or LLMR_ERR_TEMPLATE for a syntax error ("template syntax error at line 3:
 * {% for %} is never closed ..."). Any thread. */
LLMR_API int llmr_template_open(const char *source, llmr_template **out);

/* The last error on t ("" after a success). Valid until the next call on t. */
LLMR_API const char *llmr_template_errmsg(const llmr_template *t);

/* Renders msgs[0..n_msgs) into *out, a NUL-terminated string the caller frees with free();
 * *out_len (if not NULL) gets its length. The template sees `messages` (a list of dicts with
 * role and content), `bos_token`, `eos_token`, `add_generation_prompt`, `tools` when
 * opts->tools_json is set, and the functions raise_exception() and strftime_now().
 * Returns LLMR_OK; LLMR_ERR_TEMPLATE when the template fails (raise_exception, an undefined
 * variable misused, a type error, or a limit on output size, steps or macro recursion), with a
 * message naming the line and construct; LLMR_ERR_FORMAT for bad tools JSON; LLMR_ERR_ARG for
 * a bad date. On error *out is NULL. */
LLMR_API int llmr_template_render(llmr_template *t, const llmr_chat_msg *msgs, size_t n_msgs,
                                  const llmr_template_opts *opts, char **out, size_t *out_len);

/* As llmr_template_render, with the messages as JSON: an array of message objects (any keys:
 * role, content, tool_calls, ...), or an object {"messages": [...], "tools": [...], ...} whose
 * other keys also become template variables. As in Python's json, "3" is an int and "3.0" a
 * float.
 * LLMR_ERR_FORMAT when the JSON is malformed or has no messages array. */
LLMR_API int llmr_template_render_json(llmr_template *t, const char *messages_json,
                                       const llmr_template_opts *opts, char **out,
                                       size_t *out_len);

/* Frees the handle. Accepts NULL. */
LLMR_API void llmr_template_close(llmr_template *t);

/* The family a chat template belongs to, recognised by its turn markers: "llama3", "chatml",
 * "mistral", "llama2", "gemma", "phi3", "deepseek", "deepseek-coder", "command-r",
 * "functionary", "zephyr", "openchat"; "none" for NULL or ""; "unknown" otherwise.
 * Static storage. Any thread. */
LLMR_API const char *llmr_template_family(const char *tmpl);

/* The plain fallback used when a model has no chat template (llmr_template_open(NULL)):
 *   {bos_token}Role: content\n\n ... and "Assistant:" when add_generation_prompt,
 * with each role capitalized and each content trimmed. Returns its Jinja2 source; static. */
LLMR_API const char *llmr_template_fallback(void);

/* Renders a conversation into a prompt with model m's own chat template (its
 * tokenizer.chat_template key; the plain fallback of llmr_template_fallback() when it has
 * none), with its BOS and EOS token texts and the generation prompt added. *out is malloc'd
 * (free with free()). The prompt starts with the BOS text when the template writes it, so pass
 * it to llmr_stream_open with add_bos false and parse_special true (the defaults' parse_special)
 * to avoid a second BOS. Returns LLMR_OK, LLMR_ERR_TEMPLATE (message in errbuf) or
 * LLMR_ERR_NOMEM. Any thread. */
LLMR_API int llmr_chat_prompt(llmr_model *m, const llmr_chat_msg *msgs, size_t n_msgs,
                              char **out, char *errbuf, size_t errbuf_len);

/* ------------------------------------------------------------------------------------------
 * Generation and streaming (src/stream/).
 *
 * A stream turns a prompt into text, one piece at a time. Pull it like sqlite3_step():
 *
 *     llmr_gen_opts o = llmr_gen_defaults();
 *     o.max_tokens = 300;
 *     llmr_stream *s;
 *     int rc = llmr_stream_open(model, "Once upon a time", &o, &s);
 *     llmr_piece p;
 *     if (rc == LLMR_OK)
 *         while ((rc = llmr_stream_next(s, &p)) == LLMR_PIECE)
 *             fwrite(p.text, 1, p.len, stdout);
 *     if (rc != LLMR_DONE) fprintf(stderr, "%s\n", llmr_stream_errmsg(s));
 *     llmr_stream_close(s);
 *
 * or push it: llmr_generate() runs the same loop and calls the callbacks in the options.
 * Either way the same machinery applies stop sequences, UTF-8 assembly, piece filters,
 * control (stop, pause, resume from any thread), retries and fallback models, so the pieces of
 * a stream always concatenate to exactly the text llmr_generate() returns for the same request.
 *
 * Batching. Every stream open on a model is decoded together with the others (continuous
 * batching): up to the model's n_parallel streams (llmr_model_opts) generate at once, each in
 * its own KV slot of n_ctx positions; one forward pass reads the weights once for the next
 * token of every generating stream plus chunks of the prompts being evaluated, and prompt
 * prefixes that streams share (a system prompt, the same question) are computed once. Further
 * streams queue, oldest first: llmr_stream_status() says LLMR_STATUS_QUEUED until a slot
 * frees, and their first llmr_stream_next() waits for it. There is no engine thread: the
 * threads waiting in llmr_stream_next() run the passes in turn, so a lone stream runs at the
 * speed it would have alone, and streams pulled in turn from one thread are batched too.
 * Everything a stream does - its pieces, callbacks, stop/pause/resume, stop sequences, filters,
 * sampling (its own seed and grammar), prefix cache use and usage counts - is the same whether
 * it runs alone or batched; at temperature 0 its text is what it would be alone (the batched
 * pass computes each row as the lone one does, up to float rounding in the matrix kernels).
 * A stream's tokens are sampled at most one ahead of what its owner has taken, so a paused or
 * slow stream holds its slot but costs the others nothing.
 *
 * Threads. Streams on one model may be opened, pulled, stopped and closed from any threads at
 * once; each stream has one owner thread at a time (llmr_stream_next, llmr_stream_text,
 * llmr_stream_usage, llmr_stream_close), and the control calls (stop, pause, resume, status)
 * are safe from any thread. One caution: llmr_stream_next() of a queued stream waits for a
 * slot, so a thread must not pull a queued stream while it alone holds, unpulled, every
 * stream that has a slot - close or stop one of them first (stop wakes a waiting next).
 * ------------------------------------------------------------------------------------------ */

typedef struct llmr_stream llmr_stream;   /* one generation request in flight */

/* Why a stream ended. */
typedef enum llmr_finish {
    LLMR_FINISH_NONE      = 0,   /* not finished yet */
    LLMR_FINISH_STOP      = 1,   /* an end-of-generation token (EOS, EOT) or a stop sequence */
    LLMR_FINISH_LENGTH    = 2,   /* max_tokens reached, or the context window is full */
    LLMR_FINISH_CANCELLED = 3,   /* llmr_stream_stop() was called */
    LLMR_FINISH_ERROR     = 4    /* an error ended it (llmr_stream_errmsg says which) */
} llmr_finish;

/* The name of a finish reason as OpenAI spells it where it has one: "stop", "length",
 * "cancelled", "error", or "none". Static storage. */
LLMR_API const char *llmr_finish_name(llmr_finish f);

/* Where a stream stands (llmr_stream_status()). */
typedef enum llmr_status {
    LLMR_STATUS_RUNNING  = 0,    /* generating, or ready to generate on the next call */
    LLMR_STATUS_PAUSED   = 1,    /* llmr_stream_pause() holds it; llmr_stream_resume() frees it */
    LLMR_STATUS_FINISHED = 2,    /* ended; llmr_stream_finish_reason() says why */
    LLMR_STATUS_QUEUED   = 3     /* waiting for one of the model's n_parallel slots; it starts
                                    (RUNNING) when another stream on the model ends */
} llmr_status;

/* One piece of generated text, as llmr_stream_next() or the on_token callback hand it out.
 * `text` is whole UTF-8 (never a split character, never part of a stop sequence), is
 * NUL-terminated, and is owned by the stream: valid until the next call on that stream. A
 * piece usually carries one token's text; it carries several when text was held back (an
 * incomplete character, or a possible start of a stop sequence) and later released. */
typedef struct llmr_piece {
    const char *text;
    size_t      len;          /* bytes in text, not counting the NUL */
    uint32_t    index;        /* 0-based number of this piece in its stream */
    uint32_t    n_tokens;     /* tokens generated so far, those behind this piece included */
    int32_t     token;        /* id of the last token behind the piece; -1 when not known */
    double      elapsed;      /* seconds since the stream was opened */
    bool        reasoning;    /* with llmr_gen_opts.split_reasoning: the piece is the model's
                                 reasoning (inside <think> ... </think>), not its answer */
} llmr_piece;

/* Log-probabilities (llmr_gen_opts.logprobs). A token's log-probability is the log-softmax
 * of the model's raw logits at its position: the distribution the model itself gives, before
 * penalties, logit bias, the grammar, top-k/p, min-p and temperature (OpenAI's and llama.cpp's
 * servers report this one too). So at temperature 0 without penalties, bias or grammar the
 * chosen token is the first of the top list; with them it may be less likely than others.
 * `bytes` is the token's output text: raw bytes (a byte-fallback token may be part of a UTF-8
 * character), empty for control tokens, owned by the model's tokenizer (valid while the
 * model stays loaded, so at least until the stream is closed). */
#define LLMR_MAX_TOP_LOGPROBS 20
typedef struct llmr_top_logprob {
    int32_t     token;
    float       logprob;       /* <= 0 */
    const char *bytes;
    size_t      len;
} llmr_top_logprob;
typedef struct llmr_token_logprob {
    int32_t     token;         /* the token generated */
    float       logprob;       /* its log-probability, <= 0 */
    const char *bytes;         /* its text (see above) */
    size_t      len;
    int32_t     n_top;         /* entries of top: min(top_logprobs, vocabulary size) */
    llmr_top_logprob top[LLMR_MAX_TOP_LOGPROBS]; /* most likely first; equal ones by id */
} llmr_token_logprob;

/* Counts and timings of a request. Times in seconds, rates in tokens per second; a rate
 * whose time is zero is 0. */
typedef struct llmr_usage {
    uint32_t    prompt_tokens;     /* tokens in the prompt (BOS and template included) */
    uint32_t    cached_tokens;     /* of those, reused from the prefix cache (a slot's KV
                                      cache, or another stream's shared prefix), not
                                      recomputed; known from the first token on */
    uint32_t    generated_tokens;  /* tokens sampled, the end-of-generation token included */
    uint32_t    pieces;            /* pieces delivered */
    size_t      text_bytes;        /* bytes of text delivered (after filters) */
    double      prompt_s;          /* evaluating the prompt (from taking a slot to its last
                                      prompt token evaluated; queueing excluded) */
    double      gen_s;             /* generating: time inside llmr_stream_next() from the first
                                      token on, pauses and the caller's own time between calls
                                      excluded */
    double      ttft_s;            /* from open to the first piece */
    double      total_s;           /* from open to the end, pauses included */
    double      prompt_tps;        /* (prompt_tokens - cached_tokens) / prompt_s */
    double      gen_tps;           /* generated_tokens / gen_s */
    llmr_finish finish;            /* why it ended (LLMR_FINISH_NONE while running) */
    int         attempts;          /* sources tried and retries made, 1 when all went well */
} llmr_usage;

/* What the on_progress callback reports every `progress_every` generated tokens. */
typedef struct llmr_progress {
    uint32_t tokens;               /* generated so far */
    uint32_t max_tokens;           /* the request's limit (0: none) */
    double   elapsed;              /* seconds since open, pauses included */
    double   tokens_per_s;         /* generation rate, pauses excluded */
    double   chars_per_s;          /* characters (code points) delivered per second of elapsed */
    double   eta_s;                /* (max_tokens - tokens) / tokens_per_s; -1 when unknown */
} llmr_progress;

/* What the on_complete callback reports. `text` is the whole delivered text (the
 * concatenation of every piece, NUL-terminated), valid during the callback only. */
typedef struct llmr_result {
    const char *text;
    size_t      len;
    llmr_usage  usage;
} llmr_result;

/* A piece filter: sees each piece's text (len bytes, NUL-terminated) before the caller does
 * and returns what to deliver instead: `text` itself to keep it, another whole-UTF-8 string
 * (with *out_len set; owned by the filter and valid until its next call) to replace it, or NULL
 * to drop the piece. Filters run in order; a dropped piece goes no further. Called on the
 * thread that calls llmr_stream_next() / llmr_generate(). */
typedef const char *(*llmr_filter_fn)(void *user, const char *text, size_t len, size_t *out_len);
typedef struct llmr_filter {
    llmr_filter_fn fn;
    void          *user;
} llmr_filter;

/* Callbacks, each optional (NULL), each called on the thread that drives the stream
 * (llmr_stream_next() or llmr_generate()), each given `user` first. They must not call
 * llmr_stream_next() or llmr_stream_close() on their own stream; the control calls are fine. */
typedef struct llmr_callbacks {
    void *user;
    /* The request is accepted (options valid) and about to evaluate the prompt. */
    void (*on_start)(void *user, const char *prompt);
    /* A piece is ready (the same piece llmr_stream_next() returns). */
    void (*on_token)(void *user, const llmr_piece *piece);
    /* Every progress_every generated tokens. */
    void (*on_progress)(void *user, const llmr_progress *progress);
    /* The stream ended without error (finish reason stop, length or cancelled). */
    void (*on_complete)(void *user, const llmr_result *result);
    /* The stream failed: the code and the detailed message (also in llmr_stream_errmsg). */
    void (*on_error)(void *user, int code, const char *msg);
    /* A retryable error before the first piece: `attempt` (1-based) failed with `code`; the
     * stream sleeps delay_ms and tries again. */
    void (*on_retry)(void *user, int attempt, unsigned delay_ms, int code, const char *msg);
} llmr_callbacks;

#define LLMR_MAX_STOP        16        /* stop sequences per request */
#define LLMR_MAX_STOP_LEN    256       /* bytes per stop sequence */
#define LLMR_MAX_GEN_TOKENS  1048576   /* the most max_tokens may ask for */
#define LLMR_MAX_FALLBACKS   8         /* fallback models per request */
#define LLMR_MAX_FILTERS     16        /* piece filters per request */

/* Options of one generation request. Initialise with llmr_gen_defaults() and change fields;
 * new fields are only ever appended. Pointers are borrowed for the duration of
 * llmr_stream_open() only: the stream copies what it keeps (strings, the filter and fallback
 * arrays), except that filters' and callbacks' user pointers and fallback models must outlive
 * the stream. */
typedef struct llmr_gen_opts {
    int32_t        max_tokens;     /* tokens to generate at most: 1..LLMR_MAX_GEN_TOKENS, or 0 for
                                      "until the context is full" (default 256). The command
                                      line spells that -1: its -n 0 generates nothing, which
                                      here is an open stream never stepped (the prompt is
                                      evaluated by llmr_stream_open) */
    llmr_sampling  sampling;       /* temperature, top-k/p, min-p, typical-p, penalties, logit
                                      bias, seed, and the grammar / json_schema / json_object
                                      constraint (default llmr_sampling_defaults()) */
    const char    *stop[LLMR_MAX_STOP];  /* stop sequences, non-empty, up to LLMR_MAX_STOP_LEN
                                      bytes; the first NULL ends the list */
    bool           add_bos;        /* prepend the model's BOS token if it uses one (default true) */
    bool           parse_special;  /* let special-token text in the prompt ("<|eot_id|>") be
                                      special tokens (default true) */
    bool           ignore_eos;     /* keep generating past end-of-generation tokens (default false) */
    bool           no_cache;       /* do not reuse the KV cache of the previous request (default
                                      false: a shared prompt prefix is not recomputed) */
    uint32_t       progress_every; /* on_progress period in generated tokens (default 10; 0: never) */
    llmr_callbacks cb;             /* event callbacks (default: none) */
    const llmr_filter *filters;    /* piece filters run in order (default none) */
    size_t         n_filters;      /* up to LLMR_MAX_FILTERS */
    int            max_retries;    /* retries of a retryable error before the first piece: 0..10
                                      (default 3); retryable are LLMR_ERR_NETWORK and
                                      LLMR_ERR_BUSY */
    unsigned       retry_delay_ms; /* first retry's delay (default 1000) ... */
    double         backoff;        /* ... multiplied by this for each further retry: 1..10 (default 2) */
    llmr_model *const *fallbacks;  /* models tried in order when the first fails before its first
                                      piece (any error but LLMR_ERR_ARG and a cancel); after the first
                                      piece an error ends the stream, never repeating text */
    size_t         n_fallbacks;    /* up to LLMR_MAX_FALLBACKS */
    uint32_t       max_prompt_tokens; /* a prompt of more tokens fails the open with
                                      LLMR_ERR_CONTEXT (default 0: only the context bounds it) */
    bool           logprobs;       /* compute each generated token's log-probability, read
                                      with llmr_stream_logprobs (default false). Local models
                                      only: a remote backend fails such a request (the router
                                      skips remote candidates), and it bypasses the cache */
    int32_t        top_logprobs;   /* with logprobs: also this many of the most likely tokens at
                                      each position, 0..LLMR_MAX_TOP_LOGPROBS (default 0) */
    bool           split_reasoning; /* a reasoning model's <think> ... </think> (DeepSeek-R1,
                                      Qwen3, QwQ) comes out as pieces marked reasoning, without
                                      the tags and the whitespace after them; a prompt that ends
                                      in an open <think> (a template that opens it) starts
                                      inside. The tags may be cut anywhere between tokens: only
                                      a possible start of one is held back. Stop sequences
                                      apply before the split, filters after; the stream's text
                                      is the pieces' (default false). A routed stream's result
                                      is then not cached */
} llmr_gen_opts;

/* The defaults described at each field of llmr_gen_opts. */
LLMR_API llmr_gen_opts llmr_gen_defaults(void);

/* Checks options as llmr_stream_open() does (ranges, stop sequences, the sampling fields, and
 * the grammar or schema compiled), without a model: LLMR_OK, or LLMR_ERR_ARG / LLMR_ERR_FORMAT /
 * LLMR_ERR_UNSUPPORTED with the reason, naming the field, in errbuf (errbuf_len bytes; may be
 * NULL).
 * Any thread. */
LLMR_API int llmr_gen_validate(const llmr_gen_opts *o, char *errbuf, size_t errbuf_len);

/* Starts generating a continuation of `prompt` (UTF-8, NUL-terminated) on model `m` with the
 * options `o` (NULL: the defaults). Checks every option (the sampling ones and the grammar or
 * schema too, as llmr_sampling_validate does) and tokenizes the prompt, so that bad options
 * (LLMR_ERR_ARG, LLMR_ERR_FORMAT for a bad grammar or schema) and a prompt longer than the
 * context (LLMR_ERR_CONTEXT) are reported here, before any text is generated; then hands the
 * request to the model's engine (see "Batching" above), which takes it into a slot at once
 * when one is free (the slot whose KV cache shares the longest prefix with the prompt, so that
 * prefix is not recomputed) or queues it. The prompt is evaluated by the first
 * llmr_stream_next() calls, batched with the other streams' work. Does not wait for a slot;
 * LLMR_ERR_BUSY when the model's max_queued streams wait already (retryable, so open waits out
 * the options' retries, 1 s, 2 s, 4 s by default, first). Any thread.
 * On success *out is a stream in state RUNNING or QUEUED. On failure *out is still a handle
 * (NULL only on LLMR_ERR_NOMEM or a NULL argument) whose llmr_stream_errmsg() says what went
 * wrong and which the caller must close. */
LLMR_API int llmr_stream_open(llmr_model *m, const char *prompt, const llmr_gen_opts *o,
                              llmr_stream **out);

/* Generates until a piece of text is ready and returns LLMR_PIECE with it in *piece; returns
 * LLMR_DONE when the stream has ended normally (finish reason stop, length or cancelled) and on
 * every later call; or an error code (the stream then ends with finish reason error, and
 * llmr_stream_errmsg() says why). Blocks while the stream is paused, and while it is queued
 * for a slot. Meanwhile the calling thread may run batched passes that advance other streams
 * on the model too. Called by one thread at a time (the stream's owner); never from a
 * callback. */
LLMR_API int llmr_stream_next(llmr_stream *s, llmr_piece *piece);

/* Asks the stream to end: the generating thread notices before its next token (so at most the
 * piece being made when stop was called still arrives), wakes if paused or queued, and ends
 * with finish reason cancelled; a batched pass working on it stops between layers (the other
 * streams' work in it is redone in the next pass). Resources are freed by llmr_stream_close().
 * Any thread; idempotent. */
LLMR_API void llmr_stream_stop(llmr_stream *s);

/* Pauses generation: the generating thread blocks (on a condition variable, not spinning)
 * before its next token, or right after the token it is making, before delivering it, until
 * llmr_stream_resume() or llmr_stream_stop(); no pieces arrive meanwhile. Pause and resume
 * time is excluded from tokens per second. Any thread. Returns LLMR_OK, or LLMR_ERR_STATE when
 * the stream has finished. */
LLMR_API int llmr_stream_pause(llmr_stream *s);
LLMR_API int llmr_stream_resume(llmr_stream *s);

/* Where the stream stands: RUNNING, PAUSED, QUEUED (waiting for a slot on its model) or
 * FINISHED. Any thread. */
LLMR_API llmr_status llmr_stream_status(llmr_stream *s);

/* Why the stream ended (LLMR_FINISH_NONE while it runs), and its counts and timings so far.
 * Owner thread (or any thread after it has finished). */
LLMR_API llmr_finish llmr_stream_finish_reason(llmr_stream *s);
LLMR_API void llmr_stream_usage(llmr_stream *s, llmr_usage *u);

/* The whole text delivered so far (the concatenation of the pieces), NUL-terminated, owned by
 * the stream and valid until the next call on it. *len may be NULL. Owner thread. */
LLMR_API const char *llmr_stream_text(llmr_stream *s, size_t *len);

/* The log-probabilities of the tokens behind the piece last handed out (by llmr_stream_next
 * or to on_token), in order: *out points at the array (owned by the stream, valid until the
 * next call on it) and the count is returned. Those are the tokens whose bytes went into the
 * piece since the previous one; a token whose bytes straddle two pieces counts for the first,
 * and a token held back as the possible start of a stop sequence counts for the piece that
 * releases it. Tokens that end the stream without text (EOS, EOT) and tokens wholly inside a
 * stop sequence are in no piece; those of a piece a filter drops are dropped with it. Returns 0
 * (and *out NULL) when the options did not ask for logprobs, for a source that computes none
 * (a remote backend, a result from a router's cache), and before the first piece. Owner
 * thread. */
LLMR_API size_t llmr_stream_logprobs(llmr_stream *s, const llmr_token_logprob **out);

/* The stop sequence (of llmr_gen_opts.stop) that ended the stream, as given (owned by the
 * stream, valid until close); NULL when none did (an end-of-generation token, a limit, a
 * remote backend that stopped by itself). Anthropic's stop_reason "stop_sequence" reads it.
 * Owner thread (or any thread once finished). */
LLMR_API const char *llmr_stream_stop_sequence(const llmr_stream *s);

/* The last error's detailed message ("" when none). Owned by the stream. Owner thread. */
LLMR_API const char *llmr_stream_errmsg(const llmr_stream *s);

/* Ends the stream if it is still running (no callbacks are called) and frees it. Accepts NULL.
 * Owner thread, once no other thread uses the handle. */
LLMR_API void llmr_stream_close(llmr_stream *s);

/* The blocking, push form: opens a stream, pulls it to the end calling the callbacks in `o`,
 * and closes it. Returns LLMR_OK when it ended normally (*usage says why: stop, length or
 * cancelled) or the error code (after on_error). On LLMR_OK, and when `text` is not NULL,
 * *text receives the whole text (malloc'd, NUL-terminated; free with free()); `usage` may be
 * NULL. `errbuf` (may be NULL) receives the detailed message of a failure, truncated to
 * errbuf_len bytes. To stop it from another thread, use the stream API instead. */
LLMR_API int llmr_generate(llmr_model *m, const char *prompt, const llmr_gen_opts *o,
                           char **text, llmr_usage *usage, char *errbuf, size_t errbuf_len);

/* ------------------------------------------------------------------------------------------
 * Stream analysis: live statistics over streamed text (words, sentences, rates).
 * ------------------------------------------------------------------------------------------ */

typedef struct llmr_analyzer llmr_analyzer;

/* Statistics of the text fed so far. A word is a run of characters other than whitespace and
 * the sentence ends . ! ?; each of . ! ? ends a sentence. Word lengths count code points;
 * unique words compare case-folded. */
typedef struct llmr_analysis {
    uint64_t tokens;            /* pieces fed (llmr_analyzer_feed calls) */
    uint64_t chars;             /* code points fed */
    uint64_t words;             /* words completed */
    uint64_t unique_words;      /* distinct words, case-folded */
    uint64_t sentences;         /* . ! ? seen */
    double   avg_word_len;      /* code points per word (0 when no word) */
    double   words_per_sentence;/* words / sentences (0 when no sentence) */
} llmr_analysis;

/* Creates an analyzer (LLMR_OK, or LLMR_ERR_NOMEM). One thread at a time per analyzer. */
LLMR_API int llmr_analyzer_open(llmr_analyzer **out);
/* Feeds one piece (len bytes of UTF-8). A word split across pieces is joined. Returns LLMR_OK
 * or LLMR_ERR_NOMEM. */
LLMR_API int llmr_analyzer_feed(llmr_analyzer *a, const char *text, size_t len);
/* The statistics so far; `final` also counts a word still open at the end of the text. */
LLMR_API void llmr_analyzer_get(const llmr_analyzer *a, bool final, llmr_analysis *out);
/* Frees it. Accepts NULL. */
LLMR_API void llmr_analyzer_close(llmr_analyzer *a);

/* ------------------------------------------------------------------------------------------
 * The HTTP server (src/server/): `llmr serve`.
 *
 * Serves one model (or, with llmr_server_open_router below, every model of a router) to many
 * clients at once: OpenAI-compatible /v1/chat/completions, /v1/completions and /v1/models
 * (SSE streaming), ollama-compatible /api/generate, /api/chat, /api/tags, /api/ps and
 * /api/version (NDJSON streaming), a WebSocket chat protocol at /ws (welcome, chat,
 * stream_start, token, stream_end, stop, pause, resume, error), a web page at /, and /health
 * and /metrics. Requests share the model through continuous batching: `parallel` sequences, each with its own KV cache of `ctx_size` positions, advance
 * together in one batched forward pass per generated token.
 *
 * Each open connection holds one of the server's worker threads (there are parallel +
 * queue_size + max_conns_per_addr + 16), so connections that do not finish their requests
 * are bounded: see read_timeout_s, ws_idle_s and max_conns_per_addr below. /ws speaks RFC
 * 6455: messages up to max_body (fragments reassembled; 1009 past it), 1002 for unmasked
 * frames, RSV bits and reserved opcodes, 1003 for binary messages, 1007 for invalid UTF-8.
 * ------------------------------------------------------------------------------------------ */

typedef struct llmr_server llmr_server;

typedef struct llmr_server_opts {
    const char *host;           /* address to listen on (default "127.0.0.1") */
    int         port;           /* TCP port (default 8080; 0: any free port, see
                                   llmr_server_port) */
    int         parallel;       /* sequences generated at once, one KV slot each (default 4) */
    int         ctx_size;       /* KV positions of EACH slot (default 2048, at most the model's
                                   training context) */
    int         n_threads;      /* compute threads (0: physical cores) */
    llmr_kv_type cache_type_k;  /* the local models' K cache type (default LLMR_KV_F16) */
    llmr_kv_type cache_type_v;  /* their V cache type (default LLMR_KV_SAME: as cache_type_k) */
    const char *api_key;        /* when set, every route but /health needs "Authorization:
                                   Bearer KEY" (the page and /ws also take ?api_key=KEY, since
                                   browsers cannot set their headers); default NULL: no key */
    const char *metrics_key;    /* when set, /metrics also takes this key (a scraper's), so it
                                   need not hold the API key (default NULL) */
    const char *cors_origin;    /* origins allowed to call the server from a web page, comma-
                                   separated ("https://a.example,http://localhost:3000") or "*";
                                   NULL (default): no CORS headers, and preflights are refused */
    const char *alias;          /* model name clients use (default: the file name without .gguf) */
    const char *models_dir;     /* folder /api/models lists and loads from (default: the model
                                   file's folder); a file that resolves (realpath) outside it,
                                   a symlink out, is neither listed nor loaded */
    size_t      max_body;       /* request body bytes (default 1 MiB); larger -> 413 */
    int         max_tokens;     /* generated tokens per request, cap and default (default 2048) */
    int         max_prompt;     /* prompt tokens per request (default 0: the slot's context) */
    int         timeout_s;      /* wall time of one request, queueing included (default 600) */
    int         queue_size;     /* requests waiting for a slot; beyond -> 503 (default 64) */
    int         shutdown_s;     /* graceful shutdown: in-flight requests get this long to finish
                                   before they are cancelled (default 10) */
    bool        access_log;     /* one line per request on stderr (default true) */
    /* Connection limits: civetweb serves each connection with a worker thread of its own, so
     * clients that hold connections without finishing requests must not hold them for long. */
    int         read_timeout_s; /* a request's headers must arrive within this many seconds of
                                   its start, and then its body within as many again; a slow
                                   client is cut off (408 for a late body) (default 10) */
    int         ws_idle_s;      /* a WebSocket client silent this long gets a ping; silent as
                                   long again, it is closed with 1001 (default 60) */
    int         max_conns_per_addr; /* connections at once from one client address; more are
                                   answered 429 and closed at once (default 32; 0: no cap) */
    const char *browser_dir;    /* the browser package's files (llm-runner-router's dist/:
                                   browser.js, its worker, the WebAssembly engine, example.html),
                                   served at /browser/ with the headers that make a page
                                   cross-origin isolated; /browser/model.gguf is the server's
                                   model file, /api/models/ID/gguf any local model's (both
                                   read-only, with byte ranges). NULL (default): none */
} llmr_server_opts;

/* The defaults above. Any thread. */
LLMR_API llmr_server_opts llmr_server_defaults(void);

/* Starts listening and loads the model at model_path in the background (GET /health says
 * "loading" until it is ready, then "ok", or "error" when the load failed). Returns LLMR_OK
 * with a running server in *out, or an error (LLMR_ERR_ARG: bad options; LLMR_ERR_IO: the
 * address or port cannot be bound) with *out still set for llmr_server_errmsg() (NULL only on
 * LLMR_ERR_NOMEM); close it either way. The process ignores SIGPIPE from then on, so that a
 * write to a client that has gone fails instead of killing the process. */
LLMR_API int llmr_server_open(const char *model_path, const llmr_server_opts *o,
                              llmr_server **out);

/* Waits until the background model load has finished: LLMR_OK when the model is ready, or
 * the load's error code (message in llmr_server_errmsg). */
LLMR_API int llmr_server_wait_ready(llmr_server *s);

/* The port actually listened on. */
LLMR_API int llmr_server_port(const llmr_server *s);

/* The last detailed error message ("" when none). */
LLMR_API const char *llmr_server_errmsg(const llmr_server *s);

/* Graceful shutdown: new requests get 503, in-flight ones get opts.shutdown_s seconds to
 * finish and are then cancelled, then the listener and the worker threads stop. Any thread
 * other than a request handler; idempotent. */
LLMR_API void llmr_server_shutdown(llmr_server *s);

/* Shuts down (if not yet) and frees everything, the model included. Accepts NULL. */
LLMR_API void llmr_server_close(llmr_server *s);

/* ------------------------------------------------------------------------------------------
 * Router (src/router/): many models behind one stream API.
 *
 * A router holds several models at once - local GGUF files (loaded on first use, unloaded after
 * keep_alive idle seconds, evicted least-recently-used to fit a memory budget) and remote
 * OpenAI-compatible backends (vLLM, llama.cpp's server, ollama, other `llmr serve`s) - each
 * with an id, aliases and metadata (quality, cost, speed, context, chat, JSON mode). For each
 * request it ranks the models by a strategy, opens a stream on the first that accepts the
 * request, and fails over to the next candidate (exponential backoff with jitter between
 * passes; a failing model cools down and a health check brings it back) as long as no text
 * has been delivered, so text is never repeated. Streams opened on a router are ordinary
 * llmr_stream handles: stop sequences, events, filters and control work as for local models.
 *
 * The configuration is one JSON document (`llmr route --config FILE`, `llmr serve --config`):
 *   {
 *     "strategy": "balanced",            // quality-first, cost-optimized, speed-priority,
 *                                        // balanced, round-robin, least-loaded,
 *                                        // capability-match, random
 *     "weights": {"quality": 0.4, "cost": 0.2, "speed": 0.3, "load": 0.1},   // balanced
 *     "memory_budget_mb": 8192,          // 0: unlimited
 *     "keep_alive_s": 300,               // -1: never unload an idle model
 *     "retry": {"max_rounds": 2, "backoff_ms": 200, "backoff_max_ms": 5000, "jitter": 0.5},
 *     "cooldown_s": 30, "failures_to_cooldown": 1, "health_interval_s": 2, "seed": 1,
 *     "cache": {"enabled": true, "ttl_s": 600, "max_entries": 256, "max_bytes": 16777216,
 *               "allow_sampling": false},
 *     "model_dirs": ["/srv/models"],      // folders a server's client may load files from
 *     "downloads": {"allow": false, "hosts": ["huggingface.co", "hf.co"],
 *                   "max_mb": 65536, "total_mb": 0},   // what a client may download
 *     "backends": {"gpu1": {"url": "http://10.0.0.5:8080", "api_key_env": "GPU1_KEY",
 *                           "connect_timeout_ms": 5000, "idle_timeout_ms": 30000}},
 *     "models": [
 *       {"id": "tiny", "aliases": ["stories"], "source": "models/stories260K.gguf",
 *        "quality": 0.1, "cost": 0, "speed": 900, "context": 512, "chat": false,
 *        "json": true, "size_mb": 2, "keep_alive_s": 60, "preload": false},
 *       {"id": "big", "backend": "gpu1", "remote_model": "llama-3-70b", "api": "chat",
 *        "quality": 0.9, "cost": 0.6, "context": 8192}
 *     ]
 *   }
 * A model's "source" is a path, a URL or hf:ORG/REPO/FILE.gguf (downloaded into the cache on
 * first load; "sha256" checks it). "model_dirs" and "downloads" bind only the sources a
 * server's client names (POST /api/models/load), not the models of the config: a client's
 * path must resolve (realpath, every symlink followed) inside a folder of "model_dirs" (none:
 * loading by path is off); a client's URL or hf: reference needs "allow": true and a host
 * listed in "hosts" (a name also covers its subdomains), for the URL and every redirect, and
 * each address connected to must be public unless that address itself is listed (loopback,
 * private and link-local ones otherwise refused); "max_mb" bounds one such download,
 * "total_mb" all of them (0: no bound), both enforced while the file streams. Folders must
 * exist when the config is read. Every key is checked: a wrong type, a value out of range or
 * an unknown key fails the open with a message naming the key ("models[1].quality: 1.5 is out
 * of range: expected 0..1").
 *
 * Thread safety: every router function may be called from any thread; streams opened on a
 * router are used as any stream is (one owner thread each).
 * ------------------------------------------------------------------------------------------ */

typedef struct llmr_router llmr_router;

/* Opens a router from a config file (llmr_router_open) or JSON text (llmr_router_open_json;
 * `name` labels it in messages, may be NULL). Models with "preload" are loaded now; others on
 * first use. As with sqlite3_open, *out receives a handle even on failure (NULL only when out
 * of memory): read llmr_router_errmsg(*out), then llmr_router_close(*out). Returns LLMR_OK,
 * LLMR_ERR_FORMAT (not JSON), LLMR_ERR_ARG (a key wrong or missing), LLMR_ERR_IO /
 * LLMR_ERR_NOT_FOUND (file), or the error of a preload. */
LLMR_API int llmr_router_open(const char *config_path, llmr_router **out);
LLMR_API int llmr_router_open_json(const char *json, const char *name, llmr_router **out);

/* Unloads every model and frees the router; accepts NULL. Every stream opened on it must be
 * closed first. */
LLMR_API void llmr_router_close(llmr_router *r);

/* The last detailed error message of a call made on this thread ("" if none). Thread-local
 * storage: valid until this thread's next router call. */
LLMR_API const char *llmr_router_errmsg(const llmr_router *r);

/* Loads a model now (by id or alias), evicting idle models least-recently-used first when the
 * memory budget requires. LLMR_OK (also when already loaded, or remote), LLMR_ERR_NOT_FOUND
 * (no such id), LLMR_ERR_BUSY (the budget cannot fit it while the others are in use), or the
 * load's error. */
LLMR_API int llmr_router_load(llmr_router *r, const char *id);

/* Unloads a local model (by id or alias); it loads again on next use. LLMR_OK,
 * LLMR_ERR_NOT_FOUND, LLMR_ERR_BUSY (streams are running on it). */
LLMR_API int llmr_router_unload(llmr_router *r, const char *id);

/* Adds a model at run time from one JSON model object (the same keys as in "models"), or
 * removes one (unloading it; LLMR_ERR_BUSY while streams run on it). */
LLMR_API int llmr_router_add_model(llmr_router *r, const char *model_json);
LLMR_API int llmr_router_remove_model(llmr_router *r, const char *id);

/* How one request is routed. Initialise with llmr_route_defaults(). */
typedef struct llmr_route_opts {
    const char *model;        /* an id or alias to use (no ranking; failover still goes to
                                 other eligible models unless `strict`), or NULL */
    bool        strict;       /* with `model`: that model only */
    const char *strategy;     /* this request's strategy (NULL: the router's) */
    bool        chat;         /* the request needs a chat model */
    bool        json;         /* it needs JSON mode (also implied by sampling.json_object) */
    uint32_t    min_context;  /* it needs at least this context (0: estimated from the prompt
                                 length and max_tokens) */
    int         cache;        /* result cache: -1 off, 0 the router's rule (default: on only at
                                 temperature 0), 1 on even when sampling */
    bool        raw_without_template; /* llmr_router_chat_open: a local model without a chat
                                 template gets the messages' contents joined by blank lines as
                                 plain text rather than the plain fallback template (what
                                 ollama's /api/generate does with a system and a prompt) */
    /* Tool calling (llmr_router_chat_open). A local model gets the tools in its template
     * and its calls are read from its text; a remote chat backend gets tools, tool_choice,
     * parallel_tool_calls and the messages_json history as OpenAI's fields and streams its
     * calls back as delta.tool_calls (its server enforces "required" and a name, not llmr's
     * grammar); remote completions backends are skipped while tools are on. */
    const char *messages_json; /* the same conversation as a JSON array of message objects
                                 with any keys (tool_calls, tool_call_id, name), given to a
                                 local model's template in place of the messages' role and
                                 content (NULL: those) */
    const char *tools;        /* the tools the model may call: a JSON array in OpenAI's form
                                 [{"type":"function","function":{"name","description",
                                 "parameters"}}], at most 1024, bound to the template's
                                 `tools`; NULL: none. Read the calls with
                                 llmr_router_stream_tool_calls */
    const char *tool_choice;  /* "auto" (NULL: the default), "none" (the tools are not
                                 shown), "required" (the model must call one), or the name
                                 of the function it must call. "required" and a name are
                                 enforced with a grammar, so a valid call comes out whatever
                                 the weights, its arguments following the tool's schema */
    bool        parallel_tool_calls;  /* with "required"/a name: one call or several */
    bool      (*alive)(void *user);   /* asked about every 100 ms while the open call waits
                                 on a remote backend (connecting, awaiting its headers);
                                 false cancels the open (LLMR_ERR_CANCELLED). A server passes
                                 "is the client still connected". Only during the open: later
                                 waits end with llmr_router_stream_stop. NULL: never asked */
    void       *alive_user;
} llmr_route_opts;

LLMR_API llmr_route_opts llmr_route_defaults(void);

/* Opens a stream on the best model for the request (see llmr_stream_open for `o`, *out and
 * the results). `o->fallbacks` is ignored: the router's ranking gives the fallbacks. Errors
 * also include LLMR_ERR_NOT_FOUND (route->model is no id or alias; or no model can serve the
 * request: the message lists why each was excluded) and, when every candidate failed, the
 * last failure's code with one line per candidate. A result served from the cache streams
 * the stored text. */
LLMR_API int llmr_router_stream_open(llmr_router *r, const char *prompt,
                                     const llmr_route_opts *route, const llmr_gen_opts *o,
                                     llmr_stream **out);

/* Opens a stream answering a conversation (msgs[0..n_msgs-1], roles "system", "user",
 * "assistant", "tool"; copied), routed as llmr_router_stream_open routes a chat request
 * (route->chat is implied). Each candidate gets the conversation in its own form: a local
 * model renders it with its chat template (tokenizer.chat_template, or the plain fallback of
 * llmr_template_fallback() when it has none; see route->raw_without_template), whose markers
 * are control tokens, with BOS added unless the template writes it; a remote chat backend
 * gets the messages themselves; a remote completions backend gets the plain fallback's text.
 * The template renders on a thread of its own with a deep stack, so a hostile template from a
 * model file cannot overflow a small caller stack. A template that refuses the messages
 * (raise_exception) fails with LLMR_ERR_ARG and its message. Other results as
 * llmr_router_stream_open. */
LLMR_API int llmr_router_chat_open(llmr_router *r, const llmr_chat_msg *msgs, size_t n_msgs,
                                   const llmr_route_opts *route, const llmr_gen_opts *o,
                                   llmr_stream **out);

/* The tool calls in text (len bytes: the whole text of stream s, opened on r with tools),
 * read in the format of the serving model's chat template (Hermes/Qwen <tool_call>, Llama 3
 * JSON and <|python_tag|>, Mistral [TOOL_CALLS], or a generic JSON shape) - or, when a remote
 * chat backend served s, the calls it streamed (text is then all content) - as a JSON object
 * {"content": TEXT OUTSIDE THE CALLS, "tool_calls": [{"id", "type": "function", "function":
 * {"name", "arguments": JSON TEXT}}]} in *json (malloc'd; free()). A call that does not parse
 * or names no tool leaves the whole text as content and no calls: a broken attempt is text,
 * never dropped. Call before closing s. LLMR_OK; LLMR_ERR_NOT_FOUND when s is not r's or has
 * no tools; LLMR_ERR_NOMEM. */
LLMR_API int llmr_router_stream_tool_calls(llmr_router *r, const llmr_stream *s,
                                           const char *text, size_t len, char **json);

/* Whether the prompt of the local model serving stream s (opened on r with
 * llmr_router_chat_open) ends inside a <think> block its chat template opened (DeepSeek-R1,
 * Qwen3 with thinking on), so the stream's text begins as reasoning, up to </think>. Call
 * from the stream's owner thread once its first piece has come. */
LLMR_API bool llmr_router_stream_thinking(llmr_router *r, const llmr_stream *s);

/* The id of the model serving stream s (opened on r), as it stands now: it may change during
 * llmr_stream_next() only before the first piece, when a candidate fails over. A result from
 * the cache gives "ID (cached)". Returns a copy in buf (n bytes); false for a stream not
 * opened on r (or already closed). */
LLMR_API bool llmr_router_stream_model(llmr_router *r, const llmr_stream *s, char *buf, size_t n);

/* llmr_stream_stop() for a stream opened on r: it interrupts a remote backend's network wait
 * or a local model's queue at once, as llmr_stream_stop() itself does for a routed stream.
 * Any thread. */
LLMR_API void llmr_router_stream_stop(llmr_router *r, llmr_stream *s);

/* The ranking for a request, and why, as text ("1. big  score 0.812  quality 0.90 ...") -
 * what `llmr route --explain` prints. *text is malloc'd (free()). */
LLMR_API int llmr_router_explain(llmr_router *r, const char *prompt,
                                 const llmr_route_opts *route, const llmr_gen_opts *o,
                                 char **text);

/* The id of the model `name` names - an id, an alias, or either with ollama's ":latest" or
 * a ".gguf" suffix - in id (n bytes), and whether it is loaded now (*loaded may be NULL; a
 * remote model counts as loaded). false when no model has that name. */
LLMR_API bool llmr_router_model_id(llmr_router *r, const char *name, char *id, size_t n,
                                   bool *loaded);

/* llmr_embed on a router's local model: `name` (an id or alias; NULL, "" or "auto": the
 * router's only local model), loaded when needed and held while it runs. Its id goes to id
 * (n bytes). Results and *out as llmr_embed; also LLMR_ERR_NOT_FOUND (no such model, or no
 * name and not exactly one local model) and LLMR_ERR_UNSUPPORTED (a remote model), with *out
 * NULL and the message in llmr_router_errmsg, as for a model that does not load. */
LLMR_API int llmr_router_embed(llmr_router *r, const char *name, const llmr_embed_input *inputs,
                               size_t n, const llmr_embed_opts *opts, llmr_embeddings **out,
                               char *id, size_t id_len);

/* Adds a model from a source a client names at run time - a .gguf path, an http(s) URL or
 * hf:ORG/REPO/FILE.gguf - as the config's "model_dirs" and "downloads" allow, with its file
 * name (less .gguf) as its id. A name that already is an id or alias, or a source added
 * before (by any spelling of its path), gives that model. Its id goes to id (n bytes); *added
 * (may be NULL) says whether the model is new. Nothing is read or fetched: llmr_router_load
 * does that (and a model that fails to load is best removed again). LLMR_OK;
 * LLMR_ERR_NOT_FOUND: neither a model nor a source (the message lists the ids), or a path
 * inside model_dirs that does not exist; LLMR_ERR_DENIED: the config does not allow it (the
 * message says which key to change; for a path, the same whether or not the file exists
 * outside the folders); LLMR_ERR_ARG: a malformed URL or path. */
LLMR_API int llmr_router_add_source(llmr_router *r, const char *source, char *id, size_t n,
                                    bool *added);

/* Options for the local models r loads from now on (a server's -t, --ctx-size, --parallel
 * and --queue): n_threads applies where a model's config sets no "threads"; n_ctx (the
 * positions of each batching slot) is capped by a config's "ctx" and by the model's
 * training context; n_parallel and max_queued set each model's batching. Idle models already
 * loaded are loaded again with them. LLMR_OK, or LLMR_ERR_ARG for values out of range. */
LLMR_API int llmr_router_set_model_defaults(llmr_router *r, const llmr_model_opts *o);

/* Batching figures of a router's loaded local models, summed (what /metrics reports). */
typedef struct llmr_batch_stats {
    int      n_slots;          /* streams that may generate at once (n_parallel, summed) */
    int      active, queued;   /* streams generating, streams waiting for a slot */
    uint64_t tokens_in;        /* prompt tokens of the streams admitted */
    uint64_t tokens_out;       /* tokens sampled */
    uint64_t steps;            /* passes that carried decode tokens ... */
    uint64_t rows;             /* ... how many decode tokens they carried in all ... */
    double   decode_s;         /* ... and the seconds they took */
} llmr_batch_stats;
LLMR_API void llmr_router_batch_stats(llmr_router *r, llmr_batch_stats *st);

/* What the model `name` (an id or alias, as llmr_router_model_id reads it) is, from its GGUF
 * file, loaded or not (ollama's /api/show): a JSON object {"id", "type": "local", "file",
 * "size", "details": {"family", "parameter_size", "parameters", "quantization_level"},
 * "template": its chat template or null, "metadata": {KEY: VALUE} for every key (arrays as
 * {"type", "length"} unless `verbose`)}; a remote model gives {"id", "type": "remote",
 * "backend"}. *json is malloc'd (free()). LLMR_ERR_NOT_FOUND: no such model, or its file is
 * not there (yet); LLMR_ERR_FORMAT/IO: the file does not read. */
LLMR_API int llmr_router_model_info_json(llmr_router *r, const char *name, bool verbose,
                                         char **json);

/* Every model with its metadata and state (loaded, in flight, served, failures, measured
 * speed, cooldown) as a JSON object {"models": [...], "memory_used_mb": ..., ...}; *json is
 * malloc'd (free()). */
LLMR_API int llmr_router_status_json(llmr_router *r, char **json);

/* ------------------------------------------------------------------------------------------
 * The server over a router: `llmr serve --config FILE`.
 *
 * The server is a front end of the router: every request is a routed stream
 * (llmr_router_stream_open, or llmr_router_chat_open for a conversation), so which model
 * answers, failover, backoff, cooldowns, templates and remote backends are the router's, and
 * the server only parses requests and writes SSE, NDJSON and WebSocket frames. `llmr serve
 * -m FILE` is a router of one entry (named by --alias or the file name) that never unloads
 * it. The server serves every model of the router (local GGUF files and remote
 * OpenAI-compatible backends) with the router's strategy, memory budget, keep_alive and load
 * on first use. Each loaded local model batches its requests with its own engine (`parallel`
 * slots of `ctx_size` positions: the engine of "Batching" above, set through
 * llmr_router_set_model_defaults); it goes when the router unloads the model.
 * A request names its model by id or alias in "model" (ollama's "NAME:latest" and a ".gguf"
 * suffix are accepted too); "auto", or no model, lets the router rank the models by its
 * strategy, which a request may override with a "strategy" body field or an X-LLMR-Strategy
 * header. The asked-for model is tried first; when it fails before its first piece of text (a
 * backend that is down or answers 5xx, a full queue) the next candidate takes the request, so
 * no text is duplicated. Replies name the model that answered ("model" fields, X-LLMR-Model
 * header). An unknown model is a 404 (code model_not_found). GET /v1/models, /api/tags and
 * /api/models list every model with its state (/api/tags with each file's sha256 as its
 * digest); /api/ps the loaded ones; POST /api/models/load {"model": ID or SOURCE} loads one (a
 * source - a .gguf path, URL or hf: reference - that is no id is added first, with its file
 * name as id, when the config's "model_dirs" and "downloads" allow it: 403 otherwise; a
 * download that fails for any reason but its size limit answers 502 "download failed", the
 * details going to the log, and leaves no .part file); DELETE /api/models/ID unloads one (409
 * while requests run on it).
 * ------------------------------------------------------------------------------------------ */

/* Starts listening and serving the models of `router`, which the server takes over (it is
 * closed by llmr_server_close, also when this fails). o->alias and o->models_dir are not used.
 * Results and *out as llmr_server_open. Ready at once: /health says "ok". */
LLMR_API int llmr_server_open_router(llmr_router *router, const llmr_server_opts *o,
                                     llmr_server **out);

#ifdef __cplusplus
}
#endif
#endif /* LLMR_H */
