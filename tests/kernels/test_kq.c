/* test_kq.c - the kernels of kernels_kq_avx2.c against the plain-C reference where their
 * shapes matter: the packed F16 product (traits->gemm, which hands fewer than 16 columns to
 * the tiles) at every edge of its blocking (rows not a multiple of its
 * 16, columns across its column blocks, K across its K blocks and not a multiple of 8,
 * strided activations, a non-zero first row, zero-length dots), and the K-quant kernels on
 * long rows, many rows and edge-value blocks. Skips where the CPU has no AVX2. */
#include "test_util.h"
/* this test uses only part of the shared helpers */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "kernel_test_util.h"
#pragma GCC diagnostic pop

static void need_avx2(void)
{
    if (llmri_cpu_best_isa() < LLMR_ISA_AVX2) {
        print_message("skipped: this CPU has no avx2\n");
        skip();
    }
}

/* Y from matmul_rows(rows [i0, R), n columns) against the reference vec_dot per element;
 * rows below i0 must stay untouched. X rows are xs bytes apart (xs >= row size). */
static void check_product(uint32_t type, int K, int R, int i0, int n, size_t xs_extra, int kind)
{
    const llmr_type_traits *r = llmri_traits_isa(type, LLMR_ISA_REF), *s = llmri_traits(type);
    const llmr_type_traits *rx = llmri_traits_isa(r->vec_dot_type, LLMR_ISA_REF);
    const size_t ws = llmri_row_size(type, K) + 6, xs = llmri_row_size(r->vec_dot_type, K) + xs_extra;
    uint8_t *W = calloc((size_t)R, ws), *X = calloc((size_t)n, xs);
    float *xf = malloc(sizeof(float) * (K ? K : 1)), *Y = malloc(sizeof(float) * R * n);
    for (int i = 0; i < R; i++)
        kt_fill(r, W + i * ws, K, kind);
    for (int j = 0; j < n; j++) {
        kt_fill_x(xf, K, kind);
        rx->from_float(xf, X + j * xs, K);
    }
    for (int i = 0; i < R * n; i++)
        Y[i] = NAN;
    llmri_matmul_rows(s, K, W, ws, i0, R, X, xs, n, Y, R);
    for (int j = 0; j < n; j++)
        for (int i = 0; i < R; i++) {
            const float y = Y[j * R + i];
            if (i < i0) {
                assert_true(isnan(y));
                continue;
            }
            float ref = 0;
            if (K)
                r->vec_dot(K, &ref, W + i * ws, X + j * xs);
            const double m = K ? dot_tol(r, rx, K, W + i * ws, X + j * xs) : 0;
            if (!(fabs((double)y - ref) <= m)) {
                print_error("%s K=%d R=%d i0=%d n=%d: Y[%d,%d] = %.9g, ref %.9g (allowed %g)\n",
                            r->name, K, R, i0, n, i, j, y, ref, m);
                fail();
            }
        }
    free(W);
    free(X);
    free(xf);
    free(Y);
}

static void f16_gemm_matches_reference_at_every_edge(void **state)
{
    (void)state;
    need_avx2();
    assert_non_null(llmri_traits(LLMR_TYPE_F16)->gemm);
    static const int Ks[] = {1, 7, 8, 13, 64, 100, 256, 257, 600};
    static const int Rs[] = {1, 5, 16, 17, 40};
    static const int Ns[] = {1, 15, 16, 23, 97, 200};
    for (size_t a = 0; a < sizeof Ks / sizeof Ks[0]; a++)
        for (size_t b = 0; b < sizeof Rs / sizeof Rs[0]; b++)
            for (size_t c = 0; c < sizeof Ns / sizeof Ns[0]; c++) {
                if (Ks[a] * Rs[b] * Ns[c] > 600 * 17 * 97)
                    continue;           /* keep the test quick under the sanitizers */
                check_product(LLMR_TYPE_F16, Ks[a], Rs[b], (int)(b % 2) * (Rs[b] / 3), Ns[c],
                              c % 2 ? 10 : 0, KT_RANDOM);
            }
    check_product(LLMR_TYPE_F16, 0, 5, 0, 20, 0, KT_RANDOM);        /* empty dots are 0 */
    for (int kind = KT_ZERO; kind < KT_NKINDS; kind++) {
        check_product(LLMR_TYPE_F16, 300, 18, 1, 30, 0, kind);
        check_product(LLMR_TYPE_F16, 300, 18, 1, 1, 0, kind);     /* decode */
    }
    check_product(LLMR_TYPE_F16, 9000, 3, 0, 1, 0, KT_RANDOM);      /* decode, X on the heap */
}

static void kquant_kernels_match_reference_on_long_rows(void **state)
{
    (void)state;
    need_avx2();
    static const uint32_t types[] = {LLMR_TYPE_Q4_K, LLMR_TYPE_Q6_K, LLMR_TYPE_Q5_K};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        for (int kind = 0; kind < KT_NKINDS; kind++) {
            check_product(types[t], 2048, 13, 0, 1, 0, kind);      /* decode */
            check_product(types[t], 256, 9, 2, 1, 0, kind);
        }
        check_product(types[t], 1024, 11, 1, 5, 0, KT_RANDOM);     /* a few columns */
        check_product(types[t], 512, 7, 0, 20, 0, KT_RANDOM);      /* prompt */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(f16_gemm_matches_reference_at_every_edge),
        cmocka_unit_test(kquant_kernels_match_reference_on_long_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
