/* test_toolcall.c - tool calls: reading them out of model text in each family's format
 * (broken calls come back as text), the tools array's checks, the formats of real chat
 * templates, and grammars for tool_choice required / a named function whose sampled calls
 * (random logits) parse and have arguments that satisfy the tool's schema. */
#include "test_util.h"
#include "core/buf.h"
#include "sampler/sampler.h"
#include "stream/toolcall.h"

#include <cjson/cJSON.h>

static const char TOOLS[] =
    "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"w\","
    "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\","
    "\"maxLength\":10},\"days\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":7}},"
    "\"required\":[\"city\",\"days\"]}}},"
    "{\"type\":\"function\",\"function\":{\"name\":\"now\"}},"
    "{\"type\":\"function\",\"function\":{\"name\":\"pick\",\"parameters\":{\"type\":\"object\","
    "\"properties\":{\"color\":{\"enum\":[\"red\",\"blue\"]},\"at\":{\"type\":\"string\","
    "\"format\":\"date\"}},\"required\":[\"color\"],\"additionalProperties\":false}}}]";

static llmri_tools *tools(void)
{
    llmri_tools *t;
    llmr_err e;
    if (llmri_tools_parse(TOOLS, 100, &t, &e))
        fail_msg("%s", e.msg);
    return t;
}

static llmri_tool_calls parse(const char *text, llmri_tc_format f, const llmri_tools *t)
{
    llmri_tool_calls tc;
    llmr_err e;
    assert_int_equal(llmri_toolcall_parse(text, strlen(text), f, t, &tc, &e), LLMR_OK);
    return tc;
}

static void hermes_and_qwen_blocks(void **st)
{
    llmri_tools *t = tools();
    llmri_tool_calls tc = parse("Let me look.\n<tool_call>\n{\"name\": \"get_weather\", "
                                "\"arguments\": {\"city\": \"Paris\", \"days\": 2}}\n"
                                "</tool_call>\n<tool_call>\n{\"name\": \"now\", \"arguments\": "
                                "{}}\n</tool_call>", LLMRI_TC_HERMES, t);
    assert_int_equal(tc.n, 2);
    assert_string_equal(tc.calls[0].name, "get_weather");
    assert_string_equal(tc.calls[0].arguments, "{\"city\":\"Paris\",\"days\":2}");
    assert_string_equal(tc.calls[1].name, "now");
    assert_string_equal(tc.content, "Let me look.");
    llmri_tool_calls_free(&tc);
    /* arguments as a JSON string, a block the model did not close before it stopped */
    tc = parse("<tool_call>{\"name\":\"now\",\"arguments\":\"{\\\"tz\\\":\\\"UTC\\\"}\"}",
               LLMRI_TC_AUTO, t);
    assert_int_equal(tc.n, 1);
    assert_string_equal(tc.calls[0].arguments, "{\"tz\":\"UTC\"}");
    assert_string_equal(tc.content, "");
    llmri_tool_calls_free(&tc);
    /* broken calls are text, all of it */
    static const char *const broken[] = {
        "<tool_call>{\"name\": \"now\", \"arguments\": {</tool_call>",
        "<tool_call>{\"name\": \"rm_rf\", \"arguments\": {}}</tool_call>",     /* not a tool */
        "<tool_call>{\"arguments\": {}}</tool_call>",
        "<tool_call>{\"name\": \"now\", \"arguments\": [1]}</tool_call>",
        "<tool_call>{\"name\": \"now\"} trailing</tool_call>",
        "<tool_call>{\"name\": \"now\"}</tool_call><tool_call>nope</tool_call>",
    };
    for (size_t i = 0; i < sizeof broken / sizeof *broken; i++) {
        tc = parse(broken[i], LLMRI_TC_HERMES, t);
        if (tc.n != 0 || strcmp(tc.content, broken[i]))
            fail_msg("'%s': %zu calls, content '%s'", broken[i], tc.n, tc.content);
        llmri_tool_calls_free(&tc);
    }
    llmri_tools_free(t);
}

static void llama3_mistral_and_generic(void **st)
{
    llmri_tools *t = tools();
    llmri_tool_calls tc = parse(" {\"name\": \"get_weather\", \"parameters\": {\"city\": "
                                "\"Oslo\", \"days\": 1}}", LLMRI_TC_LLAMA3, t);
    assert_int_equal(tc.n, 1);
    assert_string_equal(tc.calls[0].arguments, "{\"city\":\"Oslo\",\"days\":1}");
    llmri_tool_calls_free(&tc);
    tc = parse("<|python_tag|>{\"name\": \"now\", \"parameters\": {}}; {\"name\": \"pick\", "
               "\"parameters\": {\"color\": \"red\"}}", LLMRI_TC_AUTO, t);
    assert_int_equal(tc.n, 2);
    assert_string_equal(tc.calls[1].name, "pick");
    llmri_tool_calls_free(&tc);
    static const char *const text[] = {
        "The answer is 4.", "{\"answer\": 42}", "<|python_tag|>brave_search.call(query=\"x\")",
        "{\"name\": \"now\", \"parameters\": {}} and more",
    };
    for (size_t i = 0; i < sizeof text / sizeof *text; i++) {
        tc = parse(text[i], LLMRI_TC_LLAMA3, t);
        if (tc.n != 0 || strcmp(tc.content, text[i]))
            fail_msg("'%s': %zu calls", text[i], tc.n);
        llmri_tool_calls_free(&tc);
    }
    tc = parse("Sure. [TOOL_CALLS][{\"name\": \"pick\", \"arguments\": {\"color\": \"blue\"}, "
               "\"id\": \"a1B2c3D4e\"}, {\"name\": \"now\", \"arguments\": {}}]", LLMRI_TC_AUTO, t);
    assert_int_equal(tc.n, 2);
    assert_string_equal(tc.calls[0].id, "a1B2c3D4e");
    assert_null(tc.calls[1].id);
    assert_string_equal(tc.content, "Sure.");
    llmri_tool_calls_free(&tc);
    tc = parse("[TOOL_CALLS][{\"name\": \"pick\", \"arguments\": {\"color\": ", LLMRI_TC_MISTRAL,
               t);
    assert_int_equal(tc.n, 0);
    llmri_tool_calls_free(&tc);
    tc = parse("{\"tool_calls\": [{\"name\": \"now\", \"arguments\": {}}]}", LLMRI_TC_AUTO, t);
    assert_int_equal(tc.n, 1);
    llmri_tool_calls_free(&tc);
    tc = parse("{\"tool_calls\": [{\"id\": \"call_1\", \"type\": \"function\", \"function\": "
               "{\"name\": \"now\", \"arguments\": \"{}\"}}]}", LLMRI_TC_GENERIC, t);
    assert_int_equal(tc.n, 1);
    assert_string_equal(tc.calls[0].id, "call_1");
    assert_string_equal(tc.calls[0].name, "now");
    llmri_tool_calls_free(&tc);
    tc = parse("{\"tool_call\": {\"name\": \"now\"}}", LLMRI_TC_GENERIC, NULL);
    assert_int_equal(tc.n, 1);
    assert_string_equal(tc.calls[0].arguments, "{}");
    llmri_tool_calls_free(&tc);
    /* hostile: nesting past the JSON bound, a huge unclosed string */
    llmr_buf b = {0};
    llmri_buf_puts(&b, "<tool_call>{\"name\":\"now\",\"arguments\":{\"a\":");
    for (int i = 0; i < 100000; i++)
        llmri_buf_puts(&b, "[");
    tc = parse(llmri_buf_str(&b), LLMRI_TC_AUTO, t);
    assert_int_equal(tc.n, 0);
    assert_int_equal(strlen(tc.content), b.len);
    llmri_tool_calls_free(&tc);
    llmri_buf_free(&b);
    llmri_tools_free(t);
}

static void formats_of_real_templates(void **st)
{
    static const struct { const char *file; llmri_tc_format f; } cases[] = {
        {"NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use", LLMRI_TC_HERMES},
        {"Qwen-Qwen2.5-7B-Instruct", LLMRI_TC_HERMES},
        {"meta-llama-Llama-3.1-8B-Instruct", LLMRI_TC_LLAMA3},
        {"meta-llama-Llama-3.2-3B-Instruct", LLMRI_TC_LLAMA3},
        {"meta-llama-Llama-3.3-70B-Instruct", LLMRI_TC_LLAMA3},
        {"mistralai-Mistral-Nemo-Instruct-2407", LLMRI_TC_MISTRAL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "chat-templates/llama.cpp/%s.jinja", cases[i].file);
        REQUIRE_SHARED(path, rel);
        llmr_buf b = {0};
        assert_int_equal(llmri_buf_read_path(&b, path), LLMR_OK);
        llmri_tc_format f = llmri_toolcall_format_of_template(b.p);
        if (f != cases[i].f)
            fail_msg("%s: %s, expected %s", cases[i].file, llmri_toolcall_format_name(f),
                     llmri_toolcall_format_name(cases[i].f));
        llmri_buf_free(&b);
    }
    assert_int_equal(llmri_toolcall_format_of_template("{{ messages }}"), LLMRI_TC_GENERIC);
}

static void tools_array_errors_name_the_entry(void **st)
{
    static const struct { const char *json; const char *says; } bad[] = {
        {"{}", "array"},
        {"[1]", "tools[0]"},
        {"[{\"type\":\"function\"}]", "tools[0].function"},
        {"[{\"type\":\"function\",\"function\":{\"name\":\"a b\"}}]", "tools[0].function.name"},
        {"[{\"type\":\"function\",\"function\":{\"name\":\"f\"}},{\"type\":\"function\","
         "\"function\":{\"name\":\"f\"}}]", "tools[1].function.name"},
        {"[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":\"x\"}}]",
         "tools[0].function.parameters"},
        {"[{\"type\":\"retrieval\",\"function\":{\"name\":\"f\"}}]", "tools[0]"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        llmri_tools *t = NULL;
        llmr_err e;
        int rc = llmri_tools_parse(bad[i].json, 100, &t, &e);
        if (rc != LLMR_ERR_FORMAT || !strstr(e.msg, bad[i].says))
            fail_msg("%s: %d '%s', expected naming %s", bad[i].json, rc, e.msg, bad[i].says);
        assert_null(t);
    }
    /* 10 000 tools: parsed, a limit refuses them, a grammar for one named tool is quick */
    llmr_buf b = {0};
    llmri_buf_puts(&b, "[");
    for (int i = 0; i < 10000; i++)
        llmri_buf_printf(&b, "%s{\"type\":\"function\",\"function\":{\"name\":\"f%d\","
                             "\"parameters\":{\"type\":\"object\",\"properties\":{\"x\":"
                             "{\"type\":\"integer\"}}}}}", i ? "," : "", i);
    llmri_buf_puts(&b, "]");
    llmri_tools *t;
    llmr_err e;
    assert_int_equal(llmri_tools_parse(b.p, 1000, &t, &e), LLMR_ERR_TOO_BIG);
    assert_int_equal(llmri_tools_parse(b.p, 10000, &t, &e), LLMR_OK);
    assert_int_equal(llmri_tools_find(t, "f9999"), 9999);
    char *g;
    assert_int_equal(llmri_toolcall_grammar(t, "f4321", LLMRI_TC_HERMES, false, &g, &e),
                     LLMR_OK);
    assert_non_null(strstr(g, "\\\"f4321\\\""));
    free(g);
    assert_int_equal(llmri_toolcall_grammar(t, NULL, LLMRI_TC_GENERIC, true, &g, &e), LLMR_OK);
    assert_int_equal(llmr_grammar_validate(g, e.msg, sizeof e.msg), LLMR_OK);
    free(g);
    assert_int_equal(llmri_toolcall_grammar(t, "nope", LLMRI_TC_HERMES, false, &g, &e),
                     LLMR_ERR_NOT_FOUND);
    llmri_tools_free(t);
    llmri_buf_free(&b);
    /* a tool whose schema is outside the subset: the error names where */
    assert_int_equal(llmri_tools_parse("[{\"type\":\"function\",\"function\":{\"name\":\"a\"}},"
                                       "{\"type\":\"function\",\"function\":{\"name\":\"b\","
                                       "\"parameters\":{\"type\":\"object\",\"not\":{}}}}]",
                                       10, &t, &e), LLMR_OK);
    assert_int_equal(llmri_toolcall_grammar(t, NULL, LLMRI_TC_HERMES, false, &g, &e),
                     LLMR_ERR_UNSUPPORTED);
    assert_non_null(strstr(e.msg, "tools/1/function/parameters"));
    assert_non_null(strstr(e.msg, "\"not\""));
    llmri_tools_free(t);
}

/* ---- grammar-constrained calls, random logits ---------------------------------------------- */

enum { V = 256 + 1 };
static llmr_bytes vocab[V];
static char bytes[256];

static char *sample(const char *gbnf, uint64_t seed)
{
    for (int i = 0; i < 256; i++) {
        bytes[i] = (char)i;
        vocab[i] = (llmr_bytes){&bytes[i], 1};
    }
    vocab[256] = (llmr_bytes){"", 0};
    const int32_t eos = 256;
    llmr_sampling o = llmr_sampling_defaults();
    o.top_k = 0;
    o.top_p = 1;
    o.min_p = 0;
    o.seed = seed;
    llmr_sampler *s;
    llmr_err e;
    if (llmri_sampler_create(&s, V, &o, gbnf, vocab, &eos, 1, &e))
        fail_msg("%s", e.msg);
    llmr_rng r;
    llmri_rng_seed(&r, seed);
    float l[V];
    llmr_buf out = {0};
    bool done = false;
    for (int k = 0; k < 4000 && !done; k++) {
        for (int i = 0; i < V; i++)
            l[i] = (float)(llmri_rng_uniform(&r) * 8);
        /* favour the structure a little so that calls finish within the budget */
        l['"'] += 3;
        l['}'] += 3;
        l[256] += 3;
        int32_t t = llmri_sampler_sample(s, l, &e);
        if (t < 0 || llmri_sampler_accept(s, t, &e))
            fail_msg("%s after '%s'", e.msg, llmri_buf_str(&out));
        if (t == eos)
            break;
        llmri_buf_append(&out, vocab[t].ptr, 1);
        done = llmri_sampler_grammar_done(s);
    }
    llmri_sampler_free(s);
    return llmri_buf_take(&out);
}

static void check_args(const llmri_tool_call *c)
{
    cJSON *a = cJSON_Parse(c->arguments);
    assert_true(cJSON_IsObject(a));
    if (!strcmp(c->name, "get_weather")) {
        const cJSON *city = cJSON_GetObjectItem(a, "city"), *days = cJSON_GetObjectItem(a, "days");
        if (!cJSON_IsString(city) || !cJSON_IsNumber(days) || days->valuedouble < 1 ||
            days->valuedouble > 7 || days->valuedouble != (int)days->valuedouble)
            fail_msg("get_weather(%s)", c->arguments);
    } else if (!strcmp(c->name, "pick")) {
        const cJSON *color = cJSON_GetObjectItem(a, "color"), *k;
        if (!cJSON_IsString(color) || (strcmp(color->valuestring, "red") &&
                                       strcmp(color->valuestring, "blue")))
            fail_msg("pick(%s)", c->arguments);
        cJSON_ArrayForEach(k, a)
            if (strcmp(k->string, "color") && strcmp(k->string, "at"))
                fail_msg("pick(%s): extra key", c->arguments);
    }
    cJSON_Delete(a);
}

static void required_and_named_calls_are_valid_whatever_the_weights(void **st)
{
    llmri_tools *t = tools();
    static const llmri_tc_format fmts[] = {LLMRI_TC_HERMES, LLMRI_TC_LLAMA3, LLMRI_TC_MISTRAL,
                                           LLMRI_TC_GENERIC};
    int calls = 0;
    for (int fi = 0; fi < 4; fi++)
        for (int named = 0; named < 2; named++)
            for (int par = 0; par < 2; par++) {
                char *g;
                llmr_err e;
                const char *only = named ? "get_weather" : NULL;
                assert_int_equal(llmri_toolcall_grammar(t, only, fmts[fi], par, &g, &e),
                                 LLMR_OK);
                for (uint64_t seed = 1; seed <= 6; seed++) {
                    char *txt = sample(g, seed * 31 + (uint64_t)fi);
                    if (getenv("LLMR_TEST_VERBOSE"))
                        print_message("%s\n", txt);
                    llmri_tool_calls tc = parse(txt, fmts[fi], t);
                    if (tc.n == 0 || (!par && tc.n != 1))
                        fail_msg("%s%s: %zu calls in '%s'", llmri_toolcall_format_name(fmts[fi]),
                                 par ? " parallel" : "", tc.n, txt);
                    for (size_t k = 0; k < tc.n; k++) {
                        if (named)
                            assert_string_equal(tc.calls[k].name, "get_weather");
                        check_args(&tc.calls[k]);
                        calls++;
                    }
                    llmri_tool_calls_free(&tc);
                    free(txt);
                }
                free(g);
            }
    assert_true(calls >= 4 * 2 * 2 * 6);
    llmri_tools_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hermes_and_qwen_blocks),
        cmocka_unit_test(llama3_mistral_and_generic),
        cmocka_unit_test(formats_of_real_templates),
        cmocka_unit_test(tools_array_errors_name_the_entry),
        cmocka_unit_test(required_and_named_calls_are_valid_whatever_the_weights),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
