/* test_model_arch.c - the families of arch_dense.c and arch_moe.c through every evaluation
 * path: a prompt evaluated at once, token by token (each decode step reads the cache, past the
 * sliding window), and in mixed batches with other sequences (rows of several sequences routed
 * to the same expert, windows at different positions) must give the same logits. The models
 * are made by `llmr synth --shape ARCH-tiny` ($LLMR_BIN) with the 512-token stories260K
 * tokenizer; arch_dense.sh checks the logits themselves against references. */
#include "test_util.h"

#include "model/model.h"
#include "model_test_util.h"

#include <math.h>
#include <unistd.h>

#define N_TOK 40   /* past the -tiny shapes' 8-position windows several times over */

static const char *const SHAPES[] = {"gemma-tiny",     "gemma2-tiny",   "gemma3-tiny",
                                     "phi3-tiny",      "qwen3-tiny",    "llama-moe-tiny",
                                     "qwen2moe-tiny",  "qwen3moe-tiny"};

/* Makes the model of a shape in a temporary folder; NULL (and a skip) without ../shared. */
static char *make_model(const char *shape, const char *type, char *dir)
{
    const char *vocab = shared_path("models/stories260K.gguf");
    const char *bin = getenv("LLMR_BIN");
    if (!vocab || !bin)
        return NULL;
    static char path[1200];
    snprintf(path, sizeof path, "%s/%s-%s.gguf", dir, shape, type);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' synth --shape %s --type %s --seed 3 -t 1 --vocab '%s' -o '%s' "
             "2>/dev/null", bin, shape, type, vocab, path);
    int rc = system(cmd);
    if (rc != 0)
        print_message("%s failed (%d)\n", cmd, rc);
    assert_int_equal(rc, 0);
    return path;
}

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

/* The logits of every position, from one call, equal those of decoding token by token.
 * Equal up to rounding: a row's sums are ordered differently when it is computed alone (the
 * F16 attention dots run over the positions up to the row, not the whole tile's), and the
 * 8-bit activations of quantized weights can turn a last-bit difference into one quantization
 * step; hence `tol`. */
static void check_incremental(const char *path, llmr_kv_type kv, const char *shape, double tol)
{
    llmr_model *m = open_model(path, kv, 2);
    const int nv = llmri_model_n_vocab(m);
    int32_t t[N_TOK];
    fill_tokens(t, N_TOK, 5, nv);
    llmr_seq *a, *b;
    const float *lg;
    assert_int_equal(llmri_seq_new(m, 64, &a), LLMR_OK);
    assert_int_equal(llmri_seq_new(m, 64, &b), LLMR_OK);
    assert_int_equal(llmri_seq_eval(a, t, N_TOK, 0, true, &lg), LLMR_OK);
    float *all = malloc((size_t)N_TOK * nv * sizeof *all);
    memcpy(all, lg, (size_t)N_TOK * nv * sizeof *all);
    double md = 0;
    for (int i = 0; i < N_TOK; i++) {
        assert_int_equal(llmri_seq_eval(b, t + i, 1, i, false, &lg), LLMR_OK);
        md = fmax(md, max_abs_diff(lg, all + (size_t)i * nv, nv));
    }
    print_message("%s (%s cache): token by token vs at once: max |diff| %.3g\n", shape,
                  kv == LLMR_KV_F16 ? "F16" : "F32", md);
    assert_true(md <= tol);
    free(all);
    llmri_seq_free(a);
    llmri_seq_free(b);
    llmr_model_close(m);
}

/* Prompt chunks and decode tokens of several sequences in one pass equal each alone. */
static void check_mixed(const char *path, const char *shape, double tol)
{
    static const struct { int cached, n; } sh[] = {{0, 9}, {5, 1}, {12, 4}, {20, 1}, {0, 1},
                                                   {10, 17}};
    const int ns = (int)(sizeof sh / sizeof sh[0]);
    llmr_model *m = open_model(path, LLMR_KV_F32, 2);
    const int nv = llmri_model_n_vocab(m);
    llmr_seq *seq[6], *ref;
    int32_t toks[6][32];
    llmr_batch_part parts[6];
    const float *lg;
    for (int i = 0; i < ns; i++) {
        fill_tokens(toks[i], sh[i].cached + sh[i].n, i + 1, nv);
        assert_int_equal(llmri_seq_new(m, 64, &seq[i]), LLMR_OK);
        if (sh[i].cached)
            assert_int_equal(llmri_seq_eval(seq[i], toks[i], sh[i].cached, 0, false, &lg), LLMR_OK);
        parts[i] = (llmr_batch_part){seq[i], toks[i] + sh[i].cached, sh[i].n, sh[i].cached};
    }
    int bad = 99;
    assert_int_equal(llmri_seq_eval_mixed(parts, ns, NULL, &bad), LLMR_OK);
    assert_int_equal(bad, -1);
    double md = 0;
    for (int i = 0; i < ns; i++) {
        assert_int_equal(llmri_seq_new(m, 64, &ref), LLMR_OK);
        assert_int_equal(llmri_seq_eval(ref, toks[i], sh[i].cached + sh[i].n, 0, false, &lg),
                         LLMR_OK);
        md = fmax(md, max_abs_diff(llmri_seq_logits(seq[i]), lg, nv));
        llmri_seq_free(ref);
        llmri_seq_free(seq[i]);
    }
    print_message("%s: mixed batch vs alone: max |diff| %.3g\n", shape, md);
    assert_true(md <= tol);
    llmr_model_close(m);
}

static void every_path_gives_the_same_logits(void **st)
{
    (void)st;
    char dir[] = "/tmp/llmr-arch-XXXXXX";
    assert_non_null(mkdtemp(dir));
    for (size_t i = 0; i < sizeof SHAPES / sizeof SHAPES[0]; i++) {
        char *p = make_model(SHAPES[i], "F32", dir);
        if (!p) {
            rmdir(dir);
            print_message("skipped: ../shared/models/stories260K.gguf or $LLMR_BIN is absent\n");
            skip();
        }
        check_incremental(p, LLMR_KV_F32, SHAPES[i], 1e-5);
        check_incremental(p, LLMR_KV_F16, SHAPES[i], 1e-3);
        check_mixed(p, SHAPES[i], 1e-5);
        unlink(p);
    }
    rmdir(dir);
}

/* A quantized expert model: each expert's rows tile Q4_K blocks, the router stays F32. The
 * logits are of order 1 (sd 0.3): a difference of 1e-2 is one 8-bit activation step. */
static void quantized_experts_decode_as_they_prefill(void **st)
{
    (void)st;
    char dir[] = "/tmp/llmr-arch-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *p = make_model("qwen3moe-tiny", "Q4_K_M", dir);
    if (!p) {
        rmdir(dir);
        skip();
    }
    check_incremental(p, LLMR_KV_F32, "qwen3moe-tiny Q4_K_M", 1e-2);
    check_incremental(p, LLMR_KV_F16, "qwen3moe-tiny Q4_K_M", 5e-2);
    check_mixed(p, "qwen3moe-tiny Q4_K_M", 1e-2);
    unlink(p);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_path_gives_the_same_logits),
        cmocka_unit_test(quantized_experts_decode_as_they_prefill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
