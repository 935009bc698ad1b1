/* test_think.c - the reasoning splitter (src/core/think.c): every way of cutting a text
 * into pieces gives the same reasoning and answer; tags cut anywhere, a block the prompt
 * opened, text that only looks like a tag, and no block at all. */
#include "test_util.h"
#include "core/think.h"

typedef struct split {
    char reasoning[256], answer[256];
    size_t nr, na;
} split;

static void out(void *user, bool reasoning, const char *text, size_t len)
{
    split *s = user;
    char *dst = reasoning ? s->reasoning : s->answer;
    size_t *at = reasoning ? &s->nr : &s->na;
    assert_true(*at + len < 256);
    assert_true(len > 0);
    memcpy(dst + *at, text, len);
    dst[*at += len] = 0;
}

/* Splits text fed in pieces of `step` bytes (0: every cut of two pieces at position k). */
static void run(const char *text, bool inside, size_t step, size_t cut, split *s)
{
    memset(s, 0, sizeof *s);
    llmri_think t;
    llmri_think_init(&t, inside);
    size_t n = strlen(text);
    if (step) {
        for (size_t i = 0; i < n; i += step)
            llmri_think_feed(&t, text + i, i + step <= n ? step : n - i, out, s);
    } else {
        llmri_think_feed(&t, text, cut, out, s);
        llmri_think_feed(&t, text + cut, n - cut, out, s);
    }
    llmri_think_flush(&t, out, s);
}

static void check_all_cuts(const char *text, bool inside, const char *want_r, const char *want_a)
{
    split s;
    size_t n = strlen(text);
    for (size_t step = 1; step <= n; step++) {
        run(text, inside, step, 0, &s);
        assert_string_equal(s.reasoning, want_r);
        assert_string_equal(s.answer, want_a);
    }
    for (size_t k = 0; k <= n; k++) {
        run(text, inside, 0, k, &s);
        assert_string_equal(s.reasoning, want_r);
        assert_string_equal(s.answer, want_a);
    }
}

static void reasoning_and_answer_apart_however_cut(void **st)
{
    (void)st;
    check_all_cuts("<think>I reason.</think>\n\nThe answer.", false, "I reason.", "The answer.");
    check_all_cuts("<think>\nstep 1\nstep 2\n</think>\nok", false, "step 1\nstep 2\n", "ok");
    /* the template opened the block: the text begins as reasoning */
    check_all_cuts("hmm </think> yes", true, "hmm ", "yes");
    /* no block at all, and text that only starts like a tag */
    check_all_cuts("plain text", false, "", "plain text");
    check_all_cuts("a <thin b </thinking> <t", false, "", "a <thin b </thinking> <t");
    check_all_cuts("x<think>y", false, "y", "x");
    /* an empty block, and a second one */
    check_all_cuts("<think></think>A<think>B</think>C", false, "B", "AC");
}

static void a_long_piece_after_a_held_start(void **st)
{
    (void)st;
    /* the held "<thi" joined with a piece longer than the splitter's stack buffer */
    static char piece[2000];
    memset(piece, 'x', sizeof piece - 1);
    memcpy(piece, "nk>r</think>", 12);
    split s;
    memset(&s, 0, sizeof s);
    llmri_think t;
    llmri_think_init(&t, false);
    llmri_think_feed(&t, "<thi", 4, out, &s);
    llmri_think_feed(&t, piece, 12 + 250, out, &s);   /* 266 bytes joined: the heap path */
    llmri_think_flush(&t, out, &s);
    assert_string_equal(s.reasoning, "r");
    assert_int_equal(s.na, 250);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reasoning_and_answer_apart_however_cut),
        cmocka_unit_test(a_long_piece_after_a_held_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
