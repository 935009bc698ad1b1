/* json_schema_num.c - minimum / maximum / exclusiveMinimum / exclusiveMaximum as digit-range
 * grammars, exact on the decimal text.
 *
 * A bound is the double the schema's number parses to (every JSON parser, a validator's
 * included, reads the same double). It is written as its shortest decimal that reads back as
 * that double, and the grammar compares decimal texts exactly: a text x >= that decimal reads
 * back as a double >= the bound, since rounding to a double is monotonic. An exclusive bound b
 * becomes the inclusive bound nextafter(b), so that x > b holds after rounding too (a text just
 * above b could otherwise round back to b). For integers the bounds are rounded inwards
 * (ceil / floor) and written exactly.
 *
 * Bounded numbers are plain decimals (no exponent); their integer part has at most
 * max(16, digits of a bound) digits, and never more than DBL_MAX's, so every output is a
 * finite double. The languages are unions of flat alternatives (a literal prefix, one digit
 * range, then free digits), one rule each, so there is no nesting and no recursion.
 */
#include "sampler/json_schema_int.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEC_INT  320    /* DBL_MAX has 309 integer digits */
#define DEC_FRAC 360    /* the smallest subnormal's shortest form has 324 + 2 */

typedef struct jdec {
    char ip[DEC_INT];   /* canonical: no leading zeros, "0" for zero */
    char fp[DEC_FRAC];  /* no trailing zeros; "" for none */
} jdec;

/* The shortest decimal that reads back as d (d >= 0, finite), in fixed notation. */
static void dec_from_double(double d, jdec *o)
{
    char buf[64];
    int p;
    for (p = 1; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*e", p - 1, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    if (d == 0) {
        strcpy(o->ip, "0");
        o->fp[0] = 0;
        return;
    }
    char m[24];
    size_t nm = 0;
    const char *q = buf;
    for (; *q && *q != 'e'; q++)
        if (*q >= '0' && *q <= '9')
            m[nm++] = *q;
    m[nm] = 0;
    int e = atoi(q + 1), point = e + 1;        /* digits before the decimal point */
    if (point >= (int)nm) {
        memcpy(o->ip, m, nm);
        memset(o->ip + nm, '0', (size_t)(point - (int)nm));
        o->ip[point] = 0;
        o->fp[0] = 0;
    } else if (point <= 0) {
        strcpy(o->ip, "0");
        memset(o->fp, '0', (size_t)-point);
        memcpy(o->fp - point, m, nm + 1);
    } else {
        memcpy(o->ip, m, (size_t)point);
        o->ip[point] = 0;
        memcpy(o->fp, m + point, nm - (size_t)point + 1);
    }
    size_t nf = strlen(o->fp);
    while (nf > 0 && o->fp[nf - 1] == '0')
        o->fp[--nf] = 0;
}

/* An integer-valued d >= 0, exactly (glibc prints integer doubles exactly). */
static void dec_from_int(double d, jdec *o)
{
    snprintf(o->ip, sizeof o->ip, "%.0f", d);
    o->fp[0] = 0;
}

static int cmp_int(const char *x, const char *y)
{
    size_t a = strlen(x), b = strlen(y);
    return a != b ? (a < b ? -1 : 1) : strcmp(x, y);
}

/* x + 1 and x - 1 (x > 0) on canonical decimal strings, in place (room for one more digit). */
static void inc_int(char *x)
{
    size_t n = strlen(x), i = n;
    while (i > 0 && x[i - 1] == '9')
        x[--i] = '0';
    if (i > 0) {
        x[i - 1]++;
    } else {
        memmove(x + 1, x, n + 1);
        x[0] = '1';
    }
}

static void dec_int(char *x)
{
    size_t n = strlen(x), i = n;
    while (i > 0 && x[i - 1] == '0')
        x[--i] = '9';
    if (i == 0)                                /* x was 0: not called so */
        return;
    x[i - 1]--;
    if (x[0] == '0' && n > 1)
        memmove(x, x + 1, n);
}

/* ---- alternatives -------------------------------------------------------------------------- */

static void alt(jss *g, bool *first)
{
    if (!*first)
        llmri_buf_puts(&g->out, " |");
    *first = false;
}

/* " "TEXT"" for n digit (or '.') bytes; nothing for n == 0. */
static void lit(jss *g, const char *pre, const char *s, size_t n)
{
    if (!n && !*pre)
        return;
    llmri_buf_printf(&g->out, " \"%s%.*s\"", pre, (int)n, s);
}

static void drange(jss *g, char lo, char hi)
{
    if (lo == hi)
        llmri_buf_printf(&g->out, " \"%c\"", lo);
    else
        llmri_buf_printf(&g->out, " [%c-%c]", lo, hi);
}

static void digits(jss *g, size_t k)
{
    if (k == 1)
        llmri_buf_puts(&g->out, " [0-9]");
    else if (k > 1)
        llmri_buf_printf(&g->out, " [0-9]{%zu}", k);
}

/* n-digit strings >= x whose first `from` digits equal x's (x[from..] not all zeros). */
static void ge_tail(jss *g, bool *first, const char *x, size_t from, size_t n)
{
    size_t t = n - 1;
    while (x[t] == '0')
        t--;
    for (size_t j = from; j < t; j++)
        if (x[j] < '9') {
            alt(g, first);
            lit(g, "", x, j);
            drange(g, (char)(x[j] + 1), '9');
            digits(g, n - j - 1);
        }
    alt(g, first);
    lit(g, "", x, t);
    drange(g, x[t], '9');
    digits(g, n - t - 1);
}

/* n-digit strings <= y whose first `from` digits equal y's (y[from..] not all nines). */
static void le_tail(jss *g, bool *first, const char *y, size_t from, size_t n)
{
    size_t t = n - 1;
    while (y[t] == '9')
        t--;
    for (size_t j = from; j < t; j++)
        if (y[j] > '0') {
            alt(g, first);
            lit(g, "", y, j);
            drange(g, '0', (char)(y[j] - 1));
            digits(g, n - j - 1);
        }
    alt(g, first);
    lit(g, "", y, t);
    drange(g, '0', y[t]);
    digits(g, n - t - 1);
}

static bool all_of(const char *s, size_t n, char c)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != c)
            return false;
    return true;
}

/* n-digit strings from x to y (x <= y). */
static void same_len(jss *g, bool *first, const char *x, const char *y, size_t n)
{
    size_t k = 0;
    while (k < n && x[k] == y[k])
        k++;
    if (k == n) {
        alt(g, first);
        lit(g, "", x, n);
        return;
    }
    bool lo_full = all_of(x + k + 1, n - k - 1, '0'), hi_full = all_of(y + k + 1, n - k - 1, '9');
    char d0 = (char)(x[k] + !lo_full), d1 = (char)(y[k] - !hi_full);
    if (!lo_full)
        ge_tail(g, first, x, k + 1, n);
    if (d0 <= d1) {
        alt(g, first);
        lit(g, "", x, k);
        drange(g, d0, d1);
        digits(g, n - k - 1);
    }
    if (!hi_full)
        le_tail(g, first, y, k + 1, n);
}

/* A rule for the canonical integers from x to y (x <= y). */
static int int_range(jss *g, const char *x, const char *y, jss_name name)
{
    size_t nx = strlen(x), ny = strlen(y);
    char *lo = malloc(ny + 2), *hi = malloc(ny + 2);
    if (!lo || !hi) {
        free(lo);
        free(hi);
        return jss_fail(g, LLMR_ERR_NOMEM, "out of memory");
    }
    jss_new_rule(g, name);
    llmri_buf_printf(&g->out, "%s ::=", name);
    bool first = true;
    for (size_t L = nx; L <= ny; L++) {
        if (L == nx) {
            memcpy(lo, x, nx + 1);
        } else {
            lo[0] = '1';
            memset(lo + 1, '0', L - 1);
            lo[L] = 0;
        }
        if (L == ny) {
            memcpy(hi, y, ny + 1);
        } else {
            memset(hi, '9', L);
            hi[L] = 0;
        }
        same_len(g, &first, lo, hi, L);
    }
    llmri_buf_puts(&g->out, "\n");
    free(lo);
    free(hi);
    return LLMR_OK;
}

/* ---- fractions: rules that match "" or "." digits, by the fraction's value ---------------- */

/* Fractions >= 0.f whose first `from` digits equal f's (f nonempty). */
static void ge_frac(jss *g, bool *first, const char *f, size_t from)
{
    size_t n = strlen(f);
    for (size_t j = from; j < n; j++)
        if (f[j] < '9') {
            alt(g, first);
            lit(g, ".", f, j);
            drange(g, (char)(f[j] + 1), '9');
            llmri_buf_puts(&g->out, " [0-9]*");
        }
    alt(g, first);
    lit(g, ".", f, n);
    llmri_buf_puts(&g->out, " [0-9]*");
}

/* Fractions <= 0.f whose first `from` digits equal f's; "" (no fraction) when from is 0. */
static void le_frac(jss *g, bool *first, const char *f, size_t from)
{
    size_t n = strlen(f);
    for (size_t j = from; j < n; j++)
        if (f[j] > '0') {
            alt(g, first);
            lit(g, ".", f, j);
            drange(g, '0', (char)(f[j] - 1));
            llmri_buf_puts(&g->out, " [0-9]*");
        }
    for (size_t j = from; j <= n; j++) {
        alt(g, first);
        if (j == 0) {
            llmri_buf_puts(&g->out, " \"\"");
            if (n == 0) {
                alt(g, first);
                llmri_buf_puts(&g->out, " \".0\" \"0\"*");
            }
        } else if (j < n) {
            lit(g, ".", f, j);
        } else {
            lit(g, ".", f, n);
            llmri_buf_puts(&g->out, " \"0\"*");
        }
    }
}

/* A rule for fractions from 0.lo to 0.hi (lo <= hi; hi NULL: no upper bound). */
static void frac_rule(jss *g, const char *lo, const char *hi, jss_name name)
{
    if (!hi && !lo[0]) {
        g->uses |= JSS_F_FRAC;
        strcpy(name, "frac-opt");
        return;
    }
    jss_new_rule(g, name);
    llmri_buf_printf(&g->out, "%s ::=", name);
    bool first = true;
    if (!hi) {
        ge_frac(g, &first, lo, 0);
    } else if (!lo[0]) {
        le_frac(g, &first, hi, 0);
    } else {
        size_t k = 0;
        while (lo[k] && lo[k] == hi[k])
            k++;
        if (!lo[k]) {                          /* lo is a prefix of hi */
            le_frac(g, &first, hi, k);
        } else {                               /* lo[k] < hi[k]: both are digits here */
            char lo_k[2] = {lo[k], 0};
            if (lo[k + 1])
                ge_frac(g, &first, lo, k + 1);
            else {
                alt(g, &first);
                lit(g, ".", lo, k);
                llmri_buf_printf(&g->out, " \"%s\" [0-9]*", lo_k);
            }
            if (lo[k] + 1 <= hi[k] - 1) {
                alt(g, &first);
                lit(g, ".", lo, k);
                drange(g, (char)(lo[k] + 1), (char)(hi[k] - 1));
                llmri_buf_puts(&g->out, " [0-9]*");
            }
            le_frac(g, &first, hi, k + 1);
        }
    }
    llmri_buf_puts(&g->out, "\n");
}

/* ---- non-negative ranges ------------------------------------------------------------------ */

/* A rule for the non-negative decimals from a to b (b NULL: up to top, the largest integer
 * part, with any fraction). frac: fractions allowed (numbers) or not (integers). */
static int nn_rule(jss *g, const jdec *a, const jdec *b, const char *top, bool frac,
                   jss_name name)
{
    jss_name ir = "", fa = "", fb = "", fm = "";
    char *mid_lo = malloc(DEC_INT + 2), *mid_hi = malloc(DEC_INT + 2);
    int rc = LLMR_OK;
    if (!mid_lo || !mid_hi) {
        rc = jss_fail(g, LLMR_ERR_NOMEM, "out of memory");
        goto out;
    }
    const char *bi = b ? b->ip : top;
    if (!frac) {
        rc = int_range(g, a->ip, bi, name);
        goto out;
    }
    if (b && strcmp(a->ip, b->ip) == 0) {      /* one integer part */
        frac_rule(g, a->fp, b->fp, fa);
        jss_new_rule(g, name);
        llmri_buf_printf(&g->out, "%s ::= \"%s\" %s\n", name, a->ip, fa);
        goto out;
    }
    /* a's integer part with a fraction >= a's, the integers strictly between with any
     * fraction, b's integer part with a fraction <= b's (any fraction when b is the top). */
    strcpy(mid_lo, a->ip);
    inc_int(mid_lo);
    strcpy(mid_hi, bi);
    if (b && strcmp(bi, "0"))
        dec_int(mid_hi);
    bool has_mid = cmp_int(mid_lo, mid_hi) <= 0 && (b ? cmp_int(mid_lo, b->ip) < 0 : true);
    frac_rule(g, a->fp, NULL, fa);
    if (has_mid) {
        if ((rc = int_range(g, mid_lo, mid_hi, ir)))
            goto out;
        frac_rule(g, "", NULL, fm);
    }
    if (b)
        frac_rule(g, "", b->fp, fb);
    jss_new_rule(g, name);
    llmri_buf_printf(&g->out, "%s ::= \"%s\" %s", name, a->ip, fa);
    if (has_mid)
        llmri_buf_printf(&g->out, " | %s %s", ir, fm);
    if (b)
        llmri_buf_printf(&g->out, " | \"%s\" %s", b->ip, fb);
    llmri_buf_puts(&g->out, "\n");
out:
    free(mid_lo);
    free(mid_hi);
    return rc;
}

/* ---- the keywords ------------------------------------------------------------------------- */

static int get_bound(jss *g, const cJSON *s, const char *key, bool *has, double *v)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(s, key);
    *has = false;
    if (!x)
        return LLMR_OK;
    if (cJSON_IsBool(x))
        return jss_fail(g, LLMR_ERR_UNSUPPORTED, "%s is a boolean (draft 4); expected a number "
                        "(draft 6 and later)", key);
    if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble))
        return jss_fail(g, LLMR_ERR_FORMAT, "%s must be a finite number", key);
    *has = true;
    *v = x->valuedouble == 0 ? 0.0 : x->valuedouble;          /* -0 is 0 */
    return LLMR_OK;
}

int jss_number(jss *g, const cJSON *s, bool integer, jss_name name)
{
    bool hmin, hmax, hxmin, hxmax;
    double vmin = 0, vmax = 0, xmin = 0, xmax = 0;
    int rc;
    if ((rc = get_bound(g, s, "minimum", &hmin, &vmin)) ||
        (rc = get_bound(g, s, "maximum", &hmax, &vmax)) ||
        (rc = get_bound(g, s, "exclusiveMinimum", &hxmin, &xmin)) ||
        (rc = get_bound(g, s, "exclusiveMaximum", &hxmax, &xmax)))
        return rc;
    if (!hmin && !hmax && !hxmin && !hxmax) {
        strcpy(name, integer ? "integer" : "number");
        return LLMR_OK;
    }
    double lo = -INFINITY, hi = INFINITY;
    if (hmin)
        lo = vmin;
    if (hxmin && nextafter(xmin, INFINITY) > lo)
        lo = nextafter(xmin, INFINITY);
    if (hmax)
        hi = vmax;
    if (hxmax && nextafter(xmax, -INFINITY) < hi)
        hi = nextafter(xmax, -INFINITY);
    if (integer) {
        lo = ceil(lo);
        hi = floor(hi);
    }
    if (lo > hi)
        return jss_fail(g, LLMR_ERR_FORMAT, "no %s satisfies the bounds (the least allowed is "
                        "%.17g, the greatest %.17g)", integer ? "integer" : "number", lo, hi);
    lo = lo == 0 ? 0.0 : lo;
    hi = hi == 0 ? 0.0 : hi;
    jdec *d = calloc(3, sizeof *d);            /* 0, |lo|, |hi| */
    char *top = malloc(DEC_INT);
    if (!d || !top) {
        free(d);
        free(top);
        return jss_fail(g, LLMR_ERR_NOMEM, "out of memory");
    }
    void (*conv)(double, jdec *) = integer ? dec_from_int : dec_from_double;
    strcpy(d[0].ip, "0");
    size_t D = 16;                             /* integer digits when a side is unbounded */
    if (isfinite(lo)) {
        conv(fabs(lo), &d[1]);
        D = strlen(d[1].ip) > D ? strlen(d[1].ip) : D;
    }
    if (isfinite(hi)) {
        conv(fabs(hi), &d[2]);
        D = strlen(d[2].ip) > D ? strlen(d[2].ip) : D;
    }
    if (D > 308) {
        snprintf(top, DEC_INT, "%.0f", DBL_MAX);
    } else {
        memset(top, '9', D);
        top[D] = 0;
    }
    jss_name pos = "", neg = "";
    if (hi >= 0)                               /* [max(lo, 0), hi] */
        rc = nn_rule(g, lo > 0 ? &d[1] : &d[0], isfinite(hi) ? &d[2] : NULL, top, !integer,
                     pos);
    if (!rc && lo < 0)                         /* "-" [max(-hi, 0), -lo] */
        rc = nn_rule(g, hi < 0 ? &d[2] : &d[0], isfinite(lo) ? &d[1] : NULL, top, !integer,
                     neg);
    if (!rc) {
        jss_new_rule(g, name);
        llmri_buf_printf(&g->out, "%s ::=", name);
        if (pos[0])
            llmri_buf_printf(&g->out, " %s%s", pos, neg[0] ? " |" : "");
        if (neg[0])
            llmri_buf_printf(&g->out, " \"-\" %s", neg);
        llmri_buf_puts(&g->out, "\n");
    }
    free(d);
    free(top);
    return rc;
}
