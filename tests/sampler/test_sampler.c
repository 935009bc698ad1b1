/* test_sampler.c - the sampling chain: greedy, seeds, each filter on constructed
 * distributions, penalties by their formulas, bans, temperature statistics, validation. */
#include "test_util.h"
#include "sampler/sampler.h"

#include <math.h>

static llmr_sampling plain(float temp)
{
    llmr_sampling o = llmr_sampling_defaults();
    o.temperature = temp;
    o.top_k = 0;
    o.top_p = 1.0f;
    o.min_p = 0.0f;
    o.seed = 1234;
    return o;
}

static llmr_sampler *make(int32_t n_vocab, const llmr_sampling *o)
{
    llmr_sampler *s = NULL;
    llmr_err e;
    int rc = llmri_sampler_create(&s, n_vocab, o, NULL, NULL, NULL, 0, &e);
    if (rc)
        fail_msg("create: %s", e.msg);
    return s;
}

/* logits = log(p) so that softmax gives back p */
static void logits_of(const double *p, int n, float *out)
{
    for (int i = 0; i < n; i++)
        out[i] = p[i] > 0 ? (float)log(p[i]) : -INFINITY;
}

static void greedy_is_argmax_with_ties_to_lowest_id(void **st)
{
    float l[10] = {0, 1, 2, 9, 3, 9, 1, 9, 0, -1};
    for (uint64_t seed = 0; seed < 5; seed++) {
        llmr_sampling o = llmr_sampling_defaults();
        o.temperature = 0.0f;
        o.seed = seed;
        llmr_sampler *s = make(10, &o);
        for (int k = 0; k < 20; k++)
            assert_int_equal(llmri_sampler_sample(s, l, NULL), 3);
        llmri_sampler_free(s);
    }
    /* exact: a gap of one ulp decides */
    float m[4] = {1.0f, nextafterf(1.0f, 2.0f), 1.0f, 0.5f};
    llmr_sampling o = plain(0.0f);
    llmr_sampler *s = make(4, &o);
    assert_int_equal(llmri_sampler_sample(s, m, NULL), 1);
    llmri_sampler_free(s);
}

static void draw(llmr_sampler *s, const float *l, int32_t *out, int n)
{
    for (int i = 0; i < n; i++) {
        out[i] = llmri_sampler_sample(s, l, NULL);
        assert_int_equal(llmri_sampler_accept(s, out[i], NULL), LLMR_OK);
    }
}

static void same_seed_same_tokens_other_seed_other_tokens(void **st)
{
    enum { V = 1000, N = 200 };
    float *l = malloc(V * sizeof *l);
    llmr_rng r;
    llmri_rng_seed(&r, 7);
    for (int i = 0; i < V; i++)
        l[i] = (float)(llmri_rng_uniform(&r) * 4.0);
    int32_t a[N], b[N], c[N];
    llmr_sampling o = llmr_sampling_defaults();  /* default chain, with penalties on */
    o.top_k = 100;
    o.repeat_penalty = 1.1f;
    o.seed = 42;
    llmr_sampler *s = make(V, &o);
    draw(s, l, a, N);
    llmri_sampler_free(s);
    s = make(V, &o);
    draw(s, l, b, N);
    llmri_sampler_reset(s);                     /* reset replays the same sequence */
    draw(s, l, c, N);
    llmri_sampler_free(s);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_equal(a, c, sizeof a);
    o.seed = 43;
    s = make(V, &o);
    draw(s, l, c, N);
    llmri_sampler_free(s);
    int same = 0;
    for (int i = 0; i < N; i++)
        same += a[i] == c[i];
    assert_true(same < N / 4);
    free(l);
}

static void rng_is_xoshiro256starstar(void **st)
{
    /* xoshiro256** with state {1, 2, 3, 4}: the reference implementation's first outputs */
    llmr_rng r = {{1, 2, 3, 4}};
    assert_true(llmri_rng_next(&r) == 11520ull);
    assert_true(llmri_rng_next(&r) == 0ull);
    assert_true(llmri_rng_next(&r) == 1509978240ull);
    assert_true(llmri_rng_next(&r) == 1215971899390074240ull);
}

static int32_t kept(llmr_sampler *s, const float *l, int32_t *ids, float *p)
{
    return llmri_sampler_candidates(s, l, ids, p, 64);
}

static void top_k_keeps_exactly_k(void **st)
{
    float l[8] = {1, 5, 3, 3, 3, 0, 7, 2};
    int32_t ids[64];
    float p[64];
    llmr_sampling o = plain(1.0f);
    o.top_k = 3;
    llmr_sampler *s = make(8, &o);
    assert_int_equal(kept(s, l, ids, p), 3);
    /* 7 (id 6), 5 (id 1), then the tie at 3 goes to the lowest id, 2 */
    assert_int_equal(ids[0], 6);
    assert_int_equal(ids[1], 1);
    assert_int_equal(ids[2], 2);
    double z = exp(7) + exp(5) + exp(3);
    assert_float_equal(p[0], exp(7) / z, 1e-6);
    for (int k = 0; k < 500; k++) {
        int32_t t = llmri_sampler_sample(s, l, NULL);
        assert_true(t == 6 || t == 1 || t == 2);
    }
    llmri_sampler_free(s);

    /* a large vocabulary: quickselect keeps exactly the k best */
    enum { V = 50000 };
    float *big = malloc(V * sizeof *big);
    for (int i = 0; i < V; i++)
        big[i] = (float)((i * 7919) % V);      /* a permutation of 0..V-1 */
    o.top_k = 40;
    s = make(V, &o);
    assert_int_equal(kept(s, big, ids, p), 40);
    for (int i = 0; i < 40; i++)
        assert_float_equal(big[ids[i]], (float)(V - 1 - i), 0);
    llmri_sampler_free(s);
    free(big);
}

static void top_p_keeps_smallest_set_reaching_p(void **st)
{
    double pr[5] = {0.05, 0.5, 0.1, 0.2, 0.15};
    float l[5];
    logits_of(pr, 5, l);
    int32_t ids[64];
    float p[64];
    llmr_sampling o = plain(1.0f);
    o.top_p = 0.8f;                            /* 0.5 + 0.2 = 0.7 < 0.8 <= 0.85 */
    llmr_sampler *s = make(5, &o);
    assert_int_equal(kept(s, l, ids, p), 3);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], 3);
    assert_int_equal(ids[2], 4);
    assert_float_equal(p[0], 0.5 / 0.85, 1e-5); /* renormalised over the kept set */
    llmri_sampler_free(s);
    o.top_p = 0.69f;                           /* reached by the first two */
    s = make(5, &o);
    assert_int_equal(kept(s, l, ids, p), 2);
    llmri_sampler_free(s);
    o.top_p = 0.0f;                            /* min_keep = 1 still keeps the best */
    s = make(5, &o);
    assert_int_equal(kept(s, l, ids, p), 1);
    assert_int_equal(ids[0], 1);
    llmri_sampler_free(s);
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x > y ? -1 : x < y;
}

/* On a large vocabulary (the bucketed path): the kept count equals an independent
 * computation: sort, then the first index where the mass reaches p, intersected with min-p. */
static void top_p_and_min_p_on_large_vocab_match_brute_force(void **st)
{
    enum { V = 5000 };
    float *l = malloc(V * sizeof *l);
    double *p = malloc(V * sizeof *p);
    int32_t *ids = malloc(V * sizeof *ids);
    float *pr = malloc(V * sizeof *pr);
    llmr_rng r;
    llmri_rng_seed(&r, 3);
    const float tops[] = {0.3f, 0.9f, 0.99f, 0.999f};
    const float mins[] = {0.0f, 0.001f, 0.05f};
    for (int round = 0; round < 3; round++) {
        double sd = round == 0 ? 0.5 : round == 1 ? 3 : 8;   /* flat to peaked */
        for (int i = 0; i < V; i++) {
            double u = llmri_rng_uniform(&r) + 1e-12, v = llmri_rng_uniform(&r);
            l[i] = (float)(sqrt(-2 * log(u)) * cos(6.283185307 * v) * sd);
        }
        double mx = -INFINITY, z = 0;
        for (int i = 0; i < V; i++)
            mx = fmax(mx, l[i]);
        for (int i = 0; i < V; i++)
            z += (p[i] = exp(l[i] - mx));
        qsort(p, V, sizeof *p, cmp_desc);
        for (size_t a = 0; a < sizeof tops / sizeof *tops; a++)
            for (size_t b = 0; b < sizeof mins / sizeof *mins; b++) {
                int cut = V, minp = 0;
                double cum = 0;
                for (int i = 0; i < V; i++) {
                    cum += p[i] / z;
                    if (cum >= tops[a]) {
                        cut = i + 1;
                        break;
                    }
                }
                for (int i = 0; i < V; i++)
                    minp += p[i] >= mins[b] * p[0] * (1 - 1e-6);
                int want = cut < minp ? cut : minp;
                llmr_sampling o = plain(1.0f);
                o.top_p = tops[a];
                o.min_p = mins[b];
                llmr_sampler *s = make(V, &o);
                int32_t got = llmri_sampler_candidates(s, l, ids, pr, V);
                if (abs(got - want) > 1)       /* float vs double at the boundary */
                    fail_msg("sd %g top_p %g min_p %g: kept %d, expected %d", sd,
                             (double)tops[a], (double)mins[b], got, want);
                for (int i = 1; i < got; i++)  /* sorted, best first */
                    assert_true(l[ids[i - 1]] >= l[ids[i]]);
                llmri_sampler_free(s);
            }
    }
    free(l);
    free(p);
    free(ids);
    free(pr);
}

static void equal_logits_keep_the_lowest_ids(void **st)
{
    enum { V = 5000 };
    float *l = calloc(V, sizeof *l);
    int32_t *ids = malloc(V * sizeof *ids);
    float *pr = malloc(V * sizeof *pr);
    llmr_sampling o = plain(1.0f);
    o.top_p = 0.5f;
    llmr_sampler *s = make(V, &o);
    int32_t n = llmri_sampler_candidates(s, l, ids, pr, V);
    assert_true(n == V / 2 || n == V / 2 + 1);  /* the sum of 1/V's may round below 0.5 */
    for (int i = 0; i < n; i++)
        assert_int_equal(ids[i], i);
    llmri_sampler_free(s);
    o.top_p = 1.0f;
    o.top_k = 7;
    s = make(V, &o);
    assert_int_equal(llmri_sampler_candidates(s, l, ids, pr, V), 7);
    for (int i = 0; i < 7; i++)
        assert_int_equal(ids[i], i);
    llmri_sampler_free(s);
    free(l);
    free(ids);
    free(pr);
}

static void min_p_drops_below_fraction_of_max(void **st)
{
    double pr[5] = {0.05, 0.5, 0.1, 0.2, 0.15};
    float l[5];
    logits_of(pr, 5, l);
    int32_t ids[64];
    float p[64];
    llmr_sampling o = plain(1.0f);
    o.min_p = 0.25f;                           /* threshold 0.125: keeps 0.5, 0.2, 0.15 */
    llmr_sampler *s = make(5, &o);
    assert_int_equal(kept(s, l, ids, p), 3);
    assert_int_equal(ids[2], 4);
    llmri_sampler_free(s);
    o.min_p = 0.19f;                           /* 0.095: 0.1 survives too */
    s = make(5, &o);
    assert_int_equal(kept(s, l, ids, p), 4);
    llmri_sampler_free(s);
    /* top-p runs before min-p on the full mass: top_p 0.6 keeps two, min-p would keep 4 */
    o.top_p = 0.6f;
    s = make(5, &o);
    assert_int_equal(kept(s, l, ids, p), 2);
    llmri_sampler_free(s);
}

static void typical_keeps_tokens_closest_to_entropy(void **st)
{
    double pr[6] = {0.4, 0.25, 0.15, 0.1, 0.06, 0.04};
    float l[6];
    logits_of(pr, 6, l);
    /* independent computation: H, then sort by |-log p - H| and take mass >= 0.5 */
    double h = 0;
    for (int i = 0; i < 6; i++)
        h -= pr[i] * log(pr[i]);
    int order[6] = {0, 1, 2, 3, 4, 5};
    for (int i = 0; i < 6; i++)
        for (int j = i + 1; j < 6; j++)
            if (fabs(-log(pr[order[j]]) - h) < fabs(-log(pr[order[i]]) - h)) {
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
    int want = 0;
    double cum = 0;
    while (cum < 0.5)
        cum += pr[order[want++]];
    int32_t ids[64];
    float p[64];
    llmr_sampling o = plain(1.0f);
    o.typical_p = 0.5f;
    llmr_sampler *s = make(6, &o);
    int32_t n = kept(s, l, ids, p);
    assert_int_equal(n, want);
    for (int i = 0; i < want; i++) {
        bool found = false;
        for (int j = 0; j < n; j++)
            found |= ids[j] == order[i];
        assert_true(found);
    }
    assert_true(want < 6);
    llmri_sampler_free(s);
}

static void penalties_follow_their_formulas(void **st)
{
    float l[6] = {1.0f, 2.0f, -1.0f, 0.5f, 3.0f, 0.0f};
    llmr_sampling o = plain(1.0f);
    o.repeat_penalty = 2.0f;
    o.frequency_penalty = 0.5f;
    o.presence_penalty = 0.25f;
    o.penalty_last_n = 3;
    llmr_sampler *s = make(6, &o);
    int32_t hist[4] = {4, 1, 2, 1};            /* window of 3: {1, 2, 1} */
    llmri_sampler_add_history(s, hist, 4);
    int32_t ids[64];
    float p[64];
    assert_int_equal(kept(s, l, ids, p), 6);
    float want[6];
    memcpy(want, l, sizeof want);
    want[1] = 2.0f / 2.0f - 2 * 0.5f - 0.25f;  /* positive: divided; seen twice */
    want[2] = -1.0f * 2.0f - 1 * 0.5f - 0.25f; /* negative: multiplied; seen once */
    double z = 0;
    for (int i = 0; i < 6; i++)
        z += exp(want[i]);
    for (int i = 0; i < 6; i++)
        assert_float_equal(p[i], exp(want[ids[i]]) / z, 1e-5);
    llmri_sampler_free(s);
}

static void banned_token_is_never_sampled(void **st)
{
    float l[5] = {3, 9, 2, 1, 0};
    llmr_logit_bias bias[2] = {{1, -INFINITY}, {3, 1.5f}};
    llmr_sampling o = plain(2.0f);
    o.logit_bias = bias;
    o.n_logit_bias = 2;
    llmr_sampler *s = make(5, &o);
    int seen[5] = {0};
    for (int k = 0; k < 5000; k++)
        seen[llmri_sampler_sample(s, l, NULL)]++;
    assert_int_equal(seen[1], 0);
    assert_true(seen[3] > 0);
    llmri_sampler_free(s);
    o.temperature = 0.0f;                      /* greedy: the best remaining one */
    s = make(5, &o);
    assert_int_equal(llmri_sampler_sample(s, l, NULL), 0);
    llmri_sampler_free(s);
    /* everything banned: an error, not a token */
    float all[2] = {-INFINITY, -INFINITY};
    o = plain(1.0f);
    s = make(2, &o);
    llmr_err e;
    assert_int_equal(llmri_sampler_sample(s, all, &e), -1);
    assert_int_equal(e.code, LLMR_ERR_STATE);
    llmri_sampler_free(s);
}

static void check_freq(float temp, const double *pr, int n, int draws)
{
    float l[8];
    logits_of(pr, n, l);
    llmr_sampling o = plain(temp);
    o.seed = 99;
    llmr_sampler *s = make(n, &o);
    int seen[8] = {0};
    for (int k = 0; k < draws; k++)
        seen[llmri_sampler_sample(s, l, NULL)]++;
    double z = 0;
    for (int i = 0; i < n; i++)
        z += pow(pr[i], 1.0 / temp);
    for (int i = 0; i < n; i++) {
        double want = pow(pr[i], 1.0 / temp) / z, got = (double)seen[i] / draws;
        double sd = sqrt(want * (1 - want) / draws);
        if (fabs(got - want) > 4 * sd + 1e-9)
            fail_msg("temp %g token %d: frequency %.4f, expected %.4f", temp, i, got, want);
    }
    llmri_sampler_free(s);
}

static void temperature_frequencies_match_softmax(void **st)
{
    double pr[4] = {0.1, 0.2, 0.3, 0.4};
    check_freq(1.0f, pr, 4, 40000);
    check_freq(2.0f, pr, 4, 40000);            /* flatter: p^(1/2) */
    check_freq(0.5f, pr, 4, 40000);            /* sharper: p^2 */
}

static void expect_bad(llmr_sampling o, const char *field)
{
    char msg[256] = "";
    assert_int_equal(llmr_sampling_validate(&o, msg, sizeof msg), LLMR_ERR_ARG);
    if (!strstr(msg, field))
        fail_msg("message '%s' does not name %s", msg, field);
    llmr_sampler *s = NULL;
    llmr_err e;
    assert_int_equal(llmri_sampler_create(&s, 10, &o, NULL, NULL, NULL, 0, &e), LLMR_ERR_ARG);
    assert_null(s);
}

static void bad_options_are_rejected_with_clear_errors(void **st)
{
    llmr_sampling d = llmr_sampling_defaults(), o;
    assert_int_equal(llmr_sampling_validate(&d, NULL, 0), LLMR_OK);
    o = d; o.temperature = -0.5f;      expect_bad(o, "temperature");
    o = d; o.temperature = NAN;        expect_bad(o, "temperature");
    o = d; o.top_p = 1.5f;             expect_bad(o, "top_p");
    o = d; o.top_p = -0.1f;            expect_bad(o, "top_p");
    o = d; o.min_p = 2.0f;             expect_bad(o, "min_p");
    o = d; o.typical_p = -1.0f;        expect_bad(o, "typical_p");
    o = d; o.top_k = -3;               expect_bad(o, "top_k");
    o = d; o.repeat_penalty = 0.0f;    expect_bad(o, "repeat_penalty");
    o = d; o.penalty_last_n = -2;      expect_bad(o, "penalty_last_n");
    o = d; o.presence_penalty = INFINITY; expect_bad(o, "presence_penalty");
    llmr_logit_bias nan_bias = {1, NAN};
    o = d; o.logit_bias = &nan_bias; o.n_logit_bias = 1; expect_bad(o, "logit_bias");
    o = d; o.grammar = "root ::= \"a\""; o.json_object = true; expect_bad(o, "at most one");
    /* a token outside the vocabulary is only known at create */
    llmr_logit_bias far = {10, 1.0f};
    o = d; o.logit_bias = &far; o.n_logit_bias = 1;
    llmr_sampler *s = NULL;
    llmr_err e;
    assert_int_equal(llmri_sampler_create(&s, 10, &o, NULL, NULL, NULL, 0, &e), LLMR_ERR_ARG);
    assert_non_null(strstr(e.msg, "token 10"));
    /* a bad grammar is LLMR_ERR_FORMAT with its position */
    char msg[256];
    o = d; o.grammar = "root ::= \"a\" | [b-";
    assert_int_equal(llmr_sampling_validate(&o, msg, sizeof msg), LLMR_ERR_FORMAT);
    assert_non_null(strstr(msg, "line 1"));
    o = d; o.json_schema = "{\"type\": \"object\", \"properties\": 3}";
    assert_int_equal(llmr_sampling_validate(&o, msg, sizeof msg), LLMR_ERR_FORMAT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(greedy_is_argmax_with_ties_to_lowest_id),
        cmocka_unit_test(same_seed_same_tokens_other_seed_other_tokens),
        cmocka_unit_test(rng_is_xoshiro256starstar),
        cmocka_unit_test(top_k_keeps_exactly_k),
        cmocka_unit_test(top_p_keeps_smallest_set_reaching_p),
        cmocka_unit_test(min_p_drops_below_fraction_of_max),
        cmocka_unit_test(equal_logits_keep_the_lowest_ids),
        cmocka_unit_test(top_p_and_min_p_on_large_vocab_match_brute_force),
        cmocka_unit_test(typical_keeps_tokens_closest_to_entropy),
        cmocka_unit_test(penalties_follow_their_formulas),
        cmocka_unit_test(banned_token_is_never_sampled),
        cmocka_unit_test(temperature_frequencies_match_softmax),
        cmocka_unit_test(bad_options_are_rejected_with_clear_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
