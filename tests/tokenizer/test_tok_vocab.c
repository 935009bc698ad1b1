/* test_tok_vocab.c - llama.cpp's tokenizer suites in ../shared/vocab: every string of X.gguf.inp
 * must give exactly the ids of the same line of X.gguf.out (no special tokens added, special
 * text not parsed), and detokenize back to itself where the tokenizer is lossless. */
#include "test_util.h"
#include "llmr.h"

/* Splits the .inp file at "\n__ggml_vocab_test__\n" (each string is followed by one). */
static size_t split_inp(char *buf, char **strs, size_t *lens, size_t max)
{
    static const char sep[] = "\n__ggml_vocab_test__\n";
    size_t n = 0;
    char *p = buf;
    for (;;) {
        char *q = strstr(p, sep);
        if (!q || n == max)
            break;
        strs[n] = p;
        lens[n] = (size_t)(q - p);
        n++;
        p = q + sizeof sep - 1;
    }
    return n;
}

static void run_suite(const char *name, bool lossless)
{
    char rel[256];
    snprintf(rel, sizeof rel, "vocab/%s.gguf", name);
    REQUIRE_SHARED(gguf, rel);
    char inp_path[1100], out_path[1100];
    snprintf(inp_path, sizeof inp_path, "%s.inp", gguf);
    snprintf(out_path, sizeof out_path, "%s.out", gguf);
    char *inp = slurp(inp_path, NULL), *outs = slurp(out_path, NULL);
    assert_non_null(inp);
    assert_non_null(outs);

    llmr_tokenizer *t = NULL;
    int rc = llmr_tokenizer_open(gguf, &t);
    if (rc)
        print_error("%s: %s\n", name, llmr_tokenizer_errmsg(t));
    assert_int_equal(rc, LLMR_OK);

    char *strs[256];
    size_t lens[256];
    size_t n = split_inp(inp, strs, lens, 256);
    assert_true(n > 0);

    size_t pass = 0, rt_pass = 0;
    char *line = outs;
    llmr_token got[4096], want[4096];
    char text[16384];
    for (size_t i = 0; i < n; i++) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = 0;
        size_t nw = 0;
        for (char *tok = strtok(line, " "); tok; tok = strtok(NULL, " "))
            want[nw++] = (llmr_token)atol(tok);
        line = nl + 1;

        size_t ng = 0;
        assert_int_equal(llmr_tokenize(t, strs[i], lens[i], 0, got, 4096, &ng), LLMR_OK);
        bool ok = ng == nw && memcmp(got, want, nw * sizeof *got) == 0;
        if (ok) {
            pass++;
        } else {
            print_error("%s: string %zu \"%.*s\":\n  want", name, i, (int)lens[i], strs[i]);
            for (size_t k = 0; k < nw; k++)
                print_error(" %d", want[k]);
            print_error("\n  got ");
            for (size_t k = 0; k < ng; k++)
                print_error(" %d", got[k]);
            print_error("\n");
        }
        size_t tl = 0;
        assert_int_equal(llmr_detokenize(t, got, ng, 0, text, sizeof text, &tl), LLMR_OK);
        if (tl == lens[i] && memcmp(text, strs[i], tl) == 0)
            rt_pass++;
        else if (lossless)
            print_error("%s: string %zu does not round-trip: \"%.*s\" -> \"%.*s\"\n", name, i,
                        (int)lens[i], strs[i], (int)tl, text);
    }
    print_message("%s: %zu/%zu strings give the expected ids, %zu/%zu round-trip\n", name,
                  pass, n, rt_pass, n);
    assert_int_equal(pass, n);
    if (lossless)
        assert_int_equal(rt_pass, n);
    llmr_tokenizer_close(t);
    free(inp);
    free(outs);
}

static void llama_spm_suite_matches(void **s) { (void)s; run_suite("ggml-vocab-llama-spm", true); }
static void llama_bpe_suite_matches(void **s) { (void)s; run_suite("ggml-vocab-llama-bpe", true); }
static void gpt2_suite_matches(void **s) { (void)s; run_suite("ggml-vocab-gpt-2", true); }
static void deepseek_llm_suite_matches(void **s) { (void)s; run_suite("ggml-vocab-deepseek-llm", true); }
static void falcon_suite_matches(void **s) { (void)s; run_suite("ggml-vocab-falcon", true); }
/* WordPiece lowercases, strips accents and drops spaces: not lossless */
static void bert_bge_suite_matches(void **s) { (void)s; run_suite("ggml-vocab-bert-bge", false); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(llama_spm_suite_matches),
        cmocka_unit_test(llama_bpe_suite_matches),
        cmocka_unit_test(gpt2_suite_matches),
        cmocka_unit_test(deepseek_llm_suite_matches),
        cmocka_unit_test(falcon_suite_matches),
        cmocka_unit_test(bert_bge_suite_matches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
