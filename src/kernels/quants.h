/* quants.h - block layouts of the quantized types and the reference (plain C) kernels.
 * Internal to the kernels layer (the SIMD files and the traits table use it).
 *
 * Layouts are ggml's (ggml-common.h, llama.cpp b4748), bit for bit: GGUF tensor data is a
 * packed array of these blocks, little-endian, halves stored as IEEE binary16 bit patterns.
 */
#ifndef LLMR_KERNELS_QUANTS_H
#define LLMR_KERNELS_QUANTS_H

#include "kernels/kernels.h"

#include <stdint.h>

#define QK4_0 32
#define QK4_1 32
#define QK5_0 32
#define QK5_1 32
#define QK8_0 32
#define QK8_1 32
#define QK_K 256
#define K_SCALE_SIZE 12

typedef uint16_t llmr_half;

typedef struct { llmr_half d; uint8_t qs[QK4_0 / 2]; } block_q4_0;               /* 18 B */
typedef struct { llmr_half d, m; uint8_t qs[QK4_1 / 2]; } block_q4_1;            /* 20 B */
typedef struct { llmr_half d; uint8_t qh[4]; uint8_t qs[QK5_0 / 2]; } block_q5_0; /* 22 B */
typedef struct { llmr_half d, m; uint8_t qh[4]; uint8_t qs[QK5_1 / 2]; } block_q5_1; /* 24 */
typedef struct { llmr_half d; int8_t qs[QK8_0]; } block_q8_0;                    /* 34 B */
/* s = d * sum(qs): lets Q4_1/Q5_1 fold their minimum into one multiply per block. */
typedef struct { llmr_half d, s; int8_t qs[QK8_1]; } block_q8_1;                  /* 36 B */
typedef struct { llmr_half d; uint8_t qs[QK4_0 / 2]; } block_iq4_nl;             /* 18 B */

/* Q2_K: 16 sub-blocks of 16; scales[i] = 4-bit scale | 4-bit min << 4. 84 B */
typedef struct {
    uint8_t scales[QK_K / 16];
    uint8_t qs[QK_K / 4];
    llmr_half d, dmin;
} block_q2_K;
/* Q3_K: 2 low bits in qs, the third in hmask (set = no -4 offset); 16 6-bit scales packed
 * in 12 bytes, stored offset by 32. 110 B */
typedef struct {
    uint8_t hmask[QK_K / 8];
    uint8_t qs[QK_K / 4];
    uint8_t scales[12];
    llmr_half d;
} block_q3_K;
/* Q4_K: 8 sub-blocks of 32, 6-bit scales and mins packed in 12 bytes. 144 B */
typedef struct {
    llmr_half d, dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qs[QK_K / 2];
} block_q4_K;
/* Q5_K: as Q4_K plus one high bit per value in qh. 176 B */
typedef struct {
    llmr_half d, dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qh[QK_K / 8];
    uint8_t qs[QK_K / 2];
} block_q5_K;
/* Q6_K: 4 low bits in ql, 2 high bits in qh, 16 int8 scales. 210 B */
typedef struct {
    uint8_t ql[QK_K / 2];
    uint8_t qh[QK_K / 4];
    int8_t scales[QK_K / 16];
    llmr_half d;
} block_q6_K;
/* Q8_K (activations only): f32 scale, and sums of each 16 quants for the K-quant minimums. */
typedef struct {
    float d;
    int8_t qs[QK_K];
    int16_t bsums[QK_K / 16];
} block_q8_K;                                                                    /* 292 B */

_Static_assert(sizeof(block_q4_0) == 18, "q4_0");
_Static_assert(sizeof(block_q4_1) == 20, "q4_1");
_Static_assert(sizeof(block_q5_0) == 22, "q5_0");
_Static_assert(sizeof(block_q5_1) == 24, "q5_1");
_Static_assert(sizeof(block_q8_0) == 34, "q8_0");
_Static_assert(sizeof(block_q8_1) == 36, "q8_1");
_Static_assert(sizeof(block_q2_K) == 84, "q2_K");
_Static_assert(sizeof(block_q3_K) == 110, "q3_K");
_Static_assert(sizeof(block_q4_K) == 144, "q4_K");
_Static_assert(sizeof(block_q5_K) == 176, "q5_K");
_Static_assert(sizeof(block_q6_K) == 210, "q6_K");
_Static_assert(sizeof(block_q8_K) == 292, "q8_K");

/* IQ4_NL's non-linear 4-bit grid (ggml's kvalues_iq4nl). */
extern const int8_t llmr_iq4nl_values[16];

/* Inline fp16 conversion for the reference kernels (exact; see fp16.c for the why). */
static inline float llmri_h2f(llmr_half h) { return llmri_fp16_to_fp32(h); }

/* Q4_K / Q5_K 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes: j < 4 keep
 * the low 6 bits of bytes j and j+4; j >= 4 take a nibble of byte j+4 and the top 2 bits of
 * bytes j-4 and j. */
static inline void llmri_k_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m)
{
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

/* ---- reference kernels (ref_float.c, ref_quants.c, ref_kquants.c) ------------------------ */
#define LLMR_DECL_TYPE(t)                                                                   \
    void llmri_##t##_to_float_ref(const void *src, float *dst, int64_t n);                  \
    void llmri_##t##_from_float_ref(const float *src, void *dst, int64_t n);                \
    void llmri_##t##_vec_dot_ref(int n, float *s, const void *w, const void *x);

LLMR_DECL_TYPE(f32)
LLMR_DECL_TYPE(f16)
LLMR_DECL_TYPE(bf16)
LLMR_DECL_TYPE(q4_0)
LLMR_DECL_TYPE(q4_1)
LLMR_DECL_TYPE(q5_0)
LLMR_DECL_TYPE(q5_1)
LLMR_DECL_TYPE(q8_0)
LLMR_DECL_TYPE(q8_1)
LLMR_DECL_TYPE(iq4_nl)
LLMR_DECL_TYPE(q2_K)
LLMR_DECL_TYPE(q3_K)
LLMR_DECL_TYPE(q4_K)
LLMR_DECL_TYPE(q5_K)
LLMR_DECL_TYPE(q6_K)
LLMR_DECL_TYPE(q8_K)

#endif
