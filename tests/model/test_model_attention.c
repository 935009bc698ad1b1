/* test_model_attention.c - the tiled attention (attention.c) against a float64 attention over
 * the same cache: lengths below, at and past one KV tile, several query rows (the causal mask
 * inside a tile), grouped-query heads, a sliding window and soft-capping, for every cache type
 * (F32, F16, Q8_0, Q4_0), with the baseline row kernels and the ones chosen at run time. The
 * reference reads the cache's values dequantized by the type's own kernel (llmri_traits), so
 * what is compared is the algorithm (the online softmax over tiles against the whole softmax
 * at once) and the attention's own conversion of the cache rows. */
#include "test_util.h"

#include "gguf/gguf.h"
#include "model/attn_kern.h"
#include "model/forward.h"

#include <math.h>

#define HD 64
#define GROUP 4

static uint64_t rng = 12345;
static float frand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 11) % 2000001) / 1000000.0f - 1.0f;
}

/* n floats into dst in `type`, and back into back[] as the kernels will read them */
static void store(uint32_t type, const float *x, uint8_t *dst, float *back, int n)
{
    const llmr_type_traits *t = llmri_traits(type);
    t->from_float(x, dst, n);
    t->to_float(dst, back, n);
}

typedef struct att_case {
    int pos, n_rows, swa;
    float cap;
} att_case;

/* Runs one case on cache type `type`; returns the largest error relative to the output's
 * scale (the values are in [-1, 1]). */
static double run_case(uint32_t type, const att_case *c, const llmr_attn_kernels *kn)
{
    const int npos = c->pos + c->n_rows;
    const size_t row = llmri_row_size(type, HD);
    uint8_t *K = malloc((size_t)npos * row), *V = malloc((size_t)npos * row);
    float *kd = malloc((size_t)npos * HD * sizeof(float)), *vd = malloc((size_t)npos * HD * 4);
    float *qd = malloc((size_t)c->n_rows * GROUP * HD * sizeof(float));
    float *out = malloc((size_t)c->n_rows * GROUP * HD * sizeof(float));
    float x[HD];
    for (int i = 0; i < npos; i++) {
        for (int d = 0; d < HD; d++)
            x[d] = 2.0f * frand();
        store(type, x, K + (size_t)i * row, kd + (size_t)i * HD, HD);
        for (int d = 0; d < HD; d++)
            x[d] = frand();
        store(type, x, V + (size_t)i * row, vd + (size_t)i * HD, HD);
    }
    for (int j = 0; j < c->n_rows * GROUP * HD; j++)
        qd[j] = frand();
    llmr_hparams hp = {.n_head = GROUP, .n_head_kv = 1, .head_dim = HD};
    void *scratch = malloc(llmri_att_scratch_bytes(&hp));
    const float scale = 0.125f;
    llmr_att_task t = {.type_k = (int)type, .type_v = (int)type, .hd = HD, .group = GROUP,
                       .cols_cap = llmri_att_cols(&hp), .k = K, .k_row = row, .v = V,
                       .v_row = row, .q = qd, .q_stride = GROUP * HD, .n_rows = c->n_rows,
                       .pos = c->pos, .swa = c->swa, .scale = scale, .cap = c->cap, .out = out,
                       .out_stride = GROUP * HD};
    llmri_attn_task(&t, kn, scratch);
    double err = 0;
    double *s = malloc((size_t)npos * sizeof(double));
    for (int j = 0; j < c->n_rows; j++)
        for (int h = 0; h < GROUP; h++) {
            const int p = c->pos + j, lo = c->swa > 0 && p >= c->swa ? p - c->swa + 1 : 0;
            const float *q = qd + ((size_t)j * GROUP + h) * HD;
            double mx = -INFINITY, sum = 0;
            for (int i = lo; i <= p; i++) {
                double dot = 0;
                for (int d = 0; d < HD; d++)
                    dot += (double)q[d] * kd[(size_t)i * HD + d];
                s[i] = dot * scale;
                if (c->cap > 0)
                    s[i] = c->cap * tanh(s[i] / c->cap);
                mx = fmax(mx, s[i]);
            }
            for (int i = lo; i <= p; i++)
                sum += s[i] = exp(s[i] - mx);
            for (int d = 0; d < HD; d++) {
                double o = 0;
                for (int i = lo; i <= p; i++)
                    o += s[i] / sum * vd[(size_t)i * HD + d];
                err = fmax(err, fabs(o - out[((size_t)j * GROUP + h) * HD + d]));
            }
        }
    free(s); free(K); free(V); free(kd); free(vd); free(qd); free(out); free(scratch);
    return err;
}

static const att_case CASES[] = {
    {0, 1, 0, 0},        /* one position */
    {62, 1, 0, 0},       /* just under one KV tile (64) */
    {63, 1, 0, 0},       /* exactly one */
    {64, 1, 0, 0},       /* one past */
    {1000, 1, 0, 0},     /* decode over many tiles */
    {0, 37, 0, 0},       /* a prompt: the causal mask inside the first tile */
    {100, 64, 0, 0},     /* a prompt chunk after a cached prefix, rows across tiles */
    {300, 20, 50, 0},    /* sliding window: tiles before the window are skipped */
    {700, 3, 0, 30.0f},  /* soft-capping */
    {150, 9, 70, 5.0f},  /* both, a cap that bites */
};

/* every kernel set this CPU runs: the reference, AVX2, AVX-512 (test_avx512_emul checks the
 * AVX-512 kernels against the reference on CPUs without it) */
static void check_type(uint32_t type, double bound)
{
    for (int isa = LLMR_ISA_REF; isa <= (int)llmri_cpu_best_isa(); isa++) {
        const llmr_attn_kernels *kn = llmri_attn_kernels_isa((llmr_isa)isa);
        if (!kn)
            continue;
        for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
            const double e = run_case(type, &CASES[i], kn);
            if (!(e <= bound))
                print_message("type %u case %zu kernels %s: error %g\n", type, i, kn->name, e);
            assert_true(e <= bound);
        }
    }
}

static void tiled_attention_matches_float64_with_f32_cache(void **st)
{
    (void)st;
    check_type(LLMR_TYPE_F32, 2e-5);
}

static void tiled_attention_matches_float64_with_f16_cache(void **st)
{
    (void)st;
    check_type(LLMR_TYPE_F16, 2e-5);
}

static void tiled_attention_matches_float64_with_q8_0_cache(void **st)
{
    (void)st;
    check_type(LLMR_TYPE_Q8_0, 2e-5);
}

static void tiled_attention_matches_float64_with_q4_0_cache(void **st)
{
    (void)st;
    check_type(LLMR_TYPE_Q4_0, 2e-5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tiled_attention_matches_float64_with_f32_cache),
        cmocka_unit_test(tiled_attention_matches_float64_with_f16_cache),
        cmocka_unit_test(tiled_attention_matches_float64_with_q8_0_cache),
        cmocka_unit_test(tiled_attention_matches_float64_with_q4_0_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
