/* bench_batch.c - what one mixed batched pass (llmri_seq_eval_mixed) costs, by shape: the
 * server's steps with N decode tokens, with prompt chunks beside them, and prompts alone.
 * Prints seconds per pass (wall and process CPU time) and rows per second.
 *
 *   cc -O2 -Isrc -Iinclude -Ibuild/generated bench/bench_batch.c build/libllmr.a \
 *      -lcjson -lutf8proc -lm -lpthread -o build/bench_batch
 *   build/bench_batch MODEL.gguf [THREADS] [REPS] [ONLY]
 *
 * ONLY: run just the passes whose name contains it (e.g. "8 decodes"), to see where a step's
 * time goes with `perf record`. */
#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define NSEQ 8
#define CTX 512
#define PROMPT 16

/* Each sequence holds PROMPT tokens; a pass adds `dec` decode tokens (sequences 0..dec-1) and
 * `np` prompt chunks of `per` tokens from position 0 (the next np sequences). */
static const char *only;

static void run(llmr_model *m, llmr_seq **seq, const char *name, int dec, int np, int per,
                int reps)
{
    if (only && !strstr(name, only))
        return;
    static int32_t tok[NSEQ][CTX];
    const int nv = llmri_model_n_vocab(m);
    for (int i = 0; i < NSEQ; i++)
        for (int k = 0; k < CTX; k++)
            tok[i][k] = 1 + (i * 31 + k * 17) % (nv - 1);
    double wall = 0, cpu = 0;
    int rows = 0;
    for (int r = -1; r < reps; r++) {   /* r = -1: warm-up */
        llmr_batch_part parts[NSEQ];
        int n = 0, rr = 0;
        for (int i = 0; i < dec; i++) {
            parts[n++] = (llmr_batch_part){seq[i], &tok[i][PROMPT], 1, PROMPT};
            rr++;
        }
        for (int i = dec; i < dec + np && i < NSEQ; i++) {
            parts[n++] = (llmr_batch_part){seq[i], tok[i], per, 0};
            rr += per;
        }
        double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
        if (llmri_seq_eval_mixed(parts, n, NULL, NULL) != LLMR_OK) {
            fprintf(stderr, "eval failed: %s\n", llmri_seq_errmsg(parts[0].seq));
            exit(1);
        }
        if (r >= 0) {
            wall += now(CLOCK_MONOTONIC) - w0;
            cpu += now(CLOCK_PROCESS_CPUTIME_ID) - c0;
            rows = rr;
        }
    }
    printf("| %-34s | %4d | %8.1f | %8.1f | %8.1f |\n", name, rows, 1e3 * wall / reps,
           1e3 * cpu / reps, rows * reps / wall);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_batch MODEL.gguf [THREADS] [REPS]\n");
        return 2;
    }
    llmr_model_opts o = llmr_model_defaults();
    o.n_threads = argc > 2 ? atoi(argv[2]) : 2;
    const int reps = argc > 3 ? atoi(argv[3]) : 5;
    only = argc > 4 ? argv[4] : NULL;
    llmr_model *m;
    if (llmr_model_open(argv[1], &o, &m) != LLMR_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], llmr_model_errmsg(m));
        return 1;
    }
    llmr_seq *seq[NSEQ];
    static int32_t t[PROMPT];
    for (int k = 0; k < PROMPT; k++)
        t[k] = 1 + k * 13;
    for (int i = 0; i < NSEQ; i++) {
        const float *lg;
        if (llmri_seq_new(m, CTX, &seq[i]) || llmri_seq_eval(seq[i], t, PROMPT, 0, false, &lg)) {
            fprintf(stderr, "sequence setup failed\n");
            return 1;
        }
    }
    printf("%d threads, %d passes each after a warm-up, decode tokens at position %d\n\n",
           o.n_threads, reps, PROMPT);
    printf("| pass                               | rows | wall ms  | CPU ms   | rows/s   |\n");
    printf("|------------------------------------|-----:|---------:|---------:|---------:|\n");
    run(m, seq, "1 decode", 1, 0, 0, reps);
    run(m, seq, "4 decodes", 4, 0, 0, reps);
    run(m, seq, "8 decodes", 8, 0, 0, reps);
    run(m, seq, "7 decodes + 1 prompt chunk of 4", 7, 1, 4, reps);
    run(m, seq, "4 decodes + 1 prompt chunk of 8", 4, 1, 8, reps);
    run(m, seq, "1 prompt x 16 tokens", 0, 1, 16, reps);
    run(m, seq, "8 prompts x 16 tokens", 0, 8, 16, reps);
    for (int i = 0; i < NSEQ; i++)
        llmri_seq_free(seq[i]);
    llmr_model_close(m);
    return 0;
}
