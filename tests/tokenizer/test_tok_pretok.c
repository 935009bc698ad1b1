/* test_tok_pretok.c - every pre-tokenizer (one per distinct regex list in llama.cpp's
 * llm_tokenizer_bpe) splits a set of hard strings exactly as the regexes do, as computed by
 * Python's `regex` module in gen_pretok_cases.py. This covers the sets that no ../shared vocab
 * exercises: default, qwen2, deepseek-coder and starcoder/refact/command-r/smollm. */
#include "test_util.h"
#include "tokenizer/tok_impl.h"
#include "tokenizer/tok_unicode.h"
#include "tokenizer/pretok_cases.h"

typedef struct pieces {
    int lens[256];
    int n;
} pieces;

static int collect(void *user, const char *word, size_t len)
{
    (void)word;
    pieces *p = user;
    if (p->n == 256)
        return 1;
    p->lens[p->n++] = (int)len;
    return 0;
}

static void every_pretokenizer_splits_like_its_regexes(void **state)
{
    (void)state;
    uc_init();
    int failures = 0, checked = 0;
    for (size_t k = 0; k < sizeof pretok_expected / sizeof pretok_expected[0]; k++) {
        const int *want = pretok_expected[k].lens;
        for (size_t i = 0; i < PRETOK_N_STRINGS; i++) {
            const char *s = pretok_strings[i];
            pieces got = {.n = 0};
            assert_int_equal(pretok_split((tok_pre)pretok_expected[k].pre, s, strlen(s),
                                          collect, &got), 0);
            int nw = 0;
            while (want[nw] >= 0)
                nw++;
            bool same = nw == got.n && memcmp(want, got.lens, (size_t)nw * sizeof *want) == 0;
            if (!same) {
                failures++;
                print_error("%s: string %zu \"%s\"\n  want", pretok_expected[k].name, i, s);
                for (int j = 0; j < nw; j++)
                    print_error(" %d", want[j]);
                print_error("\n  got ");
                for (int j = 0; j < got.n; j++)
                    print_error(" %d", got.lens[j]);
                print_error("\n");
            }
            want += nw + 1;
            checked++;
        }
    }
    print_message("%d splits checked, %d differ\n", checked, failures);
    assert_int_equal(failures, 0);
}

static void pre_names_map_to_their_sets(void **state)
{
    (void)state;
    bool known;
    assert_int_equal(pretok_from_name("llama-bpe", &known), PRE_LLAMA3);
    assert_true(known);
    assert_int_equal(pretok_from_name("qwen2", &known), PRE_QWEN2);
    assert_int_equal(pretok_from_name("smollm", &known), PRE_STARCODER);
    assert_int_equal(pretok_from_name("command-r", &known), PRE_STARCODER);
    assert_int_equal(pretok_from_name("refact", &known), PRE_STARCODER);
    assert_int_equal(pretok_from_name("mpt", &known), PRE_GPT2);
    assert_int_equal(pretok_from_name("gpt-2", &known), PRE_GPT2);
    assert_int_equal(pretok_from_name("deepseek-coder", &known), PRE_DEEPSEEK_CODER);
    assert_int_equal(pretok_from_name("deepseek-llm", &known), PRE_DEEPSEEK_LLM);
    assert_int_equal(pretok_from_name("falcon", &known), PRE_FALCON);
    assert_int_equal(pretok_from_name("default", &known), PRE_DEFAULT);
    assert_true(known);
    assert_int_equal(pretok_from_name("no-such-pre", &known), PRE_DEFAULT);
    assert_false(known);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_pretokenizer_splits_like_its_regexes),
        cmocka_unit_test(pre_names_map_to_their_sets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
