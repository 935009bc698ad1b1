/* test_sse.c - the SSE parser fed whole, byte by byte and in random splits, and the OpenAI
 * chunk decoder on good, error and malformed chunks. */
#include "test_util.h"
#include "router/oai.h"
#include "router/sse.h"

/* Events recorded as "type|id|data\n" lines, to compare whole runs. */
typedef struct rec {
    char out[8192];
    size_t n;
    int events;
} rec;

static int on_event(void *user, const llmr_sse_event *ev)
{
    rec *r = user;
    r->n += (size_t)snprintf(r->out + r->n, sizeof r->out - r->n, "%s|%s|%s\n", ev->type,
                             ev->id, ev->data);
    r->events++;
    assert_int_equal(strlen(ev->data), ev->data_len);
    return 0;
}

/* Feeds s cut at the given offsets (ascending, may repeat). */
static void feed_split(const char *s, size_t n, const size_t *cuts, size_t n_cuts, rec *r)
{
    llmr_sse p;
    llmri_sse_init(&p, 0);
    memset(r, 0, sizeof *r);
    size_t at = 0;
    llmr_err e;
    for (size_t i = 0; i <= n_cuts; i++) {
        size_t end = i < n_cuts ? cuts[i] : n;
        assert_int_equal(llmri_sse_feed(&p, s + at, end - at, on_event, r, &e), LLMR_OK);
        at = end;
    }
    llmri_sse_free(&p);
}

static void feed_whole(const char *s, rec *r) { feed_split(s, strlen(s), NULL, 0, r); }

static void feed_bytewise(const char *s, rec *r)
{
    size_t n = strlen(s);
    size_t *cuts = malloc(n * sizeof *cuts);
    for (size_t i = 0; i < n; i++)
        cuts[i] = i;
    feed_split(s, n, cuts, n, r);
    free(cuts);
}

/* "é" is C3 A9 and "😀" F0 9F 98 80: byte-wise feeding cuts them, the events must not. */
static const char *STREAM =
    "\xEF\xBB\xBF"                                         /* BOM */
    ": keep-alive comment\r\n"
    "\r\n"                                                 /* empty event: not dispatched */
    "data: {\"a\":\"caf\xC3\xA9\"}\r\n\r\n"
    "event: update\nid: 7\ndata:first\ndata:  second\n\n"  /* one space dropped */
    "data\n\n"                                             /* no colon: empty data */
    "retry: 3000\rdata: cr-only \xF0\x9F\x98\x80\r\r"
    "unknown: field\ndata: [DONE]\n\n"
    "data: unfinished";                                    /* dropped at the end */

static const char *EXPECT =
    "message||{\"a\":\"caf\xC3\xA9\"}\n"
    "update|7|first\n second\n"
    "message|7|\n"
    "message|7|cr-only \xF0\x9F\x98\x80\n"
    "message|7|[DONE]\n";

static void sse_parses_fields_comments_and_line_endings(void **st)
{
    rec r;
    feed_whole(STREAM, &r);
    assert_string_equal(r.out, EXPECT);
    assert_int_equal(r.events, 5);
}

static void sse_byte_by_byte_gives_the_same_events(void **st)
{
    rec r;
    feed_bytewise(STREAM, &r);
    assert_string_equal(r.out, EXPECT);
}

static void sse_random_splits_give_the_same_events(void **st)
{
    size_t n = strlen(STREAM);
    unsigned seed = 12345;
    for (int trial = 0; trial < 500; trial++) {
        size_t cuts[16], k = (size_t)(trial % 15) + 1;
        for (size_t i = 0; i < k; i++) {
            seed = seed * 1103515245u + 12345u;
            cuts[i] = (seed >> 8) % (n + 1);
        }
        for (size_t i = 1; i < k; i++)          /* insertion sort: cuts must ascend */
            for (size_t j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
                size_t t = cuts[j];
                cuts[j] = cuts[j - 1];
                cuts[j - 1] = t;
            }
        rec r;
        feed_split(STREAM, n, cuts, k, &r);
        assert_string_equal(r.out, EXPECT);
    }
}

/* A CR at the very end of one feed and its LF at the start of the next are one line end. */
static void sse_crlf_split_across_feeds_is_one_line_end(void **st)
{
    const char *s = "data: a\r\n\r\ndata: b\r\n\r\n";
    size_t cuts[] = {8, 10, 11};
    rec r;
    feed_split(s, strlen(s), cuts, 3, &r);
    assert_string_equal(r.out, "message||a\nmessage||b\n");
}

static int stop_at_second(void *user, const llmr_sse_event *ev)
{
    int *n = user;
    return ++*n == 2 ? 42 : 0;
}

static void sse_callback_can_stop_and_size_is_bounded(void **st)
{
    llmr_sse p;
    llmri_sse_init(&p, 0);
    int n = 0;
    const char *s = "data: 1\n\ndata: 2\n\ndata: 3\n\n";
    assert_int_equal(llmri_sse_feed(&p, s, strlen(s), stop_at_second, &n, NULL), 42);
    llmri_sse_free(&p);

    llmri_sse_init(&p, 64);
    char big[200];
    memset(big, 'x', sizeof big);
    memcpy(big, "data: ", 6);
    llmr_err e;
    assert_int_equal(llmri_sse_feed(&p, big, sizeof big, NULL, NULL, &e), LLMR_ERR_TOO_BIG);
    assert_non_null(strstr(e.msg, "longer than 64 bytes"));
    llmri_sse_free(&p);
}

static void oai_chat_and_completion_chunks_decode(void **st)
{
    llmr_oai_delta d = {0};
    llmr_err e;
    const char *c = "{\"id\":\"x\",\"model\":\"m1\",\"choices\":[{\"index\":0,\"delta\":"
                    "{\"content\":\"Hel\\u00e9\"},\"finish_reason\":null}]}";
    assert_int_equal(llmri_oai_decode(c, strlen(c), true, &d, &e), LLMR_OK);
    assert_string_equal(d.text, "Hel\xC3\xA9");
    assert_int_equal(d.len, 5);
    assert_string_equal(d.model, "m1");
    assert_string_equal(d.finish, "");
    c = "{\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}";
    assert_int_equal(llmri_oai_decode(c, strlen(c), true, &d, &e), LLMR_OK);
    assert_null(d.text);
    assert_string_equal(d.finish, "stop");
    c = "{\"choices\":[{\"text\":\" world\",\"finish_reason\":\"length\"}]}";
    assert_int_equal(llmri_oai_decode(c, strlen(c), false, &d, &e), LLMR_OK);
    assert_string_equal(d.text, " world");
    assert_string_equal(d.finish, "length");
    c = "{\"choices\":[],\"usage\":{\"total_tokens\":3}}";
    assert_int_equal(llmri_oai_decode(c, strlen(c), true, &d, &e), LLMR_OK);
    assert_null(d.text);
    assert_int_equal(llmri_oai_decode("[DONE]", 6, true, &d, &e), LLMR_OK);
    assert_true(d.done);
    llmri_oai_delta_free(&d);
}

static void oai_error_and_malformed_chunks_are_clear_errors(void **st)
{
    static const struct { const char *data; int code; const char *msg; } t[] = {
        {"{\"error\":{\"message\":\"model exploded\",\"type\":\"server_error\"}}",
         LLMR_ERR_NETWORK, "the backend reported an error: model exploded"},
        {"{\"error\":{\"message\":\"slow down\",\"type\":\"rate_limit_exceeded\"}}",
         LLMR_ERR_BUSY, "slow down"},
        {"{\"error\":\"plain string\"}", LLMR_ERR_NETWORK, "plain string"},
        {"{\"choices\":[{\"delta\":{\"content\":\"x\"", LLMR_ERR_FORMAT, "not JSON"},
        {"hello", LLMR_ERR_FORMAT, "'hello'"},
        {"[1,2]", LLMR_ERR_FORMAT, "not a JSON object"},
        {"{\"foo\":1}", LLMR_ERR_FORMAT, "no \"choices\" array"},
        {"{\"choices\":[{\"delta\":{\"content\":5}}]}", LLMR_ERR_FORMAT, "not a string"},
        {"{\"choices\":[7]}", LLMR_ERR_FORMAT, "choices[0] is not an object"},
    };
    llmr_oai_delta d = {0};
    llmr_err e;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        assert_int_equal(llmri_oai_decode(t[i].data, strlen(t[i].data), true, &d, &e), t[i].code);
        if (!strstr(e.msg, t[i].msg))
            fail_msg("'%s': message '%s' lacks '%s'", t[i].data, e.msg, t[i].msg);
    }
    llmri_oai_delta_free(&d);

    const char *body = "{\"error\":{\"message\":\"no such model\"}}";
    assert_int_equal(llmri_oai_http_error(404, body, strlen(body), "http://h/v1", &e),
                     LLMR_ERR_NOT_FOUND);
    assert_string_equal(e.msg, "http://h/v1: HTTP 404: no such model");
    assert_int_equal(llmri_oai_http_error(503, "busy", 4, "u", &e), LLMR_ERR_BUSY);
    assert_int_equal(llmri_oai_http_error(500, NULL, 0, "u", &e), LLMR_ERR_NETWORK);
    assert_string_equal(e.msg, "u: HTTP 500");
    assert_int_equal(llmri_oai_http_error(401, "", 0, "u", &e), LLMR_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sse_parses_fields_comments_and_line_endings),
        cmocka_unit_test(sse_byte_by_byte_gives_the_same_events),
        cmocka_unit_test(sse_random_splits_give_the_same_events),
        cmocka_unit_test(sse_crlf_split_across_feeds_is_one_line_end),
        cmocka_unit_test(sse_callback_can_stop_and_size_is_bounded),
        cmocka_unit_test(oai_chat_and_completion_chunks_decode),
        cmocka_unit_test(oai_error_and_malformed_chunks_are_clear_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
