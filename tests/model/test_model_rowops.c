/* test_model_rowops.c - the row kernels the families beyond llama use (GeGLU, soft-capping, the
 * sliding-window softmax), both the baseline build (the header's kernels, compiled here) and
 * the one chosen at run time (AVX2 where the CPU has it), against float64 references. */
#include "test_util.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#define LLMR_ROWOPS_IMPL
#include "model/rowops.h"
#pragma GCC diagnostic pop

#include <math.h>

#define N 203   /* not a multiple of the vector width */

static const llmr_rowops BASE = {rowops_swiglu, rowops_softmax, rowops_to_f16, rowops_geglu,
                                 rowops_softcap, rowops_softmax_window};

static float val(int i) { return (float)(((i * 37) % 101) - 50) / 7.0f; }   /* -7.1 .. 7.1 */

static void check_ops(const llmr_rowops *ops)
{
    float a[N], b[N], s[N];
    double md = 0;
    for (int i = 0; i < N; i++)
        a[i] = val(i), b[i] = val(i + 11) / 3.0f;
    ops->geglu(a, b, N);
    for (int i = 0; i < N; i++) {
        const double x = val(i);
        const double g = 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
        md = fmax(md, fabs(a[i] - g * (val(i + 11) / 3.0f)) / fmax(1.0, fabs(g)));
    }
    assert_true(md < 1e-6);

    for (int i = 0; i < N; i++)
        s[i] = val(i) * 10.0f;
    ops->softcap(s, N, 30.0f);
    md = 0;
    for (int i = 0; i < N; i++)
        md = fmax(md, fabs(s[i] - 30.0 * tanh(val(i) * 10.0 / 30.0)));
    assert_true(md < 1e-5);

    /* a window [lo, valid) with soft-capping, and without */
    for (int cap = 0; cap < 2; cap++) {
        const int lo = 17, valid = 150;
        const double c = cap ? 2.0 : 0.0, scale = 0.3;
        for (int i = 0; i < N; i++)
            s[i] = val(i);
        ops->softmax_window(s, N, lo, valid, (float)scale, (float)c);
        double ref[N], mx = -INFINITY, sum = 0;
        for (int i = lo; i < valid; i++) {
            ref[i] = val(i) * scale;
            if (c > 0)
                ref[i] = c * tanh(ref[i] / c);
            mx = fmax(mx, ref[i]);
        }
        for (int i = lo; i < valid; i++)
            sum += ref[i] = exp(ref[i] - mx);
        md = 0;
        for (int i = 0; i < N; i++)
            md = fmax(md, fabs(s[i] - (i >= lo && i < valid ? ref[i] / sum : 0.0)));
        assert_true(md < 1e-7);
    }
}

static void geglu_softcap_and_window_match_float64(void **st)
{
    (void)st;
    check_ops(&BASE);
    check_ops(llmri_rowops_get());
}

/* NaN in gives NaN out (a broken model is reported, not hidden); saturated values stay finite */
static void nan_propagates_and_extremes_saturate(void **st)
{
    (void)st;
    const llmr_rowops *ops = llmri_rowops_get();
    float a[4] = {NAN, 1e30f, -1e30f, 0.0f}, b[4] = {1, 1, 1, 1};
    ops->geglu(a, b, 4);
    assert_true(isnan(a[0]));
    assert_true(a[1] == 1e30f && fabsf(a[2]) < 1e-8f && a[3] == 0.0f);
    float s[3] = {NAN, 1e30f, -1e30f};
    ops->softcap(s, 3, 50.0f);
    assert_true(isnan(s[0]) && s[1] == 50.0f && s[2] == -50.0f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(geglu_softcap_and_window_match_float64),
        cmocka_unit_test(nan_propagates_and_extremes_saturate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
