/* jlex.c - Jinja2 lexer with the whitespace rules of HF's environment.
 *
 * Facts from jinja2/lexer.py that the output depends on:
 *  - keep_trailing_newline=False: one newline at the very end of the source is dropped.
 *  - trim_blocks: the first newline after a block tag (%}) or comment (#}) is removed, not
 *    after a variable tag (}}); "+%}" keeps it.
 *  - lstrip_blocks: spaces and tabs between the start of a line and a block or comment tag are
 *    removed ("{%+" keeps them); "start of a line" is also true at the start of the template
 *    and right after a tag whose match ended with a newline.
 *  - "{%-" / "-%}" (and the same for {{ }} and {# #}) strip all whitespace, newlines included,
 *    before / after the tag.
 */
#include "template/jinja.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct lexer {
    llmr_arena *a;
    const char *src;
    size_t len, pos;
    int line;
    jtoks *out;
    char *err;
    size_t errlen;
} lexer;

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
static bool is_ident0(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static int count_lines(const char *s, size_t n)
{
    int k = 0;
    for (size_t i = 0; i < n; i++)
        k += s[i] == '\n';
    return k;
}

static bool fail(lexer *L, int line, const char *msg)
{
    snprintf(L->err, L->errlen, "template syntax error at line %d: %s", line, msg);
    return false;
}

static jtok *push(lexer *L, jtok_type type, int line)
{
    jtoks *t = L->out;
    if (!llmri_arena_grow(L->a, &t->t, &t->cap, t->n, t->n + 1, sizeof *t->t))
        return NULL;
    jtok *k = &t->t[t->n++];
    memset(k, 0, sizeof *k);
    k->type = type;
    k->line = line;
    return k;
}

static char *dup(lexer *L, const char *s, size_t n)
{
    char *p = llmri_arena_alloc(L->a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

static bool push_text(lexer *L, const char *s, size_t n, int line)
{
    if (n == 0)
        return true;
    jtok *t = push(L, JT_TEXT, line);
    if (!t || !(t->s = dup(L, s, n)))
        return fail(L, line, "out of memory");
    t->len = n;
    return true;
}

/* Appends code point cp as UTF-8. */
static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | cp >> 6); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F)); return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F)); return 4;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* A string literal, unescaped the way Python's "unicode-escape" codec does it (jinja2 uses
 * that); an unknown escape such as \d stays as written. */
static bool lex_string(lexer *L)
{
    char q = L->src[L->pos];
    int line = L->line;
    size_t i = L->pos + 1;
    while (i < L->len && L->src[i] != q) {
        if (L->src[i] == '\\' && i + 1 < L->len)
            i++;
        i++;
    }
    if (i >= L->len)
        return fail(L, line, "unterminated string literal");
    size_t n = i - L->pos - 1;
    const char *s = L->src + L->pos + 1;
    char *o = llmri_arena_alloc(L->a, n + 1);
    if (!o)
        return fail(L, line, "out of memory");
    size_t k = 0;
    for (size_t j = 0; j < n; j++) {
        char c = s[j];
        if (c != '\\' || j + 1 >= n) {
            o[k++] = c;
            continue;
        }
        char e = s[++j];
        int digits = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
        if (digits) {
            unsigned cp = 0;
            bool ok = j + (size_t)digits < n;
            for (int d = 1; ok && d <= digits; d++) {
                int h = hexval(s[j + (size_t)d]);
                ok = h >= 0;
                cp = cp * 16 + (unsigned)(h < 0 ? 0 : h);
            }
            if (ok && cp <= 0x10FFFF) {
                k += put_utf8(o + k, cp);   /* at most 4 bytes for >= 4 source chars */
                j += (size_t)digits;
                continue;
            }
            o[k++] = '\\';
            o[k++] = e;
            continue;
        }
        switch (e) {
        case 'n': o[k++] = '\n'; break;
        case 't': o[k++] = '\t'; break;
        case 'r': o[k++] = '\r'; break;
        case '\\': o[k++] = '\\'; break;
        case '\'': o[k++] = '\''; break;
        case '"': o[k++] = '"'; break;
        case 'a': o[k++] = '\a'; break;
        case 'b': o[k++] = '\b'; break;
        case 'f': o[k++] = '\f'; break;
        case 'v': o[k++] = '\v'; break;
        case '0': o[k++] = '\0'; break;
        case '\n': break;                       /* backslash-newline joins lines */
        default: o[k++] = '\\'; o[k++] = e; break;
        }
    }
    o[k] = 0;
    jtok *t = push(L, JT_STRING, line);
    if (!t)
        return fail(L, line, "out of memory");
    t->s = o;
    t->len = k;
    L->line += count_lines(L->src + L->pos, i + 1 - L->pos);
    L->pos = i + 1;
    return true;
}

static bool lex_number(lexer *L)
{
    size_t i = L->pos;
    bool is_float = false;
    while (i < L->len && (is_digit(L->src[i]) || L->src[i] == '_'))
        i++;
    if (i + 1 < L->len && L->src[i] == '.' && is_digit(L->src[i + 1])) {
        is_float = true;
        i++;
        while (i < L->len && (is_digit(L->src[i]) || L->src[i] == '_'))
            i++;
    }
    if (i < L->len && (L->src[i] == 'e' || L->src[i] == 'E')) {
        size_t j = i + 1;
        if (j < L->len && (L->src[j] == '+' || L->src[j] == '-'))
            j++;
        if (j < L->len && is_digit(L->src[j])) {
            is_float = true;
            i = j;
            while (i < L->len && is_digit(L->src[i]))
                i++;
        }
    }
    char buf[64];
    size_t k = 0;
    for (size_t j = L->pos; j < i && k < sizeof buf - 1; j++)
        if (L->src[j] != '_')
            buf[k++] = L->src[j];
    buf[k] = 0;
    jtok *t = push(L, is_float ? JT_FLOAT : JT_INT, L->line);
    if (!t)
        return fail(L, L->line, "out of memory");
    if (is_float) {
        t->f = strtod(buf, NULL);
    } else {
        char *end;
        unsigned long long v = strtoull(buf, &end, 10);
        if (k > 18 || v > (unsigned long long)INT64_MAX)
            return fail(L, L->line, "integer literal too large");
        t->i = (int64_t)v;
    }
    L->pos = i;
    return true;
}

/* Lexes the inside of {{ }} or {% %} up to and including its end delimiter. Returns the
 * strip flag of the end ('-', '+' or 0) through *end_flag. */
static bool lex_tag(lexer *L, bool block, char *end_flag, int start_line)
{
    static const char *ops2[] = {"**", "//", "==", "!=", "<=", ">=", NULL};
    int depth = 0;   /* open ( [ { : a '}' inside a dict literal is not the end of {{ }} */
    const char close = block ? '%' : '}';
    for (;;) {
        while (L->pos < L->len && is_space(L->src[L->pos])) {
            if (L->src[L->pos] == '\n')
                L->line++;
            L->pos++;
        }
        if (L->pos >= L->len)
            return fail(L, start_line, block ? "unterminated block tag '{%' (missing '%}')"
                                             : "unterminated variable tag '{{' (missing '}}')");
        const char *p = L->src + L->pos;
        size_t left = L->len - L->pos;
        if (depth == 0) {
            if ((p[0] == '-' || p[0] == '+') && left >= 3 && p[1] == close && p[2] == '}') {
                *end_flag = p[0];
                L->pos += 3;
                return true;
            }
            if (left >= 2 && p[0] == close && p[1] == '}') {
                *end_flag = 0;
                L->pos += 2;
                return true;
            }
        }
        char c = p[0];
        if (c == '\'' || c == '"') {
            if (!lex_string(L))
                return false;
            continue;
        }
        if (is_digit(c)) {
            if (!lex_number(L))
                return false;
            continue;
        }
        if (is_ident0(c)) {
            size_t i = 1;
            while (i < left && (is_ident0(p[i]) || is_digit(p[i])))
                i++;
            jtok *t = push(L, JT_NAME, L->line);
            if (!t || !(t->s = dup(L, p, i)))
                return fail(L, L->line, "out of memory");
            t->len = i;
            L->pos += i;
            continue;
        }
        size_t oplen = 0;
        for (int k = 0; ops2[k]; k++)
            if (left >= 2 && p[0] == ops2[k][0] && p[1] == ops2[k][1])
                oplen = 2;
        if (!oplen && c && strchr("+-*/%~<>=.,:|()[]{}", c))
            oplen = 1;
        if (!oplen) {
            char msg[80];
            snprintf(msg, sizeof msg, "unexpected character '%c' in %s tag", c,
                     block ? "a block" : "a variable");
            if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f)
                snprintf(msg, sizeof msg, "unexpected byte 0x%02x in %s tag", (unsigned char)c,
                         block ? "a block" : "a variable");
            return fail(L, L->line, msg);
        }
        if (c == '(' || c == '[' || c == '{')
            depth++;
        else if ((c == ')' || c == ']' || c == '}') && depth > 0)
            depth--;
        jtok *t = push(L, JT_OP, L->line);
        if (!t || !(t->s = dup(L, p, oplen)))
            return fail(L, L->line, "out of memory");
        t->len = oplen;
        L->pos += oplen;
    }
}

/* After a tag: "-" eats all whitespace, trim_blocks eats one newline after %} and #}. */
static void after_tag(lexer *L, char end_flag, bool trim)
{
    if (end_flag == '-') {
        while (L->pos < L->len && is_space(L->src[L->pos])) {
            if (L->src[L->pos] == '\n')
                L->line++;
            L->pos++;
        }
    } else if (end_flag != '+' && trim && L->pos < L->len && L->src[L->pos] == '\n') {
        L->pos++;
        L->line++;
    }
}

/* {% raw %}: returns the length of the opening tag at p (0 if it is not one). */
static size_t raw_open(const char *p, size_t left, const char *word, char *flag_out)
{
    size_t i = 2;
    if (i < left && (p[i] == '-' || p[i] == '+'))
        i++;
    while (i < left && is_space(p[i]))
        i++;
    size_t wl = strlen(word);
    if (left - i < wl || memcmp(p + i, word, wl) != 0)
        return 0;
    i += wl;
    if (i < left && (is_ident0(p[i]) || is_digit(p[i])))
        return 0;
    while (i < left && is_space(p[i]))
        i++;
    char f = 0;
    if (i < left && (p[i] == '-' || p[i] == '+'))
        f = p[i++];
    if (left - i < 2 || p[i] != '%' || p[i + 1] != '}')
        return 0;
    *flag_out = f;
    return i + 2;
}

static bool lex_raw(lexer *L, int line)
{
    /* find {% endraw %} */
    for (size_t i = L->pos; i + 1 < L->len; i++) {
        if (L->src[i] != '{' || L->src[i + 1] != '%')
            continue;
        char f = 0;
        size_t n = raw_open(L->src + i, L->len - i, "endraw", &f);
        if (!n)
            continue;
        size_t tl = i - L->pos;
        const char *text = L->src + L->pos;
        if (L->src[i + 2] == '-')
            while (tl && is_space(text[tl - 1]))
                tl--;
        if (!push_text(L, text, tl, line))
            return false;
        L->line += count_lines(L->src + L->pos, i + n - L->pos);
        L->pos = i + n;
        after_tag(L, f, true);
        return true;
    }
    return fail(L, line, "unterminated '{% raw %}' block (missing '{% endraw %}')");
}

bool jinja_lex(llmr_arena *a, const char *src, size_t len, jtoks *out, char *err, size_t errlen)
{
    /* jinja2 first turns every \r\n and \r into \n (newline_sequence), then, with
     * keep_trailing_newline=False, drops one newline at the very end */
    char *norm = llmri_arena_alloc(a, len + 1);
    if (!norm) {
        snprintf(err, errlen, "template too large (out of memory)");
        return false;
    }
    size_t nl = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\r') {
            norm[nl++] = '\n';
            if (i + 1 < len && src[i + 1] == '\n')
                i++;
        } else {
            norm[nl++] = src[i];
        }
    }
    src = norm;
    len = nl;
    if (len && src[len - 1] == '\n')
        len--;
    lexer L = {a, src, len, 0, 1, out, err, errlen};
    memset(out, 0, sizeof *out);
    bool line_starting = true;
    while (L.pos < L.len) {
        /* the next tag start */
        size_t i = L.pos;
        char kind = 0;
        for (; i + 1 < L.len; i++)
            if (src[i] == '{' && (src[i + 1] == '{' || src[i + 1] == '%' || src[i + 1] == '#')) {
                kind = src[i + 1];
                break;
            }
        if (!kind) {
            if (!push_text(&L, src + L.pos, L.len - L.pos, L.line))
                return false;
            break;
        }
        const char *text = src + L.pos;
        size_t tl = i - L.pos;
        int text_line = L.line;
        char sign = i + 2 < L.len ? src[i + 2] : 0;
        if (sign == '-') {
            while (tl && is_space(text[tl - 1]))
                tl--;
        } else if (sign != '+' && kind != '{') {
            /* lstrip_blocks: only whitespace between the line start and the tag */
            size_t l = tl;
            while (l && text[l - 1] != '\n')
                l--;
            if (l > 0 || line_starting) {
                bool blank = l < tl;
                for (size_t k = l; k < tl && blank; k++)
                    blank = text[k] == ' ' || text[k] == '\t' || text[k] == '\r'
                            || text[k] == '\f' || text[k] == '\v';
                if (blank)
                    tl = l;
            }
        }
        if (!push_text(&L, text, tl, text_line))
            return false;
        L.line += count_lines(src + L.pos, i - L.pos);
        L.pos = i;
        int tag_line = L.line;
        if (kind == '#') {
            const char *end = NULL;
            for (size_t k = i + 2; k + 1 < L.len; k++)
                if (src[k] == '#' && src[k + 1] == '}') {
                    end = src + k;
                    break;
                }
            if (!end)
                return fail(&L, tag_line, "unterminated comment '{#' (missing '#}')");
            char f = (end > src + i + 2 && (end[-1] == '-' || end[-1] == '+')) ? end[-1] : 0;
            size_t stop = (size_t)(end - src) + 2;
            L.line += count_lines(src + L.pos, stop - L.pos);
            L.pos = stop;
            after_tag(&L, f, true);
            line_starting = L.pos > 0 && src[L.pos - 1] == '\n';
            continue;
        }
        if (kind == '%') {
            char f = 0;
            size_t n = raw_open(src + i, L.len - i, "raw", &f);
            if (n) {
                L.pos = i + n;
                after_tag(&L, f, true);
                if (!lex_raw(&L, tag_line))
                    return false;
                line_starting = L.pos > 0 && src[L.pos - 1] == '\n';
                continue;
            }
        }
        jtok *t = push(&L, kind == '%' ? JT_BLOCK_BEGIN : JT_VAR_BEGIN, tag_line);
        if (!t)
            return fail(&L, tag_line, "out of memory");
        L.pos = i + 2 + (sign == '-' || sign == '+');
        char end_flag = 0;
        if (!lex_tag(&L, kind == '%', &end_flag, tag_line))
            return false;
        t = push(&L, kind == '%' ? JT_BLOCK_END : JT_VAR_END, L.line);
        if (!t)
            return fail(&L, L.line, "out of memory");
        after_tag(&L, end_flag, kind == '%');
        line_starting = L.pos > 0 && src[L.pos - 1] == '\n';
    }
    jtok *t = push(&L, JT_EOF, L.line);
    if (!t)
        return fail(&L, L.line, "out of memory");
    return true;
}
