/* bench_repack.c - one thread, the plain layout's product against the repacked one on the same
 * random weights: multiply-accumulates per second of thread CPU time (so that preemption by
 * other processes does not count), best of 5 per round, the two alternating.
 *
 *   cc -O2 -Isrc -Iinclude bench/bench_repack.c build/libllmr.a -lm -lpthread -o build/bench_repack
 *   build/bench_repack Q4_0 512          # 256 rows of 2048 values x 512 columns (prompt)
 *   build/bench_repack Q8_0 1 65536      # one column over 65536 rows: decode from RAM
 */
#include "repack_case.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    const uint32_t ty = repack_case_type(argc > 1 ? argv[1] : NULL);
    const int K = 2048, C = argc > 2 ? atoi(argv[2]) : 512, R = argc > 3 ? atoi(argv[3]) : 256;
    if (ty == LLMR_TYPE_COUNT || C < 1 || R < 16 || R % 16) {
        fprintf(stderr, "usage: bench_repack Q4_0|Q8_0|IQ4_NL|F16|BF16|Q4_K|Q5_K|Q6_K [COLUMNS] [ROWS, a multiple of 16]\n");
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
    for (int round = 0; round < 3; round++) {
        double best[2] = {1e30, 1e30};
        for (int rep = 0; rep < 5; rep++)
            for (int v = 0; v < 2; v++) {
                const double t0 = cpu_now();
                llmri_matmul_rows(v ? r : p, K, v ? Wr : W, rs, 0, R, X, xs, C, Y, R);
                const double t = cpu_now() - t0;
                best[v] = t < best[v] ? t : best[v];
            }
        const double mac = (double)K * R * C;
        printf("%-6s %s  %d rows x %d columns: plain %6.1f GMAC/s, %s %6.1f GMAC/s (%.2fx)\n",
               p->name, llmri_isa_name(r->isa), R, C, mac / best[0] * 1e-9, r->name,
               mac / best[1] * 1e-9, best[0] / best[1]);
    }
    repack_case_free(&rc);
    return 0;
}
