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
struct llmr_engine_stats;
void llmri_local_stats(llmr_model *m, struct llmr_engine_stats *st);

#endif
