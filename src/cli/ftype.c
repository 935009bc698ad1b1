/* ftype.c - a model file's type as llama.cpp names it, shared by `llmr info` and `llmr bench`.
 *
 * The name comes from general.file_type (llama.cpp's llama_ftype ids, as `llama-quantize`
 * prints them). Files without that key (llama2.c conversions such as stories260K) get the
 * tensor type that holds most of the bytes, leaving out F32 (the norms are F32 in every
 * file), or F32 when everything is. */
#include "cli/cli.h"
#include "gguf/gguf.h"
#include "llmr.h"

static const char *const ftype_names[] = {
    [0] = "F32", [1] = "F16", [2] = "Q4_0", [3] = "Q4_1", [7] = "Q8_0", [8] = "Q5_0",
    [9] = "Q5_1", [10] = "Q2_K", [11] = "Q3_K_S", [12] = "Q3_K_M", [13] = "Q3_K_L",
    [14] = "Q4_K_S", [15] = "Q4_K_M", [16] = "Q5_K_S", [17] = "Q5_K_M", [18] = "Q6_K",
    [19] = "IQ2_XXS", [20] = "IQ2_XS", [21] = "Q2_K_S", [22] = "IQ3_XS", [23] = "IQ3_XXS",
    [24] = "IQ1_S", [25] = "IQ4_NL", [26] = "IQ3_S", [27] = "IQ3_M", [28] = "IQ2_S",
    [29] = "IQ2_M", [30] = "IQ4_XS", [31] = "IQ1_M", [32] = "BF16", [36] = "TQ1_0",
    [37] = "TQ2_0",
};

const char *cli_ftype_id_name(uint32_t ft)
{
    return ft < sizeof ftype_names / sizeof ftype_names[0] && ftype_names[ft] ? ftype_names[ft]
                                                                            : "unknown";
}

const char *cli_ftype_name(const gguf_file *f)
{
    uint32_t ft;
    if (gguf_get_u32(f, "general.file_type", &ft))
        return cli_ftype_id_name(ft);
    uint64_t bytes[LLMR_TYPE_COUNT] = {0};
    for (uint64_t i = 0; i < f->n_tensors; i++)
        if (f->tensors[i].type < LLMR_TYPE_COUNT)
            bytes[f->tensors[i].type] += f->tensors[i].nbytes;
    uint32_t best = LLMR_TYPE_COUNT;
    for (uint32_t t = 0; t < LLMR_TYPE_COUNT; t++)
        if (t != LLMR_TYPE_F32 && bytes[t] && (best == LLMR_TYPE_COUNT || bytes[t] > bytes[best]))
            best = t;
    if (best == LLMR_TYPE_COUNT)
        return f->n_tensors ? "F32" : "none";
    llmr_type_info ti;
    return llmr_type_get(best, &ti) ? ti.name : "unknown";
}
