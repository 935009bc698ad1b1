/* gen_flags.h - the generation flags `llmr run` and `llmr chat` share (-n, --temp, --top-k,
 * ..., --stop, -t, -c), parsed once here so both commands accept exactly the same set, and
 * `/set NAME VALUE` in chat reuses the same parser. */
#ifndef LLMR_CLI_GEN_FLAGS_H
#define LLMR_CLI_GEN_FLAGS_H

#include "llmr.h"

typedef struct gen_flags {
    const char   *cmd;            /* for messages: "run", "chat" */
    const char   *model;
    llmr_gen_opts o;
    int           n_stop;
    bool          no_gen;         /* -n 0: generate nothing (o.max_tokens 0 means -n -1) */
    long          threads, ctx;
    llmr_kv_type  ctk, ctv;       /* --cache-type-k / -v (F16 and LLMR_KV_SAME by default) */
} gen_flags;

/* Initialises with llmr_gen_defaults(). */
void gen_flags_init(gen_flags *g, const char *cmd);

/* Parses argv[*i] (and its value, advancing *i) when it is one of the shared flags.
 * Returns CLI_OK when consumed, CLI_USAGE after a usage message when the flag is shared but
 * malformed, and -1 when argv[*i] is not a shared flag (the caller handles it). */
int gen_flags_parse(gen_flags *g, int argc, char **argv, int *i);

/* Sets one sampling setting by name, for chat's `/set NAME VALUE` (temp, top_k, top_p, min_p,
 * typical, repeat_penalty, presence_penalty, frequency_penalty, seed, max_tokens; '-' and '_'
 * are interchangeable; max_tokens 0, a reply of nothing, is refused). Checks the resulting options with llmr_gen_validate and leaves *g
 * unchanged on failure. Returns LLMR_OK or LLMR_ERR_ARG with a message in err. */
int gen_flags_set(gen_flags *g, const char *name, const char *value, char *err, size_t errlen);

/* Parses the value of a KV cache type flag (`flag` for the message): f16, f32, q8_0, q4_0.
 * True, or false after a usage message. */
bool cli_parse_kv_type(const char *cmd, const char *flag, const char *v, llmr_kv_type *out);
/* True when argv's flag f is one of --cache-type-k / -ctk (*v_side false) or --cache-type-v
 * / -ctv (*v_side true). */
bool cli_is_kv_flag(const char *f, bool *v_side);

/* Reads a whole small file (at most max bytes) into a malloc'd NUL-terminated string. */
char *cli_read_file(const char *path, size_t max, size_t *len);

#endif
