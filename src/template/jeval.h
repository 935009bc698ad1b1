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
};

typedef struct ev {
    jarena *a;
    const jinja_env *env;
    char *err;
    size_t errlen;
    bool failed;
    uint64_t steps;
    int depth;              /* nested macro calls */
    jscope *root;
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

/* jfilters.c */
bool jf_filter_exists(const char *name);
bool jf_test_exists(const char *name);
bool jf_filter(ev *E, const jnode *n, const char *name, jv in, const jargs *A, jv *out);
bool jf_test(ev *E, const jnode *n, const char *name, jv in, const jargs *A, bool *out);
bool jf_method(ev *E, const jnode *n, jv self, const char *name, const jargs *A, jv *out);
bool jf_method_exists(jv self, const char *name);
int  jf_func_find(const char *name);   /* -1 when no global function has that name */
bool jf_func(ev *E, const jnode *n, int fn, const jargs *A, jv *out);
/* fmt % args with Python's printf-style rules (also the |format filter). */
bool jf_printf(ev *E, const jnode *n, jv fmt, jv args, jv *out);

#endif
