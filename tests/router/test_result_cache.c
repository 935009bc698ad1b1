/* test_cache.c - the result cache: keys cover the whole prompt and every option, entries
 * expire after the TTL, and the entry and byte bounds evict the least recently used. */
#include "test_util.h"
#include "router/cache.h"

static bool has(rt_cache *c, const char *key, double now)
{
    char *t = NULL, *m = NULL;
    size_t n;
    bool ok = rt_cache_get(c, key, now, &t, &n, &m);
    free(t);
    free(m);
    return ok;
}

static void keys_differ_for_every_option_and_any_prompt_change(void **st)
{
    llmr_gen_opts o = llmr_gen_defaults();
    char base[65], k[65];
    rt_cache_key("Once upon a time", "", &o, base);
    rt_cache_key("Once upon a time", "", &o, k);
    assert_string_equal(base, k);                       /* deterministic */
    const char *prompts[] = {"Once upon a tim", "Once upon a time ", "once upon a time"};
    for (int i = 0; i < 3; i++) {
        rt_cache_key(prompts[i], "", &o, k);
        assert_string_not_equal(base, k);
    }
    rt_cache_key("Once upon a time", "m|1", &o, k);       /* the route part */
    assert_string_not_equal(base, k);
    /* each option changed alone gives another key */
    llmr_gen_opts v[10];
    for (int i = 0; i < 10; i++)
        v[i] = o;
    v[0].max_tokens = 7;
    v[1].sampling.temperature = 0.5f;
    v[2].sampling.top_k = 3;
    v[3].sampling.top_p = 0.5f;
    v[4].sampling.seed = 9;
    v[5].stop[0] = "\n";
    v[6].sampling.grammar = "root ::= \"a\"";
    v[7].sampling.json_object = true;
    v[8].add_bos = false;
    v[9].sampling.repeat_penalty = 1.1f;
    char keys[10][65];
    for (int i = 0; i < 10; i++) {
        rt_cache_key("Once upon a time", "", &v[i], keys[i]);
        assert_string_not_equal(base, keys[i]);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(keys[i], keys[j]);
    }
}

static void entries_expire_after_the_ttl(void **st)
{
    rt_cache c;
    rt_cache_init(&c, 10, 1000, 5.0);
    rt_cache_put(&c, "k1", "hello", 5, "m", 100.0);
    char *t, *m;
    size_t n;
    assert_true(rt_cache_get(&c, "k1", 104.9, &t, &n, &m));
    assert_int_equal(n, 5);
    assert_string_equal(t, "hello");
    assert_string_equal(m, "m");
    free(t);
    free(m);
    assert_false(has(&c, "k1", 105.1));                 /* expired, and dropped */
    assert_int_equal(c.n, 0);
    assert_int_equal(c.bytes, 0);
    rt_cache_free(&c);
}

static void bounds_evict_the_least_recently_used(void **st)
{
    rt_cache c;
    rt_cache_init(&c, 3, 20, 100.0);
    rt_cache_put(&c, "a", "aaaaa", 5, "m", 0);
    rt_cache_put(&c, "b", "bbbbb", 5, "m", 0);
    rt_cache_put(&c, "c", "ccccc", 5, "m", 0);
    assert_true(has(&c, "a", 1));                        /* a is now the most recent */
    rt_cache_put(&c, "d", "ddddd", 5, "m", 0);           /* 4 entries > 3: b goes */
    assert_false(has(&c, "b", 1));
    assert_true(has(&c, "a", 1) && has(&c, "c", 1) && has(&c, "d", 1));
    rt_cache_put(&c, "e", "eeeeeeeeeeeeeee", 15, "m", 0); /* 15 + 15 > 20 bytes: two go */
    assert_true(has(&c, "e", 1));
    assert_true(c.bytes <= 20 && c.n <= 3);
    assert_false(has(&c, "c", 1));
    rt_cache_put(&c, "big", "0123456789012345678901234", 25, "m", 0);   /* > max_bytes */
    assert_false(has(&c, "big", 1));
    rt_cache_put(&c, "e", "x", 1, "m2", 0);              /* replace keeps one entry */
    char *t, *m;
    size_t n;
    assert_true(rt_cache_get(&c, "e", 1, &t, &n, &m));
    assert_string_equal(t, "x");
    assert_string_equal(m, "m2");
    free(t);
    free(m);
    rt_cache_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys_differ_for_every_option_and_any_prompt_change),
        cmocka_unit_test(entries_expire_after_the_ttl),
        cmocka_unit_test(bounds_evict_the_least_recently_used),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
