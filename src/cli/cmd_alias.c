/* cmd_alias.c - `llmr alias [NAME [TARGET] | --rm NAME]`: short names for models, kept in the
 * cache's aliases.json so that every command's -m (and the library's llmr_model_resolve)
 * knows them. */
#include "cli/cli.h"
#include "router/model_name.h"

#include <stdio.h>
#include <string.h>

typedef struct shown { const char *only; size_t n; } shown;

static void print_alias(void *user, const char *alias, const char *target)
{
    shown *s = user;
    if (!s->only || !strcmp(s->only, alias)) {
        printf("%-24s %s\n", alias, target);
        s->n++;
    }
}

int cmd_alias(int argc, char **argv)
{
    char dir[4096];
    llmr_err err;
    llmri_err_clear(&err);
    bool rm = argc > 1 && !strcmp(argv[1], "--rm");
    int first = rm ? 2 : 1;
    for (int i = first; i < argc; i++)
        if (argv[i][0] == '-')
            return cli_usage_error("alias", "unknown flag '%s'", argv[i]);
    if (argc - first > 2 || (rm && argc - first != 1))
        return cli_usage_error("alias", rm ? "--rm takes one NAME" : "too many arguments");
    if (llmri_cache_dir(dir, sizeof dir, &err))
        return cli_fail("alias", "%s", err.msg);
    if (rm) {
        if (llmri_alias_set(dir, argv[2], NULL, &err))
            return cli_fail("alias", "%s", err.msg);
        printf("removed alias %s\n", argv[2]);
        return CLI_OK;
    }
    if (argc - first < 2) {
        shown s = {argc > first ? argv[first] : NULL, 0};
        llmri_alias_each(dir, print_alias, &s);
        if (s.only && s.n == 0)
            return cli_fail("alias", "no alias '%s'", argv[first]);
        return CLI_OK;
    }
    /* the target must name a model now: an alias to nothing would fail only at its first use */
    char path[4096];
    if (!cli_model_path("alias", argv[first + 1], path, sizeof path))
        return CLI_BAD_INPUT;
    if (llmri_alias_set(dir, argv[first], argv[first + 1], &err))
        return cli_fail("alias", "%s", err.msg);
    printf("%s -> %s (%s)\n", argv[first], argv[first + 1], path);
    return CLI_OK;
}
