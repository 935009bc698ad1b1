/* test_router.c - the router end to end: live mock OpenAI servers (oai_mock.py) as remote
 * backends, one of them killed mid-test; failover before the first token without repeated
 * text; cooldown and the health check that brings a backend back; strategies per request;
 * the result cache; unknown ids and unreachable backends; and, with ../shared, local models
 * evicted least-recently-used under a memory budget and unloaded after keep_alive. */
#include "test_util.h"
#include "mock_server.h"
#include "llmr.h"
#include "core/util.h"

#include <cjson/cJSON.h>
#include <pthread.h>

/* A, B, C serve most tests; K is killed by the failover test, F fails its first request, M
 * counts requests for the cache test. Python starts slowly on a busy machine, so all six
 * start together. */
static mock_server A, B, C, K, F, M;

static int setup(void **st)
{
    const char *fail1[] = {"--fail-first", "1", NULL};
    mock_server *all[] = {&A, &B, &C, &K, &F, &M};
    const char *names[] = {"A", "B", "C", "K", "F", "M"};
    for (int i = 0; i < 6; i++)
        if (!mock_spawn(all[i], names[i], all[i] == &F ? fail1 : NULL)) {
            print_message("skipped: python3 or tests/router/oai_mock.py is unavailable\n");
            return -1;
        }
    for (int i = 0; i < 6; i++)
        if (!mock_wait(all[i])) {
            print_message("skipped: the mock servers did not start\n");
            return -1;
        }
    return 0;
}

static int teardown(void **st)
{
    mock_server *all[] = {&A, &B, &C, &K, &F, &M};
    for (int i = 0; i < 6; i++)
        mock_stop(all[i]);
    return 0;
}

/* A config over backends a, b, c (the mocks) plus `extra` text inserted at the top level and
 * `models` as the models array. */
static llmr_router *open_router(const char *extra, const char *models)
{
    char json[8192];
    snprintf(json, sizeof json,
             "{%s%s\"seed\": 3, \"cooldown_s\": 60, \"health_interval_s\": 0.1,\n"
             " \"retry\": {\"max_rounds\": 2, \"backoff_ms\": 20},\n"
             " \"backends\": {\"a\": {\"url\": \"%s\", \"connect_timeout_ms\": 1000, "
             "\"idle_timeout_ms\": 3000},\n"
             "   \"b\": {\"url\": \"%s\"}, \"c\": {\"url\": \"%s\"},\n"
             "   \"dead\": {\"url\": \"http://127.0.0.1:1\", \"connect_timeout_ms\": 500}},\n"
             " \"models\": [%s]}",
             extra ? extra : "", extra ? ", " : "", A.url, B.url, C.url, models);
    llmr_router *r = NULL;
    int rc = llmr_router_open_json(json, "test", &r);
    if (rc)
        fail_msg("router open: %s", llmr_router_errmsg(r));
    return r;
}

/* Runs one routed request to the end: returns the code; text and the model that answered. */
static int ask(llmr_router *r, const char *prompt, const llmr_route_opts *ro,
               const llmr_gen_opts *o, char *text, size_t n, char *model, size_t mn,
               char *err, size_t en)
{
    llmr_gen_opts d = llmr_gen_defaults();
    d.sampling.temperature = 0;
    llmr_stream *s = NULL;
    int rc = llmr_router_stream_open(r, prompt, ro, o ? o : &d, &s);
    text[0] = model[0] = 0;
    if (err)
        err[0] = 0;
    size_t at = 0;
    llmr_piece p;
    if (rc == LLMR_OK) {
        while ((rc = llmr_stream_next(s, &p)) == LLMR_PIECE) {
            assert_true(at + p.len < n);
            memcpy(text + at, p.text, p.len);
            text[at += p.len] = 0;
        }
        if (rc == LLMR_DONE)
            rc = LLMR_OK;
        assert_true(llmr_router_stream_model(r, s, model, mn));
    }
    if (err && rc)
        snprintf(err, en, "%s", s ? llmr_stream_errmsg(s) : llmr_router_errmsg(r));
    llmr_stream_close(s);
    assert_false(llmr_router_stream_model(r, s, model + mn - 1, 1));   /* forgotten at close */
    return rc;
}

#define ASK(r, prompt, ro, o) ask(r, prompt, ro, o, text, sizeof text, model, sizeof model, \
                                  err, sizeof err)

static cJSON *status_of(llmr_router *r, const char *id)
{
    char *js;
    assert_int_equal(llmr_router_status_json(r, &js), LLMR_OK);
    cJSON *root = cJSON_Parse(js), *found = NULL;
    free(js);
    cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItem(root, "models"))
        if (!strcmp(cJSON_GetObjectItem(m, "id")->valuestring, id))
            found = cJSON_Duplicate(m, true);
    cJSON_Delete(root);
    assert_non_null(found);
    return found;
}

static bool flag_of(llmr_router *r, const char *id, const char *key)
{
    cJSON *m = status_of(r, id);
    bool v = cJSON_IsTrue(cJSON_GetObjectItem(m, key));
    cJSON_Delete(m);
    return v;
}

static void failover_when_a_backend_is_killed_never_repeats_text(void **st)
{
    char json[4096];
    snprintf(json, sizeof json,
             "{\"strategy\": \"quality-first\", \"cooldown_s\": 60, \"seed\": 1,"
             " \"backends\": {\"k\": {\"url\": \"%s\", \"connect_timeout_ms\": 1000},"
             "  \"b\": {\"url\": \"%s\"}},"
             " \"models\": [{\"id\": \"rk\", \"backend\": \"k\", \"remote_model\": \"ok\","
             "   \"quality\": 0.9}, {\"id\": \"rb\", \"backend\": \"b\", \"remote_model\": \"ok\","
             "   \"quality\": 0.5}]}", K.url, B.url);
    llmr_router *r;
    assert_int_equal(llmr_router_open_json(json, "kill", &r), LLMR_OK);
    char text[512], model[160], err[512];
    assert_int_equal(ASK(r, "hello world", NULL, NULL), LLMR_OK);
    assert_string_equal(text, "[K] hello world");
    assert_string_equal(model, "rk");
    mock_kill(&K);                                  /* the best backend dies */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ASK(r, "still answered", NULL, NULL), LLMR_OK);
        assert_string_equal(text, "[B] still answered");      /* once, not after "[K]" */
        assert_string_equal(model, "rb");
    }
    assert_false(flag_of(r, "rk", "healthy"));     /* cooling down */
    cJSON *m = status_of(r, "rk");
    assert_int_equal(cJSON_GetObjectItem(m, "failures")->valueint, 1);   /* then skipped */
    assert_non_null(strstr(cJSON_GetObjectItem(m, "last_error")->valuestring, K.url + 7));
    cJSON_Delete(m);
    llmr_router_close(r);
}

static void cooled_down_backend_comes_back_after_a_health_check(void **st)
{
    char json[4096];
    snprintf(json, sizeof json,
             "{\"strategy\": \"quality-first\", \"cooldown_s\": 0.2, \"health_interval_s\": 0.1,"
             " \"backends\": {\"f\": {\"url\": \"%s\"}, \"b\": {\"url\": \"%s\"}},"
             " \"models\": [{\"id\": \"rf\", \"backend\": \"f\", \"remote_model\": \"ok\","
             "   \"quality\": 0.9}, {\"id\": \"rb\", \"backend\": \"b\", \"remote_model\": \"ok\","
             "   \"quality\": 0.5}]}", F.url, B.url);
    llmr_router *r;
    assert_int_equal(llmr_router_open_json(json, "probe", &r), LLMR_OK);
    char text[512], model[160], err[512];
    assert_int_equal(ASK(r, "one", NULL, NULL), LLMR_OK);    /* F answers 503 */
    assert_string_equal(text, "[B] one");
    assert_false(flag_of(r, "rf", "healthy"));
    bool back = false;
    for (int i = 0; i < 60 && !back; i++) {          /* the reaper probes GET /v1/models */
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
        back = flag_of(r, "rf", "healthy");
    }
    assert_true(back);
    assert_true(mock_log_count(&F, "POST") == 1);
    assert_int_equal(ASK(r, "two", NULL, NULL), LLMR_OK);
    assert_string_equal(text, "[F] two");
    assert_string_equal(model, "rf");
    llmr_router_close(r);
}

static void errors_before_the_first_token_fail_over_after_it_they_end_the_stream(void **st)
{
    llmr_router *r = open_router("\"strategy\": \"quality-first\"",
        "{\"id\": \"bad1\", \"backend\": \"a\", \"remote_model\": \"errfirst\", \"quality\": 0.9},"
        "{\"id\": \"bad2\", \"backend\": \"a\", \"remote_model\": \"garbagefirst\", \"quality\": 0.8},"
        "{\"id\": \"bad3\", \"backend\": \"a\", \"remote_model\": \"500\", \"quality\": 0.7},"
        "{\"id\": \"gone\", \"backend\": \"dead\", \"quality\": 0.6},"
        "{\"id\": \"good\", \"backend\": \"b\", \"remote_model\": \"ok\", \"quality\": 0.1},"
        "{\"id\": \"late\", \"backend\": \"c\", \"remote_model\": \"malformed\", \"quality\": 0.05}");
    char text[512], model[160], err[512];
    assert_int_equal(ASK(r, "made it", NULL, NULL), LLMR_OK);
    assert_string_equal(text, "[B] made it");
    assert_string_equal(model, "good");
    /* asked for directly (strict), a backend that breaks after its first word ends the stream
     * with that word delivered once and a clear error */
    llmr_route_opts ro = llmr_route_defaults();
    ro.model = "late";
    ro.strict = true;
    assert_int_equal(ASK(r, "x", &ro, NULL), LLMR_ERR_FORMAT);
    assert_string_equal(text, "[C]");
    assert_non_null(strstr(err, "malformed stream chunk"));
    /* strict on a dead backend: every pass fails, the message names it */
    ro.model = "gone";
    assert_int_equal(ASK(r, "x", &ro, NULL), LLMR_ERR_NETWORK);
    assert_non_null(strstr(err, "gone: "));
    assert_non_null(strstr(err, "127.0.0.1:1"));
    llmr_router_close(r);
}

static void unknown_ids_and_unservable_requests_are_clear_errors(void **st)
{
    llmr_router *r = open_router(NULL,
        "{\"id\": \"ra\", \"aliases\": [\"alpha\"], \"backend\": \"a\", \"remote_model\": \"ok\","
        " \"context\": 4096, \"chat\": true}");
    char text[512], model[160], err[512];
    llmr_route_opts ro = llmr_route_defaults();
    ro.model = "nosuch";
    assert_int_equal(ASK(r, "x", &ro, NULL), LLMR_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "no model 'nosuch' in the router (known: ra)"));
    ro.model = "alpha";                              /* aliases work */
    assert_int_equal(ASK(r, "x", &ro, NULL), LLMR_OK);
    assert_string_equal(model, "ra");
    ro = llmr_route_defaults();
    ro.min_context = 100000;
    assert_int_equal(ASK(r, "x", &ro, NULL), LLMR_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "ra: context 4096 < 100000 needed"));
    ro = llmr_route_defaults();
    ro.strategy = "fastest";
    assert_int_equal(ASK(r, "x", &ro, NULL), LLMR_ERR_ARG);
    assert_int_equal(llmr_router_load(r, "nosuch"), LLMR_ERR_NOT_FOUND);
    assert_int_equal(llmr_router_unload(r, "nosuch"), LLMR_ERR_NOT_FOUND);
    assert_int_equal(llmr_router_remove_model(r, "nosuch"), LLMR_ERR_NOT_FOUND);
    /* models added and removed at run time */
    assert_int_equal(llmr_router_add_model(r, "{\"id\": \"ra\", \"backend\": \"b\"}"), LLMR_ERR_ARG);
    assert_non_null(strstr(llmr_router_errmsg(r), "duplicate"));
    char add[256];
    snprintf(add, sizeof add, "{\"id\": \"rb\", \"backend\": \"b\", \"remote_model\": \"ok\"}");
    if (llmr_router_add_model(r, add) != LLMR_OK)
        fail_msg("add: %s", llmr_router_errmsg(r));
    ro = llmr_route_defaults();
    ro.model = "rb";
    assert_int_equal(ASK(r, "added", &ro, NULL), LLMR_OK);
    assert_string_equal(text, "[B] added");
    assert_int_equal(llmr_router_remove_model(r, "rb"), LLMR_OK);
    assert_int_equal(ASK(r, "added", &ro, NULL), LLMR_ERR_NOT_FOUND);
    llmr_router_close(r);
}

static void strategies_apply_per_router_and_per_request(void **st)
{
    llmr_router *r = open_router("\"strategy\": \"round-robin\"",
        "{\"id\": \"ra\", \"backend\": \"a\", \"remote_model\": \"ok\", \"quality\": 0.9, \"cost\": 3},"
        "{\"id\": \"rb\", \"backend\": \"b\", \"remote_model\": \"ok\", \"quality\": 0.5, \"cost\": 1},"
        "{\"id\": \"rc\", \"backend\": \"c\", \"remote_model\": \"ok\", \"quality\": 0.2, \"cost\": 0}");
    char text[512], model[160], err[512];
    const char *expect[] = {"ra", "rb", "rc", "ra"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(ASK(r, "rr", NULL, NULL), LLMR_OK);
        assert_string_equal(model, expect[i]);
    }
    llmr_route_opts ro = llmr_route_defaults();
    ro.strategy = "cost-optimized";
    assert_int_equal(ASK(r, "cheap", &ro, NULL), LLMR_OK);
    assert_string_equal(model, "rc");
    ro.strategy = "quality-first";
    assert_int_equal(ASK(r, "best", &ro, NULL), LLMR_OK);
    assert_string_equal(model, "ra");
    char *ex;
    assert_int_equal(llmr_router_explain(r, "best", &ro, NULL, &ex), LLMR_OK);
    assert_non_null(strstr(ex, "strategy: quality-first"));
    assert_non_null(strstr(ex, " 1. ra "));
    assert_non_null(strstr(ex, " 3. rc "));
    free(ex);
    llmr_router_close(r);
}

static void result_cache_replays_greedy_requests_only(void **st)
{
    char json[2048];
    snprintf(json, sizeof json,
             "{\"cache\": {\"enabled\": true, \"ttl_s\": 60},"
             " \"backends\": {\"m\": {\"url\": \"%s\"}},"
             " \"models\": [{\"id\": \"rm\", \"backend\": \"m\", \"remote_model\": \"ok\"}]}", M.url);
    llmr_router *r;
    assert_int_equal(llmr_router_open_json(json, "cache", &r), LLMR_OK);
    char text[512], model[160], err[512];
    llmr_gen_opts o = llmr_gen_defaults();
    o.sampling.temperature = 0;
    assert_int_equal(ASK(r, "cache me", NULL, &o), LLMR_OK);
    assert_string_equal(model, "rm");
    assert_int_equal(ASK(r, "cache me", NULL, &o), LLMR_OK);
    assert_string_equal(text, "[M] cache me");
    assert_string_equal(model, "rm (cached)");
    assert_int_equal(mock_log_count(&M, "POST"), 1);
    /* the key is the whole prompt and every option: these all miss */
    assert_int_equal(ASK(r, "cache me too", NULL, &o), LLMR_OK);     /* a longer prompt */
    assert_int_equal(ASK(r, "cache", NULL, &o), LLMR_OK);            /* a prefix */
    o.max_tokens = 100;
    assert_int_equal(ASK(r, "cache me", NULL, &o), LLMR_OK);
    assert_int_equal(mock_log_count(&M, "POST"), 4);
    /* sampling (temperature > 0) is not cached unless asked */
    o.sampling.temperature = 0.8f;
    assert_int_equal(ASK(r, "sampled", NULL, &o), LLMR_OK);
    assert_int_equal(ASK(r, "sampled", NULL, &o), LLMR_OK);
    assert_int_equal(mock_log_count(&M, "POST"), 6);
    llmr_route_opts ro = llmr_route_defaults();
    ro.cache = 1;
    assert_int_equal(ASK(r, "sampled", &ro, &o), LLMR_OK);
    assert_int_equal(ASK(r, "sampled", &ro, &o), LLMR_OK);
    assert_string_equal(model, "rm (cached)");
    assert_int_equal(mock_log_count(&M, "POST"), 7);
    llmr_router_close(r);
}

typedef struct stopper {
    llmr_router *r;
    llmr_stream *s;
} stopper;

static void *stop_later(void *arg)
{
    stopper *x = arg;
    struct timespec ts = {0, 400000000};
    nanosleep(&ts, NULL);
    llmr_router_stream_stop(x->r, x->s);
    return NULL;
}

/* The slow mock sends a word every 0.2 s; llmr_router_stream_stop ends the stream at once. */
static void stop_interrupts_a_remote_stream_promptly(void **st)
{
    llmr_router *r = open_router(NULL,
        "{\"id\": \"slow\", \"backend\": \"a\", \"remote_model\": \"slow\"}");
    llmr_stream *s;
    llmr_gen_opts o = llmr_gen_defaults();
    o.sampling.temperature = 0;
    assert_int_equal(llmr_router_stream_open(r, "x", NULL, &o, &s), LLMR_OK);
    stopper x = {r, s};
    pthread_t th;
    pthread_create(&th, NULL, stop_later, &x);
    double t0 = llmri_now();
    llmr_piece p;
    int rc, pieces = 0;
    while ((rc = llmr_stream_next(s, &p)) == LLMR_PIECE)
        pieces++;
    pthread_join(th, NULL);
    assert_int_equal(rc, LLMR_DONE);
    assert_int_equal(llmr_stream_finish_reason(s), LLMR_FINISH_CANCELLED);
    assert_true(pieces < 10);
    assert_true(llmri_now() - t0 < 3);
    llmr_stream_close(s);
    llmr_router_close(r);
}

/* ---- local models (need ../shared) ------------------------------------------------------ */

static void lru_eviction_under_a_memory_budget(void **st)
{
    REQUIRE_SHARED(path, "models/stories260K.gguf");
    char json[2048];
    snprintf(json, sizeof json,
             "{\"memory_budget_mb\": 100, \"keep_alive_s\": -1, \"models\": ["
             "{\"id\": \"m1\", \"source\": \"%s\", \"size_mb\": 40, \"context\": 512, \"threads\": 1},"
             "{\"id\": \"m2\", \"source\": \"%s\", \"size_mb\": 40, \"context\": 512, \"threads\": 1},"
             "{\"id\": \"m3\", \"source\": \"%s\", \"size_mb\": 40, \"context\": 512, \"threads\": 1},"
             "{\"id\": \"huge\", \"source\": \"%s\", \"size_mb\": 500}]}",
             path, path, path, path);
    llmr_router *r;
    assert_int_equal(llmr_router_open_json(json, "budget", &r), LLMR_OK);
    assert_int_equal(llmr_router_load(r, "m1"), LLMR_OK);
    assert_int_equal(llmr_router_load(r, "m2"), LLMR_OK);
    assert_true(flag_of(r, "m1", "loaded") && flag_of(r, "m2", "loaded"));
    assert_int_equal(llmr_router_load(r, "m3"), LLMR_OK);       /* 120 > 100: m1 goes */
    assert_false(flag_of(r, "m1", "loaded"));
    assert_true(flag_of(r, "m2", "loaded") && flag_of(r, "m3", "loaded"));
    /* use m2 so that m3 becomes the least recently used */
    char text[512], model[160], err[512];
    llmr_route_opts ro = llmr_route_defaults();
    ro.model = "m2";
    ro.strict = true;
    llmr_gen_opts o = llmr_gen_defaults();
    o.max_tokens = 8;
    o.sampling.temperature = 0;
    assert_int_equal(ASK(r, "Once upon a time", &ro, &o), LLMR_OK);
    assert_string_equal(model, "m2");
    assert_true(strlen(text) > 0);
    cJSON *m2 = status_of(r, "m2");                 /* its speed is now measured */
    assert_true(cJSON_GetObjectItem(m2, "measured_tps")->valuedouble > 0);
    assert_int_equal(cJSON_GetObjectItem(m2, "served")->valueint, 1);
    cJSON_Delete(m2);
    assert_int_equal(llmr_router_load(r, "m1"), LLMR_OK);
    assert_false(flag_of(r, "m3", "loaded"));
    assert_true(flag_of(r, "m1", "loaded") && flag_of(r, "m2", "loaded"));
    /* models in use are never evicted: with m1 and m2 streaming, m3 cannot fit */
    llmr_stream *s1, *s2;
    ro.model = "m1";
    assert_int_equal(llmr_router_stream_open(r, "a", &ro, &o, &s1), LLMR_OK);
    ro.model = "m2";
    assert_int_equal(llmr_router_stream_open(r, "b", &ro, &o, &s2), LLMR_OK);
    assert_int_equal(llmr_router_load(r, "m3"), LLMR_ERR_BUSY);
    assert_non_null(strstr(llmr_router_errmsg(r), "held by models in use: m1 (40.0 MiB), m2"));
    assert_int_equal(llmr_router_unload(r, "m1"), LLMR_ERR_BUSY);
    llmr_stream_close(s1);
    llmr_stream_close(s2);
    assert_int_equal(llmr_router_load(r, "huge"), LLMR_ERR_TOO_BIG);
    assert_non_null(strstr(llmr_router_errmsg(r), "more than the whole memory budget"));
    assert_int_equal(llmr_router_unload(r, "m1"), LLMR_OK);
    assert_false(flag_of(r, "m1", "loaded"));
    llmr_router_close(r);
}

static void idle_models_unload_after_keep_alive_and_load_on_first_use(void **st)
{
    REQUIRE_SHARED(path, "models/stories260K.gguf");
    char json[2048];
    snprintf(json, sizeof json,
             "{\"models\": ["
             "{\"id\": \"brief\", \"source\": \"%s\", \"keep_alive_s\": 0.3, \"context\": 512, \"threads\": 1},"
             "{\"id\": \"now\", \"source\": \"%s\", \"keep_alive_s\": 0, \"context\": 512, \"threads\": 1},"
             "{\"id\": \"bad\", \"source\": \"/no/such/model.gguf\", \"quality\": 1}]}",
             path, path);
    llmr_router *r;
    assert_int_equal(llmr_router_open_json(json, "ka", &r), LLMR_OK);
    assert_false(flag_of(r, "brief", "loaded"));
    char text[512], model[160], err[512];
    llmr_route_opts ro = llmr_route_defaults();
    llmr_gen_opts o = llmr_gen_defaults();
    o.max_tokens = 4;
    o.sampling.temperature = 0;
    ro.model = "brief";
    o.max_tokens = 12;
    assert_int_equal(ASK(r, "Once", &ro, &o), LLMR_OK);       /* loads on first use */
    assert_true(flag_of(r, "brief", "loaded"));
    char plain[512];
    snprintf(plain, sizeof plain, "%s", text);
    ro.chat = true;              /* a chat request goes through the model's chat template: the
                                    same greedy request then continues another prompt */
    assert_int_equal(ASK(r, "Once", &ro, &o), LLMR_OK);
    assert_string_equal(model, "brief");
    assert_true(strlen(text) > 0 && strcmp(text, plain) != 0);
    ro.chat = false;
    o.max_tokens = 4;
    ro.model = "now";
    assert_int_equal(ASK(r, "Once", &ro, &o), LLMR_OK);
    assert_false(flag_of(r, "now", "loaded"));                 /* keep_alive 0 */
    bool gone = false;
    for (int i = 0; i < 40 && !gone; i++) {
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
        gone = !flag_of(r, "brief", "loaded");
    }
    assert_true(gone);
    /* a model that fails to load is skipped for the next candidate */
    ro = llmr_route_defaults();
    ro.strategy = "quality-first";
    assert_int_equal(ASK(r, "Once", &ro, &o), LLMR_OK);
    assert_string_not_equal(model, "bad");
    assert_false(flag_of(r, "bad", "healthy"));
    llmr_router_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(failover_when_a_backend_is_killed_never_repeats_text),
        cmocka_unit_test(cooled_down_backend_comes_back_after_a_health_check),
        cmocka_unit_test(errors_before_the_first_token_fail_over_after_it_they_end_the_stream),
        cmocka_unit_test(unknown_ids_and_unservable_requests_are_clear_errors),
        cmocka_unit_test(strategies_apply_per_router_and_per_request),
        cmocka_unit_test(result_cache_replays_greedy_requests_only),
        cmocka_unit_test(stop_interrupts_a_remote_stream_promptly),
        cmocka_unit_test(lru_eviction_under_a_memory_budget),
        cmocka_unit_test(idle_models_unload_after_keep_alive_and_load_on_first_use),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
