/* regex.c - ECMA-262 patterns (u flag) to GBNF over JSON string text (see regex.h).
 *
 * A recursive-descent parser that writes rules as it goes: each group and each character
 * class becomes a rule of its own, each alternation one rule line, so the GBNF never nests
 * parentheses and the parser's own recursion is bounded by LLMR_REGEX_MAX_DEPTH. Characters
 * are code points of the decoded string; the grammar writes each as the JSON string does: a
 * raw character, or an escape for '"', '\' and the control characters. */
#include "sampler/regex.h"
#include "core/grow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CP 0x10FFFFu

typedef struct crange {
    uint32_t lo, hi;
} crange;

typedef struct cset {
    crange *r;
    size_t  n, cap;
} cset;

typedef struct rx {
    const char *src, *p, *end;
    llmr_buf   *out;
    unsigned   *next_id;
    llmr_err   *err;
    int         depth;
    bool        oom;
} rx;

typedef struct piece {
    char   sym[40];         /* one GBNF symbol: a rule name or a literal */
    size_t size;            /* positions once counted repetitions are expanded */
    bool   nullable;
} piece;

static int fail(rx *x, int code, const char *at, const char *what)
{
    return llmri_err_set(x->err, code, "pattern: %s (at offset %zu of \"%.60s\")", what,
                        (size_t)(at - x->src), x->src);
}

/* ---- character sets ------------------------------------------------------------------------ */

static void cs_add(rx *x, cset *s, uint32_t lo, uint32_t hi)
{
    if (!LLMR_GROW(s->r, s->cap, s->n + 1)) {
        x->oom = true;
        return;
    }
    s->r[s->n++] = (crange){lo, hi};
}

static int cmp_range(const void *a, const void *b)
{
    const crange *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void cs_normalize(cset *s)
{
    if (!s->n)
        return;
    qsort(s->r, s->n, sizeof *s->r, cmp_range);
    size_t k = 0;
    for (size_t i = 1; i < s->n; i++) {
        if (s->r[i].lo <= s->r[k].hi + 1) {
            if (s->r[i].hi > s->r[k].hi)
                s->r[k].hi = s->r[i].hi;
        } else {
            s->r[++k] = s->r[i];
        }
    }
    s->n = k + 1;
}

/* Everything from 0 to U+10FFFF that is not in s. */
static void cs_complement(rx *x, cset *s)
{
    cs_normalize(s);
    cset c = {0};
    uint32_t next = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->r[i].lo > next)
            cs_add(x, &c, next, s->r[i].lo - 1);
        next = s->r[i].hi + 1;
    }
    if (next <= MAX_CP)
        cs_add(x, &c, next, MAX_CP);
    free(s->r);
    *s = c;
}

static bool cs_has(const cset *s, uint32_t cp)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->r[i].lo <= cp && cp <= s->r[i].hi)
            return true;
    return false;
}

/* \d \w \s and their negations; ECMA-262 22.2.2.9 (WhiteSpace and LineTerminator for \s). */
static void cs_class_escape(rx *x, cset *s, char c)
{
    cset t = {0};
    switch (c | 0x20) {
    case 'd':
        cs_add(x, &t, '0', '9');
        break;
    case 'w':
        cs_add(x, &t, '0', '9');
        cs_add(x, &t, 'A', 'Z');
        cs_add(x, &t, 'a', 'z');
        cs_add(x, &t, '_', '_');
        break;
    default:
        cs_add(x, &t, 0x09, 0x0D);
        cs_add(x, &t, 0x20, 0x20);
        cs_add(x, &t, 0xA0, 0xA0);
        cs_add(x, &t, 0x1680, 0x1680);
        cs_add(x, &t, 0x2000, 0x200A);
        cs_add(x, &t, 0x2028, 0x2029);
        cs_add(x, &t, 0x202F, 0x202F);
        cs_add(x, &t, 0x205F, 0x205F);
        cs_add(x, &t, 0x3000, 0x3000);
        cs_add(x, &t, 0xFEFF, 0xFEFF);
        break;
    }
    if (c >= 'A' && c <= 'Z')
        cs_complement(x, &t);
    for (size_t i = 0; i < t.n; i++)
        cs_add(x, s, t.r[i].lo, t.r[i].hi);
    free(t.r);
}

/* ---- output -------------------------------------------------------------------------------- */

/* The GBNF literal for code point cp as it is written inside a JSON string. */
static void char_sym(uint32_t cp, char sym[40])
{
    static const char short_esc[] = {['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f',
                                     ['\r'] = 'r'};
    if (cp == '"')
        strcpy(sym, "\"\\\\\\\"\"");
    else if (cp == '\\')
        strcpy(sym, "\"\\\\\\\\\"");
    else if (cp < 0x20 && cp < sizeof short_esc && short_esc[cp])
        snprintf(sym, 40, "\"\\\\%c\"", short_esc[cp]);
    else if (cp < 0x20)
        snprintf(sym, 40, "\"\\\\u%04X\"", cp);
    else if (cp < 0x7F && cp != '"' && cp != '\\')
        snprintf(sym, 40, "\"%c\"", (char)cp);
    else
        snprintf(sym, 40, "\"\\U%08X\"", cp);
}

static void new_rule(rx *x, char name[40])
{
    snprintf(name, 40, "s%u", (*x->next_id)++);
}

/* A rule for the characters of s (surrogates dropped: they are not characters). */
static int emit_set(rx *x, cset *s, const char *at, piece *out)
{
    cs_normalize(s);
    cset raw = {0};
    for (size_t i = 0; i < s->n; i++) {
        uint32_t lo = s->r[i].lo, hi = s->r[i].hi;
        if (lo < 0x20)
            lo = 0x20;
        for (uint32_t cut = 0; lo <= hi && cut < 3; cut++) {   /* skip '"', '\', surrogates */
            static const crange holes[3] = {{'"', '"'}, {'\\', '\\'}, {0xD800, 0xDFFF}};
            if (lo <= holes[cut].hi && holes[cut].lo <= hi) {
                if (lo < holes[cut].lo)
                    cs_add(x, &raw, lo, holes[cut].lo - 1);
                lo = holes[cut].hi + 1;
            }
        }
        if (lo <= hi)
            cs_add(x, &raw, lo, hi);
    }
    int n_alt = 0;
    new_rule(x, out->sym);
    llmri_buf_printf(x->out, "%s ::=", out->sym);
    if (raw.n) {
        llmri_buf_puts(x->out, " [");
        for (size_t i = 0; i < raw.n; i++) {
            llmri_buf_printf(x->out, "\\U%08X", raw.r[i].lo);
            if (raw.r[i].hi > raw.r[i].lo)
                llmri_buf_printf(x->out, "-\\U%08X", raw.r[i].hi);
        }
        llmri_buf_puts(x->out, "]");
        n_alt++;
    }
    free(raw.r);
    for (uint32_t cp = 0; cp < 0x60; cp++)
        if ((cp < 0x20 || cp == '"' || cp == '\\') && cs_has(s, cp)) {
            char sym[40];
            char_sym(cp, sym);
            llmri_buf_printf(x->out, "%s %s", n_alt++ ? " |" : "", sym);
        }
    llmri_buf_puts(x->out, "\n");
    out->size = 1;
    out->nullable = false;
    if (!n_alt)
        return fail(x, LLMR_ERR_FORMAT, at, "a character class that matches no character");
    return x->oom ? fail(x, LLMR_ERR_NOMEM, at, "out of memory") : LLMR_OK;
}

/* ---- lexing -------------------------------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') return (c | 0x20) - 'a' + 10;
    return -1;
}

/* n hex digits at p (n > 0), or -1. */
static long hex_n(const char *p, const char *end, int n)
{
    long v = 0;
    for (int i = 0; i < n; i++) {
        int h = p + i < end ? hexval(p[i]) : -1;
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* One UTF-8 code point of the pattern; 0xFFFFFFFF when malformed. */
static uint32_t utf8_cp(rx *x)
{
    const unsigned char *s = (const unsigned char *)x->p;
    uint32_t c = s[0];
    int n = c < 0x80 ? 0 : c >= 0xF0 && c <= 0xF4 ? 3 : c >= 0xE0 ? 2 : c >= 0xC2 ? 1 : -1;
    if (n < 0 || x->p + n >= x->end + (n ? 0 : 1))
        return 0xFFFFFFFFu;
    c = n == 0 ? c : n == 1 ? c & 0x1F : n == 2 ? c & 0x0F : c & 0x07;
    for (int i = 1; i <= n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0xFFFFFFFFu;
        c = (c << 6) | (s[i] & 0x3F);
    }
    x->p += n + 1;
    return c;
}

/* An escape after '\' (x->p at the character after it). Sets *cp, or adds a class escape to
 * set (when set is non-NULL) and sets *cp to 0xFFFFFFFF. */
static int escape(rx *x, bool in_class, cset *set, uint32_t *cp)
{
    const char *at = x->p - 1;
    if (x->p >= x->end)
        return fail(x, LLMR_ERR_FORMAT, at, "\\ at the end of the pattern");
    char c = *x->p++;
    *cp = 0xFFFFFFFFu;
    long v;
    switch (c) {
    case 'd': case 'D': case 'w': case 'W': case 's': case 'S':
        cs_class_escape(x, set, c);
        return LLMR_OK;
    case 't': *cp = 9; return LLMR_OK;
    case 'n': *cp = 10; return LLMR_OK;
    case 'v': *cp = 11; return LLMR_OK;
    case 'f': *cp = 12; return LLMR_OK;
    case 'r': *cp = 13; return LLMR_OK;
    case '0':
        if (x->p < x->end && *x->p >= '0' && *x->p <= '9')
            return fail(x, LLMR_ERR_FORMAT, at, "octal escapes are not allowed");
        *cp = 0;
        return LLMR_OK;
    case 'c':
        if (x->p >= x->end || !((*x->p | 0x20) >= 'a' && (*x->p | 0x20) <= 'z'))
            return fail(x, LLMR_ERR_FORMAT, at, "\\c needs a letter");
        *cp = (uint32_t)(*x->p++ % 32);
        return LLMR_OK;
    case 'x':
        if ((v = hex_n(x->p, x->end, 2)) < 0)
            return fail(x, LLMR_ERR_FORMAT, at, "\\x needs two hexadecimal digits");
        x->p += 2;
        *cp = (uint32_t)v;
        return LLMR_OK;
    case 'u':
        if (x->p < x->end && *x->p == '{') {
            const char *q = x->p + 1;
            for (v = 0; q < x->end && hexval(*q) >= 0 && v <= (long)MAX_CP; q++)
                v = v * 16 + hexval(*q);
            if (q == x->p + 1 || q >= x->end || *q != '}' || v > (long)MAX_CP)
                return fail(x, LLMR_ERR_FORMAT, at, "\\u{...} needs a code point up to "
                            "10FFFF");
            x->p = q + 1;
        } else if ((v = hex_n(x->p, x->end, 4)) < 0) {
            return fail(x, LLMR_ERR_FORMAT, at, "\\u needs four hexadecimal digits");
        } else {
            x->p += 4;
            long lo;                           /* a surrogate pair is one code point */
            if (v >= 0xD800 && v <= 0xDBFF && x->p + 1 < x->end && x->p[0] == '\\' &&
                x->p[1] == 'u' && (lo = hex_n(x->p + 2, x->end, 4)) >= 0xDC00 && lo <= 0xDFFF) {
                v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
                x->p += 6;
            }
        }
        if (v >= 0xD800 && v <= 0xDFFF)
            return fail(x, LLMR_ERR_UNSUPPORTED, at, "a lone surrogate is not a character");
        *cp = (uint32_t)v;
        return LLMR_OK;
    case 'b':
        if (in_class) {
            *cp = 8;
            return LLMR_OK;
        }
        return fail(x, LLMR_ERR_UNSUPPORTED, at, "\\b (word boundary) is not supported");
    case 'B':
        return fail(x, LLMR_ERR_UNSUPPORTED, at, "\\B (not a word boundary) is not supported");
    case 'k':
    case '1': case '2': case '3': case '4': case '5': case '6': case '7': case '8': case '9':
        return fail(x, LLMR_ERR_UNSUPPORTED, at, "backreferences are not supported");
    case 'p': case 'P':
        return fail(x, LLMR_ERR_UNSUPPORTED, at, "Unicode property escapes (\\p{...}) are not "
                    "supported");
    default:
        if (strchr("^$\\.*+?()[]{}|/", c) || (in_class && c == '-')) {
            *cp = (unsigned char)c;
            return LLMR_OK;
        }
        return fail(x, LLMR_ERR_FORMAT, at, "unknown escape (the u flag allows only "
                    "escapes of syntax characters)");
    }
}

/* ---- syntax -------------------------------------------------------------------------------- */

static int parse_alt(rx *x, piece *out, int *n_alts);

static int parse_class(rx *x, piece *out)
{
    const char *at = x->p++;
    bool neg = x->p < x->end && *x->p == '^';
    x->p += neg;
    cset s = {0};
    int rc = LLMR_OK;
    while (!rc) {
        if (x->p >= x->end) {
            rc = fail(x, LLMR_ERR_FORMAT, at, "unterminated character class");
            break;
        }
        if (*x->p == ']')
            break;
        uint32_t lo, hi;
        const char *item = x->p;
        if (*x->p == '\\' && (x->p++, (rc = escape(x, true, &s, &lo))))
            break;
        if (*item != '\\' && (lo = utf8_cp(x)) == 0xFFFFFFFFu) {
            rc = fail(x, LLMR_ERR_FORMAT, item, "invalid UTF-8");
            break;
        }
        hi = lo;
        if (x->p + 1 < x->end && x->p[0] == '-' && x->p[1] != ']') {
            x->p++;
            const char *h = x->p;
            if (*x->p == '\\' && (x->p++, (rc = escape(x, true, &s, &hi))))
                break;
            if (*h != '\\' && (hi = utf8_cp(x)) == 0xFFFFFFFFu) {
                rc = fail(x, LLMR_ERR_FORMAT, h, "invalid UTF-8");
                break;
            }
            if (lo == 0xFFFFFFFFu || hi == 0xFFFFFFFFu || hi < lo) {
                rc = fail(x, LLMR_ERR_FORMAT, item, "bad range in a character class");
                break;
            }
        }
        if (lo != 0xFFFFFFFFu)
            cs_add(x, &s, lo, hi);
    }
    if (!rc) {
        x->p++;
        if (neg)
            cs_complement(x, &s);
        rc = emit_set(x, &s, at, out);
    }
    free(s.r);
    return rc;
}

static int parse_group(rx *x, piece *out)
{
    const char *at = x->p++;
    if (x->p < x->end && *x->p == '?') {
        if (x->p + 1 < x->end && x->p[1] == ':') {
            x->p += 2;
        } else if (x->p + 2 < x->end && x->p[1] == '<' && x->p[2] != '=' && x->p[2] != '!') {
            const char *q = x->p + 2;          /* (?<name> is a plain group here */
            while (q < x->end && *q != '>')
                q++;
            if (q >= x->end)
                return fail(x, LLMR_ERR_FORMAT, at, "unterminated group name");
            x->p = q + 1;
        } else {
            return fail(x, LLMR_ERR_UNSUPPORTED, at, "lookahead and lookbehind ((?=, (?!, "
                        "(?<=, (?<!) are not supported");
        }
    }
    if (++x->depth > LLMR_REGEX_MAX_DEPTH)
        return fail(x, LLMR_ERR_UNSUPPORTED, at, "groups nested too deeply");
    int n_alts, rc = parse_alt(x, out, &n_alts);
    if (rc)
        return rc;
    if (x->p >= x->end || *x->p != ')')
        return fail(x, LLMR_ERR_FORMAT, at, "unterminated group (missing ')')");
    x->p++;
    x->depth--;
    return LLMR_OK;
}

static int parse_count(rx *x, const char *at, unsigned *v)
{
    if (x->p >= x->end || *x->p < '0' || *x->p > '9')
        return fail(x, LLMR_ERR_FORMAT, at, "malformed {n,m} repetition");
    unsigned long n = 0;
    while (x->p < x->end && *x->p >= '0' && *x->p <= '9') {
        n = n * 10 + (unsigned)(*x->p++ - '0');
        if (n > LLMR_REGEX_MAX_COUNT)
            return fail(x, LLMR_ERR_UNSUPPORTED, at, "a repetition count above 1000");
    }
    *v = (unsigned)n;
    return LLMR_OK;
}

/* A quantifier after piece pc, if there is one. */
static int quantify(rx *x, piece *pc)
{
    const char *at = x->p;
    if (x->p >= x->end || !strchr("*+?{", *x->p))
        return LLMR_OK;
    unsigned min = 0, max = 0;
    bool unbounded = false;
    char c = *x->p++;
    int rc;
    if (c == '*' || c == '+') {
        min = c == '+';
        unbounded = true;
    } else if (c == '?') {
        max = 1;
    } else {
        if ((rc = parse_count(x, at, &min)))
            return rc;
        max = min;
        if (x->p < x->end && *x->p == ',') {
            x->p++;
            unbounded = x->p < x->end && *x->p == '}';
            if (!unbounded && (rc = parse_count(x, at, &max)))
                return rc;
        }
        if (x->p >= x->end || *x->p != '}')
            return fail(x, LLMR_ERR_FORMAT, at, "malformed {n,m} repetition");
        x->p++;
        if (!unbounded && max < min)
            return fail(x, LLMR_ERR_FORMAT, at, "{n,m} with n > m");
    }
    if (x->p < x->end && *x->p == '?')         /* lazy: the same language */
        x->p++;
    if (x->p < x->end && strchr("*+?{", *x->p))
        return fail(x, LLMR_ERR_FORMAT, x->p, "a quantifier with nothing to repeat");
    if (unbounded && pc->nullable)
        return fail(x, LLMR_ERR_UNSUPPORTED, at, "a repeated part that can match the empty "
                    "string (like (a*)*) is not supported");
    unsigned times = unbounded ? (min > 1 ? min : 1) : (max > 1 ? max : 1);
    pc->size *= times;
    pc->nullable = pc->nullable || min == 0;
    char q[32];
    if (unbounded)
        snprintf(q, sizeof q, min == 0 ? "*" : min == 1 ? "+" : "{%u,}", min);
    else if (min == 0 && max == 1)
        strcpy(q, "?");
    else if (min == max)
        snprintf(q, sizeof q, "{%u}", min);
    else
        snprintf(q, sizeof q, "{%u,%u}", min, max);
    if (min == 1 && max == 1 && !unbounded)
        q[0] = 0;
    char name[40];                             /* keep the symbol one word: a rule */
    new_rule(x, name);
    llmri_buf_printf(x->out, "%s ::= %s%s\n", name, pc->sym, q);
    strcpy(pc->sym, name);
    return LLMR_OK;
}

static int parse_atom(rx *x, piece *pc)
{
    const char *at = x->p;
    char c = *x->p;
    int rc = LLMR_OK;
    pc->size = 1;
    pc->nullable = false;
    if (c == '(') {
        rc = parse_group(x, pc);
    } else if (c == '[') {
        rc = parse_class(x, pc);
    } else if (c == '.') {                     /* all but the line terminators */
        x->p++;
        cset s = {0};
        cs_add(x, &s, '\n', '\n');
        cs_add(x, &s, '\r', '\r');
        cs_add(x, &s, 0x2028, 0x2029);
        cs_complement(x, &s);
        rc = emit_set(x, &s, at, pc);
        free(s.r);
    } else if (c == '\\') {
        x->p++;
        cset s = {0};
        uint32_t cp;
        if (!(rc = escape(x, false, &s, &cp))) {
            if (cp == 0xFFFFFFFFu)
                rc = emit_set(x, &s, at, pc);
            else
                char_sym(cp, pc->sym);
        }
        free(s.r);
    } else if (c == '^' || c == '$') {
        return fail(x, LLMR_ERR_UNSUPPORTED, at, "^ and $ are supported only at the start "
                    "and the end of the pattern");
    } else if (strchr("*+?{", c)) {
        return fail(x, LLMR_ERR_FORMAT, at, "a quantifier with nothing to repeat");
    } else if (c == ']' || c == '}') {
        return fail(x, LLMR_ERR_FORMAT, at, "a lone ] or } (escape it)");
    } else {
        uint32_t cp = utf8_cp(x);
        if (cp == 0xFFFFFFFFu)
            return fail(x, LLMR_ERR_FORMAT, at, "invalid UTF-8");
        char_sym(cp, pc->sym);
    }
    return rc ? rc : quantify(x, pc);
}

/* A sequence into body; stops at the end, '|' or ')'. */
static int parse_seq(rx *x, llmr_buf *body, size_t *size, bool *nullable)
{
    bool any = false;
    *nullable = true;
    while (x->p < x->end && *x->p != '|' && *x->p != ')') {
        piece pc;
        int rc = parse_atom(x, &pc);
        if (rc)
            return rc;
        llmri_buf_printf(body, " %s", pc.sym);
        *size += pc.size;
        *nullable = *nullable && pc.nullable;
        any = true;
        if (*size > LLMR_REGEX_MAX_SIZE)
            return fail(x, LLMR_ERR_UNSUPPORTED, x->p, "the pattern is too large once its "
                        "counted repetitions are expanded (at most 10000 positions)");
    }
    if (!any)
        llmri_buf_puts(body, " \"\"");
    return LLMR_OK;
}

static int parse_alt(rx *x, piece *out, int *n_alts)
{
    llmr_buf body = {0};
    int rc = LLMR_OK;
    out->size = 0;
    out->nullable = false;
    *n_alts = 0;
    for (;;) {
        size_t size = 0;
        bool nullable;
        if ((rc = parse_seq(x, &body, &size, &nullable)))
            break;
        out->size += size;
        out->nullable |= nullable;
        ++*n_alts;
        if (out->size > LLMR_REGEX_MAX_SIZE) {
            rc = fail(x, LLMR_ERR_UNSUPPORTED, x->p, "the pattern is too large once its "
                      "counted repetitions are expanded (at most 10000 positions)");
            break;
        }
        if (x->p >= x->end || *x->p != '|')
            break;
        x->p++;
        llmri_buf_puts(&body, " |");
    }
    if (!rc) {
        new_rule(x, out->sym);
        llmri_buf_printf(x->out, "%s ::=%s\n", out->sym, llmri_buf_str(&body));
        if (body.failed)
            rc = fail(x, LLMR_ERR_NOMEM, x->p, "out of memory");
    }
    llmri_buf_free(&body);
    return rc;
}

int llmri_regex_gbnf(const char *re, llmr_buf *out, unsigned *next_id, char name[40],
                     llmr_err *err)
{
    size_t len = strlen(re);
    rx x = {.src = re, .p = re, .end = re + len, .out = out, .next_id = next_id, .err = err};
    if (len > LLMR_REGEX_MAX_LEN)
        return llmri_err_set(err, LLMR_ERR_UNSUPPORTED, "pattern: longer than %d bytes",
                            LLMR_REGEX_MAX_LEN);
    bool start = len > 0 && re[0] == '^', end = false;
    if (start)
        x.p++;
    if (len > (size_t)start && re[len - 1] == '$') {   /* not if the '$' is escaped */
        size_t bs = 0;
        while (len - 1 - bs > 0 && re[len - 2 - bs] == '\\')
            bs++;
        if (bs % 2 == 0) {
            end = true;
            x.end--;
        }
    }
    piece top;
    int n_alts, rc = parse_alt(&x, &top, &n_alts);
    if (rc)
        return rc;
    if (x.p < x.end)
        return fail(&x, LLMR_ERR_FORMAT, x.p, "unmatched ')'");
    if (n_alts > 1 && (start || end))
        return fail(&x, LLMR_ERR_UNSUPPORTED, re, "^ or $ with a top-level | (they would bind "
                    "to one alternative only; write ^(a|b)$)");
    snprintf(name, 40, "s%u", (*next_id)++);
    llmri_buf_printf(out, "%s ::= %s%s%s\n", name, start ? "" : "char* ", top.sym,
                    end ? "" : " char*");
    return LLMR_OK;
}
