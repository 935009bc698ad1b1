/* test_stream_eot.c - an end-of-turn token (Llama 3's <|eot_id|>) ends a stream though it renders
 * as no text. The model is made here: `llmr synth` gives random weights of the stories15m shape
 * with the real Llama 3 vocabulary from ../shared/vocab (128256 tokens, <|eot_id|> = 128009). */
#include "test_util.h"
#include "llmr.h"

#include <unistd.h>

static char dir[64], path[128];

static int make_model(void **state)
{
    const char *vocab = shared_path("vocab/ggml-vocab-llama-bpe.gguf");
    const char *bin = getenv("LLMR_BIN");
    if (!vocab || !bin)
        return 0;                    /* the test skips with a message */
    snprintf(dir, sizeof dir, "/tmp/llmr-eot-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/l3.gguf", dir);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' synth --shape stories15m --type Q4_0 --pure --vocab '%s' "
             "-o '%s' -t 1 >/dev/null 2>&1", bin, vocab, path);
    return system(cmd) == 0 ? 0 : -1;
}

static int remove_model(void **state)
{
    if (path[0])
        unlink(path);
    if (dir[0])
        rmdir(dir);
    return 0;
}

static void eot_token_ends_the_stream_though_it_renders_as_nothing(void **state)
{
    if (!path[0]) {
        print_message("skipped: needs ../shared/vocab/ggml-vocab-llama-bpe.gguf and LLMR_BIN\n");
        skip();
    }
    llmr_model_opts mo = llmr_model_defaults();
    mo.n_threads = 1;
    mo.n_ctx = 64;
    llmr_model *m;
    assert_int_equal(llmr_model_open(path, &mo, &m), LLMR_OK);
    llmr_logit_bias eot = {128009, 100.0f};             /* <|eot_id|> */
    llmr_gen_opts o = llmr_gen_defaults();
    o.max_tokens = 8;
    o.sampling.temperature = 0;
    o.sampling.logit_bias = &eot;
    o.sampling.n_logit_bias = 1;
    llmr_stream *s;
    assert_int_equal(llmr_stream_open(m, "<|start_header_id|>user<|end_header_id|>\n\nHi", &o, &s),
                     LLMR_OK);
    llmr_piece p;
    assert_int_equal(llmr_stream_next(s, &p), LLMR_DONE);
    llmr_usage u;
    llmr_stream_usage(s, &u);
    assert_int_equal(u.finish, LLMR_FINISH_STOP);
    assert_int_equal(u.generated_tokens, 1);
    assert_int_equal(u.pieces, 0);
    /* Special-token text in the prompt became the special tokens: BOS + 5 + "Hi"-ish. */
    assert_true(u.prompt_tokens <= 10);
    llmr_stream_close(s);

    /* Ignoring end-of-generation tokens, the same tokens keep coming and give no text. */
    o.ignore_eos = true;
    char *text;
    assert_int_equal(llmr_generate(m, "Hi", &o, &text, &u, NULL, 0), LLMR_OK);
    assert_string_equal(text, "");
    assert_int_equal(u.generated_tokens, 8);
    assert_int_equal(u.finish, LLMR_FINISH_LENGTH);
    free(text);
    llmr_model_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(eot_token_ends_the_stream_though_it_renders_as_nothing),
    };
    return cmocka_run_group_tests(tests, make_model, remove_model);
}
