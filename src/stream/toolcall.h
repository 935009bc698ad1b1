/* toolcall.h - tool calls in a model's output (internal; the server's front ends use it):
 * reading them out of the generated text in the formats of the common model families, and
 * the grammar that makes a model write a valid call (tool_choice "required" or one named
 * function), with arguments that validate against the tool's JSON schema.
 *
 * Formats:
 *  - HERMES (Hermes 2 Pro, Qwen2.5, Qwen3): <tool_call>{"name": ..., "arguments": {...}}
 *    </tool_call>, one block per call, text around them is content.
 *  - LLAMA3 (Llama 3.1-3.3): {"name": ..., "parameters": {...}} as the whole reply, or after
 *    <|python_tag|> (several separated by ';').
 *  - MISTRAL: [TOOL_CALLS][{"name": ..., "arguments": {...}, "id": ...}, ...] after any text.
 *  - GENERIC (templates with no format of their own): the reply is {"tool_calls": [{"name":
 *    ..., "arguments": {...}}, ...]} or {"tool_call": {...}}.
 * AUTO tries each marker, then the generic JSON shapes.
 */
#ifndef LLMR_STREAM_TOOLCALL_H
#define LLMR_STREAM_TOOLCALL_H

#include "core/error.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum llmri_tc_format {
    LLMRI_TC_AUTO, LLMRI_TC_HERMES, LLMRI_TC_LLAMA3, LLMRI_TC_MISTRAL, LLMRI_TC_GENERIC,
} llmri_tc_format;

typedef struct llmri_tool_call {
    char *name;
    char *arguments;    /* a JSON object, compact */
    char *id;           /* the id the model wrote (Mistral), else NULL */
} llmri_tool_call;

typedef struct llmri_tool_calls {
    llmri_tool_call *calls;
    size_t           n;
    char            *content;   /* the text outside the calls, trimmed ("" when none) */
} llmri_tool_calls;

/* The format a chat template's text (Jinja source) writes calls in: its markers
 * (<tool_call>, [TOOL_CALLS], <|python_tag|>), Llama 3.2's "name"/"parameters" instructions,
 * else GENERIC. */
llmri_tc_format llmri_toolcall_format_of_template(const char *template_text);
const char *llmri_toolcall_format_name(llmri_tc_format f);

/* A validated tools array (OpenAI's [{"type":"function","function":{"name","description",
 * "parameters"}}], as JSON text). */
typedef struct llmri_tools llmri_tools;
/* LLMR_ERR_FORMAT naming the entry ("tools[3].function.name: ...") when the array is not
 * one, a tool is not a function object, a name is not [a-zA-Z0-9_-]{1,64} or repeats, or
 * parameters is not a schema object; LLMR_ERR_TOO_BIG past max_tools. */
int llmri_tools_parse(const char *json, size_t max_tools, llmri_tools **out, llmr_err *err);
void llmri_tools_free(llmri_tools *t);
size_t llmri_tools_count(const llmri_tools *t);
/* Index of the tool called name, or -1. */
int llmri_tools_find(const llmri_tools *t, const char *name);

/* Reads the calls out of text (len bytes) written in format fmt. tools (may be NULL) limits
 * calls to known names. Any call that is not valid (JSON that does not parse, no name, a name
 * not among tools, arguments that are not an object) leaves the whole text as content with
 * no calls: a model's broken attempt is returned as text, never dropped. Returns LLMR_OK
 * (out filled; free with llmri_tool_calls_free) or LLMR_ERR_NOMEM. */
int llmri_toolcall_parse(const char *text, size_t len, llmri_tc_format fmt,
                         const llmri_tools *tools, llmri_tool_calls *out, llmr_err *err);
void llmri_tool_calls_free(llmri_tool_calls *tc);

/* GBNF that makes the model write calls in format fmt (AUTO means GENERIC): one call, or with
 * parallel one or more; only to the function `only` when it is non-NULL (tool_choice naming
 * a function), else to any of the tools. Each call's arguments validate against its tool's
 * parameters schema. Errors: LLMR_ERR_NOT_FOUND (only names no tool), the schema compiler's
 * (naming tools/N/function/parameters/...). *gbnf is malloc'd. */
int llmri_toolcall_grammar(const llmri_tools *tools, const char *only, llmri_tc_format fmt,
                           bool parallel, char **gbnf, llmr_err *err);

#endif
