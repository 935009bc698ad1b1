/* jstmt.c - Jinja2 parser, statements: {% if %}, {% for %}, {% set %} (and block set),
 * {% macro %}, {% call %}, {% filter %}, break/continue, and the template body; jinja_parse is
 * the entry point. Expressions and the token helpers are in jparse.c (shared via jparse.h). */
#include "template/jparse.h"

#include <stdio.h>
#include <string.h>

/* ---- statements ------------------------------------------------------------------------- */
static bool parse_body(parser *P, const char *const *ends, jnodes *out, const char *opener,
                       int open_line);

/* The rest of a block tag `tag` whose opening part is parsed: its %}, its body into n->body,
 * and {% end<tag> %}. */
static jnode *block_rest(parser *P, jnode *n, const char *tag, int line)
{
    char end[32];
    snprintf(end, sizeof end, "end%s", tag);
    const char *const ends[] = {end, NULL};
    if (!jp_expect_block_end(P, tag) || !parse_body(P, ends, &n->body, tag, line))
        return NULL;
    jp_adv(P);
    return jp_expect_block_end(P, end) ? n : NULL;
}

static bool parse_targets(parser *P, jnode *n, const char *tag)
{
    bool paren = jp_skip_op(P, "(");
    do {
        jtok *t = jp_cur(P);
        if (t->type != JT_NAME)
            return jp_perr(P, t->line, "expected a variable name in {%% %s %%}, got %s", tag,
                        jp_tok_desc(t)), false;
        if (!jp_names_set(P, &n->targets, n->ntargets, 0, t->s))
            return false;
        n->ntargets++;
        jp_adv(P);
    } while (jp_skip_op(P, ","));
    return !paren || jp_expect_op(P, ")", "to close the targets");
}

static jnode *parse_if(parser *P, int line, const char *tag)
{
    jnode *n = jp_node(P, JN_IF, line);
    /* jinja2 parses the test with with_condexpr=False: `{% if a if b %}` is an error */
    if (!n || !(n->a = jp_parse_tuple_expr(P, false)) || !jp_expect_block_end(P, tag))
        return NULL;
    static const char *const ends[] = {"elif", "else", "endif", NULL};
    if (!parse_body(P, ends, &n->body, "if", line))
        return NULL;
    /* at the block tag that ended the body: cur is its name */
    jtok *t = jp_cur(P);
    jp_adv(P);
    if (!strcmp(t->s, "elif")) {
        jnode *e = parse_if(P, t->line, "elif");
        if (!e || !jp_nodes_push(P, &n->else_body, e))
            return NULL;
        return n;   /* the nested if consumed the endif */
    }
    if (!strcmp(t->s, "else")) {
        static const char *const ends2[] = {"endif", NULL};
        if (!jp_expect_block_end(P, "else") || !parse_body(P, ends2, &n->else_body, "if", line))
            return NULL;
        jp_adv(P);
    }
    return jp_expect_block_end(P, "endif") ? n : NULL;
}

static jnode *parse_for(parser *P, int line)
{
    jnode *n = jp_node(P, JN_FOR, line);
    if (!n || !parse_targets(P, n, "for"))
        return NULL;
    if (!jp_skip_name(P, "in"))
        return jp_perr(P, jp_cur(P)->line, "expected 'in' in {%% for %%}, got %s",
                       jp_tok_desc(jp_cur(P)));
    if (!(n->a = jp_parse_tuple_expr(P, false)))
        return NULL;
    if (jp_skip_name(P, "if") && !(n->b = jp_parse_expr(P)))
        return NULL;
    if (jp_is_name(P, "recursive"))
        return jp_perr(P, jp_cur(P)->line, "recursive for loops are not supported");
    if (!jp_expect_block_end(P, "for"))
        return NULL;
    static const char *const ends[] = {"else", "endfor", NULL};
    P->loops++;
    bool ok = parse_body(P, ends, &n->body, "for", line);
    P->loops--;
    if (!ok)
        return NULL;
    if (jp_skip_name(P, "else")) {
        static const char *const ends2[] = {"endfor", NULL};
        if (!jp_expect_block_end(P, "else") || !parse_body(P, ends2, &n->else_body, "for", line))
            return NULL;
    }
    jp_adv(P);   /* endfor */
    return jp_expect_block_end(P, "endfor") ? n : NULL;
}

static jnode *parse_set(parser *P, int line)
{
    jtok *t = jp_cur(P);
    if (t->type != JT_NAME)
        return jp_perr(P, t->line, "expected a variable name after {%% set, got %s",
                       jp_tok_desc(t));
    if (jp_peek(P, 1)->type == JT_OP && !strcmp(jp_peek(P, 1)->s, ".")) {
        jnode *n = jp_node(P, JN_SET_ATTR, line);
        if (!n)
            return NULL;
        n->name = t->s;
        jp_adv(P);
        jp_adv(P);
        if (jp_cur(P)->type != JT_NAME)
            return jp_perr(P, jp_cur(P)->line, "expected an attribute name in {%% set %s.", t->s);
        if (!jp_names_set(P, &n->targets, 0, 0, jp_cur(P)->s))
            return NULL;
        n->ntargets = 1;
        jp_adv(P);
        if (!jp_expect_op(P, "=", "in {% set %}") || !(n->a = jp_parse_tuple_expr(P, true)))
            return NULL;
        return jp_expect_block_end(P, "set") ? n : NULL;
    }
    jnode *n = jp_node(P, JN_SET, line);
    if (!n || !parse_targets(P, n, "set"))
        return NULL;
    if (jp_skip_op(P, "=")) {
        if (!(n->a = jp_parse_tuple_expr(P, true)))
            return NULL;
        return jp_expect_block_end(P, "set") ? n : NULL;
    }
    /* block set: {% set x %}...{% endset %}, optionally {% set x | filter %} */
    if (n->ntargets != 1)
        return jp_perr(P, line, "a block {%% set %%} takes one variable name");
    n->kind = JN_SET_BLOCK;
    n->name = n->targets[0];
    jnode *f = NULL;
    while (jp_skip_op(P, "|"))
        if (!(f = jp_parse_filter(P, f)))
            return NULL;
    n->b = f;
    return block_rest(P, n, "set", line);
}

/* Parameter list of {% macro name(a, b=1) %} or {% call(x) ... %}. */
static bool parse_params(parser *P, jnode *n)
{
    if (!jp_skip_op(P, "("))
        return true;
    while (!jp_is_op(P, ")")) {
        if (n->args.n && !jp_expect_op(P, ",", "between macro parameters"))
            return false;
        jtok *t = jp_cur(P);
        if (t->type != JT_NAME)
            return jp_perr(P, t->line, "expected a parameter name, got %s", jp_tok_desc(t)), false;
        jp_adv(P);
        jnode *def = NULL;
        if (jp_skip_op(P, "=") && !(def = jp_parse_expr(P)))
            return false;
        if (!def && !(def = jp_node(P, JN_LIT, t->line)))
            return false;
        if (def->kind == JN_LIT && !def->lit.type && def->lit.u.s == NULL)
            def->lit = jv_undef();   /* no default: Undefined */
        if (!jp_names_set(P, &n->kw, n->args.n, 0, t->s) || !jp_nodes_push(P, &n->args, def))
            return false;
    }
    jp_adv(P);
    return true;
}

static jnode *parse_macro(parser *P, int line)
{
    jtok *t = jp_cur(P);
    if (t->type != JT_NAME)
        return jp_perr(P, t->line, "expected a macro name, got %s", jp_tok_desc(t));
    jnode *n = jp_node(P, JN_MACRO, line);
    if (!n)
        return NULL;
    n->name = t->s;
    jp_adv(P);
    if (!jp_is_op(P, "("))
        return jp_perr(P, jp_cur(P)->line, "expected '(' after {%% macro %s", n->name);
    if (!parse_params(P, n) || !jp_expect_block_end(P, "macro"))
        return NULL;
    static const char *const ends[] = {"endmacro", NULL};
    int saved = P->loops;
    P->loops = 0;
    bool ok = parse_body(P, ends, &n->body, "macro", line);
    P->loops = saved;
    if (!ok)
        return NULL;
    jp_adv(P);
    if (jp_cur(P)->type == JT_NAME)   /* {% endmacro name %} */
        jp_adv(P);
    return jp_expect_block_end(P, "endmacro") ? n : NULL;
}

static jnode *parse_call_block(parser *P, int line)
{
    jnode *n = jp_node(P, JN_CALL_BLOCK, line);
    if (!n || !parse_params(P, n))
        return NULL;
    n->a = jp_parse_expr(P);
    if (!n->a)
        return NULL;
    if (n->a->kind != JN_CALL)
        return jp_perr(P, line, "expected a macro call in {%% call %%}");
    return block_rest(P, n, "call", line);
}

static jnode *parse_filter_block(parser *P, int line)
{
    jnode *n = jp_node(P, JN_FILTER_BLOCK, line);
    if (!n)
        return NULL;
    jnode *f = NULL;
    do {
        if (!(f = jp_parse_filter(P, f)))
            return NULL;
    } while (jp_skip_op(P, "|"));
    n->a = f;
    return block_rest(P, n, "filter", line);
}

static jnode *parse_statement(parser *P)
{
    int line = jp_cur(P)->line;
    jp_adv(P);   /* {% */
    jtok *t = jp_cur(P);
    if (t->type != JT_NAME)
        return jp_perr(P, t->line, "expected a tag name after '{%%', got %s", jp_tok_desc(t));
    const char *tag = t->s;
    jp_adv(P);
    if (!strcmp(tag, "if"))
        return parse_if(P, line, "if");
    if (!strcmp(tag, "for"))
        return parse_for(P, line);
    if (!strcmp(tag, "set"))
        return parse_set(P, line);
    if (!strcmp(tag, "macro"))
        return parse_macro(P, line);
    if (!strcmp(tag, "call"))
        return parse_call_block(P, line);
    if (!strcmp(tag, "filter"))
        return parse_filter_block(P, line);
    if (!strcmp(tag, "break") || !strcmp(tag, "continue")) {
        if (!P->loops)
            return jp_perr(P, line, "'%s' outside of a {%% for %%} loop", tag);
        jnode *n = jp_node(P, !strcmp(tag, "break") ? JN_BREAK : JN_CONTINUE, line);
        return n && jp_expect_block_end(P, tag) ? n : NULL;
    }
    if (!strcmp(tag, "generation")) {   /* HF's AssistantTracker: a transparent block */
        jnode *n = jp_node(P, JN_GENERATION, line);
        return n ? block_rest(P, n, "generation", line) : NULL;
    }
    return jp_perr(P, line, "Encountered unknown tag '%s'", tag);
}

/* Statements until a block tag named in ends (left with jp_cur() at that name) or EOF. */
static bool parse_body(parser *P, const char *const *ends, jnodes *out, const char *opener,
                       int open_line)
{
    if (!jp_enter(P))
        return false;
    for (;;) {
        jtok *t = jp_cur(P);
        jnode *n = NULL;
        switch (t->type) {
        case JT_EOF:
            if (ends && ends[0]) {
                jp_perr(P, open_line, "{%% %s %%} is never closed (expected {%% %s %%} before the "
                     "end of the template)", opener, ends[ends[1] ? (ends[2] ? 2 : 1) : 0]);
                return false;
            }
            P->depth--;
            return true;
        case JT_TEXT:
            n = jp_node(P, JN_TEXT, t->line);
            if (n)
                n->lit = jv_strn(P->a, t->s, t->len);
            jp_adv(P);
            break;
        case JT_VAR_BEGIN:
            jp_adv(P);
            n = jp_node(P, JN_OUTPUT, t->line);
            if (!n || !(n->a = jp_parse_tuple_expr(P, true)))
                return false;
            if (jp_cur(P)->type != JT_VAR_END) {
                jp_perr(P, jp_cur(P)->line, "expected end of print statement '}}', got %s",
                     jp_tok_desc(jp_cur(P)));
                return false;
            }
            jp_adv(P);
            break;
        case JT_BLOCK_BEGIN: {
            jtok *name = jp_peek(P, 1);
            if (name->type == JT_NAME && ends) {
                for (int k = 0; ends[k]; k++)
                    if (!strcmp(name->s, ends[k])) {
                        jp_adv(P);
                        P->depth--;
                        return true;
                    }
            }
            if (name->type == JT_NAME && (!strncmp(name->s, "end", 3) || !strcmp(name->s, "elif")
                                          || !strcmp(name->s, "else"))) {
                if (opener)
                    jp_perr(P, name->line, "unexpected {%% %s %%} inside {%% %s %%} opened at line %d",
                            name->s, opener, open_line);
                else
                    jp_perr(P, name->line, "unexpected {%% %s %%} with no open block", name->s);
                return false;
            }
            n = parse_statement(P);
            break;
        }
        default:
            jp_perr(P, t->line, "unexpected %s", jp_tok_desc(t));
            return false;
        }
        if (!n || !jp_nodes_push(P, out, n))
            return false;
    }
}

bool jinja_parse(llmr_arena *a, const jtoks *toks, jnodes *out, char *err, size_t errlen)
{
    parser P = {a, toks, 0, err, errlen, 0, 0, false};
    memset(out, 0, sizeof *out);
    return parse_body(&P, NULL, out, NULL, 0) && !P.failed;
}
