/* json_schema.c - a JSON Schema subset turned into GBNF (then parsed like any grammar, so
 * constrained JSON takes the same path as a user's grammar). The subset is listed in the
 * README ("JSON schemas"); every keyword outside it is an error that names it, never ignored.
 *
 * Conventions of the emitted grammar: a value rule matches the value alone, no whitespace
 * around it; containers put `space` after their opening bracket and after each member, so
 * the root ends exactly at its last character and the grammar is then complete (the stream
 * can stop without waiting for an end token). Strings follow RFC 8259 section 7 and reject
 * unpaired \u surrogate escapes, which strict parsers (cJSON among them) refuse. Unbounded
 * integers have at most 16 digits and exponents at most 2, so every number is a finite double.
 *
 * Combinators: anyOf is a choice; oneOf is a choice whose branches must be provably disjoint
 * (different types, different const/enum values, or a required property with different
 * const/enum values), since a value matching two branches would fail oneOf; allOf (and $ref
 * beside other keywords, and anyOf/oneOf beside other keywords) merges the schemas into one
 * (json_schema_merge.c). $ref is local (a JSON pointer into the document), each target one
 * rule, so recursion is a recursive rule; a cycle with no base case is an error.
 */
#include "sampler/json_schema_int.h"
#include "core/json.h"
#include "core/grow.h"
#include "sampler/sampler.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char JSON_BASE[] =
    "value ::= object | array | string | number | boolean | null\n"
    "object ::= \"{\" space ( string space \":\" space value space"
    " ( \",\" space string space \":\" space value space )* )? \"}\"\n"
    "array ::= \"[\" space ( value space ( \",\" space value space )* )? \"]\"\n"
    "string ::= \"\\\"\" char* \"\\\"\"\n"
    "char ::= [^\"\\\\\\x00-\\x1F] | \"\\\\\" ( [\"\\\\/bfnrt] | \"u\" hex4 )\n"
    "hex4 ::= [0-9a-cA-Ce-fE-F] hex hex hex | [dD] [0-7] hex hex"
    " | [dD] [89abAB] hex hex \"\\\\u\" [dD] [c-fC-F] hex hex\n"
    "hex ::= [0-9a-fA-F]\n"
    "number ::= integer ( \".\" [0-9]+ )? ( [eE] [-+]? [0-9]{1,2} )?\n"
    "integer ::= \"-\"? ( \"0\" | [1-9] [0-9]{0,15} )\n"
    "boolean ::= \"true\" | \"false\"\n"
    "null ::= \"null\"\n"
    "space ::= | \" \" | \"\\n\" [ \\t]{0,20}\n";

/* ---- helpers shared by the compiler's files ------------------------------------------------ */

int jss_fail(jss *g, int code, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (g->path_len)
        return llmri_err_set(g->err, code, "json schema: at %s: %s", g->path, msg);
    return llmri_err_set(g->err, code, "json schema: %s", msg);
}

void jss_new_rule(jss *g, jss_name name)
{
    snprintf(name, sizeof(jss_name), "s%u", g->next_id++);
}

size_t jss_path_push(jss *g, const char *seg)
{
    size_t old = g->path_len;
    int n = snprintf(g->path + old, sizeof g->path - old, "/%s", seg);
    g->path_len = n < 0 || (size_t)n >= sizeof g->path - old ? sizeof g->path - 1 : old + (size_t)n;
    return old;
}

void jss_path_pop(jss *g, size_t len)
{
    g->path_len = len;
    g->path[len] = 0;
}

void jss_literal(llmr_buf *b, const char *s, size_t n)
{
    llmri_buf_append(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            llmri_buf_append(b, e, 2);
        } else if (c < 0x20) {
            llmri_buf_printf(b, "\\x%02X", c);
        } else {
            llmri_buf_append(b, (const char *)&c, 1);
        }
    }
    llmri_buf_append(b, "\"", 1);
}

int jss_json_literal(jss *g, const cJSON *v)
{
    char *txt = cJSON_PrintUnformatted(v);
    if (!txt)
        return jss_fail(g, LLMR_ERR_NOMEM, "out of memory");
    jss_literal(&g->out, txt, strlen(txt));
    cJSON_free(txt);
    return LLMR_OK;
}

void jss_count(llmr_buf *b, int min, int max)
{
    if (max < 0)
        llmri_buf_printf(b, "{%d,}", min);
    else
        llmri_buf_printf(b, "{%d,%d}", min, max);
}

int jss_get_count(jss *g, const cJSON *s, const char *key, int dflt, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, key);
    *out = dflt;
    if (!v)
        return LLMR_OK;
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > 1e9 ||
        v->valuedouble != (double)(int)v->valuedouble)
        return jss_fail(g, LLMR_ERR_FORMAT, "%s must be a non-negative integer", key);
    if (v->valuedouble > JSS_MAX_COUNT)
        return jss_fail(g, LLMR_ERR_UNSUPPORTED, "%s %g is above the supported %d", key,
                        v->valuedouble, JSS_MAX_COUNT);
    *out = (int)v->valuedouble;
    return LLMR_OK;
}

/* ---- keywords ------------------------------------------------------------------------------ */

static const char *const ANNOTATIONS[] = {
    "title", "description", "$schema", "$id", "$comment", "examples", "default",
    "deprecated", "readOnly", "writeOnly", "$anchor", "$defs", "definitions",
};
static const char *const UNSUPPORTED[] = {
    "multipleOf", "uniqueItems", "contains", "minContains", "maxContains",
    "patternProperties", "propertyNames", "minProperties", "maxProperties",
    "dependentRequired", "dependentSchemas", "dependencies", "unevaluatedProperties",
    "unevaluatedItems", "additionalItems", "not", "if", "then", "else", "contentEncoding",
    "contentMediaType", "contentSchema", "$dynamicRef", "$dynamicAnchor", "$recursiveRef",
    "$recursiveAnchor", "$vocabulary", "discriminator",
};
static const struct { const char *key; unsigned fam; } KEYWORDS[] = {
    {"type", 0}, {"enum", 0}, {"const", 0}, {"anyOf", 0}, {"oneOf", 0}, {"allOf", 0},
    {"$ref", 0}, {"nullable", 0},
    {"minimum", JSS_T_INT | JSS_T_NUM}, {"maximum", JSS_T_INT | JSS_T_NUM},
    {"exclusiveMinimum", JSS_T_INT | JSS_T_NUM}, {"exclusiveMaximum", JSS_T_INT | JSS_T_NUM},
    {"minLength", JSS_T_STR}, {"maxLength", JSS_T_STR}, {"pattern", JSS_T_STR},
    {"format", JSS_T_STR},
    {"items", JSS_T_ARR}, {"prefixItems", JSS_T_ARR}, {"minItems", JSS_T_ARR},
    {"maxItems", JSS_T_ARR},
    {"properties", JSS_T_OBJ}, {"required", JSS_T_OBJ}, {"additionalProperties", JSS_T_OBJ},
};

static bool in_list(const char *const *list, size_t n, const char *k)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], k) == 0)
            return true;
    return false;
}

bool jss_is_annotation(const char *k)
{
    return in_list(ANNOTATIONS, sizeof ANNOTATIONS / sizeof *ANNOTATIONS, k);
}

/* The type family a keyword applies to (0 for the general ones); -1 when not in the subset. */
int jss_keyword_family(const char *k)
{
    for (size_t i = 0; i < sizeof KEYWORDS / sizeof *KEYWORDS; i++)
        if (strcmp(KEYWORDS[i].key, k) == 0)
            return (int)KEYWORDS[i].fam;
    return -1;
}

static const char *const TYPE_NAMES[] = {"null", "boolean", "integer", "number", "string",
                                         "array", "object"};

unsigned jss_type_bit(const char *t)
{
    for (unsigned i = 0; i < 7; i++)
        if (strcmp(t, TYPE_NAMES[i]) == 0)
            return 1u << i;
    return 0;
}

/* Checks every keyword of s; *fams gets the type families its keywords apply to and *first
 * one keyword per family (for messages). */
static int check_keywords(jss *g, const cJSON *s, int depth, unsigned *fams,
                          const char *first[7])
{
    const cJSON *k;
    *fams = 0;
    cJSON_ArrayForEach(k, s) {
        const char *key = k->string;
        if (jss_is_annotation(key)) {
            if (depth > 0 && strcmp(key, "$id") == 0)
                return jss_fail(g, LLMR_ERR_UNSUPPORTED, "$id below the root is not supported "
                                "(it would change what $ref resolves against)");
            continue;
        }
        int fam = jss_keyword_family(key);
        if (fam < 0 && in_list(UNSUPPORTED, sizeof UNSUPPORTED / sizeof *UNSUPPORTED, key))
            return jss_fail(g, LLMR_ERR_UNSUPPORTED, "keyword \"%.64s\" is not supported",
                            key);
        if (fam < 0)
            return jss_fail(g, LLMR_ERR_UNSUPPORTED, "unknown keyword \"%.64s\"", key);
        for (unsigned i = 0; i < 7; i++)
            if ((unsigned)fam & (1u << i) && !(*fams & (1u << i)))
                first[i] = key;
        *fams |= (unsigned)fam;
    }
    return LLMR_OK;
}

/* ---- $ref ---------------------------------------------------------------------------------- */

int jss_resolve(jss *g, const char *ref, const cJSON **out)
{
    if (ref[0] != '#')
        return jss_fail(g, LLMR_ERR_UNSUPPORTED, "$ref \"%.100s\": only local references "
                        "(\"#\" or \"#/...\" JSON pointers) are supported", ref);
    const cJSON *at = g->root;
    const char *p = ref + 1;
    if (*p && *p != '/')
        return jss_fail(g, LLMR_ERR_UNSUPPORTED, "$ref \"%.100s\": anchors are not "
                        "supported; use a JSON pointer (\"#/$defs/name\")", ref);
    char seg[256];
    while (*p == '/') {
        size_t n = 0;
        for (p++; *p && *p != '/'; p++) {
            char c = *p;
            if (c == '~' && (p[1] == '0' || p[1] == '1'))
                c = *++p == '0' ? '~' : '/';
            if (n + 1 >= sizeof seg)
                return jss_fail(g, LLMR_ERR_FORMAT, "$ref \"%.100s\": segment too long", ref);
            seg[n++] = c;
        }
        seg[n] = 0;
        const cJSON *next = NULL;
        if (cJSON_IsObject(at)) {
            next = cJSON_GetObjectItemCaseSensitive(at, seg);
        } else if (cJSON_IsArray(at)) {
            char *end;
            long i = strtol(seg, &end, 10);
            if (*seg && !*end && i >= 0 && i < cJSON_GetArraySize(at))
                next = cJSON_GetArrayItem(at, (int)i);
        }
        if (!next)
            return jss_fail(g, LLMR_ERR_FORMAT, "$ref \"%.100s\" points at nothing", ref);
        at = next;
    }
    *out = at;
    return LLMR_OK;
}

static int gen_ref(jss *g, const char *ref, int depth, jss_name name)
{
    const cJSON *t;
    int rc = jss_resolve(g, ref, &t);
    if (rc)
        return rc;
    for (size_t i = 0; i < g->n_refs; i++)
        if (g->refs[i].target == t) {
            strcpy(name, g->refs[i].name);
            return LLMR_OK;
        }
    if (g->n_refs >= JSS_MAX_REFS)
        return jss_fail(g, LLMR_ERR_UNSUPPORTED, "more than %d $ref targets", JSS_MAX_REFS);
    if (!LLMR_GROW(g->refs, g->cap_refs, g->n_refs + 1))
        return jss_fail(g, LLMR_ERR_NOMEM, "out of memory");
    size_t i = g->n_refs++;
    jss_ref *r = &g->refs[i];
    memset(r, 0, sizeof *r);
    r->target = t;
    r->ref = strdup(ref);
    snprintf(r->name, sizeof r->name, "ref%u", g->next_id++);
    strcpy(name, r->name);                     /* r may move while the target is made */
    if (!r->ref)
        return jss_fail(g, LLMR_ERR_NOMEM, "out of memory");
    jss_name body;
    if ((rc = jss_schema(g, t, depth + 1, body)))
        return rc;
    llmri_buf_printf(&g->out, "%s ::= %s\n", name, body);
    return LLMR_OK;
}

/* ---- alternatives -------------------------------------------------------------------------- */

/* name ::= one rule per schema of list (kind 'S'), per enum value ('E') or per type name of
 * s ('T'). */
static int gen_typed(jss *g, const cJSON *s, const char *type, int depth, jss_name name);

static int gen_choice(jss *g, const cJSON *s, const cJSON *list, char kind, int depth,
                      jss_name name)
{
    int count = cJSON_GetArraySize(list), n = 0, rc = LLMR_OK;
    jss_name *sub = calloc((size_t)count + 1, sizeof *sub);   /* heap: this recurses */
    if (!sub)
        return jss_fail(g, LLMR_ERR_NOMEM, "out of memory");
    const cJSON *e;
    cJSON_ArrayForEach(e, list) {
        if (kind == 'S') {
            char idx[16];
            snprintf(idx, sizeof idx, "%d", n);
            size_t pl = jss_path_push(g, idx);
            rc = jss_schema(g, e, depth + 1, sub[n]);
            if (!rc)
                jss_path_pop(g, pl);
        } else if (kind == 'T') {
            rc = gen_typed(g, s, e->valuestring, depth, sub[n]);
        }
        if (rc)
            break;
        n++;
    }
    if (!rc) {
        jss_new_rule(g, name);
        llmri_buf_printf(&g->out, "%s ::= ", name);
        int i = 0;
        cJSON_ArrayForEach(e, list) {
            if (i)
                llmri_buf_append(&g->out, " | ", 3);
            if (kind == 'E' && (rc = jss_json_literal(g, e)))
                break;
            if (kind != 'E')
                llmri_buf_puts(&g->out, sub[i]);
            i++;
        }
        llmri_buf_append(&g->out, "\n", 1);
    }
    free(sub);
    return rc;
}

/* enum / const: the values whose JSON type the schema's `type` allows. */
static int gen_enum(jss *g, const cJSON *s, unsigned types, jss_name name)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(s, "const");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(s, "enum");
    if (c && e)
        return jss_fail(g, LLMR_ERR_UNSUPPORTED, "enum and const together are not supported");
    if (e && (!cJSON_IsArray(e) || cJSON_GetArraySize(e) == 0))
        return jss_fail(g, LLMR_ERR_FORMAT, "enum must be a non-empty array");
    cJSON *keep = cJSON_CreateArray();
    if (!keep)
        return jss_fail(g, LLMR_ERR_NOMEM, "out of memory");
    const cJSON *v;
    if (c)
        cJSON_AddItemReferenceToArray(keep, (cJSON *)c);
    else
        cJSON_ArrayForEach(v, e)
            if (jss_value_types(v) & types)
                cJSON_AddItemReferenceToArray(keep, (cJSON *)v);
    int rc = cJSON_GetArraySize(keep) == 0
                 ? jss_fail(g, LLMR_ERR_FORMAT, "no %s value has the schema's type",
                            c ? "const" : "enum")
             : c && !(jss_value_types(c) & types)
                 ? jss_fail(g, LLMR_ERR_FORMAT, "the const value does not have the schema's "
                            "type")
                 : gen_choice(g, s, keep, 'E', 0, name);
    cJSON_Delete(keep);
    return rc;
}

/* ---- the schema ---------------------------------------------------------------------------- */

static int gen_typed(jss *g, const cJSON *s, const char *type, int depth, jss_name name)
{
    if (!strcmp(type, "null") || !strcmp(type, "boolean")) {
        strcpy(name, type);
        return LLMR_OK;
    }
    if (!strcmp(type, "integer") || !strcmp(type, "number"))
        return jss_number(g, s, type[0] == 'i', name);
    if (!strcmp(type, "string"))
        return jss_string(g, s, name);
    if (!strcmp(type, "array"))
        return jss_array(g, s, depth, name);
    if (!strcmp(type, "object"))
        return jss_object(g, s, depth, name);
    return jss_fail(g, LLMR_ERR_UNSUPPORTED, "unknown type \"%.32s\" (expected object, array, "
                    "string, number, integer, boolean, null)", type);
}

/* The types `type` allows (all when absent). */
static int type_mask(jss *g, const cJSON *type, unsigned *mask)
{
    *mask = JSS_T_ALL;
    if (!type)
        return LLMR_OK;
    if (!cJSON_IsString(type) && (!cJSON_IsArray(type) || cJSON_GetArraySize(type) == 0))
        return jss_fail(g, LLMR_ERR_FORMAT, "type must be a type name or a non-empty array "
                        "of them");
    *mask = 0;
    bool one = cJSON_IsString(type);           /* one name: a list of one */
    for (const cJSON *t = one ? type : type->child; t; t = one ? NULL : t->next) {
        unsigned b = cJSON_IsString(t) ? jss_type_bit(t->valuestring) : 0;
        if (!b)
            return jss_fail(g, LLMR_ERR_UNSUPPORTED, "unknown type %s%.32s%s (expected "
                            "object, array, string, number, integer, boolean, null)",
                            cJSON_IsString(t) ? "\"" : "",
                            cJSON_IsString(t) ? t->valuestring : "(not a string)",
                            cJSON_IsString(t) ? "\"" : "");
        *mask |= b;
    }
    return LLMR_OK;
}

/* A schema with only type-specific keywords (no combinators, refs or enums left). */
static int gen_plain(jss *g, const cJSON *s, unsigned fams, const char *first[7], int depth,
                     jss_name name)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(s, "type");
    unsigned mask;
    int rc = type_mask(g, type, &mask);
    if (rc)
        return rc;
    if (!type) {                               /* inferred from the keywords */
        if (fams == 0) {
            strcpy(name, "value");
            return LLMR_OK;
        }
        if (fams & (JSS_T_INT | JSS_T_NUM))
            fams = (fams & ~(unsigned)(JSS_T_INT | JSS_T_NUM)) | JSS_T_NUM;
        if (fams & (fams - 1))
            return jss_fail(g, LLMR_ERR_UNSUPPORTED, "keywords for several types (\"%s\", "
                            "\"%s\") without a \"type\"", first[__builtin_ctz(fams)],
                            first[31 - __builtin_clz(fams)]);
        return gen_typed(g, s, TYPE_NAMES[__builtin_ctz(fams)], depth, name);
    }
    for (unsigned i = 0; i < 7; i++)
        if ((fams & (1u << i)) && !(mask & fams & (1u << i)) &&
            !((1u << i) & (JSS_T_INT | JSS_T_NUM) && mask & (JSS_T_INT | JSS_T_NUM)))
            return jss_fail(g, LLMR_ERR_FORMAT, "\"%s\" applies to %s values, which the "
                            "schema's type excludes", first[i], TYPE_NAMES[i]);
    if (cJSON_IsString(type))
        return gen_typed(g, s, type->valuestring, depth, name);
    return gen_choice(g, s, type, 'T', depth, name);
}

static int gen_merged(jss *g, const cJSON *s, int depth, jss_name name)
{
    cJSON *m = NULL;
    int rc = jss_merge(g, s, &m);
    if (!rc)
        rc = jss_schema(g, m, depth + 1, name);
    cJSON_Delete(m);
    return rc;
}

static int gen_object_schema(jss *g, const cJSON *s, int depth, jss_name name)
{
    unsigned fams;
    const char *first[7] = {0};
    int rc = check_keywords(g, s, depth, &fams, first);
    if (rc)
        return rc;
    bool others = jss_has_constraints(s, "$ref");
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(s, "$ref");
    if (ref && !cJSON_IsString(ref))
        return jss_fail(g, LLMR_ERR_FORMAT, "$ref must be a string");
    if (ref && !others)
        return gen_ref(g, ref->valuestring, depth, name);
    const cJSON *any = cJSON_GetObjectItemCaseSensitive(s, "anyOf");
    const cJSON *one = cJSON_GetObjectItemCaseSensitive(s, "oneOf");
    if (ref || cJSON_GetObjectItemCaseSensitive(s, "allOf") || ((any || one) &&
        jss_has_constraints(s, any ? "anyOf" : "oneOf")))
        return gen_merged(g, s, depth, name);  /* to one schema, or to a plain choice */
    if (any || one) {
        const cJSON *list = any ? any : one;
        if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) == 0)
            return jss_fail(g, LLMR_ERR_FORMAT, "%s must be a non-empty array of schemas",
                            any ? "anyOf" : "oneOf");
        if (one && (rc = jss_check_disjoint(g, one)))
            return rc;
        size_t pl = jss_path_push(g, any ? "anyOf" : "oneOf");
        rc = gen_choice(g, s, list, 'S', depth, name);
        if (!rc)
            jss_path_pop(g, pl);
        return rc;
    }
    const cJSON *nullable = cJSON_GetObjectItemCaseSensitive(s, "nullable");
    if (nullable && !cJSON_IsBool(nullable))
        return jss_fail(g, LLMR_ERR_FORMAT, "nullable must be true or false");
    if (cJSON_IsTrue(nullable)) {              /* OpenAPI's: the schema, or null */
        cJSON *copy = cJSON_Duplicate(s, true);
        if (!copy)
            return jss_fail(g, LLMR_ERR_NOMEM, "out of memory");
        cJSON_DeleteItemFromObjectCaseSensitive(copy, "nullable");
        cJSON_DeleteItemFromObjectCaseSensitive(copy, "$id");      /* the root's, if any */
        jss_name inner;
        rc = jss_schema(g, copy, depth + 1, inner);
        cJSON_Delete(copy);
        if (rc)
            return rc;
        jss_new_rule(g, name);
        llmri_buf_printf(&g->out, "%s ::= %s | null\n", name, inner);
        return LLMR_OK;
    }
    if (cJSON_GetObjectItemCaseSensitive(s, "enum") ||
        cJSON_GetObjectItemCaseSensitive(s, "const")) {
        if (fams)
            return jss_fail(g, LLMR_ERR_UNSUPPORTED, "\"%s\" beside enum or const is not "
                            "supported", first[__builtin_ctz(fams)]);
        unsigned mask;
        if ((rc = type_mask(g, cJSON_GetObjectItemCaseSensitive(s, "type"), &mask)))
            return rc;
        return gen_enum(g, s, mask, name);
    }
    return gen_plain(g, s, fams, first, depth, name);
}

int jss_schema(jss *g, const cJSON *s, int depth, jss_name name)
{
    if (depth > JSS_MAX_DEPTH)
        return jss_fail(g, LLMR_ERR_UNSUPPORTED, "schemas nested more than %d deep",
                        JSS_MAX_DEPTH);
    if (cJSON_IsTrue(s) || (cJSON_IsObject(s) && s->child == NULL)) {
        strcpy(name, "value");                 /* `true` and {} accept anything */
        return LLMR_OK;
    }
    if (cJSON_IsFalse(s))
        return jss_fail(g, LLMR_ERR_FORMAT, "the schema false matches no value");
    if (!cJSON_IsObject(s))
        return jss_fail(g, LLMR_ERR_FORMAT, "a schema must be an object (or true)");
    return gen_object_schema(g, s, depth, name);
}

/* ---- entry --------------------------------------------------------------------------------- */

/* Parses the result once, so that a schema whose grammar cannot work (a $ref cycle with no
 * base case, a $ref that reaches itself before any character) fails here, with a message
 * about the schema rather than about generated rule names. */
static int verify(jss *g)
{
    llmr_grammar *gr = NULL;
    llmr_err e;
    int rc = llmri_grammar_parse(g->out.p, &gr, &e);
    llmri_grammar_free(gr);
    if (!rc)
        return LLMR_OK;
    /* The rule named is one of the cycle's; a cycle always passes through a $ref rule. */
    char refs[200] = "";
    const char *q = strstr(e.msg, "rule 'ref");
    size_t i = 0, len = q ? strspn(q + 6, "ref0123456789") : 0;
    while (i < g->n_refs && (!len || strlen(g->refs[i].name) != len ||
                             strncmp(g->refs[i].name, q + 6, len)))
        i++;
    if (i < g->n_refs)
        snprintf(refs, sizeof refs, "\"%.100s\"", g->refs[i].ref);
    for (size_t k = 0; i >= g->n_refs && k < g->n_refs && k < 3; k++)
        snprintf(refs + strlen(refs), sizeof refs - strlen(refs), "%s\"%.50s\"",
                 k ? " or " : "", g->refs[k].ref);
    g->path_len = 0;
    if (strstr(e.msg, "can never finish"))
        return jss_fail(g, LLMR_ERR_FORMAT, "$ref %s is a cycle with no base case (no finite "
                        "value matches it)", refs);
    if (strstr(e.msg, "left-recursive"))
        return jss_fail(g, LLMR_ERR_UNSUPPORTED, "$ref %s reaches itself before any character "
                        "is written (or $refs and combinators nest too deep)", refs);
    return jss_fail(g, rc, "%s", e.msg);
}

static void free_refs(jss *g)
{
    for (size_t i = 0; i < g->n_refs; i++)
        free(g->refs[i].ref);
    free(g->refs);
}

/* The rules after the schemas' own: root (or the caller's top rules), the shared rules, the
 * base; then the check. Frees everything on error. */
static int finish(jss *g, const char *top, bool check, char **out)
{
    int rc = LLMR_OK;
    llmri_buf_puts(&g->out, top);
    jss_write_shared(g);
    llmri_buf_append(&g->out, JSON_BASE, sizeof JSON_BASE - 1);
    if (g->out.failed)
        rc = llmri_err_set(g->err, g->out.len >= JSS_MAX_OUT - 4096 ? LLMR_ERR_TOO_BIG
                                                                    : LLMR_ERR_NOMEM,
                           "json schema: the grammar would pass %u MiB (or out of memory)",
                           JSS_MAX_OUT >> 20);
    else if (check)
        rc = verify(g);
    free_refs(g);
    if (rc) {
        llmri_buf_free(&g->out);
        return rc;
    }
    *out = g->out.p;
    return LLMR_OK;
}

int llmri_json_schema_gbnf(const char *schema, char **out, llmr_err *err)
{
    *out = NULL;
    jss g = {.err = err, .next_id = 1};
    g.out.limit = JSS_MAX_OUT;
    jss_name root = "object";                  /* no schema: any JSON object */
    if (!schema)
        return finish(&g, "root ::= object\n", false, out);
    size_t at = 0;
    if (!llmri_json_depth_ok(schema, strlen(schema), LLMR_JSON_MAX_DEPTH, &at))
        return llmri_err_set(err, LLMR_ERR_UNSUPPORTED, "json schema: JSON nested deeper than "
                            "%d levels (at byte %zu)", LLMR_JSON_MAX_DEPTH, at);
    const char *end = NULL;
    cJSON *s = cJSON_ParseWithOpts(schema, &end, true);
    if (!s)
        return llmri_err_set(err, LLMR_ERR_FORMAT, "json schema: not valid JSON (near byte "
                            "%zu)", end ? (size_t)(end - schema) : 0);
    g.root = s;
    int rc = jss_schema(&g, s, 0, root);
    if (rc) {
        free_refs(&g);
        llmri_buf_free(&g.out);
    } else {
        char top[64];
        snprintf(top, sizeof top, "root ::= %s\n", root);
        rc = finish(&g, top, true, out);
    }
    cJSON_Delete(s);
    return rc;
}

int llmri_json_schema_gbnf_set(const cJSON *const *schemas, const char *const *names,
                               const char *const *where, size_t n, const char *top, char **out,
                               llmr_err *err)
{
    *out = NULL;
    jss g = {.err = err, .next_id = 1};
    g.out.limit = JSS_MAX_OUT;
    int rc = LLMR_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        jss_name r;
        g.root = schemas[i];
        g.path_len = 0;
        g.path[0] = 0;
        if (where && where[i])
            jss_path_push(&g, where[i]);
        if (!(rc = jss_schema(&g, schemas[i], 0, r)))
            llmri_buf_printf(&g.out, "%s ::= %s\n", names[i], r);
    }
    g.path_len = 0;
    g.path[0] = 0;
    if (!rc)
        return finish(&g, top, true, out);
    free_refs(&g);
    llmri_buf_free(&g.out);
    return rc;
}
