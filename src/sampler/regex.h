/* regex.h - a JSON Schema `pattern` (an ECMA-262 regular expression, read with the u flag as
 * validators do) compiled to GBNF rules over the text of a JSON string. */
#ifndef LLMR_SAMPLER_REGEX_H
#define LLMR_SAMPLER_REGEX_H

#include "core/buf.h"
#include "core/error.h"

/* Bounds that keep a hostile pattern from costing much: its length, how deep groups nest
 * (each level is three small frames of recursion), counted repetitions, and its size once
 * counted repetitions are expanded (about the number of positions the matcher can be at,
 * so that (a{1,1000}){1,1000} is refused rather than matched with a million stacks). */
#define LLMR_REGEX_MAX_LEN    4096
#define LLMR_REGEX_MAX_DEPTH  32
#define LLMR_REGEX_MAX_COUNT  1000
#define LLMR_REGEX_MAX_SIZE   10000

/* Appends to out the rules of a grammar for the contents of a JSON string (between its
 * quotes, JSON escapes and all) whose decoded text the pattern matches somewhere, as a
 * validator's RegExp.test does: an unanchored side may hold any characters. `name` gets the
 * rule's name; rule names are "s<N>" with N taken from *next_id. Uses the base rule `char`
 * (any JSON string character) of json_schema.c.
 *
 * The subset: literals; escapes \d \D \w \W \s \S \t \n \r \f \v \0 \cX \xHH \uHHHH \u{H..}
 * and escaped syntax characters; `.`; classes [...] and [^...] with ranges and class escapes;
 * groups (...), (?:...) and (?<name>...); alternation; * + ? {n} {n,} {n,m} and their lazy
 * forms; ^ at the start and $ at the end. Anything else (backreferences, lookaround, \b, \p,
 * anchors elsewhere, a repeated part that can match the empty string) is LLMR_ERR_UNSUPPORTED,
 * a malformed pattern LLMR_ERR_FORMAT, with a message naming it and its offset. */
int llmri_regex_gbnf(const char *re, llmr_buf *out, unsigned *next_id, char name[40],
                     llmr_err *err);

#endif
