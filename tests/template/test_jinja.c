/* test_jinja.c - the interpreter construct by construct, against what Python's jinja2 renders
 * (jinja_cases.h), and failures that must name what went wrong. */
#include "test_util.h"
#include "llmr.h"

#include "jinja_cases.h"

static int render(const char *tmpl, const char *vars, char **out, char *err, size_t errlen)
{
    llmr_template *t = NULL;
    int rc = llmr_template_open(tmpl, &t);
    *out = NULL;
    if (rc == LLMR_OK) {
        /* vars is a JSON object: its keys become template variables */
        size_t n = strlen(vars) + 32;
        char *json = malloc(n);
        snprintf(json, n, "{\"messages\": [], %s", vars[1] == '}' ? "" : vars + 1);
        if (vars[1] == '}')
            snprintf(json, n, "{\"messages\": []}");
        /* `messages` in vars overrides the empty default: the object's keys are read in
         * order and messages is taken from the key named so, so put vars' own last */
        if (strstr(vars, "\"messages\""))
            snprintf(json, n, "%s", vars);
        llmr_template_opts o = llmr_template_defaults();
        o.add_generation_prompt = false;
        o.date = "2024-07-26";
        rc = llmr_template_render_json(t, json, &o, out, NULL);
        free(json);
    }
    snprintf(err, errlen, "%s", llmr_template_errmsg(t));
    llmr_template_close(t);
    return rc;
}

static void renders_like_jinja2(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof ok_cases / sizeof ok_cases[0]; i++) {
        const jcase *c = &ok_cases[i];
        char *out, err[600];
        int rc = render(c->tmpl, c->vars, &out, err, sizeof err);
        if (rc != LLMR_OK) {
            print_message("case %s: failed: %s\n", c->name, err);
            failed++;
        } else if (strcmp(out, c->expect) != 0) {
            print_message("case %s:\n  want [%s]\n  got  [%s]\n", c->name, c->expect, out);
            failed++;
        }
        free(out);
    }
    assert_int_equal(failed, 0);
}

/* Syntax errors are worded our own way (they name the line and the construct); runtime
 * errors carry jinja2's own message. */
static bool is_syntax_case(const char *name)
{
    static const char *const syn[] = {"unknown_tag", "unterminated_var", "unterminated_block",
                                      "unclosed_for", "unterminated_comment",
                                      "unterminated_string", "stray_endif", "bad_token",
                                      "break_outside_loop", "chained_tests",
                                      "if_test_has_no_inline_if", NULL};
    for (int i = 0; syn[i]; i++)
        if (!strcmp(syn[i], name))
            return true;
    return false;
}

static void failures_carry_a_clear_message(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof err_cases / sizeof err_cases[0]; i++) {
        const jcase *c = &err_cases[i];
        char *out, err[600];
        int rc = render(c->tmpl, c->vars, &out, err, sizeof err);
        bool ok = rc == LLMR_ERR_TEMPLATE && out == NULL && strstr(err, "line ");
        if (ok && is_syntax_case(c->name))
            ok = strstr(err, "syntax error") != NULL;
        else if (ok)
            ok = strstr(err, c->expect) != NULL;
        if (!ok) {
            print_message("case %s: rc %d, message [%s], jinja2 says [%s]\n", c->name, rc, err,
                          c->expect);
            failed++;
        }
        free(out);
    }
    assert_int_equal(failed, 0);
}

static void expect_render(const char *tmpl, const char *vars, const char *want)
{
    char *out, err[600];
    int rc = render(tmpl, vars, &out, err, sizeof err);
    if (rc != LLMR_OK)
        fail_msg("%s: %s", tmpl, err);
    assert_string_equal(out, want);
    free(out);
}

static void expect_error(const char *tmpl, const char *needle)
{
    char *out, err[600];
    int rc = render(tmpl, "{}", &out, err, sizeof err);
    if (rc != LLMR_ERR_TEMPLATE || !strstr(err, needle))
        fail_msg("%.60s: rc %d, message [%s], wanted [%s]", tmpl, rc, err, needle);
    assert_null(out);
}

static void generation_tag_is_transparent(void **state)
{
    (void)state;
    /* HF adds {% generation %} (AssistantTracker); it renders its body unchanged */
    expect_render("a{% generation %}b{{ 1 }}{% endgeneration %}c", "{}", "ab1c");
}

static void errors_name_line_and_construct(void **state)
{
    (void)state;
    expect_error("line one\n{% for x in [1] %}\n{{ x.y.z }}\n{% endfor %}",
                 "template error at line 3, in {{ ... }}: 'int object' has no attribute 'y'");
    expect_error("\n\n{% if true %}never closed", "line 3");
    expect_error("\n\n{% if true %}never closed", "{% if %} is never closed");
    expect_error("{% set x = [1] %}\n{% set y = x.nope.more %}", "line 2, in {% set %}");
}

static void hostile_templates_fail_cleanly(void **state)
{
    (void)state;
    /* deep nesting of expressions and blocks: a parse error, not a stack overflow */
    size_t n = 100000;
    char *deep = malloc(2 * n + 16);
    size_t k = (size_t)sprintf(deep, "{{ ");
    memset(deep + k, '(', n);
    k += n;
    deep[k++] = '1';
    memset(deep + k, ')', n);
    strcpy(deep + k + n, " }}");
    expect_error(deep, "nesting deeper than");
    k = (size_t)sprintf(deep, "{{ ");
    memset(deep + k, '[', n);
    memset(deep + k + n, ']', n);
    strcpy(deep + k + 2 * n, " }}");
    expect_error(deep, "nesting deeper than");
    k = 0;
    for (size_t i = 0; i < 5000; i++)
        k += (size_t)sprintf(deep + k, "{%% if 1 %%}");
    expect_error(deep, "nesting deeper than");
    k = 0;
    for (size_t i = 0; i < 5000; i++)
        k += (size_t)sprintf(deep + k, "{%% for x in [1] %%}");
    expect_error(deep, "nesting deeper than");
    k = (size_t)sprintf(deep, "{{ ");
    for (size_t i = 0; i < 20000; i++)
        k += (size_t)sprintf(deep + k, "not ");
    strcpy(deep + k, "1 }}");
    expect_error(deep, "nesting deeper than");
    free(deep);
}

static void hostile_templates_hit_limits(void **state)
{
    (void)state;
    /* huge loops: the step budget stops them */
    expect_error("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
                 "steps");
    /* unbounded recursion: the macro depth limit */
    expect_error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "nested deeper");
    /* exponential string growth: the output / memory limit */
    expect_error("{% set ns = namespace(s='x') %}{% for i in range(60) %}"
                 "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s | length }}",
                 "limit");
    expect_error("{{ 'x' * 100000000000 }}", "limit");
    /* huge output */
    expect_error("{% for i in range(100000) %}{{ 'y' * 1000 }}{% endfor %}", "output limit");
    /* self-containing structures would recurse forever when printed */
    expect_error("{% set ns = namespace(l=[]) %}{% for i in range(1000) %}"
                 "{% set ns.l = [ns.l] %}{% endfor %}{{ ns.l }}", "nested");
    expect_error("{% set ns = namespace(l=[]) %}{% for i in range(1000) %}"
                 "{% set ns.l = [ns.l] %}{% endfor %}{{ ns.l | tojson }}", "nesting");
    /* bad filter arguments */
    expect_error("{{ 'x' | indent('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm') }}",
                 "too many arguments");
    expect_error("{{ [1, 2] | join(1, 2, 3) | int(1, 2, 3) | tojson(indent=[]) }}", "indent");
}

static void invalid_utf8_and_nul_are_text(void **state)
{
    (void)state;
    /* bytes that are not UTF-8 pass through untouched; lengths count lead bytes */
    expect_render("\xff{{ '\xc3' }}\xfe", "{}", "\xff\xc3\xfe");
    expect_render("{{ '\xff\xfe' | upper }}", "{}", "\xff\xfe");
}

static void fallback_renders_plain_text(void **state)
{
    (void)state;
    llmr_template *t = NULL;
    assert_int_equal(llmr_template_open(NULL, &t), LLMR_OK);
    llmr_chat_msg m[] = {{"system", "Be brief."}, {"user", "  Hi  "}};
    llmr_template_opts o = llmr_template_defaults();
    o.bos_token = "<s>";
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(llmr_template_render(t, m, 2, &o, &out, &len), LLMR_OK);
    assert_string_equal(out, "<s>System: Be brief.\n\nUser: Hi\n\nAssistant:");
    assert_int_equal(len, strlen(out));
    free(out);
    llmr_template_close(t);
}

static void family_names(void **state)
{
    (void)state;
    assert_string_equal(llmr_template_family(NULL), "none");
    assert_string_equal(llmr_template_family("{{ '<|im_start|>' }}"), "chatml");
    assert_string_equal(llmr_template_family("<|start_header_id|>"), "llama3");
    assert_string_equal(llmr_template_family("[INST] x [/INST]"), "mistral");
    assert_string_equal(llmr_template_family("<<SYS>> [INST]"), "llama2");
    assert_string_equal(llmr_template_family("<start_of_turn>"), "gemma");
    assert_string_equal(llmr_template_family("<|user|> <|end|>"), "phi3");
    assert_string_equal(llmr_template_family("<\xef\xbd\x9cUser\xef\xbd\x9c>"), "deepseek");
    assert_string_equal(llmr_template_family("<|START_OF_TURN_TOKEN|>"), "command-r");
    assert_string_equal(llmr_template_family("{{ x }}"), "unknown");
}

static void api_rejects_bad_arguments(void **state)
{
    (void)state;
    llmr_template *t = NULL;
    char *out = (char *)1;
    assert_int_equal(llmr_template_open("{{ x }}", NULL), LLMR_ERR_ARG);
    assert_int_equal(llmr_template_open("{{ x }}", &t), LLMR_OK);
    assert_int_equal(llmr_template_render_json(t, "[", NULL, &out, NULL), LLMR_ERR_FORMAT);
    assert_null(out);
    assert_int_equal(llmr_template_render_json(t, "{\"x\": 1}", NULL, &out, NULL), LLMR_ERR_FORMAT);
    llmr_template_opts o = llmr_template_defaults();
    o.date = "26/07/2024";
    assert_int_equal(llmr_template_render_json(t, "[]", &o, &out, NULL), LLMR_ERR_ARG);
    o = llmr_template_defaults();
    o.tools_json = "[{";
    assert_int_equal(llmr_template_render_json(t, "[]", &o, &out, NULL), LLMR_ERR_FORMAT);
    assert_int_equal(llmr_template_render(t, NULL, 1, NULL, &out, NULL), LLMR_ERR_ARG);
    llmr_template_close(t);
    llmr_template_close(NULL);
    /* a failed parse still gives a handle whose errmsg says why; rendering reports it */
    assert_int_equal(llmr_template_open("{% for %}", &t), LLMR_ERR_TEMPLATE);
    assert_non_null(strstr(llmr_template_errmsg(t), "line 1"));
    assert_int_equal(llmr_template_render_json(t, "[]", NULL, &out, NULL), LLMR_ERR_TEMPLATE);
    llmr_template_close(t);
}

static void tools_are_bound(void **state)
{
    (void)state;
    llmr_template *t = NULL;
    assert_int_equal(llmr_template_open("{% for t in tools %}{{ t.name }};{% endfor %}"
                                        "{{ tools is defined }}", &t), LLMR_OK);
    llmr_template_opts o = llmr_template_defaults();
    char *out = NULL;
    assert_int_equal(llmr_template_render_json(t, "[]", &o, &out, NULL), LLMR_OK);
    assert_string_equal(out, "False");
    free(out);
    o.tools_json = "[{\"name\": \"a\"}, {\"name\": \"b\"}]";
    assert_int_equal(llmr_template_render_json(t, "[]", &o, &out, NULL), LLMR_OK);
    assert_string_equal(out, "a;b;True");
    free(out);
    o.tools_json = NULL;
    assert_int_equal(llmr_template_render_json(t, "{\"messages\": [], \"tools\": [{\"name\": \"c\"}]}",
                                               &o, &out, NULL), LLMR_OK);
    assert_string_equal(out, "c;True");
    free(out);
    llmr_template_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(renders_like_jinja2),
        cmocka_unit_test(failures_carry_a_clear_message),
        cmocka_unit_test(generation_tag_is_transparent),
        cmocka_unit_test(errors_name_line_and_construct),
        cmocka_unit_test(hostile_templates_fail_cleanly),
        cmocka_unit_test(hostile_templates_hit_limits),
        cmocka_unit_test(invalid_utf8_and_nul_are_text),
        cmocka_unit_test(fallback_renders_plain_text),
        cmocka_unit_test(family_names),
        cmocka_unit_test(api_rejects_bad_arguments),
        cmocka_unit_test(tools_are_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
