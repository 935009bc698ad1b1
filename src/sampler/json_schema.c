/* json_schema.c - a JSON Schema subset turned into GBNF (then parsed like any grammar, so
 * constrained JSON takes the same path as a user's grammar).
 *
 * Conventions of the emitted grammar: a value rule matches the value alone, no whitespace
 * around it; containers put `space` after their opening bracket and after each member, so
 * the root ends exactly at its last character and the grammar is then complete (the stream
 * can stop without waiting for an end token). Strings follow RFC 8259 section 7 and reject
 * unpaired \u surrogate escapes, which strict parsers (cJSON among them) refuse. Integers
 * have at most 16 digits and exponents at most 2, so every number is a finite double.
 */
#include "core/buf.h"
#include "sampler/sampler.h"
#include "core/json.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH  64
#define MAX_COUNT  1000     /* bound on minItems/maxItems/minLength/maxLength we expand */

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

typedef struct gen {
    llmr_buf  out;
    unsigned  next_id;
    llmr_err *err;
} gen;

/* The text s as a GBNF string literal. */
static void sb_literal(llmr_buf *b, const char *s)
{
    llmri_buf_append(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
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

/* A JSON value's exact text as a GBNF literal (for const, enum and keys). */
static int sb_json_literal(gen *g, const cJSON *v)
{
    char *txt = cJSON_PrintUnformatted(v);
    if (!txt)
        return llmri_err_set(g->err, LLMR_ERR_NOMEM, "json schema: out of memory");
    sb_literal(&g->out, txt);
    cJSON_free(txt);
    return LLMR_OK;
}

static void new_rule(gen *g, char name[32])
{
    snprintf(name, 32, "s%u", g->next_id++);
}

/* x{min,max} in GBNF, max < 0 meaning unbounded. */
static void sb_count(llmr_buf *b, int min, int max)
{
    if (max < 0)
        llmri_buf_printf(b, "{%d,}", min);
    else
        llmri_buf_printf(b, "{%d,%d}", min, max);
}

static int get_count(gen *g, const cJSON *s, const char *key, int dflt, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, key);
    *out = dflt;
    if (!v)
        return LLMR_OK;
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble != (double)(int)v->valuedouble)
        return llmri_err_set(g->err, LLMR_ERR_FORMAT, "json schema: %s must be a non-negative "
                            "integer", key);
    if (v->valuedouble > MAX_COUNT)
        return llmri_err_set(g->err, LLMR_ERR_UNSUPPORTED, "json schema: %s %g is above the "
                            "supported %d", key, v->valuedouble, MAX_COUNT);
    *out = (int)v->valuedouble;
    return LLMR_OK;
}

static int gen_schema(gen *g, const cJSON *s, int depth, char name[32]);

static int gen_string(gen *g, const cJSON *s, char name[32])
{
    int min, max, rc;
    if ((rc = get_count(g, s, "minLength", 0, &min)) ||
        (rc = get_count(g, s, "maxLength", -1, &max)))
        return rc;
    if (min == 0 && max < 0) {
        strcpy(name, "string");
        return LLMR_OK;
    }
    if (max >= 0 && max < min)
        return llmri_err_set(g->err, LLMR_ERR_FORMAT, "json schema: maxLength < minLength");
    new_rule(g, name);
    llmri_buf_printf(&g->out, "%s ::= \"\\\"\" char", name);
    sb_count(&g->out, min, max);
    llmri_buf_printf(&g->out, " \"\\\"\"\n");
    return LLMR_OK;
}

static int gen_array(gen *g, const cJSON *s, int depth, char name[32])
{
    int min, max, rc;
    char item[32] = "value";
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items");
    if ((rc = get_count(g, s, "minItems", 0, &min)) ||
        (rc = get_count(g, s, "maxItems", -1, &max)))
        return rc;
    if (max >= 0 && max < min)
        return llmri_err_set(g->err, LLMR_ERR_FORMAT, "json schema: maxItems < minItems");
    if (items && (rc = gen_schema(g, items, depth + 1, item)))
        return rc;
    new_rule(g, name);
    llmri_buf_printf(&g->out, "%s ::= \"[\" space ", name);
    if (max != 0) {
        llmri_buf_printf(&g->out, "( %s space ( \",\" space %s space )", item, item);
        sb_count(&g->out, min ? min - 1 : 0, max < 0 ? -1 : max - 1);
        llmri_buf_printf(&g->out, " )%s ", min ? "" : "?");
    }
    llmri_buf_printf(&g->out, "\"]\"\n");
    return LLMR_OK;
}

static bool is_required(const cJSON *req, const char *key)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, req)
        if (cJSON_IsString(r) && strcmp(r->valuestring, key) == 0)
            return true;
    return false;
}

/* Properties in schema order; required ones must appear, optional ones may be left out.
 * With F_i = "members from i on, none written yet" and T_i = "members from i on, after at
 * least one", each choice decides once whether a comma is needed:
 *   F_i ::= kv_i T_i+1 | F_i+1 (the second only if i is optional),
 *   T_i ::= "," space kv_i T_i+1 (required)  or  ( "," space kv_i )? T_i+1 (optional). */
static int gen_object(gen *g, const cJSON *s, int depth, char name[32])
{
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(s, "required");
    if (props && !cJSON_IsObject(props))
        return llmri_err_set(g->err, LLMR_ERR_FORMAT, "json schema: properties must be an "
                            "object");
    if (req && !cJSON_IsArray(req))
        return llmri_err_set(g->err, LLMR_ERR_FORMAT, "json schema: required must be an array");
    int n = cJSON_GetArraySize(props);
    if (n == 0) {
        strcpy(name, "object");
        return LLMR_OK;
    }
    unsigned base = g->next_id;
    g->next_id += 3u * (unsigned)n + 1;        /* kv_i, F_i, T_i for each, and the object */
    int i = 0, rc;
    const cJSON *p;
    cJSON_ArrayForEach(p, props) {
        char v[32];
        if ((rc = gen_schema(g, p, depth + 1, v)))
            return rc;
        bool opt = !is_required(req, p->string);
        cJSON *key = cJSON_CreateString(p->string);
        if (!key)
            return llmri_err_set(g->err, LLMR_ERR_NOMEM, "json schema: out of memory");
        llmri_buf_printf(&g->out, "s%u-kv ::= ", base + i);
        rc = sb_json_literal(g, key);
        cJSON_Delete(key);
        if (rc)
            return rc;
        llmri_buf_printf(&g->out, " space \":\" space %s space\n", v);
        char nf[40] = "", nt[40] = "";         /* F_i+1 and T_i+1 as text ("" at the end) */
        if (i + 1 < n) {
            snprintf(nf, sizeof nf, " s%u-f", base + i + 1);
            snprintf(nt, sizeof nt, " s%u-t", base + i + 1);
        }
        llmri_buf_printf(&g->out, "s%u-f ::= s%u-kv%s", base + i, base + i, nt);
        if (opt)                               /* "" : an empty last alternative */
            llmri_buf_printf(&g->out, " |%s", nf[0] ? nf : " \"\"");
        llmri_buf_printf(&g->out, "\ns%u-t ::= ", base + i);
        llmri_buf_printf(&g->out, opt ? "( \",\" space s%u-kv )?%s\n" : "\",\" space s%u-kv%s\n",
                        base + i, nt);
        i++;
    }
    snprintf(name, 32, "s%u", base + 3u * (unsigned)n);
    llmri_buf_printf(&g->out, "%s ::= \"{\" space s%u-f \"}\"\n", name, base);
    return LLMR_OK;
}

static int gen_typed(gen *g, const cJSON *s, const char *type, int depth, char name[32])
{
    static const char *simple[] = {"number", "integer", "boolean", "null"};
    for (size_t i = 0; i < sizeof simple / sizeof *simple; i++)
        if (strcmp(type, simple[i]) == 0) {
            strcpy(name, simple[i]);
            return LLMR_OK;
        }
    if (strcmp(type, "string") == 0)
        return gen_string(g, s, name);
    if (strcmp(type, "array") == 0)
        return gen_array(g, s, depth, name);
    if (strcmp(type, "object") == 0)
        return gen_object(g, s, depth, name);
    return llmri_err_set(g->err, LLMR_ERR_UNSUPPORTED, "json schema: unknown type \"%s\" "
                        "(expected object, array, string, number, integer, boolean, null)",
                        type);
}

/* name ::= alt_1 | alt_2 ..., one alternative per element of list (enum values, anyOf
 * schemas or type names). */
static int gen_alternatives(gen *g, const cJSON *s, const cJSON *list, int kind, int depth,
                            char name[32])
{
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) == 0)
        return llmri_err_set(g->err, LLMR_ERR_FORMAT, "json schema: enum, anyOf, oneOf and a "
                            "type list must be non-empty arrays");
    int count = cJSON_GetArraySize(list), n = 0, rc = LLMR_OK;
    char (*sub)[32] = calloc((size_t)count, sizeof *sub);    /* heap: nesting is recursive */
    if (!sub)
        return llmri_err_set(g->err, LLMR_ERR_NOMEM, "json schema: out of memory");
    const cJSON *e;
    cJSON_ArrayForEach(e, list) {              /* schemas or type names: make their rules */
        if (kind == 1)
            rc = gen_schema(g, e, depth + 1, sub[n]);
        else if (kind == 2 && !cJSON_IsString(e))
            rc = llmri_err_set(g->err, LLMR_ERR_FORMAT, "json schema: type list entries "
                              "must be strings");
        else if (kind == 2)
            rc = gen_typed(g, s, e->valuestring, depth, sub[n]);
        if (rc)
            break;
        n++;
    }
    if (!rc) {
        new_rule(g, name);
        llmri_buf_printf(&g->out, "%s ::= ", name);
        int i = 0;
        cJSON_ArrayForEach(e, list) {
            if (i)
                llmri_buf_append(&g->out, " | ", 3);
            if (kind == 0 && (rc = sb_json_literal(g, e)))
                break;
            if (kind != 0)
                llmri_buf_printf(&g->out, "%s", sub[i]);
            i++;
        }
        llmri_buf_append(&g->out, "\n", 1);
    }
    free(sub);
    return rc;
}

static int gen_schema(gen *g, const cJSON *s, int depth, char name[32])
{
    if (depth > MAX_DEPTH)
        return llmri_err_set(g->err, LLMR_ERR_UNSUPPORTED, "json schema: nested more than %d "
                            "deep", MAX_DEPTH);
    if (cJSON_IsTrue(s) || (cJSON_IsObject(s) && s->child == NULL)) {
        strcpy(name, "value");                 /* `true` and {} accept anything */
        return LLMR_OK;
    }
    if (!cJSON_IsObject(s))
        return llmri_err_set(g->err, LLMR_ERR_FORMAT, "json schema: a schema must be an "
                            "object (or true)");
    const cJSON *v;
    if (cJSON_GetObjectItemCaseSensitive(s, "$ref"))
        return llmri_err_set(g->err, LLMR_ERR_UNSUPPORTED, "json schema: $ref is not "
                            "supported");
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "const"))) {
        new_rule(g, name);
        llmri_buf_printf(&g->out, "%s ::= ", name);
        int rc = sb_json_literal(g, v);
        llmri_buf_append(&g->out, "\n", 1);
        return rc;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "enum")))
        return gen_alternatives(g, s, v, 0, depth, name);
    if ((v = cJSON_GetObjectItemCaseSensitive(s, "anyOf")) ||
        (v = cJSON_GetObjectItemCaseSensitive(s, "oneOf")))
        return gen_alternatives(g, s, v, 1, depth, name);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(s, "type");
    if (cJSON_IsString(type))
        return gen_typed(g, s, type->valuestring, depth, name);
    if (cJSON_IsArray(type))
        return gen_alternatives(g, s, type, 2, depth, name);
    if (type)
        return llmri_err_set(g->err, LLMR_ERR_FORMAT, "json schema: type must be a string or "
                            "an array of strings");
    if (cJSON_GetObjectItemCaseSensitive(s, "properties"))
        return gen_object(g, s, depth, name);
    if (cJSON_GetObjectItemCaseSensitive(s, "items"))
        return gen_array(g, s, depth, name);
    strcpy(name, "value");
    return LLMR_OK;
}

int llmri_json_schema_gbnf(const char *schema, char **out, llmr_err *err)
{
    *out = NULL;
    gen g = {.err = err, .next_id = 1};
    int rc = LLMR_OK;
    char root[32] = "object";                  /* no schema: any JSON object */
    if (schema) {
        size_t at = 0;
        if (!llmri_json_depth_ok(schema, strlen(schema), LLMR_JSON_MAX_DEPTH, &at))
            return llmri_err_set(err, LLMR_ERR_UNSUPPORTED, "json schema: JSON nested deeper "
                                "than %d levels (at byte %zu)", LLMR_JSON_MAX_DEPTH, at);
        const char *end = NULL;
        cJSON *s = cJSON_ParseWithOpts(schema, &end, true);
        if (!s) {
            size_t off = end ? (size_t)(end - schema) : 0;
            return llmri_err_set(err, LLMR_ERR_FORMAT, "json schema: not valid JSON (near "
                                "byte %zu)", off);
        }
        rc = gen_schema(&g, s, 0, root);
        cJSON_Delete(s);
    }
    if (!rc) {
        llmri_buf_printf(&g.out, "root ::= %s\n", root);
        llmri_buf_append(&g.out, JSON_BASE, sizeof JSON_BASE - 1);
        if (g.out.failed)
            rc = llmri_err_set(err, LLMR_ERR_NOMEM, "json schema: out of memory");
    }
    if (rc) {
        llmri_buf_free(&g.out);
        return rc;
    }
    *out = g.out.p;
    return LLMR_OK;
}
