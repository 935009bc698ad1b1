/* test_schema_num.c - minimum / maximum / exclusiveMinimum / exclusiveMaximum: the grammar
 * takes exactly the decimal texts in range (integers and decimals, negative ranges, bounds
 * past 2^53 and 1e20), and what it takes reads back as a double in range, as a validator
 * sees it. */
#include "core/buf.h"
#include "schema_util.h"

#include <math.h>

typedef struct judge {
    llmr_gmatch *m;
} judge;

static judge judge_open(const char *schema)
{
    su_init();
    char *gbnf;
    llmr_err e;
    llmr_grammar *g = NULL;
    judge j = {0};
    if (llmri_json_schema_gbnf(schema, &gbnf, &e) || llmri_grammar_parse(gbnf, &g, &e) ||
        llmri_gmatch_create(&j.m, g, su_vocab, SU_V, &SU_EOS, 1, &e))
        fail_msg("%s: %s", schema, e.msg);
    free(gbnf);
    return j;
}

static int judge_text(judge *j, const char *text)
{
    llmri_gmatch_reset(j->m);
    return llmri_gmatch_accept_bytes(j->m, text, strlen(text), NULL) ? -1
           : llmri_gmatch_can_end(j->m) ? 1 : 0;
}

static void integer_ranges_are_exact(void **st)
{
    const char *s = "{\"type\":\"integer\",\"minimum\":-5,\"maximum\":10}";
    judge j = judge_open(s);
    static const struct { const char *t; int want; } cases[] = {
        {"-5", 1}, {"-6", -1}, {"10", 1}, {"11", -1}, {"0", 1}, {"-0", 1}, {"05", -1},
        {"100", -1}, {"-", 0}, {"1", 1}, {"-10", -1}, {"9", 1}, {"1.0", -1}, {"-4", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        if (judge_text(&j, cases[i].t) != cases[i].want)
            fail_msg("%s: '%s' judged %d, expected %d", s, cases[i].t, judge_text(&j, cases[i].t),
                     cases[i].want);
    llmri_gmatch_free(j.m);
    /* every integer of a wide window around a wide range */
    j = judge_open("{\"type\":\"integer\",\"minimum\":-1234567,\"exclusiveMaximum\":987654}");
    llmr_rng r;
    llmri_rng_seed(&r, 3);
    for (int k = 0; k < 20000; k++) {
        long long v = (long long)(llmri_rng_next(&r) % 4000000) - 2000000;
        if (k < 40)
            v = (k < 20 ? -1234567 : 987654) + (k % 20) - 10;
        char t[32];
        snprintf(t, sizeof t, "%lld", v);
        int want = v >= -1234567 && v < 987654 ? 1 : -1;
        int got = judge_text(&j, t);
        if (got == 0 && want == -1)
            continue;                          /* a prefix of something in range */
        if (got != want)
            fail_msg("%s judged %d, expected %d", t, got, want);
    }
    llmri_gmatch_free(j.m);
}

static void large_and_exclusive_integer_bounds(void **st)
{
    judge j = judge_open("{\"type\":\"integer\",\"minimum\":1e20}");
    assert_int_equal(judge_text(&j, "100000000000000000000"), 1);
    assert_int_equal(judge_text(&j, "99999999999999999999"), 0);      /* 21 digits may follow */
    assert_int_equal(judge_text(&j, "100000000000000000001"), 1);
    assert_int_equal(judge_text(&j, "1000000000000000000000"), -1);   /* past its digits */
    llmri_gmatch_free(j.m);
    /* 9007199254740993 reads as 2^53 = 9007199254740992, as every parser reads it */
    j = judge_open("{\"type\":\"integer\",\"minimum\":9007199254740993,\"maximum\":"
                   "9007199254740994}");
    assert_int_equal(judge_text(&j, "9007199254740992"), 1);
    assert_int_equal(judge_text(&j, "9007199254740991"), -1);
    assert_int_equal(judge_text(&j, "9007199254740994"), 1);
    assert_int_equal(judge_text(&j, "9007199254740995"), -1);
    llmri_gmatch_free(j.m);
    /* x > 2^60: 2^60 + 1 would read back as 2^60, so the least is the next double */
    j = judge_open("{\"type\":\"integer\",\"exclusiveMinimum\":1152921504606846976,"
                   "\"maximum\":1152921504606847232}");
    assert_int_equal(judge_text(&j, "1152921504606846976"), -1);
    assert_int_equal(judge_text(&j, "1152921504606846977"), -1);
    assert_int_equal(judge_text(&j, "1152921504606847232"), 1);
    llmri_gmatch_free(j.m);
    j = judge_open("{\"type\":\"integer\",\"maximum\":-1e18,\"minimum\":-1.5e18}");
    assert_int_equal(judge_text(&j, "-1000000000000000000"), 1);
    assert_int_equal(judge_text(&j, "-999999999999999999"), -1);
    assert_int_equal(judge_text(&j, "-1500000000000000000"), 1);
    assert_int_equal(judge_text(&j, "-1500000000000000001"), -1);
    assert_int_equal(judge_text(&j, "5"), -1);
    llmri_gmatch_free(j.m);
    j = judge_open("{\"type\":\"integer\",\"exclusiveMinimum\":0,\"exclusiveMaximum\":100}");
    assert_int_equal(judge_text(&j, "0"), -1);
    assert_int_equal(judge_text(&j, "1"), 1);
    assert_int_equal(judge_text(&j, "99"), 1);
    assert_int_equal(judge_text(&j, "100"), -1);
    llmri_gmatch_free(j.m);
    j = judge_open("{\"type\":\"integer\",\"minimum\":0.5,\"maximum\":3.7}");   /* 1..3 */
    assert_int_equal(judge_text(&j, "0"), -1);
    assert_int_equal(judge_text(&j, "1"), 1);
    assert_int_equal(judge_text(&j, "3"), 1);
    assert_int_equal(judge_text(&j, "4"), -1);
    llmri_gmatch_free(j.m);
}

static void decimal_ranges_are_exact(void **st)
{
    judge j = judge_open("{\"type\":\"number\",\"minimum\":0.5,\"maximum\":2.25}");
    static const struct { const char *t; int want; } cases[] = {
        {"0.5", 1}, {"0.49", -1}, {"0.5000001", 1}, {"2.25", 1}, {"2.250", 1},
        {"2.2500001", -1}, {"1", 1}, {"1.99999", 1}, {"2.3", -1}, {"0.6", 1}, {"2", 1},
        {"0", 0}, {"0.4", -1}, {"3", -1}, {"-1", -1}, {"2.24999", 1}, {"0.51e1", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        if (judge_text(&j, cases[i].t) != cases[i].want)
            fail_msg("'%s' judged %d, expected %d", cases[i].t, judge_text(&j, cases[i].t),
                     cases[i].want);
    llmri_gmatch_free(j.m);
    j = judge_open("{\"type\":\"number\",\"minimum\":-1.5,\"exclusiveMaximum\":-0.25}");
    assert_int_equal(judge_text(&j, "-1.5"), 1);
    assert_int_equal(judge_text(&j, "-1.50001"), -1);
    assert_int_equal(judge_text(&j, "-0.25"), 0);     /* -0.2500001 may follow */
    assert_int_equal(judge_text(&j, "-0.2500001"), 1);
    assert_int_equal(judge_text(&j, "-0.2"), 0);
    assert_int_equal(judge_text(&j, "-0.24"), -1);
    assert_int_equal(judge_text(&j, "-1"), 1);
    assert_int_equal(judge_text(&j, "0"), -1);
    llmri_gmatch_free(j.m);
}

/* A text the grammar takes reads back (strtod, as a validator) as a double in range; short
 * texts in range are all taken. Random bounds, random texts. */
static void random_bounds_agree_with_strtod(void **st)
{
    static const double vals[] = {0, 1, -1, 0.5, -0.5, 3.25, -7.125, 10, -100, 1e-3, 99.99,
                                  -12.5, 1e6, -2.5e5, 0.1, 0.2, 7, 1234.5678};
    llmr_rng r;
    llmri_rng_seed(&r, 11);
    int taken = 0;
    for (int round = 0; round < 60; round++) {
        bool integer = round % 3 == 0;
        double a = vals[llmri_rng_next(&r) % 18], b = vals[llmri_rng_next(&r) % 18];
        if (a > b) {
            double t = a;
            a = b;
            b = t;
        }
        bool xa = llmri_rng_next(&r) % 2, xb = llmri_rng_next(&r) % 2;
        if (integer && ceil(xa ? nextafter(a, INFINITY) : a) >
                       floor(xb ? nextafter(b, -INFINITY) : b))
            continue;
        if (!integer && (xa || xb) && a == b)
            continue;
        char s[256];
        snprintf(s, sizeof s, "{\"type\":\"%s\",\"%s\":%.17g,\"%s\":%.17g}",
                 integer ? "integer" : "number", xa ? "exclusiveMinimum" : "minimum", a,
                 xb ? "exclusiveMaximum" : "maximum", b);
        judge j = judge_open(s);
        for (int k = 0; k < 400; k++) {
            char t[64];
            double x = (llmri_rng_uniform(&r) * 2 - 1) * (k % 2 ? 20 : 2e6);
            int decimals = integer ? 0 : (int)(llmri_rng_next(&r) % 6);
            snprintf(t, sizeof t, "%.*f", decimals, x);
            double v = strtod(t, NULL);
            bool in = (xa ? v > a : v >= a) && (xb ? v < b : v <= b) &&
                      (!integer || v == floor(v));
            int got = judge_text(&j, t);
            if (got == 1 && !in)
                fail_msg("%s took '%s', out of range", s, t);
            if (in && got != 1 && strcmp(t, "-0") != 0)
                fail_msg("%s refused '%s' (%d), in range", s, t, got);
            taken += got == 1;
        }
        llmri_gmatch_free(j.m);
    }
    assert_true(taken > 100);
}

static void sampled_numbers_stay_in_range(void **st)
{
    static const char *const schemas[] = {
        "{\"type\":\"integer\",\"minimum\":-20,\"maximum\":-3}",
        "{\"type\":\"number\",\"exclusiveMinimum\":0,\"maximum\":1}",
        "{\"type\":\"number\",\"minimum\":-0.001,\"exclusiveMaximum\":0.001}",
        "{\"type\":\"integer\",\"minimum\":1e15}",
        "{\"type\":\"number\",\"maximum\":-1e-5}",
    };
    static const double lo[] = {-20, 0, -0.001, 1e15, -INFINITY};
    static const double hi[] = {-3, 1, 0.001, INFINITY, -1e-5};
    for (int i = 0; i < 5; i++)
        for (int k = 0; k < 25; k++) {
            char *t = su_sample(schemas[i], 100 + (uint64_t)k, 400);
            if (!t)
                continue;
            double v = strtod(t, NULL);
            bool ok = v >= lo[i] && v <= hi[i] && (i != 1 || v > 0) && (i != 2 || v < 0.001);
            if (!ok)
                fail_msg("%s sampled '%s'", schemas[i], t);
            free(t);
        }
}

static void bound_errors_name_the_keyword(void **st)
{
    char msg[512];
    assert_int_equal(su_compile("{\"type\":\"integer\",\"minimum\":5,\"maximum\":4}", msg,
                                sizeof msg), LLMR_ERR_FORMAT);
    assert_non_null(strstr(msg, "no integer"));
    assert_int_equal(su_compile("{\"type\":\"integer\",\"minimum\":4.2,\"maximum\":4.9}", msg,
                                sizeof msg), LLMR_ERR_FORMAT);
    assert_int_equal(su_compile("{\"type\":\"number\",\"exclusiveMinimum\":true}", msg,
                                sizeof msg), LLMR_ERR_UNSUPPORTED);
    assert_non_null(strstr(msg, "exclusiveMinimum"));
    assert_int_equal(su_compile("{\"type\":\"number\",\"maximum\":\"3\"}", msg, sizeof msg),
                     LLMR_ERR_FORMAT);
    assert_non_null(strstr(msg, "maximum"));
    assert_int_equal(su_compile("{\"type\":\"number\",\"multipleOf\":3}", msg, sizeof msg),
                     LLMR_ERR_UNSUPPORTED);
    assert_non_null(strstr(msg, "multipleOf"));
    assert_int_equal(su_compile("{\"type\":\"string\",\"minimum\":3}", msg, sizeof msg),
                     LLMR_ERR_FORMAT);
    assert_non_null(strstr(msg, "minimum"));
    /* huge bounds: within what a double holds, and no grammar explosion */
    assert_int_equal(su_compile("{\"type\":\"number\",\"minimum\":-1.7e308,\"maximum\":1e-300}",
                                msg, sizeof msg), LLMR_OK);
    assert_int_equal(su_compile("{\"type\":\"integer\",\"minimum\":1e308}", msg, sizeof msg),
                     LLMR_OK);
    judge j = judge_open("{\"type\":\"number\",\"exclusiveMinimum\":0,\"maximum\":1e-300}");
    char t[400] = "0.";
    memset(t + 2, '0', 299);
    strcpy(t + 301, "1");                      /* 1e-300 itself */
    assert_int_equal(judge_text(&j, t), 1);
    t[301] = '2';
    assert_int_equal(judge_text(&j, t), -1);
    assert_int_equal(judge_text(&j, "0"), 0);
    assert_int_equal(judge_text(&j, "0.0"), 0);
    assert_int_equal(judge_text(&j, "1"), -1);
    llmri_gmatch_free(j.m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(integer_ranges_are_exact),
        cmocka_unit_test(large_and_exclusive_integer_bounds),
        cmocka_unit_test(decimal_ranges_are_exact),
        cmocka_unit_test(random_bounds_agree_with_strtod),
        cmocka_unit_test(sampled_numbers_stay_in_range),
        cmocka_unit_test(bound_errors_name_the_keyword),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
