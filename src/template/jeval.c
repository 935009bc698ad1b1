/* jeval.c - runs the AST: statements, expressions, scopes, macros and loops.
 *
 * Semantics follow jinja2 with the default Undefined: printing, iterating, testing or taking
 * the length of an undefined value is quiet (""/empty/false/0); taking its attribute or item,
 * calling it or doing arithmetic with it raises "'x' is undefined". Scopes: {% for %} bodies
 * and macro calls get their own scope (a {% set %} inside does not leak out), {% if %} does
 * not; namespace() objects are the way to carry state out of a loop.
 */
#include "template/jeval.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { X_OK, X_BREAK, X_CONTINUE, X_ERR };

static bool eval(ev *E, jnode *n, jv *out);
static int exec_body(ev *E, jscope *S, const jnodes *body, jbuf *out);

static const char *construct(const jnode *n)
{
    if (!n)
        return "template";
    switch (n->kind) {
    case JN_OUTPUT: return "{{ ... }}";
    case JN_IF: return "{% if %}";
    case JN_FOR: return "{% for %}";
    case JN_SET: case JN_SET_ATTR: return "{% set %}";
    case JN_SET_BLOCK: return "{% set %}...{% endset %}";
    case JN_MACRO: return "{% macro %}";
    case JN_CALL_BLOCK: return "{% call %}";
    case JN_FILTER_BLOCK: return "{% filter %}";
    default: return "template";
    }
}

bool ev_fail(ev *E, const jnode *n, const char *fmt, ...)
{
    if (E->failed)
        return false;
    E->failed = true;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line = n ? n->line : E->stmt ? E->stmt->line : 0;
    snprintf(E->err, E->errlen, "template error at line %d, in %s: %s", line, construct(E->stmt),
             msg);
    return false;
}

bool ev_undef_fail(ev *E, const jnode *n, jv u)
{
    return ev_fail(E, n, "%s", u.u.s ? u.u.s->s : "value is undefined");
}

bool ev_mem_ok(ev *E, const jnode *n)
{
    if (!E->a->exhausted)
        return true;
    return ev_fail(E, n, "the template used more than %zu bytes of memory", E->env->lim.max_memory);
}

static bool step(ev *E, const jnode *n)
{
    if (++E->steps <= E->env->lim.max_steps)
        return true;
    return ev_fail(E, n, "the template ran more than %llu steps (a runaway loop or recursion)",
                   (unsigned long long)E->env->lim.max_steps);
}

bool jarg(const jargs *A, size_t idx, const char *name, jv *out)
{
    if (idx < A->npos) {
        *out = A->pos[idx];
        return true;
    }
    for (size_t i = 0; name && i < A->nkw; i++)
        if (!strcmp(A->kwn[i], name)) {
            *out = A->kwv[i];
            return true;
        }
    return false;
}

/* ---- scopes ----------------------------------------------------------------------------- */
static jscope *scope_new(ev *E, jscope *parent)
{
    jscope *s = jarena_alloc(E->a, sizeof *s);
    jv d = jv_dict_new(E->a, 0);
    if (!s || d.type != JV_DICT)
        return NULL;
    s->parent = parent;
    s->vars = d.u.d;
    return s;
}

static bool scope_set(ev *E, jscope *S, const char *name, jv v)
{
    jv *slot = jv_dict_gets(S->vars, name);
    if (slot) {
        *slot = v;
        return true;
    }
    jv k = jv_str(E->a, name);
    return k.type == JV_STR && jv_dict_set(E->a, S->vars, k, v);
}

static bool lookup(ev *E, jscope *S, const char *name, jv *out)
{
    for (; S; S = S->parent) {
        jv *v = jv_dict_gets(S->vars, name);
        if (v) {
            *out = *v;
            return true;
        }
    }
    jv *g = jv_dict_gets(E->env->globals, name);
    if (g) {
        *out = *g;
        return true;
    }
    int fn = jf_func_find(name);
    if (fn >= 0) {
        jv f = {0};
        f.type = JV_FUNC;
        f.u.fn = fn;
        *out = f;
        return true;
    }
    *out = jv_undef_msg(E->a, "'%s' is undefined", name);
    return true;
}

/* ---- attribute and item access ---------------------------------------------------------- */
static jv undef_attr(ev *E, jv obj, jv key)
{
    char tn[48];
    if (obj.type == JV_NONE)
        snprintf(tn, sizeof tn, "None");
    else
        snprintf(tn, sizeof tn, "%s object", jv_type_name(obj));
    if (key.type == JV_STR)
        return jv_undef_msg(E->a, "'%s' has no attribute '%.100s'", tn, key.u.s->s);
    jbuf b = {.limit = 200};
    jv_repr(&b, key, 0);
    jv u = jv_undef_msg(E->a, "'%s' has no element %s", tn, b.p ? b.p : "?");
    jbuf_free(&b);
    return u;
}

static jv method(ev *E, jv self, const char *name)
{
    jv v = jv_undef();
    jmethod *m = jarena_alloc(E->a, sizeof *m);
    if (!m)
        return v;
    m->self = self;
    m->name = name;
    v.type = JV_METHOD;
    v.u.bm = m;
    return v;
}

/* Methods that would mutate a value: ImmutableSandboxedEnvironment refuses them. */
static bool unsafe_mutator(jv obj, const char *name)
{
    static const char *const list_m[] = {"append", "extend", "insert", "pop", "remove", "clear",
                                         "sort", "reverse", NULL};
    static const char *const dict_m[] = {"update", "pop", "popitem", "setdefault", "clear", NULL};
    const char *const *m = obj.type == JV_LIST ? list_m : obj.type == JV_DICT ? dict_m : NULL;
    for (; m && *m; m++)
        if (!strcmp(*m, name))
            return true;
    return false;
}

static bool loop_attr(ev *E, jloop *lp, const char *name, jv *out)
{
    size_t n = lp->items->n, i = lp->i;
    if (!strcmp(name, "index")) *out = jv_int((int64_t)i + 1);
    else if (!strcmp(name, "index0")) *out = jv_int((int64_t)i);
    else if (!strcmp(name, "revindex")) *out = jv_int((int64_t)(n - i));
    else if (!strcmp(name, "revindex0")) *out = jv_int((int64_t)(n - i - 1));
    else if (!strcmp(name, "first")) *out = jv_bool(i == 0);
    else if (!strcmp(name, "last")) *out = jv_bool(i + 1 == n);
    else if (!strcmp(name, "length")) *out = jv_int((int64_t)n);
    else if (!strcmp(name, "depth")) *out = jv_int(1);
    else if (!strcmp(name, "depth0")) *out = jv_int(0);
    else if (!strcmp(name, "previtem"))
        *out = i > 0 ? lp->items->v[i - 1] : jv_undef_msg(E->a, "there is no previous item");
    else if (!strcmp(name, "nextitem"))
        *out = i + 1 < n ? lp->items->v[i + 1] : jv_undef_msg(E->a, "there is no next item");
    else if (!strcmp(name, "cycle")) {
        jv self = {0};
        self.type = JV_LOOP;
        self.u.lp = lp;
        *out = method(E, self, "cycle");
    } else
        *out = jv_undef_msg(E->a, "'LoopContext object' has no attribute '%.100s'", name);
    return true;
}

bool ev_getattr(ev *E, const jnode *n, jv obj, const char *name, jv *out)
{
    if (obj.type == JV_UNDEF)
        return ev_undef_fail(E, n, obj);
    if (obj.type == JV_LOOP)
        return loop_attr(E, obj.u.lp, name, out);
    /* Python's getattr comes first: d.items is the method even if d has a key "items" */
    if (jf_method_exists(obj, name)) {
        *out = method(E, obj, name);
        return ev_mem_ok(E, n);
    }
    if (unsafe_mutator(obj, name)) {
        *out = jv_undef_msg(E->a, "access to attribute '%s' of '%s' object is unsafe.", name,
                            jv_type_name(obj));
        return true;
    }
    if (obj.type == JV_DICT || obj.type == JV_NS) {
        jv *v = jv_dict_gets(obj.u.d, name);
        if (v) {
            *out = *v;
            return true;
        }
    }
    jv key = jv_str(E->a, name);
    *out = undef_attr(E, obj, key);
    return ev_mem_ok(E, n);
}

static bool norm_index(int64_t i, size_t n, size_t *out)
{
    if (i < 0)
        i += (int64_t)n;
    if (i < 0 || (uint64_t)i >= n)
        return false;
    *out = (size_t)i;
    return true;
}

bool ev_getitem(ev *E, const jnode *n, jv obj, jv key, jv *out)
{
    if (obj.type == JV_UNDEF)
        return ev_undef_fail(E, n, obj);
    size_t idx;
    if (key.type == JV_UNDEF || (obj.type == JV_LIST && obj.gen)) {
        /* Python raises KeyError/TypeError here and jinja2 turns that into Undefined */
        *out = jv_undef_msg(E->a, "'%s object' has no element %s", jv_type_name(obj),
                            key.type == JV_UNDEF ? "Undefined" : "(not subscriptable)");
        return ev_mem_ok(E, n);
    }
    switch (obj.type) {
    case JV_DICT: case JV_NS: {
        jv *v = jv_dict_get(obj.u.d, key);
        if (v) {
            *out = *v;
            return true;
        }
        break;
    }
    case JV_LIST:
        if ((key.type == JV_INT || key.type == JV_BOOL)
            && norm_index(key.type == JV_INT ? key.u.i : key.u.b, obj.u.l->n, &idx)) {
            *out = obj.u.l->v[idx];
            return true;
        }
        break;
    case JV_STR:
        if (key.type == JV_INT || key.type == JV_BOOL) {
            size_t cps = jutf8_len(obj.u.s->s, obj.u.s->len);
            if (norm_index(key.type == JV_INT ? key.u.i : key.u.b, cps, &idx)) {
                size_t b0 = jutf8_offset(obj.u.s->s, obj.u.s->len, idx);
                size_t b1 = jutf8_offset(obj.u.s->s, obj.u.s->len, idx + 1);
                *out = jv_strn(E->a, obj.u.s->s + b0, b1 - b0);
                return ev_mem_ok(E, n);
            }
        }
        break;
    default:
        break;
    }
    if (key.type == JV_STR)   /* jinja2 falls back to getattr for string keys */
        return ev_getattr(E, n, obj, key.u.s->s, out);
    *out = undef_attr(E, obj, key);
    return ev_mem_ok(E, n);
}

/* x[a:b:c] on lists and strings, with Python's clamping rules. */
static bool do_slice(ev *E, jnode *n, jv obj, jv a, jv b, jv c, jv *out)
{
    if (obj.type == JV_UNDEF)
        return ev_undef_fail(E, n, obj);
    if (obj.type == JV_LIST && obj.gen)
        return ev_fail(E, n, "'%s' object is not subscriptable", jv_type_name(obj));
    /* jinja2 compiles slices to plain Python subscription (not environment.getitem) */
    if (obj.type != JV_LIST && obj.type != JV_STR && obj.type != JV_DICT)
        return ev_fail(E, n, "'%s' object is not subscriptable", jv_type_name(obj));
    if (obj.type == JV_DICT)
        return ev_fail(E, n, "unhashable type: 'slice'");
    int64_t len = obj.type == JV_LIST ? (int64_t)obj.u.l->n
                                      : (int64_t)jutf8_len(obj.u.s->s, obj.u.s->len);
    int64_t st = c.type == JV_NONE || c.type == JV_UNDEF ? 1 : c.u.i;
    jv *bounds[2] = {&a, &b};
    for (int k = 0; k < 3; k++) {
        jv v = k < 2 ? *bounds[k] : c;
        if (v.type != JV_NONE && v.type != JV_UNDEF && v.type != JV_INT)
            return ev_fail(E, n, "slice indices must be integers or None");
    }
    if (st == 0)
        return ev_fail(E, n, "slice step cannot be zero");
    int64_t lo, hi;
    if (st > 0) {
        lo = a.type == JV_INT ? a.u.i : 0;
        hi = b.type == JV_INT ? b.u.i : len;
        if (lo < 0) lo = lo + len < 0 ? 0 : lo + len;
        if (hi < 0) hi = hi + len < 0 ? 0 : hi + len;
        if (lo > len) lo = len;
        if (hi > len) hi = len;
    } else {
        lo = a.type == JV_INT ? a.u.i : len - 1;
        hi = b.type == JV_INT ? b.u.i : -1 - len;   /* "before the start" */
        if (lo < 0) lo = lo + len < 0 ? -1 : lo + len;
        if (hi < 0) hi = hi + len < 0 ? -1 : hi + len;
        if (lo >= len) lo = len - 1;
        if (hi >= len) hi = len - 1;
    }
    if (obj.type == JV_STR && st == 1) {
        const char *s = obj.u.s->s;
        size_t L = obj.u.s->len;
        size_t b0 = jutf8_offset(s, L, (size_t)lo), b1 = hi > lo ? jutf8_offset(s, L, (size_t)hi) : b0;
        *out = jv_strn(E->a, s + b0, b1 - b0);
        return ev_mem_ok(E, n);
    }
    jv res = jv_list_new(E->a, 0);
    if (res.type != JV_LIST)
        return ev_mem_ok(E, n);
    jbuf sb = {.limit = obj.type == JV_STR ? obj.u.s->len : 0};
    for (int64_t i = lo; st > 0 ? i < hi : i > hi; i += st) {
        if (obj.type == JV_LIST) {
            if (!jv_list_push(E->a, res.u.l, obj.u.l->v[i]))
                return ev_mem_ok(E, n);
        } else {
            size_t b0 = jutf8_offset(obj.u.s->s, obj.u.s->len, (size_t)i);
            size_t b1 = jutf8_offset(obj.u.s->s, obj.u.s->len, (size_t)i + 1);
            jbuf_put(&sb, obj.u.s->s + b0, b1 - b0);
        }
    }
    if (obj.type == JV_STR) {
        *out = jv_strn(E->a, sb.p ? sb.p : "", sb.n);
        jbuf_free(&sb);
        return ev_mem_ok(E, n);
    }
    res.tuple = obj.tuple;
    *out = res;
    return true;
}

bool ev_to_strv(ev *E, const jnode *n, jv v, jv *out)
{
    if (v.type == JV_STR) {
        *out = v;
        return true;
    }
    jbuf b = {.limit = E->env->lim.max_output};
    if (!jv_to_str(&b, v, 0)) {
        jbuf_free(&b);
        return ev_fail(E, n, "cannot convert a %s to a string (too large or too deeply nested)",
                       jv_type_name(v));
    }
    *out = jv_strn(E->a, b.p ? b.p : "", b.n);
    jbuf_free(&b);
    return ev_mem_ok(E, n);
}

bool ev_iterate(ev *E, const jnode *n, jv v, jlist **out)
{
    jv l;
    switch (v.type) {
    case JV_UNDEF:
        l = jv_list_new(E->a, 0);
        break;
    case JV_LIST:
        if (v.u.l->err)   /* a lazy generator whose input was not iterable: raise now */
            return ev_fail(E, n, "%s", v.u.l->err->s);
        *out = v.u.l;
        return true;
    case JV_DICT:
        l = jv_list_new(E->a, v.u.d->n);
        for (size_t i = 0; l.type == JV_LIST && i < v.u.d->n; i++)
            jv_list_push(E->a, l.u.l, v.u.d->k[i]);
        break;
    case JV_STR: {
        const char *s = v.u.s->s;
        size_t len = v.u.s->len;
        l = jv_list_new(E->a, 0);
        for (size_t i = 0; l.type == JV_LIST && i < len;) {
            size_t j = jutf8_offset(s + i, len - i, 1);
            jv_list_push(E->a, l.u.l, jv_strn(E->a, s + i, j));
            i += j;
        }
        break;
    }
    default:
        return ev_fail(E, n, "'%s' object is not iterable", jv_type_name(v));
    }
    if (!ev_mem_ok(E, n) || l.type != JV_LIST)
        return ev_fail(E, n, "out of memory");
    *out = l.u.l;
    return true;
}

bool ev_compare(ev *E, const jnode *n, jv a, jv b, int *cmp)
{
    if (jv_is_num(a) && jv_is_num(b)) {
        if (a.type == JV_INT && b.type == JV_INT)
            *cmp = (a.u.i > b.u.i) - (a.u.i < b.u.i);
        else {
            double x = jv_num(a), y = jv_num(b);
            *cmp = (x > y) - (x < y);
        }
        return true;
    }
    if (a.type == JV_STR && b.type == JV_STR) {
        size_t m = a.u.s->len < b.u.s->len ? a.u.s->len : b.u.s->len;
        int c = memcmp(a.u.s->s, b.u.s->s, m);   /* UTF-8 byte order = code point order */
        *cmp = c ? (c > 0) - (c < 0) : (a.u.s->len > b.u.s->len) - (a.u.s->len < b.u.s->len);
        return true;
    }
    if (a.type == JV_LIST && b.type == JV_LIST && a.tuple == b.tuple && !a.gen && !b.gen) {
        for (size_t i = 0; i < a.u.l->n && i < b.u.l->n; i++) {
            if (jv_equal(a.u.l->v[i], b.u.l->v[i], 0))
                continue;
            return ev_compare(E, n, a.u.l->v[i], b.u.l->v[i], cmp);
        }
        *cmp = (a.u.l->n > b.u.l->n) - (a.u.l->n < b.u.l->n);
        return true;
    }
    if (a.type == JV_UNDEF)
        return ev_undef_fail(E, n, a);
    if (b.type == JV_UNDEF)
        return ev_undef_fail(E, n, b);
    return ev_fail(E, n, "'<' not supported between instances of '%s' and '%s'",
                   jv_type_name(a), jv_type_name(b));
}

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

static bool concat_str(ev *E, jnode *n, jv a, jv b, jv *out)
{
    size_t la = a.u.s->len, lb = b.u.s->len;
    if (la + lb > E->env->lim.max_output)
        return ev_fail(E, n, "string longer than the output limit (%zu bytes)",
                       E->env->lim.max_output);
    jv r = jv_strn(E->a, NULL, 0);
    jstr *s = jarena_alloc(E->a, sizeof *s + la + lb + 1);
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
    if (!concat_str(E, n, x, y, out))
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
        jbuf b = {.limit = E->env->lim.max_output};
        for (int64_t i = 0; i < k; i++)
            jbuf_put(&b, seq.u.s->s, seq.u.s->len);
        *out = jv_strn(E->a, b.p ? b.p : "", b.n);
        out->safe = seq.safe;
        jbuf_free(&b);
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

static int64_t as_int(jv v) { return v.type == JV_BOOL ? v.u.b : v.u.i; }

static bool arith(ev *E, jnode *n, const char *op, jv a, jv b, jv *out)
{
    char o = op[0];
    bool two = op[1] != 0;   /* ** or // */
    if (o == '+' && a.type == JV_STR && b.type == JV_STR && (a.safe || b.safe))
        return markup_concat(E, n, a, b, out);
    if (o == '+' && a.type == JV_STR && b.type == JV_STR)
        return concat_str(E, n, a, b, out);
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
        return repeat(E, n, a, as_int(b), out);
    if (o == '*' && !two && (b.type == JV_STR || b.type == JV_LIST)
        && (a.type == JV_INT || a.type == JV_BOOL))
        return repeat(E, n, b, as_int(a), out);
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
        int64_t x = as_int(a), y = as_int(b), r = 0;
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

static bool compare_op(ev *E, jnode *n, const char *op, jv a, jv b, bool *out)
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

/* ---- calls ------------------------------------------------------------------------------ */
static bool eval_args(ev *E, jnode *n, jargs *A)
{
    memset(A, 0, sizeof *A);
    for (size_t i = 0; i < n->args.n; i++) {
        jv v;
        if (!eval(E, n->args.v[i], &v))
            return false;
        const char *kw = n->kw ? n->kw[i] : NULL;
        if (kw) {
            if (A->nkw == JARGS_MAX)
                return ev_fail(E, n, "too many keyword arguments (at most %d)", JARGS_MAX);
            A->kwn[A->nkw] = kw;
            A->kwv[A->nkw++] = v;
        } else {
            if (A->npos == JARGS_MAX)
                return ev_fail(E, n, "too many arguments (at most %d)", JARGS_MAX);
            A->pos[A->npos++] = v;
        }
    }
    return true;
}

static bool call_macro(ev *E, const jnode *n, jmacro *m, const jargs *A, jv caller, jv *out)
{
    const jnode *def = m->def;
    const char *mname = def->kind == JN_MACRO ? def->name : "caller";
    if (E->depth >= E->env->lim.max_depth)
        return ev_fail(E, n, "macro '%s': calls nested deeper than %d (runaway recursion?)",
                       mname, E->env->lim.max_depth);
    jscope *S = scope_new(E, m->closure);
    if (!S)
        return ev_mem_ok(E, n);
    size_t np = def->args.n;
    if (A->npos > np && def->kind == JN_MACRO)
        return ev_fail(E, n, "macro '%s' takes not more than %zu argument(s)", mname, np);
    for (size_t i = 0; i < np; i++) {
        jv v;
        bool have = jarg(A, i, def->kw[i], &v);
        if (!have) {
            if (def->args.v[i]->kind == JN_LIT && def->args.v[i]->lit.type == JV_UNDEF)
                v = jv_undef_msg(E->a, "parameter '%s' was not provided", def->kw[i]);
            else if (!eval(E, def->args.v[i], &v))
                return false;
        }
        if (!scope_set(E, S, def->kw[i], v))
            return ev_mem_ok(E, n);
    }
    for (size_t k = 0; k < A->nkw; k++) {
        bool known = false;
        for (size_t i = 0; i < np && !known; i++)
            known = !strcmp(def->kw[i], A->kwn[k]);
        if (!known)
            return ev_fail(E, n, "macro '%s' takes no keyword argument '%s'", mname, A->kwn[k]);
    }
    jv varargs = jv_list_new(E->a, 0);
    for (size_t i = np; varargs.type == JV_LIST && i < A->npos; i++)
        jv_list_push(E->a, varargs.u.l, A->pos[i]);
    scope_set(E, S, "varargs", varargs);
    if (caller.type == JV_MACRO)
        scope_set(E, S, "caller", caller);
    if (!ev_mem_ok(E, n))
        return false;
    jbuf b = {.limit = E->env->lim.max_output};
    E->depth++;
    const jnode *saved = E->stmt;
    jscope *saved_scope = E->scope;
    int rc = exec_body(E, S, &def->body, &b);
    E->stmt = saved;
    E->scope = saved_scope;
    E->depth--;
    if (rc == X_ERR) {
        jbuf_free(&b);
        return false;
    }
    *out = jv_strn(E->a, b.p ? b.p : "", b.n);
    jbuf_free(&b);
    return ev_mem_ok(E, n);
}

static bool loop_cycle(ev *E, const jnode *n, jloop *lp, const jargs *A, jv *out)
{
    if (!A->npos)
        return ev_fail(E, n, "loop.cycle() needs at least one argument");
    *out = A->pos[lp->i % A->npos];
    return true;
}

bool ev_call(ev *E, const jnode *n, jv callee, const jargs *A, jv *out)
{
    switch (callee.type) {
    case JV_MACRO:
        return call_macro(E, n, callee.u.m, A, jv_undef(), out);
    case JV_FUNC:
        return jf_func(E, n, callee.u.fn, A, out);
    case JV_METHOD:
        if (callee.u.bm->self.type == JV_LOOP)
            return loop_cycle(E, n, callee.u.bm->self.u.lp, A, out);
        return jf_method(E, n, callee.u.bm->self, callee.u.bm->name, A, out);
    case JV_UNDEF:
        return ev_undef_fail(E, n, callee);
    default:
        return ev_fail(E, n, "'%s' object is not callable", jv_type_name(callee));
    }
}

/* ---- expressions ------------------------------------------------------------------------ */
static bool eval_filter(ev *E, jnode *n, jv in, jv *out)
{
    jargs A;
    return eval_args(E, n, &A) && jf_filter(E, n, n->name, in, &A, out);
}

static bool eval(ev *E, jnode *n, jv *out)
{
    if (!step(E, n))
        return false;
    jv a, b, c;
    switch (n->kind) {
    case JN_LIT:
        *out = n->lit;
        return true;
    case JN_NAME:
        return lookup(E, E->scope, n->name, out);
    case JN_LIST: case JN_TUPLE: {
        jv l = jv_list_new(E->a, n->args.n);
        if (l.type != JV_LIST)
            return ev_mem_ok(E, n);
        for (size_t i = 0; i < n->args.n; i++) {
            if (!eval(E, n->args.v[i], &a))
                return false;
            jv_list_push(E->a, l.u.l, a);
        }
        l.tuple = n->kind == JN_TUPLE;
        *out = l;
        return true;
    }
    case JN_DICT: {
        jv d = jv_dict_new(E->a, n->args.n / 2);
        if (d.type != JV_DICT)
            return ev_mem_ok(E, n);
        for (size_t i = 0; i + 1 < n->args.n; i += 2) {
            if (!eval(E, n->args.v[i], &a) || !eval(E, n->args.v[i + 1], &b))
                return false;
            if (a.type == JV_LIST && !a.tuple)
                return ev_fail(E, n, "unhashable type: 'list'");
            if (a.type == JV_DICT)
                return ev_fail(E, n, "unhashable type: 'dict'");
            if (!jv_dict_set(E->a, d.u.d, a, b))
                return ev_mem_ok(E, n);
        }
        *out = d;
        return true;
    }
    case JN_ATTR:
        return eval(E, n->a, &a) && ev_getattr(E, n, a, n->name, out);
    case JN_ITEM:
        return eval(E, n->a, &a) && eval(E, n->b, &b) && ev_getitem(E, n, a, b, out);
    case JN_SLICE: {
        jv st = jv_none();
        a = jv_none();
        b = jv_none();
        if (!eval(E, n->a, &c) || (n->b && !eval(E, n->b, &a)) || (n->c && !eval(E, n->c, &b))
            || (n->args.n && !eval(E, n->args.v[0], &st)))
            return false;
        return do_slice(E, n, c, a, b, st, out);
    }
    case JN_CALL: {
        jargs A;
        return eval(E, n->a, &a) && eval_args(E, n, &A) && ev_call(E, n, a, &A, out);
    }
    case JN_FILTER:
        return eval(E, n->a, &a) && eval_filter(E, n, a, out);
    case JN_TEST: {
        jargs A;
        bool r;
        if (!eval(E, n->a, &a) || !eval_args(E, n, &A) || !jf_test(E, n, n->name, a, &A, &r))
            return false;
        *out = jv_bool(r != n->test_negated);
        return true;
    }
    case JN_NOT:
        if (!eval(E, n->a, &a))
            return false;
        *out = jv_bool(!jv_truthy(a));
        return true;
    case JN_NEG: case JN_POS:
        if (!eval(E, n->a, &a))
            return false;
        if (a.type == JV_UNDEF)
            return ev_undef_fail(E, n, a);
        if (!jv_is_num(a))
            return ev_fail(E, n, "bad operand type for unary %s: '%s'",
                           n->kind == JN_NEG ? "-" : "+", jv_type_name(a));
        if (n->kind == JN_POS)
            *out = a.type == JV_BOOL ? jv_int(a.u.b) : a;
        else if (a.type == JV_FLOAT)
            *out = jv_float(-a.u.f);
        else if (as_int(a) == INT64_MIN)
            return ev_fail(E, n, "integer overflow in unary -");
        else
            *out = jv_int(-as_int(a));
        return true;
    case JN_BINOP:
        return eval(E, n->a, &a) && eval(E, n->b, &b) && arith(E, n, n->name, a, b, out);
    case JN_CONCAT:
        if (!eval(E, n->a, &a) || !eval(E, n->b, &b) || !ev_to_strv(E, n, a, &a)
            || !ev_to_strv(E, n, b, &b))
            return false;
        return concat_str(E, n, a, b, out);
    case JN_AND:   /* Python returns the deciding operand, not a bool */
        if (!eval(E, n->a, &a))
            return false;
        if (!jv_truthy(a)) {
            *out = a;
            return true;
        }
        return eval(E, n->b, out);
    case JN_OR:
        if (!eval(E, n->a, &a))
            return false;
        if (jv_truthy(a)) {
            *out = a;
            return true;
        }
        return eval(E, n->b, out);
    case JN_COND:
        if (!eval(E, n->a, &a))
            return false;
        if (jv_truthy(a))
            return eval(E, n->b, out);
        if (n->c)
            return eval(E, n->c, out);
        *out = jv_undef_msg(E->a, "the inline if expression on line %d evaluated to false "
                            "and no else section was defined.", n->line);
        return true;
    case JN_COMPARE: {
        if (!eval(E, n->a, &a))
            return false;
        for (size_t i = 0; i < n->args.n; i++) {
            bool r;
            if (!eval(E, n->args.v[i], &b) || !compare_op(E, n, n->ops[i], a, b, &r))
                return false;
            if (!r) {
                *out = jv_bool(false);
                return true;
            }
            a = b;
        }
        *out = jv_bool(true);
        return true;
    }
    default:
        return ev_fail(E, n, "internal error: a statement where an expression was expected");
    }
}

/* ---- statements ------------------------------------------------------------------------- */
static bool out_value(ev *E, jnode *n, jv v, jbuf *out)
{
    if (v.type == JV_UNDEF)
        return true;
    if (!jv_to_str(out, v, 0)) {
        if (out->failed)
            return ev_fail(E, n, "the rendered text is larger than the output limit (%zu bytes)",
                           out->limit);
        return ev_fail(E, n, "cannot print a %s nested this deeply", jv_type_name(v));
    }
    return true;
}

static bool bind_targets(ev *E, jnode *n, jscope *S, jv item)
{
    if (n->ntargets == 1)
        return scope_set(E, S, n->targets[0], item) || ev_mem_ok(E, n);
    jlist *l;
    if (item.type == JV_LIST)
        l = item.u.l;
    else if (!ev_iterate(E, n, item, &l))
        return false;
    if (l->n != n->ntargets)
        return ev_fail(E, n, l->n > n->ntargets ? "too many values to unpack (expected %zu)"
                                                : "not enough values to unpack (expected %zu, got %zu)",
                       n->ntargets, l->n);
    for (size_t i = 0; i < n->ntargets; i++)
        if (!scope_set(E, S, n->targets[i], l->v[i]))
            return ev_mem_ok(E, n);
    return true;
}

static int exec_for(ev *E, jscope *S, jnode *n, jbuf *out)
{
    jv it;
    jlist *items;
    if (!eval(E, n->a, &it) || !ev_iterate(E, n, it, &items))
        return X_ERR;
    jscope *L = scope_new(E, S);
    if (!L)
        return ev_mem_ok(E, n), X_ERR;
    if (n->b) {   /* {% for x in xs if cond %}: filter first, so loop.* counts what is kept */
        jv kept = jv_list_new(E->a, 0);
        if (kept.type != JV_LIST)
            return ev_mem_ok(E, n), X_ERR;
        jscope *saved = E->scope;
        E->scope = L;
        for (size_t i = 0; i < items->n; i++) {
            jv c;
            if (!step(E, n) || !bind_targets(E, n, L, items->v[i]) || !eval(E, n->b, &c)) {
                E->scope = saved;
                return X_ERR;
            }
            if (jv_truthy(c) && !jv_list_push(E->a, kept.u.l, items->v[i]))
                return E->scope = saved, ev_mem_ok(E, n), X_ERR;
        }
        E->scope = saved;
        items = kept.u.l;
    }
    if (items->n == 0)
        return exec_body(E, S, &n->else_body, out);
    jloop *lp = jarena_alloc(E->a, sizeof *lp);
    if (!lp)
        return ev_mem_ok(E, n), X_ERR;
    lp->items = items;
    jv loopv = {0};
    loopv.type = JV_LOOP;
    loopv.u.lp = lp;
    /* jinja2 clears its "no iteration" flag at the end of the body, so when every iteration
     * ends in break or continue the {% else %} block still runs */
    bool completed = false;
    for (size_t i = 0; i < items->n; i++) {
        lp->i = i;
        if (!step(E, n) || !bind_targets(E, n, L, items->v[i]) || !scope_set(E, L, "loop", loopv))
            return ev_mem_ok(E, n), X_ERR;
        int rc = exec_body(E, L, &n->body, out);
        E->stmt = n;
        if (rc == X_ERR)
            return X_ERR;
        if (rc == X_BREAK)
            break;
        completed |= rc == X_OK;
    }
    return completed ? X_OK : exec_body(E, S, &n->else_body, out);
}

/* Applies a filter chain (innermost input NULL) to a captured string. */
static bool apply_chain(ev *E, jnode *f, jv in, jv *out)
{
    if (!f) {
        *out = in;
        return true;
    }
    jv v;
    if (!apply_chain(E, f->a, in, &v))
        return false;
    return eval_filter(E, f, v, out);
}

static bool capture(ev *E, jscope *S, const jnodes *body, jv *out, const jnode *n)
{
    jbuf b = {.limit = E->env->lim.max_output};
    int rc = exec_body(E, S, body, &b);
    E->stmt = n;
    if (rc == X_ERR) {
        jbuf_free(&b);
        return false;
    }
    *out = jv_strn(E->a, b.p ? b.p : "", b.n);
    jbuf_free(&b);
    return ev_mem_ok(E, n);
}

static jmacro *macro_new(ev *E, jnode *def, jscope *S)
{
    jmacro *m = jarena_alloc(E->a, sizeof *m);
    if (m) {
        m->def = def;
        m->closure = S;
    }
    return m;
}

static int exec_stmt(ev *E, jscope *S, jnode *n, jbuf *out)
{
    jv v;
    E->stmt = n;
    E->scope = S;
    if (!step(E, n))
        return X_ERR;
    switch (n->kind) {
    case JN_TEXT:
        if (!jbuf_put(out, n->lit.u.s->s, n->lit.u.s->len))
            return ev_fail(E, n, "the rendered text is larger than the output limit (%zu bytes)",
                           out->limit), X_ERR;
        return X_OK;
    case JN_OUTPUT:
        return eval(E, n->a, &v) && out_value(E, n, v, out) ? X_OK : X_ERR;
    case JN_IF:
        if (!eval(E, n->a, &v))
            return X_ERR;
        return exec_body(E, S, jv_truthy(v) ? &n->body : &n->else_body, out);
    case JN_FOR:
        return exec_for(E, S, n, out);
    case JN_SET:
        if (!eval(E, n->a, &v) || !bind_targets(E, n, S, v))
            return X_ERR;
        return X_OK;
    case JN_SET_ATTR: {
        jv ns;
        if (!lookup(E, S, n->name, &ns) || !eval(E, n->a, &v))
            return X_ERR;
        if (ns.type != JV_NS)
            return ev_fail(E, n, "cannot assign attribute on non-namespace object "
                           "(%s.%s: %s is a %s)", n->name, n->targets[0], n->name,
                           jv_type_name(ns)), X_ERR;
        jv k = jv_str(E->a, n->targets[0]);
        if (k.type != JV_STR || !jv_dict_set(E->a, ns.u.d, k, v))
            return ev_mem_ok(E, n), X_ERR;
        return X_OK;
    }
    case JN_SET_BLOCK:
        if (!capture(E, S, &n->body, &v, n) || !apply_chain(E, n->b, v, &v))
            return X_ERR;
        return scope_set(E, S, n->name, v) ? X_OK : (ev_mem_ok(E, n), X_ERR);
    case JN_FILTER_BLOCK:
        if (!capture(E, S, &n->body, &v, n) || !apply_chain(E, n->a, v, &v))
            return X_ERR;
        return out_value(E, n, v, out) ? X_OK : X_ERR;
    case JN_MACRO: {
        jmacro *m = macro_new(E, n, S);
        jv mv = {0};
        mv.type = JV_MACRO;
        mv.u.m = m;
        return m && scope_set(E, S, n->name, mv) ? X_OK : (ev_mem_ok(E, n), X_ERR);
    }
    case JN_CALL_BLOCK: {
        jnode *call = n->a;
        jargs A;
        jv callee;
        jmacro *cm = macro_new(E, n, S);
        if (!cm)
            return ev_mem_ok(E, n), X_ERR;
        if (!eval(E, call->a, &callee) || !eval_args(E, call, &A))
            return X_ERR;
        if (callee.type != JV_MACRO)
            return ev_fail(E, n, "{%% call %%} needs a macro, got %s", jv_type_name(callee)),
                   X_ERR;
        jv caller = {0};
        caller.type = JV_MACRO;
        caller.u.m = cm;
        if (!call_macro(E, call, callee.u.m, &A, caller, &v))
            return X_ERR;
        return out_value(E, n, v, out) ? X_OK : X_ERR;
    }
    case JN_GENERATION:
        return exec_body(E, S, &n->body, out);
    case JN_BREAK:
        return X_BREAK;
    case JN_CONTINUE:
        return X_CONTINUE;
    default:
        return ev_fail(E, n, "internal error: an expression where a statement was expected"),
               X_ERR;
    }
}

static int exec_body(ev *E, jscope *S, const jnodes *body, jbuf *out)
{
    for (size_t i = 0; i < body->n; i++) {
        int rc = exec_stmt(E, S, body->v[i], out);
        E->scope = S;
        if (rc != X_OK)
            return rc;
        if (out->failed)
            return ev_fail(E, body->v[i], "the rendered text is larger than the output limit "
                           "(%zu bytes)", out->limit), X_ERR;
    }
    return X_OK;
}

/* jinja2 resolves filter and test names when it compiles, so a misspelled filter fails even
 * in a branch that never runs; do the same before rendering. */
static bool check_names(ev *E, const jnodes *ns, int depth);
static bool check_node(ev *E, jnode *n, int depth)
{
    if (!n)
        return true;
    if (depth > 4 * JINJA_MAX_NESTING)
        return ev_fail(E, n, "template nested too deeply");
    if (n->kind == JN_FILTER && !jf_filter_exists(n->name))
        return ev_fail(E, n, "No filter named '%s'.", n->name);
    if (n->kind == JN_TEST && !jf_test_exists(n->name))
        return ev_fail(E, n, "No test named '%s'.", n->name);
    return check_node(E, n->a, depth + 1) && check_node(E, n->b, depth + 1)
           && check_node(E, n->c, depth + 1) && check_names(E, &n->args, depth + 1)
           && check_names(E, &n->body, depth + 1) && check_names(E, &n->else_body, depth + 1);
}
static bool check_names(ev *E, const jnodes *ns, int depth)
{
    for (size_t i = 0; i < ns->n; i++) {
        E->stmt = ns->v[i]->kind <= JN_GENERATION ? ns->v[i] : E->stmt;
        if (!check_node(E, ns->v[i], depth))
            return false;
    }
    return true;
}

bool jinja_exec(jarena *a, const jnodes *prog, const jinja_env *env, jbuf *out, char *err,
                size_t errlen)
{
    ev E = {.a = a, .env = env, .err = err, .errlen = errlen};
    out->limit = env->lim.max_output;
    if (!check_names(&E, prog, 0))
        return false;
    E.stmt = NULL;
    E.root = scope_new(&E, NULL);
    if (!E.root)
        return ev_mem_ok(&E, NULL);
    E.scope = E.root;
    int rc = exec_body(&E, E.root, prog, out);
    E.scope = NULL;
    if (rc == X_ERR || E.failed)
        return false;
    return true;   /* break/continue outside a loop are parse errors */
}
