/* cmd_rm.c - `llmr rm NAME...`: removes models (and unfinished downloads) from the cache. */
#include "cli/cli.h"
#include "router/fetch.h"

#include <stdio.h>

int cmd_rm(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("rm", "no NAME given");
    char dir[4096];
    llmr_err err;
    llmri_err_clear(&err);
    if (llmri_cache_dir(dir, sizeof dir, &err))
        return cli_fail("rm", "%s", err.msg);
    int status = CLI_OK;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-')
            return cli_usage_error("rm", "unknown flag '%s'", argv[i]);
        if (llmri_cache_remove(dir, argv[i], &err))
            status = cli_fail("rm", "%s", err.msg);
        else
            printf("removed %s\n", argv[i]);
    }
    return status;
}
