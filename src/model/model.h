/* model.h - llama-family models: hyper-parameters, weights (memory-mapped), and sequences.
 *
 * Split of state, so that a server can run several sequences on one copy of the weights:
 *  - llmr_model: the GGUF mapping, hyper-parameters, weight views, the thread pool and one
 *    work area (activations for up to LLMR_UBATCH rows). Read-only after open except the
 *    pool and work area, which a mutex (model->run_lock) serializes: evaluations of
 *    different sequences take turns, each using every thread.
 *  - llmr_seq: one sequence's KV cache and its logits buffer. A sequence is used by one thread
 *    at a time.
 * llmri_seq_eval_mixed evaluates several sequences in one pass over the weights, each with its
 * own run of tokens at its own positions (prompt chunks and decode tokens together): the
 * matrix products see all rows at once, attention reads each sequence's own cache.
 */
#ifndef LLMR_MODEL_H
#define LLMR_MODEL_H

#include "core/error.h"
#include "gguf/gguf.h"
#include "kernels/kernels.h"
#include "llmr.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Rows evaluated per pass of the forward (longer prompts are processed in chunks). */
#define LLMR_UBATCH 512

typedef enum {
    LLMR_ARCH_LLAMA = 0,
    LLMR_ARCH_QWEN2 = 1,
    LLMR_ARCH_GEMMA,      /* arch_dense.c: the families below */
    LLMR_ARCH_GEMMA2,
    LLMR_ARCH_GEMMA3,
    LLMR_ARCH_PHI3,
    LLMR_ARCH_QWEN3,
    LLMR_ARCH_QWEN2MOE,   /* arch_moe.c: mixtures of experts (and llama with ffn_*_exps) */
    LLMR_ARCH_QWEN3MOE,
    LLMR_ARCH_BERT = 100, LLMR_ARCH_NOMIC_BERT = 101   /* encoders: model/encoder.h */
} llmr_arch;

typedef enum {
    LLMR_ROPE_NORM = 0,   /* rotate adjacent pairs (x[2i], x[2i+1]): llama */
    LLMR_ROPE_NEOX = 1    /* rotate (x[i], x[i + n_rot/2]): qwen2 (GPT-NeoX layout) */
} llmr_rope_kind;

typedef struct llmr_hparams {
    llmr_arch arch;
    int n_vocab, n_embd, n_layer, n_head, n_head_kv, n_ff;
    int head_dim;          /* attention.key_length, default n_embd / n_head */
    int n_rot;             /* rope.dimension_count, default head_dim */
    int n_ctx_train;       /* context_length */
    float rms_eps;         /* attention.layer_norm_rms_epsilon */
    float rope_base;       /* rope.freq_base, default 10000 */
    float rope_scale;      /* freq_scale = 1 / rope.scaling.factor (linear), default 1 */
    llmr_rope_kind rope;
    bool tied_output;      /* no output.weight: logits use token_embd */
    /* Encoders (model/encoder.h) read rms_eps from attention.layer_norm_epsilon (LayerNorm). */
    bool encoder;          /* bidirectional, no output head: embeddings only */
    int pooling;           /* <arch>.pooling_type (llmr_pooling), -1 when absent */
    int n_token_types;     /* encoders: rows of token_types.weight */
    /* What the families beyond llama and qwen2 add (arch_dense.c sets them; zero is off). */
    float rope_mscale;     /* multiplies RoPE's cos and sin (rope.scaling.attn_factor); 0: 1 */
    float rope_base_swa;   /* gemma3: RoPE base of the sliding-window layers (0: same) */
    int n_ctx_orig;        /* phi3: rope.scaling.original_context_length */
    float attn_scale;      /* q.k scale: 1/sqrt(head_dim) unless the family says otherwise */
    float embd_scale;      /* gemma: token embeddings times sqrt(n_embd) */
    float attn_softcap;    /* gemma2: scores = cap * tanh(scores / cap) */
    float final_softcap;   /* gemma2: the logits likewise */
    int n_swa;             /* sliding window in positions, on the layers that have one */
    bool ffn_gelu;         /* GeGLU (tanh GELU) instead of SwiGLU */
    /* Mixtures of experts (arch_moe.c; n_expert 0: a dense FFN) */
    int n_expert, n_expert_used;   /* expert_count, expert_used_count */
    int n_ff_exp, n_ff_shexp;      /* FFN width of each expert and of the shared expert */
    bool moe_norm_w;       /* the chosen experts' weights renormalised to sum to 1 */
} llmr_hparams;

/* A weight matrix (or vector) in the mapping: rows of `cols` values of `type`. */
typedef struct llmr_mat {
    const void *data;
    uint32_t type;
    int64_t rows, cols;
    size_t row_bytes;
    const llmr_type_traits *tr;   /* NULL for vectors (norms, biases are F32) */
} llmr_mat;

typedef struct llmr_layer {
    llmr_mat attn_norm, wq, wk, wv, wo, ffn_norm, w_gate, w_up, w_down;
    const float *bq, *bk, *bv;    /* qwen2 biases, else NULL */
    /* arch_dense.c's families (NULL / 0 when absent) */
    const float *q_norm, *k_norm;              /* per-head RMSNorm of q and k (head_dim) */
    const float *attn_post_norm, *ffn_post_norm;   /* RMSNorm of the attention / FFN output */
    int n_swa;                    /* sliding window of this layer, 0 for full attention */
    bool rope_swa;                /* RoPE with rope_base_swa (gemma3's local layers) */
    /* arch_moe.c: the router (n_expert rows) and every expert's weights in one matrix each:
     * expert e owns rows [e * n_ff_exp, (e + 1) * n_ff_exp) of gate_exps and up_exps and
     * [e * n_embd, (e + 1) * n_embd) of down_exps. The shared expert (qwen2moe) is a dense
     * FFN scaled by sigmoid(gate_inp_shexp . x). */
    llmr_mat ffn_gate_inp, gate_exps, up_exps, down_exps;
    llmr_mat gate_shexp, up_shexp, down_shexp;
    const float *gate_inp_shexp;
} llmr_layer;

struct llmr_work;   /* activations and scratch (model/forward.h, eval.c) */
struct llmr_pool;

struct llmr_model {
    gguf_file *gf;
    llmr_hparams hp;
    llmr_mat tok_embd, out_norm, output;   /* output == tok_embd when tied */
    const float *rope_freqs;               /* Llama-3 per-dimension divisors, or NULL */
    const float *rope_long, *rope_short;   /* phi3 LongRoPE divisors: one becomes rope_freqs */
    llmr_layer *layers;
    struct llmr_encoder *enc;              /* encoders' weights (model/encoder.h), or NULL */
    int n_threads, n_ctx;                  /* defaults for sequences */
    int n_repacked;                        /* matrices in a repacked layout (weights_repack) */
    int n_parallel, max_queued;            /* the stream layer's batching (llmr_model_opts) */
    int type_k, type_v;                    /* the KV cache's: LLMR_TYPE_F16, F32, Q8_0, Q4_0 */
    struct llmr_pool *pool;
    struct llmr_work *work;
    pthread_mutex_t run_lock;              /* guards pool and work */
    llmr_err err;
    /* State a higher layer keeps per model (the stream layer: tokenizer, sampler vocabulary,
     * the default sequence and its prefix cache), freed by ext_free first thing at close.
     * Set once, under the owning layer's own lock; the model layer never looks inside. */
    void *ext;
    void (*ext_free)(void *ext);
};

typedef struct llmr_seq llmr_seq;

/* Reads hyper-parameters and weight views from an open GGUF file and checks every tensor's
 * presence, type and shape. Does not take ownership of gf. Errors name the key or tensor. */
int llmri_hparams_load(const gguf_file *gf, llmr_hparams *hp, llmr_err *err);
int llmri_weights_load(struct llmr_model *m, llmr_err *err);

/* Rewrites the dense products' weights into their row-interleaved layouts in place
 * (weights_repack.c), after the weights are bound and the pool exists, and settles the layouts
 * a file stores already (`llmr quantize --repack`): a matrix keeps its file's layout where
 * the load-time rules would have repacked it to that very layout, and every other tensor of
 * the file in a repacked layout is converted back to the plain one in place, so a repacked
 * file computes exactly as its plain file does. Sets m->n_repacked (matrices using a
 * repacked layout). LLMR_REPACK=0 in the environment repacks nothing. Fails only when a
 * file's repacked tensor must be converted and its memory cannot be written (a file opened
 * from memory); the load-time repacking itself is an optimization and never fails a load. */
#define LLMR_REPACK_MAX_SHARED 4
int llmri_weights_repack(struct llmr_model *m, llmr_err *err);

/* The architecture's GGUF name ("llama", "gemma2", ...). */
const char *llmri_arch_name(llmr_arch a);

/* Finds tensor `name` and checks its type and shape ([ne0] for F32 vectors, else [ne0, ne1]
 * of a type llmr computes with). A missing optional tensor leaves *out zeroed. */
int llmri_bind(const gguf_file *gf, const char *name, int64_t ne0, int64_t ne1, bool vec,
               bool optional, llmr_mat *out, llmr_err *err);
/* A 3-D tensor [ne0, ne1, ne2] (experts' weights) as one matrix of ne1 * ne2 rows. */
int llmri_bind3(const gguf_file *gf, const char *name, int64_t ne0, int64_t ne1, int64_t ne2,
                llmr_mat *out, llmr_err *err);
/* Reads "<arch>.<suffix>" as an integer in [lo, hi] or a number; absent: def (or an error when
 * required). */
int llmri_get_int(const gguf_file *gf, const char *arch, const char *suffix, bool required,
                  int def, int lo, int hi, int *out, llmr_err *err);
int llmri_get_float(const gguf_file *gf, const char *arch, const char *suffix, bool required,
                    float def, float *out, llmr_err *err);

/* arch_dense.c: the hyper-parameters and tensors of gemma, gemma2, gemma3, phi3 and qwen3 on
 * top of the common ones, and the choice made once the context size is known (phi3's
 * LongRoPE factors). */
int llmri_dense_hparams(const gguf_file *gf, const char *an, llmr_hparams *hp, llmr_err *err);
int llmri_dense_layer(struct llmr_model *m, int l, llmr_err *err);
void llmri_dense_ready(struct llmr_model *m);

/* arch_moe.c: expert counts and widths (any architecture may have them: llama's Mixtral
 * files), and a layer's router and experts. */
int llmri_moe_hparams(const gguf_file *gf, const char *an, llmr_hparams *hp, llmr_err *err);
int llmri_moe_layer(struct llmr_model *m, int l, llmr_err *err);

/* Model accessors. */
const gguf_file *llmri_model_gguf(const llmr_model *m);
const llmr_hparams *llmri_model_hparams(const llmr_model *m);
int llmri_model_n_vocab(const llmr_model *m);
int llmri_model_n_ctx(const llmr_model *m);         /* default context of new sequences */
/* Parameter count and bytes of weights (for bench and info). */
uint64_t llmri_model_n_params(const llmr_model *m);
uint64_t llmri_model_size(const llmr_model *m);

/* A new sequence with an empty KV cache of n_ctx positions (0: the model's default).
 * LLMR_ERR_NOMEM / LLMR_ERR_ARG with a message in the model's err. */
int llmri_seq_new(llmr_model *m, int n_ctx, llmr_seq **out);
void llmri_seq_free(llmr_seq *s);
/* Copies the keys and values of positions [p0, p1) from src's cache into dst's (one model, two
 * sequences): dst then holds what evaluating src's tokens there would have given it, without
 * evaluating them (a shared prompt prefix is computed once). dst must hold [0, p0) and src
 * [0, p1); dst's positions from p1 on are dropped. LLMR_ERR_ARG otherwise (message in dst).
 * Neither sequence may be in use by another thread. */
int llmri_seq_copy_range(llmr_seq *dst, const llmr_seq *src, int p0, int p1);
int llmri_seq_n_ctx(const llmr_seq *s);
const char *llmri_seq_errmsg(const llmr_seq *s);

/* Evaluates tokens[0..n) at positions pos..pos+n-1 of sequence s (positions >= pos in the
 * cache are overwritten; those before must have been evaluated). On success *logits points
 * at n_vocab floats (the last position) or n * n_vocab (every position, when all) owned by s
 * and valid until the next eval on s.
 * LLMR_ERR_CONTEXT when pos + n exceeds the sequence's n_ctx (nothing is evaluated),
 * LLMR_ERR_ARG for a token id outside [0, n_vocab) or n < 1, LLMR_ERR_FORMAT when the hidden
 * state or the logits of an output position hold NaN or infinities (corrupt weights): the
 * message says which and names the first layer whose output did; the positions of the chunk
 * that met them are dropped from the cache. */
int llmri_seq_eval(llmr_seq *s, const int32_t *tokens, int n, int pos, bool all,
                  const float **logits);

/* Sequences per batched pass, at most. */
#define LLMR_MAX_BATCH_SEQS 64

/* One sequence's part of a mixed batch: tokens[0..n) at positions pos..pos+n-1 (a prompt
 * chunk, or n = 1 for a decode step). Positions >= pos in its cache are overwritten; those
 * before must have been evaluated. */
typedef struct llmr_batch_part {
    llmr_seq *seq;
    const int32_t *tokens;
    int n;
    int pos;
} llmr_batch_part;

/* Asked before each layer of a batched pass; returning true stops the pass. */
typedef struct llmr_abort {
    bool (*fn)(void *user);
    void *user;
} llmr_abort;

/* Mixed batched evaluation: every part in ONE forward pass, so each weight matrix is read once
 * for all sum(n) rows; attention is per part, over its own sequence's cache with a causal
 * mask. Afterwards llmri_seq_logits(parts[i].seq) holds the n_vocab logits of the part's last
 * position. The parts' sequences must share one model and be distinct; at most
 * LLMR_MAX_BATCH_SEQS parts and LLMR_UBATCH rows in all.
 * Everything is checked before anything is evaluated. Errors: LLMR_ERR_ARG for a count out of
 * range (no message), a bad part (token id out of range, n < 1, a position past the cached
 * ones, a repeated sequence, too many rows), LLMR_ERR_CONTEXT when a part would run past its
 * sequence's n_ctx (never truncated), LLMR_ERR_NOMEM; the message is in the offending part's
 * llmri_seq_errmsg and *bad (may be NULL) gets its index (-1 when none is to blame).
 * LLMR_ERR_CANCELLED when ab (may be NULL) stopped the pass: then every part's positions from
 * its pos on are dropped from its cache (evaluate them again), earlier ones stay valid.
 * LLMR_ERR_FORMAT when a part's hidden state or logits hold NaN or infinities (as
 * llmri_seq_eval): *bad names the first such part, whose positions are dropped; the other
 * parts were evaluated and may be evaluated again. */
int llmri_seq_eval_mixed(const llmr_batch_part *parts, int n, const llmr_abort *ab, int *bad);

/* One token per sequence (llmri_seq_eval_mixed with n = 1 parts): seqs[i] gets tokens[i] at
 * position pos[i]; afterwards llmri_seq_logits(seqs[i]) holds its n_vocab logits. */
int llmri_seq_eval_batch(llmr_seq *const *seqs, const int32_t *tokens, const int *pos, int n);
const float *llmri_seq_logits(const llmr_seq *s);

#endif
