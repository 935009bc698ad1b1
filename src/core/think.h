/* think.h - a reasoning model's thoughts apart from its answer (internal).
 *
 * DeepSeek-R1, Qwen3 and QwQ write their reasoning between <think> and </think> before the
 * answer; some templates open the block themselves (the prompt ends with "<think>"), so the
 * text begins inside it. The splitter reads the text as it streams, in pieces that may cut a
 * tag anywhere, and hands out each span as reasoning or answer, without the tags and without
 * the whitespace that follows a tag. It holds back only what may be the start of a tag. */
#ifndef LLMR_CORE_THINK_H
#define LLMR_CORE_THINK_H

#include <stdbool.h>
#include <stddef.h>

typedef void (*llmri_think_out)(void *user, bool reasoning, const char *text, size_t len);

typedef struct llmri_think {
    bool   inside;        /* in a <think> block */
    bool   skip_ws;       /* just past a tag: drop whitespace */
    char   hold[8];       /* a possible start of the next tag */
    size_t n_hold;
} llmri_think;

/* inside: the prompt opened the block. */
void llmri_think_init(llmri_think *t, bool inside);
/* Feeds the next piece of text; out gets zero or more spans. */
void llmri_think_feed(llmri_think *t, const char *s, size_t n, llmri_think_out out, void *user);
/* The end of the text: what was held back is text after all. */
void llmri_think_flush(llmri_think *t, llmri_think_out out, void *user);

/* Whether a prompt ends inside a <think> block it opened (whitespace after it aside). */
bool llmri_think_opens(const char *prompt);

#endif
