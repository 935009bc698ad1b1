/* test_config.c - the router's config: a full example parses with every field, and each bad
 * input fails with a message naming the key and saying what is wrong. */
#include "test_util.h"
#include "router/config.h"

#include <math.h>

static const char *GOOD =
    "{\"strategy\": \"least-loaded\", \"weights\": {\"quality\": 1, \"cost\": 0.5},\n"
    " \"memory_budget_mb\": 100, \"keep_alive_s\": -1, \"cooldown_s\": 5, \"seed\": 7,\n"
    " \"retry\": {\"max_rounds\": 3, \"backoff_ms\": 10, \"jitter\": 0.25},\n"
    " \"cache\": {\"enabled\": true, \"ttl_s\": 60, \"max_entries\": 10},\n"
    " \"backends\": {\"gpu\": {\"url\": \"http://127.0.0.1:9\", \"api_key_env\": \"K\",\n"
    "                          \"idle_timeout_ms\": 1000}},\n"
    " \"models\": [\n"
    "  {\"id\": \"tiny\", \"aliases\": [\"t\", \"stories\"], \"source\": \"/m/x.gguf\",\n"
    "   \"quality\": 0.1, \"context\": 512, \"chat\": false, \"keep_alive_s\": 0},\n"
    "  {\"id\": \"big\", \"backend\": \"gpu\", \"api\": \"completions\", \"cost\": 2.5}]}";

static void a_full_config_parses(void **st)
{
    rt_config c;
    llmr_err e;
    assert_int_equal(rt_config_parse(GOOD, strlen(GOOD), "good.json", &c, &e), LLMR_OK);
    assert_int_equal(c.strategy, RT_LEAST_LOADED);
    assert_float_equal(c.weights.quality, 1, 0);
    assert_float_equal(c.weights.speed, 0.3, 1e-12);        /* default kept */
    assert_float_equal(c.memory_budget_mb, 100, 0);
    assert_float_equal(c.keep_alive_s, -1, 0);
    assert_int_equal(c.max_rounds, 3);
    assert_int_equal(c.seed, 7);
    assert_true(c.cache.enabled);
    assert_int_equal(c.cache.max_entries, 10);
    assert_int_equal(c.n_backends, 1);
    assert_int_equal(c.backends[0].idle_timeout_ms, 1000);
    assert_int_equal(c.backends[0].connect_timeout_ms, 5000);
    assert_int_equal(c.n_models, 2);
    assert_string_equal(c.models[0].aliases[1], "stories");
    assert_int_equal(c.models[0].backend, -1);
    assert_int_equal(c.models[0].context, 512);
    assert_false(c.models[0].chat);
    assert_float_equal(c.models[0].keep_alive_s, 0, 0);
    assert_int_equal(c.models[1].backend, 0);
    assert_false(c.models[1].remote_chat);
    assert_string_equal(c.models[1].remote_model, "big");   /* defaults to the id */
    assert_true(isnan(c.models[1].keep_alive_s));            /* the router's */
    assert_float_equal(c.models[1].quality, 0.5, 0);
    rt_config_free(&c);
}

static void bad_configs_name_the_key_and_the_problem(void **st)
{
    static const struct { const char *json, *msg; int code; } t[] = {
        {"{\"models\": [", "x.json: not valid JSON: line 1, column 12", LLMR_ERR_FORMAT},
        {"{\"models\": [],\n \"x\": 1,,}", "line 2, column 10", LLMR_ERR_FORMAT},
        {"[]", "(top level): expected a JSON object", LLMR_ERR_ARG},
        {"{}", "models: missing", LLMR_ERR_ARG},
        {"{\"models\": []}", "models: empty", LLMR_ERR_ARG},
        {"{\"models\": {}}", "models: expected an array", LLMR_ERR_ARG},
        {"{\"modles\": []}", "modles: unknown key (expected one of: strategy, weights", LLMR_ERR_ARG},
        {"{\"strategy\": \"fastest\", \"models\": [{\"id\": \"a\", \"source\": \"x\"}]}",
         "strategy: 'fastest' is not a strategy: expected one of quality-first", LLMR_ERR_ARG},
        {"{\"strategy\": 3, \"models\": [{\"id\": \"a\", \"source\": \"x\"}]}",
         "strategy: not a string", LLMR_ERR_ARG},
        {"{\"models\": [{\"source\": \"x\"}]}", "models[0].id: missing", LLMR_ERR_ARG},
        {"{\"models\": [{\"id\": \"a b\", \"source\": \"x\"}]}", "models[0].id: expected 1..120",
         LLMR_ERR_ARG},
        {"{\"models\": [{\"id\": \"a\"}]}", "models[0]: has neither \"source\"", LLMR_ERR_ARG},
        {"{\"models\": [{\"id\": \"a\", \"source\": \"x\", \"qualty\": 1}]}",
         "models[0].qualty: unknown key", LLMR_ERR_ARG},
        {"{\"models\": [{\"id\": \"a\", \"source\": \"x\", \"quality\": 1.5}]}",
         "models[0].quality: 1.5 is out of range: expected 0..1", LLMR_ERR_ARG},
        {"{\"models\": [{\"id\": \"a\", \"source\": \"x\", \"quality\": \"high\"}]}",
         "models[0].quality: expected a number", LLMR_ERR_ARG},
        {"{\"models\": [{\"id\": \"a\", \"source\": \"x\", \"context\": 10.5}]}",
         "models[0].context: expected a whole number", LLMR_ERR_ARG},
        {"{\"models\": [{\"id\": \"a\", \"source\": \"x\", \"chat\": 1}]}",
         "models[0].chat: expected true or false", LLMR_ERR_ARG},
        {"{\"models\": [{\"id\": \"a\", \"source\": \"x\"}, {\"id\": \"a\", \"source\": \"y\"}]}",
         "models[1].id: duplicate", LLMR_ERR_ARG},
        {"{\"models\": [{\"id\": \"a\", \"source\": \"x\"}, {\"id\": \"b\", \"aliases\": [\"a\"], "
         "\"source\": \"y\"}]}", "models[1].aliases[0]: duplicate", LLMR_ERR_ARG},
        {"{\"models\": [{\"id\": \"a\", \"backend\": \"gpu\"}]}",
         "models[0].backend: 'gpu' is not defined in \"backends\"", LLMR_ERR_ARG},
        {"{\"backends\": {\"gpu\": {\"url\": \"ftp://x\"}}, \"models\": [{\"id\": \"a\", "
         "\"backend\": \"gpu\"}]}", "backends.gpu.url: expected an http:// or https:// URL",
         LLMR_ERR_ARG},
        {"{\"backends\": {\"gpu\": {}}, \"models\": [{\"id\": \"a\", \"backend\": \"gpu\"}]}",
         "backends.gpu.url: missing", LLMR_ERR_ARG},
        {"{\"backends\": {\"gpu\": {\"url\": \"http://x\", \"timeout\": 3}}, \"models\": []}",
         "backends.gpu.timeout: unknown key", LLMR_ERR_ARG},
        {"{\"backends\": {\"g\": {\"url\": \"http://x\"}}, \"models\": [{\"id\": \"a\", "
         "\"backend\": \"g\", \"source\": \"x\"}]}", "models[0]: has both", LLMR_ERR_ARG},
        {"{\"backends\": {\"g\": {\"url\": \"http://x\"}}, \"models\": [{\"id\": \"a\", "
         "\"backend\": \"g\", \"api\": \"embeddings\"}]}",
         "models[0].api: expected \"chat\" or \"completions\"", LLMR_ERR_ARG},
        {"{\"weights\": {\"quality\": 0, \"cost\": 0, \"speed\": 0, \"load\": 0}, \"models\": []}",
         "weights: all zero", LLMR_ERR_ARG},
        {"{\"retry\": {\"max_rounds\": 0}, \"models\": []}",
         "retry.max_rounds: 0 is out of range: expected 1..10", LLMR_ERR_ARG},
        {"{\"cache\": {\"enable\": true}, \"models\": []}", "cache.enable: unknown key",
         LLMR_ERR_ARG},
        {"{\"memory_budget_mb\": -5, \"models\": []}", "memory_budget_mb: -5 is out of range",
         LLMR_ERR_ARG},
        {"{\"models\": [{\"id\": \"a\", \"source\": \"x\", \"sha256\": \"abc\"}]}",
         "models[0].sha256: expected 64 hex digits", LLMR_ERR_ARG},
        {"{\"models\": [7]}", "models[0]: expected an object", LLMR_ERR_ARG},
        {"{\"model_dirs\": \"/tmp\", \"models\": []}", "model_dirs: expected an array",
         LLMR_ERR_ARG},
        {"{\"model_dirs\": [\"/no/such/dir\"], \"models\": []}",
         "model_dirs[0]: /no/such/dir: No such file or directory", LLMR_ERR_ARG},
        {"{\"model_dirs\": [\"/tmp\", \"/dev/null\"], \"models\": []}",
         "model_dirs[1]: /dev/null: not a folder", LLMR_ERR_ARG},
        {"{\"downloads\": {\"allow\": true}, \"models\": []}",
         "downloads.hosts: missing or empty", LLMR_ERR_ARG},
        {"{\"downloads\": {\"allow\": true, \"hosts\": [\"https://hf.co\"]}, \"models\": []}",
         "downloads.hosts[0]: expected a host name or IP address", LLMR_ERR_ARG},
        {"{\"downloads\": {\"hosts\": [\"\"]}, \"models\": []}",
         "downloads.hosts[0]: expected a non-empty string", LLMR_ERR_ARG},
        {"{\"downloads\": {\"max_mb\": 0}, \"models\": []}",
         "downloads.max_mb: 0 is out of range", LLMR_ERR_ARG},
        {"{\"downloads\": {\"allowed\": true}, \"models\": []}",
         "downloads.allowed: unknown key", LLMR_ERR_ARG},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        rt_config c;
        llmr_err e;
        llmri_err_clear(&e);
        int rc = rt_config_parse(t[i].json, strlen(t[i].json), "x.json", &c, &e);
        if (rc != t[i].code || !strstr(e.msg, t[i].msg))
            fail_msg("case %zu: rc %d, message '%s'; expected %d with '%s'", i, rc, e.msg,
                     t[i].code, t[i].msg);
    }
}

/* model_dirs are kept as real paths; download hosts in lower case; quotas default. */
static void model_dirs_and_downloads_parse(void **st)
{
    static const char *js =
        "{\"model_dirs\": [\"/tmp/.\", \"/\"],\n"
        " \"downloads\": {\"allow\": true, \"hosts\": [\"HuggingFace.co\", \"::1\"],\n"
        "               \"total_mb\": 100},\n"
        " \"models\": [{\"id\": \"a\", \"source\": \"x\"}]}";
    rt_config c;
    llmr_err e;
    assert_int_equal(rt_config_parse(js, strlen(js), "x.json", &c, &e), LLMR_OK);
    assert_int_equal(c.n_model_dirs, 2);
    assert_string_equal(c.model_dirs[0], "/tmp");
    assert_string_equal(c.model_dirs[1], "/");
    assert_true(c.downloads.allow);
    assert_int_equal(c.downloads.n_hosts, 2);
    assert_string_equal(c.downloads.hosts[0], "huggingface.co");
    assert_float_equal(c.downloads.max_mb, 65536, 0);
    assert_float_equal(c.downloads.total_mb, 100, 0);
    rt_config_free(&c);
    /* absent: loading by path and downloads through the API are off */
    assert_int_equal(rt_config_parse(GOOD, strlen(GOOD), "good.json", &c, &e), LLMR_OK);
    assert_int_equal(c.n_model_dirs, 0);
    assert_false(c.downloads.allow);
    rt_config_free(&c);
}

static void missing_file_is_named(void **st)
{
    rt_config c;
    llmr_err e;
    assert_int_equal(rt_config_load("/no/such/router.json", &c, &e), LLMR_ERR_NOT_FOUND);
    assert_non_null(strstr(e.msg, "/no/such/router.json"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_full_config_parses),
        cmocka_unit_test(bad_configs_name_the_key_and_the_problem),
        cmocka_unit_test(model_dirs_and_downloads_parse),
        cmocka_unit_test(missing_file_is_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
