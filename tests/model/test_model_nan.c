/* test_model_nan.c - a model whose weights hold NaN or infinities: the row kernels stay
 * defined behaviour (UBSan runs these), and evaluation fails with an error that says what is
 * NaN and which layer first made it so, through the model layer, the mixed batch and the
 * stream API. The broken models are copies of stories260K (F32) with one tensor overwritten. */
#include "test_util.h"

/* rowops_exp itself: the header's kernels, compiled here as rowops.c compiles them */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#define LLMR_ROWOPS_IMPL
#include "model/rowops.h"   /* first: forward.h includes it without the kernels */
#pragma GCC diagnostic pop

#include "gguf/gguf.h"
#include "kernels/quants.h"
#include "model/forward.h"


#include <math.h>
#include <unistd.h>

/* ---- the row kernels --------------------------------------------------------------------- */

/* NaN used to reach the exponent arithmetic of rowops_exp and overflow int32 (UBSan: signed
 * integer overflow); out-of-range values clamp. */
static void exp_handles_nan_and_extremes(void **st)
{
    (void)st;
    assert_true(isnan(rowops_exp(NAN)));
    assert_true(isnan(rowops_exp(-NAN)));
    assert_true(rowops_exp(-INFINITY) >= 0.0f && rowops_exp(-INFINITY) < 1e-37f);
    assert_true(isfinite(rowops_exp(INFINITY)) && rowops_exp(INFINITY) > 1e38f);
    assert_true(fabsf(rowops_exp(1.0f) - 2.7182818f) < 1e-6f);
    assert_true(fabsf(rowops_exp(-1e30f)) < 1e-37f);
}

static void softmax_and_swiglu_propagate_nan(void **st)
{
    (void)st;
    const llmr_rowops *ops = llmri_rowops_get();
    float s[19];
    for (int i = 0; i < 19; i++)
        s[i] = (float)i;
    s[11] = NAN;
    ops->softmax(s, 19, 17, 1.0f);
    for (int i = 0; i < 17; i++)
        assert_true(isnan(s[i]));
    assert_true(s[17] == 0.0f && s[18] == 0.0f);

    float a[20], b[20];
    for (int i = 0; i < 20; i++)
        a[i] = i % 2 ? NAN : (i % 4 ? 1e30f : -1e30f), b[i] = 1.0f;
    ops->swiglu(a, b, 20);
    for (int i = 0; i < 20; i++)
        assert_true(i % 2 ? isnan(a[i]) : (i % 4 ? a[i] == 1e30f : fabsf(a[i]) < 1e-8f));
}

/* ---- broken models ------------------------------------------------------------------------ */

/* Copies `src` to a temporary file with every value of F32 tensor `name` set to v. */
/* The reference activation quantizers cast a rounded float to int8/int: NaN and infinities
 * must not reach the cast (UBSan: float-cast-overflow) whatever the rest of the block holds. */
static void reference_quantizers_take_nan(void **st)
{
    (void)st;
    float x[256];
    for (int i = 0; i < 256; i++)
        x[i] = (float)(i % 7) - 3.0f;
    x[5] = NAN;
    x[77] = INFINITY;
    x[200] = -INFINITY;
    block_q8_0 q0[8];
    llmri_q8_0_from_float_ref(x, q0, 256);
    assert_int_equal(q0[0].qs[5], 0);      /* NaN */
    assert_int_equal(q0[0].qs[0], -127);   /* -3 of a block whose largest magnitude is 3 */
    assert_int_equal(q0[2].qs[77 - 64], 0);   /* inf * (127 / inf) is NaN */
    block_q8_K qk;
    llmri_q8_K_from_float_ref(x, &qk, 256);
    for (int i = 0; i < 256; i++)
        assert_true(qk.qs[i] >= -128 && qk.qs[i] <= 127);
}

static void broken_copy(const char *src, const char *name, float v, char *path, size_t len)
{
    gguf_file *gf;
    llmr_err err = {0};
    assert_int_equal(gguf_open(src, &gf, &err), LLMR_OK);
    const gguf_tensor *t = gguf_find_tensor(gf, name);
    assert_non_null(t);
    assert_int_equal(t->type, LLMR_TYPE_F32);
    uint8_t *bytes = malloc(gf->size);
    assert_non_null(bytes);
    memcpy(bytes, gf->base, gf->size);
    float *vals = (float *)(bytes + gf->data_offset + t->offset);
    for (uint64_t i = 0; i < t->n_elements; i++)
        memcpy(vals + i, &v, sizeof v);
    snprintf(path, len, "/tmp/llmr_nan_%d_%s.gguf", (int)getpid(), name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, gf->size, f), gf->size);
    fclose(f);
    free(bytes);
    gguf_close(gf);
}

static llmr_model *open_broken(const char *name, float v, char *path, size_t len)
{
    const char *src = shared_path("models/stories260K.gguf");
    broken_copy(src, name, v, path, len);
    llmr_model_opts o = llmr_model_defaults();
    o.n_threads = 1;
    llmr_model *m;
    assert_int_equal(llmr_model_open(path, &o, &m), LLMR_OK);
    return m;
}

static const int32_t PROMPT[] = {1, 403, 407, 261, 378};

static void expect_eval_error(const char *tensor, float v, const char *what, const char *where)
{
    char path[256];
    llmr_model *m = open_broken(tensor, v, path, sizeof path);
    llmr_seq *s;
    assert_int_equal(llmri_seq_new(m, 0, &s), LLMR_OK);
    const float *lg;
    assert_int_equal(llmri_seq_eval(s, PROMPT, 5, 0, false, &lg), LLMR_ERR_FORMAT);
    const char *msg = llmri_seq_errmsg(s);
    print_message("%s = %g: %s\n", tensor, (double)v, msg);
    assert_non_null(strstr(msg, what));
    assert_non_null(strstr(msg, where));
    llmri_seq_free(s);
    llmr_model_close(m);
    unlink(path);
}

static void nan_layer_is_named(void **st)
{
    (void)st;
    REQUIRE_SHARED(src, "models/stories260K.gguf");
    (void)src;
    expect_eval_error("blk.2.ffn_down.weight", NAN, "the logits are NaN", "layer 2 (blk.2.*)");
    expect_eval_error("blk.0.attn_q.weight", NAN, "the logits are NaN", "layer 0 (blk.0.*)");
    expect_eval_error("blk.4.ffn_up.weight", INFINITY, "NaN", "layer 4 (blk.4.*)");
}

static void nan_outside_the_layers_is_named(void **st)
{
    (void)st;
    REQUIRE_SHARED(src, "models/stories260K.gguf");
    (void)src;
    expect_eval_error("token_embd.weight", NAN, "the logits are NaN", "token_embd.weight");
    expect_eval_error("output.weight", INFINITY, "the logits are", "output.weight");
    expect_eval_error("output.weight", NAN, "the logits are NaN", "output.weight");
}

/* The mixed batch (the server's path) names the part; the stream API reports the message. */
static void nan_through_batch_and_stream(void **st)
{
    (void)st;
    REQUIRE_SHARED(src, "models/stories260K.gguf");
    (void)src;
    char path[256];
    llmr_model *m = open_broken("blk.1.attn_v.weight", NAN, path, sizeof path);
    llmr_seq *a, *b;
    assert_int_equal(llmri_seq_new(m, 0, &a), LLMR_OK);
    assert_int_equal(llmri_seq_new(m, 0, &b), LLMR_OK);
    llmr_batch_part parts[2] = {{a, PROMPT, 3, 0}, {b, PROMPT, 5, 0}};
    int bad = -1;
    assert_int_equal(llmri_seq_eval_mixed(parts, 2, NULL, &bad), LLMR_ERR_FORMAT);
    assert_int_equal(bad, 0);
    assert_non_null(strstr(llmri_seq_errmsg(a), "layer 1 (blk.1.*)"));
    llmri_seq_free(a);
    llmri_seq_free(b);

    llmr_gen_opts o = llmr_gen_defaults();
    o.max_tokens = 4;
    llmr_stream *s;
    int rc = llmr_stream_open(m, "Once upon a time", &o, &s);
    if (rc == LLMR_OK) {            /* however the stream reports it: open or first next */
        llmr_piece p;
        rc = llmr_stream_next(s, &p);
    }
    assert_int_equal(rc, LLMR_ERR_FORMAT);
    const char *msg = llmr_stream_errmsg(s);
    print_message("stream: %s\n", msg);
    assert_non_null(strstr(msg, "the logits are NaN"));
    assert_non_null(strstr(msg, "layer 1 (blk.1.*)"));
    assert_null(strstr(msg, "banned"));
    llmr_stream_close(s);
    llmr_model_close(m);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exp_handles_nan_and_extremes),
        cmocka_unit_test(reference_quantizers_take_nan),
        cmocka_unit_test(softmax_and_swiglu_propagate_nan),
        cmocka_unit_test(nan_layer_is_named),
        cmocka_unit_test(nan_outside_the_layers_is_named),
        cmocka_unit_test(nan_through_batch_and_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
