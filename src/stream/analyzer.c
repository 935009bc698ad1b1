/* analyzer.c - live statistics over streamed text (the guide's StreamAnalyzer).
 *
 * Words are split at whitespace and at the sentence ends . ! ? exactly as the guide's analyzer
 * does, but counted more carefully: the guide divides total word length by the number of
 * *unique* words; we report the mean over all words, and words per sentence likewise counts
 * every word. Unique words are kept case-folded (utf8proc_tolower per code point) in an
 * open-addressing hash set. */
#include "stream/text.h"
#include "core/util.h"
#include "llmr.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

struct llmr_analyzer {
    llmr_utf8  utf8;          /* pieces are whole UTF-8, but callers may feed anything */
    llmr_buf   assembled;     /* scratch for assembled text */
    llmr_buf   word;          /* the word being read, case-folded */
    size_t     word_chars;    /* its length in code points */
    uint64_t   tokens, chars, words, word_chars_total, sentences;
    char     **set;           /* unique words; NULL slots are empty */
    size_t     set_cap, set_n;
};

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;          /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

static bool set_grow(llmr_analyzer *a)
{
    size_t cap = a->set_cap ? a->set_cap * 2 : 256;
    char **t = calloc(cap, sizeof *t);
    if (!t)
        return false;
    for (size_t i = 0; i < a->set_cap; i++) {
        char *w = a->set[i];
        if (!w)
            continue;
        size_t j = hash(w, strlen(w)) & (cap - 1);
        while (t[j])
            j = (j + 1) & (cap - 1);
        t[j] = w;
    }
    free(a->set);
    a->set = t;
    a->set_cap = cap;
    return true;
}

static bool set_add(llmr_analyzer *a, const char *w, size_t n)
{
    if ((a->set_n + 1) * 2 > a->set_cap && !set_grow(a))
        return false;
    size_t j = hash(w, n) & (a->set_cap - 1);
    for (; a->set[j]; j = (j + 1) & (a->set_cap - 1))
        if (strlen(a->set[j]) == n && memcmp(a->set[j], w, n) == 0)
            return true;
    if (!(a->set[j] = llmri_strndup(w, n)))
        return false;
    a->set_n++;
    return true;
}

static bool end_word(llmr_analyzer *a)
{
    if (a->word_chars == 0)
        return true;
    a->words++;
    a->word_chars_total += a->word_chars;
    bool ok = set_add(a, a->word.p, a->word.len);
    llmri_buf_truncate(&a->word, 0);
    a->word_chars = 0;
    return ok;
}

static bool is_space(utf8proc_int32_t c)
{
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\v' || c == '\f')
        return true;
    utf8proc_category_t cat = utf8proc_category(c);
    return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL ||
           cat == UTF8PROC_CATEGORY_ZP;
}

static bool feed_char(llmr_analyzer *a, utf8proc_int32_t c)
{
    a->chars++;
    if (is_space(c))
        return end_word(a);
    if (c == '.' || c == '!' || c == '?') {
        a->sentences++;
        return end_word(a);
    }
    utf8proc_uint8_t enc[4];
    utf8proc_ssize_t n = utf8proc_encode_char(utf8proc_tolower(c), enc);
    a->word_chars++;
    return llmri_buf_append(&a->word, enc, (size_t)n);
}

int llmr_analyzer_open(llmr_analyzer **out)
{
    if (!out)
        return LLMR_ERR_ARG;
    *out = calloc(1, sizeof **out);
    return *out ? LLMR_OK : LLMR_ERR_NOMEM;
}

int llmr_analyzer_feed(llmr_analyzer *a, const char *text, size_t len)
{
    if (!a || (!text && len))
        return LLMR_ERR_ARG;
    a->tokens++;
    llmri_buf_truncate(&a->assembled, 0);
    if (!llmri_utf8_feed(&a->utf8, text, len, &a->assembled))
        return LLMR_ERR_NOMEM;
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)a->assembled.p;
    size_t n = a->assembled.len;
    while (n > 0) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate(p, (utf8proc_ssize_t)n, &c);
        if (k <= 0)               /* cannot happen: the assembler hands out valid UTF-8 */
            break;
        if (!feed_char(a, c))
            return LLMR_ERR_NOMEM;
        p += k;
        n -= (size_t)k;
    }
    return LLMR_OK;
}

void llmr_analyzer_get(const llmr_analyzer *a, bool final, llmr_analysis *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!a)
        return;
    uint64_t words = a->words, total = a->word_chars_total, unique = a->set_n;
    if (final && a->word_chars) {
        /* The open word counts; it is unique unless already in the set. */
        words++;
        total += a->word_chars;
        bool seen = false;
        if (a->set_cap) {
            size_t j = hash(a->word.p, a->word.len) & (a->set_cap - 1);
            for (; a->set[j] && !seen; j = (j + 1) & (a->set_cap - 1))
                seen = strlen(a->set[j]) == a->word.len &&
                       memcmp(a->set[j], a->word.p, a->word.len) == 0;
        }
        unique += !seen;
    }
    out->tokens = a->tokens;
    out->chars = a->chars;
    out->words = words;
    out->unique_words = unique;
    out->sentences = a->sentences;
    out->avg_word_len = words ? (double)total / (double)words : 0;
    out->words_per_sentence = a->sentences ? (double)words / (double)a->sentences : 0;
}

void llmr_analyzer_close(llmr_analyzer *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->set_cap; i++)
        free(a->set[i]);
    free(a->set);
    llmri_buf_free(&a->assembled);
    llmri_buf_free(&a->word);
    free(a);
}
