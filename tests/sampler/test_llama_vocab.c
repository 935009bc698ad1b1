/* test_llama_vocab.c - the grammar on the real 32000-token Llama-2 vocabulary (byte-fallback
 * tokens, leading-space pieces): random logits, output must be valid JSON for the schema. */
#include "test_util.h"
#include "sampler/sampler.h"
#include "spm_vocab.h"

#include <cjson/cJSON.h>

static const char SCHEMA[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"color\":{\"enum\":[\"red\",\"green\",\"blue\"]},"
    "\"n\":{\"type\":\"integer\"},"
    "\"ok\":{\"type\":\"boolean\"},"
    "\"tag\":{\"type\":\"string\",\"maxLength\":6},"
    "\"xs\":{\"type\":\"array\",\"items\":{\"type\":\"number\"},\"maxItems\":3}},"
    "\"required\":[\"color\",\"n\",\"ok\"]}";

static void check(const char *text)
{
    cJSON *v = cJSON_ParseWithOpts(text, NULL, true);
    if (!v)
        fail_msg("not JSON:\n%s", text);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(v, "color");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(v, "n");
    const cJSON *ok = cJSON_GetObjectItemCaseSensitive(v, "ok");
    const cJSON *tag = cJSON_GetObjectItemCaseSensitive(v, "tag");
    const cJSON *xs = cJSON_GetObjectItemCaseSensitive(v, "xs");
    if (!cJSON_IsString(c) || (strcmp(c->valuestring, "red") && strcmp(c->valuestring, "green")
                               && strcmp(c->valuestring, "blue")))
        fail_msg("bad color:\n%s", text);
    if (!cJSON_IsNumber(n) || n->valuedouble != (double)(long long)n->valuedouble)
        fail_msg("bad n:\n%s", text);
    if (!cJSON_IsBool(ok) || (tag && !cJSON_IsString(tag)) ||
        (xs && (!cJSON_IsArray(xs) || cJSON_GetArraySize(xs) > 3)))
        fail_msg("bad ok/tag/xs:\n%s", text);
    cJSON_Delete(v);
}

static void json_schema_output_is_valid_on_llama2_vocab(void **st)
{
    REQUIRE_SHARED(path, "models/llama-2-tiny-random.gguf");
    spm_vocab v;
    assert_int_equal(spm_vocab_load(path, &v), 0);
    assert_int_equal(v.n, 32000);
    float *l = malloc((size_t)v.n * sizeof *l);
    int finished = 0;
    for (int run = 0; run < 6; run++) {
        llmr_sampling o = llmr_sampling_defaults();
        if (run % 2) {                         /* every allowed token can be drawn */
            o.top_k = 0;
            o.top_p = 1.0f;
            o.min_p = 0.0f;
        }
        o.seed = 500 + (uint64_t)run;
        o.json_schema = SCHEMA;
        llmr_sampler *s;
        llmr_err e;
        if (llmri_sampler_create(&s, v.n, &o, NULL, v.tok, &v.eos, 1, &e))
            fail_msg("create: %s", e.msg);
        llmr_rng r;
        llmri_rng_seed(&r, 900 + (uint64_t)run);
        char text[8192];
        size_t len = 0;
        for (int k = 0; k < 400 && !llmri_sampler_grammar_done(s); k++) {
            for (int32_t i = 0; i < v.n; i++)
                l[i] = (float)(llmri_rng_uniform(&r) * 8.0);
            int32_t t = llmri_sampler_sample(s, l, &e);
            if (t < 0)
                fail_msg("run %d: %s after '%.*s'", run, e.msg, (int)len, text);
            assert_int_equal(llmri_sampler_accept(s, t, &e), LLMR_OK);
            if (t == v.eos)
                break;
            assert_true(len + v.tok[t].len < sizeof text);
            memcpy(text + len, v.tok[t].ptr, v.tok[t].len);
            len += v.tok[t].len;
        }
        text[len] = 0;
        if (llmri_sampler_grammar_done(s)) {
            finished++;
            if (getenv("LLMR_TEST_VERBOSE"))
                print_message("run %d: %s\n", run, text);
            check(text);
        }
        llmri_sampler_free(s);
    }
    assert_true(finished >= 4);
    free(l);
    spm_vocab_free(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_schema_output_is_valid_on_llama2_vocab),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
