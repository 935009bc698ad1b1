/* man.c - llmr.1, the manual page, written from the same text as `llmr --help` and
 * `llmr help COMMAND` (the commands table in main.c), so the two never disagree. CMake runs
 * `llmr help --man` at build time and `cmake --install` installs the result (man1/llmr.1). */
#include "cli/cli.h"
#include "llmr.h"

/* Writes s as roff text: backslashes doubled (\e), '-' as \- (a minus, so that flags can be
 * copied and searched), and a line starting with '.' or '\'' guarded by \& so that it is
 * not read as a request. */
static void roff(FILE *to, const char *s)
{
    bool bol = true;
    for (; *s; s++) {
        if (bol && (*s == '.' || *s == '\''))
            fputs("\\&", to);
        if (*s == '\\')
            fputs("\\e", to);
        else if (*s == '-')
            fputs("\\-", to);
        else
            fputc(*s, to);
        bol = *s == '\n';
    }
}

void cli_print_man(FILE *to, const cli_cmd *cmds, size_t n)
{
    fprintf(to, ".TH LLMR 1 \"\" \"llmr %s\" \"User Commands\"\n", llmr_version());
    fputs(".SH NAME\nllmr \\- local LLM runner and router\n"
          ".SH SYNOPSIS\n.B llmr\n.I COMMAND\n[\\fIARGS\\fR]\n.br\n.B llmr\n"
          "\\fB\\-\\-help\\fR | \\fB\\-\\-version\\fR | \\fBhelp\\fR \\fICOMMAND\\fR\n"
          ".SH DESCRIPTION\nllmr runs GGUF language models on the CPU, serves them over HTTP "
          "(OpenAI, ollama and WebSocket APIs) and routes requests over several local and "
          "remote models. Without \\fB\\-m\\fR, \\fBllmr run\\fR uses the default model "
          "shipped with llmr (stories260K). A \\fIMODEL\\fR is a path, a name that "
          "\\fBllmr ls\\fR prints, an alias, \\fINAME\\fR:\\fITAG\\fR, an http(s) URL, "
          "\\fBhf:\\fR\\fIORG/REPO/FILE\\fR.gguf or \\fBollama:\\fR\\fINAME\\fR[:\\fITAG\\fR].\n"
          ".SH COMMANDS\n", to);
    for (size_t i = 0; i < n; i++) {
        fprintf(to, ".SS \"llmr %s\"\n", cmds[i].name);
        roff(to, cmds[i].summary);
        fputs(".\n.PP\n.nf\n", to);
        roff(to, cmds[i].usage);
        fputs(".fi\n", to);
    }
    fputs(".SH EXIT STATUS\n0 success; 1 bad input (one line on stderr naming the problem); "
          "2 usage error (one line, pointing at \\fBllmr help\\fR \\fICOMMAND\\fR).\n"
          ".SH ENVIRONMENT\n"
          ".TP\n.B LLMR_CACHE_DIR\nthe model cache (default \\fI$XDG_CACHE_HOME/llmr\\fR or "
          "\\fI~/.cache/llmr\\fR): downloads, and aliases.json\n"
          ".TP\n.B LLMR_DEFAULT_MODEL\nthe model \\fBllmr run\\fR uses without \\fB\\-m\\fR\n"
          ".TP\n.B LLMR_OLLAMA_REGISTRY\nthe ollama registry of \\fBollama:\\fR names "
          "(default https://registry.ollama.ai)\n"
          ".TP\n.B LLMR_HOST\nthe server \\fBllmr ps\\fR and \\fBllmr stop\\fR talk to "
          "(\\fIHOST\\fR:\\fIPORT\\fR or a URL; default 127.0.0.1:8080)\n"
          ".TP\n.B LLMR_API_KEY\nthe key \\fBllmr ps\\fR and \\fBllmr stop\\fR send\n"
          ".TP\n.B NO_COLOR\nwhen set and not empty, no color on a terminal "
          "(progress bars stay)\n"
          ".SH FILES\n.I share/llmr/models/stories260K.gguf\nthe default model (MIT; see "
          ".I share/llmr/models/README.md\\fR)\n", to);
}
