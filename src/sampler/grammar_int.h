/* grammar_int.h - the compiled form of a grammar, shared by the parser and the matcher. */
#ifndef LLMR_SAMPLER_GRAMMAR_INT_H
#define LLMR_SAMPLER_GRAMMAR_INT_H

#include "sampler/grammar.h"

/* A rule is its alternatives one after another, each closed by GE_ALT except the last, which
 * is closed by GE_END. An alternative is a sequence of GE_REF (another rule) and character
 * sets. A set is a GE_SET element (a = number of ranges, b = 1 when negated) followed by its
 * a GE_RANGE elements [a, b]; a literal character is a set of one range, `.` is a negated
 * set of none. */
enum { GE_END, GE_ALT, GE_REF, GE_SET, GE_RANGE };

typedef struct gelem {
    uint32_t type;
    uint32_t a, b;
} gelem;

struct llmr_grammar {
    gelem    *elems;
    uint32_t  n_elems;
    uint32_t *rule_start;   /* index of each rule's first element */
    uint32_t  n_rules;
    uint32_t  root;
};

static inline bool ge_is_end(const gelem *e) { return e->type == GE_END || e->type == GE_ALT; }

#endif
