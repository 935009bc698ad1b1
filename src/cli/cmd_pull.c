/* cmd_pull.c - `llmr pull SOURCE [--sha256 HEX]`: makes a model available locally and prints
 * its path as the last line of stdout (scripts take `tail -n1`). */
#include "cli/cli.h"
#include "router/fetch.h"
#include "router/model_name.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static atomic_bool interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    atomic_store(&interrupted, true);
}

int cmd_pull(int argc, char **argv)
{
    llmr_fetch_opts o = llmri_fetch_defaults();
    const char *source = NULL, *registry = NULL;
    bool quiet = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--sha256")) {
            if (++i >= argc)
                return cli_usage_error("pull", "--sha256 needs a value");
            o.sha256 = argv[i];
        } else if (!strcmp(argv[i], "--attempts")) {
            long v;
            if (++i >= argc || !cli_parse_long(argv[i], 1, 100, &v))
                return cli_usage_error("pull", "--attempts needs a number 1..100");
            o.max_attempts = (int)v;
        } else if (!strcmp(argv[i], "--registry")) {
            if (++i >= argc)
                return cli_usage_error("pull", "--registry needs a URL");
            registry = argv[i];
        } else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
            quiet = true;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error("pull", "unknown flag '%s'", argv[i]);
        } else if (source) {
            return cli_usage_error("pull", "one SOURCE at a time ('%s' and '%s')", source,
                                   argv[i]);
        } else {
            source = argv[i];
        }
    }
    if (!source)
        return cli_usage_error("pull", "no SOURCE given");
    o.progress = !quiet && cli_tty(stderr);
    o.color = o.progress && cli_color(stderr);
    o.cancel = &interrupted;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    llmr_err err;
    llmri_err_clear(&err);
    char **paths = NULL;
    size_t n = 0;
    int rc;
    if (!strncmp(source, "ollama:", 7)) {
        char path[4400];
        if ((rc = rt_ollama_pull(source, registry, &o, path, sizeof path, &err)))
            return cli_fail("pull", "%s", err.msg);
        printf("%s\n", path);
        return CLI_OK;
    }
    if (registry)
        return cli_usage_error("pull", "--registry is for ollama: names");
    rc = llmri_source_expand(source, &o, &paths, &n, &err);
    if (rc)
        return cli_fail("pull", "%s", err.msg);
    for (size_t i = 0; i < n; i++)
        printf("%s\n", paths[i]);
    llmri_paths_free(paths, n);
    return CLI_OK;
}
