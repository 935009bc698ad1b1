/* gbnf.c - parser for GBNF, llama.cpp's grammar notation (grammars/README.md there):
 *
 *   name ::= alternative | alternative ...     # a rule; `root` is where parsing starts
 *   "literal" with escapes \n \r \t \\ \" \xHH \uHHHH \UHHHHHHHH, [a-z] [^"\\] sets, `.`,
 *   (groups), rule references, and the postfix operators * + ? {m} {m,} {m,n} {,n}.
 *
 * A rule ends at the end of its line, except after `::=` or `|` and inside parentheses, where
 * newlines are blanks (llama.cpp's rule). Groups and repetitions become generated rules:
 * x* is R ::= x R | (empty), x+ is x x*, x? is R ::= x | (empty), x{m,n} is m copies of x
 * then n-m nested optionals. After parsing, every referenced rule must be defined, `root`
 * must exist, no rule may reach itself without consuming a character (left recursion
 * would make the matcher loop forever), and every rule must be able to finish (a rule that
 * only recurses would let the output walk into a branch it can never complete).
 */
#include "sampler/grammar_int.h"
#include "core/grow.h"
#include "core/strmap.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REPEAT     10000u      /* bound on m and n in x{m,n} */
#define MAX_ELEMS      (1u << 22)  /* bound on the compiled size */
#define MAX_NESTING    64          /* parentheses (each level costs parser stack) */
#define MAX_LEFT_DEPTH 200         /* rules entered without consuming a character */
#define UNBOUNDED      UINT32_MAX

typedef struct evec {
    gelem   *v;
    uint32_t n;
    size_t   cap;
} evec;

typedef struct prule {
    char    *name;
    evec     body;
    bool     defined;
    uint32_t first_ref;     /* offset of the first reference, for "undefined rule" */
} prule;

typedef struct parser {
    const char *src, *p;
    prule      *rules;
    uint32_t    n_rules;
    size_t      cap_rules;
    llmr_strmap names;      /* rule name -> id (names live in rules[i].name) */
    uint32_t    total;      /* elements in all bodies */
    int         depth;
    llmr_err   *err;
} parser;

/* ---- errors --------------------------------------------------------------------------- */

static void line_col(const char *src, const char *at, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (const char *q = src; q < at && *q; q++) {
        if (*q == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char)*q & 0xC0) != 0x80) {
            (*col)++;       /* columns count code points */
        }
    }
}

static int perr(parser *ps, const char *at, const char *what)
{
    int line, col;
    line_col(ps->src, at, &line, &col);
    char near[24] = "end of input";
    if (*at) {
        size_t n = 0;
        near[0] = '\'';
        for (n = 0; n < 12 && at[n] && at[n] != '\n'; n++)
            near[n + 1] = at[n];
        near[n + 1] = '\'';
        near[n + 2] = 0;
    }
    return llmri_err_set(ps->err, LLMR_ERR_FORMAT, "grammar: line %d, column %d: %s (at %s)",
                        line, col, what, near);
}

/* ---- element vectors and rules ---------------------------------------------------------- */

static int push(parser *ps, evec *v, uint32_t type, uint32_t a, uint32_t b)
{
    if (++ps->total > MAX_ELEMS)
        return llmri_err_set(ps->err, LLMR_ERR_TOO_BIG,
                            "grammar: more than %u elements after expanding repetitions",
                            MAX_ELEMS);
    if (!LLMR_GROW(v->v, v->cap, (size_t)v->n + 1))
        return llmri_err_set(ps->err, LLMR_ERR_NOMEM, "grammar: out of memory");
    v->v[v->n++] = (gelem){type, a, b};
    return LLMR_OK;
}

static int push_all(parser *ps, evec *v, const gelem *src, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        int rc = push(ps, v, src[i].type, src[i].a, src[i].b);
        if (rc)
            return rc;
    }
    return LLMR_OK;
}

static int add_rule(parser *ps, const char *name, size_t len, uint32_t *id)
{
    if (!LLMR_GROW(ps->rules, ps->cap_rules, (size_t)ps->n_rules + 1))
        return llmri_err_set(ps->err, LLMR_ERR_NOMEM, "grammar: out of memory");
    prule *r = &ps->rules[ps->n_rules];
    memset(r, 0, sizeof *r);
    r->name = llmri_strndup(name, len);
    if (!r->name || llmri_strmap_put(&ps->names, r->name, len, ps->n_rules, NULL) < 0) {
        free(r->name);
        return llmri_err_set(ps->err, LLMR_ERR_NOMEM, "grammar: out of memory");
    }
    *id = ps->n_rules++;
    return LLMR_OK;
}

/* The id of the rule called name[0..len), created (undefined) on first use. Hashed: grammars
 * made from JSON schemas have tens of thousands of rules. */
static int symbol(parser *ps, const char *name, size_t len, uint32_t *id)
{
    int64_t v;
    if (llmri_strmap_get(&ps->names, name, len, &v)) {
        *id = (uint32_t)v;
        return LLMR_OK;
    }
    return add_rule(ps, name, len, id);
}

/* A fresh rule for a group or repetition inside rule `parent`, named parent(N): no user
 * rule can have that name. */
static int gen_rule(parser *ps, uint32_t parent, uint32_t *id)
{
    char buf[96];
    int n = snprintf(buf, sizeof buf, "%.80s(%u)", ps->rules[parent].name, ps->n_rules);
    int rc = add_rule(ps, buf, (size_t)n, id);
    if (rc == LLMR_OK)
        ps->rules[*id].defined = true;
    return rc;
}

/* ---- lexical pieces ------------------------------------------------------------------- */

static bool is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

static void skip_space(parser *ps, bool newline_ok)
{
    for (;;) {
        char c = *ps->p;
        if (c == ' ' || c == '\t' || (newline_ok && (c == '\n' || c == '\r'))) {
            ps->p++;
        } else if (c == '#') {
            while (*ps->p && *ps->p != '\n')
                ps->p++;
        } else {
            return;
        }
    }
}

/* Decodes one UTF-8 code point of the grammar text; false on a malformed sequence. */
static bool utf8_next(const char **pp, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *)*pp;
    uint32_t c = s[0], n, min;
    if (c < 0x80) {
        *cp = c;
        *pp += 1;
        return true;
    }
    if (c >= 0xC2 && c <= 0xDF)      { n = 1; c &= 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 2; c &= 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 3; c &= 0x07; min = 0x10000; }
    else return false;
    for (uint32_t i = 1; i <= n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return false;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return false;
    *cp = c;
    *pp += n + 1;
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* One character of a literal or a set, escapes decoded. */
static int read_char(parser *ps, uint32_t *cp)
{
    const char *at = ps->p;
    if (*ps->p == 0)
        return perr(ps, at, "unexpected end of input inside a literal or character set");
    if (*ps->p != '\\') {
        if (!utf8_next(&ps->p, cp))
            return perr(ps, at, "invalid UTF-8 in the grammar text");
        return LLMR_OK;
    }
    char e = ps->p[1];
    ps->p += 2;
    int digits = 0;
    switch (e) {
    case 'n': *cp = '\n'; return LLMR_OK;
    case 'r': *cp = '\r'; return LLMR_OK;
    case 't': *cp = '\t'; return LLMR_OK;
    case '0': *cp = 0; return LLMR_OK;
    case '\\': case '"': case '\'': case '[': case ']': case '-': case '^': case '/':
        *cp = (unsigned char)e;
        return LLMR_OK;
    case 'x': digits = 2; break;
    case 'u': digits = 4; break;
    case 'U': digits = 8; break;
    default:
        return perr(ps, at, "unknown escape (expected \\n \\r \\t \\\\ \\\" \\xHH \\uHHHH "
                            "\\UHHHHHHHH)");
    }
    uint32_t v = 0;
    for (int i = 0; i < digits; i++) {
        int h = hexval(ps->p[i]);
        if (h < 0)
            return perr(ps, at, "escape needs hexadecimal digits");
        v = v * 16 + (uint32_t)h;
    }
    ps->p += digits;
    if (v > 0x10FFFF)
        return perr(ps, at, "code point beyond U+10FFFF");
    *cp = v;
    return LLMR_OK;
}

static int parse_uint(parser *ps, uint32_t *out)
{
    const char *at = ps->p;
    uint64_t v = 0;
    if (*ps->p < '0' || *ps->p > '9')
        return perr(ps, at, "expected a number");
    while (*ps->p >= '0' && *ps->p <= '9') {
        v = v * 10 + (uint64_t)(*ps->p++ - '0');
        if (v > MAX_REPEAT)
            return perr(ps, at, "repetition count too large (at most 10000)");
    }
    *out = (uint32_t)v;
    return LLMR_OK;
}

/* ---- syntax --------------------------------------------------------------------------- */

static int parse_alternates(parser *ps, uint32_t rule, evec *out, bool nested);

static int parse_literal(parser *ps, evec *out)
{
    const char *start = ps->p++;
    while (*ps->p != '"') {
        if (*ps->p == 0 || *ps->p == '\n')
            return perr(ps, start, "unterminated string literal (expected '\"')");
        uint32_t cp;
        int rc = read_char(ps, &cp);
        if (rc || (rc = push(ps, out, GE_SET, 1, 0)) || (rc = push(ps, out, GE_RANGE, cp, cp)))
            return rc;
    }
    ps->p++;
    return LLMR_OK;
}

static int parse_set(parser *ps, evec *out)
{
    const char *start = ps->p++;
    bool neg = *ps->p == '^';
    if (neg)
        ps->p++;
    uint32_t head = out->n;
    int rc = push(ps, out, GE_SET, 0, neg);
    if (rc)
        return rc;
    while (*ps->p != ']') {
        if (*ps->p == 0 || *ps->p == '\n')
            return perr(ps, start, "unterminated character set (expected ']')");
        uint32_t lo, hi;
        const char *at = ps->p;
        if ((rc = read_char(ps, &lo)))
            return rc;
        hi = lo;
        if (ps->p[0] == '-' && ps->p[1] != ']' && ps->p[1] != 0) {
            ps->p++;
            if ((rc = read_char(ps, &hi)))
                return rc;
            if (hi < lo)
                return perr(ps, at, "character range is reversed");
        }
        if ((rc = push(ps, out, GE_RANGE, lo, hi)))
            return rc;
        out->v[head].a++;
    }
    ps->p++;
    if (out->v[head].a == 0 && !neg)
        return perr(ps, start, "empty character set matches nothing");
    return LLMR_OK;
}

/* Replaces out[start..n) (the last symbol) by its repetition min..max times. */
static int repeat(parser *ps, uint32_t rule, evec *out, uint32_t start, uint32_t min,
                  uint32_t max)
{
    uint32_t n = out->n - start;
    gelem *sym = malloc(n * sizeof *sym);
    if (!sym)
        return llmri_err_set(ps->err, LLMR_ERR_NOMEM, "grammar: out of memory");
    memcpy(sym, out->v + start, n * sizeof *sym);
    out->n = start;
    int rc = LLMR_OK;
    for (uint32_t i = 0; i < min && !rc; i++)
        rc = push_all(ps, out, sym, n);
    uint32_t id = 0;
    if (!rc && max == UNBOUNDED) {             /* R ::= sym R | (empty) */
        if (!(rc = gen_rule(ps, rule, &id))) {
            evec *b = &ps->rules[id].body;
            if (!(rc = push_all(ps, b, sym, n)) && !(rc = push(ps, b, GE_REF, id, 0)) &&
                !(rc = push(ps, b, GE_ALT, 0, 0)) && !(rc = push(ps, b, GE_END, 0, 0)))
                rc = push(ps, out, GE_REF, id, 0);
        }
    } else if (!rc && max > min) {             /* R_k ::= sym R_{k-1} | (empty) */
        uint32_t prev = UNBOUNDED;
        for (uint32_t k = 0; k < max - min && !rc; k++) {
            if ((rc = gen_rule(ps, rule, &id)))
                break;
            evec *b = &ps->rules[id].body;
            if (!(rc = push_all(ps, b, sym, n)) &&
                (prev == UNBOUNDED || !(rc = push(ps, b, GE_REF, prev, 0))) &&
                !(rc = push(ps, b, GE_ALT, 0, 0)))
                rc = push(ps, b, GE_END, 0, 0);
            prev = id;
        }
        if (!rc)
            rc = push(ps, out, GE_REF, id, 0);
    }
    free(sym);
    return rc;
}

static int parse_postfix(parser *ps, uint32_t rule, evec *out, uint32_t start)
{
    const char *at = ps->p;
    char c = *ps->p;
    uint32_t min, max;
    int rc;
    if (c == '*' || c == '+' || c == '?') {
        ps->p++;
        min = c == '+';
        max = c == '?' ? 1 : UNBOUNDED;
    } else {                                   /* {m} {m,} {m,n} {,n} */
        ps->p++;
        skip_space(ps, true);
        min = 0;
        if (*ps->p != ',' && (rc = parse_uint(ps, &min)))
            return rc;
        skip_space(ps, true);
        max = min;
        if (*ps->p == ',') {
            ps->p++;
            skip_space(ps, true);
            max = UNBOUNDED;
            if (*ps->p != '}' && (rc = parse_uint(ps, &max)))
                return rc;
            skip_space(ps, true);
        }
        if (*ps->p != '}')
            return perr(ps, ps->p, "expected '}' to close a repetition count");
        ps->p++;
        if (max < min)
            return perr(ps, at, "repetition {m,n} needs m <= n");
    }
    if (out->n == start)
        return perr(ps, at, "repetition operator with nothing before it to repeat");
    return repeat(ps, rule, out, start, min, max);
}

static int parse_sequence(parser *ps, uint32_t rule, evec *out, bool nested)
{
    int rc;
    for (;;) {
        uint32_t start = out->n;
        const char *at = ps->p;
        char c = *ps->p;
        if (c == '"') {
            rc = parse_literal(ps, out);
        } else if (c == '[') {
            rc = parse_set(ps, out);
        } else if (c == '.') {
            ps->p++;
            rc = push(ps, out, GE_SET, 0, 1);
        } else if (c == '(') {
            if (++ps->depth > MAX_NESTING)
                return perr(ps, at, "parentheses nested too deeply");
            uint32_t id;
            ps->p++;
            skip_space(ps, true);
            if ((rc = gen_rule(ps, rule, &id)))
                return rc;
            evec body = {0};
            rc = parse_alternates(ps, rule, &body, true);
            ps->rules[id].body = body;
            if (rc)
                return rc;
            if (*ps->p != ')')
                return perr(ps, ps->p, "expected ')'");
            ps->p++;
            ps->depth--;
            rc = push(ps, out, GE_REF, id, 0);
        } else if (is_word(c)) {
            const char *name = ps->p;
            while (is_word(*ps->p))
                ps->p++;
            uint32_t id;
            if ((rc = symbol(ps, name, (size_t)(ps->p - name), &id)))
                return rc;
            if (!ps->rules[id].defined && ps->rules[id].first_ref == 0)
                ps->rules[id].first_ref = (uint32_t)(name - ps->src) + 1;
            rc = push(ps, out, GE_REF, id, 0);
        } else if (c == '*' || c == '+' || c == '?' || c == '{') {
            return perr(ps, at, "repetition operator with nothing before it to repeat");
        } else {
            return LLMR_OK;                    /* end of this sequence */
        }
        if (rc)
            return rc;
        skip_space(ps, nested);
        c = *ps->p;
        if (c == '*' || c == '+' || c == '?' || c == '{') {
            if ((rc = parse_postfix(ps, rule, out, start)))
                return rc;
            skip_space(ps, nested);
        }
    }
}

static int parse_alternates(parser *ps, uint32_t rule, evec *out, bool nested)
{
    int rc = parse_sequence(ps, rule, out, nested);
    while (!rc && *ps->p == '|') {
        ps->p++;
        skip_space(ps, true);
        if ((rc = push(ps, out, GE_ALT, 0, 0)))
            return rc;
        rc = parse_sequence(ps, rule, out, nested);
    }
    return rc ? rc : push(ps, out, GE_END, 0, 0);
}

static int parse_rule(parser *ps)
{
    const char *at = ps->p;
    if (!is_word(*ps->p))
        return perr(ps, at, "expected a rule name");
    while (is_word(*ps->p))
        ps->p++;
    uint32_t id;
    int rc = symbol(ps, at, (size_t)(ps->p - at), &id);
    if (rc)
        return rc;
    if (ps->rules[id].defined)
        return perr(ps, at, "rule defined twice");
    ps->rules[id].defined = true;
    skip_space(ps, false);
    if (strncmp(ps->p, "::=", 3) != 0)
        return perr(ps, ps->p, "expected '::=' after the rule name");
    ps->p += 3;
    skip_space(ps, true);
    evec body = {0};
    rc = parse_alternates(ps, id, &body, false);
    ps->rules[id].body = body;
    if (rc)
        return rc;
    if (*ps->p == '\r')
        ps->p++;
    if (*ps->p != '\n' && *ps->p != 0)
        return perr(ps, ps->p, "unexpected character (expected the end of the rule's line)");
    return LLMR_OK;
}

/* ---- checks on the compiled grammar --------------------------------------------------- */

/* nullable[r]: rule r can match the empty string. Iterated to a fixed point. */
static void compute_nullable(const llmr_grammar *g, bool *nullable)
{
    bool changed = true;
    while (changed) {
        changed = false;
        for (uint32_t r = 0; r < g->n_rules; r++) {
            if (nullable[r])
                continue;
            bool alt_ok = true;
            for (uint32_t i = g->rule_start[r];; i++) {
                const gelem *e = &g->elems[i];
                if (ge_is_end(e)) {
                    if (alt_ok) {
                        nullable[r] = changed = true;
                        break;
                    }
                    if (e->type == GE_END)
                        break;
                    alt_ok = true;
                } else if (e->type == GE_SET) {
                    alt_ok = false;
                    i += e->a;
                } else if (e->type == GE_REF && !nullable[e->a]) {
                    alt_ok = false;
                }
            }
        }
    }
}

typedef struct lcheck {
    const llmr_grammar *g;
    const bool *nullable;
    uint8_t *color;         /* 0 new, 1 on the path, 2 done */
    uint32_t *depth;        /* longest left chain from each rule */
    uint32_t bad;           /* the rule that closed a cycle */
} lcheck;

/* Depth-first over "rule r can start with rule s" edges; false on a cycle. Recursion depth is
 * bounded by the number of rules on one left chain, which fails past MAX_LEFT_DEPTH. */
static bool left_dfs(lcheck *lc, uint32_t r, uint32_t level)
{
    if (lc->color[r] == 2)
        return true;
    if (lc->color[r] == 1 || level > MAX_LEFT_DEPTH) {
        lc->bad = r;
        return false;
    }
    lc->color[r] = 1;
    uint32_t best = 0;
    bool skipping = false;                     /* past a non-nullable element */
    for (uint32_t i = lc->g->rule_start[r];; i++) {
        const gelem *e = &lc->g->elems[i];
        if (ge_is_end(e)) {
            if (e->type == GE_END)
                break;
            skipping = false;
        } else if (e->type == GE_SET) {
            skipping = true;
            i += e->a;
        } else if (e->type == GE_REF && !skipping) {
            if (!left_dfs(lc, e->a, level + 1))
                return false;
            if (lc->depth[e->a] + 1 > best)
                best = lc->depth[e->a] + 1;
            if (!lc->nullable[e->a])
                skipping = true;
        }
    }
    lc->depth[r] = best;
    lc->color[r] = 2;
    return true;
}

static int check_left_recursion(parser *ps, const llmr_grammar *g)
{
    bool *nullable = calloc(g->n_rules, sizeof *nullable);
    uint8_t *color = calloc(g->n_rules, 1);
    uint32_t *depth = calloc(g->n_rules, sizeof *depth);
    int rc = LLMR_OK;
    if (!nullable || !color || !depth) {
        rc = llmri_err_set(ps->err, LLMR_ERR_NOMEM, "grammar: out of memory");
    } else {
        compute_nullable(g, nullable);
        lcheck lc = {g, nullable, color, depth, 0};
        for (uint32_t r = 0; r < g->n_rules && !rc; r++)
            if (!left_dfs(&lc, r, 0))
                rc = llmri_err_set(ps->err, LLMR_ERR_FORMAT,
                                  "grammar: rule '%s' is left-recursive or nested more than "
                                  "%d deep (it can reach itself before matching a character)",
                                  ps->rules[lc.bad].name, MAX_LEFT_DEPTH);
    }
    free(nullable);
    free(color);
    free(depth);
    return rc;
}

/* Every rule must be able to finish: some alternative made only of characters and rules that
 * can finish. A rule that cannot (`a ::= "x" a`) would let the matcher walk into a branch it
 * never leaves, so the output could never be complete. Worklist over "alternative still needs
 * k rules", linear in the grammar's size. */
static int check_productive(parser *ps, const llmr_grammar *g)
{
    uint32_t n = g->n_elems, nr = g->n_rules;
    uint32_t *need = calloc(n + 1, sizeof *need);     /* per alternative start: refs left */
    uint32_t *owner = calloc(n + 1, sizeof *owner);   /* per ref element: its alt's start */
    uint32_t *head = malloc((nr + 1) * sizeof *head), *next = malloc((n + 1) * sizeof *next);
    uint32_t *work = malloc((nr + 1) * sizeof *work);
    bool *done = calloc(nr + 1, sizeof *done);
    int rc = LLMR_OK;
    if (!need || !owner || !head || !next || !work || !done) {
        rc = llmri_err_set(ps->err, LLMR_ERR_NOMEM, "grammar: out of memory");
        goto out;
    }
    memset(head, 0xFF, (nr + 1) * sizeof *head);
    uint32_t nw = 0;
    for (uint32_t r = 0; r < nr; r++) {
        uint32_t alt = g->rule_start[r];
        for (uint32_t i = alt;; i++) {
            const gelem *e = &g->elems[i];
            if (ge_is_end(e)) {
                if (need[alt] == 0 && !done[r]) {
                    done[r] = true;
                    work[nw++] = r;
                }
                owner[i] = r;                          /* the alternative's rule, at its end */
                if (e->type == GE_END)
                    break;
                alt = i + 1;
            } else if (e->type == GE_SET) {
                i += e->a;
            } else if (e->type == GE_REF) {
                need[alt]++;
                owner[i] = alt;
                next[i] = head[e->a];
                head[e->a] = i;
            }
        }
    }
    while (nw > 0) {
        uint32_t r = work[--nw];
        for (uint32_t i = head[r]; i != UNBOUNDED; i = next[i]) {
            uint32_t alt = owner[i];
            if (--need[alt] != 0)
                continue;
            uint32_t end = alt;                        /* find the alternative's rule */
            while (!ge_is_end(&g->elems[end]))
                end += g->elems[end].type == GE_SET ? g->elems[end].a + 1 : 1;
            uint32_t ar = owner[end];
            if (!done[ar]) {
                done[ar] = true;
                work[nw++] = ar;
            }
        }
    }
    for (uint32_t r = 0; r < nr && !rc; r++)
        if (!done[r])
            rc = llmri_err_set(ps->err, LLMR_ERR_FORMAT, "grammar: rule '%s' can never "
                              "finish: every alternative needs itself or another such rule "
                              "(a cycle with no base case)", ps->rules[r].name);
out:
    free(need);
    free(owner);
    free(head);
    free(next);
    free(work);
    free(done);
    return rc;
}

/* ---- assembly ------------------------------------------------------------------------- */

static int flatten(parser *ps, llmr_grammar **out)
{
    llmr_grammar *g = calloc(1, sizeof *g);
    if (!g)
        return llmri_err_set(ps->err, LLMR_ERR_NOMEM, "grammar: out of memory");
    g->n_rules = ps->n_rules;
    g->n_elems = ps->total;
    g->rule_start = malloc(g->n_rules * sizeof *g->rule_start);
    g->elems = malloc((g->n_elems ? g->n_elems : 1) * sizeof *g->elems);
    if (!g->rule_start || !g->elems) {
        llmri_grammar_free(g);
        return llmri_err_set(ps->err, LLMR_ERR_NOMEM, "grammar: out of memory");
    }
    uint32_t off = 0;
    for (uint32_t r = 0; r < ps->n_rules; r++) {
        g->rule_start[r] = off;
        memcpy(g->elems + off, ps->rules[r].body.v, ps->rules[r].body.n * sizeof *g->elems);
        off += ps->rules[r].body.n;
    }
    g->n_elems = off;
    *out = g;
    return LLMR_OK;
}

static int finish(parser *ps, llmr_grammar **out)
{
    for (uint32_t r = 0; r < ps->n_rules; r++)
        if (!ps->rules[r].defined)
            return perr(ps, ps->src + ps->rules[r].first_ref - 1,
                        "reference to a rule that is not defined");
    uint32_t root = UNBOUNDED;
    for (uint32_t r = 0; r < ps->n_rules; r++)
        if (strcmp(ps->rules[r].name, "root") == 0)
            root = r;
    if (root == UNBOUNDED)
        return llmri_err_set(ps->err, LLMR_ERR_FORMAT,
                            "grammar: no rule named 'root' (the start rule)");
    llmr_grammar *g = NULL;
    int rc = flatten(ps, &g);
    if (rc)
        return rc;
    g->root = root;
    if ((rc = check_left_recursion(ps, g)) || (rc = check_productive(ps, g))) {
        llmri_grammar_free(g);
        return rc;
    }
    *out = g;
    return LLMR_OK;
}

int llmri_grammar_parse(const char *text, llmr_grammar **out, llmr_err *err)
{
    *out = NULL;
    if (!text)
        return llmri_err_set(err, LLMR_ERR_ARG, "grammar: no text");
    parser ps = {.src = text, .p = text, .err = err};
    int rc = LLMR_OK;
    for (;;) {
        skip_space(&ps, true);
        if (*ps.p == 0)
            break;
        if ((rc = parse_rule(&ps)))
            break;
    }
    if (!rc)
        rc = finish(&ps, out);
    for (uint32_t r = 0; r < ps.n_rules; r++) {
        free(ps.rules[r].name);
        free(ps.rules[r].body.v);
    }
    free(ps.rules);
    llmri_strmap_free(&ps.names);
    return rc;
}

void llmri_grammar_free(llmr_grammar *g)
{
    if (!g)
        return;
    free(g->elems);
    free(g->rule_start);
    free(g);
}

uint32_t llmri_grammar_rule_count(const llmr_grammar *g) { return g->n_rules; }
