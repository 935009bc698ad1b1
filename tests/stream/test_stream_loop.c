/* test_stream_loop.c - the generation loop over a scripted source: stop sequences, UTF-8
 * assembly, end of generation, limits, filters, events, retries and fallback, bad options.
 * (Control from other threads: test_stream_control.c; with a real model: test_stream_model.c.) */
#include "test_util.h"
#include "mock_source.h"
#include "stream/text.h"

typedef struct run {
    int    rc;                 /* last code of open/next */
    char   text[4096];         /* the pieces joined */
    char   pieces[64][128];
    int    n_pieces;
    llmr_usage u;
    char   errmsg[512];
} run;

/* Pulls a stream over `srcs` to the end, recording every piece. */
static void pull(llmr_source **srcs, size_t n, const llmr_gen_opts *o, run *r)
{
    memset(r, 0, sizeof *r);
    llmr_stream *s;
    int rc = llmri_stream_open_sources(srcs, n, "prompt", o, &s);
    llmr_piece p;
    while (rc == LLMR_OK || rc == LLMR_PIECE) {
        if ((rc = llmr_stream_next(s, &p)) != LLMR_PIECE)
            break;
        assert_true(llmri_utf8_valid(p.text, p.len));
        assert_int_equal(p.text[p.len], '\0');
        assert_int_equal(p.index, r->n_pieces);
        if (r->n_pieces < 64)
            snprintf(r->pieces[r->n_pieces], 128, "%s", p.text);
        r->n_pieces++;
        strncat(r->text, p.text, sizeof r->text - strlen(r->text) - 1);
    }
    r->rc = rc;
    llmr_stream_usage(s, &r->u);
    snprintf(r->errmsg, sizeof r->errmsg, "%s", llmr_stream_errmsg(s));
    if (rc == LLMR_DONE) {
        size_t len;
        assert_string_equal(llmr_stream_text(s, &len), r->text);
    }
    llmr_stream_close(s);
}

static void pull1(const char *const *script, const llmr_gen_opts *o, run *r)
{
    mock_source m;
    mock_init(&m, "mock", script);
    llmr_source *src = &m.base;
    pull(&src, 1, o, r);
}

static void stop_sequence_spanning_two_tokens_is_never_emitted(void **state)
{
    const char *script[] = {"Hel", "lo Wo", "rld! ST", "OP here", "more", NULL};
    llmr_gen_opts o = llmr_gen_defaults();
    o.stop[0] = "STOP";
    run r;
    pull1(script, &o, &r);
    assert_int_equal(r.rc, LLMR_DONE);
    assert_string_equal(r.text, "Hello World! ");
    assert_int_equal(r.u.finish, LLMR_FINISH_STOP);
    for (int i = 0; i < r.n_pieces; i++)
        assert_null(strchr(r.pieces[i], 'S'));
    assert_int_equal(r.u.generated_tokens, 4);
}

static void held_back_text_is_released_when_it_is_not_a_stop(void **state)
{
    const char *script[] = {"a\nHu", "mble", " end", NULL};
    llmr_gen_opts o = llmr_gen_defaults();
    o.stop[0] = "\nHuman:";
    o.stop[1] = "\nUser:";
    o.max_tokens = 3;
    run r;
    pull1(script, &o, &r);
    assert_int_equal(r.rc, LLMR_DONE);
    assert_string_equal(r.text, "a\nHumble end");
    assert_string_equal(r.pieces[0], "a");           /* "\nHu" held back */
    assert_string_equal(r.pieces[1], "\nHumble");
    assert_int_equal(r.u.finish, LLMR_FINISH_LENGTH);
}

static void held_back_text_is_flushed_at_the_length_limit(void **state)
{
    const char *script[] = {"x", "y\nHu", "never", NULL};
    llmr_gen_opts o = llmr_gen_defaults();
    o.stop[0] = "\nHuman:";
    o.max_tokens = 2;
    run r;
    pull1(script, &o, &r);
    assert_string_equal(r.text, "xy\nHu");
    assert_int_equal(r.u.finish, LLMR_FINISH_LENGTH);
}

static void earliest_of_several_stop_sequences_wins(void **state)
{
    const char *script[] = {"one two three", NULL};
    llmr_gen_opts o = llmr_gen_defaults();
    o.stop[0] = "three";
    o.stop[1] = "two";
    run r;
    pull1(script, &o, &r);
    assert_string_equal(r.text, "one ");
}

static void stop_sequence_at_the_very_start_gives_empty_text(void **state)
{
    const char *script[] = {"##", "#", "rest", NULL};
    llmr_gen_opts o = llmr_gen_defaults();
    o.stop[0] = "###";
    run r;
    pull1(script, &o, &r);
    assert_int_equal(r.rc, LLMR_DONE);
    assert_int_equal(r.n_pieces, 0);
    assert_string_equal(r.text, "");
    assert_int_equal(r.u.finish, LLMR_FINISH_STOP);
}

static void multibyte_character_split_across_tokens_arrives_whole(void **state)
{
    /* U+20AC EURO SIGN is E2 82 AC; U+1F600 is F0 9F 98 80. */
    const char *script[] = {"a\xE2", "\x82", "\xAC!", "\xF0\x9F", "\x98", "\x80", NULL};
    llmr_gen_opts o = llmr_gen_defaults();
    o.max_tokens = 6;
    run r;
    pull1(script, &o, &r);
    assert_string_equal(r.text, "a\xE2\x82\xAC!\xF0\x9F\x98\x80");
    assert_string_equal(r.pieces[0], "a");
    assert_string_equal(r.pieces[1], "\xE2\x82\xAC!");
    assert_string_equal(r.pieces[2], "\xF0\x9F\x98\x80");
    assert_int_equal(r.n_pieces, 3);
}

static void ill_formed_bytes_become_replacement_characters(void **state)
{
    /* A lone continuation byte, a truncated sequence followed by ASCII, an overlong lead,
     * and a sequence cut off by the end of the stream. */
    const char *script[] = {"\x80", "\xE2\x82", "x", "\xC0", "\xE2", NULL};
    llmr_gen_opts o = llmr_gen_defaults();
    o.max_tokens = 5;
    run r;
    pull1(script, &o, &r);
    assert_string_equal(r.text, "\xEF\xBF\xBD\xEF\xBF\xBDx\xEF\xBF\xBD\xEF\xBF\xBD");
}

static void end_of_generation_token_ends_the_stream(void **state)
{
    const char *script[] = {"a", "b", MOCK_EOG, "c", NULL};
    run r;
    pull1(script, NULL, &r);
    assert_int_equal(r.rc, LLMR_DONE);
    assert_string_equal(r.text, "ab");
    assert_int_equal(r.u.finish, LLMR_FINISH_STOP);
    assert_int_equal(r.u.generated_tokens, 3);

    llmr_gen_opts o = llmr_gen_defaults();
    o.ignore_eos = true;
    o.max_tokens = 4;
    pull1(script, &o, &r);
    assert_string_equal(r.text, "abc");
    assert_int_equal(r.u.finish, LLMR_FINISH_LENGTH);
}

static void max_tokens_limits_generation(void **state)
{
    const char *script[] = {"t", NULL};
    mock_source m;
    mock_init(&m, "mock", script);
    m.loop = true;
    llmr_source *src = &m.base;
    llmr_gen_opts o = llmr_gen_defaults();
    o.max_tokens = 7;
    run r;
    pull(&src, 1, &o, &r);
    assert_string_equal(r.text, "ttttttt");
    assert_int_equal(r.u.generated_tokens, 7);
    assert_int_equal(m.steps, 7);
    assert_int_equal(r.u.finish, LLMR_FINISH_LENGTH);
    assert_int_equal(m.begins, 1);
    assert_int_equal(m.ends, 1);
}

static void full_context_ends_with_length(void **state)
{
    const char *script[] = {"a", "b", NULL};     /* the mock reports LLMR_ERR_CONTEXT after */
    llmr_gen_opts o = llmr_gen_defaults();
    o.max_tokens = 0;
    run r;
    pull1(script, &o, &r);
    assert_int_equal(r.rc, LLMR_DONE);
    assert_string_equal(r.text, "ab");
    assert_int_equal(r.u.finish, LLMR_FINISH_LENGTH);
}

/* ---- filters ---- */

static const char *profanity(void *user, const char *t, size_t n, size_t *out_len)
{
    static const char *bad[] = {"bad", "evil", "terrible"};
    for (int i = 0; i < 3; i++)
        if (strcasestr(t, bad[i])) {
            *out_len = 3;
            return "***";
        }
    return t;
}

static const char *punctuation(void *user, const char *t, size_t n, size_t *out_len)
{
    char *buf = user;                 /* 128 bytes */
    const char *dot = memchr(t, '.', n);
    if (!dot || n >= 128)
        return t;
    memcpy(buf, t, n);
    buf[dot - t] = '!';
    *out_len = n;
    return buf;
}

static const char *drop_x(void *user, const char *t, size_t n, size_t *out_len)
{
    (*(int *)user)++;
    return strchr(t, 'x') ? NULL : t;
}

static void filters_replace_and_drop_pieces_in_order(void **state)
{
    const char *script[] = {"A ", "bad", " day.", " x", " Evil.", " ok", NULL};
    char buf[128];
    int calls = 0;
    llmr_filter f[] = {{drop_x, &calls}, {profanity, NULL}, {punctuation, buf}};
    llmr_gen_opts o = llmr_gen_defaults();
    o.filters = f;
    o.n_filters = 3;
    o.max_tokens = 6;
    run r;
    pull1(script, &o, &r);
    assert_int_equal(r.rc, LLMR_DONE);
    /* " Evil." becomes "***" by the profanity filter before the enhancer sees a dot. */
    assert_string_equal(r.text, "A *** day!*** ok");
    assert_int_equal(r.n_pieces, 5);
    assert_int_equal(calls, 6);
    assert_int_equal(r.u.text_bytes, strlen("A *** day!*** ok"));
}

/* ---- events ---- */

typedef struct events {
    int starts, tokens, progress, completes, errors, retries;
    uint32_t progress_tokens[16];
    unsigned retry_delays[8];
    char complete_text[256];
    llmr_usage complete_usage;
    int error_code;
    double last_elapsed;
} events;

static void ev_start(void *u, const char *prompt) { ((events *)u)->starts++; }
static void ev_token(void *u, const llmr_piece *p)
{
    events *e = u;
    assert_int_equal(p->index, e->tokens);
    assert_true(p->elapsed >= e->last_elapsed);
    e->last_elapsed = p->elapsed;
    e->tokens++;
}
static void ev_progress(void *u, const llmr_progress *p)
{
    events *e = u;
    if (e->progress < 16)
        e->progress_tokens[e->progress] = p->tokens;
    e->progress++;
    assert_true(p->tokens_per_s >= 0);
    assert_true(p->eta_s >= 0);
}
static void ev_complete(void *u, const llmr_result *r)
{
    events *e = u;
    e->completes++;
    snprintf(e->complete_text, sizeof e->complete_text, "%s", r->text);
    e->complete_usage = r->usage;
}
static void ev_error(void *u, int code, const char *msg)
{
    events *e = u;
    e->errors++;
    e->error_code = code;
    assert_true(msg[0] != '\0');
}
static void ev_retry(void *u, int attempt, unsigned delay_ms, int code, const char *msg)
{
    events *e = u;
    assert_int_equal(attempt, e->retries + 1);
    if (e->retries < 8)
        e->retry_delays[e->retries] = delay_ms;
    e->retries++;
}

static llmr_gen_opts opts_with_events(events *e)
{
    memset(e, 0, sizeof *e);
    llmr_gen_opts o = llmr_gen_defaults();
    o.cb = (llmr_callbacks){e, ev_start, ev_token, ev_progress, ev_complete, ev_error, ev_retry};
    return o;
}

static void events_report_start_tokens_progress_and_complete(void **state)
{
    const char *script[] = {"w", NULL};
    mock_source m;
    mock_init(&m, "mock", script);
    m.loop = true;
    llmr_source *src = &m.base;
    events e;
    llmr_gen_opts o = opts_with_events(&e);
    o.max_tokens = 25;
    o.progress_every = 10;
    run r;
    pull(&src, 1, &o, &r);
    assert_int_equal(e.starts, 1);
    assert_int_equal(e.tokens, 25);
    assert_int_equal(e.progress, 2);
    assert_int_equal(e.progress_tokens[0], 10);
    assert_int_equal(e.progress_tokens[1], 20);
    assert_int_equal(e.completes, 1);
    assert_int_equal(e.errors, 0);
    assert_string_equal(e.complete_text, r.text);
    assert_int_equal(e.complete_usage.generated_tokens, 25);
    assert_int_equal(e.complete_usage.finish, LLMR_FINISH_LENGTH);
    assert_int_equal(e.complete_usage.pieces, 25);
    assert_true(e.complete_usage.gen_tps > 0);
}

/* ---- retries and fallback ---- */

static void retryable_begin_errors_are_retried_with_exponential_backoff(void **state)
{
    const char *script[] = {"ok", MOCK_EOG, NULL};
    mock_source m;
    mock_init(&m, "flaky", script);
    m.begin_fails = 3;
    m.begin_code = LLMR_ERR_BUSY;
    llmr_source *src = &m.base;
    events e;
    llmr_gen_opts o = opts_with_events(&e);
    o.retry_delay_ms = 2;
    o.backoff = 3;
    run r;
    pull(&src, 1, &o, &r);
    assert_int_equal(r.rc, LLMR_DONE);
    assert_string_equal(r.text, "ok");
    assert_int_equal(e.retries, 3);
    assert_int_equal(e.retry_delays[0], 2);
    assert_int_equal(e.retry_delays[1], 6);
    assert_int_equal(e.retry_delays[2], 18);
    assert_int_equal(m.begins, 4);
    assert_int_equal(r.u.attempts, 4);
}

static void retries_give_up_after_max_retries(void **state)
{
    const char *script[] = {"ok", NULL};
    mock_source m;
    mock_init(&m, "down", script);
    m.begin_fails = 100;
    m.begin_code = LLMR_ERR_NETWORK;
    llmr_source *src = &m.base;
    events e;
    llmr_gen_opts o = opts_with_events(&e);
    o.retry_delay_ms = 1;
    o.max_retries = 2;
    run r;
    pull(&src, 1, &o, &r);
    assert_int_equal(r.rc, LLMR_ERR_NETWORK);
    assert_int_equal(m.begins, 3);
    assert_int_equal(e.retries, 2);
    assert_int_equal(e.errors, 1);
    assert_int_equal(e.completes, 0);
    assert_non_null(strstr(r.errmsg, "down"));
    assert_int_equal(r.u.finish, LLMR_FINISH_ERROR);
}

static void non_retryable_error_falls_back_to_the_next_source(void **state)
{
    const char *s1[] = {"never", NULL};
    const char *s2[] = {"from backup", MOCK_EOG, NULL};
    mock_source a, b;
    mock_init(&a, "might-fail-model", s1);
    a.begin_fails = 1;
    a.begin_code = LLMR_ERR_CONTEXT;
    mock_init(&b, "backup-model", s2);
    llmr_source *srcs[] = {&a.base, &b.base};
    events e;
    llmr_gen_opts o = opts_with_events(&e);
    run r;
    pull(srcs, 2, &o, &r);
    assert_int_equal(r.rc, LLMR_DONE);
    assert_string_equal(r.text, "from backup");
    assert_int_equal(a.begins, 1);
    assert_int_equal(b.begins, 1);
    assert_int_equal(e.retries, 0);
    assert_int_equal(r.u.attempts, 2);
}

static void failure_before_the_first_piece_restarts_without_duplicating(void **state)
{
    /* The first source produces text that is held back (a possible stop start), then fails:
     * the fallback's text must appear alone. */
    const char *s1[] = {"ST", "x", NULL};
    const char *s2[] = {"clean", MOCK_EOG, NULL};
    mock_source a, b;
    mock_init(&a, "a", s1);
    a.step_fail_at = 1;
    a.step_code = LLMR_ERR_IO;
    mock_init(&b, "b", s2);
    llmr_source *srcs[] = {&a.base, &b.base};
    llmr_gen_opts o = llmr_gen_defaults();
    o.stop[0] = "STOP";
    run r;
    pull(srcs, 2, &o, &r);
    assert_int_equal(r.rc, LLMR_DONE);
    assert_string_equal(r.text, "clean");
    assert_int_equal(r.u.generated_tokens, 2);
}

static void failure_after_the_first_piece_is_an_error_not_a_repeat(void **state)
{
    const char *s1[] = {"one", " two", " three", NULL};
    const char *s2[] = {"backup", MOCK_EOG, NULL};
    mock_source a, b;
    mock_init(&a, "a", s1);
    a.step_fail_at = 2;
    a.step_code = LLMR_ERR_NETWORK;
    mock_init(&b, "b", s2);
    llmr_source *srcs[] = {&a.base, &b.base};
    events e;
    llmr_gen_opts o = opts_with_events(&e);
    o.retry_delay_ms = 1;
    run r;
    pull(srcs, 2, &o, &r);
    assert_int_equal(r.rc, LLMR_ERR_NETWORK);
    assert_string_equal(r.text, "one two");
    assert_int_equal(b.begins, 0);
    assert_int_equal(e.errors, 1);
    assert_int_equal(e.error_code, LLMR_ERR_NETWORK);
    assert_int_equal(e.retries, 0);
    assert_int_equal(a.ends, 1);
}

static void bad_argument_errors_do_not_fall_back(void **state)
{
    const char *s[] = {"x", NULL};
    mock_source a, b;
    mock_init(&a, "a", s);
    a.begin_fails = 1;
    a.begin_code = LLMR_ERR_ARG;
    mock_init(&b, "b", s);
    llmr_source *srcs[] = {&a.base, &b.base};
    run r;
    pull(srcs, 2, NULL, &r);
    assert_int_equal(r.rc, LLMR_ERR_ARG);
    assert_int_equal(b.begins, 0);
}

/* ---- bad options ---- */

static void expect_bad_code(llmr_gen_opts o, int code, const char *needle)
{
    const char *s[] = {"x", NULL};
    mock_source m;
    int destroyed = 0;
    mock_init(&m, "m", s);
    m.destroyed = &destroyed;
    llmr_source *src = &m.base;
    events e;
    o.cb = opts_with_events(&e).cb;
    llmr_stream *st;
    int rc = llmri_stream_open_sources(&src, 1, "p", &o, &st);
    assert_int_equal(rc, code);
    assert_non_null(st);
    if (!strstr(llmr_stream_errmsg(st), needle))
        fail_msg("message \"%s\" does not name %s", llmr_stream_errmsg(st), needle);
    assert_int_equal(m.begins, 0);                      /* nothing was generated */
    assert_int_equal(e.errors, 1);
    assert_int_equal(e.starts, 0);
    assert_int_equal(llmr_stream_status(st), LLMR_STATUS_FINISHED);
    llmr_piece p;
    assert_int_equal(llmr_stream_next(st, &p), code);
    llmr_stream_close(st);
    assert_int_equal(destroyed, 1);
}

static void expect_bad(llmr_gen_opts o, const char *needle)
{
    expect_bad_code(o, LLMR_ERR_ARG, needle);
}

static void bad_options_are_rejected_before_generation(void **state)
{
    llmr_gen_opts o = llmr_gen_defaults();
    o.max_tokens = -1;
    expect_bad(o, "max_tokens");
    o = llmr_gen_defaults();
    o.max_tokens = LLMR_MAX_GEN_TOKENS + 1;
    expect_bad(o, "max_tokens");
    o = llmr_gen_defaults();
    o.stop[0] = "";
    expect_bad(o, "stop sequence 1 is empty");
    o = llmr_gen_defaults();
    o.stop[0] = "\xFF";
    expect_bad(o, "UTF-8");
    o = llmr_gen_defaults();
    o.sampling.grammar = "root ::= \"a\"";
    o.sampling.json_schema = "{}";
    expect_bad(o, "grammar");
    o = llmr_gen_defaults();
    o.sampling.temperature = -1;
    expect_bad(o, "temperature");
    o = llmr_gen_defaults();
    o.sampling.top_p = 1.5f;
    expect_bad(o, "top_p");
    o = llmr_gen_defaults();
    o.sampling.grammar = "root ::= (\"a\"";
    expect_bad_code(o, LLMR_ERR_FORMAT, "line 1");
    o = llmr_gen_defaults();
    o.sampling.json_schema = "{\"type\": ";
    expect_bad_code(o, LLMR_ERR_FORMAT, "schema");
    o = llmr_gen_defaults();
    o.backoff = 0.5;
    expect_bad(o, "backoff");
    o = llmr_gen_defaults();
    o.max_retries = 11;
    expect_bad(o, "max_retries");
    o = llmr_gen_defaults();
    o.n_filters = 1;
    expect_bad(o, "n_filters");
}

static void options_are_copied_at_open(void **state)
{
    const char *script[] = {"abcEND", "z", NULL};
    char stop[8] = "END";
    llmr_gen_opts o = llmr_gen_defaults();
    o.stop[0] = stop;
    mock_source m;
    mock_init(&m, "m", script);
    llmr_source *src = &m.base;
    llmr_stream *s;
    assert_int_equal(llmri_stream_open_sources(&src, 1, "p", &o, &s), LLMR_OK);
    strcpy(stop, "zzz");               /* the caller's strings may change after open */
    llmr_piece p;
    assert_int_equal(llmr_stream_next(s, &p), LLMR_PIECE);
    assert_string_equal(p.text, "abc");
    assert_int_equal(llmr_stream_next(s, &p), LLMR_DONE);
    assert_int_equal(llmr_stream_next(s, &p), LLMR_DONE);
    llmr_stream_close(s);
}

static void close_mid_stream_frees_everything(void **state)
{
    const char *script[] = {"a", NULL};
    mock_source m;
    int destroyed = 0;
    mock_init(&m, "m", script);
    m.loop = true;
    m.destroyed = &destroyed;
    llmr_source *src = &m.base;
    llmr_stream *s;
    assert_int_equal(llmri_stream_open_sources(&src, 1, "p", NULL, &s), LLMR_OK);
    llmr_piece p;
    assert_int_equal(llmr_stream_next(s, &p), LLMR_PIECE);
    llmr_stream_close(s);
    assert_int_equal(m.ends, 1);
    assert_int_equal(destroyed, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stop_sequence_spanning_two_tokens_is_never_emitted),
        cmocka_unit_test(held_back_text_is_released_when_it_is_not_a_stop),
        cmocka_unit_test(held_back_text_is_flushed_at_the_length_limit),
        cmocka_unit_test(earliest_of_several_stop_sequences_wins),
        cmocka_unit_test(stop_sequence_at_the_very_start_gives_empty_text),
        cmocka_unit_test(multibyte_character_split_across_tokens_arrives_whole),
        cmocka_unit_test(ill_formed_bytes_become_replacement_characters),
        cmocka_unit_test(end_of_generation_token_ends_the_stream),
        cmocka_unit_test(max_tokens_limits_generation),
        cmocka_unit_test(full_context_ends_with_length),
        cmocka_unit_test(filters_replace_and_drop_pieces_in_order),
        cmocka_unit_test(events_report_start_tokens_progress_and_complete),
        cmocka_unit_test(retryable_begin_errors_are_retried_with_exponential_backoff),
        cmocka_unit_test(retries_give_up_after_max_retries),
        cmocka_unit_test(non_retryable_error_falls_back_to_the_next_source),
        cmocka_unit_test(failure_before_the_first_piece_restarts_without_duplicating),
        cmocka_unit_test(failure_after_the_first_piece_is_an_error_not_a_repeat),
        cmocka_unit_test(bad_argument_errors_do_not_fall_back),
        cmocka_unit_test(bad_options_are_rejected_before_generation),
        cmocka_unit_test(options_are_copied_at_open),
        cmocka_unit_test(close_mid_stream_frees_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
