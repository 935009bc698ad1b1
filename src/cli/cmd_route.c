/* cmd_route.c - `llmr route --config FILE [--explain] [options] "PROMPT"`: routes a prompt
 * through a router config. With --explain it prints the ranking and why; otherwise it streams
 * the answer on stdout and names the model that answered on stderr. --status prints every
 * model's state as JSON. */
#include "cli/cli.h"
#include "llmr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct route_args {
    const char *config, *prompt;
    bool explain, status, quiet;
    llmr_route_opts ro;
    llmr_gen_opts o;
    int n_stop;
} route_args;

static int parse(route_args *a, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        bool has_val = i + 1 < argc;
        long lv;
        double dv;
        if (!strcmp(f, "--config") || !strcmp(f, "-c")) {
            if (!has_val)
                return cli_usage_error("route", "%s needs a file", f);
            a->config = argv[++i];
        } else if (!strcmp(f, "--explain")) {
            a->explain = true;
        } else if (!strcmp(f, "--status")) {
            a->status = true;
        } else if (!strcmp(f, "--quiet") || !strcmp(f, "-q")) {
            a->quiet = true;
        } else if (!strcmp(f, "--strategy") || !strcmp(f, "-s")) {
            if (!has_val)
                return cli_usage_error("route", "%s needs a name", f);
            a->ro.strategy = argv[++i];
        } else if (!strcmp(f, "--model") || !strcmp(f, "-m")) {
            if (!has_val)
                return cli_usage_error("route", "%s needs a model id", f);
            a->ro.model = argv[++i];
        } else if (!strcmp(f, "--strict")) {
            a->ro.strict = true;
        } else if (!strcmp(f, "--chat")) {
            a->ro.chat = true;
        } else if (!strcmp(f, "--json")) {
            a->ro.json = true;
            a->o.sampling.json_object = true;
        } else if (!strcmp(f, "--min-context")) {
            if (!has_val || !cli_parse_long(argv[++i], 1, 16777216, &lv))
                return cli_usage_error("route", "--min-context needs a number 1..16777216");
            a->ro.min_context = (uint32_t)lv;
        } else if (!strcmp(f, "--no-cache")) {
            a->ro.cache = -1;
        } else if (!strcmp(f, "--cache")) {
            a->ro.cache = 1;
        } else if (!strcmp(f, "-n") || !strcmp(f, "--max-tokens")) {
            /* as `llmr run -n`: -1 is until the context is full (the library's 0); 0, no
             * generation at all, has no use here */
            if (!has_val || !cli_parse_long(argv[++i], -1, LLMR_MAX_GEN_TOKENS, &lv) || lv == 0)
                return cli_usage_error("route", "%s needs a token count 1..%d, or -1 for until "
                                       "the context is full", f, LLMR_MAX_GEN_TOKENS);
            a->o.max_tokens = lv < 0 ? 0 : (int32_t)lv;
        } else if (!strcmp(f, "--temp")) {
            if (!has_val || !cli_parse_float(argv[++i], 0, 100, &dv))
                return cli_usage_error("route", "--temp needs a number 0..100");
            a->o.sampling.temperature = (float)dv;
        } else if (!strcmp(f, "--seed")) {
            if (!has_val || !cli_parse_long(argv[++i], 0, __LONG_MAX__, &lv))
                return cli_usage_error("route", "--seed needs a non-negative number");
            a->o.sampling.seed = (uint64_t)lv;
        } else if (!strcmp(f, "--stop")) {
            if (!has_val || a->n_stop >= LLMR_MAX_STOP)
                return cli_usage_error("route", "--stop needs text (at most %d)", LLMR_MAX_STOP);
            a->o.stop[a->n_stop++] = argv[++i];
        } else if (f[0] == '-' && f[1]) {
            return cli_usage_error("route", "unknown flag '%s'", f);
        } else if (a->prompt) {
            return cli_usage_error("route", "one PROMPT only (quote it)");
        } else {
            a->prompt = f;
        }
    }
    if (!a->config)
        return cli_usage_error("route", "--config FILE is required");
    if (!a->prompt && !a->status)
        return cli_usage_error("route", "no PROMPT given");
    return CLI_OK;
}

static int run_stream(llmr_router *r, route_args *a)
{
    llmr_stream *s = NULL;
    int rc = llmr_router_stream_open(r, a->prompt, &a->ro, &a->o, &s);
    char model[160] = "?";
    if (rc == LLMR_OK)
        llmr_router_stream_model(r, s, model, sizeof model);
    llmr_piece p;
    while (rc == LLMR_OK || rc == LLMR_PIECE) {
        if ((rc = llmr_stream_next(s, &p)) != LLMR_PIECE)
            break;
        fwrite(p.text, 1, p.len, stdout);
        fflush(stdout);
        llmr_router_stream_model(r, s, model, sizeof model);   /* failover may change it */
    }
    int status = CLI_OK;
    if (rc != LLMR_DONE) {
        status = cli_fail("route", "%s", s ? llmr_stream_errmsg(s) : llmr_router_errmsg(r));
    } else {
        fputc('\n', stdout);
        if (!a->quiet)
            fprintf(stderr, "[answered by %s]\n", model);
    }
    llmr_stream_close(s);
    return status;
}

int cmd_route(int argc, char **argv)
{
    route_args a;
    memset(&a, 0, sizeof a);
    a.ro = llmr_route_defaults();
    a.o = llmr_gen_defaults();
    int rc = parse(&a, argc, argv);
    if (rc)
        return rc;
    llmr_router *r = NULL;
    if (llmr_router_open(a.config, &r) != LLMR_OK) {
        int st = cli_fail("route", "%s", llmr_router_errmsg(r));
        llmr_router_close(r);
        return st;
    }
    int status = CLI_OK;
    if (a.status) {
        char *js = NULL;
        if (llmr_router_status_json(r, &js) == LLMR_OK)
            puts(js);
        free(js);
    } else if (a.explain) {
        char *text = NULL;
        if (llmr_router_explain(r, a.prompt, &a.ro, &a.o, &text) == LLMR_OK)
            fputs(text, stdout);
        else
            status = cli_fail("route", "%s", llmr_router_errmsg(r));
        free(text);
    } else {
        status = run_stream(r, &a);
    }
    llmr_router_close(r);
    return status;
}
