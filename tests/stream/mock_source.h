/* mock_source.h - a scripted source for testing the generation loop without a model.
 * It hands out the tokens of a script (raw bytes, "\x01" = an end-of-generation token), can
 * fail its begin() a number of times or its step() at a given token, and can sleep per step so
 * that control from other threads has something to interrupt. */
#ifndef LLMR_TEST_MOCK_SOURCE_H
#define LLMR_TEST_MOCK_SOURCE_H

#include "stream/source.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MOCK_EOG "\x01"

typedef struct mock_source {
    llmr_source base;
    const char *const *script;   /* NULL-terminated; MOCK_EOG marks an EOG token */
    bool   loop;                 /* repeat the script forever */
    int    begin_fails;          /* fail this many begin() calls ... */
    int    begin_code;           /* ... with this code */
    int    step_fail_at;         /* fail the step that would hand out token k (-1: never) */
    int    step_code;
    unsigned step_us;            /* sleep per step */
    /* observed */
    int    begins, steps, ends;
    int    pos;
    int   *destroyed;            /* set to 1 by destroy when not NULL */
} mock_source;

static int mock_begin(llmr_source *src, const char *prompt, const llmr_gen_opts *o,
                      uint32_t *n_prompt, uint32_t *n_cached, llmr_err *err)
{
    mock_source *m = (mock_source *)src;
    m->begins++;
    m->pos = 0;
    if (m->begin_fails > 0) {
        m->begin_fails--;
        return llmri_err_set(err, m->begin_code, "%s: scripted begin failure", src->name);
    }
    *n_prompt = (uint32_t)strlen(prompt);
    *n_cached = 0;
    return LLMR_OK;
}

static int mock_step(llmr_source *src, llmr_src_token *tok, llmr_err *err)
{
    mock_source *m = (mock_source *)src;
    m->steps++;
    if (m->step_us) {
        struct timespec ts = {0, (long)m->step_us * 1000L};
        nanosleep(&ts, NULL);
    }
    if (m->pos == m->step_fail_at) {
        m->step_fail_at = -1;
        return llmri_err_set(err, m->step_code, "%s: scripted step failure", src->name);
    }
    const char *t = m->script[m->pos];
    if (!t) {
        if (!m->loop)
            return llmri_err_set(err, LLMR_ERR_CONTEXT, "%s: script exhausted", src->name);
        m->pos = 0;
        t = m->script[0];
    }
    tok->id = m->pos++;
    tok->eog = strcmp(t, MOCK_EOG) == 0;
    tok->bytes = tok->eog ? "" : t;
    tok->len = strlen(tok->bytes);
    return LLMR_OK;
}

static void mock_end(llmr_source *src) { ((mock_source *)src)->ends++; }

static void mock_destroy(llmr_source *src)
{
    mock_source *m = (mock_source *)src;
    if (m->destroyed)
        *m->destroyed = 1;
}

static const llmr_source_ops mock_ops = {.begin = mock_begin, .step = mock_step, .end = mock_end,
                                         .destroy = mock_destroy};

static inline void mock_init(mock_source *m, const char *name, const char *const *script)
{
    memset(m, 0, sizeof *m);
    m->base.ops = &mock_ops;
    strncpy(m->base.name, name, sizeof m->base.name - 1);
    m->script = script;
    m->step_fail_at = -1;
}

#endif
