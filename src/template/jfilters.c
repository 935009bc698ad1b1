/* jfilters.c - jinja2's built-in filters (tests are in jtests.c, select/map/sort in jseq.c;
 * methods, globals and printf formatting in jmethods.c). Behaviour follows jinja2/filters.py and jinja2/tests.py; where HF
 * overrides (tojson) it follows transformers' chat_template_utils. */
#include "template/jeval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

/* ---- small helpers ---------------------------------------------------------------------- */
bool jf_need_str(ev *E, const jnode *n, const char *what, jv v, jv *out)
{
    if (v.type == JV_UNDEF) {   /* soft_str(Undefined) is "" */
        *out = jv_strn(E->a, "", 0);
        return ev_mem_ok(E, n);
    }
    (void)what;
    return ev_to_strv(E, n, v, out);
}

jv jf_mkstr(ev *E, llmr_buf *b)
{
    jv s = jv_strn(E->a, llmri_buf_str(b), b->len);
    llmri_buf_free(b);
    return s;
}

bool jf_is_ws(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f); }

static bool in_chars(unsigned char c, const jv *chars)
{
    if (!chars)
        return jf_is_ws(c);
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
jv jf_strip(ev *E, jv s, bool left, bool right, const jv *chars)
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
jv jf_casemap(ev *E, jv s, char mode)
{
    llmr_buf b = {.limit = s.u.s->len * 4 + 16};
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s.u.s->s;
    utf8proc_ssize_t n = (utf8proc_ssize_t)s.u.s->len, i = 0;
    bool start = true;
    while (i < n) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(p + i, n - i, &cp);
        if (k <= 0) {   /* invalid byte: copy it through */
            llmri_buf_append(&b, (const char *)p + i, 1);
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
        llmri_buf_append(&b, (const char *)enc, (size_t)el);
        i += k;
    }
    return jf_mkstr(E, &b);
}

jv jf_replace(ev *E, jv s, jv old, jv rep, int64_t count)
{
    llmr_buf b = {.limit = E->env->lim.max_output};
    const char *p = s.u.s->s, *end = p + s.u.s->len;
    size_t ol = old.u.s->len;
    if (ol == 0) {   /* Python inserts rep between every character */
        size_t i = 0, len = s.u.s->len;
        int64_t done = 0;
        while (count < 0 || done < count) {
            llmri_buf_append(&b, rep.u.s->s, rep.u.s->len);
            done++;
            if (i >= len)
                break;
            size_t j = jutf8_offset(p + i, len - i, 1);
            llmri_buf_append(&b, p + i, j);
            i += j;
        }
        llmri_buf_append(&b, p + i, len - i);
        return jf_mkstr(E, &b);
    }
    int64_t done = 0;
    while (p < end && (count < 0 || done < count)) {
        const char *q = memmem(p, (size_t)(end - p), old.u.s->s, ol);
        if (!q)
            break;
        llmri_buf_append(&b, p, (size_t)(q - p));
        llmri_buf_append(&b, rep.u.s->s, rep.u.s->len);
        p = q + ol;
        done++;
    }
    llmri_buf_append(&b, p, (size_t)(end - p));
    if (b.failed) {
        llmri_buf_free(&b);
        return jv_undef();
    }
    return jf_mkstr(E, &b);
}

bool jf_new_list(ev *E, const jnode *n, jv *l)
{
    *l = jv_list_new(E->a, 0);
    return l->type == JV_LIST || ev_mem_ok(E, n);
}

bool jf_push(ev *E, const jnode *n, jv l, jv x)
{
    return jv_list_push(E->a, l.u.l, x) || ev_mem_ok(E, n);
}

/* attribute="a.b.0" the way jinja's make_attrgetter walks it. */
bool jf_attr_path(ev *E, const jnode *n, jv v, jv path, jv *out)
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
    llmr_buf ind = {.limit = 4096};
    if (w.type == JV_STR)
        llmri_buf_append(&ind, w.u.s->s, w.u.s->len);
    else if (w.type == JV_INT && w.u.i >= 0 && w.u.i <= 1024)
        for (int64_t i = 0; i < w.u.i; i++)
            llmri_buf_append(&ind, " ", 1);
    else {
        llmri_buf_free(&ind);
        return ev_fail(E, n, "indent: width must be a string or an integer in 0..1024");
    }
    const char *in = ind.p ? ind.p : "";
    llmr_buf b = {.limit = E->env->lim.max_output};
    if (jv_truthy(first))
        llmri_buf_puts(&b, in);
    const char *p = s.u.s->s, *end = p + s.u.s->len;
    bool firstline = true;
    while (p < end) {
        const char *q = p;
        while (q < end && *q != '\n' && *q != '\r')
            q++;
        size_t ll = (size_t)(q - p);
        if (!firstline) {
            llmri_buf_append(&b, "\n", 1);
            if (ll || jv_truthy(blank))
                llmri_buf_puts(&b, in);
        }
        llmri_buf_append(&b, p, ll);
        firstline = false;
        if (q < end && *q == '\r' && q + 1 < end && q[1] == '\n')
            q++;
        p = q < end ? q + 1 : q;
        if (q < end && p == end) {   /* text ended with a newline: one empty last line */
            llmri_buf_append(&b, "\n", 1);
            if (jv_truthy(blank))
                llmri_buf_puts(&b, in);
        }
    }
    llmri_buf_free(&ind);
    *out = jf_mkstr(E, &b);
    return ev_mem_ok(E, n);
}

bool jf_join(ev *E, const jnode *n, jv in, const jargs *A, jv *out)
{
    jv sep = jv_strn(E->a, "", 0), attr = jv_undef();
    jarg(A, 0, "d", &sep);
    jarg(A, 1, "attribute", &attr);
    jlist *l;
    if (!ev_iterate(E, n, in, &l) || !jf_need_str(E, n, "join", sep, &sep))
        return false;
    llmr_buf b = {.limit = E->env->lim.max_output};
    for (size_t i = 0; i < l->n; i++) {
        jv v = l->v[i];
        if (attr.type != JV_UNDEF && !jf_attr_path(E, n, v, attr, &v)) {
            llmri_buf_free(&b);
            return false;
        }
        if (i)
            llmri_buf_append(&b, sep.u.s->s, sep.u.s->len);
        if (v.type != JV_UNDEF && !jv_to_str(&b, v, 0)) {
            llmri_buf_free(&b);
            return ev_fail(E, n, "join: result too large");
        }
    }
    if (b.failed) {
        llmri_buf_free(&b);
        return ev_fail(E, n, "join: result too large");
    }
    *out = jf_mkstr(E, &b);
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
    llmr_buf b = {.limit = E->env->lim.max_output};
    char err[200];
    if (!jv_to_json(&b, in, jv_truthy(ea), ip, is, ks, jv_truthy(sk), err, sizeof err)) {
        llmri_buf_free(&b);
        return ev_fail(E, n, "%s", err);
    }
    *out = jf_mkstr(E, &b);
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
        jv t = jf_strip(E, in, true, true, NULL);
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
    if (attr.type != JV_UNDEF && !jf_attr_path(E, n, best, attr, &bk))
        return false;
    if (!jf_sort_key(E, n, bk, jv_truthy(cs), &bk))
        return false;
    for (size_t i = 1; i < l->n; i++) {
        jv k = l->v[i];
        int c;
        if (attr.type != JV_UNDEF && !jf_attr_path(E, n, k, attr, &k))
            return false;
        if (!jf_sort_key(E, n, k, jv_truthy(cs), &k) || !ev_compare(E, n, k, bk, &c))
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
    if (jf_lazy_error(E, n, in, NULL, out))
        return ev_mem_ok(E, n);
    if (!ev_iterate(E, n, in, &l) || !jf_new_list(E, n, &res))
        return false;
    jv seen;
    if (!jf_new_list(E, n, &seen))
        return false;
    for (size_t i = 0; i < l->n; i++) {
        jv k = l->v[i];
        if (attr.type != JV_UNDEF && !jf_attr_path(E, n, k, attr, &k))
            return false;
        if (!jf_sort_key(E, n, k, jv_truthy(cs), &k))
            return false;
        bool dup = false;
        for (size_t j = 0; j < seen.u.l->n && !dup; j++)
            dup = jv_equal(seen.u.l->v[j], k, 0);
        if (!dup && (!jf_push(E, n, seen, k) || !jf_push(E, n, res, l->v[i])))
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

bool jf_items(ev *E, const jnode *n, jv in, jv *out)
{
    jv res;
    if (!jf_new_list(E, n, &res))
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
        if (!jf_push(E, n, res, pair))
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
    if (!jf_need_str(E, n, "escape", in, &s))
        return false;
    llmr_buf b = {.limit = E->env->lim.max_output};
    for (size_t i = 0; i < s.u.s->len; i++) {
        char c = s.u.s->s[i];
        const char *r = c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;"
                      : c == '"' ? "&#34;" : c == '\'' ? "&#39;" : NULL;
        if (r)
            llmri_buf_puts(&b, r);
        else
            llmri_buf_append(&b, &c, 1);
    }
    *out = jf_mkstr(E, &b);
    out->safe = 1;
    return ev_mem_ok(E, n);
}

static bool do_reverse(ev *E, const jnode *n, jv in, jv *out)
{
    jlist *l;
    if (!ev_iterate(E, n, in, &l))
        return false;
    if (in.type == JV_STR) {
        llmr_buf b = {.limit = in.u.s->len + 1};
        for (size_t i = l->n; i-- > 0;)
            llmri_buf_append(&b, l->v[i].u.s->s, l->v[i].u.s->len);
        *out = jf_mkstr(E, &b);
        return ev_mem_ok(E, n);
    }
    jv res;
    if (!jf_new_list(E, n, &res))
        return false;
    for (size_t i = l->n; i-- > 0;)
        if (!jf_push(E, n, res, l->v[i]))
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
        if (attr.type != JV_UNDEF && !jf_attr_path(E, n, v, attr, &v))
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
    if (!jf_need_str(E, n, "wordcount", in, &s))
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
    if (!jf_need_str(E, n, "center", in, &s))
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
    llmr_buf b = {.limit = E->env->lim.max_output};
    for (int64_t i = 0; i < left; i++)
        llmri_buf_append(&b, " ", 1);
    llmri_buf_append(&b, s.u.s->s, s.u.s->len);
    for (int64_t i = 0; i < pad - left; i++)
        llmri_buf_append(&b, " ", 1);
    *out = jf_mkstr(E, &b);
    return ev_mem_ok(E, n);
}

static bool do_batch(ev *E, const jnode *n, jv in, const jargs *A, jv *out)
{
    jv cnt, fill = jv_undef(), res, cur = jv_undef();
    jlist *l;
    if (!jarg(A, 0, "linecount", &cnt) || cnt.type != JV_INT || cnt.u.i <= 0)
        return ev_fail(E, n, "batch needs a positive line count");
    jarg(A, 1, "fill_with", &fill);
    if (jf_lazy_error(E, n, in, NULL, out))
        return ev_mem_ok(E, n);
    if (!ev_iterate(E, n, in, &l) || !jf_new_list(E, n, &res))
        return false;
    for (size_t i = 0; i < l->n; i++) {
        if (cur.type != JV_LIST || (int64_t)cur.u.l->n == cnt.u.i) {
            if (!jf_new_list(E, n, &cur) || !jf_push(E, n, res, cur))
                return false;
        }
        if (!jf_push(E, n, cur, l->v[i]))
            return false;
    }
    while (fill.type != JV_UNDEF && cur.type == JV_LIST && (int64_t)cur.u.l->n < cnt.u.i)
        if (!jf_push(E, n, cur, fill))
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
        if (!jf_items(E, n, in, out))
            return false;
        out->gen = 1;
        return true;
    }
    if (!strcmp(f, "safe")) {
        if (!jf_need_str(E, n, f, in, out))
            return false;
        out->safe = 1;
        return true;
    }
    if (!strcmp(f, "string"))
        return in.type == JV_UNDEF ? jf_need_str(E, n, f, in, out) : ev_to_strv(E, n, in, out);
    if (!strcmp(f, "list")) {
        jlist *l;
        jv res;
        if (!ev_iterate(E, n, in, &l) || !jf_new_list(E, n, &res))
            return false;
        for (size_t i = 0; i < l->n; i++)
            if (!jf_push(E, n, res, l->v[i]))
                return false;
        *out = res;
        return true;
    }
    if (!strcmp(f, "first") || !strcmp(f, "last"))
        return first_last(E, n, in, f[0] == 'l', out);
    if (!strcmp(f, "join"))
        return jf_join(E, n, in, A, out);
    if (!strcmp(f, "map"))
        return jf_map(E, n, in, A, out);
    if (!strcmp(f, "select") || !strcmp(f, "reject"))
        return jf_select(E, n, in, A, false, f[0] == 's', out);
    if (!strcmp(f, "selectattr") || !strcmp(f, "rejectattr"))
        return jf_select(E, n, in, A, true, f[0] == 's', out);
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
                   && jf_sort(E, n, l, jv_truthy(rev), jv_truthy(cs), attr, false, out);
        }
        jarg(A, 0, "case_sensitive", &cs);
        jarg(A, 1, "by", &by);
        jarg(A, 2, "reverse", &rev);
        jv pairs;
        if (in.type == JV_UNDEF)
            return ev_undef_fail(E, n, in);
        if (!jf_items(E, n, in, &pairs))
            return false;
        return jf_sort(E, n, pairs.u.l, jv_truthy(rev), jv_truthy(cs), jv_undef(),
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
        if (!ev_mem_ok(E, n) || !jf_need_str(E, n, f, in, &s))
            return false;
        return jf_printf(E, n, s, args, out);
    }
    if (!strcmp(f, "center"))
        return do_center(E, n, in, A, out);
    if (!strcmp(f, "batch"))
        return do_batch(E, n, in, A, out);
    /* the rest take a string */
    if (!jf_need_str(E, n, f, in, &s))
        return false;
    if (!strcmp(f, "trim")) {
        jv chars = jv_none();
        jarg(A, 0, "chars", &chars);
        *out = jf_strip(E, s, true, true, chars.type == JV_STR ? &chars : NULL);
    } else if (!strcmp(f, "upper")) {
        *out = jf_casemap(E, s, 'u');
    } else if (!strcmp(f, "lower")) {
        *out = jf_casemap(E, s, 'l');
    } else if (!strcmp(f, "title")) {
        *out = jf_casemap(E, s, 't');
    } else if (!strcmp(f, "capitalize")) {
        *out = jf_casemap(E, s, 'c');
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
        if (!jf_need_str(E, n, f, a0, &a0) || !jf_need_str(E, n, f, a1, &a1))
            return false;
        *out = jf_replace(E, s, a0, a1, cnt.type == JV_INT ? cnt.u.i : -1);
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

