/* jparse.h - the Jinja2 parser's internals, shared by jparse.c (tokens, errors, expressions)
 * and jstmt.c (statements and the entry point, jinja_parse). Not installed. */
#ifndef LLMR_TEMPLATE_JPARSE_H
#define LLMR_TEMPLATE_JPARSE_H

#include "template/jinja.h"

typedef struct parser {
    llmr_arena *a;
    const jtoks *t;
    size_t i;
    char *err;
    size_t errlen;
    int depth;          /* nesting of expressions and blocks, against JINJA_MAX_NESTING */
    int loops;          /* enclosing {% for %} count: break/continue need one */
    bool failed;
} parser;

/* Tokens: the current one, the one k ahead (the end token past the end), advance. */
jtok *jp_cur(parser *P);
jtok *jp_peek(parser *P, size_t k);
void jp_adv(parser *P);
/* A token as error messages quote it ("'x'", "end of template"). */
const char *jp_tok_desc(const jtok *t);
/* Records the first error (line and message) and returns NULL. */
void *jp_perr(parser *P, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Whether the current token is operator op / name `name`; skip_*: and consumes it if so. */
bool jp_is_op(parser *P, const char *op);
bool jp_is_name(parser *P, const char *name);
bool jp_skip_op(parser *P, const char *op);
bool jp_skip_name(parser *P, const char *name);
/* Consumes op, or records "expected op where" and returns false. */
bool jp_expect_op(parser *P, const char *op, const char *where);
/* Consumes the %} that ends block tag `tag`, or records an error. */
bool jp_expect_block_end(parser *P, const char *tag);
/* A new node from the arena; NULL (error recorded) when out of memory. */
jnode *jp_node(parser *P, jn_kind k, int line);
bool jp_nodes_push(parser *P, jnodes *ns, jnode *n);
/* Parallel array of names (keyword names, parameters, targets) sized with its node list. */
bool jp_names_set(parser *P, const char ***arr, size_t idx, size_t cap, const char *name);
/* One nesting level more (false past JINJA_MAX_NESTING, error recorded); callers decrement
 * P->depth when done. */
bool jp_enter(parser *P);
/* A full expression (with `a if b else c`). */
jnode *jp_parse_expr(parser *P);
/* The filter after '|' applied to input. */
jnode *jp_parse_filter(parser *P, jnode *input);
/* An expression list without parentheses, a tuple when it has commas. */
jnode *jp_parse_tuple_expr(parser *P, bool with_condexpr);

#endif
