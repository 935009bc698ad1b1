/* test_analyzer.c - the live stream analyzer's counts, and the stop scan on its own. */
#include "test_util.h"
#include "llmr.h"
#include "stream/text.h"

static void analyzer_counts_words_sentences_and_unique_words(void **state)
{
    llmr_analyzer *a;
    assert_int_equal(llmr_analyzer_open(&a), LLMR_OK);
    /* Words split across pieces are joined; case is folded for uniqueness. */
    const char *pieces[] = {"The ca", "t sat. The", " dog ran!", " Did the CAT", " run?", " Ünï"};
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(llmr_analyzer_feed(a, pieces[i], strlen(pieces[i])), LLMR_OK);
    llmr_analysis st;
    llmr_analyzer_get(a, false, &st);
    assert_int_equal(st.tokens, 6);
    assert_int_equal(st.sentences, 3);
    /* the cat sat the dog ran did the cat run: 10 words (Ünï still open) */
    assert_int_equal(st.words, 10);
    assert_int_equal(st.unique_words, 7);            /* the cat sat dog ran did run */
    assert_true(st.avg_word_len > 2.99 && st.avg_word_len < 3.01);
    assert_true(st.words_per_sentence > 3.33 && st.words_per_sentence < 3.34);
    llmr_analyzer_get(a, true, &st);                 /* the open word counts at the end */
    assert_int_equal(st.words, 11);
    assert_int_equal(st.unique_words, 8);
    assert_int_equal(st.chars, strlen("The cat sat. The dog ran! Did the CAT run? ") + 3);
    llmr_analyzer_close(a);
    llmr_analyzer_close(NULL);
}

static void analyzer_joins_a_character_split_across_pieces(void **state)
{
    llmr_analyzer *a;
    assert_int_equal(llmr_analyzer_open(&a), LLMR_OK);
    assert_int_equal(llmr_analyzer_feed(a, "\xC3", 1), LLMR_OK);
    assert_int_equal(llmr_analyzer_feed(a, "\x89t\xC3\xA9 ", 5), LLMR_OK);   /* "Été " */
    llmr_analysis st;
    llmr_analyzer_get(a, true, &st);
    assert_int_equal(st.words, 1);
    assert_int_equal(st.chars, 4);
    assert_true(st.avg_word_len == 3.0);
    llmr_analyzer_close(a);
}

static void stop_scan_holds_back_only_possible_starts(void **state)
{
    llmr_stopset st = {{"\nHuman:", "END"}, {7, 3}, 2};
    bool hit;
    assert_int_equal(llmri_stop_scan(&st, "hello", 5, &hit), 5);
    assert_false(hit);
    assert_int_equal(llmri_stop_scan(&st, "hello\nHu", 8, &hit), 5);
    assert_false(hit);
    assert_int_equal(llmri_stop_scan(&st, "hello E", 7, &hit), 6);
    assert_int_equal(llmri_stop_scan(&st, "a\nHuman: b", 10, &hit), 1);
    assert_true(hit);
    assert_int_equal(llmri_stop_scan(&st, "xEN", 3, &hit), 1);
    assert_int_equal(llmri_stop_scan(NULL, "xEN", 3, &hit), 3);
}

static void utf8_validation_follows_table_3_7(void **state)
{
    assert_true(llmri_utf8_valid("a\xC2\x80\xE0\xA0\x80\xF4\x8F\xBF\xBF", 10));
    assert_false(llmri_utf8_valid("\xC0\x80", 2));          /* overlong */
    assert_false(llmri_utf8_valid("\xED\xA0\x80", 3));      /* surrogate */
    assert_false(llmri_utf8_valid("\xF4\x90\x80\x80", 4));  /* past U+10FFFF */
    assert_false(llmri_utf8_valid("\xE2\x82", 2));          /* truncated */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(analyzer_counts_words_sentences_and_unique_words),
        cmocka_unit_test(analyzer_joins_a_character_split_across_pieces),
        cmocka_unit_test(stop_scan_holds_back_only_possible_starts),
        cmocka_unit_test(utf8_validation_follows_table_3_7),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
