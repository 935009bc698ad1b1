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
    jarena *a;
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

/* jfilters.c: helpers shared with jmethods.c */
bool jf_need_str(ev *E, const jnode *n, const char *what, jv v, jv *out);  /* Undefined -> "" */
jv   jf_mkstr(ev *E, jbuf *b);          /* the buffer as a string value; frees the buffer */
bool jf_is_ws(unsigned char c);         /* ASCII whitespace as Python's str.isspace() */
jv   jf_strip(ev *E, jv s, bool left, bool right, const jv *chars);
jv   jf_casemap(ev *E, jv s, char mode);    /* 'u' 'l' 't' (|title) 'T' (str.title) 'c' */
jv   jf_replace(ev *E, jv s, jv old, jv rep, int64_t count);
bool jf_new_list(ev *E, const jnode *n, jv *l);
bool jf_push(ev *E, const jnode *n, jv l, jv x);
bool jf_items(ev *E, const jnode *n, jv in, jv *out);   /* dict -> list of (k, v) tuples */
bool jf_join(ev *E, const jnode *n, jv in, const jargs *A, jv *out);

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
