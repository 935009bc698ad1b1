/* test_model_units.c - RoPE variants, RMSNorm, grouped-query attention, and load-time errors
 * for bad files (made here by rewriting stories260K with the GGUF writer). */
#include "test_util.h"

#include "model/forward.h"

#include <math.h>
#include <unistd.h>

/* ---- RoPE ------------------------------------------------------------------------------ */

/* Direct formula in double: pair (a, b) of dimension pair i rotates by
 * pos * freq_scale * base^(-2i/n_rot) / ff[i]. */
static void rope_ref(double *x, int pos, const llmr_hparams *hp, const float *ff)
{
    const int half = hp->n_rot / 2;
    for (int i = 0; i < half; i++) {
        double th = pos * pow(hp->rope_base, -2.0 * i / hp->n_rot) * hp->rope_scale;
        if (ff)
            th /= ff[i];
        const int a = hp->rope == LLMR_ROPE_NEOX ? i : 2 * i;
        const int b = hp->rope == LLMR_ROPE_NEOX ? i + half : 2 * i + 1;
        const double x0 = x[a], x1 = x[b];
        x[a] = x0 * cos(th) - x1 * sin(th);
        x[b] = x0 * sin(th) + x1 * cos(th);
    }
}

/* One head through the pass's own RoPE: the position's table, then the rotation. */
static void rope_head(float *x, int pos, const llmr_hparams *hp, const float *ff)
{
    float cs[256];
    assert_true(hp->n_rot <= 256);
    llmri_rope_table(cs, pos, hp, ff);
    llmri_rope_apply(x, cs, hp);
}

static void check_rope(llmr_rope_kind kind, int head_dim, int n_rot, float base, float scale,
                       const float *ff)
{
    llmr_hparams hp = {.head_dim = head_dim, .n_rot = n_rot, .rope_base = base,
                       .rope_scale = scale, .rope = kind};
    for (int pos = 0; pos < 300; pos += 37) {
        float x[64];
        double xd[64];
        for (int i = 0; i < head_dim; i++)
            x[i] = (float)(xd[i] = sin(i * 1.7 + pos));
        rope_head(x, pos, &hp, ff);
        rope_ref(xd, pos, &hp, ff);
        for (int i = 0; i < head_dim; i++) {
            /* float angles: ~pos * 1e-7 relative error */
            assert_true(fabs(x[i] - xd[i]) < 2e-4);
            if (i >= n_rot)
                assert_true(x[i] == (float)sin(i * 1.7 + pos));   /* untouched tail */
        }
    }
}

static void rope_normal_rotates_adjacent_pairs(void **st)
{
    check_rope(LLMR_ROPE_NORM, 64, 64, 10000.0f, 1.0f, NULL);
    /* position 0 is the identity; position 1 of pair 0 rotates by exactly 1 radian */
    llmr_hparams hp = {.head_dim = 4, .n_rot = 4, .rope_base = 10000.0f, .rope_scale = 1.0f};
    float x[4] = {1, 0, 1, 0};
    rope_head(x, 1, &hp, NULL);
    assert_true(fabs(x[0] - cos(1.0)) < 1e-6 && fabs(x[1] - sin(1.0)) < 1e-6);
}

static void rope_neox_rotates_halves(void **st)
{
    check_rope(LLMR_ROPE_NEOX, 64, 64, 1000000.0f, 1.0f, NULL);
    llmr_hparams hp = {.head_dim = 4, .n_rot = 4, .rope_base = 10000.0f, .rope_scale = 1.0f,
                       .rope = LLMR_ROPE_NEOX};
    float x[4] = {1, 1, 0, 0};   /* pairs are (x0, x2) and (x1, x3) */
    llmr_hparams *h = &hp;
    rope_head(x, 1, h, NULL);
    assert_true(fabs(x[0] - cos(1.0)) < 1e-6 && fabs(x[2] - sin(1.0)) < 1e-6);
}

static void rope_partial_dims_scale_and_freq_factors(void **st)
{
    float ff[16];
    for (int i = 0; i < 16; i++)
        ff[i] = 1.0f + (float)i * 0.5f;
    check_rope(LLMR_ROPE_NORM, 64, 32, 500000.0f, 1.0f, ff);
    check_rope(LLMR_ROPE_NEOX, 64, 32, 10000.0f, 0.25f, NULL);
}

/* ---- RMSNorm ---------------------------------------------------------------------------- */

static void rmsnorm_matches_formula(void **st)
{
    float x[100], w[100], o[100];
    double ss = 0;
    for (int i = 0; i < 100; i++) {
        x[i] = (float)(cos(i * 0.3) * 3.0);
        w[i] = 0.5f + (float)i / 100.0f;
        ss += (double)x[i] * x[i];
    }
    llmri_rmsnorm(o, x, w, 100, 1e-5f);
    const double inv = 1.0 / sqrt(ss / 100 + 1e-5);
    for (int i = 0; i < 100; i++)
        assert_true(fabs(o[i] - x[i] * inv * w[i]) < 1e-5);
    /* all zeros: eps keeps it finite */
    memset(x, 0, sizeof x);
    llmri_rmsnorm(o, x, w, 100, 1e-5f);
    for (int i = 0; i < 100; i++)
        assert_true(o[i] == 0.0f);
}

/* ---- rewriting stories260K ------------------------------------------------------------ */

typedef struct variant {
    const char *drop;              /* tensor left out */
    const char *arch;              /* general.architecture replaced (keys keep "llama.") */
    const char *u32_key;           /* metadata key set to u32_val */
    uint32_t u32_val;
    const char *repl;              /* tensor replaced by repl_type / repl_ne / repl_data */
    uint32_t repl_type;
    int64_t repl_ne[2];
    const void *repl_data;
    const char *repl2;             /* a second replacement (GQA test: K and V) */
    const void *repl2_data;
} variant;

static const char *write_variant(const gguf_file *src, const variant *v)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/llmr_model_test_%d.gguf", (int)getpid());
    gguf_writer *w = gguf_writer_new();
    for (uint64_t i = 0; i < src->n_kv; i++)
        assert_int_equal(gguf_writer_set_value(w, src->kv[i].key.ptr, &src->kv[i].val), 0);
    if (v->arch)
        gguf_writer_set_str(w, "general.architecture", v->arch);
    if (v->u32_key)
        gguf_writer_set_u32(w, v->u32_key, v->u32_val);
    for (uint64_t i = 0; i < src->n_tensors; i++) {
        const gguf_tensor *t = &src->tensors[i];
        if (v->drop && !strcmp(t->name.ptr, v->drop))
            continue;
        const bool r1 = v->repl && !strcmp(t->name.ptr, v->repl);
        const bool r2 = v->repl2 && !strcmp(t->name.ptr, v->repl2);
        if (r1 || r2)
            assert_int_equal(gguf_writer_add_tensor(w, t->name.ptr, v->repl_type,
                                                    v->repl_ne[1] ? 2 : 1, v->repl_ne,
                                                    r2 ? v->repl2_data : v->repl_data), 0);
        else
            assert_int_equal(gguf_writer_add_tensor(w, t->name.ptr, t->type, t->n_dims, t->ne,
                                                    t->data), 0);
    }
    llmr_err err;
    assert_int_equal(gguf_writer_write(w, path, 3, &err), 0);
    gguf_writer_free(w);
    return path;
}

/* Opening `path` fails with `code` and a message containing `needle`. */
static void expect_open_error(const char *path, int code, const char *needle)
{
    llmr_model *m;
    int rc = llmr_model_open(path, NULL, &m);
    print_message("  -> %s\n", llmr_model_errmsg(m));
    assert_int_equal(rc, code);
    assert_non_null(strstr(llmr_model_errmsg(m), needle));
    llmr_model_close(m);
    unlink(path);
}

static gguf_file *open_stories(void)
{
    const char *p = shared_path("models/stories260K.gguf");
    if (!p)
        return NULL;
    gguf_file *f;
    llmr_err err;
    assert_int_equal(gguf_open(p, &f, &err), 0);
    return f;
}

static void missing_tensor_is_named(void **st)
{
    REQUIRE_SHARED(p, "models/stories260K.gguf");
    gguf_file *f = open_stories();
    variant v = {.drop = "blk.3.ffn_up.weight"};
    expect_open_error(write_variant(f, &v), LLMR_ERR_FORMAT, "blk.3.ffn_up.weight");
    gguf_close(f);
}

static void shape_disagreeing_with_metadata_is_named(void **st)
{
    REQUIRE_SHARED(p, "models/stories260K.gguf");
    gguf_file *f = open_stories();
    variant v = {.u32_key = "llama.feed_forward_length", .u32_val = 160};
    expect_open_error(write_variant(f, &v), LLMR_ERR_FORMAT, "blk.0.ffn_gate.weight");
    /* a norm of the wrong length */
    static float norm[32];
    variant v2 = {.repl = "blk.2.ffn_norm.weight", .repl_type = LLMR_TYPE_F32,
                  .repl_ne = {32, 0}, .repl_data = norm};
    expect_open_error(write_variant(f, &v2), LLMR_ERR_FORMAT, "blk.2.ffn_norm.weight");
    gguf_close(f);
}

static void unknown_architecture_is_unsupported(void **st)
{
    REQUIRE_SHARED(p, "models/stories260K.gguf");
    gguf_file *f = open_stories();
    variant v = {.arch = "gpt9"};
    expect_open_error(write_variant(f, &v), LLMR_ERR_UNSUPPORTED, "gpt9");
    gguf_close(f);
}

static void unsupported_tensor_type_is_named(void **st)
{
    REQUIRE_SHARED(p, "models/stories260K.gguf");
    gguf_file *f = open_stories();
    /* a norm stored as F16: norms must be F32 */
    static uint16_t half[64];
    variant v = {.repl = "output_norm.weight", .repl_type = LLMR_TYPE_F16, .repl_ne = {64, 0},
                 .repl_data = half};
    expect_open_error(write_variant(f, &v), LLMR_ERR_UNSUPPORTED, "output_norm.weight");
    gguf_close(f);
}

static void missing_metadata_key_is_named(void **st)
{
    REQUIRE_SHARED(p, "models/stories260K.gguf");
    gguf_file *f = open_stories();
    /* head_count 0 is out of range */
    variant v = {.u32_key = "llama.attention.head_count", .u32_val = 0};
    expect_open_error(write_variant(f, &v), LLMR_ERR_FORMAT, "llama.attention.head_count");
    gguf_close(f);
}

/* GQA: stories260K has 8 query heads sharing 4 KV heads. Writing each KV head twice (8 KV
 * heads, head h using copy h) must give the same logits: query head h reads KV head h/2. */
static void gqa_equals_duplicated_kv_heads(void **st)
{
    REQUIRE_SHARED(p, "models/stories260K.gguf");
    gguf_file *f = open_stories();
    const int E = 64, hd = 8, L = 5;
    float *k2[5], *v2[5];
    /* ten replaced tensors: written directly rather than through write_variant */
    gguf_writer *w = gguf_writer_new();
    for (uint64_t i = 0; i < f->n_kv; i++)
        gguf_writer_set_value(w, f->kv[i].key.ptr, &f->kv[i].val);
    gguf_writer_set_u32(w, "llama.attention.head_count_kv", 8);
    for (int l = 0; l < L; l++) {
        k2[l] = malloc((size_t)E * E * sizeof(float));
        v2[l] = malloc((size_t)E * E * sizeof(float));
    }
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        int l;
        char kind[16];
        if (sscanf(t->name.ptr, "blk.%d.attn_%1[kv].weight", &l, kind) == 2 && l < L) {
            float *dst = kind[0] == 'k' ? k2[l] : v2[l];
            const float *src = t->data;
            for (int r = 0; r < E; r++)    /* new row r: head r/hd, copy of old head r/hd/2 */
                memcpy(dst + (size_t)r * E, src + (size_t)((r / hd / 2) * hd + r % hd) * E,
                       (size_t)E * sizeof(float));
            int64_t ne[2] = {E, E};
            gguf_writer_add_tensor(w, t->name.ptr, t->type, 2, ne, dst);
        } else {
            gguf_writer_add_tensor(w, t->name.ptr, t->type, t->n_dims, t->ne, t->data);
        }
    }
    char path[64];
    snprintf(path, sizeof path, "/tmp/llmr_model_gqa_%d.gguf", (int)getpid());
    llmr_err err;
    assert_int_equal(gguf_writer_write(w, path, 3, &err), 0);
    gguf_writer_free(w);

    static const int32_t toks[] = {1, 403, 407, 261, 378, 432, 383};
    float ref[512];
    const float *lg;
    llmr_model_opts o = llmr_model_defaults();
    o.kv_type = LLMR_KV_F32;
    o.n_threads = 2;
    llmr_model *m;
    llmr_seq *s;
    assert_int_equal(llmr_model_open(p, &o, &m), 0);
    assert_int_equal(llmri_model_hparams(m)->n_head_kv, 4);
    assert_int_equal(llmri_seq_new(m, 0, &s), 0);
    assert_int_equal(llmri_seq_eval(s, toks, 7, 0, false, &lg), 0);
    memcpy(ref, lg, sizeof ref);
    llmri_seq_free(s);
    llmr_model_close(m);
    assert_int_equal(llmr_model_open(path, &o, &m), 0);
    assert_int_equal(llmri_model_hparams(m)->n_head_kv, 8);
    assert_int_equal(llmri_seq_new(m, 0, &s), 0);
    assert_int_equal(llmri_seq_eval(s, toks, 7, 0, false, &lg), 0);
    for (int i = 0; i < 512; i++)
        assert_true(fabs(lg[i] - ref[i]) < 1e-5);
    llmri_seq_free(s);
    llmr_model_close(m);
    unlink(path);
    for (int l = 0; l < L; l++) {
        free(k2[l]);
        free(v2[l]);
    }
    gguf_close(f);
}

static void open_reports_io_errors_and_bad_options(void **st)
{
    llmr_model *m;
    assert_int_equal(llmr_model_open("/nonexistent/model.gguf", NULL, &m), LLMR_ERR_IO);
    assert_non_null(strstr(llmr_model_errmsg(m), "/nonexistent/model.gguf"));
    llmr_model_close(m);
    llmr_model_opts o = llmr_model_defaults();
    o.n_threads = -1;
    assert_int_equal(llmr_model_open("x.gguf", &o, &m), LLMR_ERR_ARG);
    llmr_model_close(m);
    llmr_model_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rope_normal_rotates_adjacent_pairs),
        cmocka_unit_test(rope_neox_rotates_halves),
        cmocka_unit_test(rope_partial_dims_scale_and_freq_factors),
        cmocka_unit_test(rmsnorm_matches_formula),
        cmocka_unit_test(missing_tensor_is_named),
        cmocka_unit_test(shape_disagreeing_with_metadata_is_named),
        cmocka_unit_test(unknown_architecture_is_unsupported),
        cmocka_unit_test(unsupported_tensor_type_is_named),
        cmocka_unit_test(missing_metadata_key_is_named),
        cmocka_unit_test(gqa_equals_duplicated_kv_heads),
        cmocka_unit_test(open_reports_io_errors_and_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
