/* cmd_tensor.c - `llmr tensor MODEL NAME [--sha256] [-n N]`: one tensor's values.
 *
 * --sha256 prints the SHA-256 of the dequantized values as little-endian float32, row-major
 * as stored (the fingerprint in ../shared/fixtures/qfix-dequant-checksums.json). Otherwise
 * prints name, type, shape (ne[0] first, as GGUF stores it) and the first N values. */
#include "cli/cli.h"
#include "gguf/gguf.h"
#include "kernels/tensor.h"

#include <inttypes.h>
#include <string.h>

typedef struct {
    long want, got;
} first_values;

static int print_row(void *user, const float *row, int64_t n)
{
    first_values *fv = user;
    for (int64_t i = 0; i < n && fv->got < fv->want; i++, fv->got++)
        printf("%s%.9g", fv->got ? " " : "", row[i]);
    return fv->got < fv->want ? 0 : 1;    /* stop once enough values are printed */
}

int cmd_tensor(int argc, char **argv)
{
    const char *model = NULL, *name = NULL;
    bool sha = false;
    long n_first = 8;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--sha256")) {
            sha = true;
        } else if (!strcmp(argv[i], "-n")) {
            if (i + 1 >= argc || !cli_parse_long(argv[i + 1], 0, 1000000000, &n_first))
                return cli_usage_error("tensor", "-n needs a count (0 or more)");
            i++;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error("tensor", "unknown flag '%s'", argv[i]);
        } else if (!model) {
            model = argv[i];
        } else if (!name) {
            name = argv[i];
        } else {
            return cli_usage_error("tensor", "unexpected argument '%s'", argv[i]);
        }
    }
    if (!model || !name)
        return cli_usage_error("tensor", "needs MODEL and NAME");

    gguf_file *f = NULL;
    llmr_err err = {0};
    if (gguf_open(model, &f, &err) != LLMR_OK)
        return cli_fail("tensor", "%s", err.msg);
    const gguf_tensor *t = gguf_find_tensor(f, name);
    if (!t) {
        int rc = cli_fail("tensor", "%s: no tensor named '%s' (llmr info --tensors lists them)",
                          model, name);
        gguf_close(f);
        return rc;
    }
    int rc = CLI_OK;
    if (sha) {
        char hex[65];
        if (llmri_tensor_sha256(t, hex, &err) != LLMR_OK)
            rc = cli_fail("tensor", "%s: %s", model, err.msg);
        else
            printf("%s\n", hex);
    } else {
        llmr_type_info ti;
        printf("name: %s\ntype: %s\nshape: [", t->name.ptr,
               llmr_type_get(t->type, &ti) ? ti.name : "?");
        for (uint32_t d = 0; d < t->n_dims; d++)
            printf("%s%" PRId64, d ? ", " : "", t->ne[d]);
        printf("]\nelements: %" PRIu64 "\nbytes: %" PRIu64 "\nfirst: ", t->n_elements, t->nbytes);
        first_values fv = {n_first, 0};
        int r = n_first > 0 ? llmri_tensor_rows(t, print_row, &fv, &err) : 0;
        printf("\n");
        if (r != 0 && r != 1)
            rc = cli_fail("tensor", "%s: %s", model, err.msg);
    }
    gguf_close(f);
    return rc;
}
