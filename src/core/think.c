/* think.c - reasoning apart from the answer (see think.h). */
#include "core/think.h"

#include <stdlib.h>
#include <string.h>

static const char OPEN[] = "<think>", CLOSE[] = "</think>";

void llmri_think_init(llmri_think *t, bool inside)
{
    memset(t, 0, sizeof *t);
    t->inside = inside;
    t->skip_ws = inside;
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* Hands out s[0..n) in the current mode, after the whitespace a tag leaves. */
static void emit(llmri_think *t, const char *s, size_t n, llmri_think_out out, void *user)
{
    while (t->skip_ws && n > 0 && is_ws(*s)) {
        s++;
        n--;
    }
    if (n == 0)
        return;
    t->skip_ws = false;
    out(user, t->inside, s, n);
}

/* How many bytes at the end of s[0..n) begin tag (shorter than the whole tag). */
static size_t tag_start(const char *s, size_t n, const char *tag)
{
    size_t tl = strlen(tag);
    for (size_t k = tl - 1 < n ? tl - 1 : n; k > 0; k--)
        if (!memcmp(s + n - k, tag, k))
            return k;
    return 0;
}

/* Scans s[0..n) (held bytes first, then the piece) for the current mode's tag. */
static void scan(llmri_think *t, const char *s, size_t n, llmri_think_out out, void *user)
{
    while (n > 0) {
        const char *tag = t->inside ? CLOSE : OPEN;
        size_t tl = strlen(tag);
        const char *at = NULL;
        for (size_t i = 0; i + tl <= n && !at; i++)
            if (s[i] == '<' && !memcmp(s + i, tag, tl))
                at = s + i;
        if (!at) {
            size_t keep = tag_start(s, n, tag);
            emit(t, s, n - keep, out, user);
            memcpy(t->hold, s + n - keep, keep);
            t->n_hold = keep;
            return;
        }
        emit(t, s, (size_t)(at - s), out, user);
        t->inside = !t->inside;
        t->skip_ws = true;
        n -= (size_t)(at - s) + tl;
        s = at + tl;
    }
    t->n_hold = 0;
}

void llmri_think_feed(llmri_think *t, const char *s, size_t n, llmri_think_out out, void *user)
{
    if (t->n_hold == 0) {
        scan(t, s, n, out, user);
        return;
    }
    /* the held start of a tag and the piece, scanned together */
    char small[256];
    char *buf = t->n_hold + n <= sizeof small ? small : malloc(t->n_hold + n);
    if (!buf) {                     /* out of memory: what was held is text after all */
        llmri_think_flush(t, out, user);
        scan(t, s, n, out, user);
        return;
    }
    memcpy(buf, t->hold, t->n_hold);
    memcpy(buf + t->n_hold, s, n);
    size_t total = t->n_hold + n;
    t->n_hold = 0;
    scan(t, buf, total, out, user);
    if (buf != small)
        free(buf);
}

bool llmri_think_opens(const char *p)
{
    size_t n = strlen(p);
    while (n > 0 && is_ws(p[n - 1]))
        n--;
    return n >= 7 && !memcmp(p + n - 7, OPEN, 7);
}

void llmri_think_flush(llmri_think *t, llmri_think_out out, void *user)
{
    if (t->n_hold)
        emit(t, t->hold, t->n_hold, out, user);
    t->n_hold = 0;
}
