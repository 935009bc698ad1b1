/* json_schema_merge.c - allOf (and $ref or anyOf/oneOf beside other keywords) as one schema,
 * and the disjointness check that lets oneOf be a plain choice.
 *
 * Merging collects the parts to intersect (the schema's own keywords, each allOf branch,
 * each $ref target, recursively) and combines them keyword by keyword: types intersect
 * (OpenAPI's nullable adds null first), required lists unite, the same property in two parts
 * becomes {"allOf": [both]}, items likewise, lower bounds take the larger and upper bounds the
 * smaller, enum/const values intersect. Any other keyword must be equal wherever it appears;
 * two different patterns, formats or additionalProperties are an error naming the keyword,
 * as is additionalProperties in one part beside object keywords of another (the key sets
 * would interact). When one part has anyOf or oneOf, the result is that choice with the
 * other parts merged into each branch.
 */
#include "sampler/json_schema_int.h"

#include <string.h>

#define MAX_PARTS    256
#define MAX_REF_HOPS 32

unsigned jss_value_types(const cJSON *v)
{
    if (cJSON_IsNull(v)) return JSS_T_NULL;
    if (cJSON_IsBool(v)) return JSS_T_BOOL;
    if (cJSON_IsString(v)) return JSS_T_STR;
    if (cJSON_IsArray(v)) return JSS_T_ARR;
    if (cJSON_IsObject(v)) return JSS_T_OBJ;
    double d = v->valuedouble;
    return JSS_T_NUM | (d == (double)(long long)d && d > -9.2e18 && d < 9.2e18 ? JSS_T_INT : 0);
}

bool jss_has_constraints(const cJSON *s, const char *except)
{
    const cJSON *k;
    cJSON_ArrayForEach(k, s)
        if (strcmp(k->string, except) && !jss_is_annotation(k->string))
            return true;
    return false;
}

typedef struct parts {
    const cJSON *p[MAX_PARTS];
    int          n;
    const cJSON *choice;        /* the one part's anyOf / oneOf list */
    bool         one;
} parts;

/* Adds s's constraints to the parts: itself (for its plain keywords) and, recursively, its
 * allOf branches and $ref target. */
static int collect(jss *g, const cJSON *s, parts *ps, int hops)
{
    if (hops > MAX_REF_HOPS)
        return jss_fail(g, LLMR_ERR_UNSUPPORTED, "allOf and $ref nest more than %d deep (or "
                        "a $ref cycle with no base case)", MAX_REF_HOPS);
    if (cJSON_IsTrue(s) || (cJSON_IsObject(s) && !s->child))
        return LLMR_OK;
    if (cJSON_IsFalse(s))
        return jss_fail(g, LLMR_ERR_FORMAT, "allOf holds the schema false: no value matches");
    if (!cJSON_IsObject(s))
        return jss_fail(g, LLMR_ERR_FORMAT, "a schema must be an object (or true)");
    if (ps->n >= MAX_PARTS)
        return jss_fail(g, LLMR_ERR_UNSUPPORTED, "more than %d schemas in one allOf",
                        MAX_PARTS);
    ps->p[ps->n++] = s;
    int rc;
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(s, "$ref"), *t;
    if (ref) {
        if (!cJSON_IsString(ref))
            return jss_fail(g, LLMR_ERR_FORMAT, "$ref must be a string");
        if ((rc = jss_resolve(g, ref->valuestring, &t)) || (rc = collect(g, t, ps, hops + 1)))
            return rc;
    }
    const cJSON *all = cJSON_GetObjectItemCaseSensitive(s, "allOf"), *b;
    if (all && (!cJSON_IsArray(all) || !all->child))
        return jss_fail(g, LLMR_ERR_FORMAT, "allOf must be a non-empty array of schemas");
    cJSON_ArrayForEach(b, all)
        if ((rc = collect(g, b, ps, hops + 1)))
            return rc;
    const cJSON *any = cJSON_GetObjectItemCaseSensitive(s, "anyOf");
    const cJSON *one = cJSON_GetObjectItemCaseSensitive(s, "oneOf");
    if (any && one)
        return jss_fail(g, LLMR_ERR_UNSUPPORTED, "anyOf and oneOf in one schema are not "
                        "supported");
    if (any || one) {
        if (ps->choice)
            return jss_fail(g, LLMR_ERR_UNSUPPORTED, "anyOf/oneOf in more than one part of "
                            "an allOf is not supported");
        ps->choice = any ? any : one;
        ps->one = one != NULL;
        if (!cJSON_IsArray(ps->choice) || !ps->choice->child)
            return jss_fail(g, LLMR_ERR_FORMAT, "%s must be a non-empty array of schemas",
                            one ? "oneOf" : "anyOf");
    }
    return LLMR_OK;
}

/* ---- intersecting the parts ---------------------------------------------------------------- */

static bool is_lower(const char *k)
{
    return !strcmp(k, "minimum") || !strcmp(k, "exclusiveMinimum") ||
           !strcmp(k, "minLength") || !strcmp(k, "minItems");
}

static bool is_upper(const char *k)
{
    return !strcmp(k, "maximum") || !strcmp(k, "exclusiveMaximum") ||
           !strcmp(k, "maxLength") || !strcmp(k, "maxItems");
}

static bool skip_key(const char *k)
{
    return jss_is_annotation(k) || !strcmp(k, "$ref") || !strcmp(k, "allOf") ||
           !strcmp(k, "anyOf") || !strcmp(k, "oneOf") || !strcmp(k, "type") ||
           !strcmp(k, "nullable") || !strcmp(k, "enum") || !strcmp(k, "const");
}

/* {"allOf": [a, b]} (copies). */
static cJSON *both(const cJSON *a, const cJSON *b)
{
    cJSON *o = cJSON_CreateObject(), *l = cJSON_AddArrayToObject(o, "allOf");
    if (!l || !cJSON_AddItemToArray(l, cJSON_Duplicate(a, true)) ||
        !cJSON_AddItemToArray(l, cJSON_Duplicate(b, true))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int merge_key(jss *g, cJSON *m, const cJSON *k)
{
    const char *key = k->string;
    cJSON *have = cJSON_GetObjectItemCaseSensitive(m, key);
    if (!have)
        return cJSON_AddItemToObject(m, key, cJSON_Duplicate(k, true)) ? LLMR_OK
               : jss_fail(g, LLMR_ERR_NOMEM, "out of memory");
    if ((is_lower(key) || is_upper(key)) && cJSON_IsNumber(have) && cJSON_IsNumber(k)) {
        bool take = is_lower(key) ? k->valuedouble > have->valuedouble
                                  : k->valuedouble < have->valuedouble;
        if (take)
            cJSON_SetNumberValue(have, k->valuedouble);
        return LLMR_OK;
    }
    if (!strcmp(key, "required") && cJSON_IsArray(k)) {
        const cJSON *r;
        cJSON_ArrayForEach(r, k)
            if (!cJSON_AddItemToArray(have, cJSON_Duplicate(r, true)))
                return jss_fail(g, LLMR_ERR_NOMEM, "out of memory");
        return LLMR_OK;
    }
    if ((!strcmp(key, "properties") && cJSON_IsObject(k) && cJSON_IsObject(have)) ||
        !strcmp(key, "items")) {
        bool props = key[0] == 'p';
        const cJSON *p;
        for (p = props ? k->child : k; p; p = props ? p->next : NULL) {
            cJSON *old = props ? cJSON_GetObjectItemCaseSensitive(have, p->string) : have;
            cJSON *nv = old ? both(old, p) : cJSON_Duplicate(p, true);
            bool ok = nv && (!old ? cJSON_AddItemToObject(have, p->string, nv)
                             : props ? cJSON_ReplaceItemInObjectCaseSensitive(have, p->string, nv)
                                     : cJSON_ReplaceItemInObjectCaseSensitive(m, key, nv));
            if (!ok)
                return jss_fail(g, LLMR_ERR_NOMEM, "out of memory");
        }
        return LLMR_OK;
    }
    if (cJSON_Compare(have, k, true))
        return LLMR_OK;
    return jss_fail(g, LLMR_ERR_UNSUPPORTED, "\"%.64s\" differs between the schemas that "
                    "allOf (or $ref beside other keywords) combines; not supported", key);
}

/* The parts' types and enum/const values, intersected. */
static int merge_values(jss *g, parts *ps, cJSON *m)
{
    unsigned mask = JSS_T_ALL;
    cJSON *vals = NULL;
    for (int i = 0; i < ps->n; i++) {
        const cJSON *s = ps->p[i], *t = cJSON_GetObjectItemCaseSensitive(s, "type"), *x;
        const cJSON *nl = cJSON_GetObjectItemCaseSensitive(s, "nullable");
        if (t) {
            unsigned tm = 0;
            if (cJSON_IsString(t))
                tm = jss_type_bit(t->valuestring);
            cJSON_ArrayForEach(x, (cJSON_IsArray(t) ? t : NULL))
                tm |= cJSON_IsString(x) ? jss_type_bit(x->valuestring) : 0;
            if (!tm)
                return jss_fail(g, LLMR_ERR_FORMAT, "type must name object, array, string, "
                                "number, integer, boolean or null");
            if (cJSON_IsTrue(nl))
                tm |= JSS_T_NULL;
            if (tm & JSS_T_NUM)                /* a number may be an integer */
                tm |= JSS_T_INT;
            mask &= tm;
        }
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(s, "const");
        const cJSON *e = c ? NULL : cJSON_GetObjectItemCaseSensitive(s, "enum");
        if (!c && !e)
            continue;
        if (e && !cJSON_IsArray(e))
            return jss_fail(g, LLMR_ERR_FORMAT, "enum must be a non-empty array");
        cJSON *next = cJSON_CreateArray();
        if (!next)
            return jss_fail(g, LLMR_ERR_NOMEM, "out of memory");
        for (const cJSON *v = c ? c : e->child; v; v = c ? NULL : v->next) {
            bool keep = !vals;
            const cJSON *w;
            cJSON_ArrayForEach(w, vals)
                keep |= cJSON_Compare(v, w, true);
            if (keep)
                cJSON_AddItemToArray(next, cJSON_Duplicate(v, true));
        }
        cJSON_Delete(vals);
        vals = next;
    }
    if (!mask) {
        cJSON_Delete(vals);
        return jss_fail(g, LLMR_ERR_FORMAT, "the types that allOf combines have nothing in "
                        "common");
    }
    if (vals && !cJSON_AddItemToObject(m, "enum", vals))
        return jss_fail(g, LLMR_ERR_NOMEM, "out of memory");
    if (mask != JSS_T_ALL) {
        if ((mask & (JSS_T_INT | JSS_T_NUM)) == (JSS_T_INT | JSS_T_NUM))
            mask &= ~(unsigned)JSS_T_INT;      /* number covers integer */
        static const char *const names[] = {"null", "boolean", "integer", "number", "string",
                                            "array", "object"};
        cJSON *tl = cJSON_AddArrayToObject(m, "type");
        for (unsigned i = 0; i < 7 && tl; i++)
            if (mask & (1u << i))
                cJSON_AddItemToArray(tl, cJSON_CreateString(names[i]));
        if (!tl)
            return jss_fail(g, LLMR_ERR_NOMEM, "out of memory");
    }
    return LLMR_OK;
}

static int intersect(jss *g, parts *ps, cJSON **out)
{
    cJSON *m = cJSON_CreateObject();
    if (!m)
        return jss_fail(g, LLMR_ERR_NOMEM, "out of memory");
    int rc = merge_values(g, ps, m), n_obj = 0;
    bool addl = false;
    for (int i = 0; i < ps->n && !rc; i++) {
        const cJSON *k;
        bool obj = false;
        cJSON_ArrayForEach(k, ps->p[i]) {
            if (skip_key(k->string))
                continue;
            if (jss_keyword_family(k->string) == JSS_T_OBJ)
                obj = true;
            addl |= !strcmp(k->string, "additionalProperties");
            if ((rc = merge_key(g, m, k)))
                break;
        }
        n_obj += obj;
    }
    if (!rc && addl && n_obj > 1)
        rc = jss_fail(g, LLMR_ERR_UNSUPPORTED, "additionalProperties in one schema beside "
                      "object keywords of another, combined by allOf or $ref, is not "
                      "supported");
    if (rc) {
        cJSON_Delete(m);
        return rc;
    }
    *out = m;
    return LLMR_OK;
}

int jss_merge(jss *g, const cJSON *s, cJSON **out)
{
    *out = NULL;
    parts ps = {.n = 0};
    int rc = collect(g, s, &ps, 0);
    if (rc)
        return rc;
    if (!ps.choice)
        return intersect(g, &ps, out);
    /* {"anyOf": [parts + branch, ...]}: each branch is merged when the schema is made */
    cJSON *res = cJSON_CreateObject(), *list = NULL, *base = NULL;
    if (res)
        list = cJSON_AddArrayToObject(res, ps.one ? "oneOf" : "anyOf");
    if (list)
        rc = intersect(g, &ps, &base);
    else
        rc = jss_fail(g, LLMR_ERR_NOMEM, "out of memory");
    const cJSON *b;
    cJSON_ArrayForEach(b, (rc ? NULL : ps.choice)) {
        cJSON *pair = both(base, b), *br = NULL;  /* merged now, so oneOf sees each type */
        if (!pair)
            rc = jss_fail(g, LLMR_ERR_NOMEM, "out of memory");
        else if (!(rc = jss_merge(g, pair, &br)) && !cJSON_AddItemToArray(list, br))
            rc = jss_fail(g, LLMR_ERR_NOMEM, "out of memory");
        cJSON_Delete(pair);
        if (rc)
            break;
    }
    cJSON_Delete(base);
    if (rc) {
        cJSON_Delete(res);
        return rc;
    }
    *out = res;
    return LLMR_OK;
}

/* ---- oneOf --------------------------------------------------------------------------------- */

/* What is known of the values a branch matches: their types and, with enum/const, the
 * values themselves. */
static const cJSON *follow(jss *g, const cJSON *s)
{
    for (int hop = 0; hop < MAX_REF_HOPS && cJSON_IsObject(s); hop++) {
        const cJSON *ref = cJSON_GetObjectItemCaseSensitive(s, "$ref"), *t;
        if (!cJSON_IsString(ref) || jss_has_constraints(s, "$ref") ||
            jss_resolve(g, ref->valuestring, &t))
            break;
        s = t;
    }
    return s;
}

static unsigned branch_types_at(jss *g, const cJSON *s, const cJSON **vals, int level);

static unsigned branch_types(jss *g, const cJSON *s, const cJSON **vals)
{
    return branch_types_at(g, s, vals, 0);
}

static unsigned branch_types_at(jss *g, const cJSON *s, const cJSON **vals, int level)
{
    s = follow(g, s);
    *vals = NULL;
    if (!cJSON_IsObject(s))
        return JSS_T_ALL;
    unsigned all = JSS_T_ALL;                  /* allOf's parts each bound the values */
    const cJSON *part, *pv;
    cJSON_ArrayForEach(part, (level < 8 ? cJSON_GetObjectItemCaseSensitive(s, "allOf") : NULL)) {
        all &= branch_types_at(g, part, &pv, level + 1);
        if (pv && !*vals)
            *vals = pv;
    }
    unsigned mask = JSS_T_ALL;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(s, "type"), *x;
    if (t) {
        mask = cJSON_IsString(t) ? jss_type_bit(t->valuestring) : 0;
        cJSON_ArrayForEach(x, (cJSON_IsArray(t) ? t : NULL))
            mask |= cJSON_IsString(x) ? jss_type_bit(x->valuestring) : 0;
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "nullable")))
            mask |= JSS_T_NULL;
    }
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(s, "const");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(s, "enum");
    if (c || cJSON_IsArray(e)) {
        unsigned vm = 0;
        for (const cJSON *v = c ? c : e->child; v; v = c ? NULL : v->next)
            vm |= jss_value_types(v);
        mask &= vm;
        *vals = c ? c : e;
    }
    if (mask & (JSS_T_INT | JSS_T_NUM))        /* integers are numbers */
        mask |= JSS_T_INT | JSS_T_NUM;
    if (all & (JSS_T_INT | JSS_T_NUM))
        all |= JSS_T_INT | JSS_T_NUM;
    return mask & all;
}

static bool values_disjoint(const cJSON *a, const cJSON *b)
{
    for (const cJSON *x = cJSON_IsArray(a) ? a->child : a; x;
         x = cJSON_IsArray(a) ? x->next : NULL)
        for (const cJSON *y = cJSON_IsArray(b) ? b->child : b; y;
             y = cJSON_IsArray(b) ? y->next : NULL)
            if (cJSON_Compare(x, y, true))
                return false;
    return true;
}

static bool required(const cJSON *s, const char *key)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(s, "required"))
        if (cJSON_IsString(r) && !strcmp(r->valuestring, key))
            return true;
    return false;
}

/* Both objects only, with a property both require whose values (const/enum) differ. */
static bool discriminated(jss *g, const cJSON *a, const cJSON *b)
{
    a = follow(g, a);
    b = follow(g, b);
    const cJSON *pa = cJSON_GetObjectItemCaseSensitive(a, "properties"), *p;
    const cJSON *pb = cJSON_GetObjectItemCaseSensitive(b, "properties");
    cJSON_ArrayForEach(p, (cJSON_IsObject(pa) ? pa : NULL)) {
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(pb, p->string), *va, *vb;
        if (!q || !required(a, p->string) || !required(b, p->string))
            continue;
        branch_types(g, p, &va);
        branch_types(g, q, &vb);
        if (va && vb && values_disjoint(va, vb))
            return true;
    }
    return false;
}

int jss_check_disjoint(jss *g, const cJSON *list)
{
    int i = 0;
    for (const cJSON *a = list->child; a; a = a->next, i++) {
        int j = i + 1;
        for (const cJSON *b = a->next; b; b = b->next, j++) {
            const cJSON *va, *vb;
            unsigned ma = branch_types(g, a, &va), mb = branch_types(g, b, &vb);
            if (!(ma & mb) || (va && vb && values_disjoint(va, vb)))
                continue;
            if ((ma & mb) == JSS_T_OBJ && discriminated(g, a, b))
                continue;
            return jss_fail(g, LLMR_ERR_UNSUPPORTED, "oneOf branches %d and %d may both "
                            "match one value, which oneOf forbids; supported are branches "
                            "with different types, different const/enum values, or a "
                            "property both require with different const/enum values (or "
                            "use anyOf)", i, j);
        }
    }
    return LLMR_OK;
}
