/* json.h - the one way llmr parses JSON from outside: request bodies, WebSocket messages,
 * configs, schemas, remote backends' answers.
 *
 * cJSON recurses once per nesting level while parsing, printing and freeing, and a civetweb
 * worker runs on a 100 KiB stack: an 800-deep array of 1.6 KB crashed the server. So the
 * depth is bounded by a flat scan before cJSON sees the text, and everything that walks a
 * parsed value afterwards (schemas, templates, printing) inherits that bound. */
#ifndef LLMR_CORE_JSON_H
#define LLMR_CORE_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* The deepest nesting of arrays and objects accepted: far more than any API body, schema or
 * config needs, and a small fraction of a worker's stack. */
#define LLMR_JSON_MAX_DEPTH 64

enum {
    LLMR_JSON_DUPS_OK = 1,   /* keep cJSON's first-wins for repeated keys (remote answers) */
    LLMR_JSON_TRAILING_OK = 2/* text may follow the value (returned in *end) */
};

/* Scans len bytes of JSON text without building anything: true when no array or object nests
 * deeper than max_depth; otherwise false with *at the offset of the opening bracket past the
 * limit. Strings (with escaped quotes) are skipped, so brackets inside them do not count. */
bool llmri_json_depth_ok(const char *text, size_t len, int max_depth, size_t *at);

/* Parses len bytes of JSON (no NUL needed) into a cJSON tree the caller frees with
 * cJSON_Delete. Refuses, with NULL and a message in err that names what and where, text that
 * is not JSON, nests deeper than LLMR_JSON_MAX_DEPTH, repeats a key in one object (unless
 * LLMR_JSON_DUPS_OK: a body with two "model" keys is ambiguous), or has more than whitespace
 * after the value (unless LLMR_JSON_TRAILING_OK; then *end, if given, points past the value).
 * what names the text in messages ("the request body"). */
cJSON *llmri_json_parse(const char *text, size_t len, int flags, const char *what,
                       const char **end, char *err, size_t err_len);

#endif
