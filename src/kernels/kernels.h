/* kernels.h - tensor-type kernels: dequantize, quantize, dot products, the tiled matrix
 * product, and the CPU detection that picks an ISA once (the API agreed in KERNELS_API.md).
 *
 * Every type has a plain-C reference implementation; AVX2 and AVX-512 versions of the hot
 * paths live in *_avx2.c / *_avx512.c and are only reached through the traits table after
 * run-time CPU detection. Block layouts are ggml's (ggml-common.h, llama.cpp b4748), bit for
 * bit, so GGUF tensor data is used in place.
 *
 * Thread safety: every function here is reentrant; the traits tables are filled once (the
 * first call to llmri_traits*, guarded by pthread_once) and read-only afterwards.
 */
#ifndef LLMR_KERNELS_H
#define LLMR_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* ISA levels, chosen once by CPU detection (cpuid + xgetbv) unless forced for tests. In a
 * WebAssembly build the levels are the reference and SIMD128 (kernels_simd128.c): a module
 * either validates with SIMD instructions or not at all, so the build that has them always
 * runs them, and the reference stays reachable through llmri_traits_isa and LLMR_ISA=ref. */
#if defined(__wasm__)
typedef enum { LLMR_ISA_REF = 0, LLMR_ISA_SIMD128 = 1 } llmr_isa;
#define LLMR_ISA_COUNT 2
#else
typedef enum { LLMR_ISA_REF = 0, LLMR_ISA_AVX2 = 1, LLMR_ISA_AVX512 = 2 } llmr_isa;
#define LLMR_ISA_COUNT 3
#endif

llmr_isa llmri_cpu_best_isa(void);            /* what this CPU supports */
const char *llmri_isa_name(llmr_isa isa);      /* "ref", "avx2", "avx512", "simd128" */

/* What cpuid/xgetbv reported (the OS must also save the wider registers: XCR0). AVX2 level
 * needs avx2+fma+f16c; AVX-512 level needs f+bw+vl+dq (vnni and bf16 are used when present). */
typedef struct llmr_cpu_features {
    int avx2, fma, f16c;
    int avx512f, avx512bw, avx512vl, avx512dq, avx512vnni, avx512bf16;
} llmr_cpu_features;
const llmr_cpu_features *llmri_cpu_features_get(void);

/* A tile kernel: for r in [0, nr), c in [0, nc):
 *   Y[c*ldy + r] = dot(W row r, X row c), rows `w_stride` / `x_stride` bytes apart.
 * nr <= LLMR_TILE_MAX_R and nc <= LLMR_TILE_MAX_C. Optional in the traits (NULL = use vec_dot). */
#define LLMR_TILE_MAX_R 4
#define LLMR_TILE_MAX_C 4
typedef void (*llmr_tile_fn)(int K, const void *W, size_t w_stride, int nr, const void *X,
                             size_t x_stride, int nc, float *Y, size_t ldy);

/* A whole matrix product: Y[c*ldy + r] = dot(W row r, X row c) for r < nr, c < nc, any nr
 * and nc (the kernel does its own blocking for the caches). Optional in the traits. */
typedef void (*llmr_gemm_fn)(int K, const void *W, size_t w_stride, int nr, const void *X,
                             size_t x_stride, int nc, float *Y, size_t ldy);

typedef struct llmr_type_traits {
    uint32_t type;            /* ggml type id of the weights (LLMR_TYPE_* in gguf/gguf.h) */
    uint32_t vec_dot_type;    /* type the activations are converted to before vec_dot:
                                 Q8_0 for Q4_0/Q5_0/Q8_0/IQ4_NL, Q8_1 for Q4_1/Q5_1,
                                 Q8_K for the K-quants, F16 for F16, BF16 for BF16, F32 for F32
                                 (this is llama.cpp's method; the fixtures' logits rely on it) */
    void (*to_float)(const void *src, float *dst, int64_t n);     /* dequantize n values */
    void (*from_float)(const float *src, void *dst, int64_t n);   /* quantize n values (NULL if
                                                                     not supported) */
    void (*vec_dot)(int n, float *s, const void *w, const void *x); /* *s = w . x, n values;
                                                                     x in vec_dot_type */
    /* Fields added beyond the agreed API: */
    const char *name;         /* "Q4_0", ... */
    uint32_t block_size;      /* values per block (1 for float types) */
    uint32_t type_size;       /* bytes per block */
    llmr_isa isa;             /* the ISA these pointers were chosen for */
    llmr_tile_fn tile;        /* multi-row x multi-column dot kernel, or NULL */
    llmr_gemm_fn gemm;        /* whole-product kernel, used before `tile` when set, or NULL */
    /* Row-interleaved ("repacked") layouts, made from the file's rows at load time
     * (repack.c). An entry with interleave > 1 describes weights stored in groups of
     * `interleave` rows: group g holds rows [g * interleave, (g + 1) * interleave) in as many
     * bytes as those rows take in the plain layout, arranged so that one SIMD pass produces
     * one output per row of the group. Such an entry computes only through `gemm` (nr, and
     * i0 of llmri_matmul_rows, multiples of interleave; any nc); its vec_dot, tile and
     * to_float are NULL. Plain entries have interleave 0 and no repack/unpack. */
    uint32_t interleave;
    /* plain -> this layout, one group: `interleave` rows of K values `src_stride` bytes apart
     * into dst (which must not overlap src) */
    void (*repack)(int K, const void *src, size_t src_stride, void *dst);
    /* this layout -> plain rows, one group: the exact inverse of repack */
    void (*unpack)(int K, const void *src, void *dst, size_t dst_stride);
    /* 1: the model repacks this type at load by default (this level's products on the layout
     * measured faster than its plain ones, prompt and decode); 0: only when asked
     * (LLMR_REPACK=1). Meaningful in repacked entries only. */
    uint32_t by_default;
} llmr_type_traits;

/* Traits for `type` at the best ISA of this CPU (or `isa`, for tests); NULL if the type is not
 * computable. The pointer is to static storage. n passed to the functions must be a multiple
 * of block_size. For Q8_0/Q8_1/Q8_K (activation-only types) vec_dot is NULL. Asking for an
 * ISA this CPU lacks returns the best ISA it has at or below the one asked for. */
const llmr_type_traits *llmri_traits(uint32_t type);
const llmr_type_traits *llmri_traits_isa(uint32_t type, llmr_isa isa);

/* The row-interleaved variant of `type` at the best ISA of this CPU (or `isa`, capped as
 * llmri_traits_isa does), or NULL when the type has none. Same type id and vec_dot_type as
 * the plain entry; static storage. */
const llmr_type_traits *llmri_traits_repacked(uint32_t type);
const llmr_type_traits *llmri_traits_repacked_isa(uint32_t type, llmr_isa isa);

/* Rewrites `nrows` rows of K values at `data` (plain layout, rows back to back) into the
 * layout of `t` (a repacked entry), in place, one group at a time through `scratch` (room for
 * t->interleave rows). nrows must be a multiple of t->interleave. */
void llmri_repack_rows(const llmr_type_traits *t, int K, void *data, int64_t nrows,
                       void *scratch);

/* The inverse of llmri_repack_rows: rows in the layout of `t` back to the plain layout, in
 * place, through `scratch` (room for t->interleave rows). */
void llmri_unpack_rows(const llmr_type_traits *t, int K, void *data, int64_t nrows,
                       void *scratch);

/* A layout as files store it (`llmr quantize --repack`): the file type id of repacked entry
 * `t` (gguf.h: LLMR_TYPE_REPACKED | interleave << 8 | type), and the reference entry of a file
 * type id, or NULL when the id is not a layout this build has. A layout is named by its plain
 * type and its interleave: every ISA's entry with the same pair arranges the bytes the same
 * way (only the products differ), so a file made on one CPU loads on any other. */
uint32_t llmri_layout_type_id(const llmr_type_traits *t);
const llmr_type_traits *llmri_traits_layout(uint32_t file_type);

/* Bytes of one row of K values of `type` (K a multiple of the block size), 0 if unknown. */
size_t llmri_row_size(uint32_t type, int64_t K);

/* Y[j*ldy + i] = dot(W row i, X row j) for i in [i0, i1) and j in [0, n): W has rows of K values
 * of t->type, `w_stride` bytes apart; X has n rows of K values already converted to
 * t->vec_dot_type (by llmri_traits(t->vec_dot_type)->from_float), `x_stride` bytes apart.
 * Tiles rows x columns so that each weight block is loaded once per tile of columns. The model
 * layer splits [0, rows) across threads and calls this from each. */
void llmri_matmul_rows(const llmr_type_traits *t, int K, const void *W, size_t w_stride,
                      int i0, int i1, const void *X, size_t x_stride, int n,
                      float *Y, size_t ldy);

/* fp16 / bf16 scalar conversions (exact, round-to-nearest-even) and row helpers. */
float llmri_fp16_to_fp32(uint16_t h);  uint16_t llmri_fp32_to_fp16(float f);
float llmri_bf16_to_fp32(uint16_t h);  uint16_t llmri_fp32_to_bf16(float f);
void llmri_fp16_to_fp32_row(const uint16_t *src, float *dst, int64_t n);
void llmri_fp32_to_fp16_row(const float *src, uint16_t *dst, int64_t n);
void llmri_bf16_to_fp32_row(const uint16_t *src, float *dst, int64_t n);
void llmri_fp32_to_bf16_row(const float *src, uint16_t *dst, int64_t n);

#endif
