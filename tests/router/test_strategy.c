/* test_strategy.c - the eight strategies as tables: each row is a strategy, a request's
 * needs and the order the models must come in. */
#include "test_util.h"
#include "router/strategy.h"

/*            id   quality cost  speed  meas  ctx    chat   json   active loaded healthy cd  remote */
static const rt_cand C[] = {
    {"A", 0.9, 1.0, 20, false, 8192, true, true, 2, true, true, 0, true},
    {"B", 0.6, 0.1, 80, true, 4096, true, false, 0, true, true, 0, false},
    {"C", 0.3, 0.0, 200, false, 512, false, true, 1, false, true, 0, false},
    {"D", 0.8, 0.5, 50, false, 32768, true, true, 0, true, false, 12, true},
};
#define NC (sizeof C / sizeof C[0])

/* The ranking as "A B C | D" (eligible, then '|' and the excluded ones). */
static void order(rt_strategy s, const rt_weights *w, const rt_need *need, uint64_t *turn,
                  uint64_t *rng, char *out, size_t *n_elig, rt_rank *r)
{
    *n_elig = rt_rank_models(s, w, C, NC, need, turn, rng, r);
    size_t at = 0;
    for (size_t i = 0; i < NC; i++) {
        if (i == *n_elig && i < NC)
            at += (size_t)sprintf(out + at, "| ");
        at += (size_t)sprintf(out + at, "%s ", C[r[i].idx].id);
    }
    if (at)
        out[at - 1] = 0;
}

static void each_strategy_orders_the_table_as_expected(void **st)
{
    static const struct {
        rt_strategy s;
        rt_need need;
        const char *expect;
    } rows[] = {
        /* D cools down: always after the healthy ones, a last resort */
        {RT_QUALITY_FIRST, {0, false, false, false}, "A B C D"},
        {RT_COST_OPTIMIZED, {0, false, false, false}, "C B A D"},
        {RT_SPEED_PRIORITY, {0, false, false, false}, "C B A D"},
        {RT_LEAST_LOADED, {0, false, false, false}, "B C A D"},
        /* balanced, default weights .4 .2 .3 .1: B .58, C .55, A .40 (hand-computed) */
        {RT_BALANCED, {0, false, false, false}, "B C A D"},
        /* needs exclude: C has context 512 and no chat; B has no JSON mode */
        {RT_CAPABILITY_MATCH, {1000, false, false, false}, "B A D | C"},
        {RT_CAPABILITY_MATCH, {0, false, false, false}, "C B A D"},
        {RT_QUALITY_FIRST, {0, true, false, false}, "A B D | C"},
        {RT_QUALITY_FIRST, {0, false, true, false}, "A C D | B"},
        {RT_COST_OPTIMIZED, {10000, false, false, false}, "D | A B C"},
        {RT_QUALITY_FIRST, {100000, true, true, false}, "| A B C D"},
        /* log-probabilities need a local model: A and D are remote */
        {RT_QUALITY_FIRST, {0, false, false, true}, "B C | A D"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char got[64];
        size_t ne;
        rt_rank r[NC];
        uint64_t turn = 0, rng = 1;
        order(rows[i].s, NULL, &rows[i].need, &turn, &rng, got, &ne, r);
        if (strcmp(got, rows[i].expect))
            fail_msg("row %zu (%s): got '%s', expected '%s'", i, rt_strategy_name(rows[i].s),
                     got, rows[i].expect);
    }
}

static void balanced_scores_and_custom_weights(void **st)
{
    rt_rank r[NC];
    char got[64];
    size_t ne;
    uint64_t turn = 0, rng = 1;
    order(RT_BALANCED, NULL, NULL, &turn, &rng, got, &ne, r);
    assert_float_equal(r[0].score, 0.58, 1e-9);               /* B */
    assert_float_equal(r[1].score, 0.55, 1e-9);               /* C */
    assert_float_equal(r[2].score, 0.40, 1e-9);               /* A */
    assert_non_null(strstr(r[0].why, "0.40*quality 0.50"));
    assert_non_null(strstr(r[3].why, "cooling down (12 s left)"));
    rt_weights q_only = {1, 0, 0, 0}, cheap_only = {0, 1, 0, 0};
    order(RT_BALANCED, &q_only, NULL, &turn, &rng, got, &ne, r);
    assert_string_equal(got, "A B C D");
    order(RT_BALANCED, &cheap_only, NULL, &turn, &rng, got, &ne, r);
    assert_string_equal(got, "C B A D");
}

static void round_robin_rotates_request_by_request(void **st)
{
    static const char *expect[] = {"A B C D", "B C A D", "C A B D", "A B C D"};
    uint64_t turn = 0, rng = 1;
    for (int i = 0; i < 4; i++) {
        char got[64];
        size_t ne;
        rt_rank r[NC];
        order(RT_ROUND_ROBIN, NULL, NULL, &turn, &rng, got, &ne, r);
        /* turn 2's rotation is C D A B; D cools down, so C A B D */
        assert_string_equal(got, expect[i]);
    }
    assert_int_equal(turn, 4);
}

static void random_is_seeded_and_fair(void **st)
{
    int first[NC] = {0};
    uint64_t turn = 0, rng = 42, rng2 = 42;
    char a[64], b[64];
    size_t ne;
    rt_rank r[NC];
    order(RT_RANDOM, NULL, NULL, &turn, &rng, a, &ne, r);
    order(RT_RANDOM, NULL, NULL, &turn, &rng2, b, &ne, r);
    assert_string_equal(a, b);                                 /* same seed, same order */
    for (int i = 0; i < 600; i++) {
        order(RT_RANDOM, NULL, NULL, &turn, &rng, a, &ne, r);
        first[r[0].idx]++;
        assert_int_equal(r[3].idx, 3);                         /* D stays last */
    }
    for (int i = 0; i < 3; i++)
        assert_true(first[i] > 120 && first[i] < 280);        /* ~200 each of 600 */
}

static void strategy_names_round_trip(void **st)
{
    rt_strategy s;
    for (int i = 0; i < RT_N_STRATEGIES; i++) {
        assert_true(rt_strategy_parse(rt_strategy_name((rt_strategy)i), &s));
        assert_int_equal(s, i);
    }
    assert_true(rt_strategy_parse("least_loaded", &s));
    assert_int_equal(s, RT_LEAST_LOADED);
    assert_false(rt_strategy_parse("fastest", &s));
    assert_false(rt_strategy_parse("", &s));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_strategy_orders_the_table_as_expected),
        cmocka_unit_test(balanced_scores_and_custom_weights),
        cmocka_unit_test(round_robin_rotates_request_by_request),
        cmocka_unit_test(random_is_seeded_and_fair),
        cmocka_unit_test(strategy_names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
