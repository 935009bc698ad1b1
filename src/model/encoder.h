/* encoder.h - the BERT-family encoders (bert: BGE, MiniLM, E5; nomic-bert): bidirectional
 * models whose output is the hidden state of every token, pooled into embeddings (embed.c).
 *
 * Tensor and key names are llama.cpp's (LLM_ARCH_BERT, LLM_ARCH_NOMIC_BERT in llama-arch.cpp):
 * token_embd, token_types, position_embd (bert only), token_embd_norm; per layer attn_q/k/v
 * with biases (bert) or attn_qkv fused (nomic-bert), attn_output (+ bias in bert),
 * attn_output_norm, ffn_up/ffn_down with biases and GELU (bert) or ffn_gate/up/down with
 * SwiGLU (nomic-bert), layer_output_norm. Every norm is a LayerNorm with weight and bias.
 */
#ifndef LLMR_MODEL_ENCODER_H
#define LLMR_MODEL_ENCODER_H

#include "model/forward.h"

static inline bool llmri_arch_is_encoder(llmr_arch a)
{
    return a == LLMR_ARCH_BERT || a == LLMR_ARCH_NOMIC_BERT;
}

/* LayerNorm parameters: weight and bias, n_embd floats each. */
typedef struct llmr_lnorm {
    const float *w, *b;
} llmr_lnorm;

typedef struct llmr_enc_layer {
    llmr_mat wq, wk, wv, wqkv, wo, up, gate, down;   /* wqkv: nomic-bert; wq/wk/wv: bert */
    const float *bq, *bk, *bv, *bo, *up_b, *down_b;  /* bert's biases; NULL in nomic-bert */
    llmr_lnorm attn_out_norm, out_norm;
} llmr_enc_layer;

struct llmr_encoder {
    llmr_mat type_embd;      /* [n_token_types][n_embd]; row 0 is added to every token */
    llmr_mat pos_embd;       /* bert: [n_ctx_train][n_embd] absolute positions */
    llmr_lnorm embd_norm;
    llmr_enc_layer *layers;
};

/* Reads the encoder's keys after the common ones (model.c):
 * <arch>.attention.causal (must be false), tokenizer.ggml.token_type_count. */
int llmri_encoder_hparams(const gguf_file *gf, const char *arch, llmr_hparams *hp, llmr_err *err);
/* Binds and checks every tensor of the encoder (m->enc, m->tok_embd). */
int llmri_encoder_weights_load(llmr_model *m, llmr_err *err);
void llmri_encoder_free(struct llmr_encoder *e);

/* Runs the encoder over rows [0, n) of tokens, laid out in n_segs segments: each segment is a
 * whole input at positions 0..len-1, attending to its own rows only (both directions).
 * Writes the last layer's hidden state of every row to out (n x n_embd floats).
 * The caller holds m->run_lock (the pool is the model's). LLMR_ERR_NOMEM, else LLMR_OK. */
int llmri_encode(llmr_model *m, const int32_t *tokens, const llmr_segment *segs, int n_segs,
                 int n, float *out, llmr_err *err);

#endif
