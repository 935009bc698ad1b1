/* jeval.c - runs the AST: statements, expressions, scopes, macros and loops.
 *
 * Semantics follow jinja2 with the default Undefined: printing, iterating, testing or taking
 * the length of an undefined value is quiet (""/empty/false/0); taking its attribute or item,
 * calling it or doing arithmetic with it raises "'x' is undefined". Scopes: {% for %} bodies
 * and macro calls get their own scope (a {% set %} inside does not leak out), {% if %} does
 * not; namespace() objects are the way to carry state out of a loop.
 */
#include "template/jeval.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { X_OK, X_BREAK, X_CONTINUE, X_ERR };

static bool eval(ev *E, jnode *n, jv *out);
static int exec_body(ev *E, jscope *S, const jnodes *body, llmr_buf *out);

static const char *construct(const jnode *n)
{
    if (!n)
        return "template";
    switch (n->kind) {
    case JN_OUTPUT: return "{{ ... }}";
    case JN_IF: return "{% if %}";
    case JN_FOR: return "{% for %}";
    case JN_SET: case JN_SET_ATTR: return "{% set %}";
    case JN_SET_BLOCK: return "{% set %}...{% endset %}";
    case JN_MACRO: return "{% macro %}";
    case JN_CALL_BLOCK: return "{% call %}";
    case JN_FILTER_BLOCK: return "{% filter %}";
    default: return "template";
    }
}

bool ev_fail(ev *E, const jnode *n, const char *fmt, ...)
{
    if (E->failed)
        return false;
    E->failed = true;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line = n ? n->line : E->stmt ? E->stmt->line : 0;
    snprintf(E->err, E->errlen, "template error at line %d, in %s: %s", line, construct(E->stmt),
             msg);
    return false;
}

bool ev_undef_fail(ev *E, const jnode *n, jv u)
{
    return ev_fail(E, n, "%s", u.u.s ? u.u.s->s : "value is undefined");
}

bool ev_mem_ok(ev *E, const jnode *n)
{
    if (!E->a->exhausted)
        return true;
    return ev_fail(E, n, "the template used more than %zu bytes of memory", E->env->lim.max_memory);
}

static bool step(ev *E, const jnode *n)
{
    if (++E->steps <= E->env->lim.max_steps)
        return true;
    return ev_fail(E, n, "the template ran more than %llu steps (a runaway loop or recursion)",
                   (unsigned long long)E->env->lim.max_steps);
}

bool jarg(const jargs *A, size_t idx, const char *name, jv *out)
{
    if (idx < A->npos) {
        *out = A->pos[idx];
        return true;
    }
    for (size_t i = 0; name && i < A->nkw; i++)
        if (!strcmp(A->kwn[i], name)) {
            *out = A->kwv[i];
            return true;
        }
    return false;
}

/* ---- scopes ----------------------------------------------------------------------------- */
static jscope *scope_new(ev *E, jscope *parent)
{
    jscope *s = llmri_arena_alloc(E->a, sizeof *s);
    jv d = jv_dict_new(E->a, 0);
    if (!s || d.type != JV_DICT)
        return NULL;
    s->parent = parent;
    s->vars = d.u.d;
    return s;
}

static bool scope_set(ev *E, jscope *S, const char *name, jv v)
{
    jv *slot = jv_dict_gets(S->vars, name);
    if (slot) {
        *slot = v;
        return true;
    }
    jdict *d = S->vars;
    if (d->n < d->cap && jv_is_str(d->k[d->n], name)) {
        /* a loop scope emptied for the next iteration keeps its old keys past n: reuse the
         * key so that iterating allocates nothing */
        d->v[d->n++] = v;
        return true;
    }
    jv k = jv_str(E->a, name);
    return k.type == JV_STR && jv_dict_set(E->a, S->vars, k, v);
}

static bool lookup(ev *E, jscope *S, const char *name, jv *out)
{
    bool child = S != E->root;
    for (; S; S = S->parent) {
        jv *v = jv_dict_gets(S->vars, name);
        if (v) {
            *out = *v;
            return true;
        }
    }
    /* jinja2 compiles a name that the template frame assigns before it reads it into a
     * frame variable: a loop body or macro that runs before the assignment sees it
     * undefined, not the value passed in (see analyze_root) */
    if (child && E->root_stores && jv_dict_gets(E->root_stores, name)) {
        *out = jv_undef_msg(E->a, "'%s' is undefined", name);
        return true;
    }
    jv *g = jv_dict_gets(E->env->globals, name);
    if (g) {
        *out = *g;
        return true;
    }
    int fn = jf_func_find(name);
    if (fn >= 0) {
        jv f = {0};
        f.type = JV_FUNC;
        f.u.fn = fn;
        *out = f;
        return true;
    }
    *out = jv_undef_msg(E->a, "'%s' is undefined", name);
    return true;
}

/* ---- calls ------------------------------------------------------------------------------ */
static bool eval_args(ev *E, jnode *n, jargs *A)
{
    memset(A, 0, sizeof *A);
    for (size_t i = 0; i < n->args.n; i++) {
        jv v;
        if (!eval(E, n->args.v[i], &v))
            return false;
        const char *kw = n->kw ? n->kw[i] : NULL;
        if (kw) {
            if (A->nkw == JARGS_MAX)
                return ev_fail(E, n, "too many keyword arguments (at most %d)", JARGS_MAX);
            A->kwn[A->nkw] = kw;
            A->kwv[A->nkw++] = v;
        } else {
            if (A->npos == JARGS_MAX)
                return ev_fail(E, n, "too many arguments (at most %d)", JARGS_MAX);
            A->pos[A->npos++] = v;
        }
    }
    return true;
}

static bool call_macro(ev *E, const jnode *n, jmacro *m, const jargs *A, jv caller, jv *out)
{
    const jnode *def = m->def;
    const char *mname = def->kind == JN_MACRO ? def->name : "caller";
    if (E->depth >= E->env->lim.max_depth)
        return ev_fail(E, n, "macro '%s': calls nested deeper than %d (runaway recursion?)",
                       mname, E->env->lim.max_depth);
    jscope *S = scope_new(E, m->closure);
    if (!S)
        return ev_mem_ok(E, n);
    size_t np = def->args.n;
    if (A->npos > np && def->kind == JN_MACRO)
        return ev_fail(E, n, "macro '%s' takes not more than %zu argument(s)", mname, np);
    for (size_t i = 0; i < np; i++) {
        jv v;
        bool have = jarg(A, i, def->kw[i], &v);
        if (!have) {
            if (def->args.v[i]->kind == JN_LIT && def->args.v[i]->lit.type == JV_UNDEF)
                v = jv_undef_msg(E->a, "parameter '%s' was not provided", def->kw[i]);
            else if (!eval(E, def->args.v[i], &v))
                return false;
        }
        if (!scope_set(E, S, def->kw[i], v))
            return ev_mem_ok(E, n);
    }
    for (size_t k = 0; k < A->nkw; k++) {
        bool known = false;
        for (size_t i = 0; i < np && !known; i++)
            known = !strcmp(def->kw[i], A->kwn[k]);
        if (!known)
            return ev_fail(E, n, "macro '%s' takes no keyword argument '%s'", mname, A->kwn[k]);
    }
    jv varargs = jv_list_new(E->a, 0);
    for (size_t i = np; varargs.type == JV_LIST && i < A->npos; i++)
        jv_list_push(E->a, varargs.u.l, A->pos[i]);
    scope_set(E, S, "varargs", varargs);
    if (caller.type == JV_MACRO)
        scope_set(E, S, "caller", caller);
    if (!ev_mem_ok(E, n))
        return false;
    llmr_buf b = {.limit = E->env->lim.max_output};
    E->depth++;
    const jnode *saved = E->stmt;
    jscope *saved_scope = E->scope;
    int rc = exec_body(E, S, &def->body, &b);
    E->stmt = saved;
    E->scope = saved_scope;
    E->depth--;
    if (rc == X_ERR) {
        llmri_buf_free(&b);
        return false;
    }
    *out = jv_strn(E->a, llmri_buf_str(&b), b.len);
    llmri_buf_free(&b);
    return ev_mem_ok(E, n);
}

static bool loop_cycle(ev *E, const jnode *n, jloop *lp, const jargs *A, jv *out)
{
    if (!A->npos)
        return ev_fail(E, n, "loop.cycle() needs at least one argument");
    *out = A->pos[lp->i % A->npos];
    return true;
}

bool ev_call(ev *E, const jnode *n, jv callee, const jargs *A, jv *out)
{
    switch (callee.type) {
    case JV_MACRO:
        return call_macro(E, n, callee.u.m, A, jv_undef(), out);
    case JV_FUNC:
        return jf_func(E, n, callee.u.fn, A, out);
    case JV_METHOD:
        if (callee.u.bm->self.type == JV_LOOP && !strcmp(callee.u.bm->name, "changed")) {
            /* loop.changed(*values): true on the first call and whenever the values differ */
            jloop *lp = callee.u.bm->self.u.lp;
            jv now = jv_list_new(E->a, A->npos);
            for (size_t i = 0; now.type == JV_LIST && i < A->npos; i++)
                jv_list_push(E->a, now.u.l, A->pos[i]);
            if (!ev_mem_ok(E, n))
                return false;
            *out = jv_bool(!lp->changed_called || !jv_equal(lp->last_changed, now, 0));
            lp->last_changed = now;
            lp->changed_called = true;
            return true;
        }
        if (callee.u.bm->self.type == JV_LOOP)
            return loop_cycle(E, n, callee.u.bm->self.u.lp, A, out);
        return jf_method(E, n, callee.u.bm->self, callee.u.bm->name, A, out);
    case JV_UNDEF:
        return ev_undef_fail(E, n, callee);
    default:
        return ev_fail(E, n, "'%s' object is not callable", jv_type_name(callee));
    }
}

/* ---- expressions ------------------------------------------------------------------------ */
static bool eval_filter(ev *E, jnode *n, jv in, jv *out)
{
    jargs A;
    return eval_args(E, n, &A) && jf_filter(E, n, n->name, in, &A, out);
}

static bool eval(ev *E, jnode *n, jv *out)
{
    if (!step(E, n))
        return false;
    jv a, b, c;
    switch (n->kind) {
    case JN_LIT:
        *out = n->lit;
        return true;
    case JN_NAME:
        return lookup(E, E->scope, n->name, out);
    case JN_LIST: case JN_TUPLE: {
        jv l = jv_list_new(E->a, n->args.n);
        if (l.type != JV_LIST)
            return ev_mem_ok(E, n);
        for (size_t i = 0; i < n->args.n; i++) {
            if (!eval(E, n->args.v[i], &a))
                return false;
            jv_list_push(E->a, l.u.l, a);
        }
        l.tuple = n->kind == JN_TUPLE;
        *out = l;
        return true;
    }
    case JN_DICT: {
        jv d = jv_dict_new(E->a, n->args.n / 2);
        if (d.type != JV_DICT)
            return ev_mem_ok(E, n);
        for (size_t i = 0; i + 1 < n->args.n; i += 2) {
            if (!eval(E, n->args.v[i], &a) || !eval(E, n->args.v[i + 1], &b))
                return false;
            if (a.type == JV_LIST && !a.tuple)
                return ev_fail(E, n, "unhashable type: 'list'");
            if (a.type == JV_DICT)
                return ev_fail(E, n, "unhashable type: 'dict'");
            if (!jv_dict_set(E->a, d.u.d, a, b))
                return ev_mem_ok(E, n);
        }
        *out = d;
        return true;
    }
    case JN_ATTR:
        return eval(E, n->a, &a) && ev_getattr(E, n, a, n->name, out);
    case JN_ITEM:
        return eval(E, n->a, &a) && eval(E, n->b, &b) && ev_getitem(E, n, a, b, out);
    case JN_SLICE: {
        jv st = jv_none();
        a = jv_none();
        b = jv_none();
        if (!eval(E, n->a, &c) || (n->b && !eval(E, n->b, &a)) || (n->c && !eval(E, n->c, &b))
            || (n->args.n && !eval(E, n->args.v[0], &st)))
            return false;
        return ev_slice(E, n, c, a, b, st, out);
    }
    case JN_CALL: {
        jargs A;
        return eval(E, n->a, &a) && eval_args(E, n, &A) && ev_call(E, n, a, &A, out);
    }
    case JN_FILTER:
        return eval(E, n->a, &a) && eval_filter(E, n, a, out);
    case JN_TEST: {
        jargs A;
        bool r;
        if (!eval(E, n->a, &a) || !eval_args(E, n, &A) || !jf_test(E, n, n->name, a, &A, &r))
            return false;
        *out = jv_bool(r != n->test_negated);
        return true;
    }
    case JN_NOT:
        if (!eval(E, n->a, &a))
            return false;
        *out = jv_bool(!jv_truthy(a));
        return true;
    case JN_NEG: case JN_POS:
        if (!eval(E, n->a, &a))
            return false;
        if (a.type == JV_UNDEF)
            return ev_undef_fail(E, n, a);
        if (!jv_is_num(a))
            return ev_fail(E, n, "bad operand type for unary %s: '%s'",
                           n->kind == JN_NEG ? "-" : "+", jv_type_name(a));
        if (n->kind == JN_POS)
            *out = a.type == JV_BOOL ? jv_int(a.u.b) : a;
        else if (a.type == JV_FLOAT)
            *out = jv_float(-a.u.f);
        else if (ev_as_int(a) == INT64_MIN)
            return ev_fail(E, n, "integer overflow in unary -");
        else
            *out = jv_int(-ev_as_int(a));
        return true;
    case JN_BINOP:
        return eval(E, n->a, &a) && eval(E, n->b, &b) && ev_arith(E, n, n->name, a, b, out);
    case JN_CONCAT:
        if (!eval(E, n->a, &a) || !eval(E, n->b, &b) || !ev_to_strv(E, n, a, &a)
            || !ev_to_strv(E, n, b, &b))
            return false;
        return ev_concat_str(E, n, a, b, out);
    case JN_AND:   /* Python returns the deciding operand, not a bool */
        if (!eval(E, n->a, &a))
            return false;
        if (!jv_truthy(a)) {
            *out = a;
            return true;
        }
        return eval(E, n->b, out);
    case JN_OR:
        if (!eval(E, n->a, &a))
            return false;
        if (jv_truthy(a)) {
            *out = a;
            return true;
        }
        return eval(E, n->b, out);
    case JN_COND:
        if (!eval(E, n->a, &a))
            return false;
        if (jv_truthy(a))
            return eval(E, n->b, out);
        if (n->c)
            return eval(E, n->c, out);
        *out = jv_undef_msg(E->a, "the inline if expression on line %d evaluated to false "
                            "and no else section was defined.", n->line);
        return true;
    case JN_COMPARE: {
        if (!eval(E, n->a, &a))
            return false;
        for (size_t i = 0; i < n->args.n; i++) {
            bool r;
            if (!eval(E, n->args.v[i], &b) || !ev_compare_op(E, n, n->ops[i], a, b, &r))
                return false;
            if (!r) {
                *out = jv_bool(false);
                return true;
            }
            a = b;
        }
        *out = jv_bool(true);
        return true;
    }
    default:
        return ev_fail(E, n, "internal error: a statement where an expression was expected");
    }
}

/* ---- statements ------------------------------------------------------------------------- */
static bool out_value(ev *E, jnode *n, jv v, llmr_buf *out)
{
    if (v.type == JV_UNDEF)
        return true;
    if (!jv_to_str(out, v, 0)) {
        if (out->failed)
            return ev_fail(E, n, "the rendered text is larger than the output limit (%zu bytes)",
                           out->limit);
        return ev_fail(E, n, "cannot print a %s nested this deeply", jv_type_name(v));
    }
    return true;
}

static bool bind_targets(ev *E, jnode *n, jscope *S, jv item)
{
    if (n->ntargets == 1)
        return scope_set(E, S, n->targets[0], item) || ev_mem_ok(E, n);
    jlist *l;
    if (item.type == JV_LIST)
        l = item.u.l;
    else if (!ev_iterate(E, n, item, &l))
        return false;
    if (l->n != n->ntargets)
        return ev_fail(E, n, l->n > n->ntargets ? "too many values to unpack (expected %zu)"
                                                : "not enough values to unpack (expected %zu, got %zu)",
                       n->ntargets, l->n);
    for (size_t i = 0; i < n->ntargets; i++)
        if (!scope_set(E, S, n->targets[i], l->v[i]))
            return ev_mem_ok(E, n);
    return true;
}

static int exec_for(ev *E, jscope *S, jnode *n, llmr_buf *out)
{
    jv it;
    jlist *items;
    if (!eval(E, n->a, &it) || !ev_iterate(E, n, it, &items))
        return X_ERR;
    jscope *L = scope_new(E, S);
    if (!L)
        return ev_mem_ok(E, n), X_ERR;
    if (n->b) {   /* {% for x in xs if cond %}: filter first, so loop.* counts what is kept */
        jv kept = jv_list_new(E->a, 0);
        if (kept.type != JV_LIST)
            return ev_mem_ok(E, n), X_ERR;
        jscope *saved = E->scope;
        E->scope = L;
        for (size_t i = 0; i < items->n; i++) {
            jv c;
            if (!step(E, n) || !bind_targets(E, n, L, items->v[i]) || !eval(E, n->b, &c)) {
                E->scope = saved;
                return X_ERR;
            }
            if (jv_truthy(c) && !jv_list_push(E->a, kept.u.l, items->v[i]))
                return E->scope = saved, ev_mem_ok(E, n), X_ERR;
        }
        E->scope = saved;
        items = kept.u.l;
    }
    if (items->n == 0)
        return exec_body(E, S, &n->else_body, out);
    jloop *lp = llmri_arena_alloc(E->a, sizeof *lp);
    if (!lp)
        return ev_mem_ok(E, n), X_ERR;
    lp->items = items;
    jv loopv = {0};
    loopv.type = JV_LOOP;
    loopv.u.lp = lp;
    /* jinja2 clears its "no iteration" flag at the end of the body, so when every iteration
     * ends in break or continue the {% else %} block still runs */
    bool completed = false;
    for (size_t i = 0; i < items->n; i++) {
        lp->i = i;
        /* an empty scope per iteration: in jinja2 a {% set %} in the body does not carry over
         * to the next iteration (`{{ y }}{% set y = i %}` prints nothing every time). The
         * storage is reused, so long loops do not grow the arena. */
        L->vars->n = 0;
        if (!step(E, n) || !bind_targets(E, n, L, items->v[i]) || !scope_set(E, L, "loop", loopv))
            return ev_mem_ok(E, n), X_ERR;
        int rc = exec_body(E, L, &n->body, out);
        E->stmt = n;
        if (rc == X_ERR)
            return X_ERR;
        if (rc == X_BREAK)
            break;
        completed |= rc == X_OK;
    }
    return completed ? X_OK : exec_body(E, S, &n->else_body, out);
}

/* Applies a filter chain (innermost input NULL) to a captured string. */
static bool apply_chain(ev *E, jnode *f, jv in, jv *out)
{
    if (!f) {
        *out = in;
        return true;
    }
    jv v;
    if (!apply_chain(E, f->a, in, &v))
        return false;
    return eval_filter(E, f, v, out);
}

static bool capture(ev *E, jscope *S, const jnodes *body, jv *out, const jnode *n)
{
    llmr_buf b = {.limit = E->env->lim.max_output};
    int rc = exec_body(E, S, body, &b);
    E->stmt = n;
    if (rc == X_ERR) {
        llmri_buf_free(&b);
        return false;
    }
    *out = jv_strn(E->a, llmri_buf_str(&b), b.len);
    llmri_buf_free(&b);
    return ev_mem_ok(E, n);
}

static jmacro *macro_new(ev *E, jnode *def, jscope *S)
{
    jmacro *m = llmri_arena_alloc(E->a, sizeof *m);
    if (m) {
        m->def = def;
        m->closure = S;
    }
    return m;
}

static int exec_stmt(ev *E, jscope *S, jnode *n, llmr_buf *out)
{
    jv v;
    E->stmt = n;
    E->scope = S;
    if (!step(E, n))
        return X_ERR;
    switch (n->kind) {
    case JN_TEXT:
        if (!llmri_buf_append(out, n->lit.u.s->s, n->lit.u.s->len))
            return ev_fail(E, n, "the rendered text is larger than the output limit (%zu bytes)",
                           out->limit), X_ERR;
        return X_OK;
    case JN_OUTPUT:
        return eval(E, n->a, &v) && out_value(E, n, v, out) ? X_OK : X_ERR;
    case JN_IF:
        if (!eval(E, n->a, &v))
            return X_ERR;
        return exec_body(E, S, jv_truthy(v) ? &n->body : &n->else_body, out);
    case JN_FOR:
        return exec_for(E, S, n, out);
    case JN_SET:
        if (!eval(E, n->a, &v) || !bind_targets(E, n, S, v))
            return X_ERR;
        return X_OK;
    case JN_SET_ATTR: {
        jv ns;
        if (!lookup(E, S, n->name, &ns) || !eval(E, n->a, &v))
            return X_ERR;
        if (ns.type != JV_NS)
            return ev_fail(E, n, "cannot assign attribute on non-namespace object "
                           "(%s.%s: %s is a %s)", n->name, n->targets[0], n->name,
                           jv_type_name(ns)), X_ERR;
        jv k = jv_str(E->a, n->targets[0]);
        if (k.type != JV_STR || !jv_dict_set(E->a, ns.u.d, k, v))
            return ev_mem_ok(E, n), X_ERR;
        return X_OK;
    }
    case JN_SET_BLOCK:
        if (!capture(E, S, &n->body, &v, n) || !apply_chain(E, n->b, v, &v))
            return X_ERR;
        return scope_set(E, S, n->name, v) ? X_OK : (ev_mem_ok(E, n), X_ERR);
    case JN_FILTER_BLOCK:
        if (!capture(E, S, &n->body, &v, n) || !apply_chain(E, n->a, v, &v))
            return X_ERR;
        return out_value(E, n, v, out) ? X_OK : X_ERR;
    case JN_MACRO: {
        jmacro *m = macro_new(E, n, S);
        jv mv = {0};
        mv.type = JV_MACRO;
        mv.u.m = m;
        return m && scope_set(E, S, n->name, mv) ? X_OK : (ev_mem_ok(E, n), X_ERR);
    }
    case JN_CALL_BLOCK: {
        jnode *call = n->a;
        jargs A;
        jv callee;
        jmacro *cm = macro_new(E, n, S);
        if (!cm)
            return ev_mem_ok(E, n), X_ERR;
        if (!eval(E, call->a, &callee) || !eval_args(E, call, &A))
            return X_ERR;
        if (callee.type != JV_MACRO)
            return ev_fail(E, n, "{%% call %%} needs a macro, got %s", jv_type_name(callee)),
                   X_ERR;
        jv caller = {0};
        caller.type = JV_MACRO;
        caller.u.m = cm;
        if (!call_macro(E, call, callee.u.m, &A, caller, &v))
            return X_ERR;
        return out_value(E, n, v, out) ? X_OK : X_ERR;
    }
    case JN_GENERATION:
        return exec_body(E, S, &n->body, out);
    case JN_BREAK:
        return X_BREAK;
    case JN_CONTINUE:
        return X_CONTINUE;
    default:
        return ev_fail(E, n, "internal error: an expression where a statement was expected"),
               X_ERR;
    }
}

static int exec_body(ev *E, jscope *S, const jnodes *body, llmr_buf *out)
{
    for (size_t i = 0; i < body->n; i++) {
        int rc = exec_stmt(E, S, body->v[i], out);
        E->scope = S;
        if (rc != X_OK)
            return rc;
        if (out->failed)
            return ev_fail(E, body->v[i], "the rendered text is larger than the output limit "
                           "(%zu bytes)", out->limit), X_ERR;
    }
    return X_OK;
}

/* jinja2 resolves filter and test names when it compiles, so a misspelled filter fails even
 * in a branch that never runs; do the same before rendering. */
static bool check_names(ev *E, const jnodes *ns, int depth);
static bool check_node(ev *E, jnode *n, int depth)
{
    if (!n)
        return true;
    if (depth > 4 * JINJA_MAX_NESTING)
        return ev_fail(E, n, "template nested too deeply");
    if (n->kind == JN_FILTER && !jf_filter_exists(n->name))
        return ev_fail(E, n, "No filter named '%s'.", n->name);
    if (n->kind == JN_TEST && !jf_test_exists(n->name))
        return ev_fail(E, n, "No test named '%s'.", n->name);
    return check_node(E, n->a, depth + 1) && check_node(E, n->b, depth + 1)
           && check_node(E, n->c, depth + 1) && check_names(E, &n->args, depth + 1)
           && check_names(E, &n->body, depth + 1) && check_names(E, &n->else_body, depth + 1);
}
static bool check_names(ev *E, const jnodes *ns, int depth)
{
    for (size_t i = 0; i < ns->n; i++) {
        E->stmt = ns->v[i]->kind <= JN_GENERATION ? ns->v[i] : E->stmt;
        if (!check_node(E, ns->v[i], depth))
            return false;
    }
    return true;
}

/* ---- jinja2's template-frame symbol analysis (idtracking.py), reduced to what changes
 * output: for each name, whether the template frame first reads it (then it is resolved from
 * the passed-in variables) or first assigns it (then it is a frame variable that is missing
 * until assigned). An assignment inside an {% if %} counts as a read. */
enum { SYM_LOAD = 1, SYM_STORE = 2 };

static void sym_note(ev *E, jdict *m, const char *name, int kind)
{
    if (jv_dict_gets(m, name))
        return;
    jv k = jv_str(E->a, name);
    if (k.type == JV_STR)
        jv_dict_set(E->a, m, k, jv_int(kind));
}

static void sym_loads(ev *E, jdict *m, const jnode *n, int depth)
{
    if (!n || depth > 4 * JINJA_MAX_NESTING)
        return;
    if (n->kind == JN_NAME)
        sym_note(E, m, n->name, SYM_LOAD);
    sym_loads(E, m, n->a, depth + 1);
    sym_loads(E, m, n->b, depth + 1);
    sym_loads(E, m, n->c, depth + 1);
    for (size_t i = 0; i < n->args.n; i++)
        sym_loads(E, m, n->args.v[i], depth + 1);
}

static void sym_body(ev *E, jdict *m, const jnodes *body, int depth);

static void sym_stmt(ev *E, jdict *m, const jnode *n, int depth)
{
    if (depth > JINJA_MAX_NESTING * 2)
        return;
    switch (n->kind) {
    case JN_OUTPUT: case JN_FOR: sym_loads(E, m, n->a, 0); break;
    case JN_SET:
        sym_loads(E, m, n->a, 0);
        for (size_t i = 0; i < n->ntargets; i++)
            sym_note(E, m, n->targets[i], SYM_STORE);
        break;
    case JN_SET_ATTR:
        sym_note(E, m, n->name, SYM_LOAD);
        sym_loads(E, m, n->a, 0);
        break;
    case JN_SET_BLOCK:
        sym_body(E, m, &n->body, depth + 1);
        sym_note(E, m, n->name, SYM_STORE);
        break;
    case JN_MACRO: sym_note(E, m, n->name, SYM_STORE); break;
    case JN_CALL_BLOCK: sym_loads(E, m, n->a, 0); break;
    case JN_FILTER_BLOCK: case JN_GENERATION: sym_body(E, m, &n->body, depth + 1); break;
    case JN_IF: {
        sym_loads(E, m, n->a, 0);
        jv b1 = jv_dict_new(E->a, 0), b2 = jv_dict_new(E->a, 0);
        if (b1.type != JV_DICT || b2.type != JV_DICT)
            return;
        sym_body(E, b1.u.d, &n->body, depth + 1);
        sym_body(E, b2.u.d, &n->else_body, depth + 1);
        /* jinja2 resolves a name assigned inside {% if %} branches from the passed-in
         * variables (even when every branch assigns it) */
        jdict *br[2] = {b1.u.d, b2.u.d};
        for (int k = 0; k < 2; k++)
            for (size_t i = 0; i < br[k]->n; i++)
                sym_note(E, m, br[k]->k[i].u.s->s, SYM_LOAD);
        break;
    }
    default: break;
    }
}

static void sym_body(ev *E, jdict *m, const jnodes *body, int depth)
{
    for (size_t i = 0; i < body->n; i++)
        sym_stmt(E, m, body->v[i], depth);
}

static jdict *analyze_root(ev *E, const jnodes *prog)
{
    jv all = jv_dict_new(E->a, 0), stores = jv_dict_new(E->a, 0);
    if (all.type != JV_DICT || stores.type != JV_DICT)
        return NULL;
    sym_body(E, all.u.d, prog, 0);
    for (size_t i = 0; i < all.u.d->n; i++)
        if (all.u.d->v[i].u.i == SYM_STORE)
            jv_dict_set(E->a, stores.u.d, all.u.d->k[i], jv_bool(true));
    return stores.u.d;
}

bool jinja_exec(llmr_arena *a, const jnodes *prog, const jinja_env *env, llmr_buf *out, char *err,
                size_t errlen)
{
    ev E = {.a = a, .env = env, .err = err, .errlen = errlen};
    out->limit = env->lim.max_output;
    if (!check_names(&E, prog, 0))
        return false;
    E.stmt = NULL;
    E.root = scope_new(&E, NULL);
    if (!E.root)
        return ev_mem_ok(&E, NULL);
    E.scope = E.root;
    E.root_stores = analyze_root(&E, prog);
    int rc = exec_body(&E, E.root, prog, out);
    E.scope = NULL;
    if (rc == X_ERR || E.failed)
        return false;
    return true;   /* break/continue outside a loop are parse errors */
}
