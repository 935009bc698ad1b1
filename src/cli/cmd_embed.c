/* cmd_embed.c - `llmr embed -m MODEL [options] TEXT...`: the embedding of each TEXT as JSON,
 * all texts in one llmr_embed call (one batch). */
#include "cli/cli.h"
#include "llmr.h"

#include <stdlib.h>
#include <string.h>

static const char *const POOLING[] = {"none", "mean", "cls", "last"};

/* Floats with 9 significant digits: they read back as the same float. */
static void print_vec(const float *v, int n)
{
    putchar('[');
    for (int i = 0; i < n; i++)
        printf(i ? ",%.9g" : "%.9g", (double)v[i]);
    putchar(']');
}

static void print_json(const llmr_embeddings *e)
{
    printf("{\"dim\":%d,\"pooling\":\"%s\",\"n_tokens\":[", e->dim, POOLING[e->pooling]);
    for (size_t i = 0; i < e->n_inputs; i++)
        printf(i ? ",%zu" : "%zu", e->n_tokens[i]);
    printf("],\"embeddings\":[");
    for (size_t i = 0; i < e->n_inputs; i++) {
        fputs(i ? ",\n" : "\n", stdout);
        if (e->pooling != LLMR_POOL_NONE) {
            print_vec(e->vectors[i], e->dim);
            continue;
        }
        putchar('[');   /* one vector per token */
        for (size_t k = 0; k < e->n_vectors[i]; k++) {
            fputs(k ? "," : "", stdout);
            print_vec(e->vectors[i] + k * (size_t)e->dim, e->dim);
        }
        putchar(']');
    }
    printf("]}\n");
}

int cmd_embed(int argc, char **argv)
{
    const char *model = NULL;
    llmr_embed_opts eo = llmr_embed_defaults();
    llmr_model_opts mo = llmr_model_defaults();
    const char **texts = calloc((size_t)argc, sizeof *texts);
    size_t n = 0;
    int rc = CLI_USAGE;
    if (!texts)
        return cli_fail("embed", "out of memory");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const bool has = i + 1 < argc;
        long v;
        if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && has) {
            model = argv[++i];
        } else if (!strcmp(a, "--pooling") && has) {
            const char *p = argv[++i];
            eo.pooling = LLMR_POOL_DEFAULT;
            for (int k = 0; k < 4; k++)
                if (!strcmp(p, POOLING[k]))
                    eo.pooling = (llmr_pooling)k;
            if (eo.pooling == LLMR_POOL_DEFAULT) {
                cli_usage_error("embed", "--pooling wants none, mean, cls or last, not '%s'", p);
                goto out;
            }
        } else if (!strcmp(a, "--no-normalize")) {
            eo.normalize = false;
        } else if (!strcmp(a, "--no-special")) {
            eo.add_special = false;
        } else if ((!strcmp(a, "-t") || !strcmp(a, "--threads")) && has) {
            if (!cli_parse_threads("embed", a, argv[++i], 1, &v))
                goto out;
            mo.n_threads = (int)v;
        } else if ((!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) && has) {
            if (!cli_parse_long(argv[++i], 1, 1 << 24, &v)) {
                cli_usage_error("embed", "%s wants a positive integer", a);
                goto out;
            }
            mo.n_ctx = (int)v;
        } else if (!strcmp(a, "--")) {
            while (++i < argc)
                texts[n++] = argv[i];
        } else if (a[0] == '-' && a[1]) {
            cli_usage_error("embed", "unknown flag %s", a);
            goto out;
        } else {
            texts[n++] = a;
        }
    }
    if (!model || !n) {
        cli_usage_error("embed", "-m MODEL and at least one TEXT are required");
        goto out;
    }
    llmr_model *m = NULL;
    llmr_embeddings *e = NULL;
    llmr_embed_input *in = calloc(n, sizeof *in);
    rc = CLI_BAD_INPUT;
    if (!in) {
        cli_fail("embed", "out of memory");
    } else if (llmr_model_open(model, &mo, &m) != LLMR_OK) {
        cli_fail("embed", "%s", llmr_model_errmsg(m));
    } else {
        for (size_t i = 0; i < n; i++)
            in[i] = (llmr_embed_input){.text = texts[i], .len = strlen(texts[i])};
        if (llmr_embed(m, in, n, &eo, &e) != LLMR_OK) {
            cli_fail("embed", "%s", llmr_embeddings_errmsg(e));
        } else {
            print_json(e);
            rc = CLI_OK;
        }
    }
    llmr_embeddings_free(e);
    llmr_model_close(m);
    free(in);
out:
    free(texts);
    return rc;
}
