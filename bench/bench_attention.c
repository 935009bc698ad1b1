/* bench_attention.c - the tiled attention alone (llmri_attn_task), one thread, CPU time: what
 * one decode step (or a 512-row prompt chunk) spends in attention at a given depth, for a
 * model shape, per cache type. The cache is filled with random values; nothing else runs.
 *
 *   cc -O2 -Isrc -Iinclude bench/bench_attention.c build/libllmr.a -lm -lpthread \
 *      -o build/bench_attention
 *   build/bench_attention [DEPTH...]          (default 0 1024 4096)
 *   env ATT_TYPE=f16 (one cache type only), ATT_DECODE_ONLY=1 (skip the prompt chunk),
 *       ATT_HOT=1 (one layer's cache serves all 22: the kernels without the memory reads)
 *
 * Shape: TinyLlama 1.1B (22 layers, 32 query heads, 4 KV heads, head_dim 64). The figure is
 * the time for all 22 layers x 4 KV heads, i.e. one token's attention on one thread.
 */
#include "gguf/gguf.h"
#include "model/attn_kern.h"
#include "model/forward.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LAYERS 22
#define NKV 4
#define GROUP 8
#define HD 64

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double run(uint32_t type, int depth, int rows, int reps)
{
    const llmr_type_traits *tk = llmri_traits(type);
    const int npos = depth + rows;
    const size_t kvd = (size_t)NKV * HD, row = llmri_row_size(type, (int64_t)kvd);
    const size_t hrow = llmri_row_size(type, HD);   /* the cache is head-major (kv_cache.c) */
    /* one cache per layer, as a real model's: decode streams them all from memory */
    uint8_t **K = malloc(LAYERS * sizeof *K), **V = malloc(LAYERS * sizeof *V);
    float *x = malloc(kvd * sizeof(float));
    const int nl = getenv("ATT_HOT") ? 1 : LAYERS;
    for (int l = 0; l < nl; l++) {
        K[l] = malloc((size_t)npos * row);
        V[l] = malloc((size_t)npos * row);
        for (int i = 0; i < npos; i++) {
            for (size_t d = 0; d < kvd; d++)
                x[d] = (float)rand() / RAND_MAX - 0.5f;
            for (int g = 0; g < NKV; g++) {
                tk->from_float(x + g * HD, K[l] + ((size_t)g * npos + i) * hrow, HD);
                tk->from_float(x + g * HD, V[l] + ((size_t)g * npos + i) * hrow, HD);
            }
        }
    }
    const size_t qn = (size_t)rows * NKV * GROUP * HD;
    float *qf = malloc(qn * sizeof(float)), *out = malloc(qn * sizeof(float));
    for (size_t i = 0; i < qn; i++)
        qf[i] = (float)rand() / RAND_MAX - 0.5f;
    llmr_hparams hp = {.n_head = NKV * GROUP, .n_head_kv = NKV, .head_dim = HD};
    void *scr = malloc(llmri_att_scratch_bytes(&hp));
    const llmr_attn_kernels *kn = llmri_attn_kernels();
    const int T = llmri_att_cols(&hp) / GROUP;
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        const double t0 = cpu_now();
        for (int l = 0; l < LAYERS; l++)
            for (int g = 0; g < NKV; g++)
                for (int j0 = 0; j0 < rows; j0 += T) {
                    const int n = rows - j0 < T ? rows - j0 : T;
                    const size_t qrow = (size_t)NKV * GROUP * HD;
                    llmr_att_task t = {
                        .type_k = (int)type, .type_v = (int)type, .hd = HD, .group = GROUP,
                        .cols_cap = llmri_att_cols(&hp),
                        .k = K[l % nl] + (size_t)g * npos * hrow, .k_row = hrow,
                        .v = V[l % nl] + (size_t)g * npos * hrow, .v_row = hrow,
                        .q = qf + (size_t)j0 * qrow + (size_t)g * GROUP * HD, .q_stride = qrow,
                        .n_rows = n, .pos = depth + j0, .scale = 0.125f,
                        .out = out + ((size_t)j0 * NKV * GROUP + (size_t)g * GROUP) * HD,
                        .out_stride = (size_t)NKV * GROUP * HD};
                    llmri_attn_task(&t, kn, scr);
                }
        const double dt = cpu_now() - t0;
        best = dt < best ? dt : best;
    }
    for (int l = 0; l < nl; l++)
        free(K[l]), free(V[l]);
    free(K); free(V); free(x); free(qf); free(out); free(scr);
    return best;
}

int main(int argc, char **argv)
{
    int depths[16] = {0, 1024, 4096}, nd = 3;
    if (argc > 1)
        for (nd = 0; nd < argc - 1 && nd < 16; nd++)
            depths[nd] = atoi(argv[nd + 1]);
    const uint32_t types[] = {LLMR_TYPE_F16, LLMR_TYPE_Q8_0, LLMR_TYPE_Q4_0, LLMR_TYPE_F32};
    const char *names[] = {"f16", "q8_0", "q4_0", "f32"};
    printf("| cache | depth | decode: ms per token (1 thread) | pp512 chunk: ms per token |\n");
    printf("|---|---:|---:|---:|\n");
    for (int d = 0; d < nd; d++)
        for (int t = 0; t < 4; t++) {
            if (getenv("ATT_TYPE") && strcmp(getenv("ATT_TYPE"), names[t]))
                continue;
            const double dec = run(types[t], depths[d], 1, 20);
            const double pp =
                getenv("ATT_DECODE_ONLY") ? 0 : run(types[t], depths[d], 512, 2) / 512;
            printf("| %s | %d | %.3f | %.3f |\n", names[t], depths[d], dec * 1e3, pp * 1e3);
            fflush(stdout);
        }
    return 0;
}
