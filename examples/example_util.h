/* example_util.h - what the streaming examples share: argument checks, model loading and the
 * time scale. Each example is one section of the seed's streaming guide, in C.
 *
 * LLMR_EXAMPLE_SCALE (default 1) multiplies every wall-clock time an example uses (the
 * controllable stream's 3 s / 6 s / 15 s, retry delays, output pacing), so tests run them fast:
 * LLMR_EXAMPLE_SCALE=0.05 turns 15 s into 0.75 s. LLMR_EXAMPLE_MAX_TOKENS, when set, caps the
 * tokens an example asks for (the guide's 300 or 500), also for quick tests. */
#ifndef LLMR_EXAMPLE_UTIL_H
#define LLMR_EXAMPLE_UTIL_H

#include "llmr.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double example_scale(void)
{
    const char *s = getenv("LLMR_EXAMPLE_SCALE");
    double v = s ? atof(s) : 1.0;
    return v > 0 && v <= 100 ? v : 1.0;
}

/* Sleeps ms milliseconds times the scale. */
static inline void example_sleep_ms(double ms)
{
    double t = ms * example_scale() / 1000.0;
    struct timespec ts = {(time_t)t, (long)((t - (double)(time_t)t) * 1e9)};
    nanosleep(&ts, NULL);
}

static inline double example_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Model options: LLMR_THREADS picks the thread count (default: physical cores). */
static inline llmr_model_opts example_model_opts(void)
{
    llmr_model_opts mo = llmr_model_defaults();
    const char *t = getenv("LLMR_THREADS");
    mo.n_threads = t ? atoi(t) : 0;
    return mo;
}

/* Opens argv[1] as the model, or explains the usage and exits 2. */
static inline llmr_model *example_model(int argc, char **argv, const char *usage_tail)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.gguf%s\n", argv[0], usage_tail ? usage_tail : "");
        exit(2);
    }
    llmr_model_opts mo = example_model_opts();
    llmr_model *m;
    if (llmr_model_open(argv[1], &mo, &m) != LLMR_OK) {
        fprintf(stderr, "cannot load %s: %s\n", argv[1], llmr_model_errmsg(m));
        llmr_model_close(m);
        exit(1);
    }
    return m;
}

/* max_tokens as the guide has it, or LLMR_EXAMPLE_MAX_TOKENS when that is smaller. */
static inline int32_t example_max_tokens(int32_t n)
{
    const char *s = getenv("LLMR_EXAMPLE_MAX_TOKENS");
    int32_t cap = s ? (int32_t)atoi(s) : 0;
    return cap > 0 && cap < n ? cap : n;
}

/* The sampling seed from LLMR_SEED, or a random one. */
static inline uint64_t example_seed(void)
{
    const char *s = getenv("LLMR_SEED");
    return s ? strtoull(s, NULL, 10) : LLMR_SEED_RANDOM;
}

#endif
