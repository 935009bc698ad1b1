/* test_model_repack.c - load-time repacking of weights (model/weights_repack.c): the dense
 * products of Q4_0, Q8_0, IQ4_NL, Q4_K, Q5_K, Q6_K, F16 and BF16 models are rewritten into
 * their row-interleaved layouts (by default where the CPU's table says so), the logits match those of the plain layout (LLMR_REPACK=0), and the file itself is never
 * changed (the mapping is private). */
#include "test_util.h"

#include "model/model.h"
#include "model_test_util.h"
#include "gguf/gguf.h"
#include "kernels/tensor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const types[] = {"Q4_0", "Q8_0", "IQ4_NL", "F16", "Q4_K", "Q5_K", "Q6_K",
                                    "BF16"};
static const uint32_t type_ids[] = {LLMR_TYPE_Q4_0, LLMR_TYPE_Q8_0, LLMR_TYPE_IQ4_NL,
                                    LLMR_TYPE_F16, LLMR_TYPE_Q4_K, LLMR_TYPE_Q5_K,
                                    LLMR_TYPE_Q6_K, LLMR_TYPE_BF16};
static const int32_t toks[] = {1, 17, 300, 42, 7, 255, 128, 3, 99, 411, 5, 260};
#define N_TOKS ((int)(sizeof toks / sizeof toks[0]))

/* Logits of every position of `toks`, with repacking on ("1"), off ("0") or as the CPU's
 * table says (NULL: no LLMR_REPACK); *interleave gets the first layer's wq layout group (1
 * for plain rows). */
static float *logits_of(const char *path, const char *repack, uint32_t *interleave, int *nv)
{
    if (repack)
        setenv("LLMR_REPACK", repack, 1);
    else
        unsetenv("LLMR_REPACK");
    llmr_model *m = open_model(path, LLMR_KV_F32, 2);
    unsetenv("LLMR_REPACK");
    *interleave = m->layers[0].wq.tr->interleave > 1 ? m->layers[0].wq.tr->interleave : 1;
    llmr_seq *s;
    assert_int_equal(llmri_seq_new(m, 0, &s), LLMR_OK);
    const float *lg;
    assert_int_equal(llmri_seq_eval(s, toks, N_TOKS, 0, true, &lg), LLMR_OK);
    *nv = llmri_model_n_vocab(m);
    float *out = malloc(sizeof(float) * (size_t)*nv * N_TOKS);
    memcpy(out, lg, sizeof(float) * (size_t)*nv * N_TOKS);
    llmri_seq_free(s);
    llmr_model_close(m);
    return out;
}

/* KL(p || q) of two logit rows. */
static double kl(const float *a, const float *b, int n)
{
    double ma = -INFINITY, mb = -INFINITY, za = 0, zb = 0, k = 0;
    for (int i = 0; i < n; i++) {
        ma = fmax(ma, a[i]);
        mb = fmax(mb, b[i]);
    }
    for (int i = 0; i < n; i++) {
        za += exp(a[i] - ma);
        zb += exp(b[i] - mb);
    }
    for (int i = 0; i < n; i++) {
        const double la = a[i] - ma - log(za), lb = b[i] - mb - log(zb);
        k += exp(la) * (la - lb);
    }
    return k;
}

/* The path of types[t]'s fixture in ../shared (shared_path's buffer is reused by each call). */
static void fixture_of(size_t t, char path[1024])
{
    char rel[64];
    snprintf(rel, sizeof rel, "fixtures/qfix-%s.gguf", types[t]);
    snprintf(path, 1024, "%s", shared_path(rel));
}

static void repacked_weights_give_the_logits_of_plain_rows(void **st)
{
    (void)st;
    REQUIRE_SHARED(dir, "fixtures/qfix-Q4_0.gguf");
    (void)dir;
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        char path[1024];
        fixture_of(t, path);
        uint32_t il_on, il_off;
        int nv;
        float *on = logits_of(path, "1", &il_on, &nv), *off = logits_of(path, "0", &il_off, &nv);
        const llmr_type_traits *rt = llmri_traits_repacked(type_ids[t]);
        assert_non_null(rt);                 /* every type listed has a layout at every level */
        assert_int_equal(il_on, rt ? rt->interleave : 1);  /* really repacked */
        assert_int_equal(il_off, 1);     /* and really not */
        double worst = 0;
        for (int r = 0; r < N_TOKS; r++)
            worst = fmax(worst, kl(off + (size_t)r * nv, on + (size_t)r * nv, nv));
        print_message("%-6s repacked vs plain: worst KL %.3g over %d positions\n", types[t],
                      worst, N_TOKS);
        /* only the float accumulation order differs; a wrong layout gives KL of order 1 */
        assert_true(worst <= 1e-4);
        free(on);
        free(off);
    }
}

/* Without LLMR_REPACK, a type is repacked exactly when its entry at this CPU's level says
 * by_default, and gives the plain logits either way. */
static void repacking_by_default_follows_the_table(void **st)
{
    (void)st;
    REQUIRE_SHARED(dir, "fixtures/qfix-Q4_0.gguf");
    (void)dir;
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        char path[1024];
        fixture_of(t, path);
        const llmr_type_traits *rt = llmri_traits_repacked(type_ids[t]);
        uint32_t il;
        int nv;
        float *lg = logits_of(path, NULL, &il, &nv);
        assert_int_equal(il, rt && rt->by_default ? rt->interleave : 1);
        free(lg);
    }
}

/* sha256 of a tensor's values read through a fresh mapping of the file. */
static void file_tensor_sha(const char *path, const char *name, char hex[65])
{
    gguf_file *f;
    llmr_err err = {0};
    assert_int_equal(gguf_open(path, &f, &err), LLMR_OK);
    const gguf_tensor *t = gguf_find_tensor(f, name);
    assert_non_null(t);
    assert_int_equal(llmri_tensor_sha256(t, hex, &err), LLMR_OK);
    gguf_close(f);
}

static void repacking_rewrites_memory_but_never_the_file(void **st)
{
    (void)st;
    REQUIRE_SHARED(path, "fixtures/qfix-Q8_0.gguf");
    char before[65], after[65];
    file_tensor_sha(path, "blk.0.attn_q.weight", before);
    gguf_file *f;
    llmr_err err = {0};
    assert_int_equal(gguf_open(path, &f, &err), LLMR_OK);
    const gguf_tensor *t = gguf_find_tensor(f, "blk.0.attn_q.weight");
    setenv("LLMR_REPACK", "1", 1);
    llmr_model *m = open_model(path, LLMR_KV_F32, 1);
    unsetenv("LLMR_REPACK");
    const llmr_mat *wq = &m->layers[0].wq;
    assert_int_equal(wq->tr->interleave, 8);
    /* the model's bytes are rearranged: its first group no longer reads as the file's rows */
    assert_memory_not_equal(wq->data, t->data, wq->row_bytes * 8);
    file_tensor_sha(path, "blk.0.attn_q.weight", after);
    assert_string_equal(before, after);
    llmr_model_close(m);
    gguf_close(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(repacked_weights_give_the_logits_of_plain_rows),
        cmocka_unit_test(repacking_by_default_follows_the_table),
        cmocka_unit_test(repacking_rewrites_memory_but_never_the_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
