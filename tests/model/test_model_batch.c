/* test_model_batch.c - mixed batched evaluation (llmri_seq_eval_mixed): several sequences in
 * one pass, each with its own run of tokens at its own positions, must give every sequence the
 * logits it gets when evaluated alone; bad parts are refused before anything is evaluated; a
 * part that would run past its context is an error, never truncated; an aborted pass drops the
 * rows it was evaluating and nothing else. */
#include "test_util.h"

#include "model/model.h"
#include "model_test_util.h"

#include <math.h>

/* A deterministic token stream inside the vocabulary (id 0 avoided: some vocabularies keep
 * it for <unk>, which is still a valid id, but varied ids exercise more of the embedding). */
static void fill_tokens(int32_t *t, int n, int seed, int n_vocab)
{
    for (int i = 0; i < n; i++)
        t[i] = 1 + (int32_t)(((unsigned)seed * 7919u + (unsigned)i * 104729u) % (unsigned)(n_vocab - 1));
}

static double max_abs_diff(const float *a, const float *b, int n)
{
    double md = 0;
    for (int i = 0; i < n; i++)
        md = fmax(md, fabs((double)a[i] - (double)b[i]));
    return md;
}

/* The shape of one mixed step: each sequence has `cached` tokens evaluated beforehand, then
 * `n` more in the batch. */
typedef struct shape { int cached, n; } shape;

/* Evaluates the shapes in one mixed pass and each sequence alone; logits must agree. */
static void check_mixed(const char *path, llmr_kv_type kv, int threads, const shape *sh, int ns,
                        double tol)
{
    llmr_model *m = open_model(path, kv, threads);
    const int nv = llmri_model_n_vocab(m);
    llmr_seq *seq[8], *ref;
    int32_t toks[8][160];
    llmr_batch_part parts[8];
    const float *lg;
    assert_true(ns <= 8);
    assert_int_equal(llmri_seq_new(m, 192, &ref), LLMR_OK);
    for (int i = 0; i < ns; i++) {
        assert_true(sh[i].cached + sh[i].n <= 160);
        fill_tokens(toks[i], sh[i].cached + sh[i].n, i + 1, nv);
        assert_int_equal(llmri_seq_new(m, 192, &seq[i]), LLMR_OK);
        if (sh[i].cached)
            assert_int_equal(llmri_seq_eval(seq[i], toks[i], sh[i].cached, 0, false, &lg), LLMR_OK);
        parts[i] = (llmr_batch_part){seq[i], toks[i] + sh[i].cached, sh[i].n, sh[i].cached};
    }
    int bad = 99;
    assert_int_equal(llmri_seq_eval_mixed(parts, ns, NULL, &bad), LLMR_OK);
    assert_int_equal(bad, -1);
    float *ref_lg = malloc((size_t)nv * sizeof *ref_lg);
    for (int i = 0; i < ns; i++) {
        /* the reference: the whole run alone, the cached part first as the batch had it */
        if (sh[i].cached)
            assert_int_equal(llmri_seq_eval(ref, toks[i], sh[i].cached, 0, false, &lg), LLMR_OK);
        assert_int_equal(llmri_seq_eval(ref, toks[i] + sh[i].cached, sh[i].n, sh[i].cached,
                                       false, &lg), LLMR_OK);
        memcpy(ref_lg, lg, (size_t)nv * sizeof *ref_lg);
        double d = max_abs_diff(llmri_seq_logits(seq[i]), ref_lg, nv);
        if (d > tol)
            print_message("%s: part %d (cached %d, n %d): max |diff| %g\n", path, i,
                          sh[i].cached, sh[i].n, d);
        assert_true(d <= tol);
        /* the next decode step sees the batch's cache like the reference's */
        int32_t next = toks[i][0];
        const int p = sh[i].cached + sh[i].n;
        assert_int_equal(llmri_seq_eval(ref, &next, 1, p, false, &lg), LLMR_OK);
        memcpy(ref_lg, lg, (size_t)nv * sizeof *ref_lg);
        assert_int_equal(llmri_seq_eval(seq[i], &next, 1, p, false, &lg), LLMR_OK);
        assert_true(max_abs_diff(lg, ref_lg, nv) <= tol);
    }
    free(ref_lg);
    for (int i = 0; i < ns; i++)
        llmri_seq_free(seq[i]);
    llmri_seq_free(ref);
    llmr_model_close(m);
}

/* prompt chunks, decode tokens and a fresh prompt, at different positions, in one pass */
static const shape MIXED[] = {{0, 9}, {5, 1}, {12, 4}, {3, 1}, {0, 1}, {40, 17}};

static void stories_mixed_f32_cache(void **st)
{
    REQUIRE_SHARED(p, "models/stories260K.gguf");
    check_mixed(p, LLMR_KV_F32, 2, MIXED, 6, 1e-4);
}

static void stories_mixed_f16_cache_one_thread(void **st)
{
    REQUIRE_SHARED(p, "models/stories260K.gguf");
    check_mixed(p, LLMR_KV_F16, 1, MIXED, 6, 1e-4);
}

/* eight decode tokens (the server's steady state) and eight prompts starting together */
static void stories_eight_decodes_and_eight_prompts(void **st)
{
    REQUIRE_SHARED(p, "models/stories260K.gguf");
    const shape dec[8] = {{7, 1}, {8, 1}, {9, 1}, {30, 1}, {31, 1}, {1, 1}, {2, 1}, {60, 1}};
    check_mixed(p, LLMR_KV_F16, 2, dec, 8, 1e-4);
    const shape pro[8] = {{0, 15}, {0, 15}, {0, 15}, {0, 15}, {0, 15}, {0, 15}, {0, 15}, {0, 15}};
    check_mixed(p, LLMR_KV_F16, 2, pro, 8, 1e-4);
}

/* Quantized weights (Q4_0 tiles see rows from several sequences) and GQA with biases. The
 * tolerance is relative to the logits' scale on these fixtures (values of order 1-10). */
static void fixtures_mixed(void **st)
{
    REQUIRE_SHARED(q, "fixtures/qfix-Q4_0.gguf");
    check_mixed(q, LLMR_KV_F16, 2, MIXED, 6, 1e-3);
    REQUIRE_SHARED(a, "fixtures/arch/archfix-qwen2.gguf");
    check_mixed(a, LLMR_KV_F32, 2, MIXED, 6, 1e-4);
    REQUIRE_SHARED(g, "fixtures/arch/archfix-llama-gqa8.gguf");
    check_mixed(g, LLMR_KV_F16, 2, MIXED, 6, 1e-4);
}

/* A part that would run past its sequence's context fails the whole call with
 * LLMR_ERR_CONTEXT before anything is evaluated, naming that part; exactly filling it works. */
static void context_end_is_an_error_not_truncation(void **st)
{
    REQUIRE_SHARED(p, "models/stories260K.gguf");
    llmr_model *m = open_model(p, LLMR_KV_F16, 1);
    const int nv = llmri_model_n_vocab(m);
    llmr_seq *a, *b;
    const float *lg;
    int32_t t[16];
    fill_tokens(t, 16, 3, nv);
    assert_int_equal(llmri_seq_new(m, 32, &a), LLMR_OK);
    assert_int_equal(llmri_seq_new(m, 8, &b), LLMR_OK);
    assert_int_equal(llmri_seq_eval(b, t, 6, 0, false, &lg), LLMR_OK);
    float before[512];
    assert_true(nv <= 512);
    memcpy(before, llmri_seq_logits(b), (size_t)nv * sizeof(float));

    llmr_batch_part parts[2] = {{a, t, 4, 0}, {b, t + 6, 3, 6}};
    int bad = -7;
    assert_int_equal(llmri_seq_eval_mixed(parts, 2, NULL, &bad), LLMR_ERR_CONTEXT);
    assert_int_equal(bad, 1);
    assert_non_null(strstr(llmri_seq_errmsg(b), "context of 8 positions"));
    /* nothing was evaluated: b's logits unchanged, a still has nothing cached (position 1
     * cannot be evaluated yet) */
    assert_memory_equal(before, llmri_seq_logits(b), (size_t)nv * sizeof(float));
    assert_int_equal(llmri_seq_eval(a, t, 1, 1, false, &lg), LLMR_ERR_ARG);

    parts[1].n = 2;   /* positions 6 and 7: the last two of 8 */
    assert_int_equal(llmri_seq_eval_mixed(parts, 2, NULL, &bad), LLMR_OK);
    assert_int_equal(bad, -1);
    parts[0] = (llmr_batch_part){a, t + 4, 1, 4};
    parts[1] = (llmr_batch_part){b, t, 1, 8};
    assert_int_equal(llmri_seq_eval_mixed(parts, 2, NULL, &bad), LLMR_ERR_CONTEXT);
    assert_int_equal(bad, 1);
    llmri_seq_free(a);
    llmri_seq_free(b);
    llmr_model_close(m);
}

static void bad_parts_are_refused(void **st)
{
    REQUIRE_SHARED(p, "models/stories260K.gguf");
    llmr_model *m = open_model(p, LLMR_KV_F16, 1);
    const int nv = llmri_model_n_vocab(m);
    llmr_seq *a, *b;
    assert_int_equal(llmri_seq_new(m, 600, &a), LLMR_OK);
    assert_int_equal(llmri_seq_new(m, 600, &b), LLMR_OK);
    int32_t *t = malloc(600 * sizeof *t);
    fill_tokens(t, 600, 1, nv);
    int bad;
    llmr_batch_part parts[2] = {{a, t, 4, 0}, {a, t, 4, 0}};
    assert_int_equal(llmri_seq_eval_mixed(parts, 2, NULL, &bad), LLMR_ERR_ARG);
    assert_int_equal(bad, 1);
    assert_non_null(strstr(llmri_seq_errmsg(a), "twice"));
    parts[1] = (llmr_batch_part){b, t, 0, 0};
    assert_int_equal(llmri_seq_eval_mixed(parts, 2, NULL, &bad), LLMR_ERR_ARG);
    assert_int_equal(bad, 1);
    parts[1] = (llmr_batch_part){b, t, 1, 1};   /* position 1 with nothing cached */
    assert_int_equal(llmri_seq_eval_mixed(parts, 2, NULL, &bad), LLMR_ERR_ARG);
    assert_int_equal(bad, 1);
    t[6] = nv;   /* part 0 reads t[0..4), part 1 t[4..7) */
    parts[1] = (llmr_batch_part){b, t + 4, 3, 0};
    assert_int_equal(llmri_seq_eval_mixed(parts, 2, NULL, &bad), LLMR_ERR_ARG);
    assert_int_equal(bad, 1);
    assert_non_null(strstr(llmri_seq_errmsg(b), "outside the vocabulary"));
    t[6] = 5;
    parts[1] = (llmr_batch_part){b, t, LLMR_UBATCH, 0};   /* 4 + 512 rows */
    assert_int_equal(llmri_seq_eval_mixed(parts, 2, NULL, &bad), LLMR_ERR_ARG);
    assert_int_equal(bad, 1);
    assert_non_null(strstr(llmri_seq_errmsg(b), "rows"));
    assert_int_equal(llmri_seq_eval_mixed(parts, 0, NULL, &bad), LLMR_ERR_ARG);
    assert_int_equal(llmri_seq_eval_mixed(parts, LLMR_MAX_BATCH_SEQS + 1, NULL, &bad),
                     LLMR_ERR_ARG);
    free(t);
    llmri_seq_free(a);
    llmri_seq_free(b);
    llmr_model_close(m);
}

static bool stop_after(void *user)
{
    int *left = user;
    return (*left)-- <= 0;
}

/* A pass stopped between layers drops the rows it was evaluating from every sequence and
 * keeps what was cached before; evaluating them again gives the uninterrupted result. */
static void aborted_pass_drops_its_rows(void **st)
{
    REQUIRE_SHARED(p, "models/stories260K.gguf");
    llmr_model *m = open_model(p, LLMR_KV_F32, 2);
    const int nv = llmri_model_n_vocab(m);
    llmr_seq *a, *b, *r;
    const float *lg;
    int32_t t[32];
    fill_tokens(t, 32, 5, nv);
    assert_int_equal(llmri_seq_new(m, 64, &a), LLMR_OK);
    assert_int_equal(llmri_seq_new(m, 64, &b), LLMR_OK);
    assert_int_equal(llmri_seq_new(m, 64, &r), LLMR_OK);
    assert_int_equal(llmri_seq_eval(a, t, 10, 0, false, &lg), LLMR_OK);
    int left = 2;   /* two layers run, then stop */
    llmr_abort ab = {stop_after, &left};
    llmr_batch_part parts[2] = {{a, t + 10, 1, 10}, {b, t, 6, 0}};
    assert_int_equal(llmri_seq_eval_mixed(parts, 2, &ab, NULL), LLMR_ERR_CANCELLED);
    /* a keeps its 10 positions, b has none */
    assert_int_equal(llmri_seq_eval(a, t, 1, 11, false, &lg), LLMR_ERR_ARG);
    assert_int_equal(llmri_seq_eval(b, t, 1, 1, false, &lg), LLMR_ERR_ARG);
    assert_int_equal(llmri_seq_eval_mixed(parts, 2, NULL, NULL), LLMR_OK);
    assert_int_equal(llmri_seq_eval(r, t, 11, 0, false, &lg), LLMR_OK);
    assert_true(max_abs_diff(llmri_seq_logits(a), lg, nv) <= 1e-4);
    assert_int_equal(llmri_seq_eval(r, t, 6, 0, false, &lg), LLMR_OK);
    assert_true(max_abs_diff(llmri_seq_logits(b), lg, nv) <= 1e-4);
    llmri_seq_free(a);
    llmri_seq_free(b);
    llmri_seq_free(r);
    llmr_model_close(m);
}

/* A copied cache range serves like an evaluated one: the sequences may differ in length. */
static void copied_prefix_gives_the_same_logits(void **st)
{
    REQUIRE_SHARED(p, "models/stories260K.gguf");
    for (int kv = 0; kv < 2; kv++) {
        llmr_model *m = open_model(p, kv ? LLMR_KV_F16 : LLMR_KV_F32, 2);
        const int nv = llmri_model_n_vocab(m);
        llmr_seq *a, *b;
        const float *lg;
        int32_t t[12];
        fill_tokens(t, 12, 9, nv);
        assert_int_equal(llmri_seq_new(m, 64, &a), LLMR_OK);
        assert_int_equal(llmri_seq_new(m, 24, &b), LLMR_OK);
        assert_int_equal(llmri_seq_eval(a, t, 12, 0, false, &lg), LLMR_OK);
        assert_int_equal(llmri_seq_eval(b, t, 3, 0, false, &lg), LLMR_OK);
        assert_int_equal(llmri_seq_copy_range(b, a, 4, 10), LLMR_ERR_ARG);    /* gap at 3 */
        assert_int_equal(llmri_seq_copy_range(b, a, 3, 13), LLMR_ERR_ARG);    /* a holds 12 */
        assert_int_equal(llmri_seq_copy_range(b, b, 0, 3), LLMR_ERR_ARG);
        assert_int_equal(llmri_seq_copy_range(b, a, 3, 10), LLMR_OK);
        assert_int_equal(llmri_seq_eval(b, t + 10, 2, 10, false, &lg), LLMR_OK);
        /* F16: the q.k products of 2 and of 12 query rows may take different kernel paths
         * (summation orders); the softmax stays in float, so that reaches the logits */
        assert_true(max_abs_diff(lg, llmri_seq_logits(a), nv) <= (kv ? 5e-5 : 1e-5));
        /* positions past the copied range were dropped */
        assert_int_equal(llmri_seq_copy_range(b, a, 0, 2), LLMR_OK);
        assert_int_equal(llmri_seq_eval(b, t, 1, 3, false, &lg), LLMR_ERR_ARG);
        llmri_seq_free(a);
        llmri_seq_free(b);
        llmr_model_close(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stories_mixed_f32_cache),
        cmocka_unit_test(stories_mixed_f16_cache_one_thread),
        cmocka_unit_test(stories_eight_decodes_and_eight_prompts),
        cmocka_unit_test(fixtures_mixed),
        cmocka_unit_test(context_end_is_an_error_not_truncation),
        cmocka_unit_test(bad_parts_are_refused),
        cmocka_unit_test(aborted_pass_drops_its_rows),
        cmocka_unit_test(copied_prefix_gives_the_same_logits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
