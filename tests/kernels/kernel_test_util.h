/* kernel_test_util.h - random and edge-case blocks of every type, for the kernel tests. */
#ifndef LLMR_KERNEL_TEST_UTIL_H
#define LLMR_KERNEL_TEST_UTIL_H

#include "kernels/kernels.h"
#include "gguf/gguf.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static uint64_t kt_rng = 0x9E3779B97F4A7C15ull;
static inline uint32_t kt_u32(void)
{
    kt_rng ^= kt_rng << 13;
    kt_rng ^= kt_rng >> 7;
    kt_rng ^= kt_rng << 17;
    return (uint32_t)(kt_rng >> 16);
}
/* uniform in [-1, 1) */
static inline float kt_f(void) { return (float)((kt_u32() & 0xffffff) / 8388608.0 - 1.0); }

/* Where a type's f16 scale fields sit in its block (byte offsets; -1 ends the list). */
static inline const int *kt_half_offsets(uint32_t type)
{
    static const int none[] = {-1}, at0[] = {0, -1}, at01[] = {0, 2, -1};
    static const int q2k[] = {80, 82, -1}, q3k[] = {108, -1}, q6k[] = {208, -1};
    switch (type) {
    case LLMR_TYPE_Q4_0: case LLMR_TYPE_Q5_0: case LLMR_TYPE_Q8_0: case LLMR_TYPE_IQ4_NL:
        return at0;
    case LLMR_TYPE_Q4_1: case LLMR_TYPE_Q5_1: case LLMR_TYPE_Q4_K: case LLMR_TYPE_Q5_K:
        return at01;
    case LLMR_TYPE_Q2_K: return q2k;
    case LLMR_TYPE_Q3_K: return q3k;
    case LLMR_TYPE_Q6_K: return q6k;
    default: return none;
    }
}

enum { KT_RANDOM = 0, KT_ZERO = 1, KT_MAX = 2, KT_DENORMAL = 3, KT_NKINDS = 4 };

/* Fills n values' worth of blocks of `type`: random quants with scales of sensible size
 * (KT_RANDOM), all bytes zero (KT_ZERO), every quant byte 0xFF or 0x80 and large scales
 * (KT_MAX: the extremes of each packing), or random quants with subnormal f16 scales. */
static inline void kt_fill(const llmr_type_traits *t, void *dst, int64_t n, int kind)
{
    uint8_t *p = dst;
    size_t bytes = llmri_row_size(t->type, n);
    if (t->type == LLMR_TYPE_F32 || t->type == LLMR_TYPE_F16 || t->type == LLMR_TYPE_BF16) {
        float *tmp = malloc((size_t)n * sizeof(float));
        for (int64_t i = 0; i < n; i++)
            tmp[i] = kind == KT_ZERO ? 0.0f : kind == KT_MAX ? (i & 1 ? 60000.f : -60000.f)
                   : kind == KT_DENORMAL ? kt_f() * 1e-6f : kt_f();
        t->from_float(tmp, dst, n);
        free(tmp);
        return;
    }
    for (size_t i = 0; i < bytes; i++)
        p[i] = kind == KT_ZERO ? 0 : kind == KT_MAX ? ((i & 1) ? 0xFF : 0x80) : (uint8_t)kt_u32();
    const int *off = kt_half_offsets(t->type);
    for (size_t b = 0; b < bytes / t->type_size; b++)
        for (int k = 0; off[k] >= 0; k++) {
            float v = kind == KT_ZERO ? 0.f : kind == KT_MAX ? 2.0f : kind == KT_DENORMAL
                    ? (float)(kt_u32() % 1000) * 0x1p-24f : kt_f() * 0.05f;
            uint16_t h = llmri_fp32_to_fp16(v);
            memcpy(p + b * t->type_size + off[k], &h, 2);
        }
}

/* Activations: random, zero, large, tiny (subnormal f32) values. "Large" stays below
 * 2048 so that Q8_1's f16 block sum d*sum(q) (at most 32*amax) is finite. */
static inline void kt_fill_x(float *x, int64_t n, int kind)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = kind == KT_ZERO ? 0.0f : kind == KT_MAX ? kt_f() * 1e3f
             : kind == KT_DENORMAL ? kt_f() * 1e-39f : kt_f() * 2.0f;
}

/* ---- checks shared by test_simd.c and test_avx512_emul.c: every kernel of a traits table
 * (looked up by `get`) against the reference table. Needs cmocka (test_util.h) first. ---- */
static const uint32_t kt_types[] = {
    LLMR_TYPE_F32, LLMR_TYPE_F16, LLMR_TYPE_BF16, LLMR_TYPE_Q4_0, LLMR_TYPE_Q4_1,
    LLMR_TYPE_Q5_0, LLMR_TYPE_Q5_1, LLMR_TYPE_Q8_0, LLMR_TYPE_IQ4_NL, LLMR_TYPE_Q2_K,
    LLMR_TYPE_Q3_K, LLMR_TYPE_Q4_K, LLMR_TYPE_Q5_K, LLMR_TYPE_Q6_K,
};
#define N_TYPES (sizeof kt_types / sizeof kt_types[0])

/* Bound on |simd - ref| for a dot whose terms have absolute sum `mag`: float accumulation
 * over <= K/8 partial sums, each a few roundings. */
static double tol(double mag, int K) { return 2e-6 * mag * (1 + K / 256.0) + 1e-35; }

/* Allowed |simd - ref| for w . x, from the dequantized operands: tol() of the sum of |w_i x_i|
 * (the scale of rounding errors), plus every term an implementation may flush: vdpbf16ps
 * treats subnormal inputs as zero and flushes subnormal results (DAZ/FTZ, Intel SDM), so
 * terms with a subnormal operand or product, and a subnormal running sum, may vanish. */
static double dot_tol(const llmr_type_traits *tw, const llmr_type_traits *tx, int K,
                      const void *w, const void *x)
{
    float *a = malloc((size_t)K * 4), *b = malloc((size_t)K * 4);
    tw->to_float(w, a, K);
    tx->to_float(x, b, K);
    double m = 0, flushable = 0;
    for (int i = 0; i < K; i++) {
        double t = fabs((double)a[i] * b[i]);
        m += t;
        if (fpclassify(a[i]) == FP_SUBNORMAL || fpclassify(b[i]) == FP_SUBNORMAL || t < FLT_MIN)
            flushable += t;
    }
    free(a);
    free(b);
    return tol(m, K) + flushable + (double)FLT_MIN * K;
}

static void kt_check_kernels(const llmr_type_traits *(*get)(uint32_t), const char *label)
{
    const int K = 512;
    float *xf = malloc(K * sizeof(float));
    uint8_t *xq_ref = malloc(K * 4 + 64), *xq = malloc(K * 4 + 64);
    uint8_t *w = malloc(K * 4 + 64);
    float *deq_ref = malloc(K * 4), *deq = malloc(K * 4);
    for (size_t ti = 0; ti < N_TYPES; ti++) {
        const llmr_type_traits *r = llmri_traits_isa(kt_types[ti], LLMR_ISA_REF);
        const llmr_type_traits *s = get(kt_types[ti]);
        assert_non_null(r);
        assert_non_null(s);
        const llmr_type_traits *rx = llmri_traits_isa(r->vec_dot_type, LLMR_ISA_REF);
        const llmr_type_traits *sx = get(r->vec_dot_type);
        size_t xbytes = llmri_row_size(r->vec_dot_type, K);
        for (int kind = 0; kind < KT_NKINDS; kind++)
            for (int rep = 0; rep < (kind == KT_RANDOM ? 20 : 2); rep++) {
                kt_fill(r, w, K, kind == KT_RANDOM ? KT_RANDOM : kind);
                /* dequantization: bit for bit */
                r->to_float(w, deq_ref, K);
                s->to_float(w, deq, K);
                if (memcmp(deq_ref, deq, K * 4)) {
                    print_error("%s %s: to_float differs from the reference (kind %d)\n",
                                label, r->name, kind);
                    fail();
                }
                /* activation quantizer: bit for bit */
                kt_fill_x(xf, K, (kind + rep) % KT_NKINDS);
                rx->from_float(xf, xq_ref, K);
                sx->from_float(xf, xq, K);
                if (memcmp(xq_ref, xq, xbytes)) {
                    print_error("%s: quantizing activations to %s differs from the reference\n",
                                label, rx->name);
                    fail();
                }
                float d_ref, d;
                r->vec_dot(K, &d_ref, w, xq_ref);
                s->vec_dot(K, &d, w, xq_ref);
                double m = dot_tol(r, rx, K, w, xq_ref);
                if (!(fabs((double)d - d_ref) <= m)) {
                    print_error("%s %s: vec_dot %.9g, reference %.9g (allowed error %g, kind %d)\n",
                                label, r->name, d, d_ref, m, kind);
                    fail();
                }
            }
    }
    free(xf);
    free(xq_ref);
    free(xq);
    free(w);
    free(deq_ref);
    free(deq);
}

/* matmul_rows at every tile remainder: rows 1..9, columns 1..10, against per-element ref. */
static void kt_check_matmul(const llmr_type_traits *(*get)(uint32_t), const char *label)
{
    const int K = 512, R = 9, C = 10;
    for (size_t ti = 0; ti < N_TYPES; ti++) {
        const llmr_type_traits *r = llmri_traits_isa(kt_types[ti], LLMR_ISA_REF);
        const llmr_type_traits *s = get(kt_types[ti]);
        const llmr_type_traits *rx = llmri_traits_isa(r->vec_dot_type, LLMR_ISA_REF);
        size_t ws = llmri_row_size(r->type, K), xs = llmri_row_size(r->vec_dot_type, K);
        uint8_t *W = malloc(ws * R), *X = malloc(xs * C);
        float *xf = malloc(K * sizeof(float)), *Y = malloc(sizeof(float) * R * C);
        for (int i = 0; i < R; i++)
            kt_fill(r, W + i * ws, K, KT_RANDOM);
        for (int j = 0; j < C; j++) {
            kt_fill_x(xf, K, KT_RANDOM);
            rx->from_float(xf, X + j * xs, K);
        }
        for (int nr = 1; nr <= R; nr++)
            for (int nc = 1; nc <= C; nc++) {
                for (int i = 0; i < R * C; i++)
                    Y[i] = NAN;
                int i0 = R - nr;    /* also exercise a non-zero first row */
                llmri_matmul_rows(s, K, W, ws, i0, R, X, xs, nc, Y, R);
                for (int j = 0; j < nc; j++)
                    for (int i = 0; i < R; i++) {
                        float y = Y[j * R + i];
                        if (i < i0) {
                            assert_true(isnan(y));    /* rows outside [i0, i1) untouched */
                            continue;
                        }
                        float ref;
                        r->vec_dot(K, &ref, W + i * ws, X + j * xs);
                        double m = dot_tol(r, rx, K, W + i * ws, X + j * xs);
                        if (!(fabs((double)y - ref) <= m)) {
                            print_error("%s %s matmul %dx%d: Y[%d,%d] = %.9g, ref %.9g\n",
                                        label, r->name, nr, nc, i, j, y, ref);
                            fail();
                        }
                    }
            }
        free(W);
        free(X);
        free(xf);
        free(Y);
    }
}

/* Enough columns of long rows that matmul_rows splits them into several column blocks
 * (it keeps about 128 KiB of activations per block). */
static void kt_check_matmul_blocks(const llmr_type_traits *(*get)(uint32_t), const char *label)
{
    const int K = 8192, R = 19, C = 37;
    const llmr_type_traits *r = llmri_traits_isa(LLMR_TYPE_Q4_0, LLMR_ISA_REF), *s = get(LLMR_TYPE_Q4_0);
    const llmr_type_traits *rx = llmri_traits_isa(r->vec_dot_type, LLMR_ISA_REF);
    size_t ws = llmri_row_size(r->type, K), xs = llmri_row_size(r->vec_dot_type, K);
    assert_true((128u << 10) / xs < (size_t)C);      /* really more than one block */
    uint8_t *W = malloc(ws * R), *X = malloc(xs * C);
    float *xf = malloc(K * sizeof(float)), *Y = malloc(sizeof(float) * R * C);
    for (int i = 0; i < R; i++)
        kt_fill(r, W + i * ws, K, KT_RANDOM);
    for (int j = 0; j < C; j++) {
        kt_fill_x(xf, K, KT_RANDOM);
        rx->from_float(xf, X + j * xs, K);
    }
    llmri_matmul_rows(s, K, W, ws, 0, R, X, xs, C, Y, R);
    for (int j = 0; j < C; j++)
        for (int i = 0; i < R; i++) {
            float ref;
            r->vec_dot(K, &ref, W + i * ws, X + j * xs);
            double m = dot_tol(r, rx, K, W + i * ws, X + j * xs);
            if (!(fabs((double)Y[j * R + i] - ref) <= m)) {
                print_error("%s Q4_0 column blocks: Y[%d,%d] = %.9g, ref %.9g\n", label, i, j,
                            Y[j * R + i], ref);
                fail();
            }
        }
    free(W);
    free(X);
    free(xf);
    free(Y);
}

/* Wide products as prompt processing runs them: 8-row groups plus a remainder, a first row
 * that is not a multiple of 8, several column blocks (long rows), for every K-quant, the
 * 8-row Q4_0/Q8_0 products and F16's packed product. Quantized weights random and at their
 * extremes (every quant byte 0xFF: the largest value of each packing) against activations
 * random and constant (every Q8_K byte -127): the constant ones drive the kernels' int16
 * partial sums to their bounds. */
static void kt_check_matmul_wide(const llmr_type_traits *(*get)(uint32_t), const char *label)
{
    static const uint32_t wt[] = {LLMR_TYPE_Q4_K, LLMR_TYPE_Q5_K, LLMR_TYPE_Q6_K,
                                  LLMR_TYPE_Q4_0, LLMR_TYPE_Q8_0, LLMR_TYPE_F16};
    const int K = 8192, R = 19, C = 45, i0 = 1;
    for (size_t ti = 0; ti < sizeof wt / sizeof wt[0]; ti++)
        for (int kind = 0; kind < (wt[ti] == LLMR_TYPE_F16 ? 1 : 2); kind++) {
            const llmr_type_traits *r = llmri_traits_isa(wt[ti], LLMR_ISA_REF), *s = get(wt[ti]);
            const llmr_type_traits *rx = llmri_traits_isa(r->vec_dot_type, LLMR_ISA_REF);
            size_t ws = llmri_row_size(r->type, K), xs = llmri_row_size(r->vec_dot_type, K);
            uint8_t *W = malloc(ws * R), *X = malloc(xs * C);
            float *xf = malloc(K * sizeof(float)), *Y = malloc(sizeof(float) * R * C);
            for (int i = 0; i < R; i++) {
                kt_fill(r, W + i * ws, K, KT_RANDOM);
                if (kind == 1) {   /* quant bytes all ones, the random f16 scales kept */
                    uint8_t *row = W + i * ws;
                    const int *off = kt_half_offsets(r->type);
                    for (size_t b = 0; b < ws / r->type_size; b++)
                        for (size_t k = 0; k < r->type_size; k++) {
                            int is_half = 0;
                            for (int h = 0; off[h] >= 0; h++)
                                is_half |= (int)k == off[h] || (int)k == off[h] + 1;
                            if (!is_half)
                                row[b * r->type_size + k] = 0xFF;
                        }
                }
            }
            for (int j = 0; j < C; j++) {
                if (kind == 1 && j % 2 == 0)
                    for (int k = 0; k < K; k++)
                        xf[k] = 0.75f;
                else
                    kt_fill_x(xf, K, KT_RANDOM);
                rx->from_float(xf, X + j * xs, K);
            }
            llmri_matmul_rows(s, K, W, ws, i0, R, X, xs, C, Y, R);
            for (int j = 0; j < C; j++)
                for (int i = i0; i < R; i++) {
                    float ref;
                    r->vec_dot(K, &ref, W + i * ws, X + j * xs);
                    double m = dot_tol(r, rx, K, W + i * ws, X + j * xs);
                    if (!(fabs((double)Y[j * R + i] - ref) <= m)) {
                        print_error("%s %s wide product (kind %d): Y[%d,%d] = %.9g, ref %.9g\n",
                                    label, r->name, kind, i, j, Y[j * R + i], ref);
                        fail();
                    }
                }
            free(W);
            free(X);
            free(xf);
            free(Y);
        }
}

/* Float types at lengths that are not a multiple of any vector width (attention runs
 * matmul_rows over KV caches of every length). */
static void kt_check_float_tails(const llmr_type_traits *(*get)(uint32_t), const char *label)
{
    static const uint32_t ft[] = {LLMR_TYPE_F32, LLMR_TYPE_F16, LLMR_TYPE_BF16};
    static const int Ks[] = {1, 7, 13, 37, 100};
    for (size_t ti = 0; ti < 3; ti++)
        for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++) {
            const int K = Ks[ki], R = 5, C = 5;
            const llmr_type_traits *r = llmri_traits_isa(ft[ti], LLMR_ISA_REF), *s = get(ft[ti]);
            size_t rs = llmri_row_size(ft[ti], K);
            uint8_t *W = malloc(rs * R), *X = malloc(rs * C);
            float *Y = malloc(sizeof(float) * R * C);
            for (int i = 0; i < R; i++)
                kt_fill(r, W + i * rs, K, KT_RANDOM);
            for (int j = 0; j < C; j++)
                kt_fill(r, X + j * rs, K, KT_RANDOM);
            for (int nc = 1; nc <= C; nc++) {
                llmri_matmul_rows(s, K, W, rs, 0, R, X, rs, nc, Y, R);
                for (int j = 0; j < nc; j++)
                    for (int i = 0; i < R; i++) {
                        float ref, one;
                        r->vec_dot(K, &ref, W + i * rs, X + j * rs);
                        s->vec_dot(K, &one, W + i * rs, X + j * rs);
                        double m = dot_tol(r, r, K, W + i * rs, X + j * rs);
                        if (!(fabs((double)Y[j * R + i] - ref) <= m) ||
                            !(fabs((double)one - ref) <= m)) {
                            print_error("%s %s K=%d: matmul %.9g, vec_dot %.9g, ref %.9g\n",
                                        label, r->name, K, Y[j * R + i], one, ref);
                            fail();
                        }
                    }
            }
            free(W);
            free(X);
            free(Y);
        }
}

#endif
