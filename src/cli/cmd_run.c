/* cmd_run.c - `llmr run`: generate a continuation of a prompt, streamed to stdout.
 *
 * Options are checked in two steps, both before the model is loaded: the flags' syntax here,
 * the values' ranges by the library (llmr_sampling_validate, the stream's own checks), so the
 * ranges live in one place. Bad flags or values exit 2; bad input (a model or file that cannot
 * be read, a grammar that does not parse, a prompt longer than the context) exits 1, in every
 * case before any text is generated. */
#include "cli/cli.h"
#include "cli/gen_flags.h"
#include "llmr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct run_args {
    gen_flags   g;               /* -m, -n, sampling, --stop, -t, -c: shared with chat */
    const char *prompt, *grammar_file, *json_schema;
    const char *model_arg;       /* `llmr run NAME PROMPT`, as ollama's run */
    bool        chat, verbose;
} run_args;

static int parse_flag(run_args *a, int argc, char **argv, int *i)
{
    const char *f = argv[*i];
    if (!strcmp(f, "--chat"))
        return a->chat = true, CLI_OK;
    if (!strcmp(f, "--verbose"))
        return a->verbose = true, CLI_OK;
    int rc = gen_flags_parse(&a->g, argc, argv, i);
    if (rc != -1)
        return rc;
    bool grammar = !strcmp(f, "--grammar-file");
    if (!grammar && strcmp(f, "--json-schema"))
        return cli_usage_error("run", "unknown option %s", f);
    if (*i + 1 >= argc)
        return cli_usage_error("run", "%s needs a value", f);
    *(grammar ? &a->grammar_file : &a->json_schema) = argv[++*i];
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
        } else if (!a->prompt) {
            a->prompt = argv[i];
        } else if (!a->g.model && !a->model_arg) {
            /* ollama's `run NAME PROMPT`: two arguments are a model and a prompt */
            a->model_arg = a->prompt;
            a->prompt = argv[i];
        } else {
            return cli_usage_error("run", "unexpected argument '%s' (quote the prompt as one "
                                   "argument)", argv[i]);
        }
    }
    if (!a->prompt)
        return cli_usage_error("run", "no prompt given");
    if (a->model_arg && a->g.model)
        return cli_usage_error("run", "a model both by -m and as an argument ('%s')",
                               a->model_arg);
    if (a->model_arg)
        a->g.model = a->model_arg;
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
        if (!(*owned = cli_read_file(path, 1 << 20, NULL)))
            return cli_fail("run", "%s: cannot read the file (missing, unreadable, or over 1 MiB)",
                            path);
    }
    if (a->grammar_file)
        a->g.o.sampling.grammar = *owned;
    else if (a->json_schema)
        a->g.o.sampling.json_schema = *owned ? *owned : a->json_schema;
    char msg[512];
    int rc = llmr_gen_validate(&a->g.o, msg, sizeof msg);
    if (rc == LLMR_ERR_ARG)
        return cli_usage_error("run", "%s", msg);
    if (rc != LLMR_OK)
        return cli_fail("run", "%s: %s", path ? path : "--json-schema", msg);
    return CLI_OK;
}

static void print_timings(const llmr_usage *u, bool no_gen)
{
    /* with -n 0 the stream never finished, so its rates were not computed */
    const double ptps = u->prompt_s > 0 ? (u->prompt_tokens - u->cached_tokens) / u->prompt_s : 0;
    /* the labels dim and the rates bold, on a terminal without NO_COLOR */
    const char *d = cli_sgr(stderr, "dim"), *b = cli_sgr(stderr, "bold"),
               *r = cli_sgr(stderr, "reset");
    fprintf(stderr, "\n%sprompt:%s %u tokens (%u from the cache) in %.1f ms, %s%.1f t/s%s\n"
                    "%sgeneration:%s %u tokens in %.1f ms, %s%.1f t/s%s\n"
                    "%stime to first token:%s %.1f ms; finish: %s\n",
            d, r, u->prompt_tokens, u->cached_tokens, u->prompt_s * 1e3, b, ptps, r,
            d, r, u->generated_tokens, u->gen_s * 1e3, b, u->gen_tps, r, d, r, u->ttft_s * 1e3,
            no_gen ? "length" : llmr_finish_name(u->finish));
}

/* Loads the model, opens the stream and copies its pieces to stdout as they come. */
static int generate(run_args *a)
{
    llmr_model_opts mo = llmr_model_defaults();
    mo.n_threads = (int)a->g.threads;
    mo.n_ctx = (int)a->g.ctx;
    mo.kv_type = a->g.ctk;
    mo.kv_type_v = a->g.ctv;
    llmr_model *m;
    char path[4096];
    if (!cli_model_path("run", a->g.model, path, sizeof path))
        return CLI_BAD_INPUT;
    if (llmr_model_open(path, &mo, &m) != LLMR_OK) {
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
        a->g.o.add_bos = false;     /* the template writes BOS itself when the model wants one */
    }
    llmr_stream *s;
    int rc = llmr_stream_open(m, prompt, &a->g.o, &s);
    if (rc != LLMR_OK) {
        int exit = rc == LLMR_ERR_ARG ? cli_usage_error("run", "%s", llmr_stream_errmsg(s))
                                      : cli_fail("run", "%s", llmr_stream_errmsg(s));
        llmr_stream_close(s);
        llmr_model_close(m);
        free(chat_prompt);
        return exit;
    }
    /* -n 0, as llama.cpp's: the prompt is evaluated (llmr_stream_open did that, and checked
     * it against the context) and nothing is generated. */
    llmr_piece p;
    rc = a->g.no_gen ? LLMR_DONE : LLMR_PIECE;
    while (rc == LLMR_PIECE && (rc = llmr_stream_next(s, &p)) == LLMR_PIECE) {
        fwrite(p.text, 1, p.len, stdout);
        fflush(stdout);
    }
    int exit = CLI_OK;
    if (rc != LLMR_DONE)
        exit = cli_fail("run", "generation failed: %s", llmr_stream_errmsg(s));
    else if (!a->g.no_gen && isatty(STDOUT_FILENO))
        fputc('\n', stdout);
    if (a->verbose) {
        llmr_usage u;
        llmr_stream_usage(s, &u);
        print_timings(&u, a->g.no_gen);
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
    gen_flags_init(&a.g, "run");
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
