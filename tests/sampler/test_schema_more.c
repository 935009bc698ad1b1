/* test_schema_more.c - objects (required, optional, order, additionalProperties), arrays
 * (prefixItems, items false, counts), enum/const with type, anyOf/oneOf/allOf, $ref/$defs
 * (recursive, cycles), nullable, formats, errors that name the keyword, hostile schemas. */
#include "schema_util.h"

typedef struct jcase {
    const char *text;
    int         want;
} jcase;

static void judge_all(const char *schema, const jcase *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int got = su_judge(schema, c[i].text);
        if (got != c[i].want)
            fail_msg("%s\n'%s' judged %d, expected %d", schema, c[i].text, got, c[i].want);
    }
}
#define JUDGE(schema, ...)                                                                \
    do {                                                                                  \
        static const jcase c_[] = {__VA_ARGS__};                                          \
        judge_all(schema, c_, sizeof c_ / sizeof *c_);                                    \
    } while (0)

static void expect_error(const char *schema, int code, const char *says)
{
    char msg[512];
    int rc = su_compile(schema, msg, sizeof msg);
    if (rc != code || !strstr(msg, says))
        fail_msg("%s\ngave %d '%s', expected %d naming '%s'", schema, rc, msg, code, says);
}

static void objects_required_optional_and_order(void **st)
{
    JUDGE("{\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"type\":\"string\"}},"
          "\"required\":[\"b\"]}",
          {"{\"b\":\"x\"}", 1}, {"{\"a\":1,\"b\":\"x\"}", 1}, {"{\"a\":1}", -1},
          {"{\"b\":\"x\",\"a\":1}", -1}, {"{}", -1}, {"{\"c\":1}", -1});
    /* additionalProperties: a schema for any other key, never a declared one */
    JUDGE("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"}},"
          "\"additionalProperties\":{\"type\":\"boolean\"}}",
          {"{\"a\":1,\"zz\":true}", 1}, {"{\"zz\":true}", 1}, {"{\"a\":1,\"a\":true}", -1},
          {"{\"ab\":false,\"b\":true}", 1}, {"{\"zz\":1}", -1}, {"{\"a\\u0062\":true}", -1},
          {"{}", 1});
    JUDGE("{\"properties\":{\"a\":{\"type\":\"integer\"}},\"additionalProperties\":false}",
          {"{\"a\":1}", 1}, {"{\"q\":1}", -1}, {"{}", 1});
    /* required but not declared: any value, or additionalProperties' schema */
    JUDGE("{\"required\":[\"id\"],\"additionalProperties\":{\"type\":\"integer\"}}",
          {"{\"id\":3}", 1}, {"{}", -1}, {"{\"id\":3,\"x\":4}", 1}, {"{\"id\":true}", -1});
    JUDGE("{\"type\":\"object\",\"required\":[\"k\"]}", {"{\"k\":[1,{}]}", 1}, {"{}", -1});
    expect_error("{\"required\":[\"z\"],\"additionalProperties\":false}", LLMR_ERR_FORMAT,
                 "\"z\"");
}

static void arrays_prefix_items_and_counts(void **st)
{
    JUDGE("{\"type\":\"array\",\"prefixItems\":[{\"type\":\"integer\"},{\"type\":\"string\"}],"
          "\"items\":false,\"minItems\":1}",
          {"[1]", 1}, {"[1,\"a\"]", 1}, {"[1,\"a\",2]", -1}, {"[]", -1}, {"[\"a\"]", -1});
    JUDGE("{\"type\":\"array\",\"prefixItems\":[{\"type\":\"integer\"},{\"type\":\"string\"}],"
          "\"items\":{\"type\":\"integer\"},\"maxItems\":4,\"minItems\":3}",
          {"[1,\"a\",2,3]", 1}, {"[1,\"a\",2,3,4]", -1}, {"[1,\"a\"]", -1}, {"[1,\"a\",\"b\"]", -1},
          {"[1,\"a\",2]", 1});
    /* maxItems below the prefix: the prefix is cut (the property test found this) */
    JUDGE("{\"type\":\"array\",\"prefixItems\":[{\"type\":\"integer\"},{\"type\":\"null\"}],"
          "\"maxItems\":1}", {"[1]", 1}, {"[1,null]", -1}, {"[]", 1});
    JUDGE("{\"type\":\"array\",\"items\":{\"type\":\"boolean\"},\"minItems\":2,\"maxItems\":2}",
          {"[true,false]", 1}, {"[true]", -1}, {"[true,true,true]", -1});
    expect_error("{\"type\":\"array\",\"items\":[{\"type\":\"integer\"}]}", LLMR_ERR_UNSUPPORTED,
                 "prefixItems");
    expect_error("{\"type\":\"array\",\"prefixItems\":[{}],\"items\":false,\"minItems\":2}",
                 LLMR_ERR_FORMAT, "items is false");
    expect_error("{\"type\":\"array\",\"uniqueItems\":true}", LLMR_ERR_UNSUPPORTED,
                 "uniqueItems");
}

static void enum_const_and_nullable(void **st)
{
    JUDGE("{\"type\":\"string\",\"enum\":[\"a\",1,null]}", {"\"a\"", 1}, {"1", -1},
          {"null", -1});
    JUDGE("{\"const\":{\"k\":[1,2]}}", {"{\"k\":[1,2]}", 1}, {"{\"k\":[1]}", -1});
    JUDGE("{\"type\":\"integer\",\"nullable\":true,\"minimum\":2}", {"null", 1}, {"3", 1},
          {"1", 0}, {"0", -1});
    JUDGE("{\"type\":[\"string\",\"null\"],\"maxLength\":2}", {"null", 1}, {"\"ab\"", 1},
          {"\"abc\"", -1});
    expect_error("{\"type\":\"integer\",\"enum\":[\"a\",\"b\"]}", LLMR_ERR_FORMAT, "enum");
    expect_error("{\"enum\":[\"a\"],\"minLength\":3}", LLMR_ERR_UNSUPPORTED, "minLength");
}

static void combinators(void **st)
{
    /* anyOf beside other keywords: each branch merged with them */
    JUDGE("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"type\":"
          "\"integer\"}},\"anyOf\":[{\"required\":[\"a\"]},{\"required\":[\"b\"]}]}",
          {"{}", -1}, {"{\"a\":1}", 1}, {"{\"b\":2}", 1}, {"{\"a\":1,\"b\":2}", 1});
    /* oneOf: branches that a discriminator keeps apart */
    const char *tagged =
        "{\"oneOf\":[{\"type\":\"object\",\"properties\":{\"kind\":{\"const\":\"a\"},\"x\":"
        "{\"type\":\"integer\"}},\"required\":[\"kind\",\"x\"]},{\"type\":\"object\","
        "\"properties\":{\"kind\":{\"const\":\"b\"},\"y\":{\"type\":\"string\"}},"
        "\"required\":[\"kind\",\"y\"]}]}";
    JUDGE(tagged, {"{\"kind\":\"a\",\"x\":1}", 1}, {"{\"kind\":\"a\",\"y\":\"s\"}", -1},
          {"{\"kind\":\"b\",\"y\":\"s\"}", 1});
    /* oneOf beside the properties it tags (each branch merged: tag becomes an allOf) */
    JUDGE("{\"type\":\"object\",\"properties\":{\"tag\":{\"type\":\"string\"}},\"oneOf\":["
          "{\"properties\":{\"tag\":{\"const\":\"one\"}},\"required\":[\"tag\"]},"
          "{\"properties\":{\"tag\":{\"const\":\"two\"}},\"required\":[\"tag\"]}]}",
          {"{\"tag\":\"two\"}", 1}, {"{\"tag\":\"three\"}", -1});
    JUDGE("{\"oneOf\":[{\"type\":\"integer\"},{\"type\":\"string\"},{\"enum\":[true]}]}",
          {"3", 1}, {"\"s\"", 1}, {"true", 1}, {"false", -1});
    expect_error("{\"oneOf\":[{\"type\":\"integer\"},{\"type\":\"number\"}]}",
                 LLMR_ERR_UNSUPPORTED, "oneOf branches 0 and 1");
    /* allOf: bounds meet, required lists unite, properties combine */
    JUDGE("{\"allOf\":[{\"type\":\"integer\",\"minimum\":0},{\"maximum\":10},{\"minimum\":5}]}",
          {"4", -1}, {"5", 1}, {"10", 1}, {"11", -1});
    JUDGE("{\"allOf\":[{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}},"
          "{\"properties\":{\"a\":{\"maxLength\":1},\"b\":{\"type\":\"null\"}},"
          "\"required\":[\"a\"]}]}",
          {"{\"a\":\"x\"}", 1}, {"{\"a\":\"xy\"}", -1}, {"{\"a\":\"x\",\"b\":null}", 1},
          {"{\"b\":null}", -1});
    expect_error("{\"allOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}", LLMR_ERR_FORMAT,
                 "nothing in common");
    expect_error("{\"allOf\":[{\"pattern\":\"a\"},{\"pattern\":\"b\"}]}", LLMR_ERR_UNSUPPORTED,
                 "pattern");
    expect_error("{\"anyOf\":[]}", LLMR_ERR_FORMAT, "anyOf");
    expect_error("{\"not\":{\"type\":\"string\"}}", LLMR_ERR_UNSUPPORTED, "\"not\"");
}

static void refs_local_recursive_and_cycles(void **st)
{
    const char *list =
        "{\"$defs\":{\"node\":{\"type\":\"object\",\"properties\":{\"v\":{\"type\":\"integer\"},"
        "\"next\":{\"anyOf\":[{\"$ref\":\"#/$defs/node\"},{\"type\":\"null\"}]}},"
        "\"required\":[\"v\",\"next\"]}},\"$ref\":\"#/$defs/node\"}";
    JUDGE(list, {"{\"v\":1,\"next\":{\"v\":2,\"next\":{\"v\":3,\"next\":null}}}", 1},
          {"{\"v\":1,\"next\":{\"v\":2}}", -1});
    int done = 0;
    for (int k = 0; k < 20; k++) {
        char *t = su_sample(list, 900 + (uint64_t)k, 3000);
        if (!t)
            continue;
        done++;
        cJSON *v = cJSON_ParseWithOpts(t, NULL, true);
        if (!v || !cJSON_IsNumber(cJSON_GetObjectItem(v, "v")))
            fail_msg("sampled '%s'", t);
        cJSON_Delete(v);
        free(t);
    }
    assert_true(done >= 15);
    JUDGE("{\"definitions\":{\"a/b\":{\"type\":\"boolean\"}},\"type\":\"array\","
          "\"items\":{\"$ref\":\"#/definitions/a~1b\"}}", {"[true]", 1}, {"[1]", -1});
    JUDGE("{\"type\":\"array\",\"items\":{\"$ref\":\"#\"},\"maxItems\":2}", {"[[],[[]]]", 1},
          {"[1]", -1});
    expect_error("{\"type\":\"object\",\"properties\":{\"x\":{\"$ref\":\"#\"}},"
                 "\"required\":[\"x\"]}", LLMR_ERR_FORMAT, "no base case");
    expect_error("{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/b\"},\"b\":{\"$ref\":\"#/$defs/a\"}},"
                 "\"$ref\":\"#/$defs/a\"}", LLMR_ERR_UNSUPPORTED, "reaches itself");
    expect_error("{\"$defs\":{\"a\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/a\"},"
                 "\"minItems\":1}},\"$ref\":\"#/$defs/a\"}", LLMR_ERR_FORMAT, "#/$defs/a");
    expect_error("{\"$ref\":\"#/$defs/missing\"}", LLMR_ERR_FORMAT, "points at nothing");
    expect_error("{\"$ref\":\"#node\"}", LLMR_ERR_UNSUPPORTED, "anchors");
    expect_error("{\"$ref\":\"other.json#/a\"}", LLMR_ERR_UNSUPPORTED, "local");
}

static void formats(void **st)
{
    const char *date = "{\"type\":\"string\",\"format\":\"date\"}";
    JUDGE(date, {"\"2024-02-29\"", 1}, {"\"2023-02-29\"", -1}, {"\"1900-02-29\"", -1},
          {"\"2000-02-29\"", 1}, {"\"2024-04-31\"", -1}, {"\"2024-13-01\"", -1},
          {"\"2024-12-31\"", 1});
    JUDGE("{\"type\":\"string\",\"format\":\"time\"}", {"\"23:59:59Z\"", 1},
          {"\"24:00:00Z\"", -1}, {"\"12:00:00\"", -1}, {"\"12:00:00.5-08:00\"", 1});
    JUDGE("{\"type\":\"string\",\"format\":\"date-time\"}",
          {"\"2024-01-31T08:15:00.123+05:30\"", 1}, {"\"2024-01-31 08:15:00Z\"", -1});
    JUDGE("{\"type\":\"string\",\"format\":\"uuid\"}",
          {"\"123e4567-e89b-12d3-a456-426614174000\"", 1}, {"\"123e4567\"", -1});
    JUDGE("{\"type\":\"string\",\"format\":\"email\"}", {"\"a.b@ex-ample.com\"", 1},
          {"\"a@b\"", -1}, {"\"@b.c\"", -1});
    JUDGE("{\"type\":\"string\",\"format\":\"uri\"}", {"\"https://example.com/a/b?x=1#f\"", 1},
          {"\"example.com\"", -1});
    expect_error("{\"type\":\"string\",\"format\":\"ipv4\"}", LLMR_ERR_UNSUPPORTED, "ipv4");
    expect_error("{\"type\":\"string\",\"format\":\"date\",\"maxLength\":3}",
                 LLMR_ERR_UNSUPPORTED, "maxLength");
}

static void errors_name_the_keyword_and_where(void **st)
{
    expect_error("{\"foo\":1}", LLMR_ERR_UNSUPPORTED, "unknown keyword \"foo\"");
    expect_error("{\"properties\":{\"a\":{\"type\":\"string\",\"minimum\":1}}}",
                 LLMR_ERR_FORMAT, "/properties/a");
    expect_error("{\"properties\":{\"a\":{\"patternProperties\":{}}}}", LLMR_ERR_UNSUPPORTED,
                 "patternProperties");
    expect_error("{\"type\":\"array\",\"items\":{\"type\":\"strin\"}}", LLMR_ERR_UNSUPPORTED,
                 "/items");
    expect_error("{\"minimum\":1,\"minLength\":2}", LLMR_ERR_UNSUPPORTED, "several types");
    expect_error("false", LLMR_ERR_FORMAT, "false");
    expect_error("{\"properties\":{\"a\":{\"$id\":\"x\"}}}", LLMR_ERR_UNSUPPORTED, "$id");
}

static void hostile_schemas(void **st)
{
    /* 10 000 optional properties, then with additionalProperties: compiles, and the last
     * property alone is an object of the schema */
    llmr_buf b = {0};
    for (int pass = 0; pass < 2; pass++) {
        llmri_buf_puts(&b, "{\"type\":\"object\",\"properties\":{");
        for (int i = 0; i < 10000; i++)
            llmri_buf_printf(&b, "%s\"p%d\":{\"type\":\"integer\"}", i ? "," : "", i);
        llmri_buf_printf(&b, "}%s}", pass ? ",\"additionalProperties\":{\"type\":\"null\"}" : "");
        char msg[512];
        assert_int_equal(su_compile(llmri_buf_str(&b), msg, sizeof msg), LLMR_OK);
        assert_int_equal(su_judge(llmri_buf_str(&b), "{\"p9999\": 5}"), 1);
        assert_int_equal(su_judge(llmri_buf_str(&b), "{\"p3\":1,\"p2\":1}"), -1);
        assert_int_equal(su_judge(llmri_buf_str(&b), "{\"p9999\":5,\"p1\":null}"),
                         pass ? -1 : -1);
        assert_int_equal(su_judge(llmri_buf_str(&b), "{\"p9999\":5,\"q\":null}"),
                         pass ? 1 : -1);
        llmri_buf_free(&b);
    }
    /* 10 000 enum values and 1 000 anyOf branches */
    llmri_buf_puts(&b, "{\"enum\":[");
    for (int i = 0; i < 10000; i++)
        llmri_buf_printf(&b, "%s\"v%d\"", i ? "," : "", i);
    llmri_buf_puts(&b, "]}");
    assert_int_equal(su_judge(llmri_buf_str(&b), "\"v7777\""), 1);
    llmri_buf_free(&b);
    llmri_buf_puts(&b, "{\"anyOf\":[");
    for (int i = 0; i < 1000; i++)
        llmri_buf_printf(&b, "%s{\"const\":%d}", i ? "," : "", i);
    llmri_buf_puts(&b, "]}");
    assert_int_equal(su_judge(llmri_buf_str(&b), "999"), 1);
    llmri_buf_free(&b);
    /* nesting: within the bound compiles, past it a clear error */
    for (int depth = 30; depth <= 60; depth += 30) {
        for (int i = 0; i < depth; i++)
            llmri_buf_puts(&b, "{\"type\":\"array\",\"items\":");
        llmri_buf_puts(&b, "{\"type\":\"integer\",\"minimum\":-1e300}");
        for (int i = 0; i < depth; i++)
            llmri_buf_puts(&b, "}");
        char msg[512];
        int rc = su_compile(llmri_buf_str(&b), msg, sizeof msg);
        assert_int_equal(rc, depth == 30 ? LLMR_OK : LLMR_ERR_UNSUPPORTED);
        if (rc)
            assert_non_null(strstr(msg, "nested"));
        llmri_buf_free(&b);
    }
    /* maxItems and maxLength past the bound, numbers past a double */
    expect_error("{\"type\":\"array\",\"maxItems\":100000}", LLMR_ERR_UNSUPPORTED, "maxItems");
    expect_error("{\"type\":\"integer\",\"maximum\":1e400}", LLMR_ERR_FORMAT, "maximum");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(objects_required_optional_and_order),
        cmocka_unit_test(arrays_prefix_items_and_counts),
        cmocka_unit_test(enum_const_and_nullable),
        cmocka_unit_test(combinators),
        cmocka_unit_test(refs_local_recursive_and_cycles),
        cmocka_unit_test(formats),
        cmocka_unit_test(errors_name_the_keyword_and_where),
        cmocka_unit_test(hostile_schemas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
