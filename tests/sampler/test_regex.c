/* test_regex.c - `pattern`: the regex subset compiled to GBNF over JSON string text (escapes
 * included), unanchored sides, errors for what is outside the subset, and hostile patterns
 * that stay bounded: refused or matched without blow-up, on a server worker's 100 KiB stack. */
#include "core/buf.h"
#include "schema_util.h"

#include <pthread.h>
#include <regex.h>

/* 1 / 0 / -1 for the JSON text of a string against {"type":"string","pattern":re}. */
static int pj(const char *re, const char *json_text)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "type", "string");
    cJSON_AddStringToObject(s, "pattern", re);
    char *txt = cJSON_PrintUnformatted(s);
    int r = su_judge(txt, json_text);
    cJSON_free(txt);
    cJSON_Delete(s);
    return r;
}

static int perr(const char *re, char *msg, size_t n)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "type", "string");
    cJSON_AddStringToObject(s, "pattern", re);
    char *txt = cJSON_PrintUnformatted(s);
    int rc = su_compile(txt, msg, n);
    cJSON_free(txt);
    cJSON_Delete(s);
    return rc;
}

static void anchored_and_unanchored_patterns(void **st)
{
    assert_int_equal(pj("^[a-z]+$", "\"abc\""), 1);
    assert_int_equal(pj("^[a-z]+$", "\"ab1\""), -1);
    assert_int_equal(pj("^[a-z]+$", "\"\""), -1);
    assert_int_equal(pj("ab+c", "\"xxabbcyy\""), 1);     /* a search, as RegExp.test */
    assert_int_equal(pj("ab+c", "\"ac\""), -1);
    assert_int_equal(pj("^ab+c", "\"abcZ\""), 1);
    assert_int_equal(pj("^ab+c", "\"Zabc\""), -1);
    assert_int_equal(pj("ab+c$", "\"Zabc\""), 1);
    assert_int_equal(pj("ab+c$", "\"abcZ\""), -1);
    assert_int_equal(pj("^\\d{3}-\\d{4}$", "\"555-1234\""), 1);
    assert_int_equal(pj("^\\d{3}-\\d{4}$", "\"55-1234\""), -1);
    assert_int_equal(pj("^(foo|bar)+baz?$", "\"foobarba\""), 1);
    assert_int_equal(pj("^(foo|bar)+baz?$", "\"foobarbaz\""), 1);
    assert_int_equal(pj("^(foo|bar)+baz?$", "\"foob\""), -1);
    assert_int_equal(pj("^(?<year>\\d{4})-(?:0[1-9]|1[0-2])$", "\"2024-12\""), 1);
    assert_int_equal(pj("^(?<year>\\d{4})-(?:0[1-9]|1[0-2])$", "\"2024-13\""), -1);
    assert_int_equal(pj("^a+?b*?$", "\"aab\""), 1);
    assert_int_equal(pj("^x{2,3}$", "\"xxxx\""), -1);
    assert_int_equal(pj("^x{2,}$", "\"xxxxxx\""), 1);
    assert_int_equal(pj("^[^a-c]$", "\"d\""), 1);
    assert_int_equal(pj("^[^a-c]$", "\"b\""), -1);
    assert_int_equal(pj("^[\\w.-]+$", "\"a_b.c-d\""), 1);
    assert_int_equal(pj("^\\$\\.\\*$", "\"$.*\""), 1);
}

/* The string's text is JSON: a pattern character that JSON escapes is matched escaped, and
 * code points are characters (the u flag). */
static void characters_are_written_as_json_writes_them(void **st)
{
    assert_int_equal(pj("^\"q\\\\$", "\"\\\"q\\\\\""), 1);     /* "q\ */
    assert_int_equal(pj("^\"q\\\\$", "\"\"q\\\\\""), -1);      /* a raw quote ends it */
    assert_int_equal(pj("^\\n\\t$", "\"\\n\\t\""), 1);
    assert_int_equal(pj("^.{2}$", "\"\xc3\xa9\xf0\x9f\x98\x80\""), 1);   /* two code points */
    assert_int_equal(pj("^.{2}$", "\"abc\""), -1);
    assert_int_equal(pj("^.$", "\"\\n\""), -1);               /* . is not a line end */
    assert_int_equal(pj("^[\\u00e9-\\u00ff]+$", "\"\xc3\xa9\""), 1);
    assert_int_equal(pj("^[\\u00e9-\\u00ff]+$", "\"e\""), -1);
    assert_int_equal(pj("^\\u{1F600}$", "\"\xf0\x9f\x98\x80\""), 1);
    assert_int_equal(pj("^\\ud83d\\ude00$", "\"\xf0\x9f\x98\x80\""), 1);   /* one pair */
    assert_int_equal(pj("^\\s$", "\" \""), 1);
    assert_int_equal(pj("^\\s$", "\"\\t\""), 1);
    assert_int_equal(pj("^\\S$", "\" \""), -1);
    assert_int_equal(pj("^[^\"]$", "\"\\\"\""), -1);
    assert_int_equal(pj("^[^\"]$", "\"\\\\\""), 1);
}

static void outside_the_subset_is_an_error_naming_it(void **st)
{
    static const struct { const char *re; int code; const char *says; } cases[] = {
        {"(a)\\1", LLMR_ERR_UNSUPPORTED, "backreference"},
        {"(?=a)b", LLMR_ERR_UNSUPPORTED, "lookahead"},
        {"(?<!a)b", LLMR_ERR_UNSUPPORTED, "lookbehind"},
        {"\\p{L}", LLMR_ERR_UNSUPPORTED, "\\p"},
        {"\\bword", LLMR_ERR_UNSUPPORTED, "word boundary"},
        {"a{2}{3}", LLMR_ERR_FORMAT, "nothing to repeat"},
        {"a**", LLMR_ERR_FORMAT, "nothing to repeat"},
        {"*a", LLMR_ERR_FORMAT, "nothing to repeat"},
        {"[z-a]", LLMR_ERR_FORMAT, "range"},
        {"(a", LLMR_ERR_FORMAT, "unterminated group"},
        {"a)", LLMR_ERR_FORMAT, "unmatched"},
        {"[ab", LLMR_ERR_FORMAT, "unterminated character class"},
        {"^a|b$", LLMR_ERR_UNSUPPORTED, "top-level |"},
        {"a^b", LLMR_ERR_UNSUPPORTED, "^ and $"},
        {"\\q", LLMR_ERR_FORMAT, "unknown escape"},
        {"(a*)*", LLMR_ERR_UNSUPPORTED, "empty string"},
        {"(a|)+", LLMR_ERR_UNSUPPORTED, "empty string"},
        {"x{1001}", LLMR_ERR_UNSUPPORTED, "1000"},
        {"(a{1,1000}){1,1000}", LLMR_ERR_UNSUPPORTED, "too large"},
        {"((a{100}){100}){100}", LLMR_ERR_UNSUPPORTED, "too large"},
        {"\\ud800", LLMR_ERR_UNSUPPORTED, "surrogate"},
        {"[]", LLMR_ERR_FORMAT, "matches no character"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char msg[512];
        int rc = perr(cases[i].re, msg, sizeof msg);
        if (rc != cases[i].code || !strstr(msg, cases[i].says) || !strstr(msg, "pattern"))
            fail_msg("/%s/: %d '%s', expected %d naming '%s'", cases[i].re, rc, msg,
                     cases[i].code, cases[i].says);
    }
    char *big = malloc(5000);
    memset(big, 'a', 4999);
    big[4999] = 0;
    char msg[512];
    assert_int_equal(perr(big, msg, sizeof msg), LLMR_ERR_UNSUPPORTED);
    assert_non_null(strstr(msg, "longer than"));
    free(big);
}

/* Catastrophic shapes for backtracking engines are linear here: the matcher keeps a set of
 * parse positions, as many as the pattern has, whatever the text. */
static void catastrophic_shapes_match_in_bounded_time(void **st)
{
    char text[2100] = "\"";
    memset(text + 1, 'a', 2000);
    strcpy(text + 2001, "!\"");
    assert_int_equal(pj("^(a+)+$", text), -1);
    assert_int_equal(pj("^(a|aa)+$", text), -1);
    assert_int_equal(pj("^(a|a)+b$", text), -1);
    text[2001] = '"';
    text[2002] = 0;
    assert_int_equal(pj("^(a+)+$", text), 1);
    assert_int_equal(pj("^(a{1,10}){1,100}$", "\"aaaaaaaaaaaaaaaaaaaaaaaaa\""), 1);
}

/* ---- on a civetweb worker's stack ---------------------------------------------------------- */

static void *compile_hostile(void *arg)
{
    char msg[512], *re = malloc(200);
    int *rc = arg;
    /* groups nested to the bound, and one past it */
    strcpy(re, "^");
    for (int i = 0; i < 32; i++)
        strcat(re, "(");
    strcat(re, "a");
    for (int i = 0; i < 32; i++)
        strcat(re, ")+");
    strcat(re, "$");
    rc[0] = perr(re, msg, sizeof msg);
    memmove(re + 2, re + 1, strlen(re));
    re[1] = '(';
    strcat(re, ")");
    rc[1] = perr(re, msg, sizeof msg);
    free(re);
    /* schemas nested as deep as the compiler goes: arrays of nullable patterned strings,
     * anyOf inside objects inside allOf (merged), and $refs through allOf */
    llmr_buf b = {0};
    for (int i = 0; i < 31; i++)
        llmri_buf_puts(&b, "{\"type\":\"array\",\"items\":");
    llmri_buf_puts(&b, "{\"type\":[\"string\",\"null\"],\"pattern\":\"^(x|y)+$\"}");
    for (int i = 0; i < 31; i++)
        llmri_buf_puts(&b, "}");
    rc[2] = su_compile(llmri_buf_str(&b), msg, sizeof msg);
    llmri_buf_free(&b);
    for (int i = 0; i < 8; i++)
        llmri_buf_puts(&b, "{\"allOf\":[{\"type\":\"object\",\"properties\":{\"a\":{\"anyOf\":["
                           "{\"type\":\"null\"},");
    llmri_buf_puts(&b, "{\"type\":\"integer\",\"minimum\":-1e300}");
    for (int i = 0; i < 8; i++)
        llmri_buf_puts(&b, "]}}},{\"required\":[\"a\"]}]}");
    rc[3] = su_compile(llmri_buf_str(&b), msg, sizeof msg);
    llmri_buf_free(&b);
    return NULL;
}

/* What a civetweb worker has left when a request is parsed (see fuzz/worker_stack.h). */
static void hostile_patterns_fit_a_worker_stack(void **st)
{
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 64 * 1024);
    pthread_t t;
    int rc[4] = {-1, -1, -1, -1};
    assert_int_equal(pthread_create(&t, &a, compile_hostile, rc), 0);
    pthread_join(t, NULL);
    pthread_attr_destroy(&a);
    assert_int_equal(rc[0], LLMR_OK);
    assert_int_equal(rc[1], LLMR_ERR_UNSUPPORTED);
    assert_int_equal(rc[2], LLMR_OK);
    assert_int_equal(rc[3], LLMR_OK);
}

/* Sampled strings match, as POSIX regexec (an independent engine) sees their decoded text. */
static void sampled_strings_match(void **st)
{
    static const char *const res[] = {"^[a-z]{2,4}@[a-z]+\\.com$", "^[0-9]{3}-[0-9]{4}$",
                                      "^\"[a-z ]*\"$", "^(ab|cd)+$", "^x[0-9]+y"};
    for (int i = 0; i < 5; i++) {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "type", "string");
        cJSON_AddStringToObject(s, "pattern", res[i]);
        char *schema = cJSON_PrintUnformatted(s);
        regex_t re;
        assert_int_equal(regcomp(&re, res[i], REG_EXTENDED | REG_NOSUB), 0);
        int done = 0;
        for (int k = 0; k < 20; k++) {
            char *t = su_sample(schema, 500 + (uint64_t)k, 3000);
            if (!t)
                continue;
            done++;
            cJSON *v = cJSON_ParseWithOpts(t, NULL, true);
            if (!cJSON_IsString(v) || regexec(&re, v->valuestring, 0, NULL, 0) != 0)
                fail_msg("/%s/ sampled %s", res[i], t);
            cJSON_Delete(v);
            free(t);
        }
        if (done < 10)
            fail_msg("/%s/: only %d of 20 samples finished", res[i], done);
        regfree(&re);
        cJSON_free(schema);
        cJSON_Delete(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(anchored_and_unanchored_patterns),
        cmocka_unit_test(characters_are_written_as_json_writes_them),
        cmocka_unit_test(outside_the_subset_is_an_error_naming_it),
        cmocka_unit_test(catastrophic_shapes_match_in_bounded_time),
        cmocka_unit_test(hostile_patterns_fit_a_worker_stack),
        cmocka_unit_test(sampled_strings_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
