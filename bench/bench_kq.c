/* bench_kq.c - single-thread A/B of the kernels in kernels_kq_avx2.c against the tile
 * kernels they replace, in CPU time (the machine is shared):
 *   - F16 prompt processing: one thread's chunk of rows (as the model splits them) x 512
 *     columns x K, GFLOP/s,
 *     through traits->gemm and through the tile path (the same traits without gemm);
 *   - decode (one column) of the K-quants, Q4_0 and Q8_0 over MiB of rows from RAM, over
 *     192 KiB (L2) and over 16 rows (L1: the kernel's compute rate alone), GB/s of weights
 *     streamed. Repeat it: on the shared VM the L1 rate is bimodal (bench/README.md).
 * Build (CMake does not build it):
 *   cc -O2 -Isrc -Iinclude bench/bench_kq.c build/libllmr.a -lm -lpthread -o build/bench_kq
 * Run: build/bench_kq [MiB of weights for decode, default 256]
 */
#include "kernels/kernels.h"
#include "gguf/gguf.h"
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void fill_rows(const llmr_type_traits *t, uint8_t *w, size_t rows, int K)
{
    const llmr_type_traits *q = llmri_traits_isa(t->type, LLMR_ISA_REF);
    size_t rs = llmri_row_size(t->type, K);
    float *row = malloc(sizeof(float) * K);
    for (size_t r = 0; r < rows && r < 64; r++) {
        for (int k = 0; k < K; k++)
            row[k] = bench_frand() * 0.05f;
        q->from_float(row, w + r * rs, K);
    }
    for (size_t r = 64; r < rows; r++)
        memcpy(w + r * rs, w + (r % 64) * rs, rs);
    free(row);
}

static void pp_f16(int R, int K)
{
    const int N = 512;
    const llmr_type_traits *t = llmri_traits(LLMR_TYPE_F16);
    llmr_type_traits nog = *t;
    nog.gemm = NULL;
    size_t rs = llmri_row_size(LLMR_TYPE_F16, K);
    uint8_t *W = malloc(rs * R), *X = malloc(rs * N);
    float *Y = malloc(sizeof(float) * R * N);
    fill_rows(t, W, R, K);
    fill_rows(t, X, N, K);
    for (int v = 0; v < 2; v++) {
        const llmr_type_traits *tt = v ? t : &nog;
        if (v && !t->gemm)
            continue;
        double best = 1e9;
        for (int p = 0; p < 5; p++) {
            double t0 = bench_now();
            llmri_matmul_rows(tt, K, W, rs, 0, R, X, rs, N, Y, R);
            double dt = bench_now() - t0;
            best = dt < best ? dt : best;
        }
        printf("F16 pp %dx%dx%d %-5s: %.1f GFLOP/s\n", R, N, K, v ? "gemm" : "tile",
               2.0 * R * N * K / best / 1e9);
    }
    free(W);
    free(X);
    free(Y);
}

/* Seconds of one decode product over rows [0, rows), the best of `passes` passes of `iters`
 * products each. */
static double best_decode(const llmr_type_traits *t, int K, const uint8_t *W, size_t rs,
                          int rows, const uint8_t *X, float *Y, int passes, int iters)
{
    double best = 1e9;
    for (int p = 0; p < passes; p++) {
        double t0 = bench_now();
        for (int it = 0; it < iters; it++)
            llmri_matmul_rows(t, K, W, rs, 0, rows, X, 0, 1, Y, rows);
        double dt = (bench_now() - t0) / iters;
        best = dt < best ? dt : best;
    }
    return best;
}

static void decode(uint32_t type, size_t mib)
{
    const int K = 2048;
    for (int isa = 0; isa <= (int)llmri_cpu_best_isa() && isa <= LLMR_ISA_AVX2; isa++) {
        const llmr_type_traits *t = llmri_traits_isa(type, (llmr_isa)isa);
        const llmr_type_traits *tx = llmri_traits_isa(t->vec_dot_type, (llmr_isa)isa);
        size_t rs = llmri_row_size(type, K), rows = (mib << 20) / rs;
        uint8_t *W = malloc(rows * rs), *X = malloc(llmri_row_size(t->vec_dot_type, K));
        float *xf = malloc(sizeof(float) * K), *Y = malloc(sizeof(float) * rows);
        fill_rows(t, W, rows, K);
        for (int k = 0; k < K; k++)
            xf[k] = bench_frand();
        tx->from_float(xf, X, K);
        /* all rows (from RAM), 192 KiB of them (L2), 16 rows (L1: at most 34 KiB here, the
         * kernel's own rate with no memory traffic) */
        const int l2rows = (int)((192 << 10) / rs);
        const double best = best_decode(t, K, W, rs, (int)rows, X, Y, isa ? 5 : 1, 1);
        const double bl2 = best_decode(t, K, W, rs, l2rows, X, Y, isa ? 300 : 3, 1);
        const double bl1 = best_decode(t, K, W, rs, 16, X, Y, isa ? 20 : 1, 200);
        printf("%s decode %-4s: %.1f GB/s from RAM, %.1f GB/s from L2, %.1f GB/s from L1 "
               "(%.2f ns per 256 values)\n", t->name, llmri_isa_name((llmr_isa)isa),
               rows * rs / best / 1e9, l2rows * rs / bl2 / 1e9, 16 * rs / bl1 / 1e9,
               bl1 * 1e9 / (16.0 * K / 256));
        free(W);
        free(X);
        free(xf);
        free(Y);
    }
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? (size_t)atoi(argv[1]) : 256;
    pp_f16(160, 2048);    /* the model's chunks: q/k/v, ffn gate/up, ffn down */
    pp_f16(704, 2048);
    pp_f16(128, 5632);
    decode(LLMR_TYPE_Q4_K, mib);
    decode(LLMR_TYPE_Q6_K, mib);
    decode(LLMR_TYPE_Q4_0, mib);
    decode(LLMR_TYPE_Q8_0, mib);
    return 0;
}
