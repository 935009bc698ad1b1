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
 * Models: a GGUF file's weights (memory-mapped, shared) ready for evaluation.
 * Supported architectures: llama (Llama 1/2/3, TinyLlama, SmolLM, Mistral dense) and qwen2.
 * ------------------------------------------------------------------------------------------ */
typedef struct llmr_model llmr_model;

/* Element type of the KV cache. F16 halves its memory; F32 reproduces llama.cpp's F32-cache
 * logits most closely. */
typedef enum llmr_kv_type { LLMR_KV_F16 = 0, LLMR_KV_F32 = 1 } llmr_kv_type;

typedef struct llmr_model_opts {
    int n_threads;          /* compute threads; 0 = the number of physical cores */
    int n_ctx;              /* context (positions) of each sequence; 0 = the model's training
                               context, at most 4096 */
    llmr_kv_type kv_type;   /* default LLMR_KV_F16 */
} llmr_model_opts;

/* Default options (all automatic, F16 cache). */
LLMR_API llmr_model_opts llmr_model_defaults(void);

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

/* Frees the model and unmaps its file; accepts NULL. Every sequence, tokenizer or stream made
 * from it must be closed first. */
LLMR_API void llmr_model_close(llmr_model *m);

/* The last detailed error message of m ("" if none); valid until the next call on m. */
LLMR_API const char *llmr_model_errmsg(const llmr_model *m);

#ifdef __cplusplus
}
#endif
#endif /* LLMR_H */
