/* jparse.c - Jinja2 parser: tokens -> AST.
 *
 * The expression grammar follows jinja2/parser.py, lowest to highest precedence:
 *   condexpr (a if b else c) < or < and < not < compare (== != < <= > >= in, not in)
 *   < + - < ~ < * / // % < ** < unary - + < primary with postfix (. [] ()) and filters/tests
 * so `a + b | trim` filters only b, and `not x is defined` is not (x is defined).
 * Statements and the entry point (jinja_parse) are in jstmt.c; jparse.h is what they share.
 */
#include "template/jparse.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>


jtok *jp_cur(parser *P) { return &P->t->t[P->i]; }
jtok *jp_peek(parser *P, size_t k)
{
    size_t j = P->i + k;
    return &P->t->t[j < P->t->n ? j : P->t->n - 1];
}
void jp_adv(parser *P)
{
    if (P->i + 1 < P->t->n)
        P->i++;
}

const char *jp_tok_desc(const jtok *t)
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

void *jp_perr(parser *P, int line, const char *fmt, ...)
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

bool jp_is_op(parser *P, const char *op)
{
    jtok *t = jp_cur(P);
    return t->type == JT_OP && strcmp(t->s, op) == 0;
}
bool jp_is_name(parser *P, const char *name)
{
    jtok *t = jp_cur(P);
    return t->type == JT_NAME && strcmp(t->s, name) == 0;
}
bool jp_skip_op(parser *P, const char *op)
{
    if (!jp_is_op(P, op))
        return false;
    jp_adv(P);
    return true;
}
bool jp_skip_name(parser *P, const char *name)
{
    if (!jp_is_name(P, name))
        return false;
    jp_adv(P);
    return true;
}
bool jp_expect_op(parser *P, const char *op, const char *where)
{
    if (jp_skip_op(P, op))
        return true;
    jp_perr(P, jp_cur(P)->line, "expected '%s' %s, got %s", op, where, jp_tok_desc(jp_cur(P)));
    return false;
}
bool jp_expect_block_end(parser *P, const char *tag)
{
    if (jp_cur(P)->type == JT_BLOCK_END) {
        jp_adv(P);
        return true;
    }
    jp_perr(P, jp_cur(P)->line, "expected end of statement block '%%}' after {%% %s %%}, got %s",
            tag, jp_tok_desc(jp_cur(P)));
    return false;
}

jnode *jp_node(parser *P, jn_kind k, int line)
{
    jnode *n = llmri_arena_alloc(P->a, sizeof *n);
    if (!n)
        return jp_perr(P, line, "out of memory");
    n->kind = k;
    n->line = line;
    return n;
}

bool jp_nodes_push(parser *P, jnodes *ns, jnode *n)
{
    if (!n)
        return false;
    if (!llmri_arena_grow(P->a, &ns->v, &ns->cap, ns->n, ns->n + 1, sizeof *ns->v)) {
        jp_perr(P, n->line, "out of memory");
        return false;
    }
    ns->v[ns->n++] = n;
    return true;
}

/* Parallel array of names (keyword names, parameters, targets) sized with its node list. */
bool jp_names_set(parser *P, const char ***arr, size_t idx, size_t cap, const char *name)
{
    if (!*arr || idx % 16 == 0) {
        const char **p = llmri_arena_alloc(P->a, (idx + 16 > cap ? idx + 16 : cap) * sizeof *p);
        if (!p) {
            jp_perr(P, jp_cur(P)->line, "out of memory");
            return false;
        }
        if (*arr && idx)
            memcpy(p, *arr, idx * sizeof *p);
        *arr = p;
    }
    (*arr)[idx] = name;
    return true;
}

static jnode *parse_or(parser *P);
static jnode *parse_unary(parser *P, bool with_filter);
static jnode *parse_primary(parser *P);
static jnode *parse_postfix(parser *P, jnode *n);

bool jp_enter(parser *P)
{
    if (++P->depth > JINJA_MAX_NESTING) {
        jp_perr(P, jp_cur(P)->line, "nesting deeper than %d levels", JINJA_MAX_NESTING);
        return false;
    }
    return true;
}

/* Arguments of a call, filter or test: positional then keyword (name=value). */
static bool parse_args(parser *P, jnode *n)
{
    if (!jp_expect_op(P, "(", "to start the argument list"))
        return false;
    while (!jp_is_op(P, ")")) {
        if (n->args.n && !jp_expect_op(P, ",", "between arguments"))
            return false;
        if (jp_is_op(P, ")"))
            break;
        const char *kw = NULL;
        if (jp_cur(P)->type == JT_NAME && jp_peek(P, 1)->type == JT_OP &&
            !strcmp(jp_peek(P, 1)->s, "=")) {
            kw = jp_cur(P)->s;
            jp_adv(P);
            jp_adv(P);
        } else if (jp_is_op(P, "*") || jp_is_op(P, "**")) {
            jp_perr(P, jp_cur(P)->line, "*args and **kwargs in calls are not supported");
            return false;
        }
        jnode *e = jp_parse_expr(P);
        if (!e || !jp_names_set(P, &n->kw, n->args.n, 0, kw) || !jp_nodes_push(P, &n->args, e))
            return false;
    }
    jp_adv(P);
    return true;
}

jnode *jp_parse_filter(parser *P, jnode *input)
{
    jtok *t = jp_cur(P);
    if (t->type != JT_NAME)
        return jp_perr(P, t->line, "expected a filter name after '|', got %s", jp_tok_desc(t));
    jnode *f = jp_node(P, JN_FILTER, t->line);
    if (!f)
        return NULL;
    f->name = t->s;
    f->a = input;
    jp_adv(P);
    while (jp_is_op(P, ".") && jp_peek(P, 1)->type == JT_NAME) {   /* dotted filter names */
        jp_adv(P);
        jp_adv(P);
    }
    if (jp_is_op(P, "(") && !parse_args(P, f))
        return NULL;
    return f;
}

static jnode *parse_test(parser *P, jnode *input)
{
    jnode *tn = jp_node(P, JN_TEST, jp_cur(P)->line);
    if (!tn)
        return NULL;
    tn->a = input;
    tn->test_negated = jp_skip_name(P, "not");
    jtok *t = jp_cur(P);
    if (t->type != JT_NAME)
        return jp_perr(P, t->line, "expected a test name after 'is', got %s", jp_tok_desc(t));
    tn->name = t->s;
    jp_adv(P);
    t = jp_cur(P);
    if (jp_is_op(P, "(")) {
        if (!parse_args(P, tn))
            return NULL;
    } else if ((t->type == JT_NAME || t->type == JT_STRING || t->type == JT_INT
                || t->type == JT_FLOAT || jp_is_op(P, "[") || jp_is_op(P, "{"))
               && !jp_is_name(P, "else") && !jp_is_name(P, "or") && !jp_is_name(P, "and")) {
        /* `x is divisibleby 3`, `x is sameas none`: one argument without parentheses */
        if (jp_is_name(P, "is"))
            return jp_perr(P, jp_cur(P)->line, "You cannot chain multiple tests with is");
        jnode *arg = parse_primary(P);
        if (!arg || !(arg = parse_postfix(P, arg)) || !jp_names_set(P, &tn->kw, 0, 0, NULL)
            || !jp_nodes_push(P, &tn->args, arg))
            return NULL;
    }
    return tn;
}

static jnode *parse_filter_expr(parser *P, jnode *n)
{
    while (n) {
        if (jp_skip_op(P, "|"))
            n = jp_parse_filter(P, n);
        else if (jp_skip_name(P, "is"))
            n = parse_test(P, n);
        else if (jp_is_op(P, "(")) {
            jnode *c = jp_node(P, JN_CALL, jp_cur(P)->line);
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
    if (!jp_is_op(P, ":"))
        parts[0] = jp_parse_expr(P);
    if (P->failed)
        return NULL;
    if (parts[0] && jp_is_op(P, ",")) {   /* x[a, b]: the key is a tuple */
        jnode *tup = jp_node(P, JN_TUPLE, line);
        if (!tup || !jp_nodes_push(P, &tup->args, parts[0]))
            return NULL;
        while (jp_skip_op(P, ",") && !jp_is_op(P, "]"))
            if (!jp_nodes_push(P, &tup->args, jp_parse_expr(P)))
                return NULL;
        parts[0] = tup;
    }
    if (jp_skip_op(P, ":")) {
        slice = true;
        if (!jp_is_op(P, "]") && !jp_is_op(P, ":"))
            parts[1] = jp_parse_expr(P);
        if (jp_skip_op(P, ":") && !jp_is_op(P, "]"))
            parts[2] = jp_parse_expr(P);
    }
    if (P->failed || !jp_expect_op(P, "]", "to close the subscript"))
        return NULL;
    jnode *n = jp_node(P, slice ? JN_SLICE : JN_ITEM, line);
    if (!n)
        return NULL;
    n->a = obj;
    if (slice) {
        n->b = parts[0];
        n->c = parts[1];
        if (parts[2]) {
            if (!jp_names_set(P, &n->kw, 0, 0, NULL) || !jp_nodes_push(P, &n->args, parts[2]))
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
        jtok *t = jp_cur(P);
        if (jp_skip_op(P, ".")) {
            jtok *k = jp_cur(P);
            if (k->type == JT_NAME) {
                jnode *at = jp_node(P, JN_ATTR, t->line);
                if (!at)
                    return NULL;
                at->a = n;
                at->name = k->s;
                jp_adv(P);
                n = at;
            } else if (k->type == JT_INT) {   /* x.0 is x[0] */
                jnode *it = jp_node(P, JN_ITEM, t->line), *lit = jp_node(P, JN_LIT, t->line);
                if (!it || !lit)
                    return NULL;
                lit->lit = jv_int(k->i);
                it->a = n;
                it->b = lit;
                jp_adv(P);
                n = it;
            } else {
                return jp_perr(P, k->line, "expected an attribute name after '.', got %s",
                            jp_tok_desc(k));
            }
        } else if (jp_skip_op(P, "[")) {
            if (!jp_enter(P))
                return NULL;
            n = parse_subscript(P, n, t->line);
            P->depth--;
        } else if (jp_is_op(P, "(")) {
            jnode *c = jp_node(P, JN_CALL, t->line);
            if (!c)
                return NULL;
            c->a = n;
            if (!jp_enter(P) || !parse_args(P, c))
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
    jnode *tup = jp_node(P, JN_TUPLE, line);
    if (!tup)
        return NULL;
    bool comma = false;
    while (!jp_is_op(P, ")")) {
        if (tup->args.n) {
            if (!jp_expect_op(P, ",", "between tuple items"))
                return NULL;
            comma = true;
            if (jp_is_op(P, ")"))
                break;
        }
        if (!jp_nodes_push(P, &tup->args, jp_parse_expr(P)))
            return NULL;
    }
    jp_adv(P);
    if (tup->args.n == 1 && !comma)
        return tup->args.v[0];
    return tup;
}

static jnode *parse_list_or_dict(parser *P, bool dict, int line)
{
    jnode *n = jp_node(P, dict ? JN_DICT : JN_LIST, line);
    if (!n)
        return NULL;
    const char *close = dict ? "}" : "]";
    size_t items = 0;
    while (!jp_is_op(P, close)) {
        if (items && !jp_expect_op(P, ",", dict ? "between dict items" : "between list items"))
            return NULL;
        if (jp_is_op(P, close))
            break;
        if (!jp_nodes_push(P, &n->args, jp_parse_expr(P)))
            return NULL;
        if (dict) {
            if (!jp_expect_op(P, ":", "after a dict key") ||
                !jp_nodes_push(P, &n->args, jp_parse_expr(P)))
                return NULL;
        }
        items++;
    }
    jp_adv(P);
    return n;
}

static jnode *parse_primary(parser *P)
{
    jtok *t = jp_cur(P);
    jnode *n = NULL;
    if (!jp_enter(P))
        return NULL;
    switch (t->type) {
    case JT_NAME:
        n = jp_node(P, JN_LIT, t->line);
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
        jp_adv(P);
        break;
    case JT_STRING: {
        /* adjacent literals concatenate: "a" "b" */
        size_t total = 0, k = 0;
        while (jp_peek(P, k)->type == JT_STRING)
            total += jp_peek(P, k++)->len;
        char *s = llmri_arena_alloc(P->a, total + 1);
        n = jp_node(P, JN_LIT, t->line);
        if (!s || !n)
            return jp_perr(P, t->line, "out of memory");
        size_t off = 0;
        while (jp_cur(P)->type == JT_STRING) {
            memcpy(s + off, jp_cur(P)->s, jp_cur(P)->len);
            off += jp_cur(P)->len;
            jp_adv(P);
        }
        n->lit = jv_strn(P->a, s, total);
        break;
    }
    case JT_INT:
        if ((n = jp_node(P, JN_LIT, t->line)))
            n->lit = jv_int(t->i);
        jp_adv(P);
        break;
    case JT_FLOAT:
        if ((n = jp_node(P, JN_LIT, t->line)))
            n->lit = jv_float(t->f);
        jp_adv(P);
        break;
    case JT_OP:
        if (jp_skip_op(P, "("))
            n = parse_paren(P, t->line);
        else if (jp_skip_op(P, "["))
            n = parse_list_or_dict(P, false, t->line);
        else if (jp_skip_op(P, "{"))
            n = parse_list_or_dict(P, true, t->line);
        else
            n = jp_perr(P, t->line, "unexpected '%s'", t->s);
        break;
    default:
        n = jp_perr(P, t->line, "unexpected %s, expected an expression", jp_tok_desc(t));
    }
    P->depth--;
    return n;
}

static jnode *parse_unary(parser *P, bool with_filter)
{
    jtok *t = jp_cur(P);
    jnode *n;
    if (!jp_enter(P))
        return NULL;
    if (jp_is_op(P, "-") || jp_is_op(P, "+")) {
        n = jp_node(P, jp_is_op(P, "-") ? JN_NEG : JN_POS, t->line);
        jp_adv(P);
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
    jnode *n = jp_node(P, k, line);
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
    while (l && jp_is_op(P, "**")) {
        int line = jp_cur(P)->line;
        jp_adv(P);
        l = binop(P, JN_BINOP, "**", l, parse_unary(P, true), line);
    }
    return l;
}

static jnode *parse_math2(parser *P)
{
    jnode *l = parse_pow(P);
    while (l && (jp_is_op(P, "*") || jp_is_op(P, "/") || jp_is_op(P, "//") || jp_is_op(P, "%"))) {
        const char *op = jp_cur(P)->s;
        int line = jp_cur(P)->line;
        jp_adv(P);
        l = binop(P, JN_BINOP, op, l, parse_pow(P), line);
    }
    return l;
}

static jnode *parse_concat(parser *P)
{
    jnode *l = parse_math2(P);
    while (l && jp_is_op(P, "~")) {
        int line = jp_cur(P)->line;
        jp_adv(P);
        l = binop(P, JN_CONCAT, "~", l, parse_math2(P), line);
    }
    return l;
}

static jnode *parse_math1(parser *P)
{
    jnode *l = parse_concat(P);
    while (l && (jp_is_op(P, "+") || jp_is_op(P, "-"))) {
        const char *op = jp_cur(P)->s;
        int line = jp_cur(P)->line;
        jp_adv(P);
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
        jtok *t = jp_cur(P);
        if (t->type == JT_OP && (!strcmp(t->s, "==") || !strcmp(t->s, "!=") || !strcmp(t->s, "<")
                                 || !strcmp(t->s, ">") || !strcmp(t->s, "<=")
                                 || !strcmp(t->s, ">="))) {
            op = t->s;
            jp_adv(P);
        } else if (jp_is_name(P, "in")) {
            op = "in";
            jp_adv(P);
        } else if (jp_is_name(P, "not") && jp_peek(P, 1)->type == JT_NAME
                   && !strcmp(jp_peek(P, 1)->s, "in")) {
            op = "not in";
            jp_adv(P);
            jp_adv(P);
        } else {
            break;
        }
        if (!cmp) {
            cmp = jp_node(P, JN_COMPARE, t->line);
            if (!cmp)
                return NULL;
            cmp->a = l;
        }
        jnode *r = parse_math1(P);
        if (!r || !jp_names_set(P, &cmp->ops, cmp->args.n, 0, op) ||
            !jp_nodes_push(P, &cmp->args, r))
            return NULL;
    }
    return cmp ? cmp : l;
}

static jnode *parse_not(parser *P)
{
    if (jp_is_name(P, "not")) {
        jnode *n = jp_node(P, JN_NOT, jp_cur(P)->line);
        jp_adv(P);
        if (!n || !jp_enter(P))
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
    while (l && jp_is_name(P, "and")) {
        int line = jp_cur(P)->line;
        jp_adv(P);
        l = binop(P, JN_AND, "and", l, parse_not(P), line);
    }
    return l;
}

static jnode *parse_or(parser *P)
{
    jnode *l = parse_and(P);
    while (l && jp_is_name(P, "or")) {
        int line = jp_cur(P)->line;
        jp_adv(P);
        l = binop(P, JN_OR, "or", l, parse_and(P), line);
    }
    return l;
}

jnode *jp_parse_expr(parser *P)
{
    if (!jp_enter(P))
        return NULL;
    jnode *l = parse_or(P);
    while (l && jp_is_name(P, "if")) {
        jnode *c = jp_node(P, JN_COND, jp_cur(P)->line);
        jp_adv(P);
        if (!c)
            return NULL;
        c->b = l;                       /* value when true */
        if (!(c->a = parse_or(P)))      /* condition */
            return NULL;
        if (jp_skip_name(P, "else") && !(c->c = jp_parse_expr(P)))
            return NULL;
        l = c;
    }
    P->depth--;
    return l;
}

/* An expression list without parentheses (`set a = 1, 2`, `for x in a, b`) is a tuple. */
jnode *jp_parse_tuple_expr(parser *P, bool with_condexpr)
{
    int line = jp_cur(P)->line;
    jnode *first = with_condexpr ? jp_parse_expr(P) : parse_or(P);
    if (!first || !jp_is_op(P, ","))
        return first;
    jnode *tup = jp_node(P, JN_TUPLE, line);
    if (!tup || !jp_nodes_push(P, &tup->args, first))
        return NULL;
    while (jp_skip_op(P, ",")) {
        if (jp_cur(P)->type == JT_BLOCK_END || jp_cur(P)->type == JT_VAR_END)
            break;
        if (!jp_nodes_push(P, &tup->args, with_condexpr ? jp_parse_expr(P) : parse_or(P)))
            return NULL;
    }
    return tup;
}
