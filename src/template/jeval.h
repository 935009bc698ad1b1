/* jeval.h - evaluator internals shared by jeval.c (statements, expressions) and jfilters.c
 * (filters, tests, methods, global functions). Private to src/template. */
#ifndef LLMR_TEMPLATE_JEVAL_H
#define LLMR_TEMPLATE_JEVAL_H

#include "template/jinja.h"

typedef struct jscope {
    struct jscope *parent;
    jdict *vars;
} jscope;

struct jmacro {
    jnode *def;         /* JN_MACRO, or JN_CALL_BLOCK for `caller` */
    jscope *closure;    /* where it was defined: what its body sees besides its arguments */
};

struct jloop {
    jlist *items;
    size_t i;
    jv last_changed;        /* loop.changed(): the arguments of its previous call */
    bool changed_called;
};

typedef struct ev {
    llmr_arena *a;
    const jinja_env *env;
    char *err;
    size_t errlen;
    bool failed;
    uint64_t steps;
    int depth;              /* nested macro calls */
    jscope *root;
    jdict *root_stores;     /* names jinja2 binds to the template frame before any use */
    jscope *scope;          /* where names are looked up now */
    const jnode *stmt;      /* the statement being run, named in errors */
} ev;

/* Arguments of a call, evaluated: positional then keyword. */
#define JARGS_MAX 12
typedef struct jargs {
    jv pos[JARGS_MAX];
    size_t npos;
    const char *kwn[JARGS_MAX];
    jv kwv[JARGS_MAX];
    size_t nkw;
} jargs;

/* Records an error naming the construct and line of node n; returns false. */
bool ev_fail(ev *E, const jnode *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Fails with the message carried by an Undefined value ("'x' is undefined"). */
bool ev_undef_fail(ev *E, const jnode *n, jv u);
/* Checks the arena after allocating; fails with a memory-limit message when exhausted. */
bool ev_mem_ok(ev *E, const jnode *n);

/* Argument n of a call by position or keyword name; false when absent. */
bool jarg(const jargs *A, size_t idx, const char *name, jv *out);

/* obj.name and obj[key] with jinja2's getattr/getitem rules (sandboxed). */
bool ev_getattr(ev *E, const jnode *n, jv obj, const char *name, jv *out);
bool ev_getitem(ev *E, const jnode *n, jv obj, jv key, jv *out);
/* str(v) as a fresh string value. */
bool ev_to_strv(ev *E, const jnode *n, jv v, jv *out);
/* The items that `for x in v` visits (dict: keys; str: characters), as a list. */
bool ev_iterate(ev *E, const jnode *n, jv v, jlist **out);
/* Calls any callable value. */
bool ev_call(ev *E, const jnode *n, jv callee, const jargs *A, jv *out);
/* Python's <, <=, >, >= ordering: -1, 0, 1, or false with an error for unorderable types. */
bool ev_compare(ev *E, const jnode *n, jv a, jv b, int *cmp);
/* obj[a:b:c] with Python's clamping; a missing part is None or Undefined (jaccess.c). */
bool ev_slice(ev *E, jnode *n, jv obj, jv a, jv b, jv c, jv *out);
/* Binary operators (jops.c): op is the operator's text ("+", "//", "**", ...). */
bool ev_arith(ev *E, jnode *n, const char *op, jv a, jv b, jv *out);
bool ev_compare_op(ev *E, jnode *n, const char *op, jv a, jv b, bool *out);   /* ==, <, in, ... */
bool ev_concat_str(ev *E, jnode *n, jv a, jv b, jv *out);                    /* the ~ operator */
/* A bool or int value as int64 (True is 1), for arithmetic. */
static inline int64_t ev_as_int(jv v) { return v.type == JV_BOOL ? v.u.b : v.u.i; }

/* jfilters.c: helpers shared with jmethods.c */
bool jf_need_str(ev *E, const jnode *n, const char *what, jv v, jv *out);  /* Undefined -> "" */
jv   jf_mkstr(ev *E, llmr_buf *b);          /* the buffer as a string value; frees the buffer */
bool jf_is_ws(unsigned char c);         /* ASCII whitespace as Python's str.isspace() */
jv   jf_strip(ev *E, jv s, bool left, bool right, const jv *chars);
jv   jf_casemap(ev *E, jv s, char mode);    /* 'u' 'l' 't' (|title) 'T' (str.title) 'c' */
jv   jf_replace(ev *E, jv s, jv old, jv rep, int64_t count);
bool jf_new_list(ev *E, const jnode *n, jv *l);
bool jf_push(ev *E, const jnode *n, jv l, jv x);
bool jf_items(ev *E, const jnode *n, jv in, jv *out);   /* dict -> list of (k, v) tuples */
bool jf_join(ev *E, const jnode *n, jv in, const jargs *A, jv *out);
/* v.a.b or v[0] by a dotted path or an integer, as jinja2's make_attrgetter. */
bool jf_attr_path(ev *E, const jnode *n, jv v, jv path, jv *out);
/* Sequence filters (jseq.c). jf_lazy_error: true, with *out a failing generator, when `in`
 * cannot be iterated (jinja2 raises only once such a result is iterated). */
bool jf_lazy_error(ev *E, const jnode *n, jv in, const char *msg, jv *out);
/* select/reject (attr false) and selectattr/rejectattr (attr true); keep: select vs reject. */
bool jf_select(ev *E, const jnode *n, jv in, const jargs *A, bool attr, bool keep, jv *out);
bool jf_map(ev *E, const jnode *n, jv in, const jargs *A, jv *out);
/* The key sort() compares: v itself, or v lowercased when not case-sensitive. */
bool jf_sort_key(ev *E, const jnode *n, jv v, bool case_sensitive, jv *out);
/* Stable sort of l by value, attribute `attr`, or (dictsort) the pair's value. */
bool jf_sort(ev *E, const jnode *n, jlist *l, bool reverse, bool cs, jv attr,
             bool by_value_of_pair, jv *out);

/* jfilters.c */
bool jf_filter_exists(const char *name);
bool jf_test_exists(const char *name);
bool jf_filter(ev *E, const jnode *n, const char *name, jv in, const jargs *A, jv *out);
bool jf_test(ev *E, const jnode *n, const char *name, jv in, const jargs *A, bool *out);
/* jmethods.c */
bool jf_method(ev *E, const jnode *n, jv self, const char *name, const jargs *A, jv *out);
bool jf_method_exists(jv self, const char *name);
int  jf_func_find(const char *name);   /* -1 when no global function has that name */
bool jf_func(ev *E, const jnode *n, int fn, const jargs *A, jv *out);
/* fmt % args with Python's printf-style rules (also the |format filter). */
bool jf_printf(ev *E, const jnode *n, jv fmt, jv args, jv *out);

#endif
