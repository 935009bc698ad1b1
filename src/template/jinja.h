/* jinja.h - a Jinja2 interpreter for chat templates (internal to the template layer).
 *
 * It renders the way Hugging Face's apply_chat_template does with Python's jinja2:
 * ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, loopcontrols),
 * default Undefined, keep_trailing_newline=False, plus the globals raise_exception and
 * strftime_now and a tojson filter that is json.dumps(ensure_ascii=False).
 *
 * Pipeline: jinja_lex (jlex.c) -> jinja_parse (jparse.c) -> AST -> jinja_exec (jeval.c).
 * Values (jvalue.c) live in one arena per render, freed at once: a template cannot leak, and
 * the arena's byte cap bounds what a hostile template can allocate.
 */
#ifndef LLMR_TEMPLATE_JINJA_H
#define LLMR_TEMPLATE_JINJA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"

/* ---- values ----------------------------------------------------------------------------- */
typedef enum {
    JV_UNDEF, JV_NONE, JV_BOOL, JV_INT, JV_FLOAT, JV_STR, JV_LIST, JV_DICT,
    JV_NS,      /* namespace(): a dict whose attributes may be assigned */
    JV_MACRO,   /* a {% macro %} or the `caller` of a {% call %} */
    JV_METHOD,  /* a bound method: "abc".upper, d.items, loop.cycle */
    JV_FUNC,    /* a global function: range, namespace, raise_exception, ... */
    JV_LOOP     /* the `loop` variable of a {% for %} */
} jv_type;

typedef struct jstr  { size_t len; char s[]; } jstr;   /* UTF-8, NUL-terminated */
typedef struct jlist jlist;
typedef struct jdict jdict;
typedef struct jmethod jmethod;
typedef struct jmacro jmacro;
typedef struct jloop jloop;

typedef struct jv {
    uint8_t type;
    uint8_t tuple;      /* JV_LIST built from a tuple: repr prints (a, b) */
    uint8_t safe;       /* a Markup string (|safe, |escape): `+` escapes the other operand */
    uint8_t gen;        /* JV_LIST standing for a Python iterator (1: generator from map,
                           select, items, unique, batch; 2: reversed()): no len(), no JSON,
                           always truthy, as in jinja2 */
    union {
        bool b;
        int64_t i;
        double f;
        jstr *s;        /* JV_STR; JV_UNDEF: the message to raise on misuse (may be NULL) */
        jlist *l;
        jdict *d;       /* JV_DICT, JV_NS */
        jmacro *m;
        jmethod *bm;
        int fn;         /* JV_FUNC: index in the builtin function table */
        jloop *lp;
    } u;
} jv;

struct jlist { size_t n, cap; jv *v; jstr *err; };   /* err: a generator that raises when iterated */
struct jdict { size_t n, cap; jv *k; jv *v; };   /* insertion order kept, like Python's dict */
struct jmethod { jv self; const char *name; };

/* Constructors. Those that allocate return JV_UNDEF with a NULL message on failure; the
 * evaluator checks the arena's `exhausted` flag after each step. */
static inline jv jv_undef(void) { jv v = {0}; v.type = JV_UNDEF; return v; }
static inline jv jv_none(void) { jv v = {0}; v.type = JV_NONE; return v; }
static inline jv jv_bool(bool b) { jv v = {0}; v.type = JV_BOOL; v.u.b = b; return v; }
static inline jv jv_int(int64_t i) { jv v = {0}; v.type = JV_INT; v.u.i = i; return v; }
static inline jv jv_float(double f) { jv v = {0}; v.type = JV_FLOAT; v.u.f = f; return v; }
jv jv_strn(llmr_arena *a, const char *s, size_t n);
jv jv_str(llmr_arena *a, const char *s);
jv jv_undef_msg(llmr_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
jv jv_list_new(llmr_arena *a, size_t cap);
jv jv_dict_new(llmr_arena *a, size_t cap);
bool jv_list_push(llmr_arena *a, jlist *l, jv x);
bool jv_dict_set(llmr_arena *a, jdict *d, jv key, jv val);
/* Lookup by key (Python equality). Returns NULL when absent. */
jv *jv_dict_get(jdict *d, jv key);
jv *jv_dict_gets(jdict *d, const char *key);

bool jv_truthy(jv v);
bool jv_is_str(jv v, const char *s);
static inline bool jv_is_num(jv v) { return v.type == JV_INT || v.type == JV_FLOAT || v.type == JV_BOOL; }
double jv_num(jv v);               /* int, float or bool as a double */
const char *jv_type_name(jv v);    /* Python's name: 'str', 'int', 'dict', 'NoneType', ... */

/* Python equality (1 == 1.0 == True, lists and dicts element-wise). depth guards recursion. */
bool jv_equal(jv a, jv b, int depth);

/* Number of code points in a UTF-8 string; byte offset of code point k (clamped to len). */
size_t jutf8_len(const char *s, size_t n);
size_t jutf8_offset(const char *s, size_t n, size_t k);

/* str(v) the way Python prints it ("None", "True", "[1, 'a']"); repr(v) likewise. Return
 * false when nesting goes past the depth limit or the buffer refuses. */
bool jv_to_str(llmr_buf *b, jv v, int depth);
bool jv_repr(llmr_buf *b, jv v, int depth);
void jfmt_float(char out[40], double f);   /* Python's repr(float) */

/* json.dumps(v, ensure_ascii, indent, separators, sort_keys), as HF's tojson filter.
 * indent: NULL for none, else the string to repeat per level. item_sep/key_sep may be NULL
 * for Python's defaults. On failure returns false and writes a message to err. */
bool jv_to_json(llmr_buf *b, jv v, bool ensure_ascii, const char *indent, const char *item_sep,
                const char *key_sep, bool sort_keys, char *err, size_t errlen);

/* ---- lexer ------------------------------------------------------------------------------ */
typedef enum {
    JT_TEXT, JT_VAR_BEGIN, JT_VAR_END, JT_BLOCK_BEGIN, JT_BLOCK_END,
    JT_NAME, JT_STRING, JT_INT, JT_FLOAT, JT_OP, JT_EOF
} jtok_type;

typedef struct jtok {
    jtok_type type;
    int line;
    const char *s;      /* JT_TEXT, JT_NAME, JT_STRING (unescaped), JT_OP: NUL-terminated */
    size_t len;
    int64_t i;
    double f;
} jtok;

typedef struct jtoks { jtok *t; size_t n, cap; } jtoks;

/* Splits src into tokens (arena-allocated). Returns false and fills err on a lexing error
 * (unterminated tag, string or comment; a character that starts no token). */
bool jinja_lex(llmr_arena *a, const char *src, size_t len, jtoks *out, char *err, size_t errlen);

/* ---- AST -------------------------------------------------------------------------------- */
typedef enum {
    /* statements */
    JN_TEXT, JN_OUTPUT, JN_IF, JN_FOR, JN_SET, JN_SET_ATTR, JN_SET_BLOCK, JN_MACRO, JN_CALL_BLOCK,
    JN_FILTER_BLOCK, JN_BREAK, JN_CONTINUE, JN_GENERATION,
    /* expressions */
    JN_LIT, JN_NAME, JN_LIST, JN_TUPLE, JN_DICT, JN_ATTR, JN_ITEM, JN_SLICE, JN_CALL,
    JN_FILTER, JN_TEST, JN_NOT, JN_NEG, JN_POS, JN_BINOP, JN_AND, JN_OR, JN_COND, JN_COMPARE,
    JN_CONCAT
} jn_kind;

typedef struct jnode jnode;
typedef struct jnodes { jnode **v; size_t n, cap; } jnodes;

struct jnode {
    jn_kind kind;
    int line;
    const char *name;   /* NAME, ATTR, FILTER, TEST, SET target, MACRO name, BINOP/COMPARE op */
    jv lit;             /* LIT */
    jnode *a, *b, *c;   /* operands; FOR: a = iterable, b = filter condition; IF: a = test */
    jnodes args;        /* CALL/FILTER/TEST arguments; LIST/TUPLE/DICT items (DICT: k,v,k,v) */
    const char **kw;    /* per argument: keyword name or NULL (CALL/FILTER/TEST/MACRO params) */
    jnodes body;        /* statement bodies */
    jnodes else_body;
    const char **targets;   /* FOR / SET loop variables */
    size_t ntargets;
    const char **ops;   /* COMPARE: one operator per comparison in args */
    bool test_negated;  /* TEST: `is not` */
};

/* Parses tokens into a statement list. Nesting deeper than JINJA_MAX_NESTING is an error. */
#define JINJA_MAX_NESTING 128
bool jinja_parse(llmr_arena *a, const jtoks *toks, jnodes *out, char *err, size_t errlen);

/* ---- evaluation ------------------------------------------------------------------------- */
typedef struct jinja_limits {
    size_t max_output;      /* bytes of rendered text (and of any captured block) */
    size_t max_memory;      /* bytes of arena for values */
    uint64_t max_steps;     /* expression evaluations + loop iterations */
    int    max_depth;       /* nested macro calls */
} jinja_limits;

typedef struct jinja_env {
    jdict *globals;         /* variables given to the template (messages, bos_token, ...) */
    int    year, month, day;    /* what strftime_now sees; month 0 means use the clock */
    jinja_limits lim;
} jinja_env;

/* Renders a parsed template. On success out holds the text (malloc'd through llmr_buf). On error
 * returns false with a message naming the construct and its line. */
bool jinja_exec(llmr_arena *a, const jnodes *prog, const jinja_env *env, llmr_buf *out, char *err,
                size_t errlen);

#endif
