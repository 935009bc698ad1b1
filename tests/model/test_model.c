/* test_model.c - the forward pass against independent references: stories260K's float64
 * golden logits and greedy trace, llama.cpp's logits on every qfix type fixture (KL) and on
 * every architecture fixture (1e-4), batched and threaded evaluation, and bad input. */
#include "test_util.h"

#include "model/model.h"
#include "model_test_util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <unistd.h>

static cJSON *load_json(const char *path)
{
    char *txt = slurp(path, NULL);
    assert_non_null(txt);
    cJSON *j = cJSON_Parse(txt);
    free(txt);
    assert_non_null(j);
    return j;
}

/* cJSON_GetArrayItem walks the list from the start: iterate instead. */
static int32_t *json_ids(const cJSON *arr, int *n)
{
    *n = cJSON_GetArraySize(arr);
    int32_t *ids = malloc((size_t)*n * sizeof *ids);
    const cJSON *e;
    int i = 0;
    cJSON_ArrayForEach(e, arr) ids[i++] = (int32_t)e->valuedouble;
    return ids;
}

/* Largest |ours[i] - ref[i]| over a JSON array of n numbers. */
static double max_diff(const cJSON *ref, const float *ours, int n)
{
    assert_int_equal(cJSON_GetArraySize(ref), n);
    double md = 0;
    const cJSON *e;
    int i = 0;
    cJSON_ArrayForEach(e, ref) md = fmax(md, fabs(ours[i++] - e->valuedouble));
    return md;
}

static int argmax(const float *v, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[b])
            b = i;
    return b;
}

static double log_sum_exp(const float *v, int n)
{
    double mx = v[argmax(v, n)], s = 0;
    for (int i = 0; i < n; i++)
        s += exp((double)v[i] - mx);
    return mx + log(s);
}

/* ---- stories260K -------------------------------------------------------------------------- */

/* First-step logits within tol of the golden file, then 64 greedy tokens, one at a time. */
static void check_stories(const char *model, llmr_kv_type kv, double tol)
{
    REQUIRE_SHARED(gpath, "models/stories260K.golden.json");
    cJSON *g = load_json(gpath);
    llmr_model *m = open_model(model, kv, 2);
    llmr_seq *s;
    assert_int_equal(llmri_seq_new(m, 0, &s), LLMR_OK);
    int np, ng;
    int32_t *prompt = json_ids(cJSON_GetObjectItem(g, "prompt_ids"), &np);
    int32_t *greedy = json_ids(cJSON_GetObjectItem(g, "greedy_ids"), &ng);
    const cJSON *gl = cJSON_GetObjectItem(g, "first_step_logits");
    const float *lg;
    assert_int_equal(llmri_seq_eval(s, prompt, np, 0, false, &lg), LLMR_OK);
    const int nv = llmri_model_n_vocab(m);
    assert_int_equal(nv, cJSON_GetArraySize(gl));
    double md = max_diff(gl, lg, nv);
    print_message("%s: first-step max |diff| %.3g\n", model, md);
    assert_true(md <= tol);
    for (int i = 0; i < ng; i++) {
        int32_t t = argmax(lg, nv);
        assert_int_equal(t, greedy[i]);
        assert_int_equal(llmri_seq_eval(s, &t, 1, np + i, false, &lg), LLMR_OK);
    }
    free(prompt);
    free(greedy);
    llmri_seq_free(s);
    llmr_model_close(m);
    cJSON_Delete(g);
}

static void stories260k_f32_matches_golden_and_greedy(void **st)
{
    REQUIRE_SHARED(p, "models/stories260K.gguf");
    check_stories(p, LLMR_KV_F32, 1e-4);
}

static void stories260k_gguf_v1_matches_golden_and_greedy(void **st)
{
    REQUIRE_SHARED(p, "models/stories260K-gguf-v1.gguf");
    check_stories(p, LLMR_KV_F32, 1e-4);
}

/* The F16 file's weights are the F32 ones rounded to half precision (almost every value
 * differs), so its logits cannot be within 1e-4 of the F32 golden; the greedy trace must still
 * be identical and the logits close. */
static void stories260k_f16_greedy_identical(void **st)
{
    REQUIRE_SHARED(p, "models/stories260K-f16.gguf");
    check_stories(p, LLMR_KV_F16, 0.05);
}

/* The default F16 KV cache gives the same trace on the F32 file. */
static void stories260k_f16_cache_greedy_identical(void **st)
{
    REQUIRE_SHARED(p, "models/stories260K.gguf");
    check_stories(p, LLMR_KV_F16, 0.02);
}

/* llama.cpp's logits at all 69 positions of the greedy trace, in one batched eval. */
static void stories260k_matches_llamacpp_every_position(void **st)
{
    REQUIRE_SHARED(p, "models/stories260K.gguf");
    REQUIRE_SHARED(jp, "models/stories260K.llamacpp-logits.json");
    cJSON *j = load_json(jp);
    llmr_model *m = open_model(p, LLMR_KV_F32, 2);
    llmr_seq *s;
    assert_int_equal(llmri_seq_new(m, 0, &s), LLMR_OK);
    int n;
    int32_t *toks = json_ids(cJSON_GetObjectItem(j, "tokens"), &n);
    const cJSON *L = cJSON_GetObjectItem(j, "logits");
    const float *lg;
    assert_int_equal(llmri_seq_eval(s, toks, n, 0, true, &lg), LLMR_OK);
    const int nv = llmri_model_n_vocab(m);
    double md = 0;
    const cJSON *row;
    int r = 0;
    cJSON_ArrayForEach(row, L) md = fmax(md, max_diff(row, lg + (size_t)r++ * nv, nv));
    print_message("stories260K vs llama.cpp, %d positions: max |diff| %.3g\n", n, md);
    assert_true(md <= 1e-4);
    free(toks);
    llmri_seq_free(s);
    llmr_model_close(m);
    cJSON_Delete(j);
}

/* ---- qfix: every tensor type, KL against llama.cpp --------------------------------------- */

static double row_kl(const cJSON *ref, const float *ours, int n)
{
    float *p = malloc((size_t)n * sizeof *p);
    const cJSON *e;
    int i = 0;
    cJSON_ArrayForEach(e, ref) p[i++] = (float)e->valuedouble;
    const double lp = log_sum_exp(p, n), lq = log_sum_exp(ours, n);
    double kl = 0;
    for (i = 0; i < n; i++) {
        const double a = p[i] - lp, b = ours[i] - lq;
        kl += exp(a) * (a - b);
    }
    free(p);
    return kl;
}

static void qfix_every_type_within_kl(void **st)
{
    static const char *types[] = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1",
                                  "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "Q4_K_M"};
    REQUIRE_SHARED(dir, "fixtures/qfix-F32.gguf");
    (void)dir;
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        char mp[64], jp[64];
        snprintf(mp, sizeof mp, "fixtures/qfix-%s.gguf", types[k]);
        snprintf(jp, sizeof jp, "fixtures/qfix-%s.logits.json", types[k]);
        char model[1024];
        snprintf(model, sizeof model, "%s", shared_path(mp));
        cJSON *j = load_json(shared_path(jp));
        llmr_model *m = open_model(model, LLMR_KV_F32, 2);
        llmr_seq *s;
        assert_int_equal(llmri_seq_new(m, 0, &s), LLMR_OK);
        int n;
        int32_t *toks = json_ids(cJSON_GetObjectItem(j, "tokens"), &n);
        const float *lg;
        assert_int_equal(llmri_seq_eval(s, toks, n, 0, true, &lg), LLMR_OK);
        const cJSON *L = cJSON_GetObjectItem(j, "logits");
        const int nv = llmri_model_n_vocab(m), rows = cJSON_GetArraySize(L);
        double sum = 0;
        const cJSON *row;
        int r = 0;
        cJSON_ArrayForEach(row, L) sum += row_kl(row, lg + (size_t)r++ * nv, nv);
        print_message("qfix-%-7s mean KL %.3g over %d positions\n", types[k], sum / rows, rows);
        assert_true(sum / rows <= 1e-3);
        free(toks);
        llmri_seq_free(s);
        llmr_model_close(m);
        cJSON_Delete(j);
    }
}

/* ---- architecture fixtures: 1e-4 against llama.cpp --------------------------------------- */

static void check_arch_full(const char *name)
{
    char mp[128], jp[128];
    snprintf(mp, sizeof mp, "fixtures/arch/archfix-%s.gguf", name);
    snprintf(jp, sizeof jp, "fixtures/arch/archfix-%s.logits.json", name);
    REQUIRE_SHARED(model, mp);
    char mpath[1024];
    snprintf(mpath, sizeof mpath, "%s", model);
    cJSON *j = load_json(shared_path(jp));
    llmr_model *m = open_model(mpath, LLMR_KV_F32, 2);
    llmr_seq *s;
    int n;
    int32_t *toks = json_ids(cJSON_GetObjectItem(j, "tokens"), &n);
    assert_int_equal(llmri_seq_new(m, n, &s), LLMR_OK);
    const float *lg;
    assert_int_equal(llmri_seq_eval(s, toks, n, 0, true, &lg), LLMR_OK);
    const cJSON *L = cJSON_GetObjectItem(j, "logits");
    const int nv = llmri_model_n_vocab(m);
    double md = 0;
    const cJSON *row;
    int r = 0;
    cJSON_ArrayForEach(row, L) md = fmax(md, max_diff(row, lg + (size_t)r++ * nv, nv));
    print_message("archfix-%s: %d positions, max |diff| %.3g\n", name, cJSON_GetArraySize(L), md);
    assert_true(md <= 1e-4);
    free(toks);
    llmri_seq_free(s);
    llmr_model_close(m);
    cJSON_Delete(j);
}

static void arch_llama_tied_output(void **st) { check_arch_full("llama-tied"); }
static void arch_qwen2_biases_neox(void **st) { check_arch_full("qwen2"); }
static void arch_single_kv_head_gqa_200_positions(void **st) { check_arch_full("llama-gqa8"); }

/* "top" format: each position's top-k logits and the log-sum-exp over the whole vocabulary. */
static void check_arch_top(const char *model_rel, const char *json_rel)
{
    REQUIRE_SHARED(model, model_rel);
    char mpath[1024];
    snprintf(mpath, sizeof mpath, "%s", model);
    REQUIRE_SHARED(jpath, json_rel);
    cJSON *j = load_json(jpath);
    llmr_model *m = open_model(mpath, LLMR_KV_F32, 2);
    int n;
    int32_t *toks = json_ids(cJSON_GetObjectItem(j, "tokens"), &n);
    llmr_seq *s;
    assert_int_equal(llmri_seq_new(m, n, &s), LLMR_OK);
    const float *lg;
    assert_int_equal(llmri_seq_eval(s, toks, n, 0, true, &lg), LLMR_OK);
    const int nv = llmri_model_n_vocab(m);
    assert_int_equal(nv, 128256);
    const cJSON *L = cJSON_GetObjectItem(j, "logits");
    double md = 0;
    const cJSON *row;
    int r = 0;
    cJSON_ArrayForEach(row, L) {
        const float *ours = lg + (size_t)r++ * nv;
        md = fmax(md, fabs(log_sum_exp(ours, nv) - cJSON_GetObjectItem(row, "lse")->valuedouble));
        const cJSON *top = cJSON_GetObjectItem(row, "top"), *e;
        cJSON_ArrayForEach(e, top) {
            int id = (int)cJSON_GetArrayItem(e, 0)->valuedouble;
            assert_true(id >= 0 && id < nv);
            md = fmax(md, fabs(ours[id] - cJSON_GetArrayItem(e, 1)->valuedouble));
        }
    }
    const cJSON *last = cJSON_GetObjectItem(j, "last_logits");
    if (last) {
        const int lp = (int)cJSON_GetObjectItem(j, "last_logits_pos")->valuedouble;
        assert_true(lp >= 0 && lp < n);
        md = fmax(md, max_diff(last, lg + (size_t)lp * nv, nv));
    }
    print_message("%s: %d positions, max |diff| %.3g\n", json_rel, n, md);
    assert_true(md <= 1e-4);
    free(toks);
    llmri_seq_free(s);
    llmr_model_close(m);
    cJSON_Delete(j);
}

static void arch_llama3_rope_scaling(void **st)
{
    check_arch_top("fixtures/arch/archfix-llama3.gguf", "fixtures/arch/archfix-llama3.logits.json");
}

static void arch_llama3_long_positions(void **st)
{
    check_arch_top("fixtures/arch/archfix-llama3.gguf",
                   "fixtures/arch/archfix-llama3.long.logits.json");
}

/* ---- evaluation modes ---------------------------------------------------------------------- */

static const int32_t PROMPT[] = {1, 403, 407, 261, 378, 432, 383, 286};

static void incremental_equals_batched_and_threads_agree(void **st)
{
    REQUIRE_SHARED(p, "models/stories260K.gguf");
    const int n = 8;
    float ref[512], one[512];
    llmr_model *m1 = open_model(p, LLMR_KV_F32, 1);
    llmr_seq *s;
    const float *lg;
    assert_int_equal(llmri_seq_new(m1, 0, &s), LLMR_OK);
    assert_int_equal(llmri_seq_eval(s, PROMPT, n, 0, false, &lg), LLMR_OK);
    memcpy(ref, lg, sizeof ref);
    for (int i = 0; i < n; i++)     /* overwrite the cache one token at a time */
        assert_int_equal(llmri_seq_eval(s, PROMPT + i, 1, i, false, &lg), LLMR_OK);
    memcpy(one, lg, sizeof one);
    llmri_seq_free(s);
    llmr_model_close(m1);
    double md = 0;
    for (int i = 0; i < 512; i++)
        md = fmax(md, fabs(ref[i] - one[i]));
    assert_true(md <= 1e-4);

    llmr_model *m2 = open_model(p, LLMR_KV_F32, 2);
    assert_int_equal(llmri_seq_new(m2, 0, &s), LLMR_OK);
    assert_int_equal(llmri_seq_eval(s, PROMPT, n, 0, false, &lg), LLMR_OK);
    for (int i = 0; i < 512; i++)   /* each row is computed whole by one thread */
        assert_true(fabs(lg[i] - ref[i]) <= 1e-6);
    llmri_seq_free(s);
    llmr_model_close(m2);
}

/* One pass over the weights for several sequences gives each its own logits. */
static void batched_decode_matches_separate_sequences(void **st)
{
    REQUIRE_SHARED(p, "models/stories260K.gguf");
    llmr_model *m = open_model(p, LLMR_KV_F32, 2);
    llmr_seq *a, *b, *c;
    const float *lg;
    assert_int_equal(llmri_seq_new(m, 64, &a), LLMR_OK);
    assert_int_equal(llmri_seq_new(m, 64, &b), LLMR_OK);
    assert_int_equal(llmri_seq_new(m, 64, &c), LLMR_OK);
    assert_int_equal(llmri_seq_eval(a, PROMPT, 5, 0, false, &lg), LLMR_OK);
    assert_int_equal(llmri_seq_eval(b, PROMPT + 2, 3, 0, false, &lg), LLMR_OK);
    /* reference for b's next token, computed alone in c */
    assert_int_equal(llmri_seq_eval(c, PROMPT + 2, 3, 0, false, &lg), LLMR_OK);
    int32_t nt = 300;
    assert_int_equal(llmri_seq_eval(c, &nt, 1, 3, false, &lg), LLMR_OK);
    float refb[512];
    memcpy(refb, lg, sizeof refb);
    assert_int_equal(llmri_seq_eval(c, PROMPT, 5, 0, false, &lg), LLMR_OK);
    int32_t nt2 = 301;
    assert_int_equal(llmri_seq_eval(c, &nt2, 1, 5, false, &lg), LLMR_OK);
    float refa[512];
    memcpy(refa, lg, sizeof refa);

    llmr_seq *seqs[2] = {a, b};
    int32_t toks[2] = {301, 300};
    int pos[2] = {5, 3};
    assert_int_equal(llmri_seq_eval_batch(seqs, toks, pos, 2), LLMR_OK);
    for (int i = 0; i < 512; i++) {
        assert_true(fabs(llmri_seq_logits(a)[i] - refa[i]) <= 1e-5);
        assert_true(fabs(llmri_seq_logits(b)[i] - refb[i]) <= 1e-5);
    }
    llmri_seq_free(a);
    llmri_seq_free(b);
    llmri_seq_free(c);
    llmr_model_close(m);
}

static void context_overflow_is_an_error_not_truncation(void **st)
{
    REQUIRE_SHARED(p, "models/stories260K.gguf");
    llmr_model *m = open_model(p, LLMR_KV_F16, 1);
    llmr_seq *s;
    const float *lg;
    assert_int_equal(llmri_seq_new(m, 6, &s), LLMR_OK);
    assert_int_equal(llmri_seq_n_ctx(s), 6);
    assert_int_equal(llmri_seq_eval(s, PROMPT, 8, 0, false, &lg), LLMR_ERR_CONTEXT);
    assert_non_null(strstr(llmri_seq_errmsg(s), "context"));
    assert_int_equal(llmri_seq_eval(s, PROMPT, 6, 0, false, &lg), LLMR_OK);
    assert_int_equal(llmri_seq_eval(s, PROMPT, 1, 6, false, &lg), LLMR_ERR_CONTEXT);
    int32_t bad = 512;
    assert_int_equal(llmri_seq_eval(s, &bad, 1, 0, false, &lg), LLMR_ERR_ARG);
    assert_int_equal(llmri_seq_eval(s, PROMPT, 1, 9, false, &lg), LLMR_ERR_ARG);
    llmri_seq_free(s);
    llmr_model_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stories260k_f32_matches_golden_and_greedy),
        cmocka_unit_test(stories260k_gguf_v1_matches_golden_and_greedy),
        cmocka_unit_test(stories260k_f16_greedy_identical),
        cmocka_unit_test(stories260k_f16_cache_greedy_identical),
        cmocka_unit_test(stories260k_matches_llamacpp_every_position),
        cmocka_unit_test(qfix_every_type_within_kl),
        cmocka_unit_test(arch_llama_tied_output),
        cmocka_unit_test(arch_qwen2_biases_neox),
        cmocka_unit_test(arch_single_kv_head_gqa_200_positions),
        cmocka_unit_test(arch_llama3_rope_scaling),
        cmocka_unit_test(arch_llama3_long_positions),
        cmocka_unit_test(incremental_equals_batched_and_threads_agree),
        cmocka_unit_test(batched_decode_matches_separate_sequences),
        cmocka_unit_test(context_overflow_is_an_error_not_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
