/* jfilters.c - jinja2's built-in filters and tests, the Python str/dict/list methods that
 * chat templates call, and the globals HF provides (raise_exception, strftime_now) plus
 * range, namespace and dict. Behaviour follows jinja2/filters.py and jinja2/tests.py; where
 * HF overrides (tojson) it follows transformers' chat_template_utils. */
#include "template/jeval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

/* ---- small helpers ---------------------------------------------------------------------- */
static bool need_str(ev *E, const jnode *n, const char *what, jv v, jv *out)
{
    if (v.type == JV_UNDEF) {   /* soft_str(Undefined) is "" */
        *out = jv_strn(E->a, "", 0);
        return ev_mem_ok(E, n);
    }
    (void)what;
    return ev_to_strv(E, n, v, out);
}

static jv mkstr(ev *E, jbuf *b)
{
    jv s = jv_strn(E->a, b->p ? b->p : "", b->n);
    jbuf_free(b);
    return s;
}

static bool is_ws(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f); }

static bool in_chars(unsigned char c, const jv *chars)
{
    if (!chars)
        return is_ws(c);
    return memchr(chars->u.s->s, c, chars->u.s->len) != NULL;
}

/* Python's str.isspace() beyond ASCII: U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028,
 * U+2029, U+202F, U+205F, U+3000. Returns the byte length of such a character at p, else 0. */
static size_t uspace_at(const unsigned char *p, size_t left)
{
    if (left >= 2 && p[0] == 0xC2 && (p[1] == 0x85 || p[1] == 0xA0))
        return 2;
    if (left < 3)
        return 0;
    uint32_t cp = (uint32_t)(p[0] & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
    if ((p[0] & 0xF0) != 0xE0 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
        return 0;
    bool sp = cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029
              || cp == 0x202F || cp == 0x205F || cp == 0x3000;
    return sp ? 3 : 0;
}

/* str.strip/lstrip/rstrip; chars (a string of ASCII characters) replaces whitespace. */
static jv strip(ev *E, jv s, bool left, bool right, const jv *chars)
{
    const unsigned char *p = (const unsigned char *)s.u.s->s;
    size_t a = 0, b = s.u.s->len, k;
    for (;;) {
        if (left && a < b && in_chars(p[a], chars))
            a++;
        else if (left && !chars && a < b && (k = uspace_at(p + a, b - a)))
            a += k;
        else
            break;
    }
    for (;;) {
        if (right && b > a && in_chars(p[b - 1], chars))
            b--;
        else if (right && !chars && b - a >= 2 && uspace_at(p + b - 2, 2) == 2)
            b -= 2;
        else if (right && !chars && b - a >= 3 && uspace_at(p + b - 3, 3) == 3)
            b -= 3;
        else
            break;
    }
    return jv_strn(E->a, (const char *)p + a, b - a);
}

/* Case mapping through utf8proc. mode: 'u' upper, 'l' lower, 't' title (jinja's |title:
 * words start after whitespace, '-', '(', '[', '{'), 'T' Python str.title (after any
 * non-letter), 'c' capitalize. */
static jv casemap(ev *E, jv s, char mode)
{
    jbuf b = {.limit = s.u.s->len * 4 + 16};
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s.u.s->s;
    utf8proc_ssize_t n = (utf8proc_ssize_t)s.u.s->len, i = 0;
    bool start = true;
    while (i < n) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(p + i, n - i, &cp);
        if (k <= 0) {   /* invalid byte: copy it through */
            jbuf_put(&b, (const char *)p + i, 1);
            i++;
            continue;
        }
        utf8proc_int32_t o = cp;
        if (mode == 'u')
            o = utf8proc_toupper(cp);
        else if (mode == 'l')
            o = utf8proc_tolower(cp);
        else if (mode == 'c')
            o = i == 0 ? utf8proc_toupper(cp) : utf8proc_tolower(cp);
        else {
            o = start ? utf8proc_totitle(cp) : utf8proc_tolower(cp);
            if (mode == 't')
                start = cp == ' ' || (cp >= '\t' && cp <= '\r') || cp == '-' || cp == '('
                        || cp == '[' || cp == '{';
            else {
                utf8proc_category_t cat = utf8proc_category(cp);
                bool cased = cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL
                             || cat == UTF8PROC_CATEGORY_LT;
                start = !cased;
            }
        }
        utf8proc_uint8_t enc[4];
        utf8proc_ssize_t el = utf8proc_encode_char(o, enc);
        jbuf_put(&b, (const char *)enc, (size_t)el);
        i += k;
    }
    return mkstr(E, &b);
}

static jv replace(ev *E, jv s, jv old, jv rep, int64_t count)
{
    jbuf b = {.limit = E->env->lim.max_output};
    const char *p = s.u.s->s, *end = p + s.u.s->len;
    size_t ol = old.u.s->len;
    if (ol == 0) {   /* Python inserts rep between every character */
        size_t i = 0, len = s.u.s->len;
        int64_t done = 0;
        while (count < 0 || done < count) {
            jbuf_put(&b, rep.u.s->s, rep.u.s->len);
            done++;
            if (i >= len)
                break;
            size_t j = jutf8_offset(p + i, len - i, 1);
            jbuf_put(&b, p + i, j);
            i += j;
        }
        jbuf_put(&b, p + i, len - i);
        return mkstr(E, &b);
    }
    int64_t done = 0;
    while (p < end && (count < 0 || done < count)) {
        const char *q = memmem(p, (size_t)(end - p), old.u.s->s, ol);
        if (!q)
            break;
        jbuf_put(&b, p, (size_t)(q - p));
        jbuf_put(&b, rep.u.s->s, rep.u.s->len);
        p = q + ol;
        done++;
    }
    jbuf_put(&b, p, (size_t)(end - p));
    if (b.failed) {
        jbuf_free(&b);
        return jv_undef();
    }
    return mkstr(E, &b);
}

static bool new_list(ev *E, const jnode *n, jv *l)
{
    *l = jv_list_new(E->a, 0);
    return l->type == JV_LIST || ev_mem_ok(E, n);
}

static bool push(ev *E, const jnode *n, jv l, jv x)
{
    return jv_list_push(E->a, l.u.l, x) || ev_mem_ok(E, n);
}

/* attribute="a.b.0" the way jinja's make_attrgetter walks it. */
static bool attr_path(ev *E, const jnode *n, jv v, jv path, jv *out)
{
    if (path.type == JV_INT)
        return ev_getitem(E, n, v, path, out);
    if (path.type != JV_STR)
        return ev_fail(E, n, "attribute must be a string or an integer");
    const char *p = path.u.s->s;
    while (true) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        char part[128];
        if (len >= sizeof part)
            return ev_fail(E, n, "attribute name too long");
        memcpy(part, p, len);
        part[len] = 0;
        jv key;
        char *end;
        long long k = strtoll(part, &end, 10);
        if (len && *end == 0)
            key = jv_int(k);
        else
            key = jv_str(E->a, part);
        if (v.type == JV_UNDEF) {
            *out = v;
            return true;
        }
        if (!ev_getitem(E, n, v, key, &v))
            return false;
        if (!dot)
            break;
        p = dot + 1;
    }
    *out = v;
    return true;
}

/* ---- tests ------------------------------------------------------------------------------ */
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
        if (v.type != JV_STR) {
            *out = false;
            return true;
        }
        /* str.islower(): no upper-case letter and at least one cased one */
        jv m = casemap(E, v, t[0] == 'l' ? 'l' : 'u'), o = casemap(E, v, t[0] == 'l' ? 'u' : 'l');
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

/* ---- select / reject / map -------------------------------------------------------------- */
/* jinja2's map, select, reject, items, unique and batch are Python generators: a bad input
 * only raises when something iterates the result. Returns true (with *out set to such a
 * generator) when `in` cannot be iterated. */
static bool lazy_error(ev *E, const jnode *n, jv in, const char *msg, jv *out)
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
static bool select_common(ev *E, const jnode *n, jv in, const jargs *A, bool attr, bool keep,
                          jv *out)
{
    jlist *l;
    jv res;
    if (!jv_truthy(in))   /* jinja2 guards with `if value:`: None selects nothing */
        in = jv_undef();
    if (lazy_error(E, n, in, NULL, out))
        return ev_mem_ok(E, n);
    if (!ev_iterate(E, n, in, &l) || !new_list(E, n, &res))
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
        if (attr && !attr_path(E, n, item, attrname, &probe))
            return false;
        bool r;
        if (have_test) {
            if (!jf_test(E, n, tname.u.s->s, probe, &TA, &r))
                return false;
        } else {
            r = jv_truthy(probe);
        }
        if (r == keep && !push(E, n, res, item))
            return false;
    }
    res.gen = 1;
    *out = res;
    return true;
}

static bool do_map(ev *E, const jnode *n, jv in, const jargs *A, jv *out)
{
    jlist *l;
    jv res, attr, def;
    if (!jv_truthy(in))   /* as select: `if value:` */
        in = jv_undef();
    if (lazy_error(E, n, in, NULL, out))
        return ev_mem_ok(E, n);
    if (!ev_iterate(E, n, in, &l) || !new_list(E, n, &res))
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
            if (!attr_path(E, n, l->v[i], attr, &v))
                return false;
            if (v.type == JV_UNDEF && has_def)
                v = def;
        } else if (!jf_filter(E, n, fname.u.s->s, l->v[i], &FA, &v)) {
            return false;
        }
        if (!push(E, n, res, v))
            return false;
    }
    res.gen = 1;
    *out = res;
    return true;
}

/* ---- sorting ---------------------------------------------------------------------------- */
typedef struct sort_item { jv key, val; size_t idx; } sort_item;
typedef struct sort_ctx { ev *E; const jnode *n; bool fail, reverse; } sort_ctx;

static bool sort_key(ev *E, const jnode *n, jv v, bool case_sensitive, jv *out)
{
    if (!case_sensitive && v.type == JV_STR) {
        *out = casemap(E, v, 'l');
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

static bool do_sort(ev *E, const jnode *n, jlist *l, bool reverse, bool cs, jv attr,
                    bool by_value_of_pair, jv *out)
{
    jv res;
    if (!new_list(E, n, &res))
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
            ok = attr_path(E, n, k, attr, &k);
        ok = ok && sort_key(E, n, k, cs, &items[i].key);
        items[i].val = l->v[i];
        items[i].idx = i;
    }
    sort_ctx C = {E, n, false, reverse};
    ok = ok && merge_sort(&C, items, items + l->n, l->n);
    for (size_t i = 0; i < l->n && ok; i++)
        ok = push(E, n, res, items[i].val);
    free(items);
    if (ok)
        *out = res;
    return ok;
}

/* ---- filters ---------------------------------------------------------------------------- */
static const char *const filter_names[] = {
    "abs", "attr", "capitalize", "count", "length", "default", "d", "dictsort", "escape", "e",
    "forceescape", "first", "last", "float", "int", "indent", "items", "join", "list", "lower",
    "upper", "map", "max", "min", "reject", "rejectattr", "select", "selectattr", "replace",
    "reverse", "round", "safe", "sort", "string", "sum", "title", "tojson", "trim", "unique",
    "wordcount", "center", "batch", "format", NULL};

bool jf_filter_exists(const char *name)
{
    for (int i = 0; filter_names[i]; i++)
        if (!strcmp(filter_names[i], name))
            return true;
    return false;
}

/* |indent(width=4, first=False, blank=False), jinja2 3.x: lines split like str.splitlines
 * after appending "\n"; blank lines stay empty unless blank=True. */
static bool do_indent(ev *E, const jnode *n, jv s, const jargs *A, jv *out)
{
    jv w = jv_int(4), first = jv_bool(false), blank = jv_bool(false);
    jarg(A, 0, "width", &w);
    jarg(A, 1, "first", &first);
    jarg(A, 2, "blank", &blank);
    jbuf ind = {.limit = 4096};
    if (w.type == JV_STR)
        jbuf_put(&ind, w.u.s->s, w.u.s->len);
    else if (w.type == JV_INT && w.u.i >= 0 && w.u.i <= 1024)
        for (int64_t i = 0; i < w.u.i; i++)
            jbuf_put(&ind, " ", 1);
    else {
        jbuf_free(&ind);
        return ev_fail(E, n, "indent: width must be a string or an integer in 0..1024");
    }
    const char *in = ind.p ? ind.p : "";
    jbuf b = {.limit = E->env->lim.max_output};
    if (jv_truthy(first))
        jbuf_puts(&b, in);
    const char *p = s.u.s->s, *end = p + s.u.s->len;
    bool firstline = true;
    while (p < end) {
        const char *q = p;
        while (q < end && *q != '\n' && *q != '\r')
            q++;
        size_t ll = (size_t)(q - p);
        if (!firstline) {
            jbuf_put(&b, "\n", 1);
            if (ll || jv_truthy(blank))
                jbuf_puts(&b, in);
        }
        jbuf_put(&b, p, ll);
        firstline = false;
        if (q < end && *q == '\r' && q + 1 < end && q[1] == '\n')
            q++;
        p = q < end ? q + 1 : q;
        if (q < end && p == end) {   /* text ended with a newline: one empty last line */
            jbuf_put(&b, "\n", 1);
            if (jv_truthy(blank))
                jbuf_puts(&b, in);
        }
    }
    jbuf_free(&ind);
    *out = mkstr(E, &b);
    return ev_mem_ok(E, n);
}

static bool do_join(ev *E, const jnode *n, jv in, const jargs *A, jv *out)
{
    jv sep = jv_strn(E->a, "", 0), attr = jv_undef();
    jarg(A, 0, "d", &sep);
    jarg(A, 1, "attribute", &attr);
    jlist *l;
    if (!ev_iterate(E, n, in, &l) || !need_str(E, n, "join", sep, &sep))
        return false;
    jbuf b = {.limit = E->env->lim.max_output};
    for (size_t i = 0; i < l->n; i++) {
        jv v = l->v[i];
        if (attr.type != JV_UNDEF && !attr_path(E, n, v, attr, &v)) {
            jbuf_free(&b);
            return false;
        }
        if (i)
            jbuf_put(&b, sep.u.s->s, sep.u.s->len);
        if (v.type != JV_UNDEF && !jv_to_str(&b, v, 0)) {
            jbuf_free(&b);
            return ev_fail(E, n, "join: result too large");
        }
    }
    if (b.failed) {
        jbuf_free(&b);
        return ev_fail(E, n, "join: result too large");
    }
    *out = mkstr(E, &b);
    return ev_mem_ok(E, n);
}

/* HF: json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False). */
static bool do_tojson(ev *E, const jnode *n, jv in, const jargs *A, jv *out)
{
    jv ea = jv_bool(false), ind = jv_none(), seps = jv_none(), sk = jv_bool(false);
    jarg(A, 0, "ensure_ascii", &ea);
    jarg(A, 1, "indent", &ind);
    jarg(A, 2, "separators", &seps);
    jarg(A, 3, "sort_keys", &sk);
    char indent[256];
    const char *ip = NULL;
    if (ind.type == JV_INT) {
        int64_t k = ind.u.i < 0 ? 0 : ind.u.i > 64 ? 64 : ind.u.i;
        memset(indent, ' ', (size_t)k);
        indent[k] = 0;
        ip = indent;
    } else if (ind.type == JV_STR) {
        snprintf(indent, sizeof indent, "%s", ind.u.s->s);
        ip = indent;
    } else if (ind.type != JV_NONE && ind.type != JV_UNDEF) {
        return ev_fail(E, n, "tojson: indent must be an integer or a string");
    }
    const char *is = NULL, *ks = NULL;
    if (seps.type == JV_LIST) {
        if (seps.u.l->n != 2 || seps.u.l->v[0].type != JV_STR || seps.u.l->v[1].type != JV_STR)
            return ev_fail(E, n, "tojson: separators must be a pair of strings");
        is = seps.u.l->v[0].u.s->s;
        ks = seps.u.l->v[1].u.s->s;
    }
    jbuf b = {.limit = E->env->lim.max_output};
    char err[200];
    if (!jv_to_json(&b, in, jv_truthy(ea), ip, is, ks, jv_truthy(sk), err, sizeof err)) {
        jbuf_free(&b);
        return ev_fail(E, n, "%s", err);
    }
    *out = mkstr(E, &b);
    return ev_mem_ok(E, n);
}

static bool num_arg(const jargs *A, size_t i, const char *name, jv def, jv *out)
{
    if (!jarg(A, i, name, out))
        *out = def;
    return true;
}

static bool do_int_float(ev *E, const jnode *n, jv in, const jargs *A, bool is_int, jv *out)
{
    jv def;
    num_arg(A, 0, "default", is_int ? jv_int(0) : jv_float(0.0), &def);
    switch (in.type) {
    case JV_UNDEF: return ev_undef_fail(E, n, in);   /* Undefined.__int__ raises */
    case JV_INT: *out = is_int ? in : jv_float((double)in.u.i); return true;
    case JV_BOOL: *out = is_int ? jv_int(in.u.b) : jv_float(in.u.b); return true;
    case JV_FLOAT:
        if (is_int && (isnan(in.u.f) || fabs(in.u.f) >= 9.2e18)) {
            *out = def;
            return true;
        }
        *out = is_int ? jv_int((int64_t)in.u.f) : in;
        return true;
    case JV_STR: {
        jv t = strip(E, in, true, true, NULL);
        if (t.type != JV_STR)
            return ev_mem_ok(E, n);
        char *end;
        const char *s = t.u.s->s;
        if (is_int) {
            jv base = jv_int(10);
            jarg(A, 1, "base", &base);
            long long v = strtoll(s, &end, base.type == JV_INT ? (int)base.u.i : 10);
            if (*s && !*end) {
                *out = jv_int(v);
                return true;
            }
        }
        double d = strtod(s, &end);
        if (*s && !*end && !isnan(d) && (!is_int || fabs(d) < 9.2e18)) {
            *out = is_int ? jv_int((int64_t)d) : jv_float(d);
            return true;
        }
        *out = def;
        return true;
    }
    default:
        *out = def;
        return true;
    }
}

static bool minmax(ev *E, const jnode *n, jv in, const jargs *A, bool want_max, jv *out)
{
    jlist *l;
    jv cs = jv_bool(false), attr = jv_undef();
    jarg(A, 0, "case_sensitive", &cs);
    jarg(A, 1, "attribute", &attr);
    if (!ev_iterate(E, n, in, &l))
        return false;
    if (l->n == 0) {
        *out = jv_undef_msg(E->a, "No aggregated item, sequence was empty.");
        return true;
    }
    jv best = l->v[0], bk = best;
    if (attr.type != JV_UNDEF && !attr_path(E, n, best, attr, &bk))
        return false;
    if (!sort_key(E, n, bk, jv_truthy(cs), &bk))
        return false;
    for (size_t i = 1; i < l->n; i++) {
        jv k = l->v[i];
        int c;
        if (attr.type != JV_UNDEF && !attr_path(E, n, k, attr, &k))
            return false;
        if (!sort_key(E, n, k, jv_truthy(cs), &k) || !ev_compare(E, n, k, bk, &c))
            return false;
        if (want_max ? c > 0 : c < 0) {
            best = l->v[i];
            bk = k;
        }
    }
    *out = best;
    return true;
}

static bool do_unique(ev *E, const jnode *n, jv in, const jargs *A, jv *out)
{
    jlist *l;
    jv res, cs = jv_bool(false), attr = jv_undef();
    jarg(A, 0, "case_sensitive", &cs);
    jarg(A, 1, "attribute", &attr);
    if (lazy_error(E, n, in, NULL, out))
        return ev_mem_ok(E, n);
    if (!ev_iterate(E, n, in, &l) || !new_list(E, n, &res))
        return false;
    jv seen;
    if (!new_list(E, n, &seen))
        return false;
    for (size_t i = 0; i < l->n; i++) {
        jv k = l->v[i];
        if (attr.type != JV_UNDEF && !attr_path(E, n, k, attr, &k))
            return false;
        if (!sort_key(E, n, k, jv_truthy(cs), &k))
            return false;
        bool dup = false;
        for (size_t j = 0; j < seen.u.l->n && !dup; j++)
            dup = jv_equal(seen.u.l->v[j], k, 0);
        if (!dup && (!push(E, n, seen, k) || !push(E, n, res, l->v[i])))
            return false;
    }
    res.gen = 1;
    *out = res;
    return true;
}

static bool do_length(ev *E, const jnode *n, jv in, jv *out)
{
    if (in.type == JV_LIST && in.gen)
        return ev_fail(E, n, "object of type '%s' has no len()", jv_type_name(in));
    switch (in.type) {
    case JV_UNDEF: *out = jv_int(0); return true;
    case JV_STR: *out = jv_int((int64_t)jutf8_len(in.u.s->s, in.u.s->len)); return true;
    case JV_LIST: *out = jv_int((int64_t)in.u.l->n); return true;
    case JV_DICT: case JV_NS: *out = jv_int((int64_t)in.u.d->n); return true;
    default: return ev_fail(E, n, "object of type '%s' has no len()", jv_type_name(in));
    }
}

static bool do_items(ev *E, const jnode *n, jv in, jv *out)
{
    jv res;
    if (!new_list(E, n, &res))
        return false;
    if (in.type == JV_UNDEF) {
        *out = res;
        return true;
    }
    if (in.type != JV_DICT)
        return ev_fail(E, n, "Can only get item pairs from a mapping, not %s", jv_type_name(in));
    for (size_t i = 0; i < in.u.d->n; i++) {
        jv pair = jv_list_new(E->a, 2);
        if (pair.type != JV_LIST)
            return ev_mem_ok(E, n);
        pair.tuple = 1;
        jv_list_push(E->a, pair.u.l, in.u.d->k[i]);
        jv_list_push(E->a, pair.u.l, in.u.d->v[i]);
        if (!push(E, n, res, pair))
            return false;
    }
    *out = res;
    return true;
}

static bool first_last(ev *E, const jnode *n, jv in, bool last, jv *out)
{
    jlist *l;
    if (!ev_iterate(E, n, in, &l))
        return false;
    if (l->n == 0)
        *out = jv_undef_msg(E->a, "No %s item, sequence was empty.", last ? "last" : "first");
    else
        *out = l->v[last ? l->n - 1 : 0];
    return true;
}

static bool do_escape(ev *E, const jnode *n, jv in, jv *out)
{
    if (in.safe) {
        *out = in;
        return true;
    }
    jv s;
    if (!need_str(E, n, "escape", in, &s))
        return false;
    jbuf b = {.limit = E->env->lim.max_output};
    for (size_t i = 0; i < s.u.s->len; i++) {
        char c = s.u.s->s[i];
        const char *r = c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;"
                      : c == '"' ? "&#34;" : c == '\'' ? "&#39;" : NULL;
        if (r)
            jbuf_puts(&b, r);
        else
            jbuf_put(&b, &c, 1);
    }
    *out = mkstr(E, &b);
    out->safe = 1;
    return ev_mem_ok(E, n);
}

static bool do_reverse(ev *E, const jnode *n, jv in, jv *out)
{
    jlist *l;
    if (!ev_iterate(E, n, in, &l))
        return false;
    if (in.type == JV_STR) {
        jbuf b = {.limit = in.u.s->len + 1};
        for (size_t i = l->n; i-- > 0;)
            jbuf_put(&b, l->v[i].u.s->s, l->v[i].u.s->len);
        *out = mkstr(E, &b);
        return ev_mem_ok(E, n);
    }
    jv res;
    if (!new_list(E, n, &res))
        return false;
    for (size_t i = l->n; i-- > 0;)
        if (!push(E, n, res, l->v[i]))
            return false;
    res.gen = 2;   /* reversed(list) */
    *out = res;
    return true;
}

static bool do_sum(ev *E, const jnode *n, jv in, const jargs *A, jv *out)
{
    jlist *l;
    jv attr = jv_undef(), acc = jv_int(0);
    jarg(A, 0, "attribute", &attr);
    jarg(A, 1, "start", &acc);
    if (!ev_iterate(E, n, in, &l))
        return false;
    for (size_t i = 0; i < l->n; i++) {
        jv v = l->v[i];
        if (attr.type != JV_UNDEF && !attr_path(E, n, v, attr, &v))
            return false;
        if (!jv_is_num(v) || !jv_is_num(acc))
            return ev_fail(E, n, "sum: unsupported operand type(s) for +: '%s' and '%s'",
                           jv_type_name(acc), jv_type_name(v));
        if (acc.type == JV_FLOAT || v.type == JV_FLOAT)
            acc = jv_float(jv_num(acc) + jv_num(v));
        else {
            int64_t r;
            if (__builtin_add_overflow(acc.type == JV_BOOL ? acc.u.b : acc.u.i,
                                       v.type == JV_BOOL ? v.u.b : v.u.i, &r))
                return ev_fail(E, n, "sum: integer overflow");
            acc = jv_int(r);
        }
    }
    *out = acc;
    return true;
}

static bool do_round(ev *E, const jnode *n, jv in, const jargs *A, jv *out)
{
    jv prec = jv_int(0), method = jv_undef();
    jarg(A, 0, "precision", &prec);
    jarg(A, 1, "method", &method);
    if (!jv_is_num(in) || prec.type != JV_INT || prec.u.i < -20 || prec.u.i > 20)
        return ev_fail(E, n, "round needs a number and an integer precision");
    double x = jv_num(in), m = pow(10.0, (double)prec.u.i), r;
    if (jv_is_str(method, "floor"))
        r = floor(x * m) / m;
    else if (jv_is_str(method, "ceil"))
        r = ceil(x * m) / m;
    else if (method.type == JV_UNDEF || jv_is_str(method, "common")) {
        if (in.type != JV_FLOAT) {   /* round(int, n) is that int in Python */
            *out = jv_int(in.type == JV_BOOL ? in.u.b : in.u.i);
            return true;
        }
        r = nearbyint(x * m) / m;   /* Python's round: halves to even */
    }
    else
        return ev_fail(E, n, "round: method must be 'common', 'ceil' or 'floor'");
    *out = jv_float(r);
    return true;
}

static bool do_wordcount(ev *E, const jnode *n, jv in, jv *out)
{
    jv s;
    if (!need_str(E, n, "wordcount", in, &s))
        return false;
    int64_t k = 0;
    bool inword = false;
    for (size_t i = 0; i < s.u.s->len; i++) {
        unsigned char c = (unsigned char)s.u.s->s[i];
        bool w = c >= 0x80 || c == '_' || (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z');
        k += w && !inword;
        inword = w;
    }
    *out = jv_int(k);
    return true;
}

static bool do_center(ev *E, const jnode *n, jv in, const jargs *A, jv *out)
{
    jv w = jv_int(80), s;
    jarg(A, 0, "width", &w);
    if (!need_str(E, n, "center", in, &s))
        return false;
    if (w.type != JV_INT || w.u.i > 4096)
        return ev_fail(E, n, "center: width must be an integer up to 4096");
    int64_t len = (int64_t)jutf8_len(s.u.s->s, s.u.s->len), pad = w.u.i - len;
    if (pad <= 0) {
        *out = s;
        return true;
    }
    /* Python: left = pad // 2 + (pad & width & 1) */
    int64_t left = pad / 2 + (pad & w.u.i & 1);
    jbuf b = {.limit = E->env->lim.max_output};
    for (int64_t i = 0; i < left; i++)
        jbuf_put(&b, " ", 1);
    jbuf_put(&b, s.u.s->s, s.u.s->len);
    for (int64_t i = 0; i < pad - left; i++)
        jbuf_put(&b, " ", 1);
    *out = mkstr(E, &b);
    return ev_mem_ok(E, n);
}

static bool do_batch(ev *E, const jnode *n, jv in, const jargs *A, jv *out)
{
    jv cnt, fill = jv_undef(), res, cur = jv_undef();
    jlist *l;
    if (!jarg(A, 0, "linecount", &cnt) || cnt.type != JV_INT || cnt.u.i <= 0)
        return ev_fail(E, n, "batch needs a positive line count");
    jarg(A, 1, "fill_with", &fill);
    if (lazy_error(E, n, in, NULL, out))
        return ev_mem_ok(E, n);
    if (!ev_iterate(E, n, in, &l) || !new_list(E, n, &res))
        return false;
    for (size_t i = 0; i < l->n; i++) {
        if (cur.type != JV_LIST || (int64_t)cur.u.l->n == cnt.u.i) {
            if (!new_list(E, n, &cur) || !push(E, n, res, cur))
                return false;
        }
        if (!push(E, n, cur, l->v[i]))
            return false;
    }
    while (fill.type != JV_UNDEF && cur.type == JV_LIST && (int64_t)cur.u.l->n < cnt.u.i)
        if (!push(E, n, cur, fill))
            return false;
    res.gen = 1;
    *out = res;
    return true;
}

bool jf_filter(ev *E, const jnode *n, const char *f, jv in, const jargs *A, jv *out)
{
    jv a0, a1, a2, s;
    if (!strcmp(f, "length") || !strcmp(f, "count"))
        return do_length(E, n, in, out);
    if (!strcmp(f, "default") || !strcmp(f, "d")) {
        jv def = jv_strn(E->a, "", 0), boolean = jv_bool(false);
        jarg(A, 0, "default_value", &def);
        jarg(A, 1, "boolean", &boolean);
        *out = (in.type == JV_UNDEF || (jv_truthy(boolean) && !jv_truthy(in))) ? def : in;
        return ev_mem_ok(E, n);
    }
    if (!strcmp(f, "tojson"))
        return do_tojson(E, n, in, A, out);
    if (!strcmp(f, "items")) {   /* jinja2 3.1's |items is a generator; dict.items() is not */
        if (in.type != JV_DICT && in.type != JV_UNDEF) {
            jv g = jv_list_new(E->a, 0), m = jv_str(E->a, "Can only get item pairs from a mapping.");
            if (g.type == JV_LIST && m.type == JV_STR)
                g.u.l->err = m.u.s;
            g.gen = 1;
            *out = g;
            return ev_mem_ok(E, n);
        }
        if (!do_items(E, n, in, out))
            return false;
        out->gen = 1;
        return true;
    }
    if (!strcmp(f, "safe")) {
        if (!need_str(E, n, f, in, out))
            return false;
        out->safe = 1;
        return true;
    }
    if (!strcmp(f, "string"))
        return in.type == JV_UNDEF ? need_str(E, n, f, in, out) : ev_to_strv(E, n, in, out);
    if (!strcmp(f, "list")) {
        jlist *l;
        jv res;
        if (!ev_iterate(E, n, in, &l) || !new_list(E, n, &res))
            return false;
        for (size_t i = 0; i < l->n; i++)
            if (!push(E, n, res, l->v[i]))
                return false;
        *out = res;
        return true;
    }
    if (!strcmp(f, "first") || !strcmp(f, "last"))
        return first_last(E, n, in, f[0] == 'l', out);
    if (!strcmp(f, "join"))
        return do_join(E, n, in, A, out);
    if (!strcmp(f, "map"))
        return do_map(E, n, in, A, out);
    if (!strcmp(f, "select") || !strcmp(f, "reject"))
        return select_common(E, n, in, A, false, f[0] == 's', out);
    if (!strcmp(f, "selectattr") || !strcmp(f, "rejectattr"))
        return select_common(E, n, in, A, true, f[0] == 's', out);
    if (!strcmp(f, "unique"))
        return do_unique(E, n, in, A, out);
    if (!strcmp(f, "max") || !strcmp(f, "min"))
        return minmax(E, n, in, A, f[1] == 'a', out);
    if (!strcmp(f, "sum"))
        return do_sum(E, n, in, A, out);
    if (!strcmp(f, "reverse"))
        return do_reverse(E, n, in, out);
    if (!strcmp(f, "int") || !strcmp(f, "float"))
        return do_int_float(E, n, in, A, f[0] == 'i', out);
    if (!strcmp(f, "abs")) {
        if (in.type == JV_INT && in.u.i != INT64_MIN)
            *out = jv_int(in.u.i < 0 ? -in.u.i : in.u.i);
        else if (in.type == JV_FLOAT)
            *out = jv_float(fabs(in.u.f));
        else if (in.type == JV_BOOL)
            *out = jv_int(in.u.b);
        else
            return ev_fail(E, n, "bad operand type for abs(): '%s'", jv_type_name(in));
        return true;
    }
    if (!strcmp(f, "round"))
        return do_round(E, n, in, A, out);
    if (!strcmp(f, "attr")) {
        if (!jarg(A, 0, "name", &a0) || a0.type != JV_STR)
            return ev_fail(E, n, "attr needs an attribute name");
        return ev_getattr(E, n, in, a0.u.s->s, out);
    }
    if (!strcmp(f, "sort") || !strcmp(f, "dictsort")) {
        jv rev = jv_bool(false), cs = jv_bool(false), attr = jv_undef(), by = jv_undef();
        jlist *l;
        if (f[0] == 's') {
            jarg(A, 0, "reverse", &rev);
            jarg(A, 1, "case_sensitive", &cs);
            jarg(A, 2, "attribute", &attr);
            return ev_iterate(E, n, in, &l)
                   && do_sort(E, n, l, jv_truthy(rev), jv_truthy(cs), attr, false, out);
        }
        jarg(A, 0, "case_sensitive", &cs);
        jarg(A, 1, "by", &by);
        jarg(A, 2, "reverse", &rev);
        jv pairs;
        if (in.type == JV_UNDEF)
            return ev_undef_fail(E, n, in);
        if (!do_items(E, n, in, &pairs))
            return false;
        return do_sort(E, n, pairs.u.l, jv_truthy(rev), jv_truthy(cs), jv_undef(),
                       jv_is_str(by, "value"), out) || (jv_is_str(by, "value") && false);
    }
    if (!strcmp(f, "escape") || !strcmp(f, "e") || !strcmp(f, "forceescape")) {
        if (f[0] == 'f')
            in.safe = 0;
        return do_escape(E, n, in, out);
    }
    if (!strcmp(f, "wordcount"))
        return do_wordcount(E, n, in, out);
    if (!strcmp(f, "format")) {   /* soft_str(value) % (kwargs or args) */
        if (A->npos && A->nkw)
            return ev_fail(E, n, "can't handle positional and keyword arguments at the same time");
        jv args = jv_list_new(E->a, A->npos);
        if (A->nkw) {
            args = jv_dict_new(E->a, A->nkw);
            for (size_t i = 0; args.type == JV_DICT && i < A->nkw; i++)
                jv_dict_set(E->a, args.u.d, jv_str(E->a, A->kwn[i]), A->kwv[i]);
        } else {
            for (size_t i = 0; args.type == JV_LIST && i < A->npos; i++)
                jv_list_push(E->a, args.u.l, A->pos[i]);
            args.tuple = 1;
        }
        if (!ev_mem_ok(E, n) || !need_str(E, n, f, in, &s))
            return false;
        return jf_printf(E, n, s, args, out);
    }
    if (!strcmp(f, "center"))
        return do_center(E, n, in, A, out);
    if (!strcmp(f, "batch"))
        return do_batch(E, n, in, A, out);
    /* the rest take a string */
    if (!need_str(E, n, f, in, &s))
        return false;
    if (!strcmp(f, "trim")) {
        jv chars = jv_none();
        jarg(A, 0, "chars", &chars);
        *out = strip(E, s, true, true, chars.type == JV_STR ? &chars : NULL);
    } else if (!strcmp(f, "upper")) {
        *out = casemap(E, s, 'u');
    } else if (!strcmp(f, "lower")) {
        *out = casemap(E, s, 'l');
    } else if (!strcmp(f, "title")) {
        *out = casemap(E, s, 't');
    } else if (!strcmp(f, "capitalize")) {
        *out = casemap(E, s, 'c');
    } else if (!strcmp(f, "indent")) {
        if (in.type != JV_STR)   /* jinja2 does s += "\n" first: only strings indent */
            return ev_fail(E, n, "unsupported operand type(s) for +=: '%s' and 'str'",
                           jv_type_name(in));
        if (!do_indent(E, n, s, A, out))
            return false;
    } else if (!strcmp(f, "replace")) {
        jv cnt = jv_none();
        if (!jarg(A, 0, "old", &a0) || !jarg(A, 1, "new", &a1))
            return ev_fail(E, n, "replace needs two arguments (old, new)");
        jarg(A, 2, "count", &cnt);
        if (!need_str(E, n, f, a0, &a0) || !need_str(E, n, f, a1, &a1))
            return false;
        *out = replace(E, s, a0, a1, cnt.type == JV_INT ? cnt.u.i : -1);
        if (out->type != JV_STR && !E->a->exhausted)
            return ev_fail(E, n, "replace: result larger than the output limit");
    } else {
        (void)a2;
        return ev_fail(E, n, "No filter named '%s'.", f);
    }
    /* markupsafe keeps Markup through strip, upper, lower, title, capitalize and indent */
    if (out->type == JV_STR && strcmp(f, "replace"))
        out->safe = s.safe;
    return ev_mem_ok(E, n);
}

/* ---- methods ---------------------------------------------------------------------------- */
static const char *const str_methods[] = {
    "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith", "endswith",
    "upper", "lower", "title", "capitalize", "replace", "find", "rfind", "count", "join",
    "isdigit", "isalpha", "isalnum", "isspace", "isupper", "islower", NULL};
static const char *const dict_methods[] = {"items", "keys", "values", "get", "copy", NULL};
static const char *const list_methods[] = {"index", "count", "copy", NULL};

bool jf_method_exists(jv self, const char *name)
{
    const char *const *m = self.type == JV_STR ? str_methods : self.type == JV_DICT ? dict_methods
                         : self.type == JV_LIST ? list_methods : NULL;
    for (; m && *m; m++)
        if (!strcmp(*m, name))
            return true;
    return false;
}

/* str.split / rsplit; sep None splits on whitespace runs and drops empty pieces. */
static bool do_split(ev *E, const jnode *n, jv s, const jargs *A, jv *out)
{
    jv sep = jv_none(), maxs = jv_int(-1), res;
    jarg(A, 0, "sep", &sep);
    jarg(A, 1, "maxsplit", &maxs);
    if (!new_list(E, n, &res))
        return false;
    int64_t left = maxs.type == JV_INT ? maxs.u.i : -1;
    const char *p = s.u.s->s, *end = p + s.u.s->len;
    if (sep.type == JV_NONE || sep.type == JV_UNDEF) {
        while (p < end) {
            while (p < end && is_ws((unsigned char)*p))
                p++;
            if (p == end)
                break;
            const char *q = p;
            if (left == 0)
                q = end;
            else
                while (q < end && !is_ws((unsigned char)*q))
                    q++;
            if (!push(E, n, res, jv_strn(E->a, p, (size_t)(q - p))))
                return false;
            if (left > 0)
                left--;
            p = q;
            if (left == 0) {   /* the rest, with leading whitespace stripped, is one piece */
                while (p < end && is_ws((unsigned char)*p))
                    p++;
                jv rest = strip(E, jv_strn(E->a, p, (size_t)(end - p)), false, true, NULL);
                if (p < end && !push(E, n, res, rest))
                    return false;
                break;
            }
        }
        *out = res;
        return ev_mem_ok(E, n);
    }
    if (sep.type != JV_STR)
        return ev_fail(E, n, "split: the separator must be a string or None");
    if (sep.u.s->len == 0)
        return ev_fail(E, n, "empty separator");
    for (;;) {
        const char *q = left == 0 ? NULL : memmem(p, (size_t)(end - p), sep.u.s->s, sep.u.s->len);
        if (!q) {
            if (!push(E, n, res, jv_strn(E->a, p, (size_t)(end - p))))
                return false;
            break;
        }
        if (!push(E, n, res, jv_strn(E->a, p, (size_t)(q - p))))
            return false;
        p = q + sep.u.s->len;
        if (left > 0)
            left--;
    }
    *out = res;
    return ev_mem_ok(E, n);
}

static bool affix(ev *E, const jnode *n, jv s, const jargs *A, bool start, jv *out)
{
    jv x;
    if (!jarg(A, 0, NULL, &x))
        return ev_fail(E, n, "%s needs an argument", start ? "startswith" : "endswith");
    jlist one = {1, 1, &x, NULL};
    jlist *cands = x.type == JV_LIST ? x.u.l : &one;
    *out = jv_bool(false);
    for (size_t i = 0; i < cands->n; i++) {
        jv c = cands->v[i];
        if (c.type != JV_STR)
            return ev_fail(E, n, "%s first arg must be str or a tuple of str, not %s",
                           start ? "startswith" : "endswith", jv_type_name(c));
        size_t cl = c.u.s->len, sl = s.u.s->len;
        if (cl <= sl && !memcmp(start ? s.u.s->s : s.u.s->s + sl - cl, c.u.s->s, cl))
            *out = jv_bool(true);
    }
    return true;
}

static bool str_class(jv s, const char *what)
{
    if (s.u.s->len == 0)
        return false;
    bool any_cased = false;
    for (size_t i = 0; i < s.u.s->len; i++) {
        unsigned char c = (unsigned char)s.u.s->s[i];
        bool digit = c >= '0' && c <= '9', alpha = (c | 32) >= 'a' && (c | 32) <= 'z';
        if (!strcmp(what, "isdigit") && !digit) return false;
        if (!strcmp(what, "isalpha") && !alpha) return false;
        if (!strcmp(what, "isalnum") && !alpha && !digit) return false;
        if (!strcmp(what, "isspace") && !is_ws(c)) return false;
        if (!strcmp(what, "isupper") && c >= 'a' && c <= 'z') return false;
        if (!strcmp(what, "islower") && c >= 'A' && c <= 'Z') return false;
        any_cased |= alpha;
    }
    return strcmp(what, "isupper") && strcmp(what, "islower") ? true : any_cased;
}

static bool str_method(ev *E, const jnode *n, jv s, const char *m, const jargs *A, jv *out)
{
    jv a0, a1;
    if (!strcmp(m, "strip") || !strcmp(m, "lstrip") || !strcmp(m, "rstrip")) {
        jv chars = jv_none();
        jarg(A, 0, "chars", &chars);
        *out = strip(E, s, m[0] != 'r', m[0] != 'l', chars.type == JV_STR ? &chars : NULL);
    } else if (!strcmp(m, "split") || !strcmp(m, "rsplit")) {
        return do_split(E, n, s, A, out);   /* rsplit without maxsplit is the same */
    } else if (!strcmp(m, "splitlines")) {
        jv res;
        if (!new_list(E, n, &res))
            return false;
        const char *p = s.u.s->s, *end = p + s.u.s->len;
        while (p < end) {
            const char *q = p;
            while (q < end && *q != '\n' && *q != '\r')
                q++;
            if (!push(E, n, res, jv_strn(E->a, p, (size_t)(q - p))))
                return false;
            if (q < end && *q == '\r' && q + 1 < end && q[1] == '\n')
                q++;
            p = q < end ? q + 1 : q;
        }
        *out = res;
    } else if (!strcmp(m, "startswith") || !strcmp(m, "endswith")) {
        return affix(E, n, s, A, m[0] == 's', out);
    } else if (!strcmp(m, "upper") || !strcmp(m, "lower") || !strcmp(m, "capitalize")) {
        *out = casemap(E, s, m[0] == 'u' ? 'u' : m[0] == 'l' ? 'l' : 'c');
    } else if (!strcmp(m, "title")) {
        *out = casemap(E, s, 'T');
    } else if (!strcmp(m, "replace")) {
        jv cnt = jv_int(-1);
        if (!jarg(A, 0, NULL, &a0) || !jarg(A, 1, NULL, &a1) || a0.type != JV_STR
            || a1.type != JV_STR)
            return ev_fail(E, n, "replace needs two string arguments");
        jarg(A, 2, "count", &cnt);
        *out = replace(E, s, a0, a1, cnt.type == JV_INT ? cnt.u.i : -1);
        if (out->type != JV_STR && !E->a->exhausted)
            return ev_fail(E, n, "replace: result larger than the output limit");
    } else if (!strcmp(m, "find") || !strcmp(m, "rfind") || !strcmp(m, "count")) {
        if (!jarg(A, 0, NULL, &a0) || a0.type != JV_STR)
            return ev_fail(E, n, "%s needs a string argument", m);
        const char *p = s.u.s->s, *end = p + s.u.s->len, *hit = NULL;
        int64_t cnt = 0;
        size_t nl = a0.u.s->len;
        for (const char *q = p; q + nl <= end;) {
            const char *h = nl ? memmem(q, (size_t)(end - q), a0.u.s->s, nl) : q;
            if (!h)
                break;
            if (!hit || m[0] == 'r')
                hit = h;
            cnt++;
            if (m[0] == 'f')
                break;
            q = h + (nl ? nl : 1);
        }
        if (!strcmp(m, "count"))
            *out = jv_int(cnt);
        else
            *out = jv_int(hit ? (int64_t)jutf8_len(p, (size_t)(hit - p)) : -1);
    } else if (!strcmp(m, "join")) {
        jargs J = {0};
        J.pos[0] = s;
        J.npos = 1;
        if (!jarg(A, 0, NULL, &a0))
            return ev_fail(E, n, "join needs an iterable argument");
        return do_join(E, n, a0, &J, out);
    } else if (!strncmp(m, "is", 2)) {
        *out = jv_bool(str_class(s, m));
    } else {
        return ev_fail(E, n, "'str' object has no attribute '%s'", m);
    }
    return ev_mem_ok(E, n);
}

bool jf_method(ev *E, const jnode *n, jv self, const char *m, const jargs *A, jv *out)
{
    jv a0;
    if (self.type == JV_STR)
        return str_method(E, n, self, m, A, out);
    if (self.type == JV_DICT) {
        if (!strcmp(m, "items"))
            return do_items(E, n, self, out);
        if (!strcmp(m, "keys") || !strcmp(m, "values")) {
            jv res;
            if (!new_list(E, n, &res))
                return false;
            for (size_t i = 0; i < self.u.d->n; i++)
                if (!push(E, n, res, m[0] == 'k' ? self.u.d->k[i] : self.u.d->v[i]))
                    return false;
            *out = res;
            return true;
        }
        if (!strcmp(m, "get")) {
            if (!jarg(A, 0, NULL, &a0))
                return ev_fail(E, n, "get expected at least 1 argument, got 0");
            jv *v = jv_dict_get(self.u.d, a0);
            if (v)
                *out = *v;
            else if (!jarg(A, 1, NULL, out))
                *out = jv_none();
            return true;
        }
        if (!strcmp(m, "copy")) {
            jv d = jv_dict_new(E->a, self.u.d->n);
            for (size_t i = 0; d.type == JV_DICT && i < self.u.d->n; i++)
                jv_dict_set(E->a, d.u.d, self.u.d->k[i], self.u.d->v[i]);
            *out = d;
            return ev_mem_ok(E, n);
        }
    }
    if (self.type == JV_LIST) {
        if (!strcmp(m, "copy"))
            return jf_filter(E, n, "list", self, A, out);
        if (!jarg(A, 0, NULL, &a0))
            return ev_fail(E, n, "%s() takes exactly one argument", m);
        int64_t cnt = 0, at = -1;
        for (size_t i = 0; i < self.u.l->n; i++)
            if (jv_equal(self.u.l->v[i], a0, 0)) {
                cnt++;
                if (at < 0)
                    at = (int64_t)i;
            }
        if (!strcmp(m, "count")) {
            *out = jv_int(cnt);
            return true;
        }
        if (at < 0)
            return ev_fail(E, n, "list.index(x): x not in list");
        *out = jv_int(at);
        return true;
    }
    return ev_fail(E, n, "'%s' object has no attribute '%s'", jv_type_name(self), m);
}

/* ---- global functions ------------------------------------------------------------------- */
static const char *const func_names[] = {"range", "namespace", "dict", "raise_exception",
                                         "strftime_now", NULL};

int jf_func_find(const char *name)
{
    for (int i = 0; func_names[i]; i++)
        if (!strcmp(func_names[i], name))
            return i;
    return -1;
}

#define MAX_RANGE 100000   /* jinja2.sandbox.MAX_RANGE */

static bool do_range(ev *E, const jnode *n, const jargs *A, jv *out)
{
    int64_t v[3] = {0, 0, 1};
    if (A->npos < 1 || A->npos > 3 || A->nkw)
        return ev_fail(E, n, "range expected 1 to 3 integer arguments, got %zu", A->npos);
    for (size_t i = 0; i < A->npos; i++) {
        if (A->pos[i].type != JV_INT && A->pos[i].type != JV_BOOL)
            return ev_fail(E, n, "'%s' object cannot be interpreted as an integer",
                           jv_type_name(A->pos[i]));
        v[A->npos == 1 ? 1 : i] = A->pos[i].type == JV_INT ? A->pos[i].u.i : A->pos[i].u.b;
    }
    if (v[2] == 0)
        return ev_fail(E, n, "range() arg 3 must not be zero");
    double count = ceil(((double)v[1] - (double)v[0]) / (double)v[2]);
    if (count > MAX_RANGE)
        return ev_fail(E, n, "Range too big. The sandbox blocks ranges larger than "
                       "MAX_RANGE (%d).", MAX_RANGE);
    jv res = jv_list_new(E->a, count > 0 ? (size_t)count : 0);
    if (res.type != JV_LIST)
        return ev_mem_ok(E, n);
    for (int64_t i = v[0]; v[2] > 0 ? i < v[1] : i > v[1]; i += v[2])
        if (!push(E, n, res, jv_int(i)))
            return false;
    *out = res;
    return true;
}

/* namespace(...) and dict(...): optional mapping positional argument, then keywords. */
static bool do_mapping(ev *E, const jnode *n, const jargs *A, bool ns, jv *out)
{
    jv d = jv_dict_new(E->a, 0);
    if (d.type != JV_DICT)
        return ev_mem_ok(E, n);
    if (A->npos > 1)
        return ev_fail(E, n, "%s() takes at most one positional argument", ns ? "namespace" : "dict");
    if (A->npos == 1) {
        jv m = A->pos[0];
        if (m.type == JV_DICT) {
            for (size_t i = 0; i < m.u.d->n; i++)
                jv_dict_set(E->a, d.u.d, m.u.d->k[i], m.u.d->v[i]);
        } else if (m.type == JV_LIST) {
            for (size_t i = 0; i < m.u.l->n; i++) {
                jv p = m.u.l->v[i];
                if (p.type != JV_LIST || p.u.l->n != 2)
                    return ev_fail(E, n, "dictionary update sequence element #%zu has the "
                                   "wrong length", i);
                jv_dict_set(E->a, d.u.d, p.u.l->v[0], p.u.l->v[1]);
            }
        } else {
            return ev_fail(E, n, "'%s' object is not a mapping", jv_type_name(m));
        }
    }
    for (size_t i = 0; i < A->nkw; i++)
        jv_dict_set(E->a, d.u.d, jv_str(E->a, A->kwn[i]), A->kwv[i]);
    if (ns)
        d.type = JV_NS;
    *out = d;
    return ev_mem_ok(E, n);
}

static bool do_strftime(ev *E, const jnode *n, const jargs *A, jv *out)
{
    jv fmt;
    if (!jarg(A, 0, "format", &fmt) || fmt.type != JV_STR)
        return ev_fail(E, n, "strftime_now needs a format string");
    struct tm tm = {0};
    if (E->env->month) {
        tm.tm_year = E->env->year - 1900;
        tm.tm_mon = E->env->month - 1;
        tm.tm_mday = E->env->day;
        time_t t = timegm(&tm);   /* fills in the weekday and day of the year */
        gmtime_r(&t, &tm);
    } else {
        time_t t = time(NULL);
        localtime_r(&t, &tm);
    }
    char buf[512];
    size_t k = fmt.u.s->len ? strftime(buf, sizeof buf, fmt.u.s->s, &tm) : 0;
    if (fmt.u.s->len && k == 0)
        return ev_fail(E, n, "strftime_now: the formatted date is empty or too long");
    *out = jv_strn(E->a, buf, k);
    return ev_mem_ok(E, n);
}

bool jf_func(ev *E, const jnode *n, int fn, const jargs *A, jv *out)
{
    jv a0;
    switch (fn) {
    case 0: return do_range(E, n, A, out);
    case 1: return do_mapping(E, n, A, true, out);
    case 2: return do_mapping(E, n, A, false, out);
    case 3: {
        /* HF: raise TemplateError(message); the message is the whole error */
        jv msg = jv_undef();
        if (jarg(A, 0, "message", &a0) && !ev_to_strv(E, n, a0, &msg))
            return false;
        return ev_fail(E, n, "%s", msg.type == JV_STR ? msg.u.s->s : "raise_exception() called");
    }
    case 4: return do_strftime(E, n, A, out);
    default: return ev_fail(E, n, "internal error: unknown function %d", fn);
    }
}

/* ---- printf-style formatting: str % args and |format ------------------------------------ */
/* Python's rules: a tuple gives the positional arguments, a dict serves %(name)s, anything
 * else is the single argument (and a non-tuple with __getitem__, like a list, may go unused
 * without complaint). */
static bool fmt_num_arg(ev *E, const jnode *n, char conv, jv v, jv *out)
{
    if (v.type == JV_INT || v.type == JV_BOOL) {
        *out = v.type == JV_BOOL ? jv_int(v.u.b) : v;
        return true;
    }
    if (v.type == JV_FLOAT && strchr("diueEfFgG", conv)) {
        *out = v;
        return true;
    }
    if (v.type == JV_UNDEF)
        return ev_undef_fail(E, n, v);
    if (strchr("xXoc", conv))
        return ev_fail(E, n, "%%%c format: an integer is required, not %s", conv, jv_type_name(v));
    return ev_fail(E, n, "%%%c format: a real number is required, not %s", conv, jv_type_name(v));
}

bool jf_printf(ev *E, const jnode *n, jv fmt, jv args, jv *out)
{
    const char *p = fmt.u.s->s, *end = p + fmt.u.s->len;
    jv one[1] = {args};
    const jv *pos = one;
    size_t npos = 1, used = 0;
    bool mapping = args.type == JV_DICT;
    if (args.type == JV_LIST && args.tuple) {
        pos = args.u.l->v;
        npos = args.u.l->n;
    }
    bool lax = mapping || (args.type == JV_LIST && !args.tuple) || args.type == JV_STR;
    jbuf b = {.limit = E->env->lim.max_output};
    while (p < end) {
        const char *q = memchr(p, '%', (size_t)(end - p));
        if (!q) {
            jbuf_put(&b, p, (size_t)(end - p));
            break;
        }
        jbuf_put(&b, p, (size_t)(q - p));
        q++;
        jv arg = jv_undef();
        bool have_arg = false;
        if (q < end && *q == '(') {
            const char *cl = memchr(q, ')', (size_t)(end - q));
            if (!cl) {
                jbuf_free(&b);
                return ev_fail(E, n, "incomplete format key");
            }
            if (!mapping) {
                jbuf_free(&b);
                return ev_fail(E, n, "format requires a mapping");
            }
            jv key = jv_strn(E->a, q + 1, (size_t)(cl - q - 1));
            jv *v = key.type == JV_STR ? jv_dict_get(args.u.d, key) : NULL;
            if (!v) {
                jbuf_free(&b);
                return ev_fail(E, n, "KeyError: '%.*s'", (int)(cl - q - 1), q + 1);
            }
            arg = *v;
            have_arg = true;
            q = cl + 1;
        }
        char flags[8];
        int nf = 0;
        while (q < end && strchr("-+ 0#", *q) && nf < 6)
            flags[nf++] = *q++;
        flags[nf] = 0;
        int width = -1, prec = -1;
        while (q < end && *q >= '0' && *q <= '9' && width < 100000)
            width = (width < 0 ? 0 : width * 10) + (*q++ - '0');
        if (q < end && *q == '.') {
            q++;
            prec = 0;
            while (q < end && *q >= '0' && *q <= '9' && prec < 100000)
                prec = prec * 10 + (*q++ - '0');
        }
        while (q < end && (*q == 'l' || *q == 'h' || *q == 'L'))
            q++;
        if (q >= end) {
            jbuf_free(&b);
            return ev_fail(E, n, "incomplete format");
        }
        char conv = *q++;
        if (width > 4096 || prec > 4096) {
            jbuf_free(&b);
            return ev_fail(E, n, "format width or precision too large");
        }
        if (conv == '%') {
            jbuf_put(&b, "%", 1);
            p = q;
            continue;
        }
        if (!strchr("sradiuoxXeEfFgGc", conv)) {
            jbuf_free(&b);
            return ev_fail(E, n, "unsupported format character '%c' (0x%x) at index %ld", conv,
                           (unsigned)(unsigned char)conv, (long)(q - 1 - fmt.u.s->s));
        }
        if (!have_arg) {
            if (mapping && npos == 1 && pos == one) {
                arg = args;   /* "%s" % {'a': 1} prints the dict */
            } else if (used < npos) {
                arg = pos[used];
            } else {
                jbuf_free(&b);
                return ev_fail(E, n, "not enough arguments for format string");
            }
            used++;
        }
        char f[48], tmp[160];
        jv v;
        if (conv == 's' || conv == 'r' || conv == 'a') {
            jbuf sb = {.limit = E->env->lim.max_output};
            bool ok = conv == 's' ? (arg.type == JV_UNDEF || jv_to_str(&sb, arg, 0))
                                  : jv_repr(&sb, arg, 0);
            const char *s = sb.p ? sb.p : "";
            size_t sl = sb.n, cps = jutf8_len(s, sl);
            if (prec >= 0 && (size_t)prec < cps) {
                sl = jutf8_offset(s, sl, (size_t)prec);
                cps = (size_t)prec;
            }
            bool left = strchr(flags, '-') != NULL;
            for (int i = (int)cps; !left && i < width; i++)
                jbuf_put(&b, " ", 1);
            jbuf_put(&b, s, sl);
            for (int i = (int)cps; left && i < width; i++)
                jbuf_put(&b, " ", 1);
            jbuf_free(&sb);
            if (!ok) {
                jbuf_free(&b);
                return ev_fail(E, n, "format: value too large or too deeply nested");
            }
        } else if (conv == 'c') {
            if (arg.type == JV_STR && jutf8_len(arg.u.s->s, arg.u.s->len) == 1) {
                jbuf_put(&b, arg.u.s->s, arg.u.s->len);
            } else if (arg.type == JV_INT && arg.u.i >= 0 && arg.u.i < 0x110000) {
                utf8proc_uint8_t enc[4];
                jbuf_put(&b, (const char *)enc, (size_t)utf8proc_encode_char((utf8proc_int32_t)arg.u.i, enc));
            } else {
                jbuf_free(&b);
                return ev_fail(E, n, "%%c requires int or char");
            }
        } else {
            if (!fmt_num_arg(E, n, conv, arg, &v)) {
                jbuf_free(&b);
                return false;
            }
            char c2 = conv == 'i' || conv == 'u' ? 'd' : conv;
            bool is_int_conv = strchr("doxX", c2) != NULL;
            if (prec >= 0)
                snprintf(f, sizeof f, "%%%s%s%d.%d%s%c", flags, "", width < 0 ? 0 : width, prec,
                         is_int_conv ? "ll" : "", c2);
            else
                snprintf(f, sizeof f, "%%%s%d%s%c", flags, width < 0 ? 0 : width,
                         is_int_conv ? "ll" : "", c2);
            if (is_int_conv) {
                long long iv = v.type == JV_FLOAT ? (long long)v.u.f : (long long)v.u.i;
                if (v.type == JV_FLOAT && strchr("oxX", c2)) {
                    jbuf_free(&b);
                    return ev_fail(E, n, "%%%c format: an integer is required, not float", conv);
                }
                snprintf(tmp, sizeof tmp, f, iv);
            } else {
                snprintf(tmp, sizeof tmp, f, jv_num(v));
            }
            jbuf_puts(&b, tmp);
        }
        p = q;
    }
    if (!mapping && !lax && used < npos) {
        jbuf_free(&b);
        return ev_fail(E, n, "not all arguments converted during string formatting");
    }
    if (b.failed) {
        jbuf_free(&b);
        return ev_fail(E, n, "formatted string larger than the output limit");
    }
    *out = mkstr(E, &b);
    return ev_mem_ok(E, n);
}
