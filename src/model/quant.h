/* quant.h - choosing tensor types for a quantized file (llama.cpp's llama-quant.cpp rules for
 * the mixes), and converting rows of floats to any type in parallel. Used by `llmr quantize`
 * and `llmr synth`.
 */
#ifndef LLMR_MODEL_QUANT_H
#define LLMR_MODEL_QUANT_H

#include "core/error.h"
#include "core/threadpool.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A target as named on the command line ("Q4_K_M", "Q8_0", "F16", ...). */
typedef struct llmr_qtarget {
    const char *name;
    uint32_t base;        /* the type of most 2-D tensors */
    uint32_t ftype;       /* llama.cpp's general.file_type (LLAMA_FTYPE_*) */
    bool mix_m;           /* _M mix: Q6_K for some attn_v / ffn_down layers */
} llmr_qtarget;

/* Looks up a target name; false if unknown. */
bool llmri_qtarget_find(const char *name, llmr_qtarget *out);
/* The names accepted, for usage messages. */
extern const char llmr_qtarget_names[];

/* Where a tensor sits, for the layer-dependent rules. */
typedef struct llmr_qpos {
    int n_layer;
    int i_attn_v, i_ffn_down;  /* index of this attn_v / ffn_down among its kind */
    bool has_output;           /* the file has output.weight (else token_embd is the output) */
} llmr_qpos;

/* The type for tensor `name` of n_dims dims with rows of ne0 values. 1-D tensors stay F32.
 * Unless `pure`: output.weight (or token_embd when tied) becomes Q6_K (Q8_0 stays Q8_0), and
 * _M mixes use Q6_K for attn_v and ffn_down where llama.cpp's use_more_bits says so. Rows
 * that the type's block does not divide fall back as llama.cpp does (Q4_K -> Q5_0, ...). */
uint32_t llmri_qtype_for(const llmr_qtarget *t, const char *name, int n_dims, int64_t ne0,
                        const llmr_qpos *pos, bool pure);

/* The type the rules pick before the block-size fallback: llmri_qtype_for differs from it
 * exactly when a tensor's rows do not fit the type's blocks. */
uint32_t llmri_qtype_rule(const llmr_qtarget *t, const char *name, int n_dims, int64_t ne0,
                          const llmr_qpos *pos, bool pure);

/* The llama_ftype (general.file_type) of a file made of `type`, e.g. Q8_0 -> 7; UINT32_MAX
 * when no target has that type. */
uint32_t llmri_qtype_ftype(uint32_t type);

/* Produces rows of floats: row `r` (ncols values) into dst. Called from several threads. */
typedef void (*llmr_row_src)(void *user, int64_t r, float *dst, int64_t ncols);

/* Converts nrows rows from src to `type` using the pool's threads; *out is malloc'd
 * (*nbytes long). LLMR_ERR_UNSUPPORTED if the type cannot be produced. */
int llmri_rows_convert(llmr_pool *pool, uint32_t type, int64_t ncols, int64_t nrows,
                      llmr_row_src src, void *user, void **out, size_t *nbytes, llmr_err *err);

#endif
