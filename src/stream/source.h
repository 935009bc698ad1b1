/* source.h - where a stream's tokens come from.
 *
 * The generation loop (stream.c) is written once: stop sequences, UTF-8 assembly, events,
 * control, filters, statistics, retries and fallback all live there. A source only turns a
 * prompt into a sequence of token texts. The local source (local.c) runs a model with its
 * tokenizer and sampler; a router adds remote OpenAI-compatible sources and picks among them.
 * Every source implements this vtable. */
#ifndef LLMR_STREAM_SOURCE_H
#define LLMR_STREAM_SOURCE_H

#include "core/error.h"
#include "llmr.h"

typedef struct llmr_source llmr_source;

/* One generated token, as a source hands it to the loop. */
typedef struct llmr_src_token {
    const char *bytes;    /* the token's text: raw bytes, may be part of a UTF-8 character
                             (byte-fallback tokens); owned by the source, valid until its next
                             call */
    size_t      len;
    int32_t     id;       /* token id, or -1 when the source does not know it (remote) */
    bool        eog;      /* an end-of-generation token (EOS, EOT): the stream ends here and its
                             text, if any, is not delivered (unless the request ignores EOS) */
    bool        last;     /* nothing can follow (a grammar is complete): the stream ends here
                             even when the request ignores EOS */
    const llmr_token_logprob *lp; /* with llmr_gen_opts.logprobs: the token's; NULL when the
                             source computes none. Owned by the source, valid until its next
                             call */
} llmr_src_token;

typedef struct llmr_source_ops {
    /* Prepares a request: checks the options the source owns (sampling, grammar), tokenizes
     * the prompt and queues it on the model's engine (local) or sends it (remote). Sets *n_prompt and *n_cached (the
     * prompt tokens reused, not recomputed). Called again for a retry. Errors: LLMR_ERR_ARG,
     * LLMR_ERR_FORMAT (grammar), LLMR_ERR_CONTEXT (prompt too long), LLMR_ERR_NETWORK and
     * LLMR_ERR_BUSY (retryable), others. */
    int (*begin)(llmr_source *src, const char *prompt, const llmr_gen_opts *o,
                 uint32_t *n_prompt, uint32_t *n_cached, llmr_err *err);
    /* Produces the next token. LLMR_OK with *tok filled, LLMR_ERR_CONTEXT when the context is
     * full (the loop ends with finish reason length), or an error. */
    int (*step)(llmr_source *src, llmr_src_token *tok, llmr_err *err);
    /* Ends the current request (also after an error, a cancel, or a failed begin); the
     * source may be begun again. */
    void (*end)(llmr_source *src);
    /* Frees the source (never the model it runs on). */
    void (*destroy)(llmr_source *src);
    /* Optional. Any thread: the stream was stopped; a step waiting for a token (a queued
     * request, another stream's pass, a network read) returns LLMR_ERR_CANCELLED soon. */
    void (*cancel)(llmr_source *src);
    /* Optional. Any thread: whether the request waits for its turn on a model (a batching
     * slot). */
    bool (*queued)(llmr_source *src);
    /* Optional. The prompt figures of a source that evaluates its prompt after begin (the
     * engine's passes): prompt tokens reused from a cache, and seconds spent evaluating. */
    void (*prompt_info)(llmr_source *src, uint32_t *n_cached, double *prompt_s);
    /* Optional. Owner thread, once the first token has come: whether the text begins inside
     * a <think> block that the prompt the source really used opened (a router renders a
     * conversation per model). Without it the stream looks at the prompt it was given. */
    bool (*think_open)(llmr_source *src);
} llmr_source_ops;

struct llmr_source {
    const llmr_source_ops *ops;
    char name[128];        /* for messages: the model's file name, or the remote's URL */
};

/* Opens a stream over sources tried in order (the first, then fallbacks), as llmr_stream_open
 * does for models. The stream takes ownership of the sources (destroys them at close, also on
 * failure). The options' own fallbacks field is ignored here: the router and llmr_stream_open
 * turn models into sources first. Same results and *out contract as llmr_stream_open. */
int llmri_stream_open_sources(llmr_source **srcs, size_t n_srcs, const char *prompt,
                             const llmr_gen_opts *o, llmr_stream **out);

/* Makes a stream handle that has already failed with rc and msg (calls o's on_error), for an
 * open that fails before its sources exist; returns rc. *out is NULL only when out of memory. */
int llmri_stream_open_failed(int rc, const char *msg, const llmr_gen_opts *o, llmr_stream **out);

/* Checks the options the loop owns (max_tokens, stop, filters, retries, fallbacks);
 * LLMR_OK or LLMR_ERR_ARG with a message naming the field and the allowed range. */
int llmri_gen_opts_check(const llmr_gen_opts *o, llmr_err *err);

#endif
