/* bench_sampler.c - time per sample of the sampling chain and the grammar on a 32k
 * vocabulary (the Llama-2 vocab from ../shared when present) and a 128k one.
 * Build and run: see bench/README.md. Not a test: it prints numbers. */
#include "sampler/sampler.h"
#include "core/util.h"
#include "../tests/sampler/spm_vocab.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU time of this process: the build machine is shared, so wall time would mostly measure
 * the neighbours. The sampler is single-threaded, so this is its compute time. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Logits shaped like a language model's: Gaussian (sd 3) via Box-Muller. */
static void fill_logits(llmr_rng *r, float *l, int32_t n)
{
    for (int32_t i = 0; i < n; i += 2) {
        double u = llmri_rng_uniform(r) + 1e-12, v = llmri_rng_uniform(r);
        double m = sqrt(-2 * log(u)) * 3;
        l[i] = (float)(m * cos(6.283185307179586 * v));
        if (i + 1 < n)
            l[i + 1] = (float)(m * sin(6.283185307179586 * v));
    }
}

#define N_SETS 16

static void bench_chain(const char *name, int32_t n_vocab, llmr_sampling o, int iters)
{
    llmr_sampler *s;
    llmr_err e;
    if (llmri_sampler_create(&s, n_vocab, &o, NULL, NULL, NULL, 0, &e)) {
        fprintf(stderr, "%s: %s\n", name, e.msg);
        return;
    }
    float *l = malloc((size_t)n_vocab * N_SETS * sizeof *l);
    llmr_rng r;
    llmri_rng_seed(&r, 1);
    for (int k = 0; k < N_SETS; k++)
        fill_logits(&r, l + (size_t)k * n_vocab, n_vocab);
    double us = INFINITY;                      /* best of 5 rounds: the machine is shared */
    for (int round = 0; round < 5; round++) {
        double t0 = cpu_now();
        for (int i = 0; i < iters / 5; i++) {
            int32_t t = llmri_sampler_sample(s, l + (size_t)(i % N_SETS) * n_vocab, &e);
            llmri_sampler_accept(s, t, &e);
        }
        us = fmin(us, (cpu_now() - t0) / (iters / 5) * 1e6);
    }
    printf("| %-44s | %7d | %12.1f |\n", name, (int)n_vocab, us);
    free(l);
    llmri_sampler_free(s);
}

static const char SCHEMA[] =
    "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},"
    "\"age\":{\"type\":\"integer\"},\"tags\":{\"type\":\"array\",\"items\":{\"type\":"
    "\"string\"}},\"color\":{\"enum\":[\"red\",\"green\",\"blue\"]}},"
    "\"required\":[\"name\",\"age\",\"color\"]}";

/* Grammar: per sample+accept over whole generations, and the full-mask walk alone. */
static void bench_grammar(const spm_vocab *v, llmr_sampling o, const char *name)
{
    float *l = malloc((size_t)v->n * sizeof *l);
    llmr_rng r;
    llmri_rng_seed(&r, 2);
    o.json_schema = SCHEMA;
    int tokens = 0;
    double t0 = cpu_now();
    for (int run = 0; run < 5; run++) {
        o.seed = (uint64_t)run;
        llmr_sampler *s;
        llmr_err e;
        if (llmri_sampler_create(&s, v->n, &o, NULL, v->tok, &v->eos, 1, &e)) {
            fprintf(stderr, "grammar: %s\n", e.msg);
            exit(1);
        }
        for (int k = 0; k < 300 && !llmri_sampler_grammar_done(s); k++, tokens++) {
            fill_logits(&r, l, v->n);
            int32_t t = llmri_sampler_sample(s, l, &e);
            if (t < 0 || llmri_sampler_accept(s, t, &e) || t == v->eos)
                break;
        }
        llmri_sampler_free(s);
    }
    double us = (cpu_now() - t0) / tokens * 1e6;
    printf("| %-44s | %7d | %12.1f |\n", name, (int)v->n, us);
    free(l);
}

static void bench_mask(const spm_vocab *v, const char *prefix, const char *name)
{
    char *gbnf;
    llmr_err e;
    llmr_grammar *g;
    llmr_gmatch *m;
    if (llmri_json_schema_gbnf(SCHEMA, &gbnf, &e) || llmri_grammar_parse(gbnf, &g, &e) ||
        llmri_gmatch_create(&m, g, v->tok, v->n, &v->eos, 1, &e) ||
        llmri_gmatch_accept_bytes(m, prefix, strlen(prefix), &e)) {
        fprintf(stderr, "mask: %s\n", e.msg);
        exit(1);
    }
    uint8_t *allowed = malloc((size_t)v->n);
    int n = 0;
    double us = INFINITY;                      /* best of 10 */
    for (int i = 0; i < 10; i++) {
        double t0 = cpu_now();
        n = llmri_gmatch_allowed(m, allowed);
        us = fmin(us, (cpu_now() - t0) * 1e6);
    }
    char label[96];
    snprintf(label, sizeof label, "%s (%d allowed)", name, n);
    printf("| %-44s | %7d | %12.1f |\n", label, (int)v->n, us);
    free(allowed);
    free(gbnf);
    llmri_gmatch_free(m);
}

/* Setting up a grammar sampler: parse the schema's grammar and build the vocabulary trie. */
static void bench_create(const spm_vocab *v)
{
    llmr_sampling o = llmr_sampling_defaults();
    o.json_schema = SCHEMA;
    double us = INFINITY;                      /* best of 10 */
    for (int i = 0; i < 10; i++) {
        double t0 = cpu_now();
        llmr_sampler *s;
        llmr_err e;
        if (llmri_sampler_create(&s, v->n, &o, NULL, v->tok, &v->eos, 1, &e)) {
            fprintf(stderr, "create: %s\n", e.msg);
            exit(1);
        }
        llmri_sampler_free(s);
        us = fmin(us, (cpu_now() - t0) * 1e6);
    }
    printf("| %-44s | %7d | %12.1f |\n", "create with a JSON schema (once per stream)",
           (int)v->n, us);
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "../shared/models/llama-2-tiny-random.gguf";
    spm_vocab v;
    bool real = spm_vocab_load(path, &v) == 0;
    printf("vocabulary: %s\n\n", real ? path : "none (grammar rows skipped)");
    printf("| case                                         | n_vocab | CPU us/token |\n");
    printf("|----------------------------------------------|--------:|-------------:|\n");
    llmr_sampling d = llmr_sampling_defaults();
    d.seed = 1;
    llmr_sampling o = d;
    o.temperature = 0;
    bench_chain("greedy (temperature 0)", 32000, o, 2000);
    bench_chain("defaults: top-k 40, top-p .95, min-p .05", 32000, d, 2000);
    o = d;
    o.repeat_penalty = 1.1f;
    o.frequency_penalty = 0.1f;
    o.presence_penalty = 0.1f;
    bench_chain("defaults + penalties over 64", 32000, o, 2000);
    o = d;
    o.top_k = 0;
    bench_chain("top-k off, top-p .95, min-p .05", 32000, o, 500);
    o.min_p = 0;
    bench_chain("top-k off, top-p .95, min-p off (full sort)", 32000, o, 200);
    o = d;
    o.typical_p = 0.9f;
    bench_chain("defaults + typical .9", 32000, o, 2000);
    bench_chain("greedy (temperature 0)", 128256, (llmr_sampling){.temperature = 0,
                .top_p = 1, .typical_p = 1, .repeat_penalty = 1, .min_keep = 1}, 500);
    bench_chain("defaults: top-k 40, top-p .95, min-p .05", 128256, d, 500);
    if (real) {
        bench_grammar(&v, d, "JSON schema, defaults, per sample+accept");
        o = d;
        o.top_k = 0;
        o.top_p = 1;
        o.min_p = 0;
        bench_grammar(&v, o, "JSON schema, no filters, per sample+accept");
        bench_create(&v);
        bench_mask(&v, "", "full mask at the start");
        bench_mask(&v, "{\"name\": \"ab", "full mask inside a string");
        bench_mask(&v, "{\"name\": \"ab\", \"age\": 1", "full mask inside a number");
        spm_vocab_free(&v);
    }
    return 0;
}
