/* cmd_eval.c - `llmr eval`: logits for a list of token ids, for tests and outside checks.
 *
 * Output contract (issue 3): {"n_vocab": N, "logits": [[...], ...]}, one row for the last id,
 * or one per id with --all. Floats are printed with 9 significant digits (round-trips f32).
 */
#include "cli/cli.h"
#include "cli/gen_flags.h"
#include "core/grow.h"
#include "model/model.h"

#include <stdlib.h>
#include <string.h>

/* Parses "1,403,407" into a malloc'd array. */
static int parse_ids(const char *s, int32_t **out, int *n)
{
    size_t cap = 0;
    int k = 0;
    int32_t *ids = NULL;
    const char *p = s;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v > INT32_MAX || (*end && *end != ',')) {
            free(ids);
            return -1;
        }
        if (k == INT32_MAX || !LLMR_GROW(ids, cap, (size_t)k + 1)) {
            free(ids);
            return -1;
        }
        ids[k++] = (int32_t)v;
        p = *end ? end + 1 : end;
    }
    if (!k) {
        free(ids);
        return -1;
    }
    *out = ids;
    *n = k;
    return 0;
}

static void print_row(const float *v, int n)
{
    putchar('[');
    for (int i = 0; i < n; i++)
        printf(i ? ", %.9g" : "%.9g", (double)v[i]);
    putchar(']');
}

int cmd_eval(int argc, char **argv)
{
    const char *model = NULL, *ids_s = NULL;
    bool all = false, json = false;
    long threads = 0, ctx = 0;
    llmr_kv_type kv = LLMR_KV_F32, kv_v = LLMR_KV_SAME;
    bool v_side;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const bool has = i + 1 < argc;
        if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && has)
            model = argv[++i];
        else if (!strcmp(a, "--ids") && has)
            ids_s = argv[++i];
        else if (!strcmp(a, "--all"))
            all = true;
        else if (!strcmp(a, "--json"))
            json = true;
        else if ((!strcmp(a, "-t") || !strcmp(a, "--threads")) && has) {
            if (!cli_parse_threads("eval", a, argv[++i], 1, &threads))
                return CLI_USAGE;
        } else if ((!strcmp(a, "-c") || !strcmp(a, "--ctx")) && has) {
            if (!cli_parse_long(argv[++i], 1, 1 << 24, &ctx))
                return cli_usage_error("eval", "-c wants a context length >= 1");
        } else if (!strcmp(a, "--kv") && has) {   /* both caches */
            if (!cli_parse_kv_type("eval", a, argv[++i], &kv))
                return CLI_USAGE;
            kv_v = LLMR_KV_SAME;
        } else if (cli_is_kv_flag(a, &v_side) && has) {
            if (!cli_parse_kv_type("eval", a, argv[++i], v_side ? &kv_v : &kv))
                return CLI_USAGE;
        } else
            return cli_usage_error("eval", "unexpected argument '%s'", a);
    }
    if (!model || !ids_s)
        return cli_usage_error("eval", "-m MODEL and --ids are required");
    int32_t *ids;
    int n;
    if (parse_ids(ids_s, &ids, &n))
        return cli_usage_error("eval", "--ids wants comma-separated token ids, e.g. 1,403,407");
    llmr_model_opts o = llmr_model_defaults();
    o.n_threads = (int)threads;
    o.kv_type = kv;
    o.kv_type_v = kv_v;
    o.n_ctx = ctx ? (int)ctx : 0;
    llmr_model *m;
    char path[4096];
    if (!cli_model_path("eval", model, path, sizeof path)) {
        free(ids);
        return CLI_BAD_INPUT;
    }
    int rc = llmr_model_open(path, &o, &m);
    if (rc) {
        rc = cli_fail("eval", "%s", llmr_model_errmsg(m));
        llmr_model_close(m);
        free(ids);
        return rc;
    }
    /* Without -c, make room for the ids even when they exceed the default context. */
    llmr_seq *s;
    int n_ctx = ctx ? (int)ctx : (n > llmri_model_n_ctx(m) ? n : 0);
    if ((rc = llmri_seq_new(m, n_ctx, &s))) {
        rc = cli_fail("eval", "%s", llmr_model_errmsg(m));
        llmr_model_close(m);
        free(ids);
        return rc;
    }
    const float *logits;
    rc = llmri_seq_eval(s, ids, n, 0, all, &logits);
    if (rc) {
        rc = cli_fail("eval", "%s", llmri_seq_errmsg(s));
    } else {
        const int nv = llmri_model_n_vocab(m), rows = all ? n : 1;
        if (json) {
            printf("{\"n_vocab\": %d, \"logits\": [", nv);
            for (int r = 0; r < rows; r++) {
                if (r)
                    fputs(", ", stdout);
                print_row(logits + (size_t)r * nv, nv);
            }
            printf("]}\n");
        } else {
            /* human-readable: the 5 largest logits of each row */
            for (int r = 0; r < rows; r++) {
                const float *v = logits + (size_t)r * nv;
                int top[5] = {-1, -1, -1, -1, -1};
                for (int i = 0; i < nv; i++)
                    for (int k = 0; k < 5; k++)
                        if (top[k] < 0 || v[i] > v[top[k]]) {
                            memmove(top + k + 1, top + k, (size_t)(4 - k) * sizeof *top);
                            top[k] = i;
                            break;
                        }
                printf("pos %d (after id %d):", all ? r : n - 1, (int)ids[all ? r : n - 1]);
                for (int k = 0; k < 5 && top[k] >= 0; k++)
                    printf(" %d:%.4f", top[k], (double)v[top[k]]);
                putchar('\n');
            }
        }
        rc = CLI_OK;
    }
    llmri_seq_free(s);
    llmr_model_close(m);
    free(ids);
    return rc;
}
