/* traits.c - the per-type kernel table, chosen once per ISA, and the tiled matrix product.
 *
 * One table per ISA level: the reference table lists every computable type; the SIMD files
 * (kernels_avx2.c, kernels_avx512.c) overwrite the entries they speed up, starting from the
 * level below, so a type without a SIMD kernel still works at every level. */
#include "kernels/simd.h"
#include "gguf/gguf.h"

#include <pthread.h>
#include <stddef.h>

#define ROW(ty, nm, vdt, fn, bs, ts, ff)                                                    \
    [LLMR_TYPE_##ty] = {.type = LLMR_TYPE_##ty, .vec_dot_type = LLMR_TYPE_##vdt,            \
                        .to_float = llmri_##fn##_to_float_ref, .from_float = ff,            \
                        .vec_dot = llmri_##fn##_vec_dot_ref, .name = nm, .block_size = bs,   \
                        .type_size = ts, .isa = LLMR_ISA_REF}

static const llmr_type_traits ref_table[LLMR_TYPE_COUNT] = {
    ROW(F32, "F32", F32, f32, 1, 4, llmri_f32_from_float_ref),
    ROW(F16, "F16", F16, f16, 1, 2, llmri_f16_from_float_ref),
    ROW(BF16, "BF16", BF16, bf16, 1, 2, llmri_bf16_from_float_ref),
    ROW(Q4_0, "Q4_0", Q8_0, q4_0, 32, 18, llmri_q4_0_from_float_ref),
    ROW(Q4_1, "Q4_1", Q8_1, q4_1, 32, 20, NULL),
    ROW(Q5_0, "Q5_0", Q8_0, q5_0, 32, 22, NULL),
    ROW(Q5_1, "Q5_1", Q8_1, q5_1, 32, 24, NULL),
    ROW(Q8_0, "Q8_0", Q8_0, q8_0, 32, 34, llmri_q8_0_from_float_ref),
    ROW(IQ4_NL, "IQ4_NL", Q8_0, iq4_nl, 32, 18, NULL),
    ROW(Q2_K, "Q2_K", Q8_K, q2_K, 256, 84, NULL),
    ROW(Q3_K, "Q3_K", Q8_K, q3_K, 256, 110, NULL),
    ROW(Q4_K, "Q4_K", Q8_K, q4_K, 256, 144, llmri_q4_K_from_float_ref),
    ROW(Q5_K, "Q5_K", Q8_K, q5_K, 256, 176, llmri_q5_K_from_float_ref),
    ROW(Q6_K, "Q6_K", Q8_K, q6_K, 256, 210, llmri_q6_K_from_float_ref),
    /* activation-only types: no vec_dot of their own */
    [LLMR_TYPE_Q8_1] = {.type = LLMR_TYPE_Q8_1, .vec_dot_type = LLMR_TYPE_Q8_1,
                        .to_float = llmri_q8_1_to_float_ref,
                        .from_float = llmri_q8_1_from_float_ref, .name = "Q8_1",
                        .block_size = 32, .type_size = 36, .isa = LLMR_ISA_REF},
    [LLMR_TYPE_Q8_K] = {.type = LLMR_TYPE_Q8_K, .vec_dot_type = LLMR_TYPE_Q8_K,
                        .to_float = llmri_q8_K_to_float_ref,
                        .from_float = llmri_q8_K_from_float_ref, .name = "Q8_K",
                        .block_size = 256, .type_size = 292, .isa = LLMR_ISA_REF},
};

static llmr_type_traits tables[LLMR_ISA_COUNT][LLMR_TYPE_COUNT];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void build_tables(void)
{
    for (int t = 0; t < LLMR_TYPE_COUNT; t++)
        tables[LLMR_ISA_REF][t] = ref_table[t];
    llmr_isa best = llmri_cpu_best_isa();
    for (int isa = LLMR_ISA_REF + 1; isa < LLMR_ISA_COUNT; isa++) {
        for (int t = 0; t < LLMR_TYPE_COUNT; t++) {
            tables[isa][t] = tables[isa - 1][t];
            if (tables[isa][t].name)
                tables[isa][t].isa = (llmr_isa)isa;
        }
        if ((int)best < isa)
            continue;   /* keep the lower level's pointers: never call what the CPU lacks */
#if defined(__wasm_simd128__)
        llmri_kernels_simd128_install(tables[isa]);
#elif defined(__x86_64__)
        if (isa == LLMR_ISA_AVX2)
            llmri_kernels_avx2_install(tables[isa]);
        else
            llmri_kernels_avx512_install(tables[isa]);
#endif
    }
}

const llmr_type_traits *llmri_traits_isa(uint32_t type, llmr_isa isa)
{
    pthread_once(&once, build_tables);
    if (type >= LLMR_TYPE_COUNT || (unsigned)isa >= LLMR_ISA_COUNT)
        return NULL;
    llmr_isa best = llmri_cpu_best_isa();
    if (isa > best)
        isa = best;
    const llmr_type_traits *t = &tables[isa][type];
    return t->name ? t : NULL;
}

const llmr_type_traits *llmri_traits(uint32_t type)
{
    return llmri_traits_isa(type, llmri_cpu_best_isa());
}

size_t llmri_row_size(uint32_t type, int64_t K)
{
    if (type >= LLMR_TYPE_COUNT || !ref_table[type].name || K < 0 ||
        K % ref_table[type].block_size)
        return 0;
    return (size_t)(K / ref_table[type].block_size) * ref_table[type].type_size;
}

/* Generic tile: a 4-row x 4-column block of dots through vec_dot. The tile keeps the weight
 * rows hot in L1 while they are dotted with each of the columns. */
static void tile_generic(const llmr_type_traits *t, int K, const uint8_t *W, size_t ws,
                         int nr, const uint8_t *X, size_t xs, int nc, float *Y, size_t ldy)
{
    for (int c = 0; c < nc; c++)
        for (int r = 0; r < nr; r++)
            t->vec_dot(K, &Y[(size_t)c * ldy + r], W + (size_t)r * ws, X + (size_t)c * xs);
}

void llmri_matmul_rows(const llmr_type_traits *t, int K, const void *W, size_t w_stride,
                      int i0, int i1, const void *X, size_t x_stride, int n,
                      float *Y, size_t ldy)
{
    const uint8_t *w = W, *x = X;
    if (t->gemm) {
        t->gemm(K, w + (size_t)i0 * w_stride, w_stride, i1 - i0, X, x_stride, n, Y + i0, ldy);
        return;
    }
    if (n == 1 && !t->tile) {
        /* Decode (one column): a straight stream over the rows, each weight byte read once.
         * With a tile kernel, decode goes through it too: 4 rows side by side share the
         * activation loads. */
        for (int i = i0; i < i1; i++)
            t->vec_dot(K, &Y[i], w + (size_t)i * w_stride, x);
        return;
    }
    /* Prompt processing: columns in blocks whose activations stay in L2 (about 128 KiB),
     * rows in tiles of 4 inside each block, columns in 4s inside each tile; each weight tile
     * (4 rows) stays in L1 while it meets the block's columns, and each activation block is
     * read from L2, not L3, by every row tile. */
    int cb = x_stride ? (int)((128u << 10) / x_stride) & ~(LLMR_TILE_MAX_C - 1) : n;
    if (cb < LLMR_TILE_MAX_C)
        cb = LLMR_TILE_MAX_C;
    for (int jb = 0; jb < n; jb += cb) {
        const int je = n - jb < cb ? n : jb + cb;
        for (int i = i0; i < i1; i += LLMR_TILE_MAX_R) {
            int nr = i1 - i < LLMR_TILE_MAX_R ? i1 - i : LLMR_TILE_MAX_R;
            for (int j = jb; j < je; j += LLMR_TILE_MAX_C) {
                int nc = je - j < LLMR_TILE_MAX_C ? je - j : LLMR_TILE_MAX_C;
                const uint8_t *wt = w + (size_t)i * w_stride, *xt = x + (size_t)j * x_stride;
                float *yt = Y + (size_t)j * ldy + i;
                if (t->tile)
                    t->tile(K, wt, w_stride, nr, xt, x_stride, nc, yt, ldy);
                else
                    tile_generic(t, K, wt, w_stride, nr, xt, x_stride, nc, yt, ldy);
            }
        }
    }
}
