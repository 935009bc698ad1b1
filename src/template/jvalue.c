/* jvalue.c - the interpreter's value model: arena, strings, lists, dicts, and the ways Python
 * prints them (str, repr, json.dumps), since chat templates are judged byte for byte against
 * what Python's jinja2 renders. */
#include "template/jinja.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JV_MAX_DEPTH 256    /* nesting of lists/dicts that printing or comparing will follow */

/* ---- constructors ----------------------------------------------------------------------- */
jv jv_strn(llmr_arena *a, const char *s, size_t n)
{
    jv v = jv_undef();
    jstr *p = llmri_arena_alloc(a, sizeof *p + n + 1);
    if (!p)
        return v;
    p->len = n;
    if (n)
        memcpy(p->s, s, n);
    p->s[n] = 0;
    v.type = JV_STR;
    v.u.s = p;
    return v;
}

jv jv_str(llmr_arena *a, const char *s) { return jv_strn(a, s, strlen(s)); }

jv jv_undef_msg(llmr_arena *a, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    jv s = jv_str(a, buf);
    jv v = jv_undef();
    v.u.s = s.type == JV_STR ? s.u.s : NULL;
    return v;
}

jv jv_list_new(llmr_arena *a, size_t cap)
{
    jv v = jv_undef();
    jlist *l = llmri_arena_alloc(a, sizeof *l);
    if (!l)
        return v;
    if (cap) {
        l->v = llmri_arena_alloc(a, cap * sizeof(jv));
        if (!l->v)
            return v;
        l->cap = cap;
    }
    v.type = JV_LIST;
    v.u.l = l;
    return v;
}

jv jv_dict_new(llmr_arena *a, size_t cap)
{
    jv v = jv_undef();
    jdict *d = llmri_arena_alloc(a, sizeof *d);
    if (!d)
        return v;
    if (cap) {
        d->k = llmri_arena_alloc(a, cap * sizeof(jv));
        d->v = llmri_arena_alloc(a, cap * sizeof(jv));
        if (!d->k || !d->v)
            return v;
        d->cap = cap;
    }
    v.type = JV_DICT;
    v.u.d = d;
    return v;
}

bool jv_list_push(llmr_arena *a, jlist *l, jv x)
{
    if (!llmri_arena_grow(a, &l->v, &l->cap, l->n, l->n + 1, sizeof *l->v))
        return false;
    l->v[l->n++] = x;
    return true;
}

jv *jv_dict_get(jdict *d, jv key)
{
    for (size_t i = 0; i < d->n; i++)
        if (jv_equal(d->k[i], key, 0))
            return &d->v[i];
    return NULL;
}

jv *jv_dict_gets(jdict *d, const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; i < d->n; i++)
        if (d->k[i].type == JV_STR && d->k[i].u.s->len == n && !memcmp(d->k[i].u.s->s, key, n))
            return &d->v[i];
    return NULL;
}

bool jv_dict_set(llmr_arena *a, jdict *d, jv key, jv val)
{
    jv *slot = jv_dict_get(d, key);
    if (slot) {
        *slot = val;
        return true;
    }
    size_t ck = d->cap, cv = d->cap;   /* keys and values grow alike: ck == cv after */
    if (!llmri_arena_grow(a, &d->k, &ck, d->n, d->n + 1, sizeof *d->k) ||
        !llmri_arena_grow(a, &d->v, &cv, d->n, d->n + 1, sizeof *d->v))
        return false;
    d->cap = ck;
    d->k[d->n] = key;
    d->v[d->n] = val;
    d->n++;
    return true;
}

/* ---- predicates ------------------------------------------------------------------------- */
bool jv_truthy(jv v)
{
    switch (v.type) {
    case JV_UNDEF: case JV_NONE: return false;
    case JV_BOOL: return v.u.b;
    case JV_INT: return v.u.i != 0;
    case JV_FLOAT: return v.u.f != 0.0;
    case JV_STR: return v.u.s->len != 0;
    case JV_LIST: return v.gen || v.u.l->n != 0;
    case JV_DICT: return v.u.d->n != 0;
    default: return true;
    }
}

bool jv_is_str(jv v, const char *s)
{
    return v.type == JV_STR && strcmp(v.u.s->s, s) == 0;
}

double jv_num(jv v)
{
    switch (v.type) {
    case JV_BOOL: return v.u.b;
    case JV_INT: return (double)v.u.i;
    case JV_FLOAT: return v.u.f;
    default: return 0;
    }
}

const char *jv_type_name(jv v)
{
    switch (v.type) {
    case JV_UNDEF: return "Undefined";
    case JV_NONE: return "NoneType";
    case JV_BOOL: return "bool";
    case JV_INT: return "int";
    case JV_FLOAT: return "float";
    case JV_STR: return "str";
    case JV_LIST:
        return v.gen == 1 ? "generator" : v.gen ? "list_reverseiterator" : v.tuple ? "tuple" : "list";
    case JV_DICT: return "dict";
    case JV_NS: return "Namespace";
    case JV_MACRO: return "Macro";
    case JV_METHOD: return "builtin_function_or_method";
    case JV_FUNC: return "function";
    case JV_LOOP: return "LoopContext";
    }
    return "object";
}

bool jv_equal(jv a, jv b, int depth)
{
    if (depth > JV_MAX_DEPTH)
        return false;
    if (jv_is_num(a) && jv_is_num(b)) {
        if (a.type != JV_FLOAT && b.type != JV_FLOAT) {
            int64_t x = a.type == JV_BOOL ? a.u.b : a.u.i, y = b.type == JV_BOOL ? b.u.b : b.u.i;
            return x == y;
        }
        return jv_num(a) == jv_num(b);
    }
    if (a.type != b.type)
        return false;
    switch (a.type) {
    case JV_UNDEF: case JV_NONE: return true;
    case JV_STR:
        return a.u.s->len == b.u.s->len && !memcmp(a.u.s->s, b.u.s->s, a.u.s->len);
    case JV_LIST:
        if (a.gen || b.gen)
            return a.u.l == b.u.l;
        if (a.tuple != b.tuple || a.u.l->n != b.u.l->n)
            return false;
        for (size_t i = 0; i < a.u.l->n; i++)
            if (!jv_equal(a.u.l->v[i], b.u.l->v[i], depth + 1))
                return false;
        return true;
    case JV_DICT:
        if (a.u.d->n != b.u.d->n)
            return false;
        for (size_t i = 0; i < a.u.d->n; i++) {
            jv *o = jv_dict_get(b.u.d, a.u.d->k[i]);
            if (!o || !jv_equal(a.u.d->v[i], *o, depth + 1))
                return false;
        }
        return true;
    case JV_NS: return a.u.d == b.u.d;
    case JV_MACRO: return a.u.m == b.u.m;
    case JV_FUNC: return a.u.fn == b.u.fn;
    case JV_LOOP: return a.u.lp == b.u.lp;
    case JV_METHOD: return a.u.bm == b.u.bm;
    default: return false;
    }
}

/* ---- UTF-8 ------------------------------------------------------------------------------ */
/* Python strings index by code point; ours are UTF-8, so count lead bytes (any byte that is
 * not 10xxxxxx). Invalid input still gets a consistent answer. */
size_t jutf8_len(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

size_t jutf8_offset(const char *s, size_t n, size_t k)
{
    size_t i = 0;
    while (i < n && k) {
        i++;
        while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        k--;
    }
    return i;
}

/* ---- printing like Python --------------------------------------------------------------- */
/* repr(float): the shortest digits that read back to the same double, in fixed notation for
 * exponents -4..15 and scientific ("1e+16", "1e-05") outside, always with a '.0' or exponent so
 * that it reads as a float. */
void jfmt_float(char out[40], double f)
{
    if (isnan(f)) {
        strcpy(out, "nan");
        return;
    }
    if (isinf(f)) {
        strcpy(out, f < 0 ? "-inf" : "inf");
        return;
    }
    char e[40];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec - 1, f);
        if (strtod(e, NULL) == f)
            break;
    }
    /* e is d[.ddd]e[+-]XX; split into digits and exponent */
    char digits[24];
    int nd = 0;
    const char *p = e;
    bool neg = *p == '-';
    if (neg)
        p++;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[nd++] = *p;
    digits[nd] = 0;
    int exp10 = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        digits[--nd] = 0;
    char *o = out;
    if (neg)
        *o++ = '-';
    if (exp10 < -4 || exp10 >= 16) {
        *o++ = digits[0];
        if (nd > 1) {
            *o++ = '.';
            memcpy(o, digits + 1, (size_t)nd - 1);
            o += nd - 1;
        }
        sprintf(o, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
        return;
    }
    if (exp10 < 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -exp10 - 1; i++)
            *o++ = '0';
        memcpy(o, digits, (size_t)nd);
        o += nd;
    } else {
        for (int i = 0; i <= exp10; i++)
            *o++ = i < nd ? digits[i] : '0';
        *o++ = '.';
        if (nd > exp10 + 1) {
            memcpy(o, digits + exp10 + 1, (size_t)(nd - exp10 - 1));
            o += nd - exp10 - 1;
        } else {
            *o++ = '0';
        }
    }
    *o = 0;
}

/* repr(str): single quotes unless the text has ' and no ", escapes for \\, the quote and
 * control characters; printable non-ASCII stays as it is (Python 3). */
static bool repr_str(llmr_buf *b, const char *s, size_t n)
{
    bool sq = memchr(s, '\'', n) != NULL, dq = memchr(s, '"', n) != NULL;
    char q = (sq && !dq) ? '"' : '\'';
    llmri_buf_append(b, &q, 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' || c == (unsigned char)q) {
            char t[2] = {'\\', (char)c};
            llmri_buf_append(b, t, 2);
        } else if (c == '\n') {
            llmri_buf_puts(b, "\\n");
        } else if (c == '\r') {
            llmri_buf_puts(b, "\\r");
        } else if (c == '\t') {
            llmri_buf_puts(b, "\\t");
        } else if (c < 0x20 || c == 0x7f) {
            llmri_buf_printf(b, "\\x%02x", c);
        } else {
            llmri_buf_append(b, (const char *)&c, 1);
        }
    }
    return llmri_buf_append(b, &q, 1);
}

static bool print_value(llmr_buf *b, jv v, int depth, bool repr)
{
    if (depth > JV_MAX_DEPTH)
        return false;
    char num[40];
    switch (v.type) {
    case JV_UNDEF: return repr ? llmri_buf_puts(b, "Undefined") : true;
    case JV_NONE: return llmri_buf_puts(b, "None");
    case JV_BOOL: return llmri_buf_puts(b, v.u.b ? "True" : "False");
    case JV_INT: return llmri_buf_printf(b, "%lld", (long long)v.u.i);
    case JV_FLOAT: jfmt_float(num, v.u.f); return llmri_buf_puts(b, num);
    case JV_STR:
        if (repr && v.safe) {   /* markupsafe: Markup('...') */
            llmri_buf_puts(b, "Markup(");
            repr_str(b, v.u.s->s, v.u.s->len);
            return llmri_buf_puts(b, ")");
        }
        return repr ? repr_str(b, v.u.s->s, v.u.s->len) : llmri_buf_append(b, v.u.s->s, v.u.s->len);
    case JV_LIST:
        if (v.gen)
            return llmri_buf_printf(b, "<%s object>", jv_type_name(v));
        llmri_buf_puts(b, v.tuple ? "(" : "[");
        for (size_t i = 0; i < v.u.l->n; i++) {
            if (i)
                llmri_buf_puts(b, ", ");
            if (!print_value(b, v.u.l->v[i], depth + 1, true))
                return false;
        }
        if (v.tuple && v.u.l->n == 1)
            llmri_buf_puts(b, ",");
        return llmri_buf_puts(b, v.tuple ? ")" : "]");
    case JV_DICT:
        llmri_buf_puts(b, "{");
        for (size_t i = 0; i < v.u.d->n; i++) {
            if (i)
                llmri_buf_puts(b, ", ");
            if (!print_value(b, v.u.d->k[i], depth + 1, true))
                return false;
            llmri_buf_puts(b, ": ");
            if (!print_value(b, v.u.d->v[i], depth + 1, true))
                return false;
        }
        return llmri_buf_puts(b, "}");
    case JV_NS: return llmri_buf_puts(b, "<Namespace>");
    case JV_MACRO: return llmri_buf_puts(b, "<Macro>");
    case JV_METHOD: return llmri_buf_printf(b, "<built-in method %s>", v.u.bm->name);
    case JV_FUNC: return llmri_buf_puts(b, "<function>");
    case JV_LOOP: return llmri_buf_puts(b, "<LoopContext>");
    }
    return false;
}

bool jv_to_str(llmr_buf *b, jv v, int depth)
{
    return print_value(b, v, depth, false) && !b->failed;
}

bool jv_repr(llmr_buf *b, jv v, int depth)
{
    return print_value(b, v, depth, true) && !b->failed;
}

/* ---- json.dumps ------------------------------------------------------------------------- */
typedef struct jsonw {
    llmr_buf *b;
    bool ascii, sort;
    const char *indent, *isep, *ksep;
    char *err;
    size_t errlen;
} jsonw;

static uint32_t utf8_next(const unsigned char *s, size_t n, size_t *i)
{
    unsigned char c = s[*i];
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (*i + (size_t)len > n)
        len = 1;
    uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
    for (int k = 1; k < len; k++)
        cp = (cp << 6) | (s[*i + (size_t)k] & 0x3F);
    *i += (size_t)len;
    return cp;
}

static void json_str(jsonw *w, const char *s, size_t n)
{
    llmr_buf *b = w->b;
    llmri_buf_append(b, "\"", 1);
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        if (c == '"' || c == '\\') {
            char t[2] = {'\\', (char)c};
            llmri_buf_append(b, t, 2);
            i++;
        } else if (c < 0x20) {
            const char *esc = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t"
                            : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
            if (esc)
                llmri_buf_puts(b, esc);
            else
                llmri_buf_printf(b, "\\u%04x", c);
            i++;
        } else if (c < 0x80 || !w->ascii) {
            llmri_buf_append(b, s + i, 1);
            i++;
        } else {
            uint32_t cp = utf8_next(u, n, &i);
            if (cp >= 0x10000) {
                cp -= 0x10000;
                llmri_buf_printf(b, "\\u%04x\\u%04x", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
            } else {
                llmri_buf_printf(b, "\\u%04x", cp);
            }
        }
    }
    llmri_buf_append(b, "\"", 1);
}

static void json_newline(jsonw *w, int level)
{
    llmri_buf_append(w->b, "\n", 1);
    for (int i = 0; i < level; i++)
        llmri_buf_puts(w->b, w->indent);
}

static int cmp_keys(const void *x, const void *y)
{
    const jv *a = *(const jv *const *)x, *b = *(const jv *const *)y;
    if (a->type == JV_STR && b->type == JV_STR)
        return strcmp(a->u.s->s, b->u.s->s);
    return a->type - b->type;
}

static bool json_value(jsonw *w, jv v, int level)
{
    char num[40];
    if (level > JV_MAX_DEPTH) {
        snprintf(w->err, w->errlen, "tojson: nesting deeper than %d levels", JV_MAX_DEPTH);
        return false;
    }
    switch (v.type) {
    case JV_NONE: llmri_buf_puts(w->b, "null"); return true;
    case JV_BOOL: llmri_buf_puts(w->b, v.u.b ? "true" : "false"); return true;
    case JV_INT: llmri_buf_printf(w->b, "%lld", (long long)v.u.i); return true;
    case JV_FLOAT:
        if (isnan(v.u.f))
            strcpy(num, "NaN");
        else if (isinf(v.u.f))
            strcpy(num, v.u.f < 0 ? "-Infinity" : "Infinity");
        else
            jfmt_float(num, v.u.f);
        llmri_buf_puts(w->b, num);
        return true;
    case JV_STR: json_str(w, v.u.s->s, v.u.s->len); return true;
    case JV_LIST:
        if (v.gen) {
            snprintf(w->err, w->errlen, "Object of type %s is not JSON serializable",
                     jv_type_name(v));
            return false;
        }
        if (v.u.l->n == 0) {
            llmri_buf_puts(w->b, "[]");
            return true;
        }
        llmri_buf_puts(w->b, "[");
        for (size_t i = 0; i < v.u.l->n; i++) {
            if (i)
                llmri_buf_puts(w->b, w->isep);
            if (w->indent)
                json_newline(w, level + 1);
            if (!json_value(w, v.u.l->v[i], level + 1))
                return false;
        }
        if (w->indent)
            json_newline(w, level);
        llmri_buf_puts(w->b, "]");
        return true;
    case JV_DICT: case JV_NS: {
        jdict *d = v.u.d;
        if (d->n == 0) {
            llmri_buf_puts(w->b, "{}");
            return true;
        }
        /* order of keys: insertion, or sorted by sort_keys */
        const jv **order = malloc(d->n * sizeof *order);
        if (!order) {
            snprintf(w->err, w->errlen, "tojson: out of memory");
            return false;
        }
        for (size_t i = 0; i < d->n; i++)
            order[i] = &d->k[i];
        if (w->sort)
            qsort(order, d->n, sizeof *order, cmp_keys);
        llmri_buf_puts(w->b, "{");
        bool ok = true;
        for (size_t j = 0; j < d->n && ok; j++) {
            size_t i = (size_t)(order[j] - d->k);
            jv k = d->k[i];
            if (j)
                llmri_buf_puts(w->b, w->isep);
            if (w->indent)
                json_newline(w, level + 1);
            /* json.dumps turns int, float, bool and None keys into strings */
            if (k.type == JV_STR) {
                json_str(w, k.u.s->s, k.u.s->len);
            } else if (k.type == JV_INT || k.type == JV_FLOAT || k.type == JV_BOOL
                       || k.type == JV_NONE) {
                llmri_buf_puts(w->b, "\"");
                if (k.type == JV_BOOL)
                    llmri_buf_puts(w->b, k.u.b ? "true" : "false");
                else if (k.type == JV_NONE)
                    llmri_buf_puts(w->b, "null");
                else
                    jv_to_str(w->b, k, 0);
                llmri_buf_puts(w->b, "\"");
            } else {
                snprintf(w->err, w->errlen, "keys must be str, int, float, bool or None, not %s",
                         jv_type_name(k));
                ok = false;
                break;
            }
            llmri_buf_puts(w->b, w->ksep);
            ok = json_value(w, d->v[i], level + 1);
        }
        free(order);
        if (!ok)
            return false;
        if (w->indent)
            json_newline(w, level);
        llmri_buf_puts(w->b, "}");
        return true;
    }
    default:
        snprintf(w->err, w->errlen, "Object of type %s is not JSON serializable",
                 jv_type_name(v));
        return false;
    }
}

bool jv_to_json(llmr_buf *b, jv v, bool ensure_ascii, const char *indent, const char *item_sep,
                const char *key_sep, bool sort_keys, char *err, size_t errlen)
{
    jsonw w = {b, ensure_ascii, sort_keys, indent, item_sep, key_sep, err, errlen};
    /* Python: separators default to (', ', ': '), or (',', ': ') when indent is given */
    if (!w.isep)
        w.isep = indent ? "," : ", ";
    if (!w.ksep)
        w.ksep = ": ";
    if (!json_value(&w, v, 0))
        return false;
    if (b->failed) {
        snprintf(err, errlen, "tojson: output too large");
        return false;
    }
    return true;
}
