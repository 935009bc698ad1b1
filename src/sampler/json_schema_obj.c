/* json_schema_obj.c - objects (properties, required, additionalProperties) and arrays
 * (items, prefixItems, minItems, maxItems) as GBNF.
 *
 * Objects: the declared properties come in schema order (required properties in `required`
 * that `properties` does not declare come after them); required ones must appear, optional
 * ones may be left out. With additionalProperties a schema (or true) more members may follow,
 * whose keys are none of the declared names (written without escapes, so that no escaped
 * spelling of a declared name slips through); without additionalProperties only the declared
 * properties are written, which every schema allows.
 *
 * The members form a balanced tree of rules rather than a chain, so that a schema with 10 000
 * optional properties gives a grammar whose rules nest log2(n) deep: for a run S of members,
 *   N(S) ::= N(L) C(R) | N(R)      its members with none written before (the second only when
 *                                  every member of L is optional), never empty;
 *   C(S) ::= C(L) C(R)             its members, each after a comma.
 */
#include "sampler/json_schema_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MEMBERS 20000

typedef struct member {
    const char  *key;
    const cJSON *schema;        /* NULL: any value */
    bool         required;
} member;

typedef struct tree_out {
    unsigned n_plus, c;         /* rule ids */
    bool     all_optional;
} tree_out;

static bool listed(const cJSON *req, const char *key)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, req)
        if (cJSON_IsString(r) && strcmp(r->valuestring, key) == 0)
            return true;
    return false;
}

/* The rules of members [lo, hi): kv rule ids are base + i. Depth log2(hi - lo). */
static void tree(jss *g, const member *m, unsigned base, int lo, int hi, tree_out *t)
{
    if (hi - lo == 1) {
        t->n_plus = base + (unsigned)lo;
        t->c = g->next_id++;
        t->all_optional = !m[lo].required;
        llmri_buf_printf(&g->out, m[lo].required ? "s%u ::= \",\" space s%u\n"
                                                : "s%u ::= ( \",\" space s%u )?\n",
                        t->c, base + (unsigned)lo);
        return;
    }
    tree_out l, r;
    int mid = lo + (hi - lo) / 2;
    tree(g, m, base, lo, mid, &l);
    tree(g, m, base, mid, hi, &r);
    t->n_plus = g->next_id++;
    t->c = g->next_id++;
    t->all_optional = l.all_optional && r.all_optional;
    llmri_buf_printf(&g->out, "s%u ::= s%u s%u", t->n_plus, l.n_plus, r.c);
    if (l.all_optional)
        llmri_buf_printf(&g->out, " | s%u", r.n_plus);
    llmri_buf_printf(&g->out, "\ns%u ::= s%u s%u\n", t->c, l.c, r.c);
}

/* ---- keys that are none of the declared names ---------------------------------------------- */

typedef struct knode {
    uint32_t cp;
    int      child, sibling;
    bool     term;
    unsigned rule;
} knode;

static uint32_t next_cp(const char **p)
{
    const unsigned char *s = (const unsigned char *)*p;
    uint32_t c = s[0];
    int n = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    for (int i = 1; i <= n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            n = 0;
            break;
        }
    }
    c = n == 0 ? c : n == 1 ? c & 0x1F : n == 2 ? c & 0x0F : c & 0x07;
    for (int i = 1; i <= n; i++)
        c = (c << 6) | (s[i] & 0x3F);
    *p += n + 1;
    return c;
}

/* A rule for a JSON string (quotes included) that is none of the n keys: a trie of the keys,
 * one rule per node: "" when no key ends there, a character that leaves the trie then any
 * characters, or a child's character then the child's rule. */
static int other_key(jss *g, const member *m, int n, jss_name name)
{
    size_t cap = 64, nn = 1;
    knode *t = malloc(cap * sizeof *t);
    if (!t)
        return jss_fail(g, LLMR_ERR_NOMEM, "out of memory");
    t[0] = (knode){0, -1, -1, false, 0};
    for (int i = 0; i < n; i++) {
        int at = 0;
        for (const char *p = m[i].key; *p;) {
            uint32_t cp = next_cp(&p);
            int c = t[at].child;
            while (c >= 0 && t[c].cp != cp)
                c = t[c].sibling;
            if (c < 0) {
                if (nn == cap) {
                    knode *nt = realloc(t, (cap *= 2) * sizeof *t);
                    if (!nt) {
                        free(t);
                        return jss_fail(g, LLMR_ERR_NOMEM, "out of memory");
                    }
                    t = nt;
                }
                t[nn] = (knode){cp, -1, t[at].child, false, 0};
                t[at].child = c = (int)nn++;
            }
            at = c;
        }
        t[at].term = true;
    }
    for (size_t i = 0; i < nn; i++)
        t[i].rule = g->next_id++;
    g->uses |= JSS_F_KCHAR;
    for (size_t i = 0; i < nn; i++) {
        llmri_buf_printf(&g->out, "s%u ::= %s[^\"\\\\\\x00-\\x1F", t[i].rule,
                        t[i].term ? "" : "\"\" | ");
        for (int c = t[i].child; c >= 0; c = t[c].sibling)
            llmri_buf_printf(&g->out, "\\U%08X", t[c].cp);
        llmri_buf_puts(&g->out, "] kchar*");
        for (int c = t[i].child; c >= 0; c = t[c].sibling)
            if (t[c].cp >= 0x20 && t[c].cp != '"' && t[c].cp != '\\' && t[c].cp <= 0x10FFFF &&
                (t[c].cp < 0xD800 || t[c].cp > 0xDFFF))
                llmri_buf_printf(&g->out, " | \"\\U%08X\" s%u", t[c].cp, t[c].rule);
        llmri_buf_puts(&g->out, "\n");
    }
    jss_new_rule(g, name);
    llmri_buf_printf(&g->out, "%s ::= \"\\\"\" s%u \"\\\"\"\n", name, t[0].rule);
    free(t);
    return LLMR_OK;
}

/* ---- objects ------------------------------------------------------------------------------- */

static int collect_members(jss *g, const cJSON *props, const cJSON *req, const cJSON *addl,
                           member **out, int *n_out)
{
    int n = cJSON_GetArraySize(props), cap = n, extra = 0;
    const cJSON *p, *r;
    cJSON_ArrayForEach(r, req) {
        if (!cJSON_IsString(r))
            return jss_fail(g, LLMR_ERR_FORMAT, "required must be an array of strings");
        if (!cJSON_GetObjectItemCaseSensitive(props, r->valuestring))
            extra++;
    }
    if (n + extra > MAX_MEMBERS)
        return jss_fail(g, LLMR_ERR_UNSUPPORTED, "more than %d properties", MAX_MEMBERS);
    member *m = calloc((size_t)(cap + extra) + 1, sizeof *m);
    if (!m)
        return jss_fail(g, LLMR_ERR_NOMEM, "out of memory");
    int i = 0;
    cJSON_ArrayForEach(p, props)
        m[i++] = (member){p->string, p, listed(req, p->string)};
    cJSON_ArrayForEach(r, req) {
        if (cJSON_GetObjectItemCaseSensitive(props, r->valuestring))
            continue;
        if (cJSON_IsFalse(addl)) {
            free(m);
            return jss_fail(g, LLMR_ERR_FORMAT, "required property \"%.64s\" is not in "
                            "properties, and additionalProperties is false",
                            r->valuestring);
        }
        bool dup = false;                      /* "required": ["x", "x"] */
        for (int j = n; j < i; j++)
            dup |= strcmp(m[j].key, r->valuestring) == 0;
        if (!dup)
            m[i++] = (member){r->valuestring, cJSON_IsObject(addl) ? addl : NULL, true};
    }
    *out = m;
    *n_out = i;
    return LLMR_OK;
}

/* kv rules s<base+i> for every member. */
static int member_rules(jss *g, const member *m, int n, unsigned base, int depth)
{
    for (int i = 0; i < n; i++) {
        jss_name v = "value";
        char seg[96];
        snprintf(seg, sizeof seg, "properties/%.80s", m[i].key);
        size_t pl = jss_path_push(g, seg);
        int rc = m[i].schema ? jss_schema(g, m[i].schema, depth + 1, v) : LLMR_OK;
        if (rc)
            return rc;
        jss_path_pop(g, pl);
        cJSON *key = cJSON_CreateString(m[i].key);
        if (!key)
            return jss_fail(g, LLMR_ERR_NOMEM, "out of memory");
        llmri_buf_printf(&g->out, "s%u ::= ", base + (unsigned)i);
        rc = jss_json_literal(g, key);
        cJSON_Delete(key);
        if (rc)
            return rc;
        llmri_buf_printf(&g->out, " space \":\" space %s space\n", v);
    }
    return LLMR_OK;
}

int jss_object(jss *g, const cJSON *s, int depth, jss_name name)
{
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(s, "required");
    const cJSON *addl = cJSON_GetObjectItemCaseSensitive(s, "additionalProperties");
    if (props && !cJSON_IsObject(props))
        return jss_fail(g, LLMR_ERR_FORMAT, "properties must be an object");
    if (req && !cJSON_IsArray(req))
        return jss_fail(g, LLMR_ERR_FORMAT, "required must be an array");
    if (addl && !cJSON_IsBool(addl) && !cJSON_IsObject(addl))
        return jss_fail(g, LLMR_ERR_FORMAT, "additionalProperties must be a schema");
    bool extras = addl && !cJSON_IsFalse(addl);
    if (!addl && !cJSON_GetArraySize(props) && !cJSON_GetArraySize(req)) {
        strcpy(name, "object");
        return LLMR_OK;
    }
    member *m = NULL;
    int n = 0, rc = collect_members(g, props, req, addl, &m, &n);
    if (rc)
        return rc;
    unsigned base = g->next_id;
    g->next_id += (unsigned)n;
    jss_name xk = "", xv = "value";
    if (!(rc = member_rules(g, m, n, base, depth)) && extras) {
        size_t pl = jss_path_push(g, "additionalProperties");
        if (!(rc = other_key(g, m, n, xk)) && cJSON_IsObject(addl))
            rc = jss_schema(g, addl, depth + 1, xv);
        if (!rc)
            jss_path_pop(g, pl);
    }
    if (rc) {
        free(m);
        return rc;
    }
    tree_out t = {0, 0, true};
    if (n > 0)
        tree(g, m, base, 0, n, &t);
    free(m);
    unsigned e = g->next_id++, x = g->next_id++, body = g->next_id++;
    if (extras)                                /* E: one more member; X: more, after commas */
        llmri_buf_printf(&g->out, "s%u ::= %s space \":\" space %s space\n"
                                  "s%u ::= ( \",\" space s%u )*\n", e, xk, xv, x, e);
    llmri_buf_printf(&g->out, "s%u ::=", body);
    const char *sep = "";
    if (n > 0) {
        llmri_buf_printf(&g->out, " s%u", t.n_plus);
        if (extras)
            llmri_buf_printf(&g->out, " s%u", x);
        sep = " |";
    }
    if (t.all_optional && extras)
        llmri_buf_printf(&g->out, "%s s%u s%u", sep, e, x), sep = " |";
    if (t.all_optional)
        llmri_buf_printf(&g->out, "%s \"\"", sep);
    jss_new_rule(g, name);
    llmri_buf_printf(&g->out, "\n%s ::= \"{\" space s%u \"}\"\n", name, body);
    return LLMR_OK;
}

/* ---- arrays -------------------------------------------------------------------------------- */

int jss_array(jss *g, const cJSON *s, int depth, jss_name name)
{
    int min, max, rc;
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items");
    const cJSON *prefix = cJSON_GetObjectItemCaseSensitive(s, "prefixItems");
    if ((rc = jss_get_count(g, s, "minItems", 0, &min)) ||
        (rc = jss_get_count(g, s, "maxItems", -1, &max)))
        return rc;
    if (cJSON_IsArray(items))
        return jss_fail(g, LLMR_ERR_UNSUPPORTED, "items as an array (draft 2019 tuples) is "
                        "not supported; use prefixItems");
    if (prefix && !cJSON_IsArray(prefix))
        return jss_fail(g, LLMR_ERR_FORMAT, "prefixItems must be an array of schemas");
    int np = cJSON_GetArraySize(prefix);
    if (np > JSS_MAX_COUNT)
        return jss_fail(g, LLMR_ERR_UNSUPPORTED, "more than %d prefixItems", JSS_MAX_COUNT);
    if (cJSON_IsFalse(items) && (max < 0 || max > np))
        max = np;                              /* no items past the prefix */
    if (max >= 0 && max < min)
        return jss_fail(g, LLMR_ERR_FORMAT, "no array fits: at most %d items%s, at least %d",
                        max, cJSON_IsFalse(items) ? " (items is false)" : "", min);
    jss_name rest = "value";
    if (items && !cJSON_IsBool(items)) {
        size_t pl = jss_path_push(g, "items");
        if ((rc = jss_schema(g, items, depth + 1, rest)))
            return rc;
        jss_path_pop(g, pl);
    }
    jss_name *el = calloc((size_t)np + 1, sizeof *el);
    if (!el)
        return jss_fail(g, LLMR_ERR_NOMEM, "out of memory");
    const cJSON *p;
    int k = 0;
    cJSON_ArrayForEach(p, prefix) {
        char idx[24];
        snprintf(idx, sizeof idx, "prefixItems/%d", k);
        size_t pl = jss_path_push(g, idx);
        if ((rc = jss_schema(g, p, depth + 1, el[k]))) {
            free(el);
            return rc;
        }
        jss_path_pop(g, pl);
        k++;
    }
    /* T_k: the items from position k on, each after a comma; T_np repeats `rest`. The
     * body is item 0 then T_1 (or, without a prefix, rest then its repetitions). Prefix
     * items past maxItems cannot appear. */
    if (max >= 0 && np > max)
        np = max;
    unsigned t0 = g->next_id;
    g->next_id += (unsigned)np + 2;
    int lo = min > np ? min - np : 0, hi = max < 0 ? -1 : max - np;
    llmri_buf_printf(&g->out, "s%u ::= ", t0 + (unsigned)np);
    if (hi != 0) {
        llmri_buf_printf(&g->out, "( \",\" space %s space )", rest);
        jss_count(&g->out, lo, hi);
    } else {
        llmri_buf_puts(&g->out, "\"\"");
    }
    llmri_buf_puts(&g->out, "\n");
    for (k = np - 1; k >= 1; k--)
        llmri_buf_printf(&g->out, "s%u ::= \",\" space %s space s%u%s\n", t0 + (unsigned)k,
                        el[k], t0 + (unsigned)k + 1, k >= min ? " | \"\"" : "");
    unsigned body = t0 + (unsigned)np + 1;
    if (np > 0) {
        llmri_buf_printf(&g->out, "s%u ::= %s space s%u%s\n", body, el[0], t0 + 1,
                        min == 0 ? " | \"\"" : "");
    } else if (max == 0) {
        llmri_buf_printf(&g->out, "s%u ::= \"\"\n", body);
    } else {
        llmri_buf_printf(&g->out, "s%u ::= %s space ( \",\" space %s space )", body, rest, rest);
        jss_count(&g->out, min ? min - 1 : 0, max < 0 ? -1 : max - 1);
        llmri_buf_puts(&g->out, min == 0 ? " | \"\"\n" : "\n");
    }
    free(el);
    jss_new_rule(g, name);
    llmri_buf_printf(&g->out, "%s ::= \"[\" space s%u \"]\"\n", name, body);
    return LLMR_OK;
}
