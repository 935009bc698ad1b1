/* text.c - UTF-8 assembly, stop-sequence scan (see text.h). */
#include "stream/text.h"

#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 ---------------------------------------------------------------------------- */

static const char REPLACEMENT[3] = {(char)0xEF, (char)0xBF, (char)0xBD};   /* U+FFFD */

/* Length of the character a lead byte starts, 0 for a byte that cannot start one
 * (80..C1, F5..FF: table 3-7 of the Unicode standard). */
static int lead_len(unsigned char b)
{
    if (b < 0x80)
        return 1;
    if (b >= 0xC2 && b <= 0xDF)
        return 2;
    if (b >= 0xE0 && b <= 0xEF)
        return 3;
    if (b >= 0xF0 && b <= 0xF4)
        return 4;
    return 0;
}

/* The allowed range of the byte after `lead`: narrower than 80..BF for E0 (no overlongs),
 * ED (no surrogates), F0 (no overlongs) and F4 (nothing past U+10FFFF). */
static void second_range(unsigned char lead, unsigned char *lo, unsigned char *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (lead == 0xE0)
        *lo = 0xA0;
    else if (lead == 0xED)
        *hi = 0x9F;
    else if (lead == 0xF0)
        *lo = 0x90;
    else if (lead == 0xF4)
        *hi = 0x8F;
}

static bool feed_byte(llmr_utf8 *u, unsigned char b, llmr_buf *out)
{
    if (u->n > 0) {
        unsigned char lo = 0x80, hi = 0xBF;
        if (u->n == 1)
            second_range(u->pend[0], &lo, &hi);
        if (b >= lo && b <= hi) {
            u->pend[u->n++] = b;
            if (u->n < u->need)
                return true;
            u->n = 0;
            return llmri_buf_append(out, u->pend, (size_t)u->need);
        }
        /* The held bytes are a maximal ill-formed subpart: one U+FFFD for them, and b starts
         * afresh. */
        u->n = 0;
        if (!llmri_buf_append(out, REPLACEMENT, 3))
            return false;
    }
    int len = lead_len(b);
    if (len == 1)
        return llmri_buf_append(out, &b, 1);
    if (len == 0)
        return llmri_buf_append(out, REPLACEMENT, 3);
    u->pend[0] = b;
    u->n = 1;
    u->need = len;
    return true;
}

bool llmri_utf8_feed(llmr_utf8 *u, const char *bytes, size_t n, llmr_buf *out)
{
    if (!llmri_buf_reserve(out, n + 3))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!feed_byte(u, (unsigned char)bytes[i], out))
            return false;
    return true;
}

bool llmri_utf8_flush(llmr_utf8 *u, llmr_buf *out)
{
    if (u->n == 0)
        return true;
    u->n = 0;
    return llmri_buf_append(out, REPLACEMENT, 3);
}

size_t llmri_utf8_count(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

bool llmri_utf8_valid(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char b = (unsigned char)s[i];
        int len = lead_len(b);
        if (len == 0 || (size_t)len > n - i)
            return false;
        for (int k = 1; k < len; k++) {
            unsigned char lo = 0x80, hi = 0xBF, c = (unsigned char)s[i + k];
            if (k == 1)
                second_range(b, &lo, &hi);
            if (c < lo || c > hi)
                return false;
        }
        i += (size_t)len;
    }
    return true;
}

/* ---- stop sequences ------------------------------------------------------------------- */

size_t llmri_stop_scan(const llmr_stopset *st, const char *t, size_t n, bool *hit)
{
    *hit = false;
    if (!st || st->n == 0)
        return n;
    /* Earliest full occurrence of any stop sequence. t is short (held text plus one token),
     * so the plain scan costs less than building an automaton would. */
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < st->n; k++)
            if (st->len[k] <= n - i && memcmp(t + i, st->s[k], st->len[k]) == 0) {
                *hit = true;
                return i;
            }
    /* No occurrence: hold back from the earliest position whose rest is a proper prefix of a
     * stop sequence, since the next token may complete it. */
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < st->n; k++)
            if (n - i < st->len[k] && memcmp(t + i, st->s[k], n - i) == 0)
                return i;
    return n;
}
