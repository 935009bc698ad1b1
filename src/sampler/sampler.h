/* sampler.h - picks the next token from logits (internal; the stream layer calls this).
 *
 * The chain, in llama.cpp's default order (see the llmr_sampling section of llmr.h):
 *   penalties -> logit bias -> grammar -> top-k -> typical-p -> top-p -> min-p -> temperature
 *   -> draw.
 * Grammar, as llama.cpp's common sampler does it: the token drawn without the grammar is
 * checked first (walking its bytes is cheap); only when the grammar rejects it are all tokens
 * masked and the chain run again. Output is always grammatical either way.
 *
 * Everything per-token lives in buffers sized at create (n_vocab), so sample() and accept()
 * do not allocate (the grammar's state buffers grow only while its stacks grow).
 * One thread at a time per sampler.
 */
#ifndef LLMR_SAMPLER_SAMPLER_H
#define LLMR_SAMPLER_SAMPLER_H

#include "core/error.h"
#include "sampler/grammar.h"
#include "llmr.h"

typedef struct llmr_sampler llmr_sampler;

/* A sampler over n_vocab tokens with options *opts (copied; NULL = defaults).
 * gbnf: grammar text; when NULL, opts->grammar / json_schema / json_object decide.
 * tok: each token's output bytes (needed only with a grammar; borrowed, must outlive the
 * sampler); eog: the end-of-generation ids (n_eog, copied).
 * Errors: LLMR_ERR_ARG (an option out of range), LLMR_ERR_FORMAT (grammar or schema),
 * LLMR_ERR_UNSUPPORTED (schema keyword), LLMR_ERR_NOMEM. */
int llmri_sampler_create(llmr_sampler **out, int32_t n_vocab, const llmr_sampling *opts,
                        const char *gbnf, const llmr_bytes *tok, const int32_t *eog,
                        size_t n_eog, llmr_err *err);
void llmri_sampler_free(llmr_sampler *s);

/* The next token for these logits (n_vocab floats, not modified), or -1 with err set when no
 * token is possible (every token banned, or the grammar allows none: LLMR_ERR_STATE). */
int32_t llmri_sampler_sample(llmr_sampler *s, const float *logits, llmr_err *err);

/* What the chain keeps for these logits, without the grammar and without drawing: the
 * surviving ids in order (most likely first) and their final probabilities (after
 * temperature). Returns how many survive; at most cap are written. For tests and logprobs. */
int32_t llmri_sampler_candidates(llmr_sampler *s, const float *logits, int32_t *ids,
                                float *probs, int32_t cap);

/* The log-softmax of the raw logits (n_vocab, not modified) at token `chosen`, and the n_top
 * (at most LLMR_MAX_TOP_LOGPROBS) most likely tokens, most likely first, equal ones by lower
 * id; bytes are left empty for the caller. Allocates nothing. */
void llmri_logprobs(const float *logits, int32_t n_vocab, int32_t chosen, int n_top,
                    llmr_token_logprob *out);

/* Records token t as generated: it enters the penalty window and advances the grammar.
 * LLMR_ERR_ARG if t is out of range or the grammar rejects it. */
int llmri_sampler_accept(llmr_sampler *s, int32_t t, llmr_err *err);

/* Records prompt tokens in the penalty window only (llama.cpp penalises repeats of the
 * prompt too); the grammar is not involved. */
void llmri_sampler_add_history(llmr_sampler *s, const int32_t *toks, size_t n);

/* With a grammar: nothing more can follow, the stream should stop. False without one. */
bool llmri_sampler_grammar_done(const llmr_sampler *s);
/* Whether a grammar is active. */
bool llmri_sampler_has_grammar(const llmr_sampler *s);

/* Back to the state right after create: empty history, grammar at its start, the PRNG
 * re-seeded with the same seed. */
void llmri_sampler_reset(llmr_sampler *s);

/* The seed in use (the drawn one when opts->seed was LLMR_SEED_RANDOM). */
uint64_t llmri_sampler_seed(const llmr_sampler *s);

/* Grammar text for the sampling options' constraint: opts->grammar copied, or the JSON
 * schema / json_object turned into GBNF. *out is NULL when there is none; free() it. */
int llmri_sampling_grammar_text(const llmr_sampling *opts, char **out, llmr_err *err);

/* Checks the numeric options only. */
int llmri_sampling_check(const llmr_sampling *o, llmr_err *err);

/* JSON schema (text) -> GBNF (malloc'd), see llmr_json_schema_to_grammar. */
int llmri_json_schema_gbnf(const char *schema, char **out, llmr_err *err);
/* Several schemas in one grammar (tool calls: one per tool): schema i, its own document for
 * $ref, becomes the rule names[i] (a GBNF name no schema rule uses, e.g. "tool-3"); where[i]
 * (may be NULL) prefixes error paths ("tools/3/function/parameters"). top holds the caller's
 * rules, `root` first, and may use the base rules (value, object, string, number, space).
 * *out is malloc'd. */
struct cJSON;
int llmri_json_schema_gbnf_set(const struct cJSON *const *schemas, const char *const *names,
                               const char *const *where, size_t n, const char *top, char **out,
                               llmr_err *err);

/* ---- the PRNG: xoshiro256** 1.0 (Blackman and Vigna, 2018), seeded by running
 * splitmix64 over the 64-bit seed, as its authors recommend. ---- */
typedef struct llmr_rng {
    uint64_t s[4];
} llmr_rng;
void     llmri_rng_seed(llmr_rng *r, uint64_t seed);
uint64_t llmri_rng_next(llmr_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double   llmri_rng_uniform(llmr_rng *r);

#endif
