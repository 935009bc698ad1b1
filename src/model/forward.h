/* forward.h - what the forward pass (forward.c), the KV cache (kv_cache.c) and the eval entry
 * points (eval.c) share inside src/model: the sequence and work-area layouts, the description
 * of one pass, and the row math of the pass (RMSNorm, RoPE) that the unit tests check. */
#ifndef LLMR_MODEL_FORWARD_H
#define LLMR_MODEL_FORWARD_H

#include "model/model.h"
#include "model/rowops.h"

/* Distinct vec_dot_types one product group may need (Q, K and V weights of three types). */
#define MAX_XQ 3

struct llmr_seq {
    llmr_model *m;
    int n_ctx;
    int n_past;              /* positions [0, n_past) hold valid keys and values */
    /* per layer, head-major: one run per KV head of [n_ctx] rows of head_dim values of type_k
     * / type_v (k_hstride bytes from one head's run to the next), so that a decode step's
     * attention task streams its head's keys and values from contiguous memory */
    uint8_t **k, **v;
    size_t k_head, v_head;   /* bytes of one position of one head (head_dim values) */
    size_t k_hstride, v_hstride;   /* n_ctx * k_head, n_ctx * v_head */
    uint8_t *kv_mem;
    float *logits;
    size_t logits_cap;       /* floats */
    llmr_err err;
};

struct llmr_work {
    int cap;                 /* rows */
    float *x, *xn, *q, *k, *v, *att, *t, *hb, *hb2;
    uint8_t *xq[MAX_XQ];     /* activations in a vec_dot_type, cap rows of xq_stride bytes */
    size_t xq_stride;
    uint8_t *att_scratch;    /* per thread: att_scratch_stride bytes (attention.c) */
    size_t att_scratch_stride;
    float *rope_cs;          /* per row: cos, sin of each rotated pair at the row's position
                                (then the same for rope_base_swa, when the model has it) */
    int rope_stride;         /* floats per row of rope_cs */
    const llmr_rowops *ops;
    int *row_pos;
    llmr_seq **row_seq;
    int *out_rows;
    float *blogits;          /* batched passes: logits of each part's last row */
    size_t blogits_cap;
    int32_t *btok;           /* batched passes: the parts' tokens in row order */
    int *nf_stage;           /* after a pass, per output row: LLMR_FINITE, or the first stage
                                whose output held a NaN or infinity (see llmri_forward) */
    /* mixtures of experts (NULL without): router logits (cap x n_expert), each row's experts
     * and weights (cap x n_expert_used), per expert the rows sent to it and their weights
     * (n_expert x cap) and their count, the gathered rows (cap x n_embd) and an expert's
     * output for them (cap x n_embd) */
    float *moe_logits, *moe_w, *moe_wts, *xg, *tg;
    int32_t *moe_ids;
    int *moe_rows, *moe_cnt;
};

/* The work area of a model: buffers for LLMR_UBATCH rows (eval.c). */
int llmri_work_new(llmr_model *m, struct llmr_work **out, llmr_err *err);
void llmri_work_free(struct llmr_work *w);

/* Consecutive rows of one sequence at consecutive positions: a prompt chunk, or one row of a
 * batched decode step. */
typedef struct llmr_segment {
    llmr_seq *s;
    int pos, row0, n;
} llmr_segment;

/* One pass: rows [0, n) of tokens, in segments; logits of the rows w->out_rows[0..n_out) go
 * to `logits` (n_out x n_vocab). The caller holds the model's run_lock. */
typedef struct llmr_pass {
    llmr_model *m;
    const int32_t *tokens;
    int n;
    const llmr_segment *segs;
    int n_segs;
    int n_out;
    float *logits;
    const llmr_abort *ab;    /* asked before each layer whether to stop, or NULL */
    float *hidden;           /* or NULL; when set, the output rows' final-normed hidden states
                                (n_out x n_embd) go here instead of logits (embeddings) */
} llmr_pass;

/* Runs the pass. Returns false when p->ab asked to stop (nothing is written to the logits
 * then; the cache positions of the pass are half-written).
 * It also watches each output row for NaN and infinities, a model with corrupt weights (or
 * values past float's range) being otherwise silent: w->nf_stage[k] is LLMR_FINITE when row
 * k's hidden state after every layer and its logits are finite, else the first stage where
 * they were not: 0 the token embedding, 1 + l the output of layer l, n_layer + 1 the logits
 * (output norm and weights). Only the output rows are watched, n_embd values per layer each:
 * next to the layer's products that costs nothing measurable. */
#define LLMR_FINITE (-1)
bool llmri_forward(const llmr_pass *p);

/* True when the n values of x hold no NaN or infinity. */
bool llmri_row_finite(const float *x, size_t n);

/* o = rmsnorm(x) * w over n values, as ggml_rms_norm computes it. */
void llmri_rmsnorm(float *o, const float *x, const float *w, int n, float eps);
/* The cos, sin table of RoPE at position pos (n_rot floats), and its rotation of one head. */
void llmri_rope_table(float *cs, int pos, const llmr_hparams *hp, const float *freq_factors);
void llmri_rope_apply(float *x, const float *cs, const llmr_hparams *hp);
/* The same table for another base and frequency scale (gemma3's local layers). */
void llmri_rope_table_base(float *cs, int pos, const llmr_hparams *hp, float base, float scale);

/* attention.c: the attention of one layer over every segment of a pass (the row step before
 * stored the rows' keys and values in their caches; q is read from w->q). */
typedef struct llmr_att_pass {
    llmr_model *m;
    struct llmr_work *w;
    const llmr_segment *segs;
    int n_segs, layer;
    const llmr_layer *L;
} llmr_att_pass;
void llmri_attention(const llmr_att_pass *a);

/* One attention task: n_rows query rows at positions pos.. of one KV head's `group` query heads
 * over the cached positions each may see. Query row j, head hh (of the group) is read at
 * q + j * q_stride + hh * hd and written at out + j * out_stride + hh * hd (floats). The unit
 * tests call this directly. */
typedef struct llmr_att_task {
    int type_k, type_v;                /* the cache types: LLMR_TYPE_F32, F16, Q8_0, Q4_0 */
    int hd, group, cols_cap;           /* cols_cap: llmri_att_cols, n_rows * group at most */
    const uint8_t *k, *v;              /* position 0's row, at this head's offset */
    size_t k_row, v_row;               /* bytes between positions */
    const float *q;
    size_t q_stride;
    int n_rows, pos, swa;              /* swa: sliding window in positions, 0: none */
    float scale, cap;                  /* q.k scale; soft-cap (0: none) */
    float *out;
    size_t out_stride;
} llmr_att_task;
struct llmr_attn_kernels;
void llmri_attn_task(const llmr_att_task *t, const struct llmr_attn_kernels *kn, void *scratch);
/* Query columns per task at most, and the scratch one thread needs (bytes). */
int llmri_att_cols(const llmr_hparams *hp);
size_t llmri_att_scratch_bytes(const llmr_hparams *hp);

/* arch_moe.c: the k experts a row goes to (ids, by descending probability) and their weights,
 * from its n router logits. */
void llmri_moe_route(const float *logits, int n, int k, bool norm, int32_t *ids, float *w);

#endif
