/* test_stream_model.c - streams on real models from ../shared: determinism, stop sequences,
 * UTF-8 from byte-fallback tokens, EOS, limits, constrained JSON with random weights, the
 * prefix cache, control from another thread, fallback models, and bad input. */
#include "test_util.h"
#include "llmr.h"
#include "stream/text.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define STORIES "models/stories260K.gguf"
#define RANDOM_LLAMA2 "models/llama-2-tiny-random.gguf"

static llmr_model *open_model(const char *path, int n_ctx)
{
    llmr_model_opts mo = llmr_model_defaults();
    mo.n_threads = 1;          /* the CI machine is small and shared */
    mo.n_ctx = n_ctx;
    llmr_model *m;
    int rc = llmr_model_open(path, &mo, &m);
    if (rc != LLMR_OK)
        fail_msg("%s: %s", path, llmr_model_errmsg(m));
    return m;
}

typedef struct out {
    char   text[8192];
    char   pieces[256][64];
    int    n_pieces;
    int    rc;
    llmr_usage u;
    char   err[512];
} out;

/* Pulls a whole stream, checking each piece's contract as it goes. */
static void pull(llmr_model *m, const char *prompt, const llmr_gen_opts *o, out *r)
{
    memset(r, 0, sizeof *r);
    llmr_stream *s;
    int rc = llmr_stream_open(m, prompt, o, &s);
    llmr_piece p;
    if (rc == LLMR_OK)
        while ((rc = llmr_stream_next(s, &p)) == LLMR_PIECE) {
            assert_true(p.len > 0);
            assert_true(llmri_utf8_valid(p.text, p.len));
            if (r->n_pieces < 256)
                snprintf(r->pieces[r->n_pieces], 64, "%s", p.text);
            r->n_pieces++;
            strncat(r->text, p.text, sizeof r->text - strlen(r->text) - 1);
        }
    r->rc = rc;
    llmr_stream_usage(s, &r->u);
    snprintf(r->err, sizeof r->err, "%s", llmr_stream_errmsg(s));
    llmr_stream_close(s);
}

static llmr_gen_opts greedy(int n)
{
    llmr_gen_opts o = llmr_gen_defaults();
    o.max_tokens = n;
    o.sampling.temperature = 0;
    return o;
}

/* ---- determinism and the non-streamed text ---- */

static void greedy_generation_is_deterministic_and_matches_the_reference(void **state)
{
    REQUIRE_SHARED(path, STORIES);
    llmr_model *m = open_model(path, 0);
    llmr_gen_opts o = greedy(64);
    out a, b;
    pull(m, "Once upon a time", &o, &a);
    pull(m, "Once upon a time", &o, &b);
    assert_int_equal(a.rc, LLMR_DONE);
    assert_string_equal(a.text, b.text);
    assert_int_equal(a.u.generated_tokens, 64);
    assert_int_equal(a.u.prompt_tokens, 5);
    /* The golden continuation (stories260K.golden.json, computed independently). */
    assert_non_null(strstr(a.text, ", there was a little girl named Lily. She loved to play "
                                   "outside in the park."));
    assert_int_equal(strncmp(a.text, ", there was a little girl", 25), 0);
    /* The pieces concatenate to what the blocking call returns. */
    char *text;
    llmr_usage u;
    assert_int_equal(llmr_generate(m, "Once upon a time", &o, &text, &u, NULL, 0), LLMR_OK);
    assert_string_equal(text, a.text);
    assert_int_equal(u.finish, LLMR_FINISH_LENGTH);
    free(text);
    llmr_model_close(m);
}

static void same_seed_gives_the_same_text(void **state)
{
    REQUIRE_SHARED(path, STORIES);
    llmr_model *m = open_model(path, 0);
    llmr_gen_opts o = llmr_gen_defaults();
    o.max_tokens = 48;
    o.sampling.temperature = 1.0f;
    o.sampling.seed = 42;
    out a, b, c;
    pull(m, "Once upon a time", &o, &a);
    pull(m, "Once upon a time", &o, &b);
    o.sampling.seed = 7;
    pull(m, "Once upon a time", &o, &c);
    assert_string_equal(a.text, b.text);
    assert_string_not_equal(a.text, c.text);
    o.sampling.seed = 42;
    char *text;
    assert_int_equal(llmr_generate(m, "Once upon a time", &o, &text, NULL, NULL, 0), LLMR_OK);
    assert_string_equal(text, a.text);
    free(text);
    llmr_model_close(m);
}

/* ---- stop sequences ---- */

static void stop_sequence_spanning_two_tokens_is_never_emitted(void **state)
{
    REQUIRE_SHARED(path, STORIES);
    llmr_model *m = open_model(path, 0);
    llmr_gen_opts o = greedy(40);
    out full, cut;
    pull(m, "Once upon a time", &o, &full);
    /* Pick two neighbouring pieces of at least two bytes and make a stop sequence of the end of
     * one and the start of the next: it spans the token boundary. */
    int k = -1;
    for (int i = 3; i + 1 < full.n_pieces && k < 0; i++)
        if (strlen(full.pieces[i]) >= 2 && strlen(full.pieces[i + 1]) >= 2)
            k = i;
    assert_true(k >= 0);
    char stop[8];
    size_t lk = strlen(full.pieces[k]);
    snprintf(stop, sizeof stop, "%s%.2s", full.pieces[k] + lk - 2, full.pieces[k + 1]);
    o.stop[0] = stop;
    pull(m, "Once upon a time", &o, &cut);
    assert_int_equal(cut.rc, LLMR_DONE);
    assert_int_equal(cut.u.finish, LLMR_FINISH_STOP);
    size_t at = (size_t)(strstr(full.text, stop) - full.text);
    assert_int_equal(strlen(cut.text), at);
    assert_memory_equal(cut.text, full.text, at);
    assert_null(strstr(cut.text, stop));
    /* No piece ends with a proper start of the stop sequence either. */
    assert_true(strlen(cut.text) < 2 || memcmp(cut.text + strlen(cut.text) - 2, stop, 2) != 0);
    llmr_model_close(m);
}

/* ---- UTF-8 from byte-fallback tokens ---- */

/* Bans every token whose text contains a whole "€", so that the grammar below can only be met
 * with the byte tokens <0xE2> <0x82> <0xAC>: one character split over three tokens. */
static void split_euro_opts(llmr_gen_opts *o, llmr_logit_bias *bias, size_t cap)
{
    llmr_tokenizer *t;
    const char *p = shared_path(RANDOM_LLAMA2);
    assert_int_equal(llmr_tokenizer_open(p, &t), LLMR_OK);
    size_t n = 0;
    for (int32_t id = 0; id < llmr_tokenizer_n_vocab(t); id++) {
        const char *piece;
        size_t len;
        llmr_token_to_piece(t, id, false, &piece, &len);
        if (memmem(piece, len, "\xE2\x82\xAC", 3)) {
            assert_true(n < cap);
            bias[n++] = (llmr_logit_bias){id, -INFINITY};
        }
    }
    llmr_tokenizer_close(t);
    o->sampling.logit_bias = bias;
    o->sampling.n_logit_bias = n;
    o->sampling.grammar = "root ::= \"\xE2\x82\xAC\xE2\x82\xAC\" [a-z]";
}

static void multibyte_character_split_across_tokens_arrives_whole(void **state)
{
    REQUIRE_SHARED(path, RANDOM_LLAMA2);
    llmr_model *m = open_model(path, 0);
    llmr_logit_bias bias[64];
    llmr_gen_opts o = llmr_gen_defaults();
    o.max_tokens = 20;
    o.sampling.seed = 3;
    split_euro_opts(&o, bias, 64);
    out r;
    pull(m, "Price:", &o, &r);
    assert_int_equal(r.rc, LLMR_DONE);
    assert_int_equal(strncmp(r.text, "\xE2\x82\xAC\xE2\x82\xAC", 6), 0);
    assert_int_equal(strlen(r.text), 7);
    assert_true(r.u.generated_tokens >= 7);           /* 3 + 3 byte tokens, a letter, EOS */
    /* Each euro sign arrived whole, in one piece, though made of three tokens. */
    assert_string_equal(r.pieces[0], "\xE2\x82\xAC");
    assert_int_equal(strncmp(r.pieces[1], "\xE2\x82\xAC", 3), 0);
    llmr_model_close(m);
}

/* ---- end of generation, limits ---- */

static void end_of_sequence_token_ends_the_stream(void **state)
{
    REQUIRE_SHARED(path, STORIES);
    llmr_model *m = open_model(path, 0);
    llmr_logit_bias eos_first = {2, 100.0f};           /* stories260K: eos 2 */
    llmr_gen_opts o = greedy(30);
    o.sampling.logit_bias = &eos_first;
    o.sampling.n_logit_bias = 1;
    out r;
    pull(m, "Once upon a time", &o, &r);
    assert_int_equal(r.rc, LLMR_DONE);
    assert_string_equal(r.text, "");                  /* EOS renders as nothing */
    assert_int_equal(r.u.finish, LLMR_FINISH_STOP);
    assert_int_equal(r.u.generated_tokens, 1);
    o.ignore_eos = true;
    pull(m, "Once upon a time", &o, &r);
    assert_int_equal(r.u.generated_tokens, 30);
    assert_int_equal(r.u.finish, LLMR_FINISH_LENGTH);
    llmr_model_close(m);
}

static void max_tokens_and_a_full_context_end_with_length(void **state)
{
    REQUIRE_SHARED(path, STORIES);
    llmr_model *m = open_model(path, 24);
    llmr_gen_opts o = greedy(5);
    o.ignore_eos = true;
    out r;
    pull(m, "Once upon a time", &o, &r);
    assert_int_equal(r.u.generated_tokens, 5);
    assert_int_equal(r.u.finish, LLMR_FINISH_LENGTH);
    o.max_tokens = 0;                                  /* until the 24 positions are full */
    pull(m, "Once upon a time", &o, &r);
    assert_int_equal(r.rc, LLMR_DONE);
    assert_int_equal(r.u.finish, LLMR_FINISH_LENGTH);
    assert_int_equal(r.u.generated_tokens, 24 - 5 + 1);   /* the last one is never evaluated */
    llmr_model_close(m);
}

/* ---- constrained output ---- */

static const char *SCHEMA =
    "{\"type\": \"object\", \"properties\": {"
    "\"name\": {\"type\": \"string\", \"maxLength\": 12},"
    "\"age\": {\"type\": \"integer\"},"
    "\"happy\": {\"type\": \"boolean\"},"
    "\"pets\": {\"type\": \"array\", \"items\": {\"enum\": [\"cat\", \"dog\"]}, \"maxItems\": 3}},"
    "\"required\": [\"name\", \"age\", \"happy\"]}";

static void check_schema_json(const char *text)
{
    cJSON *j = cJSON_Parse(text);
    if (!j)
        fail_msg("not JSON: %s", text);
    assert_true(cJSON_IsObject(j));
    assert_true(cJSON_IsString(cJSON_GetObjectItem(j, "name")));
    cJSON *age = cJSON_GetObjectItem(j, "age");
    assert_true(cJSON_IsNumber(age));
    assert_true(age->valuedouble == floor(age->valuedouble));
    assert_true(cJSON_IsBool(cJSON_GetObjectItem(j, "happy")));
    cJSON *pets = cJSON_GetObjectItem(j, "pets");
    if (pets) {
        assert_true(cJSON_IsArray(pets));
        cJSON *e;
        cJSON_ArrayForEach(e, pets)
            assert_true(!strcmp(e->valuestring, "cat") || !strcmp(e->valuestring, "dog"));
    }
    cJSON_Delete(j);
}

static void json_schema_output_parses_whatever_the_weights(void **state)
{
    REQUIRE_SHARED(random_path, RANDOM_LLAMA2);
    REQUIRE_SHARED(stories_path, STORIES);
    const char *paths[] = {random_path, stories_path};
    for (int k = 0; k < 2; k++) {
        llmr_model *m = open_model(paths[k], 0);
        for (uint64_t seed = 1; seed <= 3; seed++) {
            llmr_gen_opts o = llmr_gen_defaults();
            o.max_tokens = 400;
            o.sampling.seed = seed;
            o.sampling.json_schema = SCHEMA;
            out r;
            pull(m, "Describe a person as JSON:", &o, &r);
            if (r.rc != LLMR_DONE)
                fail_msg("%s", r.err);
            if (r.u.finish != LLMR_FINISH_STOP)
                fail_msg("%s seed %d: %s after %u tokens: %s", paths[k], (int)seed,
                         llmr_finish_name(r.u.finish), r.u.generated_tokens, r.text);
            check_schema_json(r.text);
        }
        /* A complete grammar ends the stream even when EOS is ignored. */
        llmr_gen_opts o = llmr_gen_defaults();
        o.max_tokens = 0;
        o.ignore_eos = true;
        o.sampling.seed = 9;
        o.sampling.grammar = "root ::= \"yes\" | \"no\"";
        out r;
        pull(m, "Answer:", &o, &r);
        assert_int_equal(r.u.finish, LLMR_FINISH_STOP);
        assert_true(!strcmp(r.text, "yes") || !strcmp(r.text, "no"));
        llmr_model_close(m);
    }
}

/* ---- the prefix cache ---- */

static void shared_prompt_prefix_is_not_recomputed(void **state)
{
    REQUIRE_SHARED(path, STORIES);
    llmr_model *m = open_model(path, 0);
    const char *p1 = "Once upon a time, there was a little girl named Lily. She loved to play";
    const char *p2 = "Once upon a time, there was a little girl named Lily. She had a dog";
    llmr_gen_opts o = greedy(16);
    out a, b, c;
    pull(m, p1, &o, &a);
    assert_int_equal(a.u.cached_tokens, 0);
    pull(m, p2, &o, &b);
    assert_true(b.u.cached_tokens >= 10);             /* the shared sentence */
    assert_true(b.u.cached_tokens < b.u.prompt_tokens);
    o.no_cache = true;
    pull(m, p2, &o, &c);
    assert_int_equal(c.u.cached_tokens, 0);
    assert_string_equal(b.text, c.text);              /* the cache changes nothing but time */
    o.no_cache = false;
    pull(m, p2, &o, &c);                              /* the same prompt again: all but one */
    assert_int_equal(c.u.cached_tokens, c.u.prompt_tokens - 1);
    assert_string_equal(b.text, c.text);
    llmr_model_close(m);
}

/* ---- control from another thread ---- */

typedef struct ctl {
    llmr_stream *s;
    atomic_int   pieces, at_stop, paused_from, paused_to;
} ctl;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void *controller(void *arg)
{
    ctl *c = arg;
    while (atomic_load(&c->pieces) < 5)
        sleep_ms(1);
    llmr_stream_pause(c->s);
    sleep_ms(20);
    atomic_store(&c->paused_from, atomic_load(&c->pieces));
    sleep_ms(100);
    atomic_store(&c->paused_to, atomic_load(&c->pieces));
    llmr_stream_resume(c->s);
    while (atomic_load(&c->pieces) < 15)
        sleep_ms(1);
    llmr_stream_stop(c->s);
    atomic_store(&c->at_stop, atomic_load(&c->pieces));
    return NULL;
}

static void stop_pause_and_resume_from_another_thread(void **state)
{
    REQUIRE_SHARED(path, STORIES);
    llmr_model *m = open_model(path, 0);
    llmr_gen_opts o = llmr_gen_defaults();
    o.max_tokens = 0;
    o.ignore_eos = true;
    o.sampling.seed = 5;
    ctl c = {0};
    assert_int_equal(llmr_stream_open(m, "Once upon a time", &o, &c.s), LLMR_OK);
    pthread_t th;
    pthread_create(&th, NULL, controller, &c);
    llmr_piece p;
    int rc;
    while ((rc = llmr_stream_next(c.s, &p)) == LLMR_PIECE)
        atomic_fetch_add(&c.pieces, 1);
    pthread_join(th, NULL);
    assert_int_equal(rc, LLMR_DONE);
    assert_int_equal(llmr_stream_finish_reason(c.s), LLMR_FINISH_CANCELLED);
    assert_int_equal(atomic_load(&c.paused_to), atomic_load(&c.paused_from));
    assert_true(atomic_load(&c.pieces) - atomic_load(&c.at_stop) <= 1);
    llmr_usage u;
    llmr_stream_usage(c.s, &u);
    assert_true(u.generated_tokens < 400);            /* it did not run to the context's end */
    llmr_stream_close(c.s);
    /* The model is free again for the next request. */
    out r;
    llmr_gen_opts g = greedy(3);
    pull(m, "Once", &g, &r);
    assert_int_equal(r.rc, LLMR_DONE);
    llmr_model_close(m);
}

static void a_model_without_a_queue_runs_n_parallel_streams_at_a_time(void **state)
{
    REQUIRE_SHARED(path, STORIES);
    llmr_model_opts mo = llmr_model_defaults();
    mo.n_threads = 1;
    mo.n_parallel = 1;                                 /* one slot, and no waiting for it */
    mo.max_queued = -1;
    llmr_model *m;
    assert_int_equal(llmr_model_open(path, &mo, &m), LLMR_OK);
    llmr_gen_opts o = greedy(4);
    o.max_retries = 0;
    llmr_stream *a, *b;
    assert_int_equal(llmr_stream_open(m, "Once", &o, &a), LLMR_OK);
    assert_int_equal(llmr_stream_open(m, "Once", &o, &b), LLMR_ERR_BUSY);
    assert_non_null(strstr(llmr_stream_errmsg(b), "another stream"));
    llmr_stream_close(b);
    llmr_stream_close(a);                              /* mid-stream: frees the model */
    assert_int_equal(llmr_stream_open(m, "Once", &o, &b), LLMR_OK);
    llmr_stream_close(b);
    llmr_model_close(m);
}

/* ---- fallback ---- */

static void fallback_model_takes_over_before_the_first_piece(void **state)
{
    REQUIRE_SHARED(path, STORIES);
    llmr_model *small = open_model(path, 8);          /* too small for the prompt */
    llmr_model *big = open_model(path, 0);
    const char *prompt = "Once upon a time, there was a little girl named Lily.";
    llmr_gen_opts o = greedy(8);
    llmr_model *fb[] = {big};
    o.fallbacks = fb;
    o.n_fallbacks = 1;
    out r, direct;
    pull(small, prompt, &o, &r);
    assert_int_equal(r.rc, LLMR_DONE);
    assert_int_equal(r.u.attempts, 2);
    o.n_fallbacks = 0;
    pull(big, prompt, &o, &direct);
    assert_string_equal(r.text, direct.text);
    llmr_model_close(small);
    llmr_model_close(big);
}

static void loading_falls_back_to_the_backup_model(void **state)
{
    REQUIRE_SHARED(path, STORIES);
    const char *paths[] = {"models/might-fail-model.gguf", path};
    llmr_model *m;
    size_t which = 99;
    char err[512];
    assert_int_equal(llmr_model_open_first(paths, 2, NULL, &m, &which, err, sizeof err), LLMR_OK);
    assert_int_equal(which, 1);
    llmr_model_close(m);
    const char *none[] = {"models/might-fail-model.gguf", "models/backup-model.gguf"};
    assert_int_not_equal(llmr_model_open_first(none, 2, NULL, &m, &which, err, sizeof err),
                         LLMR_OK);
    assert_null(m);
    assert_non_null(strstr(err, "might-fail-model.gguf"));
    assert_non_null(strstr(err, "backup-model.gguf"));
}

/* ---- bad input ---- */

static void expect_open_error(llmr_model *m, const char *prompt, llmr_gen_opts o, int code,
                              const char *needle)
{
    llmr_stream *s;
    int rc = llmr_stream_open(m, prompt, &o, &s);
    assert_int_equal(rc, code);
    if (!strstr(llmr_stream_errmsg(s), needle))
        fail_msg("\"%s\" does not mention %s", llmr_stream_errmsg(s), needle);
    llmr_usage u;
    llmr_stream_usage(s, &u);
    assert_int_equal(u.generated_tokens, 0);
    llmr_stream_close(s);
}

static void bad_options_and_input_fail_before_generation(void **state)
{
    REQUIRE_SHARED(path, STORIES);
    llmr_model *m = open_model(path, 32);
    llmr_gen_opts o = llmr_gen_defaults();
    o.sampling.temperature = -0.5f;
    expect_open_error(m, "Once", o, LLMR_ERR_ARG, "temperature");
    o = llmr_gen_defaults();
    o.sampling.top_p = 1.5f;
    expect_open_error(m, "Once", o, LLMR_ERR_ARG, "top_p");
    o = llmr_gen_defaults();
    o.max_tokens = 2000000000;
    expect_open_error(m, "Once", o, LLMR_ERR_ARG, "max_tokens");
    o = llmr_gen_defaults();
    o.sampling.grammar = "root ::= [a-z";
    expect_open_error(m, "Once", o, LLMR_ERR_FORMAT, "line 1");
    o = llmr_gen_defaults();
    char long_prompt[2048] = "";
    for (int i = 0; i < 40; i++)
        strcat(long_prompt, "Once upon a time. ");
    expect_open_error(m, long_prompt, o, LLMR_ERR_CONTEXT, "context");
    llmr_model_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(greedy_generation_is_deterministic_and_matches_the_reference),
        cmocka_unit_test(same_seed_gives_the_same_text),
        cmocka_unit_test(stop_sequence_spanning_two_tokens_is_never_emitted),
        cmocka_unit_test(multibyte_character_split_across_tokens_arrives_whole),
        cmocka_unit_test(end_of_sequence_token_ends_the_stream),
        cmocka_unit_test(max_tokens_and_a_full_context_end_with_length),
        cmocka_unit_test(json_schema_output_parses_whatever_the_weights),
        cmocka_unit_test(shared_prompt_prefix_is_not_recomputed),
        cmocka_unit_test(stop_pause_and_resume_from_another_thread),
        cmocka_unit_test(a_model_without_a_queue_runs_n_parallel_streams_at_a_time),
        cmocka_unit_test(fallback_model_takes_over_before_the_first_piece),
        cmocka_unit_test(loading_falls_back_to_the_backup_model),
        cmocka_unit_test(bad_options_and_input_fail_before_generation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
