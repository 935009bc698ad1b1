/* test_tok_api.c - the tokenizer's contract: special tokens (BOS/EOS/[CLS]/[SEP], parsing
 * only on request), end-of-generation ids, SentencePiece's leading space, buffer sizes,
 * and clear errors for files without a usable tokenizer. */
#include "tokenizer/tok_test_util.h"
#include "tokenizer/tokenizer.h"

#include <unistd.h>

static llmr_tokenizer *open_shared(const char *rel)
{
    const char *p = shared_path(rel);
    if (!p)
        return NULL;
    llmr_tokenizer *t = NULL;
    int rc = llmr_tokenizer_open(p, &t);
    if (rc)
        print_error("%s: %s\n", p, llmr_tokenizer_errmsg(t));
    assert_int_equal(rc, LLMR_OK);
    return t;
}

#define OPEN_OR_SKIP(t, rel)                                                              \
    llmr_tokenizer *t = open_shared(rel);                                                 \
    if (!t) {                                                                             \
        print_message("skipped: ../shared/%s is absent\n", rel);                          \
        skip();                                                                           \
    }

static size_t tok(llmr_tokenizer *t, const char *s, unsigned flags, llmr_token *ids)
{
    size_t n = 0;
    assert_int_equal(llmr_tokenize(t, s, strlen(s), flags, ids, 512, &n), LLMR_OK);
    return n;
}

static void stories_prompt_gets_bos_and_golden_ids(void **state)
{
    (void)state;
    OPEN_OR_SKIP(t, "models/stories260K.gguf");
    llmr_token ids[512];
    /* stories260K.golden.json: prompt_ids of "Once upon a time" */
    static const llmr_token want[] = {1, 403, 407, 261, 378};
    assert_int_equal(tok(t, "Once upon a time", LLMR_TOK_ADD_SPECIAL, ids), 5);
    assert_memory_equal(ids, want, sizeof want);
    assert_int_equal(tok(t, "Once upon a time", 0, ids), 4);
    assert_memory_equal(ids, want + 1, 4 * sizeof *ids);
    assert_int_equal(llmr_tokenizer_bos(t), 1);
    assert_int_equal(llmr_tokenizer_eos(t), 2);
    assert_true(llmr_token_is_eog(t, 2));
    assert_false(llmr_token_is_eog(t, 1));
    assert_string_equal(llmr_tokenizer_model(t), "llama");
    llmr_tokenizer_close(t);
}

static void empty_text_gives_only_bos(void **state)
{
    (void)state;
    OPEN_OR_SKIP(t, "vocab/ggml-vocab-llama-spm.gguf");
    llmr_token ids[512];
    assert_int_equal(tok(t, "", 0, ids), 0);
    assert_int_equal(tok(t, "", LLMR_TOK_ADD_SPECIAL, ids), 1);
    assert_int_equal(ids[0], 1);
    llmr_tokenizer_close(t);
}

static void spm_leading_space_is_added_and_removed(void **state)
{
    (void)state;
    OPEN_OR_SKIP(t, "vocab/ggml-vocab-llama-spm.gguf");
    llmr_token ids[512];
    char buf[64];
    size_t n = tok(t, "Hello", LLMR_TOK_ADD_SPECIAL, ids), len;
    assert_int_equal(n, 2);
    assert_string_equal(llmr_token_text(t, ids[1]), "\xE2\x96\x81Hello");
    assert_int_equal(llmr_detokenize(t, ids, n, 0, buf, sizeof buf, &len), LLMR_OK);
    assert_string_equal(buf, "Hello");
    assert_int_equal(llmr_detokenize(t, ids, n, LLMR_DETOK_KEEP_LEADING_SPACE, buf, sizeof buf,
                                     &len), LLMR_OK);
    assert_string_equal(buf, " Hello");
    assert_int_equal(llmr_detokenize(t, ids, n, LLMR_DETOK_SPECIAL, buf, sizeof buf, &len),
                     LLMR_OK);
    assert_string_equal(buf, "<s> Hello");
    /* a piece is the token's own text, no leading-space rule */
    const char *p;
    assert_int_equal(llmr_token_to_piece(t, ids[1], false, &p, &len), LLMR_OK);
    assert_int_equal(len, 6);
    assert_memory_equal(p, " Hello", 6);
    llmr_tokenizer_close(t);
}

static void spm_byte_fallback_streams_whole_characters(void **state)
{
    (void)state;
    OPEN_OR_SKIP(t, "models/stories260K.gguf");
    /* the 512-token vocabulary has no CJK: each character falls back to <0xNN> tokens */
    const char *text = "\xE4\xBD\xA0\xE5\xA5\xBD";
    llmr_token ids[512];
    size_t n = tok(t, text, 0, ids);
    assert_int_equal(n, 7);   /* the leading U+2581, then 6 byte tokens */
    assert_string_equal(llmr_token_text(t, ids[1]), "<0xE4>");
    llmr_detok_stream *s;
    assert_int_equal(llmr_detok_stream_open(t, 0, &s), LLMR_OK);
    size_t lens[8], len;
    const char *p;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(llmr_detok_stream_push(s, ids[i], &p, &lens[i]), LLMR_OK);
        if (i == 3 || i == 6)
            assert_memory_equal(p, text + (i == 3 ? 0 : 3), 3);
    }
    static const size_t want[] = {0, 0, 0, 3, 0, 0, 3};
    assert_memory_equal(lens, want, sizeof want);
    assert_int_equal(llmr_detok_stream_flush(s, &p, &len), LLMR_OK);
    assert_int_equal(len, 0);
    /* a truncated character is given at the flush, as the bytes it has */
    assert_int_equal(llmr_detok_stream_push(s, ids[1], &p, &len), LLMR_OK);
    assert_int_equal(len, 0);
    assert_int_equal(llmr_detok_stream_flush(s, &p, &len), LLMR_OK);
    assert_int_equal(len, 1);
    assert_int_equal((unsigned char)p[0], 0xE4);
    assert_int_equal(llmr_detok_stream_push(s, 99999, &p, &len), LLMR_ERR_NOT_FOUND);
    llmr_detok_stream_close(s);
    llmr_tokenizer_close(t);
}

static void control_text_is_plain_unless_parse_special(void **state)
{
    (void)state;
    OPEN_OR_SKIP(t, "vocab/ggml-vocab-llama-bpe.gguf");
    llmr_token ids[512];
    const char *s = "Hi<|eot_id|>";
    size_t n = tok(t, s, 0, ids);
    assert_true(n > 2);
    for (size_t i = 0; i < n; i++)
        assert_false(llmr_token_is_control(t, ids[i]));
    n = tok(t, s, LLMR_TOK_PARSE_SPECIAL, ids);
    assert_int_equal(n, 2);
    assert_int_equal(ids[1], 128009);
    assert_true(llmr_token_is_eog(t, 128009));
    assert_int_equal(llmr_tokenizer_eot(t), 128009);
    assert_true(llmr_token_is_eog(t, llmr_tokenizer_eos(t)));
    assert_false(llmr_token_is_eog(t, llmr_tokenizer_bos(t)));
    /* Llama 3 adds BOS by default (no add_bos_token key in this file) */
    n = tok(t, s, LLMR_TOK_ADD_SPECIAL | LLMR_TOK_PARSE_SPECIAL, ids);
    assert_int_equal(n, 3);
    assert_int_equal(ids[0], 128000);
    char buf[64];
    size_t len;
    assert_int_equal(llmr_detokenize(t, ids, n, 0, buf, sizeof buf, &len), LLMR_OK);
    assert_string_equal(buf, "Hi");
    assert_int_equal(llmr_detokenize(t, ids, n, LLMR_DETOK_SPECIAL, buf, sizeof buf, &len),
                     LLMR_OK);
    assert_string_equal(buf, "<|begin_of_text|>Hi<|eot_id|>");
    llmr_tokenizer_close(t);
}

static void gpt2_adds_nothing_and_bert_adds_cls_sep(void **state)
{
    (void)state;
    llmr_token ids[512];
    llmr_tokenizer *g = open_shared("vocab/ggml-vocab-gpt-2.gguf");
    llmr_tokenizer *b = open_shared("vocab/ggml-vocab-bert-bge.gguf");
    if (!g || !b) {
        llmr_tokenizer_close(g);
        llmr_tokenizer_close(b);
        skip();
    }
    size_t n0 = tok(g, "Hello world", 0, ids);
    assert_int_equal(tok(g, "Hello world", LLMR_TOK_ADD_SPECIAL, ids), n0);
    size_t n = tok(b, "Hello world", LLMR_TOK_ADD_SPECIAL, ids);
    assert_int_equal(n, 4);
    assert_int_equal(ids[0], 101);   /* [CLS] */
    assert_int_equal(ids[3], 102);   /* [SEP] */
    assert_string_equal(llmr_tokenizer_model(b), "bert");
    /* BERT lowercases, strips accents and makes punctuation words of their own */
    static const llmr_token hello[] = {7592, 1010, 2088, 999};   /* hello , world ! */
    assert_int_equal(tok(b, "H\xC3\xA9llo, WORLD!", 0, ids), 4);
    assert_memory_equal(ids, hello, sizeof hello);
    /* words of more than 100 characters are [UNK] (max_input_chars_per_word) */
    char long_word[102];
    memset(long_word, 'a', 101);
    long_word[101] = 0;
    assert_int_equal(tok(b, long_word, 0, ids), 1);
    assert_int_equal(ids[0], 100);
    long_word[100] = 0;
    n = tok(b, long_word, 0, ids);
    assert_true(n > 1);
    for (size_t i = 0; i < n; i++)
        assert_int_not_equal(ids[i], 100);
    llmr_tokenizer_close(g);
    llmr_tokenizer_close(b);
}

static void small_buffers_report_the_size_needed(void **state)
{
    (void)state;
    OPEN_OR_SKIP(t, "vocab/ggml-vocab-gpt-2.gguf");
    llmr_token ids[2];
    size_t n = 0;
    assert_int_equal(llmr_tokenize(t, "Hello big world", 15, 0, ids, 2, &n), LLMR_ERR_TOO_BIG);
    assert_int_equal(n, 3);
    assert_int_equal(llmr_tokenize(t, NULL, 3, 0, ids, 2, &n), LLMR_ERR_ARG);
    llmr_token all[3];
    assert_int_equal(llmr_tokenize(t, "Hello big world", 15, 0, all, 3, &n), LLMR_OK);
    char buf[8];
    size_t len = 0;
    assert_int_equal(llmr_detokenize(t, all, 3, 0, buf, sizeof buf, &len), LLMR_ERR_TOO_BIG);
    assert_int_equal(len, 15);
    assert_int_equal(llmr_detokenize(t, all, 3, 0, NULL, 0, &len), LLMR_ERR_TOO_BIG);
    assert_int_equal(len, 15);
    llmr_token bad = 50257;
    assert_int_equal(llmr_detokenize(t, &bad, 1, 0, buf, sizeof buf, &len), LLMR_ERR_NOT_FOUND);
    bad = -1;
    assert_int_equal(llmr_detokenize(t, &bad, 1, 0, buf, sizeof buf, &len), LLMR_ERR_NOT_FOUND);
    assert_int_equal(llmr_token_to_piece(t, 50257, false, NULL, &len), LLMR_ERR_NOT_FOUND);
    assert_null(llmr_token_text(t, -5));
    llmr_tokenizer_close(t);
}

/* ---- files without a usable tokenizer ------------------------------------------------------ */

static void missing_or_bad_tokenizer_keys_are_named(void **state)
{
    (void)state;
    llmr_tokenizer *t = NULL;

    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_str(w, "general.architecture", "llama");
    assert_int_equal(tok_open_written(w, &t), LLMR_ERR_FORMAT);
    assert_non_null(strstr(llmr_tokenizer_errmsg(t), "tokenizer.ggml.model"));
    llmr_tokenizer_close(t);

    w = gguf_writer_new();
    gguf_writer_set_str(w, "tokenizer.ggml.model", "t5");
    assert_int_equal(tok_open_written(w, &t), LLMR_ERR_UNSUPPORTED);
    assert_non_null(strstr(llmr_tokenizer_errmsg(t), "t5"));
    llmr_tokenizer_close(t);

    static const char *const toks[] = {"<unk>", "<s>", "</s>", "a"};
    float scores[3] = {0, 0, 0};
    w = gguf_writer_new();
    gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    gguf_writer_set_str_arr(w, "tokenizer.ggml.tokens", toks, 4);
    gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_F32, scores, 3);
    assert_int_equal(tok_open_written(w, &t), LLMR_ERR_FORMAT);
    assert_non_null(strstr(llmr_tokenizer_errmsg(t), "tokenizer.ggml.scores"));
    llmr_tokenizer_close(t);

    w = gguf_writer_new();
    gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2");
    gguf_writer_set_str_arr(w, "tokenizer.ggml.tokens", toks, 4);
    assert_int_equal(tok_open_written(w, &t), LLMR_ERR_FORMAT);
    assert_non_null(strstr(llmr_tokenizer_errmsg(t), "tokenizer.ggml.merges"));
    llmr_tokenizer_close(t);

    static const char *const bad_merges[] = {"ab"};
    w = gguf_writer_new();
    gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2");
    gguf_writer_set_str_arr(w, "tokenizer.ggml.tokens", toks, 4);
    gguf_writer_set_str_arr(w, "tokenizer.ggml.merges", bad_merges, 1);
    assert_int_equal(tok_open_written(w, &t), LLMR_ERR_FORMAT);
    assert_non_null(strstr(llmr_tokenizer_errmsg(t), "merges[0]"));
    llmr_tokenizer_close(t);

    assert_int_equal(llmr_tokenizer_open("/nonexistent/x.gguf", &t), LLMR_ERR_IO);
    assert_non_null(strstr(llmr_tokenizer_errmsg(t), "/nonexistent/x.gguf"));
    llmr_tokenizer_close(t);
}

/* A tiny hand-made vocabulary: out-of-range special ids are ignored, a BPE merge whose parts
 * are not tokens still works through byte fallback, and nothing reads past the arrays. */
static void tiny_handmade_vocabularies_work(void **state)
{
    (void)state;
    llmr_tokenizer *t = NULL;
    static const char *const toks[] = {"a", "b", "ab", "\xC4\xA0", "<|end|>"};
    static const char *const merges[] = {"a b", "\xC4\xA0 a", "ab b"};
    int32_t types[] = {1, 1, 1, 1, 3};
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2");
    gguf_writer_set_str(w, "tokenizer.ggml.pre", "qwen2");
    gguf_writer_set_str_arr(w, "tokenizer.ggml.tokens", toks, 5);
    gguf_writer_set_str_arr(w, "tokenizer.ggml.merges", merges, 3);
    gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_I32, types, 5);
    gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 77);
    assert_int_equal(tok_open_written(w, &t), LLMR_OK);
    assert_int_equal(llmr_tokenizer_bos(t), LLMR_TOKEN_NULL);
    assert_int_equal(llmr_tokenizer_eot(t), 4);
    assert_true(llmr_token_is_eog(t, 4));
    assert_string_equal(llmr_tokenizer_pre(t), "qwen2");
    llmr_token ids[16];
    size_t n = 0;
    /* " ab" -> " a" is not a token, "ab" is; "abb" is a merge result outside the vocabulary */
    assert_int_equal(llmr_tokenize(t, "ab abb", 6, LLMR_TOK_ADD_SPECIAL, ids, 16, &n), LLMR_OK);
    static const llmr_token want[] = {2, 3, 0, 1, 1};
    assert_int_equal(n, 5);
    assert_memory_equal(ids, want, sizeof want);
    llmr_tokenizer_close(t);
}

/* Special tokens are taken longest first, then left to right without overlap (llama.cpp's
 * tokenizer_st_partition): in "abcd ab", "bcd" wins over the "ab" it overlaps. */
static void longer_special_tokens_win_overlaps(void **state)
{
    (void)state;
    llmr_tokenizer *t = NULL;
    static const char *const toks[] = {"a", "b", "c", "d", "\xC4\xA0", "ab", "bcd"};
    static const char *const merges[] = {"a b"};
    int32_t types[] = {1, 1, 1, 1, 1, 4, 4};
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2");
    gguf_writer_set_str_arr(w, "tokenizer.ggml.tokens", toks, 7);
    gguf_writer_set_str_arr(w, "tokenizer.ggml.merges", merges, 1);
    gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_I32, types, 7);
    assert_int_equal(tok_open_written(w, &t), LLMR_OK);
    llmr_token ids[16];
    size_t n = 0;
    assert_int_equal(llmr_tokenize(t, "abcd ab", 7, 0, ids, 16, &n), LLMR_OK);
    static const llmr_token want[] = {0, 6, 4, 5};
    assert_int_equal(n, 4);
    assert_memory_equal(ids, want, sizeof want);
    llmr_tokenizer_close(t);
}

/* Hostile vocabularies: random strings (empty, U+2581, <0xNN>, multi-byte, duplicates),
 * random token types, NaN scores, merges of anything: opening either fails cleanly or gives a
 * tokenizer that tokenizes, detokenizes and streams random text without fault (run under
 * ASan/UBSan in CI). */
static uint64_t seed = 88172645463325252ull;
static uint32_t rnd32(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return (uint32_t)(seed >> 16);
}

static void random_vocabularies_never_crash(void **state)
{
    (void)state;
    static const char *const atoms[] = {"a", "b", "ab", " ", "\xE2\x96\x81", "\xC4\xA0", "<0x41>",
                                        "<0xZZ>", "<s>", "\xC3\xA9", "\xF0\x9F\x98\x80", "##b", "",
                                        "\xFF", "[UNK]", "<|end|>", "\xE2\x96\x81\x61", "a b"};
    const size_t n_atoms = sizeof atoms / sizeof atoms[0];
    static const char *const models[] = {"llama", "gpt2", "bert"};
    static const char *const pres[] = {"default", "llama-bpe", "qwen2", "deepseek-llm",
                                       "deepseek-coder", "falcon", "smollm", "gpt-2", "zz"};
    char text[256], out[4096];
    llmr_token ids[1024];
    int opened = 0, refused = 0;
    for (int iter = 0; iter < 60; iter++) {
        uint32_t nv = 1 + rnd32() % 40, nm = rnd32() % 30;
        char tok_buf[40][16];
        const char *toks[40], *merges[30];
        char merge_buf[30][40];
        float scores[40];
        int32_t types[40];
        for (uint32_t i = 0; i < nv; i++) {
            snprintf(tok_buf[i], sizeof tok_buf[i], "%s%s", atoms[rnd32() % n_atoms],
                     rnd32() % 3 ? "" : atoms[rnd32() % n_atoms]);
            toks[i] = tok_buf[i];
            union { uint32_t u; float f; } nan = {0x7FC00000u};
            scores[i] = rnd32() % 10 ? (float)(rnd32() % 100) - 50.0f : nan.f;
            types[i] = (int32_t)(rnd32() % 9) - 1;
        }
        for (uint32_t i = 0; i < nm; i++) {
            snprintf(merge_buf[i], sizeof merge_buf[i], "%s %s", toks[rnd32() % nv],
                     rnd32() % 5 ? toks[rnd32() % nv] : "");
            merges[i] = merge_buf[i];
        }
        gguf_writer *w = gguf_writer_new();
        gguf_writer_set_str(w, "tokenizer.ggml.model", models[rnd32() % 3]);
        gguf_writer_set_str(w, "tokenizer.ggml.pre", pres[rnd32() % 9]);
        gguf_writer_set_str_arr(w, "tokenizer.ggml.tokens", toks, nv);
        if (rnd32() % 4)
            gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_F32, scores, nv);
        if (rnd32() % 4)
            gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_I32, types, nv);
        if (rnd32() % 4)
            gguf_writer_set_str_arr(w, "tokenizer.ggml.merges", merges, nm);
        gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", rnd32() % (nv + 3));
        gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", rnd32() % (nv + 3));
        gguf_writer_set_bool(w, "tokenizer.ggml.add_eos_token", rnd32() % 2);
        gguf_writer_set_bool(w, "tokenizer.ggml.add_space_prefix", rnd32() % 2);
        llmr_tokenizer *t = NULL;
        int rc = tok_open_written(w, &t);
        if (rc != LLMR_OK) {
            assert_true(rc == LLMR_ERR_FORMAT || rc == LLMR_ERR_UNSUPPORTED);
            assert_true(llmr_tokenizer_errmsg(t)[0] != 0);
            llmr_tokenizer_close(t);
            refused++;
            continue;
        }
        opened++;
        for (int k = 0; k < 20; k++) {
            size_t len = rnd32() % 64;
            for (size_t i = 0; i < len; i++)
                text[i] = rnd32() % 2 ? "ab \xC3\xA9<s>|"[rnd32() % 10] : (char)rnd32();
            size_t n = 0, ol = 0;
            rc = llmr_tokenize(t, text, len, rnd32() % 4, ids, 1024, &n);
            assert_int_equal(rc, LLMR_OK);
            for (size_t i = 0; i < n; i++)
                assert_true(ids[i] >= 0 && ids[i] < (llmr_token)nv);
            assert_int_equal(llmr_detokenize(t, ids, n, rnd32() % 4, out, sizeof out, &ol),
                             LLMR_OK);
            llmr_detok_stream *s;
            assert_int_equal(llmr_detok_stream_open(t, 0, &s), LLMR_OK);
            const char *p;
            size_t pl;
            for (size_t i = 0; i < n; i++)
                assert_int_equal(llmr_detok_stream_push(s, ids[i], &p, &pl), LLMR_OK);
            llmr_detok_stream_flush(s, &p, &pl);
            llmr_detok_stream_close(s);
        }
        llmr_tokenizer_close(t);
    }
    print_message("%d random vocabularies opened and used, %d refused with a message\n", opened,
                  refused);
    assert_true(opened > 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stories_prompt_gets_bos_and_golden_ids),
        cmocka_unit_test(empty_text_gives_only_bos),
        cmocka_unit_test(spm_leading_space_is_added_and_removed),
        cmocka_unit_test(spm_byte_fallback_streams_whole_characters),
        cmocka_unit_test(control_text_is_plain_unless_parse_special),
        cmocka_unit_test(gpt2_adds_nothing_and_bert_adds_cls_sep),
        cmocka_unit_test(small_buffers_report_the_size_needed),
        cmocka_unit_test(missing_or_bad_tokenizer_keys_are_named),
        cmocka_unit_test(tiny_handmade_vocabularies_work),
        cmocka_unit_test(longer_special_tokens_win_overlaps),
        cmocka_unit_test(random_vocabularies_never_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
