/* jmethods.c - the Python str/dict/list methods that chat templates call, the global
 * functions (range, namespace, dict, raise_exception, strftime_now), and printf-style
 * formatting (str % args, |format), with Python's behaviour. Split from jfilters.c. */
#include "template/jeval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

/* ---- methods ---------------------------------------------------------------------------- */
static const char *const str_methods[] = {
    "format", "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith", "endswith",
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
    if (!jf_new_list(E, n, &res))
        return false;
    int64_t left = maxs.type == JV_INT ? maxs.u.i : -1;
    const char *p = s.u.s->s, *end = p + s.u.s->len;
    if (sep.type == JV_NONE || sep.type == JV_UNDEF) {
        while (p < end) {
            while (p < end && jf_is_ws((unsigned char)*p))
                p++;
            if (p == end)
                break;
            const char *q = p;
            if (left == 0)
                q = end;
            else
                while (q < end && !jf_is_ws((unsigned char)*q))
                    q++;
            if (!jf_push(E, n, res, jv_strn(E->a, p, (size_t)(q - p))))
                return false;
            if (left > 0)
                left--;
            p = q;
            if (left == 0) {   /* the rest, with leading whitespace stripped, is one piece */
                while (p < end && jf_is_ws((unsigned char)*p))
                    p++;
                jv rest = jf_strip(E, jv_strn(E->a, p, (size_t)(end - p)), false, true, NULL);
                if (p < end && !jf_push(E, n, res, rest))
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
            if (!jf_push(E, n, res, jv_strn(E->a, p, (size_t)(end - p))))
                return false;
            break;
        }
        if (!jf_push(E, n, res, jv_strn(E->a, p, (size_t)(q - p))))
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
        if (!strcmp(what, "isspace") && !jf_is_ws(c)) return false;
        if (!strcmp(what, "isupper") && c >= 'a' && c <= 'z') return false;
        if (!strcmp(what, "islower") && c >= 'A' && c <= 'Z') return false;
        any_cased |= alpha;
    }
    return strcmp(what, "isupper") && strcmp(what, "islower") ? true : any_cased;
}

/* str.format as the sandbox runs it: {} {0} {name}, .attr and [key] in the field, !r/!s;
 * a format spec after ':' is supported for plain values only as empty. */
static bool str_format(ev *E, const jnode *n, jv s, const jargs *A, jv *out)
{
    const char *p = s.u.s->s, *end = p + s.u.s->len;
    llmr_buf b = {.limit = E->env->lim.max_output};
    size_t autonum = 0;
    while (p < end) {
        if ((*p == '{' || *p == '}') && p + 1 < end && p[1] == *p) {
            llmri_buf_append(&b, p, 1);
            p += 2;
            continue;
        }
        if (*p == '}') {
            llmri_buf_free(&b);
            return ev_fail(E, n, "Single '}' encountered in format string");
        }
        if (*p != '{') {
            llmri_buf_append(&b, p++, 1);
            continue;
        }
        const char *q = memchr(p, '}', (size_t)(end - p));
        if (!q) {
            llmri_buf_free(&b);
            return ev_fail(E, n, "Single '{' encountered in format string");
        }
        char field[128];
        size_t fl = (size_t)(q - p - 1);
        if (fl >= sizeof field) {
            llmri_buf_free(&b);
            return ev_fail(E, n, "format field too long");
        }
        memcpy(field, p + 1, fl);
        field[fl] = 0;
        p = q + 1;
        char *colon = strchr(field, ':'), *bang = strchr(field, '!');
        if (colon && colon[1]) {
            llmri_buf_free(&b);
            return ev_fail(E, n, "str.format: format specs ('%s') are not supported", colon);
        }
        if (colon)
            *colon = 0;
        char conv = 's';
        if (bang) {
            conv = bang[1];
            *bang = 0;
        }
        size_t k = strcspn(field, ".[");
        char head[128];
        memcpy(head, field, k);
        head[k] = 0;
        jv v;
        bool ok;
        if (!k)
            ok = jarg(A, autonum++, NULL, &v);
        else if (head[0] >= '0' && head[0] <= '9')
            ok = jarg(A, (size_t)atoi(head), NULL, &v);
        else
            ok = jarg(A, SIZE_MAX, head, &v);
        if (!ok) {
            llmri_buf_free(&b);
            return ev_fail(E, n, k ? "KeyError: '%s'" : "%stuple index out of range",
                           k ? head : "");
        }
        for (char *f = field + k; *f;) {   /* .attr and [key] */
            char *e2 = f + 1 + strcspn(f + 1, ".[]");
            char save = *e2;
            *e2 = 0;
            if (*f == '.')
                ok = ev_getattr(E, n, v, f + 1, &v);
            else {
                char *endp;
                long long idx = strtoll(f + 1, &endp, 10);
                jv key = (*endp == 0 && f[1]) ? jv_int(idx) : jv_str(E->a, f + 1);
                ok = ev_getitem(E, n, v, key, &v);
            }
            *e2 = save;
            if (!ok) {
                llmri_buf_free(&b);
                return false;
            }
            f = e2 + (save == ']');
        }
        if (!(conv == 'r' ? jv_repr(&b, v, 0) : v.type == JV_UNDEF || jv_to_str(&b, v, 0))) {
            llmri_buf_free(&b);
            return ev_fail(E, n, "str.format: result too large");
        }
    }
    *out = jf_mkstr(E, &b);
    return ev_mem_ok(E, n);
}

static bool str_method(ev *E, const jnode *n, jv s, const char *m, const jargs *A, jv *out)
{
    jv a0, a1;
    if (!strcmp(m, "format"))
        return str_format(E, n, s, A, out);
    if (!strcmp(m, "strip") || !strcmp(m, "lstrip") || !strcmp(m, "rstrip")) {
        jv chars = jv_none();
        jarg(A, 0, "chars", &chars);
        *out = jf_strip(E, s, m[0] != 'r', m[0] != 'l', chars.type == JV_STR ? &chars : NULL);
    } else if (!strcmp(m, "split") || !strcmp(m, "rsplit")) {
        return do_split(E, n, s, A, out);   /* rsplit without maxsplit is the same */
    } else if (!strcmp(m, "splitlines")) {
        jv res;
        if (!jf_new_list(E, n, &res))
            return false;
        const char *p = s.u.s->s, *end = p + s.u.s->len;
        while (p < end) {
            const char *q = p;
            while (q < end && *q != '\n' && *q != '\r')
                q++;
            if (!jf_push(E, n, res, jv_strn(E->a, p, (size_t)(q - p))))
                return false;
            if (q < end && *q == '\r' && q + 1 < end && q[1] == '\n')
                q++;
            p = q < end ? q + 1 : q;
        }
        *out = res;
    } else if (!strcmp(m, "startswith") || !strcmp(m, "endswith")) {
        return affix(E, n, s, A, m[0] == 's', out);
    } else if (!strcmp(m, "upper") || !strcmp(m, "lower") || !strcmp(m, "capitalize")) {
        *out = jf_casemap(E, s, m[0] == 'u' ? 'u' : m[0] == 'l' ? 'l' : 'c');
    } else if (!strcmp(m, "title")) {
        *out = jf_casemap(E, s, 'T');
    } else if (!strcmp(m, "replace")) {
        jv cnt = jv_int(-1);
        if (!jarg(A, 0, NULL, &a0) || !jarg(A, 1, NULL, &a1) || a0.type != JV_STR
            || a1.type != JV_STR)
            return ev_fail(E, n, "replace needs two string arguments");
        jarg(A, 2, "count", &cnt);
        *out = jf_replace(E, s, a0, a1, cnt.type == JV_INT ? cnt.u.i : -1);
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
        return jf_join(E, n, a0, &J, out);
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
            return jf_items(E, n, self, out);
        if (!strcmp(m, "keys") || !strcmp(m, "values")) {
            jv res;
            if (!jf_new_list(E, n, &res))
                return false;
            for (size_t i = 0; i < self.u.d->n; i++)
                if (!jf_push(E, n, res, m[0] == 'k' ? self.u.d->k[i] : self.u.d->v[i]))
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
        if (!jf_push(E, n, res, jv_int(i)))
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
    llmr_buf b = {.limit = E->env->lim.max_output};
    while (p < end) {
        const char *q = memchr(p, '%', (size_t)(end - p));
        if (!q) {
            llmri_buf_append(&b, p, (size_t)(end - p));
            break;
        }
        llmri_buf_append(&b, p, (size_t)(q - p));
        q++;
        jv arg = jv_undef();
        bool have_arg = false;
        if (q < end && *q == '(') {
            const char *cl = memchr(q, ')', (size_t)(end - q));
            if (!cl) {
                llmri_buf_free(&b);
                return ev_fail(E, n, "incomplete format key");
            }
            if (!mapping) {
                llmri_buf_free(&b);
                return ev_fail(E, n, "format requires a mapping");
            }
            jv key = jv_strn(E->a, q + 1, (size_t)(cl - q - 1));
            jv *v = key.type == JV_STR ? jv_dict_get(args.u.d, key) : NULL;
            if (!v) {
                llmri_buf_free(&b);
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
            llmri_buf_free(&b);
            return ev_fail(E, n, "incomplete format");
        }
        char conv = *q++;
        if (width > 4096 || prec > 4096) {
            llmri_buf_free(&b);
            return ev_fail(E, n, "format width or precision too large");
        }
        if (conv == '%') {
            llmri_buf_append(&b, "%", 1);
            p = q;
            continue;
        }
        if (!strchr("sradiuoxXeEfFgGc", conv)) {
            llmri_buf_free(&b);
            return ev_fail(E, n, "unsupported format character '%c' (0x%x) at index %ld", conv,
                           (unsigned)(unsigned char)conv, (long)(q - 1 - fmt.u.s->s));
        }
        if (!have_arg) {
            if (mapping && npos == 1 && pos == one) {
                arg = args;   /* "%s" % {'a': 1} prints the dict */
            } else if (used < npos) {
                arg = pos[used];
            } else {
                llmri_buf_free(&b);
                return ev_fail(E, n, "not enough arguments for format string");
            }
            used++;
        }
        char f[48], tmp[160];
        jv v;
        if (conv == 's' || conv == 'r' || conv == 'a') {
            llmr_buf sb = {.limit = E->env->lim.max_output};
            bool ok = conv == 's' ? (arg.type == JV_UNDEF || jv_to_str(&sb, arg, 0))
                                  : jv_repr(&sb, arg, 0);
            const char *s = sb.p ? sb.p : "";
            size_t sl = sb.len, cps = jutf8_len(s, sl);
            if (prec >= 0 && (size_t)prec < cps) {
                sl = jutf8_offset(s, sl, (size_t)prec);
                cps = (size_t)prec;
            }
            bool left = strchr(flags, '-') != NULL;
            for (int i = (int)cps; !left && i < width; i++)
                llmri_buf_append(&b, " ", 1);
            llmri_buf_append(&b, s, sl);
            for (int i = (int)cps; left && i < width; i++)
                llmri_buf_append(&b, " ", 1);
            llmri_buf_free(&sb);
            if (!ok) {
                llmri_buf_free(&b);
                return ev_fail(E, n, "format: value too large or too deeply nested");
            }
        } else if (conv == 'c') {
            if (arg.type == JV_STR && jutf8_len(arg.u.s->s, arg.u.s->len) == 1) {
                llmri_buf_append(&b, arg.u.s->s, arg.u.s->len);
            } else if (arg.type == JV_INT && arg.u.i >= 0 && arg.u.i < 0x110000) {
                utf8proc_uint8_t enc[4];
                utf8proc_ssize_t k = utf8proc_encode_char((utf8proc_int32_t)arg.u.i, enc);
                llmri_buf_append(&b, (const char *)enc, (size_t)k);
            } else {
                llmri_buf_free(&b);
                return ev_fail(E, n, "%%c requires int or char");
            }
        } else {
            if (!fmt_num_arg(E, n, conv, arg, &v)) {
                llmri_buf_free(&b);
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
                    llmri_buf_free(&b);
                    return ev_fail(E, n, "%%%c format: an integer is required, not float", conv);
                }
                snprintf(tmp, sizeof tmp, f, iv);
            } else {
                snprintf(tmp, sizeof tmp, f, jv_num(v));
            }
            llmri_buf_puts(&b, tmp);
        }
        p = q;
    }
    if (!mapping && !lax && used < npos) {
        llmri_buf_free(&b);
        return ev_fail(E, n, "not all arguments converted during string formatting");
    }
    if (b.failed) {
        llmri_buf_free(&b);
        return ev_fail(E, n, "formatted string larger than the output limit");
    }
    *out = jf_mkstr(E, &b);
    return ev_mem_ok(E, n);
}
