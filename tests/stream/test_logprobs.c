/* test_logprobs.c - llmr_gen_opts.logprobs: each generated token's log-probability and the
 * most likely alternatives, checked against the model's logits evaluated apart (the same
 * tokens through llmri_seq_eval, log-softmax computed here in double), and the contract of
 * llmr_stream_logprobs (which tokens a piece carries, their bytes, the ranges). */
#include "test_util.h"
#include "llmr.h"
#include "model/model.h"

#include <math.h>

#define STORIES "models/stories260K.gguf"
#define MAX_TOK 64

static llmr_model *open_model(const char *path)
{
    llmr_model_opts mo = llmr_model_defaults();
    mo.n_threads = 1;
    llmr_model *m;
    if (llmr_model_open(path, &mo, &m) != LLMR_OK)
        fail_msg("%s: %s", path, llmr_model_errmsg(m));
    return m;
}

typedef struct run {
    char text[4096];
    char lp_bytes[4096];             /* the entries' bytes, concatenated */
    llmr_token_logprob lp[MAX_TOK];
    int n_lp;
    int rc;
} run;

static void pull(llmr_model *m, const char *prompt, const llmr_gen_opts *o, run *r)
{
    memset(r, 0, sizeof *r);
    llmr_stream *s;
    int rc = llmr_stream_open(m, prompt, o, &s);
    assert_int_equal(llmr_stream_logprobs(s, NULL), 0);      /* before the first piece */
    llmr_piece p;
    if (rc == LLMR_OK)
        while ((rc = llmr_stream_next(s, &p)) == LLMR_PIECE) {
            strncat(r->text, p.text, sizeof r->text - strlen(r->text) - 1);
            const llmr_token_logprob *lp;
            size_t n = llmr_stream_logprobs(s, &lp);
            if (o->logprobs)
                assert_true(n >= 1);                 /* every piece has a token behind it */
            for (size_t i = 0; i < n && r->n_lp < MAX_TOK; i++) {
                r->lp[r->n_lp++] = lp[i];
                strncat(r->lp_bytes, lp[i].bytes, lp[i].len);
            }
        }
    r->rc = rc;
    llmr_stream_close(s);
}

/* Log-softmax of a row of logits in double. */
static void log_softmax(const float *v, int n, double *out)
{
    double m = -INFINITY, sum = 0;
    for (int i = 0; i < n; i++)
        m = v[i] > m ? v[i] : m;
    for (int i = 0; i < n; i++)
        sum += exp(v[i] - m);
    for (int i = 0; i < n; i++)
        out[i] = v[i] - m - log(sum);
}

static void logprobs_are_the_models_own_distribution(void **state)
{
    (void)state;
    REQUIRE_SHARED(path, STORIES);
    llmr_model *m = open_model(path);
    llmr_gen_opts o = llmr_gen_defaults();
    o.max_tokens = 24;
    o.sampling.temperature = 0;
    o.logprobs = true;
    o.top_logprobs = 5;
    run r;
    pull(m, "Once upon a time", &o, &r);
    assert_int_equal(r.rc, LLMR_DONE);
    assert_true(r.n_lp >= 2);
    /* the pieces' tokens are the text, byte for byte (no stop sequence cut anything) */
    assert_string_equal(r.lp_bytes, r.text);

    /* the same tokens evaluated apart: prompt, then each generated token */
    llmr_tokenizer *tk;
    assert_int_equal(llmr_tokenizer_open(path, &tk), LLMR_OK);
    int32_t ids[128];
    size_t np;
    assert_int_equal(llmr_tokenize(tk, "Once upon a time", 16,
                                   LLMR_TOK_ADD_SPECIAL | LLMR_TOK_PARSE_SPECIAL, ids, 64, &np),
                     LLMR_OK);
    for (int i = 0; i < r.n_lp; i++)
        ids[np + (size_t)i] = r.lp[i].token;
    llmr_seq *sq;
    assert_int_equal(llmri_seq_new(m, 256, &sq), LLMR_OK);
    const float *logits;
    int n_all = (int)np + r.n_lp;
    assert_int_equal(llmri_seq_eval(sq, ids, n_all, 0, true, &logits), LLMR_OK);
    int nv = llmri_model_n_vocab(m);
    double *ls = malloc((size_t)nv * sizeof *ls);
    for (int i = 0; i < r.n_lp; i++) {
        const llmr_token_logprob *e = &r.lp[i];
        log_softmax(logits + ((size_t)np - 1 + (size_t)i) * (size_t)nv, nv, ls);
        assert_true(e->logprob <= 0);
        assert_true(fabs(e->logprob - ls[e->token]) < 2e-3);
        assert_int_equal(e->n_top, 5);
        /* greedy without penalties: the chosen token is the most likely one */
        assert_int_equal(e->top[0].token, e->token);
        double mass = 0;
        for (int k = 0; k < e->n_top; k++) {
            assert_true(fabs(e->top[k].logprob - ls[e->top[k].token]) < 2e-3);
            if (k)
                assert_true(e->top[k].logprob <= e->top[k - 1].logprob);
            mass += exp(e->top[k].logprob);
            /* no token outside the list is more likely than its last */
            const char *b;
            size_t bl;
            assert_int_equal(llmr_token_to_piece(tk, e->top[k].token, false, &b, &bl), LLMR_OK);
            assert_int_equal(bl, e->top[k].len);
            assert_memory_equal(b, e->top[k].bytes, bl);
        }
        assert_true(mass <= 1.0 + 1e-5);
        for (int t = 0; t < nv; t++) {
            bool listed = false;
            for (int k = 0; k < e->n_top; k++)
                listed |= e->top[k].token == t;
            if (!listed)
                assert_true(ls[t] <= e->top[e->n_top - 1].logprob + 2e-3);
        }
    }
    free(ls);
    llmri_seq_free(sq);
    llmr_tokenizer_close(tk);
    llmr_model_close(m);
}

static void sampled_tokens_keep_the_models_probability_not_the_samplers(void **state)
{
    (void)state;
    REQUIRE_SHARED(path, STORIES);
    llmr_model *m = open_model(path);
    llmr_gen_opts o = llmr_gen_defaults();
    o.max_tokens = 40;
    o.sampling.temperature = 1.5f;      /* flattens the sampler's distribution, not the model's */
    o.sampling.seed = 7;
    o.logprobs = true;
    o.top_logprobs = 20;
    run r;
    pull(m, "Once upon a time", &o, &r);
    assert_int_equal(r.rc, LLMR_DONE);
    for (int i = 0; i < r.n_lp; i++) {
        const llmr_token_logprob *e = &r.lp[i];
        assert_true(e->logprob <= e->top[0].logprob + 1e-6);
        for (int k = 0; k < e->n_top; k++)
            if (e->top[k].token == e->token)
                assert_true(fabsf(e->top[k].logprob - e->logprob) < 1e-6f);
    }
    /* no log-probabilities asked: none given */
    o.logprobs = false;
    pull(m, "Once upon a time", &o, &r);
    assert_int_equal(r.rc, LLMR_DONE);
    assert_int_equal(r.n_lp, 0);
    llmr_model_close(m);
}

static void a_stop_sequence_keeps_its_tokens_out_of_the_pieces(void **state)
{
    (void)state;
    REQUIRE_SHARED(path, STORIES);
    llmr_model *m = open_model(path);
    llmr_gen_opts o = llmr_gen_defaults();
    o.max_tokens = 64;
    o.sampling.temperature = 0;
    o.logprobs = true;
    run whole;
    pull(m, "Once upon a time", &o, &whole);
    /* stop at the text's second word: the tokens wholly inside the stop are in no piece */
    const char *sp = strchr(whole.text + 1, ' ');
    assert_non_null(sp);
    char stop[16];
    snprintf(stop, sizeof stop, "%.3s", sp);
    o.stop[0] = stop;
    run cut;
    pull(m, "Once upon a time", &o, &cut);
    assert_int_equal(cut.rc, LLMR_DONE);
    assert_true(cut.n_lp > 0 && cut.n_lp < whole.n_lp);
    /* every token of a piece begins inside the delivered text */
    assert_true(strlen(cut.lp_bytes) >= strlen(cut.text));
    assert_memory_equal(cut.lp_bytes, cut.text, strlen(cut.text));
    size_t last = strlen(cut.lp_bytes) - cut.lp[cut.n_lp - 1].len;
    assert_true(last < strlen(cut.text) || cut.lp[cut.n_lp - 1].len == 0);
    llmr_model_close(m);
}

static void top_logprobs_out_of_range_fail_the_open(void **state)
{
    (void)state;
    llmr_gen_opts o = llmr_gen_defaults();
    char msg[256];
    o.logprobs = true;
    o.top_logprobs = LLMR_MAX_TOP_LOGPROBS + 1;
    assert_int_equal(llmr_gen_validate(&o, msg, sizeof msg), LLMR_ERR_ARG);
    assert_non_null(strstr(msg, "top_logprobs"));
    o.top_logprobs = -1;
    assert_int_equal(llmr_gen_validate(&o, msg, sizeof msg), LLMR_ERR_ARG);
    o.top_logprobs = LLMR_MAX_TOP_LOGPROBS;
    assert_int_equal(llmr_gen_validate(&o, msg, sizeof msg), LLMR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(logprobs_are_the_models_own_distribution),
        cmocka_unit_test(sampled_tokens_keep_the_models_probability_not_the_samplers),
        cmocka_unit_test(a_stop_sequence_keeps_its_tokens_out_of_the_pieces),
        cmocka_unit_test(top_logprobs_out_of_range_fail_the_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
