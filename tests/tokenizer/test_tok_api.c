/* test_tok_api.c - the tokenizer's contract: special tokens (BOS/EOS/[CLS]/[SEP], parsing
 * only on request), end-of-generation ids, SentencePiece's leading space, buffer sizes,
 * and clear errors for files without a usable tokenizer. */
#include "test_util.h"
#include "llmr.h"
#include "gguf/gguf.h"
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

static int open_written(gguf_writer *w, char *path, size_t cap, llmr_tokenizer **t)
{
    snprintf(path, cap, "/tmp/llmr-tok-test-%d.gguf", (int)getpid());
    llmr_err err;
    assert_int_equal(gguf_writer_write(w, path, 0, &err), LLMR_OK);
    gguf_writer_free(w);
    int rc = llmr_tokenizer_open(path, t);
    unlink(path);
    return rc;
}

static void missing_or_bad_tokenizer_keys_are_named(void **state)
{
    (void)state;
    char path[128];
    llmr_tokenizer *t = NULL;

    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_str(w, "general.architecture", "llama");
    assert_int_equal(open_written(w, path, sizeof path, &t), LLMR_ERR_FORMAT);
    assert_non_null(strstr(llmr_tokenizer_errmsg(t), "tokenizer.ggml.model"));
    llmr_tokenizer_close(t);

    w = gguf_writer_new();
    gguf_writer_set_str(w, "tokenizer.ggml.model", "t5");
    assert_int_equal(open_written(w, path, sizeof path, &t), LLMR_ERR_UNSUPPORTED);
    assert_non_null(strstr(llmr_tokenizer_errmsg(t), "t5"));
    llmr_tokenizer_close(t);

    static const char *const toks[] = {"<unk>", "<s>", "</s>", "a"};
    float scores[3] = {0, 0, 0};
    w = gguf_writer_new();
    gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    gguf_writer_set_str_arr(w, "tokenizer.ggml.tokens", toks, 4);
    gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_F32, scores, 3);
    assert_int_equal(open_written(w, path, sizeof path, &t), LLMR_ERR_FORMAT);
    assert_non_null(strstr(llmr_tokenizer_errmsg(t), "tokenizer.ggml.scores"));
    llmr_tokenizer_close(t);

    w = gguf_writer_new();
    gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2");
    gguf_writer_set_str_arr(w, "tokenizer.ggml.tokens", toks, 4);
    assert_int_equal(open_written(w, path, sizeof path, &t), LLMR_ERR_FORMAT);
    assert_non_null(strstr(llmr_tokenizer_errmsg(t), "tokenizer.ggml.merges"));
    llmr_tokenizer_close(t);

    static const char *const bad_merges[] = {"ab"};
    w = gguf_writer_new();
    gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2");
    gguf_writer_set_str_arr(w, "tokenizer.ggml.tokens", toks, 4);
    gguf_writer_set_str_arr(w, "tokenizer.ggml.merges", bad_merges, 1);
    assert_int_equal(open_written(w, path, sizeof path, &t), LLMR_ERR_FORMAT);
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
    char path[128];
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
    assert_int_equal(open_written(w, path, sizeof path, &t), LLMR_OK);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
