/* grammar.h - GBNF grammars (llama.cpp's syntax) and the matcher that constrains sampling.
 *
 * Two objects:
 *  - llmr_grammar: the compiled rules, immutable after llmri_grammar_parse(); any thread may
 *    read it.
 *  - llmr_gmatch: a parse in progress over a vocabulary. It knows only each token's byte
 *    string (what the token appends to the output) and which tokens end generation (EOG),
 *    never the tokenizer. One thread at a time.
 *
 * The matcher follows llama.cpp's design: a parse position is a stack of element positions
 * (the top is the next character class to match); a state is the set of stacks still alive
 * (several when the grammar is ambiguous so far). Characters are Unicode code points; bytes of
 * a code point split across tokens are carried as a partial UTF-8 sequence, and a token that
 * ends inside a code point is allowed only if some stack can match a code point starting with
 * those bytes. Masking walks a byte trie of the vocabulary once, so a whole subtree of tokens
 * sharing a dead prefix is rejected at its first bad byte.
 */
#ifndef LLMR_SAMPLER_GRAMMAR_H
#define LLMR_SAMPLER_GRAMMAR_H

#include "core/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A token's bytes as they appear in the output: ptr may be NULL when len is 0. */
typedef struct llmr_bytes {
    const char *ptr;
    size_t      len;
} llmr_bytes;

typedef struct llmr_grammar llmr_grammar;

/* Parses and checks GBNF text (NUL-terminated). Errors (LLMR_ERR_FORMAT) name the line and
 * column: syntax errors, undefined rules, a missing `root`, left recursion. */
int llmri_grammar_parse(const char *text, llmr_grammar **out, llmr_err *err);
void llmri_grammar_free(llmr_grammar *g);
/* Number of rules, including the ones made for groups and repetitions. */
uint32_t llmri_grammar_rule_count(const llmr_grammar *g);

typedef struct llmr_gmatch llmr_gmatch;

/* A matcher at the start of `g` (which it takes over and frees). tok[i] is token i's byte
 * string for i < n_vocab; the array and the bytes are borrowed and must outlive the matcher.
 * eog lists the end-of-generation ids (n_eog of them, may be 0): they are allowed exactly when
 * the grammar may end. Tokens with no bytes that are not EOG are never allowed. */
int llmri_gmatch_create(llmr_gmatch **out, llmr_grammar *g, const llmr_bytes *tok,
                       int32_t n_vocab, const int32_t *eog, size_t n_eog, llmr_err *err);
void llmri_gmatch_free(llmr_gmatch *m);
/* Back to the start of the grammar. */
void llmri_gmatch_reset(llmr_gmatch *m);

/* Whether token t may come next. Cheap: walks t's bytes only. */
bool llmri_gmatch_token_ok(llmr_gmatch *m, int32_t t);
/* Sets allowed[t] to 1 for every token that may come next and 0 for the others (n_vocab
 * bytes); returns how many are allowed. LLMR_ERR_NOMEM as a negative value. */
int32_t llmri_gmatch_allowed(llmr_gmatch *m, uint8_t *allowed);
/* Advances the parse by token t. LLMR_ERR_ARG if t may not come next (the state is then
 * unchanged), LLMR_ERR_NOMEM. Accepting an EOG token ends the parse (done). */
int llmri_gmatch_accept(llmr_gmatch *m, int32_t t, llmr_err *err);
/* Advances by raw bytes (tests, prefills). Same results as accept. */
int llmri_gmatch_accept_bytes(llmr_gmatch *m, const char *p, size_t n, llmr_err *err);
/* The text so far is a complete sentence of the grammar (EOG tokens are allowed now). */
bool llmri_gmatch_can_end(const llmr_gmatch *m);
/* Nothing more can follow: the text is complete and no character may extend it, or an EOG
 * token was accepted. The stream stops here. */
bool llmri_gmatch_done(const llmr_gmatch *m);

#endif
