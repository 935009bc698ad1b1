/* json_schema_int.h - shared by the files that turn a JSON schema into GBNF:
 * json_schema.c (dispatch, keywords, combinators, $ref), json_schema_merge.c (allOf and
 * merging, oneOf's disjointness), json_schema_obj.c (objects, arrays), json_schema_num.c
 * (numeric ranges), json_schema_str.c (strings: lengths, formats, pattern via regex.c).
 *
 * Every rule the compiler writes is one line `name ::= ...` with no parentheses nested
 * deeper than one level, so the GBNF parser's bounds on nesting never apply, and every
 * recursion here is bounded by the schema's depth (JSS_MAX_DEPTH).
 */
#ifndef LLMR_SAMPLER_JSON_SCHEMA_INT_H
#define LLMR_SAMPLER_JSON_SCHEMA_INT_H

#include "core/buf.h"
#include "core/error.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

#define JSS_MAX_DEPTH  32       /* schemas nested in schemas: each level is a few frames, and
                                 * 32 fit the 64 KiB a server worker has left, under ASan too */
#define JSS_MAX_COUNT  1000     /* bound on minItems/maxItems/minLength/maxLength expanded */
#define JSS_MAX_REFS   4096     /* distinct $ref targets */
#define JSS_MAX_OUT    (48u << 20)   /* bytes of GBNF */

typedef char jss_name[40];

typedef struct jss_ref {
    const cJSON *target;
    char        *ref;           /* the $ref text, for messages */
    jss_name     name;
} jss_ref;

/* Bits for the shared rules a schema pulls in (written once, after the schema's rules). */
enum {
    JSS_F_DATE = 1, JSS_F_TIME = 2, JSS_F_UUID = 4, JSS_F_EMAIL = 8, JSS_F_URI = 16,
    JSS_F_KCHAR = 32, JSS_F_FRAC = 64,
};

typedef struct jss {
    llmr_buf     out;
    unsigned     next_id;
    unsigned     uses;          /* JSS_F_* */
    llmr_err    *err;
    const cJSON *root;
    jss_ref     *refs;
    size_t       n_refs, cap_refs;
    char         path[160];     /* where we are, as a JSON pointer, for messages */
    size_t       path_len;
} jss;

/* JSON types as bits (the order of TYPE_NAMES in json_schema.c). */
enum {
    JSS_T_NULL = 1, JSS_T_BOOL = 2, JSS_T_INT = 4, JSS_T_NUM = 8, JSS_T_STR = 16,
    JSS_T_ARR = 32, JSS_T_OBJ = 64, JSS_T_ALL = 127,
};

/* Sets err to "json schema: at PATH: message" (PATH omitted at the root); returns code. */
int jss_fail(jss *g, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A fresh rule name. */
void jss_new_rule(jss *g, jss_name name);
/* Path bookkeeping: push returns the old length for pop. */
size_t jss_path_push(jss *g, const char *seg);
void jss_path_pop(jss *g, size_t len);

/* The text s (n bytes) as a GBNF string literal. */
void jss_literal(llmr_buf *b, const char *s, size_t n);
/* A JSON value's exact compact text as a GBNF literal. */
int jss_json_literal(jss *g, const cJSON *v);
/* x{min,max} (max < 0: unbounded). */
void jss_count(llmr_buf *b, int min, int max);
/* A non-negative integer keyword (minItems...), bounded by JSS_MAX_COUNT; dflt if absent. */
int jss_get_count(jss *g, const cJSON *s, const char *key, int dflt, int *out);

/* Keyword tables (json_schema.c). */
bool jss_is_annotation(const char *key);
/* The JSS_T_* bits a keyword applies to (0: any type); -1 outside the subset. */
int jss_keyword_family(const char *key);
unsigned jss_type_bit(const char *type_name);
/* The schema a local $ref points at (borrowed from the document). */
int jss_resolve(jss *g, const char *ref, const cJSON **out);

/* json_schema_merge.c: the JSS_T_* bits of a JSON value (a whole number is integer and
 * number). */
unsigned jss_value_types(const cJSON *v);
/* Whether s has a keyword that constrains values other than `except` (and annotations). */
bool jss_has_constraints(const cJSON *s, const char *except);
/* One schema equivalent to s, which has allOf, $ref beside other keywords, or anyOf/oneOf
 * beside other keywords: the intersection of the parts, or an anyOf/oneOf of intersections.
 * *out is a new document (cJSON_Delete it) whose $refs still point into g->root. */
int jss_merge(jss *g, const cJSON *s, cJSON **out);
/* LLMR_OK when no value can match two branches of the oneOf list (as far as types, const and
 * enum values, and required properties with const/enum values tell). */
int jss_check_disjoint(jss *g, const cJSON *list);

/* The schema's rule (any schema). */
int jss_schema(jss *g, const cJSON *s, int depth, jss_name name);

/* Typed pieces. */
int jss_number(jss *g, const cJSON *s, bool integer, jss_name name);
int jss_string(jss *g, const cJSON *s, jss_name name);
int jss_array(jss *g, const cJSON *s, int depth, jss_name name);
int jss_object(jss *g, const cJSON *s, int depth, jss_name name);
/* The shared rules selected by g->uses, appended to the output. */
void jss_write_shared(jss *g);

#endif
