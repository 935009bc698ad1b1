/* test_kq.c - the kernels of kernels_kq_avx2.c against the plain-C reference where their
 * shapes matter: the packed F16 product (traits->gemm, which hands fewer than 16 columns to
 * the tiles) at every edge of its blocking (rows not a multiple of its
 * 16, columns across its column blocks, K across its K blocks and not a multiple of 8,
 * strided activations, a non-zero first row, zero-length dots), and the K-quant kernels on
 * long rows, many rows and edge-value blocks; and the Q4_0 / Q8_0 gemms' activation
 * preparation (the same products with and without). Skips where the CPU has no AVX2. */
#include "test_util.h"
/* this test uses only part of the shared helpers */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "kernel_test_util.h"
#pragma GCC diagnostic pop

static void need_avx2(void)
{
    if (llmr_cpu_best_isa() < LLMR_ISA_AVX2) {
        print_message("skipped: this CPU has no avx2\n");
        skip();
    }
}

/* Y from matmul_rows(rows [i0, R), n columns) against the reference vec_dot per element;
 * rows below i0 must stay untouched. X rows are xs bytes apart (xs >= row size). */
static void check_product(uint32_t type, int K, int R, int i0, int n, size_t xs_extra, int kind)
{
    const llmr_type_traits *r = llmr_traits_isa(type, LLMR_ISA_REF), *s = llmr_traits(type);
    const llmr_type_traits *rx = llmr_traits_isa(r->vec_dot_type, LLMR_ISA_REF);
    const size_t ws = llmr_row_size(type, K) + 6, xs = llmr_row_size(r->vec_dot_type, K) + xs_extra;
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
    llmr_matmul_rows(s, K, W, ws, i0, R, X, xs, n, Y, R);
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
    assert_non_null(llmr_traits(LLMR_TYPE_F16)->gemm);
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

/* The gemm with the caller's preparation (made column by column, in reverse order, as the
 * model's threads may) gives exactly the products it gives without one, for every row chunk
 * of a product split as the model splits it; and the preparation of a Q4_0 product serves
 * Q8_0 weights (the model shares one between the weights of a product step). */
static void check_prep(uint32_t type, uint32_t prep_type, int K, int R, int n)
{
    const llmr_type_traits *s = llmr_traits(type), *ps = llmr_traits(prep_type);
    const llmr_type_traits *rx = llmr_traits_isa(s->vec_dot_type, LLMR_ISA_REF);
    assert_non_null(s->gemm);
    assert_non_null(ps->prep_row);
    assert_ptr_equal(s->prep_row, ps->prep_row);
    const size_t ws = llmr_row_size(type, K) + 6, xs = llmr_row_size(s->vec_dot_type, K) + 4;
    uint8_t *W = calloc((size_t)R, ws), *X = calloc((size_t)n, xs);
    float *xf = malloc(sizeof(float) * K), *Y0 = malloc(sizeof(float) * R * n);
    float *Y1 = malloc(sizeof(float) * R * n);
    const llmr_type_traits *r = llmr_traits_isa(type, LLMR_ISA_REF);
    for (int i = 0; i < R; i++)
        kt_fill(r, W + i * ws, K, KT_RANDOM);
    const size_t pbytes = ps->prep_size(K, n);
    uint8_t *P = malloc(pbytes + 1);
    P[pbytes] = 0xA5;                                  /* the size is honest */
    for (int j = n - 1; j >= 0; j--) {
        kt_fill_x(xf, K, KT_RANDOM);
        rx->from_float(xf, X + j * xs, K);
        ps->prep_row(K, X + j * xs, j, n, P);
    }
    assert_int_equal(P[pbytes], 0xA5);
    for (int i0 = 0; i0 < R; i0 += 48) {               /* chunks of 48 rows, the last short */
        const int i1 = i0 + 48 < R ? i0 + 48 : R;
        llmr_matmul_rows(s, K, W, ws, i0, i1, X, xs, n, Y0, R);
        llmr_matmul_rows_prep(s, K, W, ws, i0, i1, X, xs, n, Y1, R, P);
    }
    if (memcmp(Y0, Y1, sizeof(float) * R * n)) {
        print_error("%s K=%d R=%d n=%d: the prepared product differs\n", s->name, K, R, n);
        fail();
    }
    free(W);
    free(X);
    free(xf);
    free(Y0);
    free(Y1);
    free(P);
}

static void prepared_activations_give_the_same_products(void **state)
{
    (void)state;
    need_avx2();
    static const int Ns[] = {1, 3, 16, 23, 97, 200};
    for (size_t c = 0; c < sizeof Ns / sizeof Ns[0]; c++) {
        check_prep(LLMR_TYPE_Q4_0, LLMR_TYPE_Q4_0, 2048, 100, Ns[c]);
        check_prep(LLMR_TYPE_Q8_0, LLMR_TYPE_Q8_0, 512, 61, Ns[c]);
        check_prep(LLMR_TYPE_Q8_0, LLMR_TYPE_Q4_0, 256, 17, Ns[c]);
        check_prep(LLMR_TYPE_Q4_0, LLMR_TYPE_Q4_0, 96, 9, Ns[c]);  /* K not a multiple of 8 blocks */
    }
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
        cmocka_unit_test(prepared_activations_give_the_same_products),
        cmocka_unit_test(kquant_kernels_match_reference_on_long_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
