/* jops.c - the binary operators: arithmetic with Python's int/float rules, string and list
 * concatenation and repetition, comparisons and `in`, split from jeval.c. */
#include "template/jeval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- operators -------------------------------------------------------------------------- */
static bool contains(ev *E, jnode *n, jv needle, jv hay, bool *out)
{
    switch (hay.type) {
    case JV_UNDEF:
        *out = false;
        return true;
    case JV_STR:
        if (needle.type != JV_STR)
            return ev_fail(E, n, "'in <string>' requires string as left operand, not %s",
                           jv_type_name(needle));
        *out = needle.u.s->len == 0 || memmem(hay.u.s->s, hay.u.s->len, needle.u.s->s,
                                              needle.u.s->len) != NULL;
        return true;
    case JV_LIST:
        if (hay.u.l->err)
            return ev_fail(E, n, "%s", hay.u.l->err->s);
        *out = false;
        for (size_t i = 0; i < hay.u.l->n && !*out; i++)
            *out = jv_equal(needle, hay.u.l->v[i], 0);
        return true;
    case JV_DICT: case JV_NS:
        if ((needle.type == JV_LIST && !needle.tuple) || needle.type == JV_DICT)
            return ev_fail(E, n, "unhashable type: '%s'", jv_type_name(needle));
        *out = jv_dict_get(hay.u.d, needle) != NULL;
        return true;
    default:
        return ev_fail(E, n, "argument of type '%s' is not iterable", jv_type_name(hay));
    }
}

bool ev_concat_str(ev *E, jnode *n, jv a, jv b, jv *out)
{
    size_t la = a.u.s->len, lb = b.u.s->len;
    if (la + lb > E->env->lim.max_output)
        return ev_fail(E, n, "string longer than the output limit (%zu bytes)",
                       E->env->lim.max_output);
    jv r = jv_strn(E->a, NULL, 0);
    jstr *s = llmri_arena_alloc(E->a, sizeof *s + la + lb + 1);
    if (!s || r.type != JV_STR)
        return ev_mem_ok(E, n);
    memcpy(s->s, a.u.s->s, la);
    memcpy(s->s + la, b.u.s->s, lb);
    s->len = la + lb;
    s->s[s->len] = 0;
    r.u.s = s;
    *out = r;
    return true;
}

/* Markup + str (either order) escapes the plain operand, as markupsafe does; this is how
 * `"text"|safe + value` renders when autoescape is off (Functionary v3.1 relies on it). */
static bool markup_concat(ev *E, jnode *n, jv a, jv b, jv *out)
{
    jv x = a, y = b;
    if (!a.safe && !jf_filter(E, n, "escape", a, &(jargs){0}, &x))
        return false;
    if (!b.safe && !jf_filter(E, n, "escape", b, &(jargs){0}, &y))
        return false;
    if (!ev_concat_str(E, n, x, y, out))
        return false;
    out->safe = 1;
    return true;
}

static bool repeat(ev *E, jnode *n, jv seq, int64_t k, jv *out)
{
    if (k < 0)
        k = 0;
    size_t unit = seq.type == JV_STR ? seq.u.s->len : seq.u.l->n * sizeof(jv);
    if (unit && (uint64_t)k > E->env->lim.max_output / unit)
        return ev_fail(E, n, "repetition result larger than the output limit (%zu bytes)",
                       E->env->lim.max_output);
    if (seq.type == JV_STR) {
        llmr_buf b = {.limit = E->env->lim.max_output};
        for (int64_t i = 0; i < k; i++)
            llmri_buf_append(&b, seq.u.s->s, seq.u.s->len);
        *out = jv_strn(E->a, llmri_buf_str(&b), b.len);
        out->safe = seq.safe;
        llmri_buf_free(&b);
        return ev_mem_ok(E, n);
    }
    jv r = jv_list_new(E->a, 0);
    for (int64_t i = 0; r.type == JV_LIST && i < k; i++)
        for (size_t j = 0; j < seq.u.l->n; j++)
            if (!jv_list_push(E->a, r.u.l, seq.u.l->v[j]))
                return ev_mem_ok(E, n);
    *out = r;
    return ev_mem_ok(E, n);
}

static bool type_error(ev *E, jnode *n, const char *op, jv a, jv b)
{
    if (a.type == JV_UNDEF)
        return ev_undef_fail(E, n, a);
    if (b.type == JV_UNDEF)
        return ev_undef_fail(E, n, b);
    if (!strcmp(op, "+") && a.type == JV_STR)
        return ev_fail(E, n, "can only concatenate str (not \"%s\") to str", jv_type_name(b));
    if (!strcmp(op, "+") && a.type == JV_LIST)
        return ev_fail(E, n, "can only concatenate list (not \"%s\") to list", jv_type_name(b));
    return ev_fail(E, n, "unsupported operand type(s) for %s: '%s' and '%s'", op,
                   jv_type_name(a), jv_type_name(b));
}


bool ev_arith(ev *E, jnode *n, const char *op, jv a, jv b, jv *out)
{
    char o = op[0];
    bool two = op[1] != 0;   /* ** or // */
    if (o == '+' && a.type == JV_STR && b.type == JV_STR && (a.safe || b.safe))
        return markup_concat(E, n, a, b, out);
    if (o == '+' && a.type == JV_STR && b.type == JV_STR)
        return ev_concat_str(E, n, a, b, out);
    if (o == '+' && a.type == JV_LIST && b.type == JV_LIST && !a.gen && !b.gen) {
        jv r = jv_list_new(E->a, a.u.l->n + b.u.l->n);
        for (size_t i = 0; r.type == JV_LIST && i < a.u.l->n; i++)
            jv_list_push(E->a, r.u.l, a.u.l->v[i]);
        for (size_t i = 0; r.type == JV_LIST && i < b.u.l->n; i++)
            jv_list_push(E->a, r.u.l, b.u.l->v[i]);
        *out = r;
        return ev_mem_ok(E, n);
    }
    if (o == '*' && !two && (a.type == JV_STR || a.type == JV_LIST)
        && (b.type == JV_INT || b.type == JV_BOOL))
        return repeat(E, n, a, ev_as_int(b), out);
    if (o == '*' && !two && (b.type == JV_STR || b.type == JV_LIST)
        && (a.type == JV_INT || a.type == JV_BOOL))
        return repeat(E, n, b, ev_as_int(a), out);
    if (!jv_is_num(a) || !jv_is_num(b)) {
        if (o == '%' && a.type == JV_STR && !two)
            return jf_printf(E, n, a, b, out);
        return type_error(E, n, op, a, b);
    }
    bool ints = a.type != JV_FLOAT && b.type != JV_FLOAT;
    if (o == '/' && !two) {
        if (jv_num(b) == 0)
            return ev_fail(E, n, "division by zero");
        *out = jv_float(jv_num(a) / jv_num(b));
        return true;
    }
    if (ints) {
        int64_t x = ev_as_int(a), y = ev_as_int(b), r = 0;
        bool ok = true;
        if (o == '+') ok = !__builtin_add_overflow(x, y, &r);
        else if (o == '-') ok = !__builtin_sub_overflow(x, y, &r);
        else if (o == '*' && two) {
            if (y < 0) {
                *out = jv_float(pow((double)x, (double)y));
                return true;
            }
            r = 1;
            for (int64_t i = 0; i < y && ok; i++)
                ok = !__builtin_mul_overflow(r, x, &r) && i < 64;
            if (x == 0 || x == 1)
                ok = true, r = y == 0 ? 1 : x;
        } else if (o == '*') ok = !__builtin_mul_overflow(x, y, &r);
        else if (o == '/' || o == '%') {
            if (y == 0)
                return ev_fail(E, n, o == '%' ? "integer modulo by zero"
                                              : "integer division or modulo by zero");
            if (x == INT64_MIN && y == -1)
                ok = false;
            else {
                int64_t q = x / y, m = x % y;
                if (m != 0 && ((m < 0) != (y < 0))) {   /* Python floors */
                    q--;
                    m += y;
                }
                r = o == '%' ? m : q;
            }
        }
        if (!ok)
            return ev_fail(E, n, "integer overflow in '%s'", op);
        *out = jv_int(r);
        return true;
    }
    double x = jv_num(a), y = jv_num(b), r;
    if (o == '+') r = x + y;
    else if (o == '-') r = x - y;
    else if (o == '*' && two) r = pow(x, y);
    else if (o == '*') r = x * y;
    else {
        if (y == 0)
            return ev_fail(E, n, "float division by zero");
        r = o == '%' ? x - floor(x / y) * y : floor(x / y);
    }
    *out = jv_float(r);
    return true;
}

bool ev_compare_op(ev *E, jnode *n, const char *op, jv a, jv b, bool *out)
{
    if (!strcmp(op, "==")) { *out = jv_equal(a, b, 0); return true; }
    if (!strcmp(op, "!=")) { *out = !jv_equal(a, b, 0); return true; }
    if (!strcmp(op, "in")) return contains(E, n, a, b, out);
    if (!strcmp(op, "not in")) {
        if (!contains(E, n, a, b, out))
            return false;
        *out = !*out;
        return true;
    }
    int c;
    if (!ev_compare(E, n, a, b, &c))
        return false;
    if (!strcmp(op, "<")) *out = c < 0;
    else if (!strcmp(op, "<=")) *out = c <= 0;
    else if (!strcmp(op, ">")) *out = c > 0;
    else *out = c >= 0;
    return true;
}
