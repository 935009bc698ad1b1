/* main.c - `llmr`: dispatches to one command per file (see cli.h). */
#include "cli/cli.h"
#include "llmr.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const cli_cmd commands[] = {
    {"info", cmd_info, "describe a GGUF model file",
     "usage: llmr info [--json] [--tensors] MODEL.gguf\n"
     "  Prints architecture, size, hyper-parameters, tokenizer and tensor types.\n"
     "  --json     one JSON object (gguf_version, architecture, n_params, n_vocab, ...)\n"
     "  --tensors  also list every tensor: name, type, shape, offset\n"
     "Exit status: 0 ok, 1 bad input, 2 usage error.\n"},
    {"pull", cmd_pull, "download a model into the cache (URL, hf:ORG/REPO/FILE) or check a path",
     "usage: llmr pull [--sha256 HEX] [--quiet] [--attempts N] SOURCE\n"
     "  SOURCE: a .gguf path, a directory (every .gguf in it), an http(s) URL, or\n"
     "  hf:ORG/REPO/FILE.gguf (https://huggingface.co/ORG/REPO/resolve/main/FILE.gguf).\n"
     "  Downloads go to $LLMR_CACHE_DIR (default ~/.cache/llmr), resume after an\n"
     "  interruption, and are kept only when they are GGUF files matching --sha256.\n"
     "  The local path is printed as the last line of stdout (one line per file).\n"
     "  --sha256 HEX  the file's expected SHA-256 (64 hex digits)\n"
     "  --quiet       no progress bar on stderr\n"
     "  --attempts N  connections tried, each resuming the last (default 4)\n"
     "Exit status: 0 ok, 1 failed, 2 usage error.\n"},
    {"ls", cmd_ls, "list the models in the download cache",
     "usage: llmr ls [--json]\n"
     "  Lists $LLMR_CACHE_DIR (default ~/.cache/llmr): name, size, modification time;\n"
     "  unfinished downloads are marked partial.\n"
     "Exit status: 0 ok, 1 failed, 2 usage error.\n"},
    {"rm", cmd_rm, "remove models from the download cache",
     "usage: llmr rm NAME...\n"
     "  Removes each NAME (as `llmr ls` prints it, .gguf optional) and its unfinished\n"
     "  download from the cache.\n"
     "Exit status: 0 ok, 1 a NAME was not in the cache, 2 usage error.\n"},
};
static const size_t n_commands = sizeof commands / sizeof commands[0];

const cli_cmd *cli_find(const char *name)
{
    for (size_t i = 0; i < n_commands; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "llmr %s: usage error: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    const cli_cmd *c = cli_find(cmd);
    if (c)
        fputs(c->usage, stderr);
    return CLI_USAGE;
}

int cli_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "llmr %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_BAD_INPUT;
}

bool cli_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

bool cli_parse_float(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || isnan(v) || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static void print_help(FILE *to)
{
    fprintf(to, "llmr %s - local LLM runner and router\n\n"
                "usage: llmr COMMAND [ARGS]\n\ncommands:\n", llmr_version());
    for (size_t i = 0; i < n_commands; i++)
        fprintf(to, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(to, "\n`llmr help COMMAND` shows a command's flags.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--version") || !strcmp(name, "-V") || !strcmp(name, "version")) {
        printf("llmr %s\n", llmr_version());
        return CLI_OK;
    }
    if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
        print_help(stdout);
        return CLI_OK;
    }
    if (!strcmp(name, "help")) {
        if (argc < 3) {
            print_help(stdout);
            return CLI_OK;
        }
        const cli_cmd *c = cli_find(argv[2]);
        if (!c) {
            fprintf(stderr, "llmr: no command '%s' (see llmr --help)\n", argv[2]);
            return CLI_USAGE;
        }
        fputs(c->usage, stdout);
        return CLI_OK;
    }
    const cli_cmd *c = cli_find(name);
    if (!c) {
        fprintf(stderr, "llmr: no command '%s' (see llmr --help)\n", name);
        return CLI_USAGE;
    }
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(c->usage, stdout);
            return CLI_OK;
        }
    return c->run(argc - 1, argv + 1);
}
