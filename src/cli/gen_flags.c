/* gen_flags.c - generation flags shared by `llmr run` and `llmr chat` (see gen_flags.h).
 *
 * Only the syntax is checked here; ranges are checked by the library (llmr_gen_validate), so
 * they live in one place. */
#include "cli/gen_flags.h"
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gen_flags_init(gen_flags *g, const char *cmd)
{
    memset(g, 0, sizeof *g);
    g->cmd = cmd;
    g->o = llmr_gen_defaults();
    g->ctk = LLMR_KV_F16;
    g->ctv = LLMR_KV_SAME;
}

bool cli_parse_kv_type(const char *cmd, const char *flag, const char *v, llmr_kv_type *out)
{
    if (llmr_kv_type_parse(v, out))
        return true;
    cli_usage_error(cmd, "%s '%s': expected f16, f32, q8_0 or q4_0", flag, v);
    return false;
}

bool cli_is_kv_flag(const char *f, bool *v_side)
{
    *v_side = !strcmp(f, "--cache-type-v") || !strcmp(f, "-ctv");
    return *v_side || !strcmp(f, "--cache-type-k") || !strcmp(f, "-ctk");
}

char *cli_read_file(const char *path, size_t max, size_t *len)
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
    if (len)
        *len = n;
    return buf;
}

typedef enum { K_FLOAT, K_INT, K_SEED, K_MAX } kind;

/* One sampling setting: its flag, its /set name, and where it goes. */
typedef struct setting {
    const char *flag, *name;
    kind        k;
    size_t      off;      /* offset in llmr_sampling (K_FLOAT, K_INT) */
} setting;

#define S(field) offsetof(llmr_sampling, field)
static const setting settings[] = {
    {"--temp", "temp", K_FLOAT, S(temperature)},
    {"--temperature", "temperature", K_FLOAT, S(temperature)},
    {"--top-k", "top_k", K_INT, S(top_k)},
    {"--top-p", "top_p", K_FLOAT, S(top_p)},
    {"--min-p", "min_p", K_FLOAT, S(min_p)},
    {"--typical", "typical", K_FLOAT, S(typical_p)},
    {"--repeat-penalty", "repeat_penalty", K_FLOAT, S(repeat_penalty)},
    {"--repeat-last-n", "repeat_last_n", K_INT, S(penalty_last_n)},
    {"--presence-penalty", "presence_penalty", K_FLOAT, S(presence_penalty)},
    {"--frequency-penalty", "frequency_penalty", K_FLOAT, S(frequency_penalty)},
    {"--seed", "seed", K_SEED, 0},
    {"-n", "max_tokens", K_MAX, 0},
    {"--max-tokens", "num_predict", K_MAX, 0},
};
#undef S

/* Applies `v` to setting `s` in o (and -n 0 to *no_gen); false with a message when v is not
 * a number of its kind. */
static bool apply(llmr_gen_opts *o, bool *no_gen, const setting *s, const char *v, char *err,
                  size_t errlen)
{
    double d;
    long n;
    char *end;
    switch (s->k) {
    case K_FLOAT:
        if (!cli_parse_float(v, -1e30, 1e30, &d))
            break;
        *(float *)((char *)&o->sampling + s->off) = (float)d;
        return true;
    case K_INT:
        if (!cli_parse_long(v, -1000000000L, 1000000000L, &n))
            break;
        *(int32_t *)((char *)&o->sampling + s->off) = (int32_t)n;
        return true;
    case K_SEED: {
        unsigned long long seed = strtoull(v, &end, 10);
        if (!*v || *end || *v == '-')
            break;
        o->sampling.seed = seed;
        return true;
    }
    case K_MAX:
        if (!cli_parse_long(v, -1, LLMR_MAX_GEN_TOKENS, &n)) {
            snprintf(err, errlen, "%s: '%s' is not a token count in -1..%d (0: none, -1: until "
                     "the context is full)", s->flag, v, LLMR_MAX_GEN_TOKENS);
            return false;
        }
        /* The library spells "until the context is full" as max_tokens 0, and has no "none":
         * -n 0 is kept aside for the command to honour (run evaluates the prompt only). */
        *no_gen = n == 0;
        if (n != 0)
            o->max_tokens = n < 0 ? 0 : (int32_t)n;
        return true;
    }
    snprintf(err, errlen, "%s: '%s' is not a number", s->flag, v);
    return false;
}

int gen_flags_parse(gen_flags *g, int argc, char **argv, int *i)
{
    const char *f = argv[*i];
    const setting *s = NULL;
    for (size_t k = 0; k < sizeof settings / sizeof settings[0]; k++)
        if (!strcmp(f, settings[k].flag))
            s = &settings[k];
    bool v_side;
    const bool kv = cli_is_kv_flag(f, &v_side);
    bool other = !strcmp(f, "-m") || !strcmp(f, "--model") || !strcmp(f, "--stop") ||
                 !strcmp(f, "-t") || !strcmp(f, "--threads") || !strcmp(f, "-c") ||
                 !strcmp(f, "--ctx-size") || kv;
    if (!s && !other)
        return -1;
    if (*i + 1 >= argc)
        return cli_usage_error(g->cmd, "%s needs a value", f);
    const char *v = argv[++*i];
    char msg[256];
    if (s)
        return apply(&g->o, &g->no_gen, s, v, msg, sizeof msg) ? CLI_OK
                                                   : cli_usage_error(g->cmd, "%s", msg);
    if (kv) {
        if (!cli_parse_kv_type(g->cmd, f, v, v_side ? &g->ctv : &g->ctk))
            return CLI_USAGE;
    } else if (!strcmp(f, "-m") || !strcmp(f, "--model")) {
        g->model = v;
    } else if (!strcmp(f, "--stop")) {
        if (g->n_stop == LLMR_MAX_STOP)
            return cli_usage_error(g->cmd, "--stop: at most %d stop sequences", LLMR_MAX_STOP);
        g->o.stop[g->n_stop++] = v;
    } else if (!strcmp(f, "-t") || !strcmp(f, "--threads")) {
        if (!cli_parse_threads(g->cmd, f, v, 1, &g->threads))
            return CLI_USAGE;
    } else if (!cli_parse_long(v, 1, 1L << 24, &g->ctx)) {
        return cli_usage_error(g->cmd, "-c: '%s' is not a context size in 1..16777216", v);
    }
    return CLI_OK;
}

int gen_flags_set(gen_flags *g, const char *name, const char *value, char *err, size_t errlen)
{
    char norm[64];
    size_t n = strlen(name);
    if (n >= sizeof norm)
        n = sizeof norm - 1;
    for (size_t k = 0; k < n; k++)
        norm[k] = name[k] == '-' ? '_' : name[k];
    norm[n] = '\0';
    for (size_t k = 0; k < sizeof settings / sizeof settings[0]; k++) {
        if (strcmp(norm, settings[k].name) && strcmp(name, settings[k].flag))
            continue;
        llmr_gen_opts o = g->o;
        bool no_gen = g->no_gen;
        if (!apply(&o, &no_gen, &settings[k], value, err, errlen))
            return LLMR_ERR_ARG;
        if (no_gen) {
            snprintf(err, errlen, "%s 0 would generate no reply: give 1..%d, or -1 for until "
                     "the context is full", name, LLMR_MAX_GEN_TOKENS);
            return LLMR_ERR_ARG;
        }
        if (llmr_gen_validate(&o, err, errlen) != LLMR_OK)
            return LLMR_ERR_ARG;
        g->o = o;
        return LLMR_OK;
    }
    snprintf(err, errlen, "unknown setting '%s' (temp, top_k, top_p, min_p, typical, "
             "repeat_penalty, repeat_last_n, presence_penalty, frequency_penalty, seed, "
             "max_tokens)", name);
    return LLMR_ERR_ARG;
}
