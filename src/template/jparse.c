/* jparse.c - Jinja2 parser: tokens -> AST.
 *
 * The expression grammar follows jinja2/parser.py, lowest to highest precedence:
 *   condexpr (a if b else c) < or < and < not < compare (== != < <= > >= in, not in)
 *   < + - < ~ < * / // % < ** < unary - + < primary with postfix (. [] ()) and filters/tests
 * so `a + b | trim` filters only b, and `not x is defined` is not (x is defined).
 */
#include "template/jinja.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct parser {
    jarena *a;
    const jtoks *t;
    size_t i;
    char *err;
    size_t errlen;
    int depth;          /* nesting of expressions and blocks, against JINJA_MAX_NESTING */
    int loops;          /* enclosing {% for %} count: break/continue need one */
    bool failed;
} parser;

static jtok *cur(parser *P) { return &P->t->t[P->i]; }
static jtok *peek(parser *P, size_t k)
{
    size_t j = P->i + k;
    return &P->t->t[j < P->t->n ? j : P->t->n - 1];
}
static void adv(parser *P)
{
    if (P->i + 1 < P->t->n)
        P->i++;
}

static const char *tok_desc(const jtok *t)
{
    switch (t->type) {
    case JT_TEXT: return "template text";
    case JT_VAR_BEGIN: return "'{{'";
    case JT_VAR_END: return "end of print statement '}}'";
    case JT_BLOCK_BEGIN: return "'{%'";
    case JT_BLOCK_END: return "end of statement block '%}'";
    case JT_EOF: return "end of template";
    default: return t->s ? t->s : "?";
    }
}

static void *perr(parser *P, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void *perr(parser *P, int line, const char *fmt, ...)
{
    if (P->failed)
        return NULL;
    P->failed = true;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(P->err, P->errlen, "template syntax error at line %d: %s", line, msg);
    return NULL;
}

static bool is_op(parser *P, const char *op)
{
    jtok *t = cur(P);
    return t->type == JT_OP && strcmp(t->s, op) == 0;
}
static bool is_name(parser *P, const char *name)
{
    jtok *t = cur(P);
    return t->type == JT_NAME && strcmp(t->s, name) == 0;
}
static bool skip_op(parser *P, const char *op)
{
    if (!is_op(P, op))
        return false;
    adv(P);
    return true;
}
static bool skip_name(parser *P, const char *name)
{
    if (!is_name(P, name))
        return false;
    adv(P);
    return true;
}
static bool expect_op(parser *P, const char *op, const char *where)
{
    if (skip_op(P, op))
        return true;
    perr(P, cur(P)->line, "expected '%s' %s, got %s", op, where, tok_desc(cur(P)));
    return false;
}
static bool expect_block_end(parser *P, const char *tag)
{
    if (cur(P)->type == JT_BLOCK_END) {
        adv(P);
        return true;
    }
    perr(P, cur(P)->line, "expected end of statement block '%%}' after {%% %s %%}, got %s", tag,
         tok_desc(cur(P)));
    return false;
}

static jnode *node(parser *P, jn_kind k, int line)
{
    jnode *n = jarena_alloc(P->a, sizeof *n);
    if (!n)
        return perr(P, line, "out of memory");
    n->kind = k;
    n->line = line;
    return n;
}

static bool nodes_push(parser *P, jnodes *ns, jnode *n)
{
    if (!n)
        return false;
    if (ns->n == ns->cap) {
        size_t nc = ns->cap ? ns->cap * 2 : 4;
        jnode **p = jarena_alloc(P->a, nc * sizeof *p);
        if (!p) {
            perr(P, n->line, "out of memory");
            return false;
        }
        if (ns->n)
            memcpy(p, ns->v, ns->n * sizeof *p);
        ns->v = p;
        ns->cap = nc;
    }
    ns->v[ns->n++] = n;
    return true;
}

/* Parallel array of names (keyword names, parameters, targets) sized with its node list. */
static bool names_set(parser *P, const char ***arr, size_t idx, size_t cap, const char *name)
{
    if (!*arr || idx % 16 == 0) {
        const char **p = jarena_alloc(P->a, (idx + 16 > cap ? idx + 16 : cap) * sizeof *p);
        if (!p) {
            perr(P, cur(P)->line, "out of memory");
            return false;
        }
        if (*arr && idx)
            memcpy(p, *arr, idx * sizeof *p);
        *arr = p;
    }
    (*arr)[idx] = name;
    return true;
}

static jnode *parse_expr(parser *P);
static jnode *parse_or(parser *P);
static jnode *parse_unary(parser *P, bool with_filter);
static jnode *parse_primary(parser *P);
static jnode *parse_postfix(parser *P, jnode *n);

static bool enter(parser *P)
{
    if (++P->depth > JINJA_MAX_NESTING) {
        perr(P, cur(P)->line, "nesting deeper than %d levels", JINJA_MAX_NESTING);
        return false;
    }
    return true;
}

/* Arguments of a call, filter or test: positional then keyword (name=value). */
static bool parse_args(parser *P, jnode *n)
{
    if (!expect_op(P, "(", "to start the argument list"))
        return false;
    while (!is_op(P, ")")) {
        if (n->args.n && !expect_op(P, ",", "between arguments"))
            return false;
        if (is_op(P, ")"))
            break;
        const char *kw = NULL;
        if (cur(P)->type == JT_NAME && peek(P, 1)->type == JT_OP && !strcmp(peek(P, 1)->s, "=")) {
            kw = cur(P)->s;
            adv(P);
            adv(P);
        } else if (is_op(P, "*") || is_op(P, "**")) {
            perr(P, cur(P)->line, "*args and **kwargs in calls are not supported");
            return false;
        }
        jnode *e = parse_expr(P);
        if (!e || !names_set(P, &n->kw, n->args.n, 0, kw) || !nodes_push(P, &n->args, e))
            return false;
    }
    adv(P);
    return true;
}

static jnode *parse_filter(parser *P, jnode *input)
{
    jtok *t = cur(P);
    if (t->type != JT_NAME)
        return perr(P, t->line, "expected a filter name after '|', got %s", tok_desc(t));
    jnode *f = node(P, JN_FILTER, t->line);
    if (!f)
        return NULL;
    f->name = t->s;
    f->a = input;
    adv(P);
    while (is_op(P, ".") && peek(P, 1)->type == JT_NAME) {   /* dotted filter names */
        adv(P);
        adv(P);
    }
    if (is_op(P, "(") && !parse_args(P, f))
        return NULL;
    return f;
}

static jnode *parse_test(parser *P, jnode *input)
{
    jnode *tn = node(P, JN_TEST, cur(P)->line);
    if (!tn)
        return NULL;
    tn->a = input;
    tn->test_negated = skip_name(P, "not");
    jtok *t = cur(P);
    if (t->type != JT_NAME)
        return perr(P, t->line, "expected a test name after 'is', got %s", tok_desc(t));
    tn->name = t->s;
    adv(P);
    t = cur(P);
    if (is_op(P, "(")) {
        if (!parse_args(P, tn))
            return NULL;
    } else if ((t->type == JT_NAME || t->type == JT_STRING || t->type == JT_INT
                || t->type == JT_FLOAT || is_op(P, "[") || is_op(P, "{"))
               && !is_name(P, "else") && !is_name(P, "or") && !is_name(P, "and")) {
        /* `x is divisibleby 3`, `x is sameas none`: one argument without parentheses */
        if (is_name(P, "is"))
            return perr(P, cur(P)->line, "You cannot chain multiple tests with is");
        jnode *arg = parse_primary(P);
        if (!arg || !(arg = parse_postfix(P, arg)) || !names_set(P, &tn->kw, 0, 0, NULL)
            || !nodes_push(P, &tn->args, arg))
            return NULL;
    }
    return tn;
}

static jnode *parse_filter_expr(parser *P, jnode *n)
{
    while (n) {
        if (skip_op(P, "|"))
            n = parse_filter(P, n);
        else if (skip_name(P, "is")) {
            n = parse_test(P, n);
            if (n && is_name(P, "is"))
                return perr(P, cur(P)->line, "You cannot chain multiple tests with is");
        }
        else if (is_op(P, "(")) {
            jnode *c = node(P, JN_CALL, cur(P)->line);
            if (!c)
                return NULL;
            c->a = n;
            if (!parse_args(P, c))
                return NULL;
            n = c;
        } else
            break;
    }
    return n;
}

static jnode *parse_subscript(parser *P, jnode *obj, int line)
{
    jnode *parts[3] = {NULL, NULL, NULL};
    bool slice = false;
    if (!is_op(P, ":"))
        parts[0] = parse_expr(P);
    if (P->failed)
        return NULL;
    if (skip_op(P, ":")) {
        slice = true;
        if (!is_op(P, "]") && !is_op(P, ":"))
            parts[1] = parse_expr(P);
        if (skip_op(P, ":") && !is_op(P, "]"))
            parts[2] = parse_expr(P);
    }
    if (P->failed || !expect_op(P, "]", "to close the subscript"))
        return NULL;
    jnode *n = node(P, slice ? JN_SLICE : JN_ITEM, line);
    if (!n)
        return NULL;
    n->a = obj;
    if (slice) {
        n->b = parts[0];
        n->c = parts[1];
        if (parts[2]) {
            if (!names_set(P, &n->kw, 0, 0, NULL) || !nodes_push(P, &n->args, parts[2]))
                return NULL;
        }
    } else {
        n->b = parts[0];
    }
    return n;
}

static jnode *parse_postfix(parser *P, jnode *n)
{
    while (n) {
        jtok *t = cur(P);
        if (skip_op(P, ".")) {
            jtok *k = cur(P);
            if (k->type == JT_NAME) {
                jnode *at = node(P, JN_ATTR, t->line);
                if (!at)
                    return NULL;
                at->a = n;
                at->name = k->s;
                adv(P);
                n = at;
            } else if (k->type == JT_INT) {   /* x.0 is x[0] */
                jnode *it = node(P, JN_ITEM, t->line), *lit = node(P, JN_LIT, t->line);
                if (!it || !lit)
                    return NULL;
                lit->lit = jv_int(k->i);
                it->a = n;
                it->b = lit;
                adv(P);
                n = it;
            } else {
                return perr(P, k->line, "expected an attribute name after '.', got %s",
                            tok_desc(k));
            }
        } else if (skip_op(P, "[")) {
            if (!enter(P))
                return NULL;
            n = parse_subscript(P, n, t->line);
            P->depth--;
        } else if (is_op(P, "(")) {
            jnode *c = node(P, JN_CALL, t->line);
            if (!c)
                return NULL;
            c->a = n;
            if (!enter(P) || !parse_args(P, c))
                return NULL;
            P->depth--;
            n = c;
        } else {
            break;
        }
    }
    return n;
}

/* ( ... ): a parenthesized expression or a tuple. */
static jnode *parse_paren(parser *P, int line)
{
    jnode *tup = node(P, JN_TUPLE, line);
    if (!tup)
        return NULL;
    bool comma = false;
    while (!is_op(P, ")")) {
        if (tup->args.n) {
            if (!expect_op(P, ",", "between tuple items"))
                return NULL;
            comma = true;
            if (is_op(P, ")"))
                break;
        }
        if (!nodes_push(P, &tup->args, parse_expr(P)))
            return NULL;
    }
    adv(P);
    if (tup->args.n == 1 && !comma)
        return tup->args.v[0];
    return tup;
}

static jnode *parse_list_or_dict(parser *P, bool dict, int line)
{
    jnode *n = node(P, dict ? JN_DICT : JN_LIST, line);
    if (!n)
        return NULL;
    const char *close = dict ? "}" : "]";
    size_t items = 0;
    while (!is_op(P, close)) {
        if (items && !expect_op(P, ",", dict ? "between dict items" : "between list items"))
            return NULL;
        if (is_op(P, close))
            break;
        if (!nodes_push(P, &n->args, parse_expr(P)))
            return NULL;
        if (dict) {
            if (!expect_op(P, ":", "after a dict key") || !nodes_push(P, &n->args, parse_expr(P)))
                return NULL;
        }
        items++;
    }
    adv(P);
    return n;
}

static jnode *parse_primary(parser *P)
{
    jtok *t = cur(P);
    jnode *n = NULL;
    if (!enter(P))
        return NULL;
    switch (t->type) {
    case JT_NAME:
        n = node(P, JN_LIT, t->line);
        if (!n)
            break;
        if (!strcmp(t->s, "true") || !strcmp(t->s, "True"))
            n->lit = jv_bool(true);
        else if (!strcmp(t->s, "false") || !strcmp(t->s, "False"))
            n->lit = jv_bool(false);
        else if (!strcmp(t->s, "none") || !strcmp(t->s, "None"))
            n->lit = jv_none();
        else {
            n->kind = JN_NAME;
            n->name = t->s;
        }
        adv(P);
        break;
    case JT_STRING: {
        /* adjacent literals concatenate: "a" "b" */
        size_t total = 0, k = 0;
        while (peek(P, k)->type == JT_STRING)
            total += peek(P, k++)->len;
        char *s = jarena_alloc(P->a, total + 1);
        n = node(P, JN_LIT, t->line);
        if (!s || !n)
            return perr(P, t->line, "out of memory");
        size_t off = 0;
        while (cur(P)->type == JT_STRING) {
            memcpy(s + off, cur(P)->s, cur(P)->len);
            off += cur(P)->len;
            adv(P);
        }
        n->lit = jv_strn(P->a, s, total);
        break;
    }
    case JT_INT:
        if ((n = node(P, JN_LIT, t->line)))
            n->lit = jv_int(t->i);
        adv(P);
        break;
    case JT_FLOAT:
        if ((n = node(P, JN_LIT, t->line)))
            n->lit = jv_float(t->f);
        adv(P);
        break;
    case JT_OP:
        if (skip_op(P, "("))
            n = parse_paren(P, t->line);
        else if (skip_op(P, "["))
            n = parse_list_or_dict(P, false, t->line);
        else if (skip_op(P, "{"))
            n = parse_list_or_dict(P, true, t->line);
        else
            n = perr(P, t->line, "unexpected '%s'", t->s);
        break;
    default:
        n = perr(P, t->line, "unexpected %s, expected an expression", tok_desc(t));
    }
    P->depth--;
    return n;
}

static jnode *parse_unary(parser *P, bool with_filter)
{
    jtok *t = cur(P);
    jnode *n;
    if (!enter(P))
        return NULL;
    if (is_op(P, "-") || is_op(P, "+")) {
        n = node(P, is_op(P, "-") ? JN_NEG : JN_POS, t->line);
        adv(P);
        if (n && !(n->a = parse_unary(P, false)))
            n = NULL;
    } else {
        n = parse_primary(P);
    }
    n = parse_postfix(P, n);
    if (with_filter)
        n = parse_filter_expr(P, n);
    P->depth--;
    return n;
}

static jnode *binop(parser *P, jn_kind k, const char *op, jnode *l, jnode *r, int line)
{
    if (!l || !r)
        return NULL;
    jnode *n = node(P, k, line);
    if (n) {
        n->name = op;
        n->a = l;
        n->b = r;
    }
    return n;
}

static jnode *parse_pow(parser *P)
{
    jnode *l = parse_unary(P, true);
    while (l && is_op(P, "**")) {
        int line = cur(P)->line;
        adv(P);
        l = binop(P, JN_BINOP, "**", l, parse_unary(P, true), line);
    }
    return l;
}

static jnode *parse_math2(parser *P)
{
    jnode *l = parse_pow(P);
    while (l && (is_op(P, "*") || is_op(P, "/") || is_op(P, "//") || is_op(P, "%"))) {
        const char *op = cur(P)->s;
        int line = cur(P)->line;
        adv(P);
        l = binop(P, JN_BINOP, op, l, parse_pow(P), line);
    }
    return l;
}

static jnode *parse_concat(parser *P)
{
    jnode *l = parse_math2(P);
    while (l && is_op(P, "~")) {
        int line = cur(P)->line;
        adv(P);
        l = binop(P, JN_CONCAT, "~", l, parse_math2(P), line);
    }
    return l;
}

static jnode *parse_math1(parser *P)
{
    jnode *l = parse_concat(P);
    while (l && (is_op(P, "+") || is_op(P, "-"))) {
        const char *op = cur(P)->s;
        int line = cur(P)->line;
        adv(P);
        l = binop(P, JN_BINOP, op, l, parse_concat(P), line);
    }
    return l;
}

static jnode *parse_compare(parser *P)
{
    jnode *l = parse_math1(P);
    if (!l)
        return NULL;
    jnode *cmp = NULL;
    for (;;) {
        const char *op = NULL;
        jtok *t = cur(P);
        if (t->type == JT_OP && (!strcmp(t->s, "==") || !strcmp(t->s, "!=") || !strcmp(t->s, "<")
                                 || !strcmp(t->s, ">") || !strcmp(t->s, "<=")
                                 || !strcmp(t->s, ">="))) {
            op = t->s;
            adv(P);
        } else if (is_name(P, "in")) {
            op = "in";
            adv(P);
        } else if (is_name(P, "not") && peek(P, 1)->type == JT_NAME
                   && !strcmp(peek(P, 1)->s, "in")) {
            op = "not in";
            adv(P);
            adv(P);
        } else {
            break;
        }
        if (!cmp) {
            cmp = node(P, JN_COMPARE, t->line);
            if (!cmp)
                return NULL;
            cmp->a = l;
        }
        jnode *r = parse_math1(P);
        if (!r || !names_set(P, &cmp->ops, cmp->args.n, 0, op) || !nodes_push(P, &cmp->args, r))
            return NULL;
    }
    return cmp ? cmp : l;
}

static jnode *parse_not(parser *P)
{
    if (is_name(P, "not")) {
        jnode *n = node(P, JN_NOT, cur(P)->line);
        adv(P);
        if (!n || !enter(P))
            return NULL;
        n->a = parse_not(P);
        P->depth--;
        return n->a ? n : NULL;
    }
    return parse_compare(P);
}

static jnode *parse_and(parser *P)
{
    jnode *l = parse_not(P);
    while (l && is_name(P, "and")) {
        int line = cur(P)->line;
        adv(P);
        l = binop(P, JN_AND, "and", l, parse_not(P), line);
    }
    return l;
}

static jnode *parse_or(parser *P)
{
    jnode *l = parse_and(P);
    while (l && is_name(P, "or")) {
        int line = cur(P)->line;
        adv(P);
        l = binop(P, JN_OR, "or", l, parse_and(P), line);
    }
    return l;
}

static jnode *parse_expr(parser *P)
{
    if (!enter(P))
        return NULL;
    jnode *l = parse_or(P);
    while (l && is_name(P, "if")) {
        jnode *c = node(P, JN_COND, cur(P)->line);
        adv(P);
        if (!c)
            return NULL;
        c->b = l;                       /* value when true */
        if (!(c->a = parse_or(P)))      /* condition */
            return NULL;
        if (skip_name(P, "else") && !(c->c = parse_expr(P)))
            return NULL;
        l = c;
    }
    P->depth--;
    return l;
}

/* An expression list without parentheses (`set a = 1, 2`, `for x in a, b`) is a tuple. */
static jnode *parse_tuple_expr(parser *P, bool with_condexpr)
{
    int line = cur(P)->line;
    jnode *first = with_condexpr ? parse_expr(P) : parse_or(P);
    if (!first || !is_op(P, ","))
        return first;
    jnode *tup = node(P, JN_TUPLE, line);
    if (!tup || !nodes_push(P, &tup->args, first))
        return NULL;
    while (skip_op(P, ",")) {
        if (cur(P)->type == JT_BLOCK_END || cur(P)->type == JT_VAR_END)
            break;
        if (!nodes_push(P, &tup->args, with_condexpr ? parse_expr(P) : parse_or(P)))
            return NULL;
    }
    return tup;
}

/* ---- statements ------------------------------------------------------------------------- */
static bool parse_body(parser *P, const char *const *ends, jnodes *out, const char *opener,
                       int open_line);

static bool parse_targets(parser *P, jnode *n, const char *tag)
{
    bool paren = skip_op(P, "(");
    do {
        jtok *t = cur(P);
        if (t->type != JT_NAME)
            return perr(P, t->line, "expected a variable name in {%% %s %%}, got %s", tag,
                        tok_desc(t)), false;
        if (!names_set(P, &n->targets, n->ntargets, 0, t->s))
            return false;
        n->ntargets++;
        adv(P);
    } while (skip_op(P, ","));
    return !paren || expect_op(P, ")", "to close the targets");
}

static jnode *parse_if(parser *P, int line, const char *tag)
{
    jnode *n = node(P, JN_IF, line);
    /* jinja2 parses the test with with_condexpr=False: `{% if a if b %}` is an error */
    if (!n || !(n->a = parse_tuple_expr(P, false)) || !expect_block_end(P, tag))
        return NULL;
    static const char *const ends[] = {"elif", "else", "endif", NULL};
    if (!parse_body(P, ends, &n->body, "if", line))
        return NULL;
    /* at the block tag that ended the body: cur is its name */
    jtok *t = cur(P);
    adv(P);
    if (!strcmp(t->s, "elif")) {
        jnode *e = parse_if(P, t->line, "elif");
        if (!e || !nodes_push(P, &n->else_body, e))
            return NULL;
        return n;   /* the nested if consumed the endif */
    }
    if (!strcmp(t->s, "else")) {
        static const char *const ends2[] = {"endif", NULL};
        if (!expect_block_end(P, "else") || !parse_body(P, ends2, &n->else_body, "if", line))
            return NULL;
        adv(P);
    }
    return expect_block_end(P, "endif") ? n : NULL;
}

static jnode *parse_for(parser *P, int line)
{
    jnode *n = node(P, JN_FOR, line);
    if (!n || !parse_targets(P, n, "for"))
        return NULL;
    if (!skip_name(P, "in"))
        return perr(P, cur(P)->line, "expected 'in' in {%% for %%}, got %s", tok_desc(cur(P)));
    if (!(n->a = parse_tuple_expr(P, false)))
        return NULL;
    if (skip_name(P, "if") && !(n->b = parse_expr(P)))
        return NULL;
    if (is_name(P, "recursive"))
        return perr(P, cur(P)->line, "recursive for loops are not supported");
    if (!expect_block_end(P, "for"))
        return NULL;
    static const char *const ends[] = {"else", "endfor", NULL};
    P->loops++;
    bool ok = parse_body(P, ends, &n->body, "for", line);
    P->loops--;
    if (!ok)
        return NULL;
    if (skip_name(P, "else")) {
        static const char *const ends2[] = {"endfor", NULL};
        if (!expect_block_end(P, "else") || !parse_body(P, ends2, &n->else_body, "for", line))
            return NULL;
    }
    adv(P);   /* endfor */
    return expect_block_end(P, "endfor") ? n : NULL;
}

static jnode *parse_set(parser *P, int line)
{
    jtok *t = cur(P);
    if (t->type != JT_NAME)
        return perr(P, t->line, "expected a variable name after {%% set, got %s", tok_desc(t));
    if (peek(P, 1)->type == JT_OP && !strcmp(peek(P, 1)->s, ".")) {
        jnode *n = node(P, JN_SET_ATTR, line);
        if (!n)
            return NULL;
        n->name = t->s;
        adv(P);
        adv(P);
        if (cur(P)->type != JT_NAME)
            return perr(P, cur(P)->line, "expected an attribute name in {%% set %s.", t->s);
        if (!names_set(P, &n->targets, 0, 0, cur(P)->s))
            return NULL;
        n->ntargets = 1;
        adv(P);
        if (!expect_op(P, "=", "in {% set %}") || !(n->a = parse_tuple_expr(P, true)))
            return NULL;
        return expect_block_end(P, "set") ? n : NULL;
    }
    jnode *n = node(P, JN_SET, line);
    if (!n || !parse_targets(P, n, "set"))
        return NULL;
    if (skip_op(P, "=")) {
        if (!(n->a = parse_tuple_expr(P, true)))
            return NULL;
        return expect_block_end(P, "set") ? n : NULL;
    }
    /* block set: {% set x %}...{% endset %}, optionally {% set x | filter %} */
    if (n->ntargets != 1)
        return perr(P, line, "a block {%% set %%} takes one variable name");
    n->kind = JN_SET_BLOCK;
    n->name = n->targets[0];
    jnode *f = NULL;
    while (skip_op(P, "|"))
        if (!(f = parse_filter(P, f)))
            return NULL;
    n->b = f;
    if (!expect_block_end(P, "set"))
        return NULL;
    static const char *const ends[] = {"endset", NULL};
    if (!parse_body(P, ends, &n->body, "set", line))
        return NULL;
    adv(P);
    return expect_block_end(P, "endset") ? n : NULL;
}

/* Parameter list of {% macro name(a, b=1) %} or {% call(x) ... %}. */
static bool parse_params(parser *P, jnode *n)
{
    if (!skip_op(P, "("))
        return true;
    while (!is_op(P, ")")) {
        if (n->args.n && !expect_op(P, ",", "between macro parameters"))
            return false;
        jtok *t = cur(P);
        if (t->type != JT_NAME)
            return perr(P, t->line, "expected a parameter name, got %s", tok_desc(t)), false;
        adv(P);
        jnode *def = NULL;
        if (skip_op(P, "=") && !(def = parse_expr(P)))
            return false;
        if (!def && !(def = node(P, JN_LIT, t->line)))
            return false;
        if (def->kind == JN_LIT && !def->lit.type && def->lit.u.s == NULL)
            def->lit = jv_undef();   /* no default: Undefined */
        if (!names_set(P, &n->kw, n->args.n, 0, t->s) || !nodes_push(P, &n->args, def))
            return false;
    }
    adv(P);
    return true;
}

static jnode *parse_macro(parser *P, int line)
{
    jtok *t = cur(P);
    if (t->type != JT_NAME)
        return perr(P, t->line, "expected a macro name, got %s", tok_desc(t));
    jnode *n = node(P, JN_MACRO, line);
    if (!n)
        return NULL;
    n->name = t->s;
    adv(P);
    if (!is_op(P, "("))
        return perr(P, cur(P)->line, "expected '(' after {%% macro %s", n->name);
    if (!parse_params(P, n) || !expect_block_end(P, "macro"))
        return NULL;
    static const char *const ends[] = {"endmacro", NULL};
    int saved = P->loops;
    P->loops = 0;
    bool ok = parse_body(P, ends, &n->body, "macro", line);
    P->loops = saved;
    if (!ok)
        return NULL;
    adv(P);
    if (cur(P)->type == JT_NAME)   /* {% endmacro name %} */
        adv(P);
    return expect_block_end(P, "endmacro") ? n : NULL;
}

static jnode *parse_call_block(parser *P, int line)
{
    jnode *n = node(P, JN_CALL_BLOCK, line);
    if (!n || !parse_params(P, n))
        return NULL;
    n->a = parse_expr(P);
    if (!n->a)
        return NULL;
    if (n->a->kind != JN_CALL)
        return perr(P, line, "expected a macro call in {%% call %%}");
    if (!expect_block_end(P, "call"))
        return NULL;
    static const char *const ends[] = {"endcall", NULL};
    if (!parse_body(P, ends, &n->body, "call", line))
        return NULL;
    adv(P);
    return expect_block_end(P, "endcall") ? n : NULL;
}

static jnode *parse_filter_block(parser *P, int line)
{
    jnode *n = node(P, JN_FILTER_BLOCK, line);
    if (!n)
        return NULL;
    jnode *f = NULL;
    do {
        if (!(f = parse_filter(P, f)))
            return NULL;
    } while (skip_op(P, "|"));
    n->a = f;
    if (!expect_block_end(P, "filter"))
        return NULL;
    static const char *const ends[] = {"endfilter", NULL};
    if (!parse_body(P, ends, &n->body, "filter", line))
        return NULL;
    adv(P);
    return expect_block_end(P, "endfilter") ? n : NULL;
}

static jnode *parse_statement(parser *P)
{
    int line = cur(P)->line;
    adv(P);   /* {% */
    jtok *t = cur(P);
    if (t->type != JT_NAME)
        return perr(P, t->line, "expected a tag name after '{%%', got %s", tok_desc(t));
    const char *tag = t->s;
    adv(P);
    if (!strcmp(tag, "if"))
        return parse_if(P, line, "if");
    if (!strcmp(tag, "for"))
        return parse_for(P, line);
    if (!strcmp(tag, "set"))
        return parse_set(P, line);
    if (!strcmp(tag, "macro"))
        return parse_macro(P, line);
    if (!strcmp(tag, "call"))
        return parse_call_block(P, line);
    if (!strcmp(tag, "filter"))
        return parse_filter_block(P, line);
    if (!strcmp(tag, "break") || !strcmp(tag, "continue")) {
        if (!P->loops)
            return perr(P, line, "'%s' outside of a {%% for %%} loop", tag);
        jnode *n = node(P, !strcmp(tag, "break") ? JN_BREAK : JN_CONTINUE, line);
        return n && expect_block_end(P, tag) ? n : NULL;
    }
    if (!strcmp(tag, "generation")) {   /* HF's AssistantTracker: a transparent block */
        jnode *n = node(P, JN_GENERATION, line);
        static const char *const ends[] = {"endgeneration", NULL};
        if (!n || !expect_block_end(P, tag) || !parse_body(P, ends, &n->body, tag, line))
            return NULL;
        adv(P);
        return expect_block_end(P, "endgeneration") ? n : NULL;
    }
    return perr(P, line, "Encountered unknown tag '%s'", tag);
}

/* Statements until a block tag named in ends (left with cur() at that name) or EOF. */
static bool parse_body(parser *P, const char *const *ends, jnodes *out, const char *opener,
                       int open_line)
{
    if (!enter(P))
        return false;
    for (;;) {
        jtok *t = cur(P);
        jnode *n = NULL;
        switch (t->type) {
        case JT_EOF:
            if (ends && ends[0]) {
                perr(P, open_line, "{%% %s %%} is never closed (expected {%% %s %%} before the "
                     "end of the template)", opener, ends[ends[1] ? (ends[2] ? 2 : 1) : 0]);
                return false;
            }
            P->depth--;
            return true;
        case JT_TEXT:
            n = node(P, JN_TEXT, t->line);
            if (n)
                n->lit = jv_strn(P->a, t->s, t->len);
            adv(P);
            break;
        case JT_VAR_BEGIN:
            adv(P);
            n = node(P, JN_OUTPUT, t->line);
            if (!n || !(n->a = parse_tuple_expr(P, true)))
                return false;
            if (cur(P)->type != JT_VAR_END) {
                perr(P, cur(P)->line, "expected end of print statement '}}', got %s",
                     tok_desc(cur(P)));
                return false;
            }
            adv(P);
            break;
        case JT_BLOCK_BEGIN: {
            jtok *name = peek(P, 1);
            if (name->type == JT_NAME && ends) {
                for (int k = 0; ends[k]; k++)
                    if (!strcmp(name->s, ends[k])) {
                        adv(P);
                        P->depth--;
                        return true;
                    }
            }
            if (name->type == JT_NAME && (!strncmp(name->s, "end", 3) || !strcmp(name->s, "elif")
                                          || !strcmp(name->s, "else"))) {
                if (opener)
                    perr(P, name->line, "unexpected {%% %s %%} inside {%% %s %%} opened at line %d",
                         name->s, opener, open_line);
                else
                    perr(P, name->line, "unexpected {%% %s %%} with no open block", name->s);
                return false;
            }
            n = parse_statement(P);
            break;
        }
        default:
            perr(P, t->line, "unexpected %s", tok_desc(t));
            return false;
        }
        if (!n || !nodes_push(P, out, n))
            return false;
    }
}

bool jinja_parse(jarena *a, const jtoks *toks, jnodes *out, char *err, size_t errlen)
{
    parser P = {a, toks, 0, err, errlen, 0, 0, false};
    memset(out, 0, sizeof *out);
    return parse_body(&P, NULL, out, NULL, 0) && !P.failed;
}
