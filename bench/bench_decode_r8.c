/* bench_decode_r8.c - one thread, the plain layout's product against the repacked one on the
 * same random weights and columns, as the shortest wall time of many alternating trials: on
 * a shared host the shortest trial is the one least disturbed, for both layouts alike, where
 * a mean (or CPU time, which still counts cache and memory contention) moves with the
 * neighbours. K = 2048.
 *
 *   cc -O2 -Isrc -Iinclude bench/bench_decode_r8.c build/libllmr.a -lm -lpthread -o build/bench_decode_r8
 *   build/bench_decode_r8 Q6_K 64 1        # 64 rows (cache-resident): the kernel's own rate
 *   build/bench_decode_r8 Q4_0 65536 1     # 65536 rows, 75 MB: decode streaming from RAM
 */
#include "kernels/kernels.h"
#include "gguf/gguf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    static const struct { const char *name; uint32_t type; } types[] = {
        {"Q4_0", LLMR_TYPE_Q4_0}, {"Q8_0", LLMR_TYPE_Q8_0}, {"IQ4_NL", LLMR_TYPE_IQ4_NL},
        {"Q4_K", LLMR_TYPE_Q4_K}, {"Q5_K", LLMR_TYPE_Q5_K}, {"Q6_K", LLMR_TYPE_Q6_K}};
    uint32_t ty = LLMR_TYPE_COUNT;
    for (size_t i = 0; argc > 1 && i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(argv[1], types[i].name))
            ty = types[i].type;
    const int K = 2048, R = argc > 2 ? atoi(argv[2]) : 64, C = argc > 3 ? atoi(argv[3]) : 1;
    if (ty == LLMR_TYPE_COUNT || R < 16 || R % 16 || C < 1 || C > 64) {
        fprintf(stderr, "usage: bench_decode_r8 Q4_0|Q8_0|IQ4_NL|Q4_K|Q5_K|Q6_K [ROWS, a multiple "
                        "of 16] [COLUMNS, 1-64]\n");
        return 2;
    }
    const llmr_type_traits *p = llmri_traits(ty), *r = llmri_traits_repacked(ty);
    const llmr_type_traits *px = llmri_traits(p->vec_dot_type);
    if (!r) {
        printf("%s: no repacked layout at this ISA (%s)\n", p->name, llmri_isa_name(p->isa));
        return 0;
    }
    const size_t rs = llmri_row_size(ty, K), xs = llmri_row_size(p->vec_dot_type, K);
    uint8_t *W = malloc(rs * R), *Wr = malloc(rs * R), *X = malloc(xs * C);
    uint8_t *scratch = malloc(rs * r->interleave);
    float *xf = malloc(sizeof(float) * K), *Y = malloc(sizeof(float) * (size_t)R * C);
    if (!W || !Wr || !X || !scratch || !xf || !Y)
        return 1;
    srand(1);
    for (int i = 0; i < R; i++) {
        for (int k = 0; k < K; k++)
            xf[k] = (float)(rand() % 2001 - 1000) / 1000.0f;
        p->from_float(xf, W + (size_t)i * rs, K);
    }
    for (int j = 0; j < C; j++) {
        for (int k = 0; k < K; k++)
            xf[k] = (float)(rand() % 2001 - 1000) / 500.0f;
        px->from_float(xf, X + (size_t)j * xs, K);
    }
    memcpy(Wr, W, rs * R);
    llmri_repack_rows(r, K, Wr, R, scratch);
    /* a trial of a big matrix is one pass (milliseconds); a small one repeats to be timeable */
    const int trials = R > 4096 ? 30 : 200, reps = R > 4096 ? 1 : 20;
    double best[2] = {1e30, 1e30};
    for (int t = 0; t < trials; t++)
        for (int v = 0; v < 2; v++) {
            const double t0 = now();
            for (int i = 0; i < reps; i++)
                llmri_matmul_rows(v ? r : p, K, v ? Wr : W, rs, 0, R, X, xs, C, Y, R);
            const double dt = (now() - t0) / reps;
            best[v] = dt < best[v] ? dt : best[v];
        }
    const double mac = (double)K * R * C, bytes = (double)rs * R;
    printf("%-6s %s %6d rows x %d columns: plain %5.1f GMAC/s (%5.1f GB/s), %s %5.1f GMAC/s "
           "(%5.1f GB/s): %.2fx\n", p->name, llmri_isa_name(r->isa), R, C, mac / best[0] * 1e-9,
           bytes / best[0] * 1e-9, r->name, mac / best[1] * 1e-9, bytes / best[1] * 1e-9,
           best[0] / best[1]);
    free(W);
    free(Wr);
    free(X);
    free(scratch);
    free(xf);
    free(Y);
    return 0;
}
