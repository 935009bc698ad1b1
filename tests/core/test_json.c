/* test_json.c - bounded JSON parsing (src/core/json.c) and the nesting bounds of every
 * recursive parser that reads outside text: GBNF grammars, JSON schemas, chat templates and
 * their messages. The deep inputs run on a thread with a civetweb worker's 100 KiB stack,
 * where an 800-deep JSON array used to crash the server. */
#include "test_util.h"

#include <pthread.h>

#include "core/json.h"
#include "llmr.h"

#define WORKER_STACK (100 * 1024)
#define DEEP 100000

/* pre + a*n + mid + b*n + post, malloc'd. */
static char *nest(const char *pre, const char *a, int n, const char *mid, const char *b,
                  const char *post)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(strlen(pre) + (size_t)n * (la + lb) + strlen(mid) + strlen(post) + 1);
    assert_non_null(s);
    char *p = s + sprintf(s, "%s", pre);
    for (int i = 0; i < n; i++, p += la)
        memcpy(p, a, la);
    p += sprintf(p, "%s", mid);
    for (int i = 0; i < n; i++, p += lb)
        memcpy(p, b, lb);
    strcpy(p, post);
    return s;
}

/* Runs fn(arg) on a thread with a worker-sized stack; its result is an int. */
typedef int (*deep_fn)(const char *arg);
typedef struct {
    deep_fn fn;
    const char *arg;
    int rc;
} job;

static void *job_main(void *p)
{
    job *j = p;
    j->rc = j->fn(j->arg);
    return NULL;
}

static int on_worker_stack(deep_fn fn, const char *arg)
{
    job j = {fn, arg, -1};
    pthread_attr_t a;
    pthread_attr_init(&a);
    assert_int_equal(pthread_attr_setstacksize(&a, WORKER_STACK), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, &a, job_main, &j), 0);
    pthread_join(t, NULL);
    pthread_attr_destroy(&a);
    return j.rc;
}

/* ---- llmri_json_depth_ok / llmri_json_parse ---------------------------------------------- */

static void depth_counts_brackets_outside_strings(void **state)
{
    (void)state;
    size_t at = 0;
    char *ok = nest("", "[", LLMR_JSON_MAX_DEPTH, "", "]", "");
    assert_true(llmri_json_depth_ok(ok, strlen(ok), LLMR_JSON_MAX_DEPTH, &at));
    char *over = nest("", "[", LLMR_JSON_MAX_DEPTH + 1, "", "]", "");
    assert_false(llmri_json_depth_ok(over, strlen(over), LLMR_JSON_MAX_DEPTH, &at));
    assert_int_equal(at, LLMR_JSON_MAX_DEPTH);   /* the first bracket past the limit */
    /* brackets in strings, with escaped quotes and backslashes, are text */
    const char *s = "{\"a\": \"[[[[{{{{\\\"[[[[\\\\\", \"b\": [[1]]}";
    assert_true(llmri_json_depth_ok(s, strlen(s), 3, NULL));
    assert_false(llmri_json_depth_ok(s, strlen(s), 2, NULL));
    /* siblings do not add up */
    const char *w = "[[1],[2],[3],[4],[5]]";
    assert_true(llmri_json_depth_ok(w, strlen(w), 2, NULL));
    free(ok);
    free(over);
}

static void parse_refuses_what_is_ambiguous_or_deep(void **state)
{
    (void)state;
    char err[300];
    const char *dup = "{\"model\": \"a\", \"prompt\": \"x\", \"model\": \"b\"}";
    assert_null(llmri_json_parse(dup, strlen(dup), 0, "the body", NULL, err, sizeof err));
    assert_non_null(strstr(err, "\"model\" twice"));
    cJSON *o = llmri_json_parse(dup, strlen(dup), LLMR_JSON_DUPS_OK, "the body", NULL, err,
                               sizeof err);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "model")->valuestring, "a");
    cJSON_Delete(o);

    /* a repeat inside a nested object, and one in an object large enough to be sorted */
    const char *inner = "{\"messages\": [{\"role\": \"user\", \"role\": \"system\"}]}";
    assert_null(llmri_json_parse(inner, strlen(inner), 0, "b", NULL, err, sizeof err));
    assert_non_null(strstr(err, "\"role\" twice"));
    char big[4000];
    char *p = big + sprintf(big, "{");
    for (int i = 0; i < 100; i++)
        p += sprintf(p, "\"k%d\": %d,", i, i);
    sprintf(p, "\"k57\": 0}");
    assert_null(llmri_json_parse(big, strlen(big), 0, "b", NULL, err, sizeof err));
    assert_non_null(strstr(err, "\"k57\" twice"));
    p[0] = 0;
    sprintf(p, "\"k100\": 0}");
    o = llmri_json_parse(big, strlen(big), 0, "b", NULL, err, sizeof err);
    assert_non_null(o);
    assert_int_equal(cJSON_GetArraySize(o), 101);
    cJSON_Delete(o);

    assert_null(llmri_json_parse("{\"a\":1} x", 9, 0, "the body", NULL, err, sizeof err));
    assert_non_null(strstr(err, "data after the JSON value (at byte 8)"));
    const char *end = NULL;
    o = llmri_json_parse("{\"a\":1} x", 9, LLMR_JSON_TRAILING_OK, "b", &end, err, sizeof err);
    assert_non_null(o);
    assert_string_equal(end, " x");
    cJSON_Delete(o);
    assert_null(llmri_json_parse("{\"a\":", 5, 0, "the body", NULL, err, sizeof err));
    assert_non_null(strstr(err, "the body is not valid JSON"));
    /* no NUL after the text: the length is respected */
    assert_null(llmri_json_parse("[1,2]", 3, 0, "b", NULL, err, sizeof err));
}

static int parse_json(const char *text)
{
    char err[300];
    cJSON *o = llmri_json_parse(text, strlen(text), 0, "the request body", NULL, err, sizeof err);
    cJSON_Delete(o);
    return o ? 0 : strstr(err, "deeper than 64 levels") ? 1 : 2;
}

static void deep_json_is_refused_on_a_worker_stack(void **state)
{
    (void)state;
    char *arr = nest("", "[", DEEP, "", "]", "");
    char *obj = nest("", "{\"a\":", DEEP, "1", "}", "");
    char *open = nest("", "[", DEEP, "", "", "");   /* never closed */
    char *fine = nest("", "[", LLMR_JSON_MAX_DEPTH, "1", "]", "");
    assert_int_equal(on_worker_stack(parse_json, arr), 1);
    assert_int_equal(on_worker_stack(parse_json, obj), 1);
    assert_int_equal(on_worker_stack(parse_json, open), 1);
    assert_int_equal(on_worker_stack(parse_json, fine), 0);
    free(arr);
    free(obj);
    free(open);
    free(fine);
}

/* ---- the other parsers of outside text --------------------------------------------------- */

static int gbnf(const char *g)
{
    char err[256] = "";
    return llmr_grammar_validate(g, err, sizeof err);
}

/* root ::= r1, r1 ::= r2, ... : a left chain as long as the input allows */
static char *rule_chain(int n)
{
    char *g = malloc((size_t)n * 32 + 64), *p = g;
    assert_non_null(g);
    p += sprintf(p, "root ::= r1\n");
    for (int i = 1; i < n; i++)
        p += sprintf(p, "r%d ::= r%d\n", i, i + 1);
    sprintf(p, "r%d ::= \"a\"\n", n);
    return g;
}

static int schema(const char *s)
{
    char *g = NULL, err[256] = "";
    int rc = llmr_json_schema_to_grammar(s, &g, err, sizeof err);
    llmr_grammar_text_free(g);
    return rc;
}

static int template_open(const char *src)
{
    llmr_template *t = NULL;
    int rc = llmr_template_open(src, &t);
    if (rc == LLMR_OK) {
        char *out = NULL;
        rc = llmr_template_render_json(t, "[]", NULL, &out, NULL);
        free(out);
    }
    llmr_template_close(t);
    return rc;
}

static int template_messages(const char *msgs)
{
    llmr_template *t = NULL;
    int rc = llmr_template_open("{{ messages }}", &t);
    assert_int_equal(rc, LLMR_OK);
    char *out = NULL;
    rc = llmr_template_render_json(t, msgs, NULL, &out, NULL);
    free(out);
    llmr_template_close(t);
    return rc;
}

static void every_parser_bounds_its_nesting(void **state)
{
    (void)state;
    struct {
        deep_fn fn;
        char *text;
        int want;
    } cases[] = {
        {gbnf, nest("root ::= ", "(", DEEP, "\"a\"", ")", "\n"), LLMR_ERR_FORMAT},
        {gbnf, nest("root ::= ", "(", 60, "\"a\"", ")", "\n"), LLMR_OK},
        {gbnf, rule_chain(DEEP), LLMR_ERR_FORMAT},
        {gbnf, rule_chain(150), LLMR_OK},
        {schema, nest("", "{\"type\":\"array\",\"items\":", DEEP, "{}", "}", ""),
         LLMR_ERR_UNSUPPORTED},
        {schema, nest("", "{\"properties\":{\"a\":", DEEP, "{}", "}}", ""),
         LLMR_ERR_UNSUPPORTED},
        {template_open, nest("{{ ", "(", DEEP, "1", ")", " }}"), LLMR_ERR_TEMPLATE},
        {template_open, nest("{{ ", "[", DEEP, "1", "]", " }}"), LLMR_ERR_TEMPLATE},
        {template_open, nest("{{ ", "{'a': ", DEEP, "1", "}", " }}"), LLMR_ERR_TEMPLATE},
        {template_open, nest("{{ ", "not ", DEEP, "1", "", " }}"), LLMR_ERR_TEMPLATE},
        {template_open, nest("{{ ", "-", DEEP, "1", "", " }}"), LLMR_ERR_TEMPLATE},
        {template_open, nest("{{ ", "f(", DEEP, "1", ")", " }}"), LLMR_ERR_TEMPLATE},
        {template_open, nest("{{ 1", "", 0, "", "", " }}"), LLMR_OK},
        {template_open, nest("", "{% if 1 %}", DEEP, "x", "{% endif %}", ""), LLMR_ERR_TEMPLATE},
        {template_open, nest("", "{% for a in [1] %}", DEEP, "x", "{% endfor %}", ""),
         LLMR_ERR_TEMPLATE},
        {template_open, nest("{{ 1", "+1", DEEP, "", "", " }}"), LLMR_ERR_TEMPLATE},
        {template_messages, nest("[{\"role\":\"user\",\"content\":", "[", DEEP, "1", "]", "}]"),
         LLMR_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = on_worker_stack(cases[i].fn, cases[i].text);
        if (rc != cases[i].want)
            fail_msg("case %zu (%.40s...): rc %d, expected %d", i, cases[i].text, rc,
                     cases[i].want);
        free(cases[i].text);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(depth_counts_brackets_outside_strings),
        cmocka_unit_test(parse_refuses_what_is_ambiguous_or_deep),
        cmocka_unit_test(deep_json_is_refused_on_a_worker_stack),
        cmocka_unit_test(every_parser_bounds_its_nesting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
