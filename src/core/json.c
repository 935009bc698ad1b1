/* json.c - bounded JSON parsing in front of cJSON (see json.h for why). */
#include "core/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool llmri_json_depth_ok(const char *text, size_t len, int max_depth, size_t *at)
{
    int depth = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == '"') {
            /* Skip the string; an escape hides the character after it. An unterminated string
             * ends the scan: cJSON will reject the text anyway. */
            for (i++; i < len && text[i] != '"'; i++)
                if (text[i] == '\\')
                    i++;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth) {
                if (at)
                    *at = i;
                return false;
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return true;
}

static int cmp_key(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    return strcmp(x->string, y->string);
}

/* The first key that one object of v repeats, or NULL. Objects of a few keys are compared
 * pairwise; large ones are sorted, so a hostile object of 10^5 keys costs n log n, not n^2.
 * The recursion is bounded by the depth check that ran before the parse. */
static const char *dup_key(const cJSON *v)
{
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
        return NULL;
    size_t n = 0;
    for (const cJSON *c = v->child; c; c = c->next) {
        const char *d = dup_key(c);
        if (d)
            return d;
        n++;
    }
    if (!cJSON_IsObject(v) || n < 2)
        return NULL;
    if (n <= 16) {
        for (const cJSON *a = v->child; a; a = a->next)
            for (const cJSON *b = a->next; b; b = b->next)
                if (!strcmp(a->string, b->string))
                    return a->string;
        return NULL;
    }
    const cJSON **keys = malloc(n * sizeof *keys);
    if (!keys)
        return NULL;   /* the caller's tree is still valid; only the check is skipped */
    size_t i = 0;
    for (const cJSON *c = v->child; c; c = c->next)
        keys[i++] = c;
    qsort(keys, n, sizeof *keys, cmp_key);
    const char *d = NULL;
    for (i = 1; i < n && !d; i++)
        if (!strcmp(keys[i - 1]->string, keys[i]->string))
            d = keys[i]->string;
    free(keys);
    return d;
}

cJSON *llmri_json_parse(const char *text, size_t len, int flags, const char *what,
                       const char **end, char *err, size_t err_len)
{
    size_t at = 0;
    if (!text)
        len = 0;
    if (!llmri_json_depth_ok(text, len, LLMR_JSON_MAX_DEPTH, &at)) {
        snprintf(err, err_len, "%s nests arrays and objects deeper than %d levels (at byte %zu)",
                 what, LLMR_JSON_MAX_DEPTH, at);
        return NULL;
    }
    const char *e = NULL;
    cJSON *o = text ? cJSON_ParseWithLengthOpts(text, len, &e, false) : NULL;
    if (!o) {
        at = e && e >= text && e <= text + len ? (size_t)(e - text) : 0;
        snprintf(err, err_len, "%s is not valid JSON (error near byte %zu of %zu)", what, at,
                 len);
        return NULL;
    }
    if (end)
        *end = e;
    if (!(flags & LLMR_JSON_TRAILING_OK))
        for (const char *p = e; p && p < text + len; p++)
            if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n' && *p != 0) {
                snprintf(err, err_len, "%s has data after the JSON value (at byte %zu)", what,
                         (size_t)(p - text));
                cJSON_Delete(o);
                return NULL;
            }
    const char *d = (flags & LLMR_JSON_DUPS_OK) ? NULL : dup_key(o);
    if (d) {
        snprintf(err, err_len, "%s has the key \"%.100s\" twice in one object; it is ambiguous",
                 what, d);
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
