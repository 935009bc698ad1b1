/* cmd_template.c - `llmr template`: render a chat template with a message list, printing the
 * prompt exactly (no added newline) so that it can be compared byte for byte. */
#include "cli/cli.h"
#include "core/buf.h"
#include "llmr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The whole file, NUL-terminated; NULL with *why set when it cannot be read. */
static char *read_file(const char *path, const char **why)
{
    llmr_buf b = {.limit = (size_t)256 << 20};
    int rc = llmri_buf_read_path(&b, path);
    if (rc == LLMR_OK)
        return llmri_buf_take(&b);
    llmri_buf_free(&b);
    *why = rc == LLMR_ERR_TOO_BIG ? "larger than 256 MiB"
         : rc == LLMR_ERR_NOMEM   ? "out of memory"
                                  : strerror(errno);
    return NULL;
}

int cmd_template(int argc, char **argv)
{
    const char *tfile = NULL, *mfile = NULL;
    llmr_template_opts o = llmr_template_defaults();
    o.add_generation_prompt = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if (!strcmp(a, "--add-generation-prompt"))
            o.add_generation_prompt = true;
        else if (!strcmp(a, "--template-file") && has_val)
            tfile = argv[++i];
        else if (!strcmp(a, "--messages") && has_val)
            mfile = argv[++i];
        else if (!strcmp(a, "--bos") && has_val)
            o.bos_token = argv[++i];
        else if (!strcmp(a, "--eos") && has_val)
            o.eos_token = argv[++i];
        else if (!strcmp(a, "--date") && has_val)
            o.date = argv[++i];
        else if (!strcmp(a, "--template-file") || !strcmp(a, "--messages") || !strcmp(a, "--bos")
                 || !strcmp(a, "--eos") || !strcmp(a, "--date"))
            return cli_usage_error("template", "%s needs a value", a);
        else
            return cli_usage_error("template", "unknown argument '%s'", a);
    }
    if (!tfile || !mfile)
        return cli_usage_error("template", "--template-file and --messages are required");
    if (o.date) {
        int y, m, d;
        char tail;
        if (sscanf(o.date, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 || d < 1
            || d > 31)
            return cli_usage_error("template", "--date '%s': expected YYYY-MM-DD", o.date);
    }
    const char *why = NULL;
    char *src = read_file(tfile, &why);
    if (!src)
        return cli_fail("template", "%s: %s", tfile, why);
    char *msgs = read_file(mfile, &why);
    if (!msgs) {
        free(src);
        return cli_fail("template", "%s: %s", mfile, why);
    }
    llmr_template *t = NULL;
    char *out = NULL;
    size_t len = 0;
    int rc = llmr_template_open(src, &t);
    if (rc == LLMR_OK)
        rc = llmr_template_render_json(t, msgs, &o, &out, &len);
    int status = CLI_OK;
    if (rc != LLMR_OK) {
        status = cli_fail("template", "%s: %s", rc == LLMR_ERR_FORMAT ? mfile : tfile,
                          t ? llmr_template_errmsg(t) : llmr_strerror(rc));
    } else if (fwrite(out, 1, len, stdout) != len || fflush(stdout) != 0) {
        status = cli_fail("template", "cannot write the prompt to stdout");
    }
    free(out);
    llmr_template_close(t);
    free(msgs);
    free(src);
    return status;
}
