/* model_arg.c - the MODEL argument every command takes: a path, a cached name, an alias,
 * NAME:TAG, a URL or hf: id (see llmri_model_resolve), or nothing for the default model. */
#include "cli/cli.h"
#include "router/model_name.h"

#include <stdio.h>
#include <unistd.h>

bool cli_model_path(const char *cmd, const char *name, char *path, size_t n)
{
    llmr_err err;
    llmri_err_clear(&err);
    if (!name) {
        if (llmri_default_model(path, n, &err)) {
            cli_fail(cmd, "%s", err.msg);
            return false;
        }
        fprintf(stderr, "llmr %s: no -m given: using the default model %s (%s)\n", cmd,
                LLMR_DEFAULT_MODEL_NAME, path);
        return true;
    }
    llmr_fetch_opts o = llmri_fetch_defaults();
    o.progress = cli_tty(stderr);            /* a URL or hf: id is downloaded on first use */
    o.color = cli_color(stderr);
    if (llmri_model_resolve(name, &o, path, n, &err)) {
        cli_fail(cmd, "%s", err.msg);
        return false;
    }
    return true;
}
