/* cmd_serve.c - `llmr serve`: the HTTP server (see the server section of llmr.h).
 *
 * SIGINT and SIGTERM are blocked in every thread before the server starts its threads, and
 * the main thread waits for them with sigwait(): the shutdown then runs in ordinary code, not
 * in a signal handler. */
#include "cli/cli.h"
#include "cli/gen_flags.h"
#include "llmr.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool flag_value(int argc, char **argv, int *i, const char *name, const char **out)
{
    if (strcmp(argv[*i], name))
        return false;
    if (*i + 1 >= argc) {
        cli_usage_error("serve", "%s needs a value", name);
        *out = NULL;
        return true;
    }
    *out = argv[++*i];
    return true;
}

/* The browser package of the source tree llmr was built from (CMakeLists.txt), when
 * scripts/build-wasm.sh has made it: a build serves its own tree's files. */
static const char *default_browser_dir(void)
{
#ifdef LLMR_BROWSER_DIR
    struct stat st;
    if (stat(LLMR_BROWSER_DIR "/browser.js", &st) == 0 && S_ISREG(st.st_mode))
        return LLMR_BROWSER_DIR;
#endif
    return NULL;
}

int cmd_serve(int argc, char **argv)
{
    llmr_server_opts o = llmr_server_defaults();
    const char *model = NULL, *config = NULL, *browser = NULL, *v;
    long n;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
#define NUM(flag, lo, hi, field)                                                             \
    if (flag_value(argc, argv, &i, flag, &v)) {                                             \
        if (!v)                                                                             \
            return CLI_USAGE;                                                               \
        if (!cli_parse_long(v, lo, hi, &n))                                                 \
            return cli_usage_error("serve", "%s %s: expected an integer from %ld to %ld",  \
                                   flag, v, (long)(lo), (long)(hi));                        \
        o.field = (int)n;                                                                   \
        continue;                                                                           \
    }
#define STR(flag, dst)                                                                       \
    if (flag_value(argc, argv, &i, flag, &v)) {                                             \
        if (!v)                                                                             \
            return CLI_USAGE;                                                               \
        dst = v;                                                                            \
        continue;                                                                           \
    }
        STR("--config", config)
        STR("-m", model)
        STR("--model", model)
        STR("--host", o.host)
        STR("--api-key", o.api_key)
        STR("--metrics-key", o.metrics_key)
        STR("--cors", o.cors_origin)
        STR("--alias", o.alias)
        STR("--models-dir", o.models_dir)
        STR("--browser-dir", browser)
        NUM("--port", 0, 65535, port)
        NUM("--parallel", 1, 64, parallel)
        NUM("-np", 1, 64, parallel)
        NUM("--ctx-size", 16, 1 << 20, ctx_size)
        NUM("-c", 16, 1 << 20, ctx_size)
        if (flag_value(argc, argv, &i, "-t", &v) || flag_value(argc, argv, &i, "--threads", &v)) {
            if (!v || !cli_parse_threads("serve", a, v, 0, &n))
                return CLI_USAGE;
            o.n_threads = (int)n;
            continue;
        }
        bool v_side;
        if (cli_is_kv_flag(a, &v_side)) {
            if (!flag_value(argc, argv, &i, a, &v) || !v ||
                !cli_parse_kv_type("serve", a, v, v_side ? &o.cache_type_v : &o.cache_type_k))
                return CLI_USAGE;
            continue;
        }
        NUM("--max-tokens", 1, 1 << 20, max_tokens)
        NUM("--max-prompt", 0, 1 << 20, max_prompt)
        NUM("--timeout", 0, 86400, timeout_s)
        NUM("--queue", 0, 4096, queue_size)
        NUM("--shutdown-timeout", 0, 3600, shutdown_s)
        NUM("--read-timeout", 1, 3600, read_timeout_s)
        NUM("--ws-idle", 1, 86400, ws_idle_s)
        NUM("--max-conns-per-addr", 0, 100000, max_conns_per_addr)
        if (flag_value(argc, argv, &i, "--max-body", &v)) {
            if (!v)
                return CLI_USAGE;
            if (!cli_parse_long(v, 64, 1L << 30, &n))
                return cli_usage_error("serve", "--max-body %s: expected bytes from 64 to %ld", v,
                                       1L << 30);
            o.max_body = (size_t)n;
            continue;
        }
        if (!strcmp(a, "--no-log")) {
            o.access_log = false;
            continue;
        }
        return cli_usage_error("serve", "unknown argument '%s'", a);
#undef NUM
#undef STR
    }
    if (model && config)
        return cli_usage_error("serve", "give -m MODEL.gguf or --config FILE, not both");
    if (!model && !config)
        return cli_usage_error("serve", "no model: give -m MODEL.gguf or --config FILE");
    if (config && (o.alias || o.models_dir))
        return cli_usage_error("serve", "%s applies to -m only (a config names its models)",
                               o.alias ? "--alias" : "--models-dir");
    o.browser_dir = browser ? (browser[0] ? browser : NULL) : default_browser_dir();
    /* The config is read (and preloads done) before anything listens, so a bad config
     * fails here, with the key named, and no port is taken. */
    llmr_router *router = NULL;
    if (config && llmr_router_open(config, &router) != LLMR_OK) {
        fprintf(stderr, "llmr serve: %s\n", llmr_router_errmsg(router));
        llmr_router_close(router);
        return CLI_USAGE;
    }

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    char path[4096];
    if (model && !cli_model_path("serve", model, path, sizeof path))
        return CLI_BAD_INPUT;
    if (model)
        model = path;        /* a name, alias or URL: the file it names */
    llmr_server *s = NULL;
    int rc = config ? llmr_server_open_router(router, &o, &s) : llmr_server_open(model, &o, &s);
    if (rc != LLMR_OK) {
        int r = cli_fail("serve", "%s", llmr_server_errmsg(s));
        llmr_server_close(s);
        return r;
    }
    fprintf(stderr, "llmr serve: listening on http://%s%s%s:%d/ (OpenAI /v1, ollama /api, "
                    "WebSocket /ws, web page /); %s %s\n",
            strchr(o.host, ':') ? "[" : "", o.host, strchr(o.host, ':') ? "]" : "",
            llmr_server_port(s), config ? "models of" : "loading", config ? config : model);
    fflush(stderr);
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "llmr serve: %s: shutting down (in-flight requests get %ds)\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM", o.shutdown_s);
    llmr_server_shutdown(s);
    llmr_server_close(s);
    fprintf(stderr, "llmr serve: stopped\n");
    return CLI_OK;
}
