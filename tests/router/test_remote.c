/* test_remote.c - the OpenAI-compatible backend against a live mock server (oai_mock.py):
 * streaming chat and completions, CRLF/comments/multi-line data, UTF-8 cut between network
 * writes, HTTP errors, error chunks, malformed SSE, a dropped connection, idle and connect
 * failures, API keys from the environment, cancellation from another thread, health checks. */
#include "test_util.h"
#include "mock_server.h"
#include "router/remote.h"
#include "core/util.h"

#include <pthread.h>

static mock_server srv, keyed;

static int setup(void **st)
{
    const char *extra[] = {"--require-key", "sekret", NULL};
    if (!mock_spawn(&srv, "A", NULL) || !mock_spawn(&keyed, "K", extra) || !mock_wait(&srv) ||
        !mock_wait(&keyed)) {
        print_message("skipped: python3 or tests/router/oai_mock.py is unavailable\n");
        return -1;
    }
    return 0;
}

static int teardown(void **st)
{
    mock_stop(&srv);
    mock_stop(&keyed);
    return 0;
}

/* Runs one request to the end; returns the final code, the text in out. */
static int run(const char *url, const char *model, bool chat, const char *prompt, char *out,
               size_t n, llmr_err *e)
{
    llmr_remote_cfg c = llmri_remote_defaults();
    c.url = url;
    c.model = model;
    c.chat = chat;
    c.idle_timeout_ms = 700;
    c.connect_timeout_ms = 1000;
    llmr_remote *r;
    assert_int_equal(llmri_remote_open(&c, &r, e), LLMR_OK);
    out[0] = 0;
    int rc = llmri_remote_begin(r, prompt, NULL, e);
    size_t at = 0;
    const char *t;
    size_t len;
    while (rc == LLMR_OK && (rc = llmri_remote_step(r, &t, &len, e)) == LLMR_OK) {
        assert_true(len > 0);
        assert_true(at + len < n);
        memcpy(out + at, t, len);
        out[at += len] = 0;
    }
    llmri_remote_close(r);
    return rc;
}

static void chat_and_completions_stream_the_reply(void **st)
{
    char out[512];
    llmr_err e;
    assert_int_equal(run(srv.url, "ok", true, "hello big world", out, sizeof out, &e), LLMR_DONE);
    assert_string_equal(out, "[A] hello big world");
    assert_int_equal(run(srv.url, "ok", false, "complete me", out, sizeof out, &e), LLMR_DONE);
    assert_string_equal(out, "[A] complete me");
    char v1[96];
    snprintf(v1, sizeof v1, "%s/v1/", srv.url);            /* a base URL that names /v1 */
    assert_int_equal(run(v1, "ok", true, "x", out, sizeof out, &e), LLMR_DONE);
    assert_string_equal(out, "[A] x");
}

static void crlf_comments_multiline_and_split_utf8_parse(void **st)
{
    char out[512];
    llmr_err e;
    assert_int_equal(run(srv.url, "crlf", true, "one two", out, sizeof out, &e), LLMR_DONE);
    assert_string_equal(out, "[A] one two");
    assert_int_equal(run(srv.url, "multiline", true, "three four", out, sizeof out, &e),
                     LLMR_DONE);
    assert_string_equal(out, "[A] three four");
    assert_int_equal(run(srv.url, "bytes", true, "ignored", out, sizeof out, &e), LLMR_DONE);
    assert_string_equal(out, "caf\xC3\xA9 \xF0\x9F\x98\x80 ok");
}

static void http_errors_arrive_at_begin_with_the_server_message(void **st)
{
    char out[512];
    llmr_err e;
    assert_int_equal(run(srv.url, "500", true, "x", out, sizeof out, &e), LLMR_ERR_NETWORK);
    assert_non_null(strstr(e.msg, "HTTP 500: backend says 500"));
    assert_string_equal(out, "");
    assert_int_equal(run(srv.url, "429", true, "x", out, sizeof out, &e), LLMR_ERR_BUSY);
    char bad[96];
    snprintf(bad, sizeof bad, "%s/nope", srv.url);
    assert_int_equal(run(bad, "ok", true, "x", out, sizeof out, &e), LLMR_ERR_NOT_FOUND);
    assert_non_null(strstr(e.msg, "HTTP 404"));
}

static void error_chunk_malformed_sse_and_drop_end_the_stream_after_text(void **st)
{
    char out[512];
    llmr_err e;
    assert_int_equal(run(srv.url, "errchunk", true, "x", out, sizeof out, &e), LLMR_ERR_NETWORK);
    assert_string_equal(out, "[A]");
    assert_non_null(strstr(e.msg, "the GPU caught fire"));
    assert_int_equal(run(srv.url, "malformed", true, "x", out, sizeof out, &e), LLMR_ERR_FORMAT);
    assert_string_equal(out, "[A]");
    assert_non_null(strstr(e.msg, "malformed stream chunk"));
    assert_int_equal(run(srv.url, "drop", true, "x", out, sizeof out, &e), LLMR_ERR_NETWORK);
    assert_string_equal(out, "[A]");
}

static void idle_and_unreachable_backends_fail_in_time(void **st)
{
    char out[512];
    llmr_err e;
    double t0 = llmri_now();
    assert_int_equal(run(srv.url, "hang", true, "x", out, sizeof out, &e), LLMR_ERR_NETWORK);
    assert_non_null(strstr(e.msg, "idle timeout"));
    assert_true(llmri_now() - t0 < 5);
    /* port 1 on loopback: nothing listens, the connection is refused */
    assert_int_equal(run("http://127.0.0.1:1", "ok", true, "x", out, sizeof out, &e),
                     LLMR_ERR_NETWORK);
    assert_non_null(strstr(e.msg, "127.0.0.1:1"));
    llmr_remote_cfg c = llmri_remote_defaults();
    llmr_remote *r;
    c.url = "ftp://x";
    assert_int_equal(llmri_remote_open(&c, &r, &e), LLMR_ERR_ARG);
    assert_null(r);
}

static void api_key_comes_from_the_named_environment_variable(void **st)
{
    llmr_remote_cfg c = llmri_remote_defaults();
    c.url = keyed.url;
    c.model = "ok";
    c.api_key_env = "LLMR_TEST_KEY";
    llmr_remote *r;
    llmr_err e;
    assert_int_equal(llmri_remote_open(&c, &r, &e), LLMR_OK);
    unsetenv("LLMR_TEST_KEY");
    assert_int_equal(llmri_remote_begin(r, "x", NULL, &e), LLMR_ERR_ARG);
    assert_non_null(strstr(e.msg, "LLMR_TEST_KEY is not set"));
    setenv("LLMR_TEST_KEY", "wrong", 1);
    assert_int_equal(llmri_remote_begin(r, "x", NULL, &e), LLMR_ERR_ARG);
    assert_non_null(strstr(e.msg, "HTTP 401: bad API key"));
    setenv("LLMR_TEST_KEY", "sekret", 1);
    llmr_remote_req q = llmri_remote_req_defaults();
    q.max_tokens = 7;
    q.temperature = 0.5;
    q.json_mode = true;
    const char *stop[] = {"END", NULL};
    q.stop = stop;
    assert_int_equal(llmri_remote_begin(r, "key ok", &q, &e), LLMR_OK);
    const char *t;
    size_t len;
    assert_int_equal(llmri_remote_step(r, &t, &len, &e), LLMR_OK);
    assert_memory_equal(t, "[K]", 3);
    llmri_remote_close(r);
    assert_int_equal(mock_log_count(&keyed, "auth=Bearer sekret"), 1);
    assert_int_equal(mock_log_count(&keyed, "\"max_tokens\": 7"), 1);
    assert_int_equal(mock_log_count(&keyed, "\"stop\": [\"END\"]"), 1);
    assert_int_equal(mock_log_count(&keyed, "\"response_format\": {\"type\": \"json_object\"}"), 1);
    assert_int_equal(mock_log_count(&keyed, "\"stream\": true"), 2);   /* no request without a key */
}

static void *cancel_later(void *arg)
{
    struct timespec ts = {0, 300000000};
    nanosleep(&ts, NULL);
    llmri_remote_cancel(arg);
    return NULL;
}

static void cancel_from_another_thread_stops_a_slow_stream(void **st)
{
    llmr_remote_cfg c = llmri_remote_defaults();
    c.url = srv.url;
    c.model = "slow";
    llmr_remote *r;
    llmr_err e;
    assert_int_equal(llmri_remote_open(&c, &r, &e), LLMR_OK);
    assert_int_equal(llmri_remote_begin(r, "x", NULL, &e), LLMR_OK);
    pthread_t th;
    pthread_create(&th, NULL, cancel_later, r);
    double t0 = llmri_now();
    const char *t;
    size_t len;
    int rc, pieces = 0;
    while ((rc = llmri_remote_step(r, &t, &len, &e)) == LLMR_OK)
        pieces++;
    pthread_join(th, NULL);
    assert_int_equal(rc, LLMR_ERR_CANCELLED);
    assert_true(pieces >= 1 && pieces < 10);
    assert_true(llmri_now() - t0 < 2);
    /* the handle is usable again after a cancel */
    c.model = "ok";
    assert_int_equal(llmri_remote_begin(r, "again", NULL, &e), LLMR_OK);
    llmri_remote_close(r);
}

static void health_check_tells_live_from_dead(void **st)
{
    llmr_err e;
    assert_int_equal(llmri_remote_health(srv.url, 2000, &e), LLMR_OK);
    assert_int_equal(llmri_remote_health("http://127.0.0.1:1", 1000, &e), LLMR_ERR_NETWORK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chat_and_completions_stream_the_reply),
        cmocka_unit_test(crlf_comments_multiline_and_split_utf8_parse),
        cmocka_unit_test(http_errors_arrive_at_begin_with_the_server_message),
        cmocka_unit_test(error_chunk_malformed_sse_and_drop_end_the_stream_after_text),
        cmocka_unit_test(idle_and_unreachable_backends_fail_in_time),
        cmocka_unit_test(api_key_comes_from_the_named_environment_variable),
        cmocka_unit_test(cancel_from_another_thread_stops_a_slow_stream),
        cmocka_unit_test(health_check_tells_live_from_dead),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
