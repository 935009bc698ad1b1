/* quant.c - type choice for quantized files and parallel row conversion. */
#include "model/quant.h"

#include "gguf/gguf.h"
#include "kernels/kernels.h"
#include "llmr.h"

#include <stdlib.h>
#include <string.h>

/* llama.cpp's llama_ftype values (llama.h, b4748): written as general.file_type. */
static const llmr_qtarget TARGETS[] = {
    {"F32", LLMR_TYPE_F32, 0, false},     {"F16", LLMR_TYPE_F16, 1, false},
    {"BF16", LLMR_TYPE_BF16, 32, false},  {"Q4_0", LLMR_TYPE_Q4_0, 2, false},
    {"Q4_1", LLMR_TYPE_Q4_1, 3, false},   {"Q8_0", LLMR_TYPE_Q8_0, 7, false},
    {"Q5_0", LLMR_TYPE_Q5_0, 8, false},   {"Q5_1", LLMR_TYPE_Q5_1, 9, false},
    {"Q2_K", LLMR_TYPE_Q2_K, 10, false},  {"Q3_K", LLMR_TYPE_Q3_K, 11, false},
    {"Q4_K", LLMR_TYPE_Q4_K, 14, false},  {"Q4_K_S", LLMR_TYPE_Q4_K, 14, false},
    {"Q4_K_M", LLMR_TYPE_Q4_K, 15, true}, {"Q5_K", LLMR_TYPE_Q5_K, 16, false},
    {"Q5_K_S", LLMR_TYPE_Q5_K, 16, false}, {"Q5_K_M", LLMR_TYPE_Q5_K, 17, true},
    {"Q6_K", LLMR_TYPE_Q6_K, 18, false},  {"IQ4_NL", LLMR_TYPE_IQ4_NL, 25, false},
};

const char llmr_qtarget_names[] =
    "F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K Q4_K Q5_K Q6_K IQ4_NL Q4_K_M Q5_K_M";

bool llmri_qtarget_find(const char *name, llmr_qtarget *out)
{
    for (size_t i = 0; i < sizeof TARGETS / sizeof TARGETS[0]; i++)
        if (!strcasecmp(TARGETS[i].name, name)) {
            *out = TARGETS[i];
            return true;
        }
    return false;
}

static bool is_quantized(uint32_t t)
{
    return t != LLMR_TYPE_F32 && t != LLMR_TYPE_F16 && t != LLMR_TYPE_BF16;
}

/* llama.cpp: more bits for the first and last eighth of the layers and every third between. */
static bool use_more_bits(int i, int n)
{
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

uint32_t llmri_qtype_ftype(uint32_t type)
{
    for (size_t i = 0; i < sizeof TARGETS / sizeof TARGETS[0]; i++)
        if (TARGETS[i].base == type)
            return TARGETS[i].ftype;      /* the first, plain target of that type */
    return UINT32_MAX;
}

uint32_t llmri_qtype_rule(const llmr_qtarget *t, const char *name, int n_dims, int64_t ne0,
                          const llmr_qpos *pos, bool pure)
{
    /* BERT's position and token-type embeddings stay F32, as llama-quant.cpp keeps them
     * (llama.cpp adds the token-type row to F32 activations, an add that wants F32), and so
     * do expert routers, whose few rows pick the experts (llama.cpp's rule too) */
    if (n_dims < 2 || !strcmp(name, "position_embd.weight") ||
        !strcmp(name, "token_types.weight") || ends_with(name, "ffn_gate_inp.weight"))
        return LLMR_TYPE_F32;
    uint32_t ty = t->base;
    if (!pure && is_quantized(ty)) {
        const bool is_out = !strcmp(name, "output.weight") ||
                            (!pos->has_output && !strcmp(name, "token_embd.weight"));
        if (is_out) {
            if (ne0 % 256)
                ty = LLMR_TYPE_Q8_0;
            else if (ty != LLMR_TYPE_Q8_0)
                ty = LLMR_TYPE_Q6_K;
        } else if (t->mix_m && ends_with(name, "attn_v.weight") &&
                   use_more_bits(pos->i_attn_v, pos->n_layer)) {
            ty = LLMR_TYPE_Q6_K;
        } else if (t->mix_m && ends_with(name, "ffn_down.weight") &&
                   use_more_bits(pos->i_ffn_down, pos->n_layer)) {
            ty = LLMR_TYPE_Q6_K;
        }
    }
    return ty;
}

uint32_t llmri_qtype_for(const llmr_qtarget *t, const char *name, int n_dims, int64_t ne0,
                        const llmr_qpos *pos, bool pure)
{
    uint32_t ty = llmri_qtype_rule(t, name, n_dims, ne0, pos, pure);
    const llmr_type_traits *tr = llmri_traits(ty);
    if (tr && ne0 % tr->block_size) {
        switch (ty) {
        case LLMR_TYPE_Q2_K: case LLMR_TYPE_Q3_K: ty = LLMR_TYPE_IQ4_NL; break;
        case LLMR_TYPE_Q4_K: ty = LLMR_TYPE_Q5_0; break;
        case LLMR_TYPE_Q5_K: ty = LLMR_TYPE_Q5_1; break;
        case LLMR_TYPE_Q6_K: ty = LLMR_TYPE_Q8_0; break;
        default: ty = LLMR_TYPE_F16; break;
        }
        tr = llmri_traits(ty);
        if (!tr || !tr->from_float || ne0 % tr->block_size)   /* no quantizer: keep 8 bits */
            ty = ne0 % 32 ? LLMR_TYPE_F16 : LLMR_TYPE_Q8_0;
    }
    return ty;
}

typedef struct conv_job {
    const llmr_type_traits *tr;
    int64_t ncols, nrows;
    size_t row_bytes;
    llmr_row_src src;
    void *user;
    uint8_t *dst;
    float *bufs;         /* one row per thread */
} conv_job;

static void conv_step(void *arg, int ith, int nth)
{
    conv_job *j = arg;
    float *buf = j->bufs + (size_t)ith * j->ncols;
    for (int64_t r = ith; r < j->nrows; r += nth) {
        j->src(j->user, r, buf, j->ncols);
        uint8_t *d = j->dst + (size_t)r * j->row_bytes;
        if (j->tr->type == LLMR_TYPE_F32)
            memcpy(d, buf, (size_t)j->ncols * sizeof(float));
        else
            j->tr->from_float(buf, d, j->ncols);
    }
}

int llmri_rows_convert(llmr_pool *pool, uint32_t type, int64_t ncols, int64_t nrows,
                      llmr_row_src src, void *user, void **out, size_t *nbytes, llmr_err *err)
{
    *out = NULL;
    const llmr_type_traits *tr = llmri_traits(type);
    if (!tr || (type != LLMR_TYPE_F32 && !tr->from_float)) {
        llmr_type_info ti;
        return llmri_err_set(err, LLMR_ERR_UNSUPPORTED, "no quantizer for type %s (id %u)",
                            llmr_type_get(type, &ti) ? ti.name : "?", type);
    }
    size_t rb = llmri_row_size(type, ncols);
    if (!rb)
        return llmri_err_set(err, LLMR_ERR_ARG, "rows of %lld values do not fit type %s",
                            (long long)ncols, tr->name);
    conv_job j = {tr, ncols, nrows, rb, src, user, malloc(rb * (size_t)nrows),
                  malloc((size_t)llmri_pool_size(pool) * (size_t)ncols * sizeof(float))};
    if (!j.dst || !j.bufs) {
        free(j.dst);
        free(j.bufs);
        return llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory converting a tensor");
    }
    llmri_pool_run(pool, conv_step, &j);
    free(j.bufs);
    *out = j.dst;
    *nbytes = rb * (size_t)nrows;
    return LLMR_OK;
}
