/* jtests.c - jinja2's built-in tests (`x is defined`, `n is divisibleby(3)`, ...), as
 * jinja2/tests.py defines them; split from jfilters.c. */
#include "template/jeval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool cmp_test(ev *E, const jnode *n, jv a, const jargs *A, const char *op, bool *out)
{
    jv b;
    if (!jarg(A, 0, NULL, &b))
        return ev_fail(E, n, "test '%s' needs an argument", op);
    if (!strcmp(op, "==")) {
        *out = jv_equal(a, b, 0);
        return true;
    }
    if (!strcmp(op, "!=")) {
        *out = !jv_equal(a, b, 0);
        return true;
    }
    int c;
    if (!ev_compare(E, n, a, b, &c))
        return false;
    *out = !strcmp(op, "<") ? c < 0 : !strcmp(op, "<=") ? c <= 0 : !strcmp(op, ">") ? c > 0 : c >= 0;
    return true;
}

static const char *const test_names[] = {
    "defined", "undefined", "none", "boolean", "true", "false", "integer", "float", "number",
    "string", "mapping", "iterable", "sequence", "callable", "sameas", "escaped", "lower",
    "upper", "odd", "even", "divisibleby", "eq", "equalto", "==", "ne", "!=", "lt", "lessthan",
    "<", "le", "<=", "gt", "greaterthan", ">", "ge", ">=", "in", "filter", "test", NULL};

bool jf_test_exists(const char *name)
{
    for (int i = 0; test_names[i]; i++)
        if (!strcmp(test_names[i], name))
            return true;
    return false;
}

/* Tests that take only the value: jinja2 calls them as Python functions, so an extra
 * argument (as in `x is boolean not in y`) is a TypeError. */
static const char *const unary_tests[] = {
    "defined", "undefined", "none", "boolean", "true", "false", "integer", "float", "number",
    "string", "mapping", "iterable", "sequence", "callable", "escaped", "lower", "upper", "odd",
    "even", "filter", "test", NULL};

bool jf_test(ev *E, const jnode *n, const char *t, jv v, const jargs *A, bool *out)
{
    jv x;
    for (int i = 0; unary_tests[i]; i++)
        if (!strcmp(unary_tests[i], t) && A->npos + A->nkw > 0)
            return ev_fail(E, n, "test_%s() takes 1 positional argument but %zu were given", t,
                           1 + A->npos + A->nkw);
    if (!strcmp(t, "defined")) *out = v.type != JV_UNDEF;
    else if (!strcmp(t, "undefined")) *out = v.type == JV_UNDEF;
    else if (!strcmp(t, "none")) *out = v.type == JV_NONE;
    else if (!strcmp(t, "boolean")) *out = v.type == JV_BOOL;
    else if (!strcmp(t, "true")) *out = v.type == JV_BOOL && v.u.b;
    else if (!strcmp(t, "false")) *out = v.type == JV_BOOL && !v.u.b;
    else if (!strcmp(t, "integer")) *out = v.type == JV_INT;
    else if (!strcmp(t, "float")) *out = v.type == JV_FLOAT;
    else if (!strcmp(t, "number")) *out = jv_is_num(v);
    else if (!strcmp(t, "string")) *out = v.type == JV_STR;
    else if (!strcmp(t, "mapping")) *out = v.type == JV_DICT;
    /* Undefined has __iter__ and __len__ in jinja2, so it counts as iterable */
    else if (!strcmp(t, "iterable")) *out = v.type == JV_STR || v.type == JV_LIST
                                            || v.type == JV_DICT || v.type == JV_UNDEF;
    else if (!strcmp(t, "sequence")) *out = v.type == JV_STR || (v.type == JV_LIST && !v.gen)
                                            || v.type == JV_DICT || v.type == JV_UNDEF;
    else if (!strcmp(t, "callable")) *out = v.type == JV_MACRO || v.type == JV_FUNC
                                            || v.type == JV_METHOD;
    else if (!strcmp(t, "escaped")) *out = v.safe;
    else if (!strcmp(t, "sameas")) {
        if (!jarg(A, 0, "other", &x))
            return ev_fail(E, n, "test 'sameas' needs an argument");
        /* `is` identity: same singleton or same container */
        *out = v.type == x.type && (v.type == JV_NONE || v.type == JV_UNDEF
                                    || (v.type == JV_BOOL && v.u.b == x.u.b)
                                    || ((v.type == JV_LIST || v.type == JV_DICT) && v.u.l == x.u.l)
                                    || (v.type == JV_INT && v.u.i == x.u.i));
    } else if (!strcmp(t, "lower") || !strcmp(t, "upper")) {
        if (!jf_need_str(E, n, t, v, &v))   /* jinja2: str(value).islower() */
            return false;
        /* str.islower(): no upper-case letter and at least one cased one */
        jv m = jf_casemap(E, v, t[0] == 'l' ? 'l' : 'u'), o = jf_casemap(E, v, t[0] == 'l' ? 'u' : 'l');
        *out = m.type == JV_STR && o.type == JV_STR && jv_equal(m, v, 0) && !jv_equal(o, v, 0);
    } else if (!strcmp(t, "odd") || !strcmp(t, "even")) {
        if (!jv_is_num(v))
            return ev_fail(E, n, "unsupported operand type(s) for %%: '%s' and 'int'",
                           jv_type_name(v));
        if (v.type == JV_FLOAT)
            *out = (fabs(fmod(v.u.f, 2.0)) == 1.0) == (t[0] == 'o');
        else
            *out = (((v.type == JV_INT ? v.u.i : v.u.b) % 2) != 0) == (t[0] == 'o');
    } else if (!strcmp(t, "divisibleby")) {
        if (!jarg(A, 0, "num", &x) || !jv_is_num(x) || !jv_is_num(v))
            return ev_fail(E, n, "test 'divisibleby' needs numbers");
        if (jv_num(x) == 0)
            return ev_fail(E, n, "integer division or modulo by zero");
        if (x.type != JV_FLOAT && v.type != JV_FLOAT) {
            int64_t a = v.type == JV_INT ? v.u.i : v.u.b, b = x.type == JV_INT ? x.u.i : x.u.b;
            *out = b == -1 || a % b == 0;
        } else {
            *out = fmod(jv_num(v), jv_num(x)) == 0;
        }
    } else if (!strcmp(t, "eq") || !strcmp(t, "equalto") || !strcmp(t, "=="))
        return cmp_test(E, n, v, A, "==", out);
    else if (!strcmp(t, "ne") || !strcmp(t, "!="))
        return cmp_test(E, n, v, A, "!=", out);
    else if (!strcmp(t, "lt") || !strcmp(t, "lessthan") || !strcmp(t, "<"))
        return cmp_test(E, n, v, A, "<", out);
    else if (!strcmp(t, "le") || !strcmp(t, "<="))
        return cmp_test(E, n, v, A, "<=", out);
    else if (!strcmp(t, "gt") || !strcmp(t, "greaterthan") || !strcmp(t, ">"))
        return cmp_test(E, n, v, A, ">", out);
    else if (!strcmp(t, "ge") || !strcmp(t, ">="))
        return cmp_test(E, n, v, A, ">=", out);
    else if (!strcmp(t, "in")) {
        if (!jarg(A, 0, "seq", &x))
            return ev_fail(E, n, "test 'in' needs an argument");
        jlist *l;
        if (x.type == JV_STR) {
            *out = v.type == JV_STR && memmem(x.u.s->s, x.u.s->len, v.u.s->s, v.u.s->len);
            return true;
        }
        if (x.type == JV_DICT) {
            *out = jv_dict_get(x.u.d, v) != NULL;
            return true;
        }
        if (!ev_iterate(E, n, x, &l))
            return false;
        *out = false;
        for (size_t i = 0; i < l->n && !*out; i++)
            *out = jv_equal(v, l->v[i], 0);
    } else if (!strcmp(t, "filter") || !strcmp(t, "test")) {
        *out = v.type == JV_STR && (t[0] == 'f' ? jf_filter_exists(v.u.s->s)
                                                : jf_test_exists(v.u.s->s));
    } else
        return ev_fail(E, n, "No test named '%s'.", t);
    return true;
}
