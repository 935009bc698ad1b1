/* schema_util.h - helpers for the JSON schema tests: judge a text against a schema's grammar,
 * compile and read the error, sample with random logits over a toy vocabulary. */
#ifndef LLMR_TEST_SCHEMA_UTIL_H
#define LLMR_TEST_SCHEMA_UTIL_H

#include "test_util.h"
#include "core/buf.h"
#include "sampler/sampler.h"

#include <cjson/cJSON.h>

/* Bytes 0..255 (partial UTF-8 included), then multi-byte tokens, then EOS. */
static const char *const su_multi[] = {
    "{", "{\"", "\":", "\": ", "\",", "\"}", "},", "}", "[", "]", "[]", "{}", "],", "]}",
    "true", "false", "null", "12", "3.", "0.5", "-1", "e+", "  ", "\n  ", ", ", "\\n",
    "\\\"", "\\\\", "\\u00e9", "\\ud83d", "\\ude00", "\\u", "name", "\"name\"", "id",
    "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "2024-", "-02-", "T12:", ":00Z", "00",
    "99", "-0", "0.", "1e", "abc", "@", ".com", "https://", "ffff", "-4", "\"\"",
};
enum { SU_N_MULTI = sizeof su_multi / sizeof *su_multi, SU_V = 256 + SU_N_MULTI + 1 };
static const int32_t SU_EOS = SU_V - 1;
static llmr_bytes su_vocab[SU_V];
static char su_byte[256];

static inline void su_init(void)
{
    for (int i = 0; i < 256; i++) {
        su_byte[i] = (char)i;
        su_vocab[i] = (llmr_bytes){&su_byte[i], 1};
    }
    for (int i = 0; i < SU_N_MULTI; i++)
        su_vocab[256 + i] = (llmr_bytes){su_multi[i], strlen(su_multi[i])};
    su_vocab[SU_EOS] = (llmr_bytes){"", 0};
}

/* The schema's compile result; msg gets the error message. */
static inline int su_compile(const char *schema, char *msg, size_t n)
{
    char *g = NULL;
    int rc = llmr_json_schema_to_grammar(schema, &g, msg, n);
    if (rc == LLMR_OK && llmr_grammar_validate(g, msg, n) != LLMR_OK)
        fail_msg("%s: the schema's grammar does not parse: %s", schema, msg);
    llmr_grammar_text_free(g);
    return rc;
}

/* 1 when text is a complete sentence of the schema's grammar, 0 a prefix, -1 rejected. */
static inline int su_judge(const char *schema, const char *text)
{
    su_init();
    char *gbnf;
    llmr_err e;
    llmr_grammar *g = NULL;
    llmr_gmatch *m = NULL;
    if (llmri_json_schema_gbnf(schema, &gbnf, &e) || llmri_grammar_parse(gbnf, &g, &e) ||
        llmri_gmatch_create(&m, g, su_vocab, SU_V, &SU_EOS, 1, &e))
        fail_msg("%s: %s", schema, e.msg);
    free(gbnf);
    int r = llmri_gmatch_accept_bytes(m, text, strlen(text), NULL) ? -1
            : llmri_gmatch_can_end(m) ? 1 : 0;
    llmri_gmatch_free(m);
    return r;
}

/* Samples with fresh random logits each step (their own PRNG, seeded by seed) until the
 * grammar is done or EOS comes. The text (malloc'd), or NULL when max_tokens ran out. */
static inline char *su_sample(const char *schema, uint64_t seed, int max_tokens)
{
    su_init();
    llmr_sampling o = llmr_sampling_defaults();
    o.top_k = 0;
    o.top_p = 1.0f;
    o.min_p = 0.0f;
    o.temperature = seed % 7 == 3 ? 0.0f : 1.0f;
    o.seed = seed;
    o.json_schema = schema;
    llmr_sampler *s;
    llmr_err e;
    if (llmri_sampler_create(&s, SU_V, &o, NULL, su_vocab, &SU_EOS, 1, &e))
        fail_msg("create: %s\nschema: %s", e.msg, schema);
    llmr_rng r;
    llmri_rng_seed(&r, seed * 7919 + 1);
    static float l[SU_V];
    llmr_buf out = {0};
    bool done = false;
    for (int k = 0; k < max_tokens && !done; k++) {
        double scale = 1.0 + 9.0 * llmri_rng_uniform(&r);
        for (int i = 0; i < SU_V; i++)
            l[i] = (float)(llmri_rng_uniform(&r) * scale);
        int32_t t = llmri_sampler_sample(s, l, &e);
        if (t < 0)
            fail_msg("sample failed after '%s': %s\nschema: %s", llmri_buf_str(&out), e.msg,
                     schema);
        if (llmri_sampler_accept(s, t, &e))
            fail_msg("accept: %s", e.msg);
        if (t == SU_EOS)
            done = true;
        else
            llmri_buf_append(&out, su_vocab[t].ptr, su_vocab[t].len);
        done = done || llmri_sampler_grammar_done(s);
    }
    done = done || llmri_sampler_grammar_done(s);
    llmri_sampler_free(s);
    if (!done) {
        llmri_buf_free(&out);
        return NULL;
    }
    char *txt = llmri_buf_take(&out);
    return txt ? txt : strdup("");
}

#endif
