/* local.h - the local source: a model with its tokenizer and sampler (see source.h). */
#ifndef LLMR_STREAM_LOCAL_H
#define LLMR_STREAM_LOCAL_H

#include "stream/source.h"

/* Makes a source that generates on model m (borrowed: it must outlive the source). */
int llmr_local_source_new(llmr_model *m, llmr_source **out, llmr_err *err);

/* The tokenizer of model m (made from its GGUF metadata on first use, kept with the model). */
int llmr_local_tokenizer(llmr_model *m, const llmr_tokenizer **out, llmr_err *err);

#endif
