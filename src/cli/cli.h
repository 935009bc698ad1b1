/* cli.h - the llmr command-line front end: one file per command (cmd_<name>.c). */
#ifndef LLMR_CLI_H
#define LLMR_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses shared by every command. */
enum { CLI_OK = 0, CLI_BAD_INPUT = 1, CLI_USAGE = 2 };

typedef struct cli_cmd {
    const char *name;
    int (*run)(int argc, char **argv);   /* argv[0] is the command name */
    const char *summary;                 /* one line for `llmr --help` */
    const char *usage;                   /* full text for `llmr help CMD` */
} cli_cmd;

const cli_cmd *cli_find(const char *name);
/* Prints one line on stderr, "llmr CMD: usage error: ...; see 'llmr help CMD'"; returns
 * CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "llmr CMD: ..." on stderr; returns CLI_BAD_INPUT. */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Strict number parsing for flags: the whole string must be a number in [lo, hi]. */
bool cli_parse_long(const char *s, long lo, long hi, long *out);
bool cli_parse_float(const char *s, double lo, double hi, double *out);
/* Every command's -t: the value of `flag` as a thread count in [lo, 1024] (after a usage
 * message, false when it is not), capped at the CPUs this process may run on with a warning
 * on stderr: threads past that only wait for a busy core, and ran -t 999 hundreds of times
 * slower. cli_cap_threads is the cap alone, for a value parsed otherwise (bench's lists). */
bool cli_parse_threads(const char *cmd, const char *flag, const char *v, long lo, long *out);
long cli_cap_threads(const char *cmd, const char *flag, long n);

/* The model file's type as llama.cpp names it (general.file_type: "Q4_K_M", ...), or for
 * files without that key the type of most tensor bytes besides F32 (ftype.c). */
struct gguf_file;
const char *cli_ftype_name(const struct gguf_file *f);
/* The name of a llama_ftype id (general.file_type): 15 -> "Q4_K_M"; "unknown" if none. */
const char *cli_ftype_id_name(uint32_t ft);

/* The model a command's -m names, as a local path in `path`: a path, a name from the cache
 * (`llmr ls`), an alias, NAME:TAG, a URL or hf: id (downloaded on first use, with a progress
 * bar on a terminal); name NULL: the default model, said once on stderr. On failure prints
 * one line ("llmr CMD: 'x' is not ...; close matches: ...") and returns false. */
bool cli_model_path(const char *cmd, const char *name, char *path, size_t n);

/* Terminals (term.c): cli_tty is whether f is a terminal; cli_color whether to color what
 * goes to f (a terminal, NO_COLOR unset or empty, TERM not "dumb"). cli_sgr gives the escape
 * sequence for "bold", "dim", "red", "green", "yellow", "cyan" or "reset", or "" when f gets
 * no color. cli_progress redraws a one-line progress bar on f, only when f is a terminal
 * (colored only where cli_color allows), ending the line when done reaches total. */
bool cli_tty(FILE *f);
bool cli_color(FILE *f);
const char *cli_sgr(FILE *f, const char *code);
void cli_progress(FILE *f, const char *label, double done, double total);
/* The same bar without ending the line at the end; cli_progress_clear erases it (a
 * terminal only), so that a result printed next takes its place. */
void cli_progress_line(FILE *f, const char *label, double done, double total);
void cli_progress_clear(FILE *f);

/* Writes the manual page llmr.1 (roff) from the commands' summaries and usage texts, the
 * text of `llmr --help` and `llmr help CMD` (man.c). */
void cli_print_man(FILE *to, const cli_cmd *cmds, size_t n);

/* Commands. */
int cmd_info(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_tensor(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_template(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_detokenize(int argc, char **argv);
int cmd_vocab(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_route(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_alias(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_show(int argc, char **argv);

#endif
