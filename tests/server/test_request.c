/* test_request.c - parsing of request bodies (src/server/request.c): every API's fields, the
 * defaults, and each kind of bad input naming its field with the right status. */
#include "test_util.h"

#include <math.h>

#include "server/request.h"

static int parse(srv_api api, const char *body, srv_req *r, srv_error *e)
{
    memset(e, 0, sizeof *e);
    return srv_req_parse(api, body, strlen(body), r, e);
}

static void openai_chat_fields_are_read(void **state)
{
    (void)state;
    srv_req r;
    srv_error e;
    int rc = parse(SRV_API_CHAT,
                   "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"S\"},"
                   "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
                   "{\"type\":\"text\",\"text\":\"b\"}]}],\"max_tokens\":7,"
                   "\"max_completion_tokens\":9,\"temperature\":0.5,\"top_p\":0.9,\"top_k\":3,"
                   "\"min_p\":0.1,\"stop\":[\"x\",\"yy\"],\"seed\":42,\"presence_penalty\":1,"
                   "\"frequency_penalty\":-1,\"logit_bias\":{\"12\":-100,\"3\":5},\"n\":1,"
                   "\"stream\":true,\"stream_options\":{\"include_usage\":true},\"user\":\"u\","
                   "\"response_format\":{\"type\":\"json_object\"}}",
                   &r, &e);
    assert_int_equal(rc, 0);
    assert_string_equal(r.model, "m");
    assert_int_equal(r.n_msgs, 2);
    assert_string_equal(r.msgs[0].role, "system");
    assert_string_equal(r.msgs[1].content, "ab");
    assert_int_equal(r.max_tokens, 9);   /* max_completion_tokens wins */
    assert_true(fabsf(r.temperature - 0.5f) < 1e-6f);
    assert_int_equal(r.top_k, 3);
    assert_int_equal(r.n_stop, 2);
    assert_string_equal(r.stop[1], "yy");
    assert_true(r.has_seed);
    assert_int_equal((int)r.seed, 42);
    assert_int_equal(r.n_bias, 2);
    assert_true(r.stream && r.include_usage && r.json_object);
    assert_string_equal(r.user, "u");
    srv_req_free(&r);
}

static void unset_fields_keep_their_markers(void **state)
{
    (void)state;
    srv_req r;
    srv_error e;
    assert_int_equal(parse(SRV_API_COMPLETION, "{\"prompt\":[\"hi\"]}", &r, &e), 0);
    assert_string_equal(r.prompt, "hi");
    assert_int_equal(r.max_tokens, -1);
    assert_true(isnan(r.temperature));
    assert_int_equal(r.top_k, -1);
    assert_false(r.stream);
    assert_false(r.has_seed);
    srv_req_free(&r);
}

static void json_schema_is_serialized(void **state)
{
    (void)state;
    srv_req r;
    srv_error e;
    assert_int_equal(parse(SRV_API_CHAT,
                           "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                           "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":"
                           "{\"name\":\"n\",\"schema\":{\"type\":\"object\"}}}}",
                           &r, &e),
                     0);
    assert_string_equal(r.json_schema, "{\"type\":\"object\"}");
    srv_req_free(&r);
}

static void ollama_streams_by_default_and_reads_options(void **state)
{
    (void)state;
    srv_req r;
    srv_error e;
    assert_int_equal(parse(SRV_API_OLLAMA_GEN,
                           "{\"model\":\"m\",\"prompt\":\"p\",\"system\":\"s\",\"raw\":true,"
                           "\"format\":\"json\",\"options\":{\"num_predict\":5,\"temperature\":0,"
                           "\"stop\":\"END\",\"seed\":1,\"top_k\":2}}",
                           &r, &e),
                     0);
    assert_true(r.stream && r.raw && r.json_object);
    assert_int_equal(r.max_tokens, 5);
    assert_string_equal(r.stop[0], "END");
    assert_string_equal(r.system, "s");
    srv_req_free(&r);
    assert_int_equal(parse(SRV_API_OLLAMA_CHAT,
                           "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                           "\"stream\":false,\"options\":{\"num_predict\":-1}}",
                           &r, &e),
                     0);
    assert_false(r.stream);
    assert_int_equal(r.max_tokens, -1);
    srv_req_free(&r);
}

static void websocket_chat_message(void **state)
{
    (void)state;
    srv_req r;
    srv_error e;
    assert_int_equal(parse(SRV_API_WS, "{\"type\":\"chat\",\"content\":\"hello\",\"max_tokens\":3}",
                           &r, &e),
                     0);
    assert_string_equal(r.prompt, "hello");
    assert_int_equal(r.max_tokens, 3);
    srv_req_free(&r);
    assert_int_equal(parse(SRV_API_WS, "{\"type\":\"chat\"}", &r, &e), 400);
    assert_string_equal(e.param, "content");
    srv_req_free(&r);
}

/* Each bad body gives 400 and names the field (or none for whole-body errors). */
static void bad_input_is_400_naming_the_field(void **state)
{
    (void)state;
    static const struct {
        srv_api api;
        const char *body, *param;
    } cases[] = {
        {SRV_API_CHAT, "{\"messages\": [", ""},
        {SRV_API_CHAT, "[1,2]", ""},
        {SRV_API_CHAT, "{\"messages\":[]} trailing", ""},
        {SRV_API_CHAT, "{}", "messages"},
        {SRV_API_CHAT, "{\"messages\":\"hi\"}", "messages"},
        {SRV_API_CHAT, "{\"messages\":[]}", "messages"},
        {SRV_API_CHAT, "{\"messages\":[{\"role\":\"king\",\"content\":\"x\"}]}", "messages[0].role"},
        {SRV_API_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":5}]}", "messages[0].content"},
        {SRV_API_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}",
         "messages[0].content"},
        {SRV_API_COMPLETION, "{\"prompt\":1}", "prompt"},
        {SRV_API_COMPLETION, "{\"prompt\":\"a\",\"temperature\":\"hot\"}", "temperature"},
        {SRV_API_COMPLETION, "{\"prompt\":\"a\",\"temperature\":3}", "temperature"},
        {SRV_API_COMPLETION, "{\"prompt\":\"a\",\"max_tokens\":0}", "max_tokens"},
        {SRV_API_COMPLETION, "{\"prompt\":\"a\",\"max_tokens\":1.5}", "max_tokens"},
        {SRV_API_COMPLETION, "{\"prompt\":\"a\",\"n\":3}", "n"},
        {SRV_API_COMPLETION, "{\"prompt\":\"a\",\"stop\":[\"\"]}", "stop"},
        {SRV_API_COMPLETION, "{\"prompt\":\"a\",\"stop\":7}", "stop"},
        {SRV_API_COMPLETION, "{\"prompt\":\"a\",\"logit_bias\":{\"x\":1}}", "logit_bias"},
        {SRV_API_COMPLETION, "{\"prompt\":\"a\",\"logit_bias\":{\"1\":500}}", "logit_bias"},
        {SRV_API_COMPLETION, "{\"prompt\":\"a\",\"seed\":\"s\"}", "seed"},
        {SRV_API_COMPLETION, "{\"prompt\":\"a\",\"stream\":1}", "stream"},
        {SRV_API_COMPLETION, "{\"prompt\":\"a\",\"response_format\":{\"type\":\"xml\"}}",
         "response_format.type"},
        {SRV_API_OLLAMA_GEN, "{\"prompt\":\"a\",\"format\":\"yaml\"}", "format"},
        {SRV_API_OLLAMA_GEN, "{\"prompt\":\"a\",\"options\":[]}", "options"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        srv_req r;
        srv_error e;
        int rc = parse(cases[i].api, cases[i].body, &r, &e);
        if (rc != 400 || strcmp(e.param, cases[i].param))
            fail_msg("case %zu (%s): status %d, param '%s', expected 400 and '%s' (%s)", i,
                     cases[i].body, rc, e.param, cases[i].param, e.msg);
        assert_true(e.msg[0] != 0);
        srv_req_free(&r);
    }
}

static void invalid_utf8_is_refused_with_its_offset(void **state)
{
    (void)state;
    static const char *bad[] = {
        "{\"prompt\":\"\xff\"}", "{\"prompt\":\"\xc0\xaf\"}",          /* overlong */
        "{\"prompt\":\"\xed\xa0\x80\"}",                               /* surrogate */
        "{\"prompt\":\"\xf4\x90\x80\x80\"}",                           /* past U+10FFFF */
        "{\"prompt\":\"\xe2\x82\"}",                                   /* truncated */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        srv_req r;
        srv_error e;
        assert_int_equal(parse(SRV_API_COMPLETION, bad[i], &r, &e), 400);
        assert_non_null(strstr(e.msg, "UTF-8"));
        assert_non_null(strstr(e.msg, "offset 11"));
        srv_req_free(&r);
    }
    size_t off;
    assert_true(srv_utf8_valid("h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 12, &off));
}

/* llmr's "strategy" extension is read on every API and must be a string. */
static void strategy_is_read_on_every_api(void **state)
{
    (void)state;
    srv_req r;
    srv_error e;
    assert_int_equal(parse(SRV_API_COMPLETION, "{\"prompt\":\"x\",\"strategy\":\"random\"}",
                           &r, &e), 0);
    assert_string_equal(r.strategy, "random");
    srv_req_free(&r);
    assert_int_equal(parse(SRV_API_OLLAMA_GEN, "{\"prompt\":\"x\",\"strategy\":\"balanced\"}",
                           &r, &e), 0);
    assert_string_equal(r.strategy, "balanced");
    srv_req_free(&r);
    assert_int_equal(parse(SRV_API_WS, "{\"type\":\"chat\",\"content\":\"x\"}", &r, &e), 0);
    assert_null(r.strategy);
    srv_req_free(&r);
    assert_int_equal(parse(SRV_API_CHAT, "{\"messages\":[],\"strategy\":1}", &r, &e), 400);
    assert_string_equal(e.param, "strategy");
    srv_req_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(openai_chat_fields_are_read),
        cmocka_unit_test(unset_fields_keep_their_markers),
        cmocka_unit_test(json_schema_is_serialized),
        cmocka_unit_test(ollama_streams_by_default_and_reads_options),
        cmocka_unit_test(websocket_chat_message),
        cmocka_unit_test(bad_input_is_400_naming_the_field),
        cmocka_unit_test(invalid_utf8_is_refused_with_its_offset),
        cmocka_unit_test(strategy_is_read_on_every_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
