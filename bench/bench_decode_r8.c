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
#include "repack_case.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    const uint32_t ty = repack_case_type(argc > 1 ? argv[1] : NULL);
    const int K = 2048, R = argc > 2 ? atoi(argv[2]) : 64, C = argc > 3 ? atoi(argv[3]) : 1;
    if (ty == LLMR_TYPE_COUNT || R < 16 || R % 16 || C < 1 || C > 64) {
        fprintf(stderr, "usage: bench_decode_r8 Q4_0|Q8_0|IQ4_NL|Q4_K|Q5_K|Q6_K [ROWS, a multiple "
                        "of 16] [COLUMNS, 1-64]\n");
        return 2;
    }
    repack_case rc;
    const int made = repack_case_make(&rc, ty, K, R, C);
    if (made <= 0)
        return made < 0;   /* 0: no layout here, nothing to measure */
    const llmr_type_traits *p = rc.p, *r = rc.r;
    const size_t rs = rc.rs, xs = rc.xs;
    uint8_t *W = rc.W, *Wr = rc.Wr, *X = rc.X;
    float *Y = rc.Y;
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
    repack_case_free(&rc);
    return 0;
}
