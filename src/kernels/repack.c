/* repack.c - row-interleaved ("repacked") weight layouts: the conversions from and to the
 * file's plain rows, the reference products on them, and their traits tables (one per ISA,
 * built as traits.c builds the plain ones: the reference entries, then each SIMD level's
 * overrides where the CPU has it). Layouts: see repack.h, and R16 below for F16 and BF16.
 * A type gains a layout by adding a reference entry here (repack, unpack, a reference gemm)
 * and, optionally, SIMD gemms; each level says which of its layouts the model uses by default
 * (by_default: where they measured faster than its plain kernels at both prompt and decode),
 * and may drop an entry (zero it) where a layout cannot pay there at all. */
#include "kernels/repack.h"
#include "kernels/quants.h"
#include "gguf/gguf.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- R8: the shapes ----------------------------------------------------------------------
 * A type's block as a list of fields (repack.h): field f is `size` bytes at `at` in the plain
 * block, moved in pieces of `piece` bytes (2: an f16; 4: four quant or scale bytes); piece j
 * of row r lands at the field's base + 8 * piece * j + piece * r, and the fields follow each
 * other in the unit in the listed order (so a field takes 8 * size bytes of it). */
typedef struct r8_field {
    uint16_t at, size, piece;
} r8_field;
typedef struct r8_shape {
    int qk, bs;             /* values and bytes per plain block */
    r8_field f[6];          /* fields; size 0 ends the list (at most 5) */
} r8_shape;

static const r8_shape shape_q4_0 = {32, 18, {{0, 2, 2}, {2, 16, 4}}};
static const r8_shape shape_q8_0 = {32, 34, {{0, 2, 2}, {2, 32, 4}}};
/* Q4_K: d, dmin, the 12 scale bytes, qs (repack.h's offsets RKQ_*) */
static const r8_shape shape_q4_K = {256, 144, {{0, 2, 2}, {2, 2, 2}, {4, 12, 4}, {16, 128, 4}}};
static const r8_shape shape_q5_K = {256, 176,
                                    {{0, 2, 2}, {2, 2, 2}, {4, 12, 4}, {16, 32, 4}, {48, 128, 4}}};
/* Q6_K: d first, then the 16 int8 scales, qh, ql */
static const r8_shape shape_q6_K = {256, 210, {{208, 2, 2}, {192, 16, 4}, {128, 64, 4}, {0, 128, 4}}};

/* Moves rows [r0, r1) of one group between the plain rows (`ps` bytes apart, row r0 first)
 * and the units (to_unit: plain -> units). */
static void r8_move(const r8_shape *sh, int K, uint8_t *plain, size_t ps, uint8_t *units,
                    int r0, int r1, int to_unit)
{
    const int nb = K / sh->qk;
    for (int b = 0; b < nb; b++) {
        uint8_t *u = units + (size_t)b * R8_ROWS * sh->bs;
        for (int r = r0; r < r1; r++) {
            uint8_t *blk = plain + (size_t)(r - r0) * ps + (size_t)b * sh->bs;
            size_t base = 0;
            for (const r8_field *f = sh->f; f->size; base += (size_t)R8_ROWS * f->size, f++)
                for (int j = 0; j < f->size / f->piece; j++) {
                    uint8_t *up = u + base + (size_t)R8_ROWS * f->piece * j + (size_t)f->piece * r;
                    uint8_t *bp = blk + f->at + (size_t)f->piece * j;
                    if (to_unit)
                        memcpy(up, bp, f->piece);
                    else
                        memcpy(bp, up, f->piece);
                }
        }
    }
}

#define R8_CONVERSIONS(t)                                                                   \
    static void t##_r8_repack(int K, const void *s, size_t ss, void *d)                     \
    {                                                                                       \
        r8_move(&shape_##t, K, (uint8_t *)(uintptr_t)s, ss, d, 0, R8_ROWS, 1);              \
    }                                                                                       \
    static void t##_r8_unpack(int K, const void *s, void *d, size_t ds)                     \
    {                                                                                       \
        r8_move(&shape_##t, K, d, ds, (uint8_t *)(uintptr_t)s, 0, R8_ROWS, 0);              \
    }
R8_CONVERSIONS(q4_0)
R8_CONVERSIONS(q8_0)
R8_CONVERSIONS(q4_K)
R8_CONVERSIONS(q5_K)
R8_CONVERSIONS(q6_K)

/* Where byte j of row r's qs sits in a Q4_0 / IQ4_NL / Q8_0 unit. */
static inline size_t r8_qs_at(int r, int j)
{
    return R8_QS + 32 * (size_t)(j / 4) + 4 * (size_t)r + (size_t)(j % 4);
}

/* Weight value j (0..31) of row r in a unit: Q4_0's low nibbles are values 0..15, high
 * nibbles 16..31, each stored as q with value q - 8; IQ4_NL's nibbles index its grid. */
enum { R8_Q4_0, R8_IQ4_NL, R8_Q8_0 };

static int r8_value(int kind, const uint8_t *u, int r, int j)
{
    if (kind == R8_Q8_0)
        return (int8_t)u[r8_qs_at(r, j)];
    const uint8_t byte = u[r8_qs_at(r, j % 16)];
    const int q = j < 16 ? byte & 0x0F : byte >> 4;
    return kind == R8_Q4_0 ? q - 8 : llmr_iq4nl_values[q];
}

/* The reference product: each row's dot in the order of the plain reference vec_dot (an
 * exact integer sum per block, then sum += (dw * dx) * sum), so results are identical to it. */
static void r8_gemm_ref(int kind, int K, const uint8_t *W, size_t ws, int nr, const uint8_t *X,
                        size_t xs, int nc, float *Y, size_t ldy)
{
    const int bs = kind == R8_Q8_0 ? 34 : 18, nb = K / 32;
    for (int g = 0; g < nr / R8_ROWS; g++) {
        const uint8_t *G = W + (size_t)g * R8_ROWS * ws;
        for (int c = 0; c < nc; c++) {
            const block_q8_0 *x = (const block_q8_0 *)(X + (size_t)c * xs);
            for (int r = 0; r < R8_ROWS; r++) {
                float sum = 0;
                for (int b = 0; b < nb; b++) {
                    const uint8_t *u = G + (size_t)b * R8_ROWS * bs;
                    int si = 0;
                    for (int j = 0; j < 32; j++)
                        si += r8_value(kind, u, r, j) * x[b].qs[j];
                    llmr_half d;
                    memcpy(&d, u + 2 * r, 2);
                    sum += (llmri_h2f(d) * llmri_h2f(x[b].d)) * (float)si;
                }
                Y[(size_t)c * ldy + (size_t)g * R8_ROWS + r] = sum;
            }
        }
    }
}

#define R8_GEMM_REF(name, kind)                                                             \
    static void name(int K, const void *W, size_t ws, int nr, const void *X, size_t xs,     \
                     int nc, float *Y, size_t ldy)                                          \
    {                                                                                       \
        r8_gemm_ref(kind, K, W, ws, nr, X, xs, nc, Y, ldy);                                 \
    }
R8_GEMM_REF(q4_0_r8_gemm_ref, R8_Q4_0)
R8_GEMM_REF(iq4_nl_r8_gemm_ref, R8_IQ4_NL)
R8_GEMM_REF(q8_0_r8_gemm_ref, R8_Q8_0)

/* The K-quants' reference product: each row unpacked (one row of scratch, the plain row's
 * bytes) and dotted by the plain reference vec_dot, so results are identical to it. */
static void r8_gemm_unpacked(uint32_t type, const r8_shape *sh, int K, const uint8_t *W,
                             size_t ws, int nr, const uint8_t *X, size_t xs, int nc, float *Y,
                             size_t ldy)
{
    const llmr_type_traits *p = llmri_traits_isa(type, LLMR_ISA_REF);
    uint8_t *row = malloc(ws ? ws : 1);
    for (int i = 0; i < nr; i++) {
        if (row)
            r8_move(sh, K, row, ws, (uint8_t *)(uintptr_t)(W + (size_t)(i / R8_ROWS) * R8_ROWS * ws),
                    i % R8_ROWS, i % R8_ROWS + 1, 0);
        for (int c = 0; c < nc; c++) {
            float *y = &Y[(size_t)c * ldy + i];
            if (row)
                p->vec_dot(K, y, row, X + (size_t)c * xs);
            else
                *y = NAN;   /* no memory for one row: nothing sensible can be computed */
        }
    }
    free(row);
}

#define R8_GEMM_UNPACKED(t, T)                                                              \
    static void t##_r8_gemm_ref(int K, const void *W, size_t ws, int nr, const void *X,     \
                                size_t xs, int nc, float *Y, size_t ldy)                    \
    {                                                                                       \
        r8_gemm_unpacked(LLMR_TYPE_##T, &shape_##t, K, W, ws, nr, X, xs, nc, Y, ldy);      \
    }
R8_GEMM_UNPACKED(q4_K, Q4_K)
R8_GEMM_UNPACKED(q5_K, Q5_K)
R8_GEMM_UNPACKED(q6_K, Q6_K)

/* ---- R16 for F16 and BF16: groups of 16 rows ----------------------------------------------
 * F16_R16: value k of the 16 rows as 32 consecutive bytes (row r at 2r): one load and one
 * conversion give 16 rows' weights at k, multiplied by one broadcast activation.
 * BF16_R16: values (2p, 2p+1) of the 16 rows as 64 consecutive bytes, row r's pair at 4r
 * (its value 2p first): one 32-bit lane per row holds the pair that vdpbf16ps multiplies
 * with a broadcast activation pair, so one instruction adds two products to each of the 16
 * rows' sums; on AVX2 a shift and a mask make the pair two f32 vectors. An odd K's last value
 * is stored as F16_R16 stores one (32 bytes, row r at 2r). Both take exactly the plain rows'
 * bytes, so a group repacks in place. */
#define R16_ROWS 16

/* Byte offset of value k of row r in a group of K values per row. */
static inline size_t r16_at(int bf16, int K, int r, int k)
{
    if (!bf16 || (k | 1) >= K)
        return ((size_t)k * R16_ROWS + (size_t)r) * 2;
    return (size_t)(k & ~1) * 2 * R16_ROWS + 4 * (size_t)r + 2 * (size_t)(k & 1);
}

static void r16_move(int bf16, int K, uint8_t *plain, size_t ps, uint8_t *group, int to_group)
{
    for (int r = 0; r < R16_ROWS; r++)
        for (int k = 0; k < K; k++) {
            uint8_t *g = group + r16_at(bf16, K, r, k), *q = plain + (size_t)r * ps + 2 * (size_t)k;
            if (to_group)
                memcpy(g, q, 2);
            else
                memcpy(q, g, 2);
        }
}

static void f16_r16_repack(int K, const void *s, size_t ss, void *d)
{
    r16_move(0, K, (uint8_t *)(uintptr_t)s, ss, d, 1);
}
static void f16_r16_unpack(int K, const void *s, void *d, size_t ds)
{
    r16_move(0, K, d, ds, (uint8_t *)(uintptr_t)s, 0);
}
static void bf16_r16_repack(int K, const void *s, size_t ss, void *d)
{
    r16_move(1, K, (uint8_t *)(uintptr_t)s, ss, d, 1);
}
static void bf16_r16_unpack(int K, const void *s, void *d, size_t ds)
{
    r16_move(1, K, d, ds, (uint8_t *)(uintptr_t)s, 0);
}

/* Each row's dot in the plain reference's order (a double sum over k), so results are
 * identical to llmri_f16_vec_dot_ref / llmri_bf16_vec_dot_ref. */
static void r16_gemm_ref(int bf16, int K, const uint8_t *W, size_t ws, int nr, const uint8_t *X,
                         size_t xs, int nc, float *Y, size_t ldy)
{
    float (*cvt)(uint16_t) = bf16 ? llmri_bf16_to_fp32 : llmri_fp16_to_fp32;
    for (int g = 0; g < nr / R16_ROWS; g++) {
        const uint8_t *G = W + (size_t)g * R16_ROWS * ws;
        for (int c = 0; c < nc; c++)
            for (int r = 0; r < R16_ROWS; r++) {
                double acc = 0;
                for (int k = 0; k < K; k++) {
                    uint16_t w, x;
                    memcpy(&w, G + r16_at(bf16, K, r, k), 2);
                    memcpy(&x, X + (size_t)c * xs + 2 * (size_t)k, 2);
                    acc += (double)cvt(w) * cvt(x);
                }
                Y[(size_t)c * ldy + (size_t)g * R16_ROWS + r] = (float)acc;
            }
    }
}

static void f16_r16_gemm_ref(int K, const void *W, size_t ws, int nr, const void *X, size_t xs,
                             int nc, float *Y, size_t ldy)
{
    r16_gemm_ref(0, K, W, ws, nr, X, xs, nc, Y, ldy);
}
static void bf16_r16_gemm_ref(int K, const void *W, size_t ws, int nr, const void *X, size_t xs,
                              int nc, float *Y, size_t ldy)
{
    r16_gemm_ref(1, K, W, ws, nr, X, xs, nc, Y, ldy);
}

/* ---- the tables -------------------------------------------------------------------------- */

#define RROW(ty, nm, vdt, bs, ts, il, rp, up, gm, def)                                        \
    [LLMR_TYPE_##ty] = {.type = LLMR_TYPE_##ty, .vec_dot_type = LLMR_TYPE_##vdt, .name = nm, \
                        .block_size = bs, .type_size = ts, .isa = LLMR_ISA_REF,             \
                        .interleave = il, .repack = rp, .unpack = up, .gemm = gm,           \
                        .by_default = def}

static const llmr_type_traits ref_table[LLMR_TYPE_COUNT] = {
    RROW(Q4_0, "Q4_0_R8", Q8_0, 32, 18, R8_ROWS, q4_0_r8_repack, q4_0_r8_unpack, q4_0_r8_gemm_ref, 1),
    RROW(IQ4_NL, "IQ4_NL_R8", Q8_0, 32, 18, R8_ROWS, q4_0_r8_repack, q4_0_r8_unpack,
         iq4_nl_r8_gemm_ref, 1),
    RROW(Q8_0, "Q8_0_R8", Q8_0, 32, 34, R8_ROWS, q8_0_r8_repack, q8_0_r8_unpack, q8_0_r8_gemm_ref, 1),
    /* the K-quants' references unpack a row per call: slower than the plain reference */
    RROW(Q4_K, "Q4_K_R8", Q8_K, 256, 144, R8_ROWS, q4_K_r8_repack, q4_K_r8_unpack, q4_K_r8_gemm_ref, 0),
    RROW(Q5_K, "Q5_K_R8", Q8_K, 256, 176, R8_ROWS, q5_K_r8_repack, q5_K_r8_unpack, q5_K_r8_gemm_ref, 0),
    RROW(Q6_K, "Q6_K_R8", Q8_K, 256, 210, R8_ROWS, q6_K_r8_repack, q6_K_r8_unpack, q6_K_r8_gemm_ref, 0),
    RROW(F16, "F16_R16", F16, 1, 2, R16_ROWS, f16_r16_repack, f16_r16_unpack, f16_r16_gemm_ref, 1),
    RROW(BF16, "BF16_R16", BF16, 1, 2, R16_ROWS, bf16_r16_repack, bf16_r16_unpack,
         bf16_r16_gemm_ref, 1),
};

static llmr_type_traits tables[LLMR_ISA_COUNT][LLMR_TYPE_COUNT];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void build_tables(void)
{
    for (int t = 0; t < LLMR_TYPE_COUNT; t++)
        tables[LLMR_ISA_REF][t] = ref_table[t];
#if defined(__x86_64__)
    const llmr_isa best = llmri_cpu_best_isa();
    for (int isa = LLMR_ISA_AVX2; isa < LLMR_ISA_COUNT; isa++) {
        for (int t = 0; t < LLMR_TYPE_COUNT; t++) {
            /* an entry the level below dropped is offered again to this level's install */
            tables[isa][t] = tables[isa - 1][t].name ? tables[isa - 1][t] : ref_table[t];
            if (tables[isa][t].name)
                tables[isa][t].isa = (llmr_isa)isa;
        }
        if ((int)best < isa)
            continue;   /* never install what the CPU lacks */
        if (isa == LLMR_ISA_AVX2)
            llmri_repack_avx2_install(tables[isa]);
        else
            llmri_repack_avx512_install(tables[isa]);
    }
#endif
    /* Elsewhere (WebAssembly's SIMD128) the levels above the reference have no repacked
     * entries: the plain SIMD kernels beat the reference product on the repacked rows, so a
     * model keeps its file's layout there. */
}

const llmr_type_traits *llmri_traits_repacked_isa(uint32_t type, llmr_isa isa)
{
    pthread_once(&once, build_tables);
    if (type >= LLMR_TYPE_COUNT || (unsigned)isa >= LLMR_ISA_COUNT)
        return NULL;
    const llmr_isa best = llmri_cpu_best_isa();
    const llmr_type_traits *t = &tables[isa > best ? best : isa][type];
    return t->name ? t : NULL;
}

const llmr_type_traits *llmri_traits_repacked(uint32_t type)
{
    return llmri_traits_repacked_isa(type, llmri_cpu_best_isa());
}

void llmri_repack_rows(const llmr_type_traits *t, int K, void *data, int64_t nrows,
                       void *scratch)
{
    const size_t rs = llmri_row_size(t->type, K), gs = rs * t->interleave;
    uint8_t *p = data;
    for (int64_t g = 0; g < nrows / t->interleave; g++, p += gs) {
        memcpy(scratch, p, gs);
        t->repack(K, scratch, rs, p);
    }
}

void llmri_unpack_rows(const llmr_type_traits *t, int K, void *data, int64_t nrows, void *scratch)
{
    const size_t rs = llmri_row_size(t->type, K), gs = rs * t->interleave;
    uint8_t *p = data;
    for (int64_t g = 0; g < nrows / t->interleave; g++, p += gs) {
        memcpy(scratch, p, gs);
        t->unpack(K, scratch, p, rs);
    }
}

const llmr_type_traits *llmri_traits_layout(uint32_t file_type)
{
    uint32_t plain, rows;
    if (!gguf_type_is_repacked(file_type, &plain, &rows))
        return NULL;
    const llmr_type_traits *t = llmri_traits_repacked_isa(plain, LLMR_ISA_REF);
    return t && t->interleave == rows ? t : NULL;
}

uint32_t llmri_layout_type_id(const llmr_type_traits *t)
{
    return gguf_type_repacked(t->type, t->interleave);
}
