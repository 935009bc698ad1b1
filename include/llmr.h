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
 * schema keyword outside the supported subset), with a message in err (errlen bytes, may be
 * NULL/0). Any thread. */
LLMR_API int llmr_sampling_validate(const llmr_sampling *s, char *err, size_t errlen);

/* Parses GBNF text and checks it: every rule referenced is defined, `root` exists, no rule is
 * left-recursive. Returns LLMR_OK or LLMR_ERR_FORMAT with "line L, column C: what" in err. */
LLMR_API int llmr_grammar_validate(const char *gbnf, char *err, size_t errlen);

/* Turns a JSON schema into GBNF text. Supported: type (object, string, number, integer,
 * boolean, null, array, or a list of those), properties, required (the others may be
 * omitted; properties appear in schema order), items, minItems/maxItems (up to 1000),
 * minLength/maxLength (up to 1000), enum, const, anyOf/oneOf, nested schemas; a schema with
 * no type accepts any JSON value. additionalProperties is not honoured (no extra keys are
 * produced). $ref is LLMR_ERR_UNSUPPORTED. On success *gbnf is a malloc'd string the caller
 * frees with llmr_grammar_text_free(). schema == NULL gives the grammar of any JSON object. */
LLMR_API int llmr_json_schema_to_grammar(const char *schema, char **gbnf, char *err,
                                         size_t errlen);
LLMR_API void llmr_grammar_text_free(char *gbnf);

#ifdef __cplusplus
}
#endif
#endif /* LLMR_H */
