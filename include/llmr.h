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

/* Frees the handle. Accepts NULL. */
LLMR_API void llmr_template_close(llmr_template *t);

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
 * other keys also become template variables. JSON numbers with an integral value are ints.
 * LLMR_ERR_FORMAT when the JSON is malformed or has no messages array. */
LLMR_API int llmr_template_render_json(llmr_template *t, const char *messages_json,
                                       const llmr_template_opts *opts, char **out,
                                       size_t *out_len);

/* The family a chat template belongs to, recognised by its turn markers: "llama3", "chatml",
 * "mistral", "llama2", "gemma", "phi3", "deepseek", "deepseek-coder", "command-r",
 * "functionary", "zephyr", "openchat"; "none" for NULL or ""; "unknown" otherwise.
 * Static storage. Any thread. */
LLMR_API const char *llmr_template_family(const char *tmpl);

/* The plain fallback used when a model has no chat template (llmr_template_open(NULL)):
 *   {bos_token}Role: content\n\n ... and "Assistant:" when add_generation_prompt,
 * with each role capitalized and each content trimmed. Returns its Jinja2 source; static. */
LLMR_API const char *llmr_template_fallback(void);

#ifdef __cplusplus
}
#endif
#endif /* LLMR_H */
