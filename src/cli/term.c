/* term.c - color and progress bars, only where a person is looking: on a terminal, and
 * without color when NO_COLOR is set to anything non-empty (https://no-color.org) or TERM is
 * "dumb". Pipes and files get plain text, so scripts and logs see no escape codes. */
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool cli_tty(FILE *f)
{
    return isatty(fileno(f)) == 1;
}

bool cli_color(FILE *f)
{
    const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
    return cli_tty(f) && !(nc && *nc) && !(term && !strcmp(term, "dumb"));
}

const char *cli_sgr(FILE *f, const char *code)
{
    static const struct { const char *name, *seq; } codes[] = {
        {"bold", "\033[1m"}, {"dim", "\033[2m"}, {"red", "\033[31m"}, {"green", "\033[32m"},
        {"yellow", "\033[33m"}, {"cyan", "\033[36m"}, {"reset", "\033[0m"},
    };
    if (!cli_color(f))
        return "";
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (!strcmp(codes[i].name, code))
            return codes[i].seq;
    return "";
}

void cli_progress(FILE *f, const char *label, double done, double total)
{
    cli_progress_line(f, label, done, total);
    if (cli_tty(f) && total > 0 && done >= total) {
        fputc('\n', f);
        fflush(f);
    }
}

void cli_progress_clear(FILE *f)
{
    if (cli_tty(f)) {
        fputs("\r\033[K", f);
        fflush(f);
    }
}

void cli_progress_line(FILE *f, const char *label, double done, double total)
{
    if (!cli_tty(f) || total <= 0)
        return;
    const int width = 30;
    double frac = done / total;
    if (frac < 0)
        frac = 0;
    if (frac > 1)
        frac = 1;
    int fill = (int)(frac * width + 0.5);
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = 0;
    fprintf(f, "\r\033[K%s%-28.28s%s [%s%s%s] %3.0f%%", cli_sgr(f, "bold"), label,
            cli_sgr(f, "reset"), cli_sgr(f, "green"), bar, cli_sgr(f, "reset"), frac * 100);
    fflush(f);
}
