/* bench_repack.c - one thread, the plain layout's product against the repacked one on the same
 * random weights: multiply-accumulates per second of thread CPU time (so that preemption by
 * other processes does not count), best of 5 per round, the two alternating.
 *
 *   cc -O2 -Isrc -Iinclude bench/bench_repack.c build/libllmr.a -lm -lpthread -o build/bench_repack
 *   build/bench_repack Q4_0 512          # 256 rows of 2048 values x 512 columns (prompt)
 *   build/bench_repack Q8_0 1 65536      # one column over 65536 rows: decode from RAM
 */
#include "kernels/kernels.h"
#include "gguf/gguf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    static const struct { const char *name; uint32_t type; } types[] = {
        {"Q4_0", LLMR_TYPE_Q4_0}, {"Q8_0", LLMR_TYPE_Q8_0}, {"IQ4_NL", LLMR_TYPE_IQ4_NL},
        {"F16", LLMR_TYPE_F16}, {"Q4_K", LLMR_TYPE_Q4_K}, {"Q5_K", LLMR_TYPE_Q5_K},
        {"Q6_K", LLMR_TYPE_Q6_K}, {"BF16", LLMR_TYPE_BF16}};
    uint32_t ty = LLMR_TYPE_COUNT;
    for (size_t i = 0; argc > 1 && i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(argv[1], types[i].name))
            ty = types[i].type;
    const int K = 2048, C = argc > 2 ? atoi(argv[2]) : 512, R = argc > 3 ? atoi(argv[3]) : 256;
    if (ty == LLMR_TYPE_COUNT || C < 1 || R < 16 || R % 16) {
        fprintf(stderr, "usage: bench_repack Q4_0|Q8_0|IQ4_NL|F16|BF16|Q4_K|Q5_K|Q6_K [COLUMNS] [ROWS, a multiple of 16]\n");
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
        p->from_float ? p->from_float(xf, W + (size_t)i * rs, K)
                      : (void)memset(W + (size_t)i * rs, 0x5a, rs);
    }
    for (int j = 0; j < C; j++) {
        for (int k = 0; k < K; k++)
            xf[k] = (float)(rand() % 2001 - 1000) / 500.0f;
        px->from_float(xf, X + (size_t)j * xs, K);
    }
    memcpy(Wr, W, rs * R);
    llmri_repack_rows(r, K, Wr, R, scratch);
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
    free(W);
    free(Wr);
    free(X);
    free(scratch);
    free(xf);
    free(Y);
    return 0;
}
