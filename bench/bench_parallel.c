/* bench_parallel.c - batched generation through the public API: N streams on one model, each
 * pulled by its own thread (as `llmr serve` pulls one per request), decoded together by the
 * model's engine. Prints aggregate tokens per second, decode tokens per second after the first
 * token, and TTFT, the figures bench/server_load.py gives for `llmr serve --parallel N`, so the
 * two can be compared on the same model in the same minutes (bench/README.md, "Batched streams").
 *
 * Every stream has its own prompt (no prefix shared across streams beyond BOS) and generates
 * exactly TOKENS tokens (ignore_eos), greedy.
 *
 * Build (CMake does not build it):
 *   cc -O2 -Iinclude bench/bench_parallel.c build/libllmr.a -lcjson -lutf8proc -lm -lpthread \
 *      -o build/bench_parallel
 * Run: build/bench_parallel MODEL.gguf [STREAMS=8] [TOKENS=64] [THREADS=0] [CTX=512] [ROUNDS=3]
 *   e.g. build/bench_parallel ../shared/models/stories260K.gguf 8 64 2
 */
#include "llmr.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_STREAMS 64

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct client {
    llmr_model *m;
    int         k, tokens;
    double      t0, t_first, t_last;
    uint32_t    generated;
    int         rc;
    char        err[256];
} client;

static const char *SUBJECTS[] = {"a little girl", "a big dog", "a red ball", "the sun",
                                 "a small bird", "an old tree", "a happy cat", "the sea"};

static void *run(void *arg)
{
    client *c = arg;
    char prompt[256];
    snprintf(prompt, sizeof prompt, "Story %d. Once upon a time there was %s, and every day",
             c->k, SUBJECTS[c->k % 8]);
    llmr_gen_opts o = llmr_gen_defaults();
    o.max_tokens = c->tokens;
    o.ignore_eos = true;
    o.sampling.temperature = 0;
    o.max_retries = 0;
    llmr_stream *s;
    c->rc = llmr_stream_open(c->m, prompt, &o, &s);
    llmr_piece p;
    if (c->rc == LLMR_OK)
        while ((c->rc = llmr_stream_next(s, &p)) == LLMR_PIECE)
            if (!c->t_first)
                c->t_first = now();
    c->t_last = now();
    llmr_usage u;
    llmr_stream_usage(s, &u);
    c->generated = u.generated_tokens;
    snprintf(c->err, sizeof c->err, "%s", llmr_stream_errmsg(s));
    llmr_stream_close(s);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One round: n clients start together; figures as server_load.py computes them. */
static int round_of(llmr_model *m, int n, int tokens)
{
    client c[MAX_STREAMS];
    pthread_t th[MAX_STREAMS];
    double t0 = now();
    for (int k = 0; k < n; k++) {
        c[k] = (client){.m = m, .k = k, .tokens = tokens, .t0 = t0};
        pthread_create(&th[k], NULL, run, &c[k]);
    }
    double last = t0, ttft[MAX_STREAMS], dec_tok = 0, first_min = 0;
    uint64_t total = 0;
    for (int k = 0; k < n; k++) {
        pthread_join(th[k], NULL);
        if (c[k].rc != LLMR_DONE) {
            fprintf(stderr, "stream %d: %s\n", k, c[k].err);
            return 1;
        }
        total += c[k].generated;
        last = c[k].t_last > last ? c[k].t_last : last;
        ttft[k] = c[k].t_first - t0;
        first_min = !first_min || c[k].t_first < first_min ? c[k].t_first : first_min;
        dec_tok += c[k].generated - 1;
    }
    qsort(ttft, (size_t)n, sizeof *ttft, cmp_double);
    printf("%2d streams x %d tokens: aggregate %7.1f t/s   decode after first token %7.1f t/s"
           "   TTFT p50 %.3f s  max %.3f s\n", n, tokens, total / (last - t0),
           last > first_min ? dec_tok / (last - first_min) : 0, ttft[n / 2], ttft[n - 1]);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.gguf [STREAMS=8] [TOKENS=64] [THREADS=0] [CTX=512] "
                "[ROUNDS=3]\n", argv[0]);
        return 2;
    }
    int n = argc > 2 ? atoi(argv[2]) : 8;
    int tokens = argc > 3 ? atoi(argv[3]) : 64;
    llmr_model_opts mo = llmr_model_defaults();
    mo.n_threads = argc > 4 ? atoi(argv[4]) : 0;
    mo.n_ctx = argc > 5 ? atoi(argv[5]) : 512;
    int rounds = argc > 6 ? atoi(argv[6]) : 3;
    if (n < 1 || n > MAX_STREAMS || tokens < 1 || rounds < 1) {
        fprintf(stderr, "STREAMS must be 1..%d, TOKENS and ROUNDS at least 1\n", MAX_STREAMS);
        return 2;
    }
    mo.n_parallel = n;                 /* as `llmr serve --parallel N --ctx-size CTX` */
    llmr_model *m;
    if (llmr_model_open(argv[1], &mo, &m) != LLMR_OK) {
        fprintf(stderr, "%s\n", llmr_model_errmsg(m));
        llmr_model_close(m);
        return 1;
    }
    int rc = round_of(m, 1, tokens);   /* warm-up, and the lone stream's speed */
    for (int r = 0; r < rounds && !rc; r++)
        rc = round_of(m, n, tokens);
    llmr_model_close(m);
    return rc;
}
