/* embed.h - embeddings inside the model layer: the hidden states of a batch of token inputs,
 * pooled (embed.c). The public llmr_embed (stream/embed_api.c) tokenizes and normalizes. */
#ifndef LLMR_MODEL_EMBED_H
#define LLMR_MODEL_EMBED_H

#include "model/model.h"

/* Pooling kinds, as llama.cpp's llama_pooling_type numbers them (and <arch>.pooling_type
 * stores them): LLMR_POOL_NONE ... LLMR_POOL_LAST in llmr.h; 4 is rank (rerankers). */
#define LLMRI_POOL_RANK 4

/* The longest input model m can embed: an encoder's trained context (its positions), a
 * decoder's context (llmr_model_opts.n_ctx). */
int llmri_embed_max_tokens(const llmr_model *m);

/* Embeds n inputs (tokens[i][0..n_tok[i]), each 1..llmri_embed_max_tokens long) with pooling
 * LLMR_POOL_MEAN, CLS or LAST (one vector per input) or NONE (one per token, input after
 * input). out receives the vectors, n_embd floats each, not normalized: an encoder's last
 * hidden state, a decoder's hidden state after its output norm (what llama.cpp pools).
 * Encoders see each input whole in one pass (several inputs share a pass); decoders run
 * several inputs per pass, long ones in chunks. Takes m->run_lock while it evaluates.
 * LLMR_ERR_ARG / LLMR_ERR_CONTEXT for inputs out of range, LLMR_ERR_NOMEM; message in err. */
int llmri_embed(llmr_model *m, const int32_t *const *tokens, const int *n_tok, int n,
                int pooling, float *out, llmr_err *err);

#endif
