/* test_simd.c - every SIMD kernel agrees with the plain-C reference: activation quantizers
 * and dequantization bit for bit, dot products and the tiled matrix product within a
 * tolerance scaled by the size of the terms (integer block sums are exact; only the float
 * accumulation order differs). Runs each ISA this CPU has; the others are skipped. */
#include "test_util.h"
#include "kernel_test_util.h"

static const uint32_t types[] = {
    LLMR_TYPE_F32, LLMR_TYPE_F16, LLMR_TYPE_BF16, LLMR_TYPE_Q4_0, LLMR_TYPE_Q4_1,
    LLMR_TYPE_Q5_0, LLMR_TYPE_Q5_1, LLMR_TYPE_Q8_0, LLMR_TYPE_IQ4_NL, LLMR_TYPE_Q2_K,
    LLMR_TYPE_Q3_K, LLMR_TYPE_Q4_K, LLMR_TYPE_Q5_K, LLMR_TYPE_Q6_K,
};
#define N_TYPES (sizeof types / sizeof types[0])

/* Bound on |simd - ref| for a dot whose terms have absolute sum `mag`: float accumulation
 * over <= K/8 partial sums, each a few roundings. */
static double tol(double mag, int K) { return 2e-6 * mag * (1 + K / 256.0) + 1e-35; }

/* Sum of |w_i x_i| from the dequantized operands: the scale of rounding errors. */
static double dot_mag(const llmr_type_traits *tw, const llmr_type_traits *tx, int K,
                      const void *w, const void *x)
{
    float *a = malloc((size_t)K * 4), *b = malloc((size_t)K * 4);
    tw->to_float(w, a, K);
    tx->to_float(x, b, K);
    double m = 0;
    for (int i = 0; i < K; i++)
        m += fabs((double)a[i] * b[i]);
    free(a);
    free(b);
    return m;
}

static void check_isa(llmr_isa isa)
{
    const int K = 512;
    float *xf = malloc(K * sizeof(float));
    uint8_t *xq_ref = malloc(K * 4 + 64), *xq = malloc(K * 4 + 64);
    uint8_t *w = malloc(K * 4 + 64);
    float *deq_ref = malloc(K * 4), *deq = malloc(K * 4);
    for (size_t ti = 0; ti < N_TYPES; ti++) {
        const llmr_type_traits *r = llmr_traits_isa(types[ti], LLMR_ISA_REF);
        const llmr_type_traits *s = llmr_traits_isa(types[ti], isa);
        assert_non_null(r);
        assert_non_null(s);
        const llmr_type_traits *rx = llmr_traits_isa(r->vec_dot_type, LLMR_ISA_REF);
        const llmr_type_traits *sx = llmr_traits_isa(r->vec_dot_type, isa);
        size_t xbytes = llmr_row_size(r->vec_dot_type, K);
        for (int kind = 0; kind < KT_NKINDS; kind++)
            for (int rep = 0; rep < (kind == KT_RANDOM ? 20 : 2); rep++) {
                kt_fill(r, w, K, kind == KT_RANDOM ? KT_RANDOM : kind);
                /* dequantization: bit for bit */
                r->to_float(w, deq_ref, K);
                s->to_float(w, deq, K);
                if (memcmp(deq_ref, deq, K * 4)) {
                    print_error("%s %s: to_float differs from the reference (kind %d)\n",
                                llmr_isa_name(isa), r->name, kind);
                    fail();
                }
                /* activation quantizer: bit for bit */
                kt_fill_x(xf, K, (kind + rep) % KT_NKINDS);
                rx->from_float(xf, xq_ref, K);
                sx->from_float(xf, xq, K);
                if (memcmp(xq_ref, xq, xbytes)) {
                    print_error("%s: quantizing activations to %s differs from the reference\n",
                                llmr_isa_name(isa), rx->name);
                    fail();
                }
                float d_ref, d;
                r->vec_dot(K, &d_ref, w, xq_ref);
                s->vec_dot(K, &d, w, xq_ref);
                double m = dot_mag(r, rx, K, w, xq_ref);
                if (!(fabs((double)d - d_ref) <= tol(m, K))) {
                    print_error("%s %s: vec_dot %.9g, reference %.9g (magnitude %g, kind %d)\n",
                                llmr_isa_name(isa), r->name, d, d_ref, m, kind);
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
static void check_matmul(llmr_isa isa)
{
    const int K = 512, R = 9, C = 10;
    for (size_t ti = 0; ti < N_TYPES; ti++) {
        const llmr_type_traits *r = llmr_traits_isa(types[ti], LLMR_ISA_REF);
        const llmr_type_traits *s = llmr_traits_isa(types[ti], isa);
        const llmr_type_traits *rx = llmr_traits_isa(r->vec_dot_type, LLMR_ISA_REF);
        size_t ws = llmr_row_size(r->type, K), xs = llmr_row_size(r->vec_dot_type, K);
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
                llmr_matmul_rows(s, K, W, ws, i0, R, X, xs, nc, Y, R);
                for (int j = 0; j < nc; j++)
                    for (int i = 0; i < R; i++) {
                        float y = Y[j * R + i];
                        if (i < i0) {
                            assert_true(isnan(y));    /* rows outside [i0, i1) untouched */
                            continue;
                        }
                        float ref;
                        r->vec_dot(K, &ref, W + i * ws, X + j * xs);
                        double m = dot_mag(r, rx, K, W + i * ws, X + j * xs);
                        if (!(fabs((double)y - ref) <= tol(m, K))) {
                            print_error("%s %s matmul %dx%d: Y[%d,%d] = %.9g, ref %.9g\n",
                                        llmr_isa_name(isa), r->name, nr, nc, i, j, y, ref);
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

static void run_isa(llmr_isa isa)
{
    if (llmr_cpu_best_isa() < isa) {
        print_message("skipped: this CPU has no %s\n", llmr_isa_name(isa));
        skip();
    }
    check_isa(isa);
    check_matmul(isa);
}

static void reference_tiled_matmul_matches_vec_dot(void **state)
{
    (void)state;
    check_matmul(LLMR_ISA_REF);
}
static void avx2_kernels_match_reference(void **state)
{
    (void)state;
    run_isa(LLMR_ISA_AVX2);
}
static void avx512_kernels_match_reference(void **state)
{
    (void)state;
    run_isa(LLMR_ISA_AVX512);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reference_tiled_matmul_matches_vec_dot),
        cmocka_unit_test(avx2_kernels_match_reference),
        cmocka_unit_test(avx512_kernels_match_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
