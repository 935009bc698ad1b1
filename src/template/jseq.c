/* jseq.c - the sequence filters that take tests, filters or attributes as arguments:
 * select / reject / selectattr / rejectattr, map, and sort (stable, with jinja2's
 * case-insensitive default); split from jfilters.c. */
#include "template/jeval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* jinja2's map, select, reject, items, unique and batch are Python generators: a bad input
 * only raises when something iterates the result. Returns true (with *out set to such a
 * generator) when `in` cannot be iterated. */
bool jf_lazy_error(ev *E, const jnode *n, jv in, const char *msg, jv *out)
{
    if (in.type == JV_UNDEF || in.type == JV_LIST || in.type == JV_DICT || in.type == JV_STR)
        return false;
    jv g = jv_list_new(E->a, 0);
    char buf[160];
    if (!msg) {
        snprintf(buf, sizeof buf, "'%s' object is not iterable", jv_type_name(in));
        msg = buf;
    }
    jv m = jv_str(E->a, msg);
    if (g.type == JV_LIST && m.type == JV_STR)
        g.u.l->err = m.u.s;
    g.gen = 1;
    *out = g;
    (void)n;
    return true;
}

/* select(test, args...), selectattr(attr, test, args...): the test's arguments follow. */
bool jf_select(ev *E, const jnode *n, jv in, const jargs *A, bool attr, bool keep, jv *out)
{
    jlist *l;
    jv res;
    if (!jv_truthy(in))   /* jinja2 guards with `if value:`: None selects nothing */
        in = jv_undef();
    if (jf_lazy_error(E, n, in, NULL, out))
        return ev_mem_ok(E, n);
    if (!ev_iterate(E, n, in, &l) || !jf_new_list(E, n, &res))
        return false;
    size_t k = 0;
    jv attrname = jv_undef(), tname = jv_undef();
    if (attr && !jarg(A, k++, "attribute", &attrname))
        return ev_fail(E, n, "selectattr/rejectattr need an attribute name");
    bool have_test = jarg(A, k++, NULL, &tname);
    if (have_test && tname.type != JV_STR)
        return ev_fail(E, n, "the test name must be a string");
    if (have_test && !jf_test_exists(tname.u.s->s))
        return ev_fail(E, n, "No test named '%s'.", tname.u.s->s);
    jargs TA = {0};
    for (size_t i = k; i < A->npos; i++)
        TA.pos[TA.npos++] = A->pos[i];
    for (size_t i = 0; i < l->n; i++) {
        jv item = l->v[i], probe = item;
        if (attr && !jf_attr_path(E, n, item, attrname, &probe))
            return false;
        bool r;
        if (have_test) {
            if (!jf_test(E, n, tname.u.s->s, probe, &TA, &r))
                return false;
        } else {
            r = jv_truthy(probe);
        }
        if (r == keep && !jf_push(E, n, res, item))
            return false;
    }
    res.gen = 1;
    *out = res;
    return true;
}

bool jf_map(ev *E, const jnode *n, jv in, const jargs *A, jv *out)
{
    jlist *l;
    jv res, attr, def;
    if (!jv_truthy(in))   /* as select: `if value:` */
        in = jv_undef();
    if (jf_lazy_error(E, n, in, NULL, out))
        return ev_mem_ok(E, n);
    if (!ev_iterate(E, n, in, &l) || !jf_new_list(E, n, &res))
        return false;
    bool by_attr = jarg(A, SIZE_MAX, "attribute", &attr);
    bool has_def = jarg(A, SIZE_MAX, "default", &def);
    jv fname = jv_undef();
    if (!by_attr && (!jarg(A, 0, NULL, &fname) || fname.type != JV_STR))
        return ev_fail(E, n, "map needs a filter name or attribute=");
    if (!by_attr && !jf_filter_exists(fname.u.s->s))
        return ev_fail(E, n, "No filter named '%s'.", fname.u.s->s);
    jargs FA = {0};
    for (size_t i = 1; !by_attr && i < A->npos; i++)
        FA.pos[FA.npos++] = A->pos[i];
    for (size_t i = 0; !by_attr && i < A->nkw; i++) {
        FA.kwn[FA.nkw] = A->kwn[i];
        FA.kwv[FA.nkw++] = A->kwv[i];
    }
    for (size_t i = 0; i < l->n; i++) {
        jv v;
        if (by_attr) {
            if (!jf_attr_path(E, n, l->v[i], attr, &v))
                return false;
            if (v.type == JV_UNDEF && has_def)
                v = def;
        } else if (!jf_filter(E, n, fname.u.s->s, l->v[i], &FA, &v)) {
            return false;
        }
        if (!jf_push(E, n, res, v))
            return false;
    }
    res.gen = 1;
    *out = res;
    return true;
}

/* ---- sorting ---------------------------------------------------------------------------- */
typedef struct sort_item { jv key, val; size_t idx; } sort_item;
typedef struct sort_ctx { ev *E; const jnode *n; bool fail, reverse; } sort_ctx;

bool jf_sort_key(ev *E, const jnode *n, jv v, bool case_sensitive, jv *out)
{
    if (!case_sensitive && v.type == JV_STR) {
        *out = jf_casemap(E, v, 'l');
        return ev_mem_ok(E, n);
    }
    *out = v;
    return true;
}

/* Stable merge sort: Python's sort is stable and sort order must match it exactly. */
static bool merge_sort(sort_ctx *C, sort_item *a, sort_item *tmp, size_t n)
{
    if (n < 2)
        return true;
    size_t h = n / 2;
    if (!merge_sort(C, a, tmp, h) || !merge_sort(C, a + h, tmp, n - h))
        return false;
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) {
        int c;
        if (!ev_compare(C->E, C->n, a[j].key, a[i].key, &c))
            return false;
        if (C->reverse)
            c = -c;
        tmp[k++] = c < 0 ? a[j++] : a[i++];
    }
    while (i < h)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof *a);
    return true;
}

bool jf_sort(ev *E, const jnode *n, jlist *l, bool reverse, bool cs, jv attr,
             bool by_value_of_pair, jv *out)
{
    jv res;
    if (!jf_new_list(E, n, &res))
        return false;
    if (l->n == 0) {
        *out = res;
        return true;
    }
    sort_item *items = calloc(l->n * 2, sizeof *items);
    if (!items)
        return ev_fail(E, n, "out of memory");
    bool ok = true;
    for (size_t i = 0; i < l->n && ok; i++) {
        jv k = l->v[i];
        if (by_value_of_pair && k.type == JV_LIST && k.u.l->n == 2)
            k = k.u.l->v[1];
        else if (attr.type != JV_UNDEF)
            ok = jf_attr_path(E, n, k, attr, &k);
        ok = ok && jf_sort_key(E, n, k, cs, &items[i].key);
        items[i].val = l->v[i];
        items[i].idx = i;
    }
    sort_ctx C = {E, n, false, reverse};
    ok = ok && merge_sort(&C, items, items + l->n, l->n);
    for (size_t i = 0; i < l->n && ok; i++)
        ok = jf_push(E, n, res, items[i].val);
    free(items);
    if (ok)
        *out = res;
    return ok;
}
