/* cmd_run.c - `llmr run`: generate a continuation of a prompt, streamed to stdout.
 *
 * Options are checked in two steps, both before the model is loaded: the flags' syntax here,
 * the values' ranges by the library (llmr_sampling_validate, the stream's own checks), so the
 * ranges live in one place. Bad flags or values exit 2; bad input (a model or file that cannot
 * be read, a grammar that does not parse, a prompt longer than the context) exits 1, in every
 * case before any text is generated. */
#include "cli/cli.h"
#include "llmr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct run_args {
    const char   *model, *prompt, *grammar_file, *json_schema;
    llmr_gen_opts o;
    int           n_stop;
    long          threads, ctx;
    bool          chat, verbose;
} run_args;

static char *read_file(const char *path, size_t max)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    fclose(f);
    if (!buf || n > max) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* The value of flag argv[*i]; NULL (after a usage message) when it is missing. */
static const char *value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        cli_usage_error("run", "%s needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

#define BAD_NUMBER(flag, v) cli_usage_error("run", "%s: '%s' is not a number", flag, v)

/* Floats: any finite number parses; llmr_sampling_validate judges the range. */
static int float_flag(const char *flag, const char *v, float *out)
{
    double d;
    if (!cli_parse_float(v, -1e30, 1e30, &d))
        return BAD_NUMBER(flag, v);
    *out = (float)d;
    return CLI_OK;
}

static int parse_flag(run_args *a, int argc, char **argv, int *i)
{
    const char *f = argv[*i], *v;
    llmr_sampling *sp = &a->o.sampling;
    long n;
    if (!strcmp(f, "--chat"))
        return a->chat = true, CLI_OK;
    if (!strcmp(f, "--verbose"))
        return a->verbose = true, CLI_OK;
    if (!(v = value(argc, argv, i)))
        return CLI_USAGE;
    if (!strcmp(f, "-m") || !strcmp(f, "--model"))
        a->model = v;
    else if (!strcmp(f, "-n") || !strcmp(f, "--max-tokens")) {
        if (!cli_parse_long(v, -1, LLMR_MAX_GEN_TOKENS, &n))
            return cli_usage_error("run", "-n: '%s' is not a token count in -1..%d (-1: until "
                                   "the context is full)", v, LLMR_MAX_GEN_TOKENS);
        a->o.max_tokens = n < 0 ? 0 : (int32_t)n;
    } else if (!strcmp(f, "--temp"))
        return float_flag(f, v, &sp->temperature);
    else if (!strcmp(f, "--top-k")) {
        if (!cli_parse_long(v, -1000000000L, 1000000000L, &n))
            return BAD_NUMBER(f, v);
        sp->top_k = (int32_t)n;
    } else if (!strcmp(f, "--top-p"))
        return float_flag(f, v, &sp->top_p);
    else if (!strcmp(f, "--min-p"))
        return float_flag(f, v, &sp->min_p);
    else if (!strcmp(f, "--typical"))
        return float_flag(f, v, &sp->typical_p);
    else if (!strcmp(f, "--repeat-penalty"))
        return float_flag(f, v, &sp->repeat_penalty);
    else if (!strcmp(f, "--presence-penalty"))
        return float_flag(f, v, &sp->presence_penalty);
    else if (!strcmp(f, "--frequency-penalty"))
        return float_flag(f, v, &sp->frequency_penalty);
    else if (!strcmp(f, "--seed")) {
        char *end;
        unsigned long long s = strtoull(v, &end, 10);
        if (!*v || *end || *v == '-')
            return cli_usage_error("run", "--seed: '%s' is not a non-negative integer", v);
        sp->seed = s;
    } else if (!strcmp(f, "--stop")) {
        if (a->n_stop == LLMR_MAX_STOP)
            return cli_usage_error("run", "--stop: at most %d stop sequences", LLMR_MAX_STOP);
        a->o.stop[a->n_stop++] = v;
    } else if (!strcmp(f, "--grammar-file"))
        a->grammar_file = v;
    else if (!strcmp(f, "--json-schema"))
        a->json_schema = v;
    else if (!strcmp(f, "-t") || !strcmp(f, "--threads")) {
        if (!cli_parse_long(v, 1, 1024, &a->threads))
            return cli_usage_error("run", "-t: '%s' is not a thread count in 1..1024", v);
    } else if (!strcmp(f, "-c") || !strcmp(f, "--ctx-size")) {
        if (!cli_parse_long(v, 1, 1L << 24, &a->ctx))
            return cli_usage_error("run", "-c: '%s' is not a context size in 1..16777216", v);
    } else
        return cli_usage_error("run", "unknown option %s", f);
    return CLI_OK;
}

static int parse_args(run_args *a, int argc, char **argv)
{
    bool flags = true;                /* until "--": then a prompt may start with '-' */
    for (int i = 1; i < argc; i++) {
        if (flags && !strcmp(argv[i], "--"))
            flags = false;
        else if (flags && argv[i][0] == '-' && argv[i][1] != '\0') {
            int rc = parse_flag(a, argc, argv, &i);
            if (rc != CLI_OK)
                return rc;
        } else if (!a->prompt)
            a->prompt = argv[i];
        else
            return cli_usage_error("run", "unexpected argument '%s' (quote the prompt as one "
                                   "argument)", argv[i]);
    }
    if (!a->model)
        return cli_usage_error("run", "no model: give -m MODEL.gguf");
    if (!a->prompt)
        return cli_usage_error("run", "no prompt given");
    if (a->grammar_file && a->json_schema)
        return cli_usage_error("run", "--grammar-file and --json-schema exclude each other");
    return CLI_OK;
}

/* Reads the grammar file, and the schema when it names a file rather than being JSON; then
 * checks every option as llmr_stream_open will, before the model is loaded. */
static int load_constraint(run_args *a, char **owned)
{
    const char *path = a->grammar_file;
    if (!path && a->json_schema && a->json_schema[strspn(a->json_schema, " \t\r\n")] != '{')
        path = a->json_schema;
    if (path) {
        if (!(*owned = read_file(path, 1 << 20)))
            return cli_fail("run", "%s: cannot read the file (missing, unreadable, or over 1 MiB)",
                            path);
    }
    if (a->grammar_file)
        a->o.sampling.grammar = *owned;
    else if (a->json_schema)
        a->o.sampling.json_schema = *owned ? *owned : a->json_schema;
    char msg[512];
    int rc = llmr_gen_validate(&a->o, msg, sizeof msg);
    if (rc == LLMR_ERR_ARG)
        return cli_usage_error("run", "%s", msg);
    if (rc != LLMR_OK)
        return cli_fail("run", "%s: %s", path ? path : "--json-schema", msg);
    return CLI_OK;
}

static void print_timings(const llmr_usage *u)
{
    fprintf(stderr, "\nprompt: %u tokens (%u from the cache) in %.1f ms, %.1f t/s\n"
                    "generation: %u tokens in %.1f ms, %.1f t/s\n"
                    "time to first token: %.1f ms; finish: %s\n",
            u->prompt_tokens, u->cached_tokens, u->prompt_s * 1e3, u->prompt_tps,
            u->generated_tokens, u->gen_s * 1e3, u->gen_tps, u->ttft_s * 1e3,
            llmr_finish_name(u->finish));
}

/* Loads the model, opens the stream and copies its pieces to stdout as they come. */
static int generate(run_args *a)
{
    llmr_model_opts mo = llmr_model_defaults();
    mo.n_threads = (int)a->threads;
    mo.n_ctx = (int)a->ctx;
    llmr_model *m;
    if (llmr_model_open(a->model, &mo, &m) != LLMR_OK) {
        int rc = cli_fail("run", "%s", llmr_model_errmsg(m));
        llmr_model_close(m);
        return rc;
    }
    char *chat_prompt = NULL;
    const char *prompt = a->prompt;
    if (a->chat) {
        char msg[512];
        llmr_chat_msg user = {"user", a->prompt};
        if (llmr_chat_prompt(m, &user, 1, &chat_prompt, msg, sizeof msg) != LLMR_OK) {
            llmr_model_close(m);
            return cli_fail("run", "--chat: %s", msg);
        }
        prompt = chat_prompt;
        a->o.add_bos = false;     /* the template writes BOS itself when the model wants one */
    }
    llmr_stream *s;
    int rc = llmr_stream_open(m, prompt, &a->o, &s);
    if (rc != LLMR_OK) {
        int exit = rc == LLMR_ERR_ARG ? cli_usage_error("run", "%s", llmr_stream_errmsg(s))
                                      : cli_fail("run", "%s", llmr_stream_errmsg(s));
        llmr_stream_close(s);
        llmr_model_close(m);
        free(chat_prompt);
        return exit;
    }
    llmr_piece p;
    while ((rc = llmr_stream_next(s, &p)) == LLMR_PIECE) {
        fwrite(p.text, 1, p.len, stdout);
        fflush(stdout);
    }
    int exit = CLI_OK;
    if (rc != LLMR_DONE)
        exit = cli_fail("run", "generation failed: %s", llmr_stream_errmsg(s));
    else if (isatty(STDOUT_FILENO))
        fputc('\n', stdout);
    if (a->verbose) {
        llmr_usage u;
        llmr_stream_usage(s, &u);
        print_timings(&u);
    }
    llmr_stream_close(s);
    llmr_model_close(m);
    free(chat_prompt);
    return exit;
}

int cmd_run(int argc, char **argv)
{
    run_args a;
    memset(&a, 0, sizeof a);
    a.o = llmr_gen_defaults();
    int rc = parse_args(&a, argc, argv);
    if (rc != CLI_OK)
        return rc;
    char *constraint = NULL;
    if ((rc = load_constraint(&a, &constraint)) != CLI_OK) {
        free(constraint);
        return rc;
    }
    rc = generate(&a);
    free(constraint);
    return rc;
}
