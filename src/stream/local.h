/* local.h - the local source: a model with its tokenizer and sampler (see source.h). */
#ifndef LLMR_STREAM_LOCAL_H
#define LLMR_STREAM_LOCAL_H

#include "stream/source.h"

/* Makes a source that generates on model m (borrowed: it must outlive the source). */
int llmri_local_source_new(llmr_model *m, llmr_source **out, llmr_err *err);

/* The tokenizer of model m (made from its GGUF metadata on first use, kept with the model). */
int llmri_local_tokenizer(llmr_model *m, const llmr_tokenizer **out, llmr_err *err);

/* Sets how model m batches its streams, before its first stream: n_parallel slots of n_ctx
 * positions (0: the model's n_ctx), at most max_queued waiting (0: no limit, -1: none).
 * LLMR_ERR_STATE after a stream has run on it. */
int llmri_local_configure(llmr_model *m, int n_parallel, int n_ctx, int max_queued,
                         llmr_err *err);

/* The figures of model m's engine (zeros before its first stream or configure). */
void llmri_local_stats(llmr_model *m, llmr_batch_stats *st);

/* A conversation as a local model's prompt text (chat.c), and how to tokenize it. */
typedef struct llmri_chat_text {
    char *text;            /* malloc'd */
    bool  add_bos;         /* BOS to add (the template did not write one) */
    bool  parse_special;   /* the template's markers are control tokens */
} llmri_chat_text;

/* Renders msgs with m's chat template (the plain fallback when it has none, or, with
 * raw_untemplated, the contents joined by blank lines as plain text), on a deep-stack thread.
 * m NULL: the fallback with empty BOS/EOS (a remote completions backend). LLMR_ERR_FORMAT: the
 * template does not parse; LLMR_ERR_ARG: it refused the messages. */
int llmri_chat_render(llmr_model *m, const llmr_chat_msg *msgs, size_t n, bool raw_untemplated,
                      llmri_chat_text *ct, llmr_err *err);

#endif
