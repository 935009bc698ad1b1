/* test_stream_reasoning.c - llmr_gen_opts.split_reasoning over a scripted source: <think>
 * blocks cut anywhere between tokens come out as pieces marked reasoning, without the tags;
 * a prompt that opened the block starts inside; stop sequences apply before the split;
 * without the option the text is untouched. */
#include "test_util.h"
#include "mock_source.h"

typedef struct run {
    int  rc;
    char reasoning[1024], answer[1024], all[2048];
    int  n_pieces, n_reasoning;
    bool answer_then_reasoning;    /* a reasoning piece came after an answer piece */
} run;

static void pull(const char *prompt, const char *const *script, const llmr_gen_opts *o, run *r)
{
    memset(r, 0, sizeof *r);
    mock_source m;
    mock_init(&m, "mock", script);
    llmr_source *src = &m.base;
    llmr_stream *s;
    int rc = llmri_stream_open_sources(&src, 1, prompt, o, &s);
    llmr_piece p;
    bool answered = false;
    while (rc == LLMR_OK || rc == LLMR_PIECE) {
        if ((rc = llmr_stream_next(s, &p)) != LLMR_PIECE)
            break;
        assert_true(p.len > 0);
        assert_int_equal(p.index, r->n_pieces);
        r->n_pieces++;
        char *to = p.reasoning ? r->reasoning : r->answer;
        strncat(to, p.text, 1023 - strlen(to));
        strncat(r->all, p.text, sizeof r->all - 1 - strlen(r->all));
        r->n_reasoning += p.reasoning;
        r->answer_then_reasoning |= answered && p.reasoning;
        answered |= !p.reasoning;
    }
    r->rc = rc;
    if (rc == LLMR_DONE)   /* the stream's text is its pieces' */
        assert_string_equal(llmr_stream_text(s, NULL), r->all);
    llmr_stream_close(s);
}

static void think_tags_cut_anywhere_become_reasoning_pieces(void **state)
{
    (void)state;
    const char *script[] = {"<thi", "nk>I re", "ason.</", "think>\n", "\nThe", " answer.",
                            MOCK_EOG, NULL};
    llmr_gen_opts o = llmr_gen_defaults();
    o.split_reasoning = true;
    run r;
    pull("q", script, &o, &r);
    assert_int_equal(r.rc, LLMR_DONE);
    assert_string_equal(r.reasoning, "I reason.");
    assert_string_equal(r.answer, "The answer.");
    assert_true(r.n_reasoning >= 2);           /* streamed as it came, not at the end */
    assert_false(r.answer_then_reasoning);
}

static void a_prompt_that_opened_the_block_starts_inside(void **state)
{
    (void)state;
    const char *script[] = {"Hmm, ", "let me see", "</think>", "Yes", MOCK_EOG, NULL};
    llmr_gen_opts o = llmr_gen_defaults();
    o.split_reasoning = true;
    run r;
    pull("<|im_start|>assistant\n<think>\n", script, &o, &r);
    assert_int_equal(r.rc, LLMR_DONE);
    assert_string_equal(r.reasoning, "Hmm, let me see");
    assert_string_equal(r.answer, "Yes");
}

static void a_held_tag_start_that_is_no_tag_is_text_at_the_end(void **state)
{
    (void)state;
    const char *script[] = {"a <b> c <thin", NULL};   /* ends (script exhausted: length) */
    llmr_gen_opts o = llmr_gen_defaults();
    o.split_reasoning = true;
    run r;
    pull("q", script, &o, &r);
    assert_int_equal(r.rc, LLMR_DONE);
    assert_string_equal(r.answer, "a <b> c <thin");
    assert_int_equal(r.n_reasoning, 0);
}

static void stop_sequences_apply_before_the_split(void **state)
{
    (void)state;
    const char *script[] = {"<think>ab", "cSTOP", "x</think>", "answer", MOCK_EOG, NULL};
    llmr_gen_opts o = llmr_gen_defaults();
    o.split_reasoning = true;
    o.stop[0] = "STOP";
    run r;
    pull("q", script, &o, &r);
    assert_int_equal(r.rc, LLMR_DONE);
    assert_string_equal(r.reasoning, "abc");
    assert_string_equal(r.answer, "");
}

static void without_the_option_the_text_is_untouched(void **state)
{
    (void)state;
    const char *script[] = {"<think>", "x", "</think>", "y", MOCK_EOG, NULL};
    llmr_gen_opts o = llmr_gen_defaults();
    run r;
    pull("q", script, &o, &r);
    assert_string_equal(r.answer, "<think>x</think>y");
    assert_int_equal(r.n_reasoning, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(think_tags_cut_anywhere_become_reasoning_pieces),
        cmocka_unit_test(a_prompt_that_opened_the_block_starts_inside),
        cmocka_unit_test(a_held_tag_start_that_is_no_tag_is_text_at_the_end),
        cmocka_unit_test(stop_sequences_apply_before_the_split),
        cmocka_unit_test(without_the_option_the_text_is_untouched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
