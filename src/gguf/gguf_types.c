/* gguf_types.c - every ggml tensor type id with its block geometry.
 *
 * Sizes follow the block structs in ggml-common.h (b4748): e.g. Q4_0 is an f16 scale plus 16
 * bytes of nibbles per 32 values = 18 bytes; Q4_K is two f16 + 12 scale bytes + 128 bytes of
 * nibbles per 256 values = 144. Ids 31-33 and 36-38 (the repacked Q4_0_x_y / IQ4_NL_x_y) were
 * removed from GGUF by ggml but files carrying them exist, so they are still described.
 * llmr's own repacked ids (gguf.h) are described from their plain type. */
#include "gguf/gguf.h"
#include "core/util.h"

#include <pthread.h>
#include <stdio.h>

typedef struct {
    const char *name;
    uint32_t block, size;
    bool computable;
} type_row;

/* `computable` is filled in by the kernels layer's own table at run time; here it records
 * which types the engine implements (issue #3's list). */
static const type_row types[LLMR_TYPE_COUNT] = {
    [0]  = {"F32", 1, 4, true},        [1]  = {"F16", 1, 2, true},
    [2]  = {"Q4_0", 32, 18, true},     [3]  = {"Q4_1", 32, 20, true},
    [6]  = {"Q5_0", 32, 22, true},     [7]  = {"Q5_1", 32, 24, true},
    [8]  = {"Q8_0", 32, 34, true},     [9]  = {"Q8_1", 32, 36, false},
    [10] = {"Q2_K", 256, 84, true},    [11] = {"Q3_K", 256, 110, true},
    [12] = {"Q4_K", 256, 144, true},   [13] = {"Q5_K", 256, 176, true},
    [14] = {"Q6_K", 256, 210, true},   [15] = {"Q8_K", 256, 292, false},
    [16] = {"IQ2_XXS", 256, 66, false},[17] = {"IQ2_XS", 256, 74, false},
    [18] = {"IQ3_XXS", 256, 98, false},[19] = {"IQ1_S", 256, 50, false},
    [20] = {"IQ4_NL", 32, 18, true},   [21] = {"IQ3_S", 256, 110, false},
    [22] = {"IQ2_S", 256, 82, false},  [23] = {"IQ4_XS", 256, 136, false},
    [24] = {"I8", 1, 1, false},        [25] = {"I16", 1, 2, false},
    [26] = {"I32", 1, 4, false},       [27] = {"I64", 1, 8, false},
    [28] = {"F64", 1, 8, false},       [29] = {"IQ1_M", 256, 56, false},
    [30] = {"BF16", 1, 2, true},
    [31] = {"Q4_0_4_4", 32, 18, false},[32] = {"Q4_0_4_8", 32, 18, false},
    [33] = {"Q4_0_8_8", 32, 18, false},[34] = {"TQ1_0", 256, 54, false},
    [35] = {"TQ2_0", 256, 66, false},  [36] = {"IQ4_NL_4_4", 32, 18, false},
    [37] = {"IQ4_NL_4_8", 32, 18, false}, [38] = {"IQ4_NL_8_8", 32, 18, false},
};

uint32_t gguf_type_repacked(uint32_t plain, uint32_t rows)
{
    if (plain == 0 || plain >= LLMR_TYPE_COUNT || !types[plain].name || rows < 2 || rows > 64 ||
        (rows & (rows - 1)))
        return 0;
    return LLMR_TYPE_REPACKED | rows << 8 | plain;
}

bool gguf_type_is_repacked(uint32_t id, uint32_t *plain, uint32_t *rows)
{
    const uint32_t p = id & 0xFF, r = (id >> 8) & 0xFF;
    if ((id & ~0xFFFFu) != LLMR_TYPE_REPACKED || gguf_type_repacked(p, r) != id)
        return false;
    if (plain)
        *plain = p;
    if (rows)
        *rows = r;
    return true;
}

/* "Q4_0_R8": one name per plain type and power of two 2..64, made once. */
enum { RPK_LOG2 = 6 };
static char rpk_names[LLMR_TYPE_COUNT][RPK_LOG2][24];
static pthread_once_t rpk_once = PTHREAD_ONCE_INIT;

static void rpk_names_make(void)
{
    for (int t = 0; t < LLMR_TYPE_COUNT; t++)
        for (int k = 0; k < RPK_LOG2 && types[t].name; k++)
            snprintf(rpk_names[t][k], sizeof rpk_names[t][k], "%s_R%d", types[t].name, 2 << k);
}

bool llmr_type_get(uint32_t type, llmr_type_info *out)
{
    uint32_t plain, rows;
    if (gguf_type_is_repacked(type, &plain, &rows)) {
        if (out) {
            pthread_once(&rpk_once, rpk_names_make);
            int k = 0;
            while ((2u << k) < rows)
                k++;
            *out = (llmr_type_info){rpk_names[plain][k], types[plain].block, types[plain].size,
                                    false};
        }
        return true;
    }
    if (type >= LLMR_TYPE_COUNT || !types[type].name)
        return false;
    if (out) {
        out->name = types[type].name;
        out->block_size = types[type].block;
        out->type_size = types[type].size;
        out->computable = types[type].computable;
    }
    return true;
}

bool gguf_type_nbytes(uint32_t type, uint64_t n, uint64_t *out)
{
    llmr_type_info ti;
    if (!llmr_type_get(type, &ti) || n % ti.block_size)
        return false;
    return llmri_mul_ok(n / ti.block_size, ti.type_size, out);
}
