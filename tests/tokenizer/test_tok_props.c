/* test_tok_props.c - properties of every tokenizer on generated text: random UTF-8 from many
 * scripts (CJK, combining marks, emoji ZWJ sequences, odd white space) round-trips through
 * tokenize + detokenize; invalid bytes come back as U+FFFD; streamed pieces are whole UTF-8
 * and concatenate to the detokenized text, byte for byte; nothing crashes on random bytes. */
#include "test_util.h"
#include "llmr.h"
#include "tokenizer/tok_impl.h"   /* byte_tok: which bytes a vocabulary can spell */

typedef struct vocab {
    const char *rel;
    bool spm;              /* U+2581 in the input reads as a space: keep it out */
    llmr_tokenizer *t;
    bool missing[256];     /* bytes with no token of their own (Falcon lacks a few control
                              bytes): text holding them cannot come back, so none is made */
} vocab;

static vocab vocabs[] = {
    {.rel = "vocab/ggml-vocab-llama-spm.gguf", .spm = true},
    {.rel = "vocab/ggml-vocab-llama-bpe.gguf", .spm = false},
    {.rel = "vocab/ggml-vocab-gpt-2.gguf", .spm = false},
    {.rel = "vocab/ggml-vocab-deepseek-llm.gguf", .spm = false},
    {.rel = "vocab/ggml-vocab-falcon.gguf", .spm = false},
    {.rel = "models/llama-2-tiny-random.gguf", .spm = true},
    {.rel = "models/stories260K.gguf", .spm = true},
};
#define N_VOCABS (sizeof vocabs / sizeof vocabs[0])

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static int put_cp(char *o, uint32_t c)
{
    if (c < 0x80) { o[0] = (char)c; return 1; }
    if (c < 0x800) { o[0] = (char)(0xC0 | c >> 6); o[1] = (char)(0x80 | (c & 63)); return 2; }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | c >> 12); o[1] = (char)(0x80 | ((c >> 6) & 63));
        o[2] = (char)(0x80 | (c & 63));
        return 3;
    }
    o[0] = (char)(0xF0 | c >> 18); o[1] = (char)(0x80 | ((c >> 12) & 63));
    o[2] = (char)(0x80 | ((c >> 6) & 63)); o[3] = (char)(0x80 | (c & 63));
    return 4;
}

/* One code point from a mix of scripts and the characters tokenizers get wrong. */
static uint32_t random_cp(bool spm)
{
    static const uint32_t odd[] = {' ', ' ', '\n', '\t', '\r', 0xA0, 0x85, 0x2028, 0x3000,
                                   0x200D, 0xFE0F, 0x1F3FB, '\'', '0', '9', 0x300, 0xFFFD};
    uint32_t c;
    switch (rnd() % 12) {
    case 0: case 1: case 2: return 0x20 + rnd() % 95;                  /* ASCII */
    case 3: return odd[rnd() % (sizeof odd / sizeof odd[0])];
    case 4: return 0xA1 + rnd() % (0x250 - 0xA1);                       /* Latin */
    case 5: return 0x300 + rnd() % 0x70;                                /* combining marks */
    case 6: return 0x4E00 + rnd() % 0x5200;                             /* CJK */
    case 7: return 0xAC00 + rnd() % 11172;                              /* Hangul */
    case 8: return 0x1F300 + rnd() % 0x800;                             /* emoji */
    case 9: return 0x1780 + rnd() % 0x80;                               /* Khmer */
    case 10: return 0x900 + rnd() % 0x80;                               /* Devanagari */
    default:
        do
            c = rnd() % 0x110000;
        while ((c >= 0xD800 && c <= 0xDFFF) || c == 0 || (spm && c == 0x2581));
        return c;
    }
}

static bool spellable(const vocab *v, const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (v->missing[(unsigned char)s[i]])
            return false;
    return true;
}

static size_t random_text(char *o, size_t max_cps, const vocab *v)
{
    size_t n = 0, k = 1 + rnd() % max_cps;
    for (size_t i = 0; i < k; i++) {
        int l;
        do
            l = put_cp(o + n, random_cp(v->spm));
        while (!spellable(v, o + n, l));
        n += (size_t)l;
    }
    return n;
}

static int setup(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_VOCABS; i++) {
        const char *p = shared_path(vocabs[i].rel);
        if (!p)
            continue;
        if (llmr_tokenizer_open(p, &vocabs[i].t) != LLMR_OK) {
            print_error("%s: %s\n", p, llmr_tokenizer_errmsg(vocabs[i].t));
            return -1;
        }
        const llmr_tokenizer *t = vocabs[i].t;
        for (int b = 0; b < 256; b++)
            vocabs[i].missing[b] = t->byte_tok[b] < 0 || t->byte_tok[b] >= t->n_vocab;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_VOCABS; i++)
        llmr_tokenizer_close(vocabs[i].t);
    return 0;
}

static bool valid_utf8(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned char b = u[i];
        size_t l = b < 0x80 ? 1 : b >= 0xC2 && b <= 0xDF ? 2 : b >= 0xE0 && b <= 0xEF ? 3
                 : b >= 0xF0 && b <= 0xF4 ? 4 : 0;
        if (l == 0 || i + l > n)
            return false;
        for (size_t k = 1; k < l; k++)
            if ((u[i + k] & 0xC0) != 0x80)
                return false;
        i += l;
    }
    return true;
}

/* Streams ids through a detok stream; checks the pieces against the whole text. When
 * `whole_utf8`, each piece must itself be valid UTF-8. */
static void check_stream(llmr_tokenizer *t, const llmr_token *ids, size_t n, unsigned flags,
                         bool whole_utf8)
{
    static char whole[1 << 16], cat[1 << 16];
    size_t wl = 0, cl = 0;
    assert_int_equal(llmr_detokenize(t, ids, n, flags, whole, sizeof whole, &wl), LLMR_OK);
    llmr_detok_stream *s = NULL;
    assert_int_equal(llmr_detok_stream_open(t, flags, &s), LLMR_OK);
    for (size_t i = 0; i <= n; i++) {
        const char *p;
        size_t pl;
        if (i < n)
            assert_int_equal(llmr_detok_stream_push(s, ids[i], &p, &pl), LLMR_OK);
        else
            assert_int_equal(llmr_detok_stream_flush(s, &p, &pl), LLMR_OK);
        if (whole_utf8 && !valid_utf8(p, pl))
            fail_msg("piece %zu of %zu is not whole UTF-8", i, n);
        assert_true(cl + pl <= sizeof cat);
        memcpy(cat + cl, p, pl);
        cl += pl;
    }
    llmr_detok_stream_close(s);
    assert_int_equal(cl, wl);
    assert_memory_equal(cat, whole, wl);
}

static void random_utf8_round_trips_and_streams_whole_characters(void **state)
{
    (void)state;
    static char text[8192], back[1 << 16];
    static llmr_token ids[8192];
    int checked = 0;
    for (size_t v = 0; v < N_VOCABS; v++) {
        llmr_tokenizer *t = vocabs[v].t;
        if (!t)
            continue;
        for (int iter = 0; iter < 150; iter++) {
            size_t len = random_text(text, 60, &vocabs[v]);
            size_t n = 0, bl = 0;
            assert_int_equal(llmr_tokenize(t, text, len, 0, ids, 8192, &n), LLMR_OK);
            assert_int_equal(llmr_detokenize(t, ids, n, 0, back, sizeof back, &bl), LLMR_OK);
            if (bl != len || memcmp(back, text, len) != 0)
                fail_msg("%s: \"%.*s\" came back as \"%.*s\"", vocabs[v].rel, (int)len, text,
                         (int)bl, back);
            check_stream(t, ids, n, 0, true);
            checked++;
        }
    }
    if (!checked)
        skip();
}

/* Each byte that does not start valid UTF-8 is read as U+FFFD (documented in llmr.h). */
static size_t expect_sanitized(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        unsigned char b = in[i];
        size_t l = b < 0x80 ? 1 : b >= 0xC2 && b <= 0xDF ? 2 : b >= 0xE0 && b <= 0xEF ? 3
                 : b >= 0xF0 && b <= 0xF4 ? 4 : 0;
        bool ok = l > 0 && i + l <= n;
        uint32_t c = l == 1 ? b : l == 2 ? (b & 0x1Fu) : l == 3 ? (b & 0x0Fu) : (b & 0x07u);
        for (size_t k = 1; ok && k < l; k++) {
            ok = (in[i + k] & 0xC0) == 0x80;
            c = c << 6 | (in[i + k] & 0x3Fu);
        }
        if (ok && ((l == 2 && c < 0x80) || (l == 3 && c < 0x800) || (l == 4 && c < 0x10000) ||
                   c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)))
            ok = false;
        if (!ok) {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else {
            memcpy(out + o, in + i, l);
            o += l;
            i += l;
        }
    }
    return o;
}

static void invalid_utf8_reads_as_replacement_characters(void **state)
{
    (void)state;
    static unsigned char in[512];
    static char want[2048], back[1 << 16];
    static llmr_token ids[4096];
    int checked = 0;
    for (size_t v = 0; v < N_VOCABS; v++) {
        llmr_tokenizer *t = vocabs[v].t;
        if (!t || !spellable(&vocabs[v], "\xEF\xBF\xBD", 3))
            continue;
        for (int iter = 0; iter < 100; iter++) {
            size_t n = 1 + rnd() % 200;
            for (size_t i = 0; i < n; i++) {
                /* mostly text-like bytes with lead and continuation bytes mixed in */
                uint32_t r = rnd() % 8;
                in[i] = r < 3 ? (unsigned char)(0x20 + rnd() % 95)
                              : r < 5 ? (unsigned char)(0x80 + rnd() % 64)
                                      : (unsigned char)(rnd() & 0xFF);
                if (in[i] == 0 || (vocabs[v].spm && in[i] == 0xE2) || vocabs[v].missing[in[i]])
                    in[i] = 'x';   /* NUL is fine, but keep the comparison readable */
            }
            size_t wl = expect_sanitized(in, n, want);
            size_t nt = 0, bl = 0;
            assert_int_equal(llmr_tokenize(t, (const char *)in, n, 0, ids, 4096, &nt), LLMR_OK);
            assert_int_equal(llmr_detokenize(t, ids, nt, 0, back, sizeof back, &bl), LLMR_OK);
            assert_int_equal(bl, wl);
            assert_memory_equal(back, want, wl);
            check_stream(t, ids, nt, 0, true);
            checked++;
        }
    }
    if (!checked)
        skip();
}

static void fixed_hard_strings_round_trip(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7\xE2\x80\x8D"
        "\xF0\x9F\x91\xA6 family (ZWJ)",
        "\xF0\x9F\x8F\xB3\xEF\xB8\x8F\xE2\x80\x8D\xF0\x9F\x8C\x88 flag, \xF0\x9F\x91\x8D\xF0"
        "\x9F\x8F\xBD tone",
        "e\xCC\x81 vs \xC3\xA9, a\xCC\x8A\xCC\x81\xCC\xA3 stacked marks",
        "\xE4\xBD\xA0\xE5\xA5\xBD\xEF\xBC\x8C\xE4\xB8\x96\xE7\x95\x8C\xEF\xBC\x81 \xED\x95\x9C"
        "\xEA\xB5\xAD\xEC\x96\xB4 \xE3\x81\x93\xE3\x82\x93\xE3\x81\xAB\xE3\x81\xA1\xE3\x81\xAF",
        "\xE1\x9E\x80\xE1\x9E\xB6\xE1\x9E\x93\xE1\x9F\x8B Khmer, \xE0\xA4\xB9\xE0\xA4\xBF\xE0\xA4"
        "\x82\xE0\xA4\xA6\xE0\xA5\x80 Hindi",
        "  leading spaces\n\n\ttabs\r\n and trailing   ",
        "<|eot_id|> <s> </s> [CLS] <|endoftext|> look like control tokens",
        "",
    };
    static char back[4096];
    static llmr_token ids[2048];
    int checked = 0;
    for (size_t v = 0; v < N_VOCABS; v++) {
        llmr_tokenizer *t = vocabs[v].t;
        if (!t)
            continue;
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            size_t len = strlen(cases[c]), n = 0, bl = 0;
            assert_int_equal(llmr_tokenize(t, cases[c], len, 0, ids, 2048, &n), LLMR_OK);
            for (size_t i = 0; i < n; i++)   /* user text never yields a control token */
                assert_false(llmr_token_is_control(t, ids[i]));
            assert_int_equal(llmr_detokenize(t, ids, n, 0, back, sizeof back, &bl), LLMR_OK);
            if (bl != len || memcmp(back, cases[c], len) != 0)
                fail_msg("%s: case %zu came back as \"%.*s\"", vocabs[v].rel, c, (int)bl, back);
            check_stream(t, ids, n, 0, true);
            checked++;
        }
    }
    if (!checked)
        skip();
}

/* Random ids (byte tokens included) may form invalid UTF-8: the stream still gives exactly
 * the bytes of the whole detokenization, with and without special tokens rendered. */
static void random_ids_stream_equals_whole(void **state)
{
    (void)state;
    static llmr_token ids[256];
    int checked = 0;
    for (size_t v = 0; v < N_VOCABS; v++) {
        llmr_tokenizer *t = vocabs[v].t;
        if (!t)
            continue;
        int32_t nv = llmr_tokenizer_n_vocab(t);
        for (int iter = 0; iter < 100; iter++) {
            size_t n = rnd() % 64;
            for (size_t i = 0; i < n; i++)
                ids[i] = rnd() % 3 ? (llmr_token)(3 + rnd() % 256) % nv : (llmr_token)(rnd() % (uint32_t)nv);
            check_stream(t, ids, n, iter % 2 ? LLMR_DETOK_SPECIAL : 0, false);
            check_stream(t, ids, n, LLMR_DETOK_KEEP_LEADING_SPACE, false);
            checked++;
        }
    }
    if (!checked)
        skip();
}

static void random_bytes_never_crash(void **state)
{
    (void)state;
    static unsigned char in[1024];
    static llmr_token ids[4096];
    int checked = 0;
    for (size_t v = 0; v < N_VOCABS; v++) {
        llmr_tokenizer *t = vocabs[v].t;
        if (!t)
            continue;
        for (int iter = 0; iter < 60; iter++) {
            size_t n = rnd() % sizeof in;
            for (size_t i = 0; i < n; i++)
                in[i] = (unsigned char)rnd();
            size_t nt = 0;
            int rc = llmr_tokenize(t, (const char *)in, n,
                                   LLMR_TOK_ADD_SPECIAL | LLMR_TOK_PARSE_SPECIAL, ids, 4096, &nt);
            assert_true(rc == LLMR_OK || rc == LLMR_ERR_TOO_BIG);
            checked++;
        }
    }
    if (!checked)
        skip();
}

/* Merging SentencePiece text word by word (spm_chunks) gives what merging it whole does. */
static void spm_word_by_word_equals_whole_text(void **state)
{
    (void)state;
    static char text[8192];
    static llmr_token a[8192], b[8192];
    int checked = 0;
    for (size_t v = 0; v < N_VOCABS; v++) {
        llmr_tokenizer *t = vocabs[v].t;
        if (!t || !t->spm_chunks)
            continue;
        for (int iter = 0; iter < 100; iter++) {
            size_t len = random_text(text, 80, &vocabs[v]), na = 0, nb = 0;
            assert_int_equal(llmr_tokenize(t, text, len, 0, a, 8192, &na), LLMR_OK);
            t->spm_chunks = false;
            assert_int_equal(llmr_tokenize(t, text, len, 0, b, 8192, &nb), LLMR_OK);
            t->spm_chunks = true;
            assert_int_equal(na, nb);
            assert_memory_equal(a, b, na * sizeof *a);
            checked++;
        }
    }
    if (!checked)
        skip();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_utf8_round_trips_and_streams_whole_characters),
        cmocka_unit_test(invalid_utf8_reads_as_replacement_characters),
        cmocka_unit_test(fixed_hard_strings_round_trip),
        cmocka_unit_test(random_ids_stream_equals_whole),
        cmocka_unit_test(random_bytes_never_crash),
        cmocka_unit_test(spm_word_by_word_equals_whole_text),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
