/* test_tok_normalize.c - text normalized as the models' own tokenizers do.
 *
 * Qwen's tokenizer.json normalizes text to NFC before pre-tokenizing, so a
 * decomposed "e" + U+0301 gets the ids of "é". GGUF carries no normalizer: a byte-level BPE
 * with pre-tokenizer qwen2 (or deepseek-r1-qwen) gets it, and others (GPT-2, Llama 3: no
 * normalizer in their tokenizer.json) keep the text as written. Special tokens are split out
 * first, as Hugging Face matches its added tokens before normalizing. */
#include "tokenizer/tok_test_util.h"

/* Byte-level BPE strings (GPT-2's byte map): 0xC3 is "Ã", 0xA9 "©", 0xCC "Ì", 0x81 "ģ". */
enum { E, B_C3, B_A9, B_CC, B_81, E_ACUTE, IM_END, N_TOK };

static llmr_tokenizer *open_bpe(const char *pre)
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
    return tok_open_ok(w);
}


static void qwen2_composes_a_decomposed_accent_before_merging(void **st)
{
    (void)st;
    const char *pres[] = {"qwen2", "deepseek-r1-qwen"};
    for (size_t i = 0; i < 2; i++) {
        llmr_tokenizer *t = open_bpe(pres[i]);
        tok_expect(t, "e\xCC\x81", (llmr_token[]){E_ACUTE}, 1);       /* e + U+0301 */
        tok_expect(t, "\xC3\xA9", (llmr_token[]){E_ACUTE}, 1);        /* é as written */
        tok_expect(t, "ee\xCC\x81", (llmr_token[]){E, E_ACUTE}, 2);
        /* the special token is split out before normalizing; the text around it is composed */
        tok_expect(t, "e\xCC\x81<|im_end|>e\xCC\x81", (llmr_token[]){E_ACUTE, IM_END, E_ACUTE}, 3);
        llmr_tokenizer_close(t);
    }
}

static void other_byte_level_vocabularies_keep_the_text_as_written(void **st)
{
    (void)st;
    const char *pres[] = {"gpt-2", "llama-bpe"};
    for (size_t i = 0; i < 2; i++) {
        llmr_tokenizer *t = open_bpe(pres[i]);
        tok_expect(t, "e\xCC\x81", (llmr_token[]){E, B_CC, B_81}, 3);
        tok_expect(t, "\xC3\xA9", (llmr_token[]){E_ACUTE}, 1);
        llmr_tokenizer_close(t);
    }
}

/* SentencePiece (Gemma): a space and a typed U+2581 are one character once normalized, and
 * user-defined pieces are matched there; GGUF stores Gemma's "▁▁".."▁▁▁" pieces with spaces
 * (llama.cpp's converter does), matched in the raw text. A typed "▁" must then read as a
 * space, or "▁  a" splits as "▁" "  " "a" where SentencePiece and Hugging Face give "▁▁▁" "a". */
enum { S_UNK, S_SP, S_SP2, S_SP3, S_A, S_SP_A, S_CTL, S_N };

static llmr_tokenizer *open_spm(const char *control)
{
    const char *toks[S_N] = {"<unk>", "\xE2\x96\x81", "  ", "   ", "a", "\xE2\x96\x81\x61",
                             control};
    float scores[S_N] = {0, -1, 0, 0, -2, -1, 0};
    int32_t types[S_N] = {2, 1, 4, 4, 1, 1, 3};
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    gguf_writer_set_bool(w, "tokenizer.ggml.add_space_prefix", false);
    gguf_writer_set_str_arr(w, "tokenizer.ggml.tokens", toks, S_N);
    gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_F32, scores, S_N);
    gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_I32, types, S_N);
    return tok_open_ok(w);
}

static void spm_typed_u2581_joins_the_spaces_of_user_pieces(void **st)
{
    (void)st;
    llmr_tokenizer *t = open_spm("<ctl>");
    tok_expect(t, "\xE2\x96\x81  a", (llmr_token[]){S_SP3, S_A}, 2);
    tok_expect(t, "\xE2\x96\x81\xE2\x96\x81", (llmr_token[]){S_SP2}, 1);
    tok_expect(t, " \xE2\x96\x81 a", (llmr_token[]){S_SP3, S_A}, 2);
    tok_expect(t, "a\xE2\x96\x81" "a", (llmr_token[]){S_A, S_SP_A}, 2);   /* one: as before */
    tok_expect(t, "a a", (llmr_token[]){S_A, S_SP_A}, 2);
    tok_expect(t, "<ctl>\xE2\x96\x81\xE2\x96\x81", (llmr_token[]){S_CTL, S_SP2}, 2);
    llmr_tokenizer_close(t);
}

/* A vocabulary with a piece that holds U+2581 itself keeps the text as typed (the piece must
 * still match it). */
static void spm_piece_with_u2581_keeps_the_text_as_typed(void **st)
{
    (void)st;
    llmr_tokenizer *t = open_spm("<c\xE2\x96\x81l>");
    tok_expect(t, "\xE2\x96\x81  a", (llmr_token[]){S_SP, S_SP2, S_A}, 3);
    tok_expect(t, "<c\xE2\x96\x81l>", (llmr_token[]){S_CTL}, 1);
    llmr_tokenizer_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(qwen2_composes_a_decomposed_accent_before_merging),
        cmocka_unit_test(other_byte_level_vocabularies_keep_the_text_as_written),
        cmocka_unit_test(spm_typed_u2581_joins_the_spaces_of_user_pieces),
        cmocka_unit_test(spm_piece_with_u2581_keeps_the_text_as_typed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
