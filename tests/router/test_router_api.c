/* test_router_api.c - the router calls a front end is made of (llmr.h, "Router"):
 * llmr_router_chat_open (a conversation reaches a chat backend whole, a completions backend
 * and a local model in their own forms: the template, or plain text for raw_without_template),
 * llmr_router_model_id, llmr_router_add_source under the config's rules, the model defaults
 * and batch figures a server sets and reads, and max_prompt_tokens. Remote backends are the
 * mock OpenAI servers of oai_mock.py; local models need ../shared. */
#include "test_util.h"
#include "mock_server.h"
#include "llmr.h"

#include <cjson/cJSON.h>
#include <sys/stat.h>
#include <unistd.h>

static mock_server A;

static int setup(void **st)
{
    (void)st;
    if (!mock_spawn(&A, "A", NULL) || !mock_wait(&A)) {
        print_message("skipped: python3 or tests/router/oai_mock.py is unavailable\n");
        return -1;
    }
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    mock_stop(&A);
    return 0;
}

/* Reads stream s to its end into text (n bytes); the code (LLMR_OK when it ended well). */
static int drain(llmr_stream *s, char *text, size_t n)
{
    size_t at = 0;
    llmr_piece p;
    int rc;
    text[0] = 0;
    while ((rc = llmr_stream_next(s, &p)) == LLMR_PIECE) {
        assert_true(at + p.len < n);
        memcpy(text + at, p.text, p.len);
        text[at += p.len] = 0;
    }
    return rc == LLMR_DONE ? LLMR_OK : rc;
}

static const llmr_chat_msg CONV[] = {
    {"system", "Be brief."}, {"user", "Hello there"}, {"assistant", "Hi."},
    {"user", "Once upon a time"},
};

static void a_conversation_reaches_each_backend_in_its_form(void **st)
{
    (void)st;
    char json[2048];
    snprintf(json, sizeof json,
             "{\"backends\": {\"a\": {\"url\": \"%s\"}}, \"models\": ["
             "{\"id\": \"chat\", \"backend\": \"a\", \"remote_model\": \"roles\", \"api\": \"chat\"},"
             "{\"id\": \"compl\", \"backend\": \"a\", \"remote_model\": \"ok\", "
             "\"api\": \"completions\"}]}", A.url);
    llmr_router *r = NULL;
    assert_int_equal(llmr_router_open_json(json, "t", &r), LLMR_OK);
    llmr_route_opts ro = llmr_route_defaults();
    ro.model = "chat";
    ro.strict = true;
    llmr_stream *s = NULL;
    char text[1024];
    assert_int_equal(llmr_router_chat_open(r, CONV, 4, &ro, NULL, &s), LLMR_OK);
    assert_int_equal(drain(s, text, sizeof text), LLMR_OK);
    llmr_stream_close(s);
    /* the backend saw all four messages, in order, with their roles */
    assert_non_null(strstr(text, "[A]"));
    assert_non_null(strstr(text, "system user assistant user"));
    /* a completions backend gets the conversation as the plain fallback's text */
    ro.model = "compl";
    assert_int_equal(llmr_router_chat_open(r, CONV, 4, &ro, NULL, &s), LLMR_OK);
    assert_int_equal(drain(s, text, sizeof text), LLMR_OK);
    llmr_stream_close(s);
    assert_non_null(strstr(text, "System: Be brief."));
    assert_non_null(strstr(text, "User: Once upon a time"));
    assert_non_null(strstr(text, "Assistant:"));
    /* bad arguments are errors, not crashes */
    llmr_chat_msg bad = {"user", NULL};
    assert_int_equal(llmr_router_chat_open(r, &bad, 1, &ro, NULL, &s), LLMR_ERR_ARG);
    assert_null(s);
    assert_int_equal(llmr_router_chat_open(r, NULL, 2, &ro, NULL, &s), LLMR_ERR_ARG);
    llmr_router_close(r);
}

/* Runs `prompt` on model m directly, greedy, as the reference for a routed request. */
static void direct(llmr_model *m, const char *prompt, bool add_bos, bool special, char *text,
                   size_t n)
{
    llmr_gen_opts o = llmr_gen_defaults();
    o.sampling.temperature = 0;
    o.max_tokens = 24;
    o.add_bos = add_bos;
    o.parse_special = special;
    llmr_stream *s = NULL;
    assert_int_equal(llmr_stream_open(m, prompt, &o, &s), LLMR_OK);
    assert_int_equal(drain(s, text, n), LLMR_OK);
    llmr_stream_close(s);
}

static void routed(llmr_router *r, const llmr_chat_msg *msgs, size_t n_msgs, bool raw,
                   char *text, size_t n)
{
    llmr_route_opts ro = llmr_route_defaults();
    ro.raw_without_template = raw;
    llmr_gen_opts o = llmr_gen_defaults();
    o.sampling.temperature = 0;
    o.max_tokens = 24;
    llmr_stream *s = NULL;
    assert_int_equal(llmr_router_chat_open(r, msgs, n_msgs, &ro, &o, &s), LLMR_OK);
    assert_int_equal(drain(s, text, n), LLMR_OK);
    llmr_stream_close(s);
}

static void a_local_model_answers_the_conversation_it_would_answer_alone(void **st)
{
    (void)st;
    REQUIRE_SHARED(path, "models/stories260K.gguf");
    char json[1024];
    snprintf(json, sizeof json, "{\"models\": [{\"id\": \"tiny\", \"source\": \"%s\"}]}", path);
    llmr_router *r = NULL;
    assert_int_equal(llmr_router_open_json(json, "t", &r), LLMR_OK);
    llmr_model *m = NULL;
    assert_int_equal(llmr_model_open(path, NULL, &m), LLMR_OK);
    char want[2048], got[2048];
    /* the template's text (stories260K has none: the plain fallback, BOS added) */
    char *prompt = NULL, eb[256];
    assert_int_equal(llmr_chat_prompt(m, CONV, 4, &prompt, eb, sizeof eb), LLMR_OK);
    direct(m, prompt, true, true, want, sizeof want);
    free(prompt);
    routed(r, CONV, 4, false, got, sizeof got);
    assert_string_equal(got, want);
    assert_true(strlen(got) > 0);
    /* ollama's generate: without a template, system and prompt as plain text */
    const llmr_chat_msg gen[] = {{"system", "A story."}, {"user", "Once upon a time"}};
    direct(m, "A story.\n\nOnce upon a time", true, false, want, sizeof want);
    routed(r, gen, 2, true, got, sizeof got);
    assert_string_equal(got, want);
    llmr_model_close(m);
    llmr_router_close(r);
}

static void names_sources_defaults_and_figures(void **st)
{
    (void)st;
    REQUIRE_SHARED(path, "models/stories260K.gguf");
    char dir[] = "/tmp/llmr_rapi_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char copy[300], json[1024];
    snprintf(copy, sizeof copy, "%s/story.gguf", dir);
    size_t len = 0;
    char *data = slurp(path, &len);
    assert_non_null(data);
    FILE *f = fopen(copy, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    free(data);

    /* no model_dirs: a path is refused by the config, an unknown name is not found */
    snprintf(json, sizeof json, "{\"models\": [{\"id\": \"tiny\", \"source\": \"%s\"}]}", path);
    llmr_router *r = NULL;
    assert_int_equal(llmr_router_open_json(json, "t", &r), LLMR_OK);
    char id[64];
    bool added = true, loaded = true;
    assert_int_equal(llmr_router_add_source(r, copy, id, sizeof id, &added), LLMR_ERR_DENIED);
    assert_non_null(strstr(llmr_router_errmsg(r), "model_dirs"));
    assert_int_equal(llmr_router_add_source(r, "nosuch", id, sizeof id, &added),
                     LLMR_ERR_NOT_FOUND);
    assert_int_equal(llmr_router_add_source(r, "tiny:latest", id, sizeof id, &added), LLMR_OK);
    assert_string_equal(id, "tiny");
    assert_false(added);
    assert_true(llmr_router_model_id(r, "tiny.gguf", id, sizeof id, &loaded));
    assert_string_equal(id, "tiny");
    assert_false(loaded);
    assert_false(llmr_router_model_id(r, "other", id, sizeof id, NULL));
    llmr_router_close(r);

    /* with model_dirs: the file is added by its name, once */
    snprintf(json, sizeof json, "{\"model_dirs\": [\"%s\"], \"models\": [{\"id\": \"tiny\", "
             "\"source\": \"%s\"}]}", dir, path);
    assert_int_equal(llmr_router_open_json(json, "t", &r), LLMR_OK);
    assert_int_equal(llmr_router_add_source(r, copy, id, sizeof id, &added), LLMR_OK);
    assert_string_equal(id, "story");
    assert_true(added);
    assert_int_equal(llmr_router_add_source(r, "story.gguf", id, sizeof id, &added), LLMR_OK);
    assert_string_equal(id, "story");
    assert_false(added);

    /* defaults: two slots of 64 positions; the figures count what ran */
    llmr_model_opts mo = llmr_model_defaults();
    mo.n_parallel = 2;
    mo.n_ctx = 64;
    mo.n_threads = 1;
    assert_int_equal(llmr_router_set_model_defaults(r, &mo), LLMR_OK);
    mo.n_parallel = 65;
    assert_int_equal(llmr_router_set_model_defaults(r, &mo), LLMR_ERR_ARG);
    llmr_gen_opts o = llmr_gen_defaults();
    o.sampling.temperature = 0;
    o.max_tokens = 5;
    llmr_stream *s = NULL;
    char text[512];
    assert_int_equal(llmr_router_stream_open(r, "Once upon a time", NULL, &o, &s), LLMR_OK);
    assert_int_equal(drain(s, text, sizeof text), LLMR_OK);
    llmr_stream_close(s);
    llmr_batch_stats bs;
    llmr_router_batch_stats(r, &bs);
    assert_int_equal(bs.n_slots, 2);
    assert_int_equal(bs.tokens_out, 5);
    assert_int_equal(bs.active, 0);
    /* a prompt of 80 tokens does not fit a slot of 64; max_prompt_tokens bounds it lower */
    char longp[800] = "";
    for (int i = 0; i < 80; i++)
        strcat(longp, "the ");
    assert_int_equal(llmr_router_stream_open(r, longp, NULL, &o, &s), LLMR_ERR_CONTEXT);
    llmr_stream_close(s);
    o.max_prompt_tokens = 3;
    assert_int_equal(llmr_router_stream_open(r, "Once upon a time", NULL, &o, &s),
                     LLMR_ERR_CONTEXT);
    assert_non_null(strstr(llmr_stream_errmsg(s), "at most 3"));
    llmr_stream_close(s);
    llmr_router_close(r);
    unlink(copy);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_conversation_reaches_each_backend_in_its_form),
        cmocka_unit_test(a_local_model_answers_the_conversation_it_would_answer_alone),
        cmocka_unit_test(names_sources_defaults_and_figures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
