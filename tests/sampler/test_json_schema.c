/* test_json_schema.c - JSON schema -> GBNF -> sampling with random logits over a toy
 * vocabulary of multi-byte tokens (partial UTF-8 ones included): whatever the weights, the
 * output must parse with cJSON and satisfy the schema. */
#include "test_util.h"
#include "sampler/sampler.h"

#include <cjson/cJSON.h>

/* ---- the toy vocabulary ------------------------------------------------------------------ */

static const char *const multi[] = {
    "{", "{\"", "\":", "\": ", "\",", "\"}", "},", "}", "[", "]", "[]", "{}", "],", "]}",
    "true", "false", "null", "tr", "ue", "fa", "lse", "nu", "ll", "12", "3.", "0.5", "-1",
    "e+", "E-", "  ", "\n  ", "\n", "\t", ", ", "\\n", "\\\"", "\\\\", "\\u00e9", "\\ud83d",
    "\\ude00", "\\u", "\\uD800", "\\u0041", "name", "\"name\"", "age", "\"age\": ", "tags",
    "red", "\"red\"", "green", "\"blue\"", "\"green\"", "ok", "hello world", "id", "\"id\":",
    "x", "\"x\"", "fixed", "\"fixed\"", "note", "\xc3\xa9", "\xc3", "\xa9", "\xe2\x82\xac",
    "\xe2", "\x82\xac", "\xe2\x82", "\xac", "\xf0\x9f\x98\x80", "\xf0\x9f", "\x98\x80",
    "\xf0", "\x9f\x98\x80", "\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97", "\xa5", "\xe6", "\x9c\xac",
    "\xa5\xe6", "\xed\xa0", "\xc0\xaf", "\"\xc3", "a\"b", "\"a\\\"b\"",
};

enum { N_MULTI = sizeof multi / sizeof *multi, N_ASCII = 95 + 3 };
enum { V = N_MULTI + N_ASCII + 2 };            /* + an empty control token + EOS */
static char ascii[N_ASCII][2];
static llmr_bytes vocab[V];
static const int32_t EOS = V - 1;

static void build_vocab(void)
{
    int n = 0;
    for (int i = 0; i < N_MULTI; i++)
        vocab[n++] = (llmr_bytes){multi[i], strlen(multi[i])};
    for (int c = 0x20; c < 0x7F; c++)
        ascii[c - 0x20][0] = (char)c;
    ascii[95][0] = '\n';
    ascii[96][0] = '\t';
    ascii[97][0] = '\r';
    for (int i = 0; i < N_ASCII; i++)
        vocab[n++] = (llmr_bytes){ascii[i], 1};
    vocab[n++] = (llmr_bytes){NULL, 0};        /* like <s>: no text, never allowed */
    vocab[n++] = (llmr_bytes){"", 0};          /* EOS */
}

/* ---- a validator for the schema subset ----------------------------------------------------- */

static bool valid(const cJSON *v, const cJSON *s, char *why, size_t n);

static bool type_ok(const cJSON *v, const char *t)
{
    if (!strcmp(t, "string")) return cJSON_IsString(v);
    if (!strcmp(t, "number")) return cJSON_IsNumber(v);
    if (!strcmp(t, "integer"))
        return cJSON_IsNumber(v) && v->valuedouble == (double)(long long)v->valuedouble;
    if (!strcmp(t, "boolean")) return cJSON_IsBool(v);
    if (!strcmp(t, "null")) return cJSON_IsNull(v);
    if (!strcmp(t, "array")) return cJSON_IsArray(v);
    if (!strcmp(t, "object")) return cJSON_IsObject(v);
    return false;
}

static size_t utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static bool fail_why(char *why, size_t n, const char *msg, const char *detail)
{
    snprintf(why, n, "%s %s", msg, detail ? detail : "");
    return false;
}

static bool object_ok(const cJSON *v, const cJSON *s, char *why, size_t n)
{
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties"), *p, *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(s, "required"))
        if (!cJSON_GetObjectItemCaseSensitive(v, r->valuestring))
            return fail_why(why, n, "missing required key", r->valuestring);
    cJSON_ArrayForEach(p, v) {
        const cJSON *ps = cJSON_GetObjectItemCaseSensitive(props, p->string);
        if (props && !ps)
            return fail_why(why, n, "unknown key", p->string);
        if (ps && !valid(p, ps, why, n))
            return false;
    }
    return true;
}

static bool array_ok(const cJSON *v, const cJSON *s, char *why, size_t n)
{
    const cJSON *mn = cJSON_GetObjectItemCaseSensitive(s, "minItems");
    const cJSON *mx = cJSON_GetObjectItemCaseSensitive(s, "maxItems");
    int size = cJSON_GetArraySize(v);
    if ((mn && size < mn->valueint) || (mx && size > mx->valueint))
        return fail_why(why, n, "array size out of bounds", NULL);
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items"), *e;
    cJSON_ArrayForEach(e, v)
        if (items && !valid(e, items, why, n))
            return false;
    return true;
}

static bool valid(const cJSON *v, const cJSON *s, char *why, size_t n)
{
    const cJSON *c, *t;
    if ((c = cJSON_GetObjectItemCaseSensitive(s, "const")))
        return cJSON_Compare(v, c, true) || fail_why(why, n, "const differs", NULL);
    if ((c = cJSON_GetObjectItemCaseSensitive(s, "enum"))) {
        cJSON_ArrayForEach(t, c)
            if (cJSON_Compare(v, t, true))
                return true;
        return fail_why(why, n, "not an enum value", NULL);
    }
    if ((c = cJSON_GetObjectItemCaseSensitive(s, "anyOf"))) {
        cJSON_ArrayForEach(t, c)
            if (valid(v, t, why, n))
                return true;
        return fail_why(why, n, "no anyOf branch matches", NULL);
    }
    if ((t = cJSON_GetObjectItemCaseSensitive(s, "type"))) {
        bool any = false;
        if (cJSON_IsString(t))
            any = type_ok(v, t->valuestring);
        const cJSON *list = cJSON_IsArray(t) ? t : NULL;
        cJSON_ArrayForEach(c, list)
            any |= type_ok(v, c->valuestring);
        if (!any)
            return fail_why(why, n, "wrong type", NULL);
    }
    const cJSON *mx = cJSON_GetObjectItemCaseSensitive(s, "maxLength");
    if (mx && cJSON_IsString(v) && utf8_len(v->valuestring) > (size_t)mx->valueint)
        return fail_why(why, n, "string too long", v->valuestring);
    if (cJSON_IsObject(v) && cJSON_GetObjectItemCaseSensitive(s, "properties"))
        return object_ok(v, s, why, n);
    if (cJSON_IsArray(v))
        return array_ok(v, s, why, n);
    return true;
}

/* ---- generation ---------------------------------------------------------------------------- */

/* Samples with random logits (a fresh draw each step, from their own PRNG) until the grammar
 * is done or EOS comes; returns the text (malloc'd) or NULL past max_tokens. */
static char *generate(llmr_sampler *s, uint64_t logit_seed, int max_tokens, int *n_tokens)
{
    llmr_rng r;
    llmri_rng_seed(&r, logit_seed);
    float l[V];
    size_t cap = 4096, len = 0;
    char *out = malloc(cap);
    for (int k = 0; k < max_tokens; k++) {
        double scale = 1.0 + 9.0 * llmri_rng_uniform(&r);     /* sometimes very peaked */
        for (int i = 0; i < V; i++)
            l[i] = (float)(llmri_rng_uniform(&r) * scale);
        llmr_err e;
        int32_t t = llmri_sampler_sample(s, l, &e);
        if (t < 0)
            fail_msg("sample failed after %zu bytes '%.*s': %s", len, (int)len, out, e.msg);
        if (llmri_sampler_accept(s, t, &e))
            fail_msg("accept: %s", e.msg);
        *n_tokens = k + 1;
        if (t == EOS)
            break;
        assert_true(vocab[t].len > 0);
        if (len + vocab[t].len + 1 > cap)
            out = realloc(out, cap *= 2);
        memcpy(out + len, vocab[t].ptr, vocab[t].len);
        len += vocab[t].len;
        out[len] = 0;
        if (llmri_sampler_grammar_done(s))
            return out;
    }
    if (llmri_sampler_grammar_done(s))
        return out;
    free(out);
    return NULL;
}

/* Runs `runs` generations; every finished one must parse and validate. Returns how many
 * finished. */
static int check_schema(const char *schema_text, int runs, int max_tokens, bool default_chain)
{
    build_vocab();
    cJSON *schema = schema_text ? cJSON_Parse(schema_text) : NULL;
    int finished = 0;
    for (int run = 0; run < runs; run++) {
        llmr_sampling o = llmr_sampling_defaults();
        if (!default_chain) {                   /* let every allowed token have a chance */
            o.top_k = 0;
            o.top_p = 1.0f;
            o.min_p = 0.0f;
        }
        o.temperature = run % 5 == 4 ? 0.0f : 1.0f;
        o.seed = 1000 + (uint64_t)run;
        o.json_schema = schema_text;
        o.json_object = schema_text == NULL;
        llmr_sampler *s;
        llmr_err e;
        if (llmri_sampler_create(&s, V, &o, NULL, vocab, &EOS, 1, &e))
            fail_msg("create: %s", e.msg);
        int nt = 0;
        char *text = generate(s, 77 + (uint64_t)run, max_tokens, &nt);
        llmri_sampler_free(s);
        if (!text)
            continue;
        finished++;
        if (getenv("LLMR_TEST_VERBOSE"))
            print_message("run %d (%d tokens): %s\n", run, nt, text);
        cJSON *v = cJSON_ParseWithOpts(text, NULL, true);
        if (!v)
            fail_msg("run %d: output is not JSON:\n%s", run, text);
        char why[256] = "";
        if (schema && !valid(v, schema, why, sizeof why))
            fail_msg("run %d: output violates the schema (%s):\n%s", run, why, text);
        if (!schema && !cJSON_IsObject(v))
            fail_msg("run %d: json_object output is not an object:\n%s", run, text);
        cJSON_Delete(v);
        free(text);
    }
    cJSON_Delete(schema);
    if (getenv("LLMR_TEST_VERBOSE"))
        print_message("%d of %d finished\n", finished, runs);
    return finished;
}

static const char PERSON[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"name\":{\"type\":\"string\"},"
    "\"age\":{\"type\":\"integer\"},"
    "\"score\":{\"type\":\"number\"},"
    "\"ok\":{\"type\":\"boolean\"},"
    "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"maxItems\":3},"
    "\"color\":{\"enum\":[\"red\",\"green\",\"blue\"]},"
    "\"nick\":{\"type\":[\"string\",\"null\"]},"
    "\"meta\":{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"},"
    "\"note\":{\"type\":\"string\",\"maxLength\":5}},\"required\":[\"id\"]}},"
    "\"required\":[\"name\",\"age\",\"color\",\"meta\"]}";

static void object_schema_output_always_parses_and_validates(void **st)
{
    int done = check_schema(PERSON, 60, 4000, false);
    assert_true(done >= 55);
}

static void default_chain_output_validates_too(void **st)
{
    int done = check_schema(PERSON, 30, 4000, true);
    assert_true(done >= 27);
}

static void array_enum_const_and_nesting(void **st)
{
    const char *arr = "{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
                      "\"x\":{\"type\":\"number\"},\"y\":{\"const\":\"fixed\"},"
                      "\"z\":{\"anyOf\":[{\"type\":\"boolean\"},{\"type\":\"array\","
                      "\"items\":{\"type\":\"integer\"},\"minItems\":2,\"maxItems\":2}]}},"
                      "\"required\":[\"x\",\"y\"]},\"minItems\":1,\"maxItems\":4}";
    assert_true(check_schema(arr, 40, 4000, false) >= 36);
    const char *en = "{\"enum\":[\"a\\\"b\",\"\\u00e9\",\"x\",42,null,[1,2]]}";
    assert_int_equal(check_schema(en, 30, 200, false), 30);
    assert_int_equal(check_schema("{\"type\":\"boolean\"}", 10, 50, false), 10);
    assert_true(check_schema("{\"type\":\"string\",\"maxLength\":3}", 20, 200, false) >= 18);
}

static void any_json_object_parses(void **st)
{
    /* unbounded nesting may not finish within the budget; what finishes must parse */
    int done = check_schema(NULL, 40, 1500, false);
    assert_true(done >= 30);
}

/* The trie walk that masks all tokens at once must agree with checking each token alone,
 * at every step of random walks through the grammar. */
static void trie_mask_agrees_with_per_token_checks(void **st)
{
    build_vocab();
    char *gbnf;
    llmr_err e;
    assert_int_equal(llmri_json_schema_gbnf(PERSON, &gbnf, &e), LLMR_OK);
    llmr_rng r;
    llmri_rng_seed(&r, 5);
    for (int walk = 0; walk < 20; walk++) {
        llmr_grammar *g;
        llmr_gmatch *m;
        assert_int_equal(llmri_grammar_parse(gbnf, &g, &e), LLMR_OK);
        assert_int_equal(llmri_gmatch_create(&m, g, vocab, V, &EOS, 1, &e), LLMR_OK);
        for (int step = 0; step < 300 && !llmri_gmatch_done(m); step++) {
            uint8_t allowed[V];
            int32_t n = llmri_gmatch_allowed(m, allowed);
            assert_true(n > 0);
            int32_t pick = (int32_t)(llmri_rng_next(&r) % (uint64_t)n), chosen = -1;
            for (int32_t t = 0; t < V; t++) {
                if (allowed[t] != llmri_gmatch_token_ok(m, t))
                    fail_msg("walk %d step %d token %d: mask %d", walk, step, t, allowed[t]);
                if (allowed[t] && pick-- == 0)
                    chosen = t;
            }
            assert_int_equal(llmri_gmatch_accept(m, chosen, &e), LLMR_OK);
        }
        llmri_gmatch_free(m);
    }
    free(gbnf);
}

/* 1 when text is a complete sentence of the schema's grammar, 0 a prefix, -1 rejected */
static int schema_judge(const char *schema, const char *text)
{
    build_vocab();
    char *gbnf;
    llmr_err e;
    llmr_grammar *g = NULL;
    llmr_gmatch *m = NULL;
    if (llmri_json_schema_gbnf(schema, &gbnf, &e) || llmri_grammar_parse(gbnf, &g, &e) ||
        llmri_gmatch_create(&m, g, vocab, V, &EOS, 1, &e))
        fail_msg("%s: %s", schema, e.msg);
    free(gbnf);
    int r = llmri_gmatch_accept_bytes(m, text, strlen(text), NULL) ? -1
            : llmri_gmatch_can_end(m) ? 1 : 0;
    llmri_gmatch_free(m);
    return r;
}

static void exact_sentences_of_schema_grammars(void **st)
{
    const char *len = "{\"type\":\"string\",\"minLength\":2,\"maxLength\":3}";
    assert_int_equal(schema_judge(len, "\"ab\""), 1);
    assert_int_equal(schema_judge(len, "\"a\\u00e9c\""), 1);   /* an escape is one char */
    assert_int_equal(schema_judge(len, "\"a\""), -1);
    assert_int_equal(schema_judge(len, "\"abcd"), -1);
    const char *key = "{\"properties\":{\"a\\\"b\":{\"type\":\"null\"},"
                      "\"\u00e9\":{\"type\":\"integer\"}},\"required\":[\"\u00e9\"]}";
    assert_int_equal(schema_judge(key, "{\"a\\\"b\": null, \"\xc3\xa9\": 7}"), 1);
    assert_int_equal(schema_judge(key, "{\"\xc3\xa9\":-0}"), 1);
    assert_int_equal(schema_judge(key, "{\"a\\\"b\": null}"), -1);   /* required missing */
    assert_int_equal(schema_judge(key, "{\"\xc3\xa9\": 7, \"a"), -1); /* schema order */
    assert_int_equal(schema_judge(key, "{}"), -1);
    const char *arr = "{\"type\":\"array\",\"items\":{\"type\":\"integer\"},"
                      "\"minItems\":1,\"maxItems\":2}";
    assert_int_equal(schema_judge(arr, "[]"), -1);
    assert_int_equal(schema_judge(arr, "[1, 2]"), 1);
    assert_int_equal(schema_judge(arr, "[1,2,"), -1);
    assert_int_equal(schema_judge(arr, "[1.5]"), -1);
    assert_int_equal(schema_judge("{\"type\":\"number\"}", "-0.5e+12"), 1);
    assert_int_equal(schema_judge("{\"type\":\"number\"}", "01"), -1);
    assert_int_equal(schema_judge("{\"type\":\"string\"}", "\"\\ud800\""), -1);
    assert_int_equal(schema_judge("{\"type\":\"string\"}", "\"\\ud83d\\ude00\""), 1);
    assert_int_equal(schema_judge("{\"type\":\"string\"}", "\"a\nb\""), -1);
}

static void schema_errors_are_clear(void **st)
{
    char *g = NULL, msg[256];
    assert_int_equal(llmr_json_schema_to_grammar("{\"type\":", &g, msg, sizeof msg),
                     LLMR_ERR_FORMAT);
    assert_non_null(strstr(msg, "not valid JSON"));
    assert_int_equal(llmr_json_schema_to_grammar("{\"type\":\"date\"}", &g, msg, sizeof msg),
                     LLMR_ERR_UNSUPPORTED);
    assert_non_null(strstr(msg, "date"));
    assert_int_equal(llmr_json_schema_to_grammar("{\"$ref\":\"http://example.com/s.json\"}",
                                                 &g, msg, sizeof msg), LLMR_ERR_UNSUPPORTED);
    assert_int_equal(llmr_json_schema_to_grammar("{\"type\":\"array\",\"maxItems\":-1}", &g,
                                                 msg, sizeof msg), LLMR_ERR_FORMAT);
    assert_null(g);
    char deep[2048] = "";
    for (int i = 0; i < 100; i++)
        strcat(deep, "{\"items\":");
    strcat(deep, "{}");
    for (int i = 0; i < 100; i++)
        strcat(deep, "}");
    assert_int_equal(llmr_json_schema_to_grammar(deep, &g, msg, sizeof msg),
                     LLMR_ERR_UNSUPPORTED);
    assert_non_null(strstr(msg, "nested"));
    assert_int_equal(llmr_json_schema_to_grammar(PERSON, &g, msg, sizeof msg), LLMR_OK);
    assert_non_null(strstr(g, "root ::="));
    assert_int_equal(llmr_grammar_validate(g, msg, sizeof msg), LLMR_OK);
    llmr_grammar_text_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(object_schema_output_always_parses_and_validates),
        cmocka_unit_test(default_chain_output_validates_too),
        cmocka_unit_test(array_enum_const_and_nesting),
        cmocka_unit_test(any_json_object_parses),
        cmocka_unit_test(trie_mask_agrees_with_per_token_checks),
        cmocka_unit_test(exact_sentences_of_schema_grammars),
        cmocka_unit_test(schema_errors_are_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
