/* test_tok_phi3.c - Phi-3's special tokens take the whitespace after them (its tokenizer.json
 * marks them rstrip; llama.cpp applies that to models named like Phi-3): the chat prompt
 * "<|user|>\nHi<|end|>\n<|assistant|>\n" is <|user|> ▁Hi <|end|> <|assistant|>, with no
 * newline tokens. <unk>, <s> and <|endoftext|> keep theirs, and other models are untouched. */
#include "tokenizer/tok_test_util.h"

enum { UNK, BOS, EOS, SP, NL, SP_A, A, USER, END, ASSIST, EOT, N_TOK };

/* A hand-made SentencePiece vocabulary with Phi-3's special tokens, named `name`. */
static llmr_tokenizer *open_vocab(const char *name)
{
    static const char *const toks[N_TOK] = {"<unk>", "<s>", "</s>", "\xE2\x96\x81", "<0x0A>",
                                           "\xE2\x96\x81\x61", "a", "<|user|>", "<|end|>",
                                           "<|assistant|>", "<|endoftext|>"};
    float scores[N_TOK] = {0, 0, 0, -5, 0, -1, -2, 0, 0, 0, 0};
    int32_t types[N_TOK] = {2, 3, 3, 1, 6, 1, 1, 3, 3, 3, 3};
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_str(w, "general.name", name);
    gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    gguf_writer_set_str_arr(w, "tokenizer.ggml.tokens", toks, N_TOK);
    gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_F32, scores, N_TOK);
    gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_I32, types, N_TOK);
    return tok_open_ok(w);
}


static void phi3_special_tokens_take_the_whitespace_after_them(void **st)
{
    (void)st;
    llmr_tokenizer *t = open_vocab("Phi-3 mini 4k instruct");
    tok_expect(t, "<|user|>\na<|end|>\n<|assistant|>\n", (llmr_token[]){USER, SP_A, END, ASSIST}, 4);
    tok_expect(t, "<|user|> \t\n a<|end|>", (llmr_token[]){USER, SP_A, END}, 3);
    /* </s> strips too; <|endoftext|>, <s> and <unk> keep the whitespace */
    tok_expect(t, "</s>  a", (llmr_token[]){EOS, SP_A}, 2);
    tok_expect(t, "<|endoftext|>\na", (llmr_token[]){EOT, SP, NL, A}, 4);
    tok_expect(t, "<s>\na<unk>\na", (llmr_token[]){BOS, SP, NL, A, UNK, SP, NL, A}, 8);
    llmr_tokenizer_close(t);
}

static void other_models_keep_the_whitespace(void **st)
{
    (void)st;
    llmr_tokenizer *t = open_vocab("llama-spm");
    tok_expect(t, "<|user|>\na<|end|>\n<|assistant|>\n",
           (llmr_token[]){USER, SP, NL, A, END, SP, NL, ASSIST, SP, NL}, 10);
    llmr_tokenizer_close(t);
}

/* The real Phi-3 vocabulary (llama.cpp's models/ggml-vocab-phi-3.gguf), when ../shared has it:
 * the ids llama.cpp b4748 gives (llama_tokenize, parse_special, no BOS). */
static void real_phi3_vocabulary_matches_llama_cpp(void **st)
{
    (void)st;
    REQUIRE_SHARED(p, "vocab/ggml-vocab-phi-3.gguf");
    llmr_tokenizer *t = NULL;
    assert_int_equal(llmr_tokenizer_open(p, &t), LLMR_OK);
    tok_expect(t, "<|user|>\nHello<|end|>\n<|assistant|>\n",
           (llmr_token[]){32010, 15043, 32007, 32001}, 4);
    tok_expect(t, "<|system|>\n  You are\thelpful.<|end|>\n<|user|>\n\tHi  <|end|>\n",
           (llmr_token[]){32006, 887, 526, 12, 8477, 1319, 29889, 32007, 32010, 6324, 259,
                          32007}, 12);
    tok_expect(t, "<|endoftext|>\n x</s>  y<unk> z",
           (llmr_token[]){32000, 29871, 13, 921, 2, 343, 0, 29871, 503}, 9);
    llmr_tokenizer_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(phi3_special_tokens_take_the_whitespace_after_them),
        cmocka_unit_test(other_models_keep_the_whitespace),
        cmocka_unit_test(real_phi3_vocabulary_matches_llama_cpp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
