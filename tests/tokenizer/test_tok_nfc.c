/* test_tok_nfc.c - Qwen's tokenizer.json normalizes text to NFC before pre-tokenizing, so a
 * decomposed "e" + U+0301 gets the ids of "é". GGUF carries no normalizer: a byte-level BPE
 * with pre-tokenizer qwen2 (or deepseek-r1-qwen) gets it, and others (GPT-2, Llama 3: no
 * normalizer in their tokenizer.json) keep the text as written. Special tokens are split out
 * first, as Hugging Face matches its added tokens before normalizing. */
#include "test_util.h"

#include "gguf/gguf.h"
#include "llmr.h"

#include <unistd.h>

/* Byte-level BPE strings (GPT-2's byte map): 0xC3 is "Ã", 0xA9 "©", 0xCC "Ì", 0x81 "ģ". */
enum { E, B_C3, B_A9, B_CC, B_81, E_ACUTE, IM_END, N_TOK };

static llmr_tokenizer *open_vocab(const char *pre)
{
    static const char *const toks[N_TOK] = {"e", "\xC3\x83", "\xC2\xA9", "\xC3\x8C", "\xC4\xA3",
                                            "\xC3\x83\xC2\xA9", "<|im_end|>"};
    static const char *const merges[] = {"\xC3\x83 \xC2\xA9"};
    int32_t types[N_TOK] = {1, 1, 1, 1, 1, 1, 3};
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2");
    gguf_writer_set_str(w, "tokenizer.ggml.pre", pre);
    gguf_writer_set_str_arr(w, "tokenizer.ggml.tokens", toks, N_TOK);
    gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_I32, types, N_TOK);
    gguf_writer_set_str_arr(w, "tokenizer.ggml.merges", merges, 1);
    char path[128];
    snprintf(path, sizeof path, "/tmp/llmr-tok-nfc-%d.gguf", (int)getpid());
    llmr_err err;
    assert_int_equal(gguf_writer_write(w, path, 0, &err), LLMR_OK);
    gguf_writer_free(w);
    llmr_tokenizer *t = NULL;
    assert_int_equal(llmr_tokenizer_open(path, &t), LLMR_OK);
    unlink(path);
    return t;
}

static void expect(const llmr_tokenizer *t, const char *text, const llmr_token *want, size_t nw)
{
    llmr_token got[64];
    size_t n = 0;
    assert_int_equal(llmr_tokenize(t, text, strlen(text), LLMR_TOK_PARSE_SPECIAL, got, 64, &n),
                     LLMR_OK);
    if (n != nw || memcmp(got, want, nw * sizeof *want)) {
        print_message("'%s':", text);
        for (size_t i = 0; i < n; i++)
            print_message(" %d", got[i]);
        print_message("\n");
    }
    assert_int_equal(n, nw);
    assert_memory_equal(got, want, nw * sizeof *want);
}

static void qwen2_composes_a_decomposed_accent_before_merging(void **st)
{
    (void)st;
    const char *pres[] = {"qwen2", "deepseek-r1-qwen"};
    for (size_t i = 0; i < 2; i++) {
        llmr_tokenizer *t = open_vocab(pres[i]);
        expect(t, "e\xCC\x81", (llmr_token[]){E_ACUTE}, 1);       /* e + U+0301 */
        expect(t, "\xC3\xA9", (llmr_token[]){E_ACUTE}, 1);        /* é as written */
        expect(t, "ee\xCC\x81", (llmr_token[]){E, E_ACUTE}, 2);
        /* the special token is split out before normalizing; the text around it is composed */
        expect(t, "e\xCC\x81<|im_end|>e\xCC\x81", (llmr_token[]){E_ACUTE, IM_END, E_ACUTE}, 3);
        llmr_tokenizer_close(t);
    }
}

static void other_byte_level_vocabularies_keep_the_text_as_written(void **st)
{
    (void)st;
    const char *pres[] = {"gpt-2", "llama-bpe"};
    for (size_t i = 0; i < 2; i++) {
        llmr_tokenizer *t = open_vocab(pres[i]);
        expect(t, "e\xCC\x81", (llmr_token[]){E, B_CC, B_81}, 3);
        expect(t, "\xC3\xA9", (llmr_token[]){E_ACUTE}, 1);
        llmr_tokenizer_close(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(qwen2_composes_a_decomposed_accent_before_merging),
        cmocka_unit_test(other_byte_level_vocabularies_keep_the_text_as_written),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
