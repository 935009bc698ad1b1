/* jaccess.c - attribute, item and slice access, str(), iteration and ordering: jinja2's
 * sandboxed getattr/getitem rules (unsafe attributes and mutating methods refused), split from
 * jeval.c. */
#include "template/jeval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    llmr_buf b = {.limit = 200};
    jv_repr(&b, key, 0);
    jv u = jv_undef_msg(E->a, "'%s' has no element %s", tn, b.p ? b.p : "?");
    llmri_buf_free(&b);
    return u;
}

static jv method(ev *E, jv self, const char *name)
{
    jv v = jv_undef();
    jmethod *m = llmri_arena_alloc(E->a, sizeof *m);
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
    else if (!strcmp(name, "cycle") || !strcmp(name, "changed")) {
        jv self = {0};
        self.type = JV_LOOP;
        self.u.lp = lp;
        *out = method(E, self, name[0] == 'c' && name[1] == 'y' ? "cycle" : "changed");
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
bool ev_slice(ev *E, jnode *n, jv obj, jv a, jv b, jv c, jv *out)
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
    llmr_buf sb = {.limit = obj.type == JV_STR ? obj.u.s->len : 0};
    for (int64_t i = lo; st > 0 ? i < hi : i > hi; i += st) {
        if (obj.type == JV_LIST) {
            if (!jv_list_push(E->a, res.u.l, obj.u.l->v[i]))
                return ev_mem_ok(E, n);
        } else {
            size_t b0 = jutf8_offset(obj.u.s->s, obj.u.s->len, (size_t)i);
            size_t b1 = jutf8_offset(obj.u.s->s, obj.u.s->len, (size_t)i + 1);
            llmri_buf_append(&sb, obj.u.s->s + b0, b1 - b0);
        }
    }
    if (obj.type == JV_STR) {
        *out = jv_strn(E->a, llmri_buf_str(&sb), sb.len);
        llmri_buf_free(&sb);
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
    llmr_buf b = {.limit = E->env->lim.max_output};
    if (!jv_to_str(&b, v, 0)) {
        llmri_buf_free(&b);
        return ev_fail(E, n, "cannot convert a %s to a string (too large or too deeply nested)",
                       jv_type_name(v));
    }
    *out = jv_strn(E->a, llmri_buf_str(&b), b.len);
    llmri_buf_free(&b);
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
