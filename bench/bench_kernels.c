/* bench_kernels.c - single-thread kernel micro-benchmark: GB/s of weight bytes streamed
 * through the dot kernels (decode), and GMAC/s of the tiled matrix product (prompt
 * processing), per type and ISA.
 *
 * Build (CMake does not build it; see bench/README.md, section "kernels"):
 *   cc -O2 -Isrc -Iinclude bench/bench_kernels.c build/libllmr.a -lm -lpthread \
 *      -o build/bench_kernels
 * Run: build/bench_kernels [MiB of weights for the streaming test, default 256] [types...]
 */
#include "kernels/kernels.h"
#include "gguf/gguf.h"
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const uint32_t types[] = {LLMR_TYPE_Q4_0, LLMR_TYPE_Q8_0, LLMR_TYPE_Q4_K,
                                 LLMR_TYPE_Q5_K, LLMR_TYPE_Q6_K, LLMR_TYPE_F16,
                                 LLMR_TYPE_BF16, LLMR_TYPE_F32, LLMR_TYPE_Q4_1,
                                 LLMR_TYPE_Q5_0, LLMR_TYPE_Q5_1, LLMR_TYPE_IQ4_NL,
                                 LLMR_TYPE_Q2_K, LLMR_TYPE_Q3_K};

/* Fills `bytes` of blocks of a type with valid data: quantize random floats one row. */
static void fill(const llmr_type_traits *t, uint8_t *w, size_t rows, int K)
{
    const llmr_type_traits *q = llmri_traits_isa(t->type, LLMR_ISA_REF);
    size_t rs = llmri_row_size(t->type, K);
    float *row = malloc(sizeof(float) * K);
    for (int k = 0; k < K; k++)
        row[k] = bench_frand();
    uint8_t *proto = malloc(rs);
    if (q->from_float) {
        q->from_float(row, proto, K);
    } else {   /* no quantizer: random bytes with f16 scales of 0.01 at block start */
        for (size_t i = 0; i < rs; i++)
            proto[i] = (uint8_t)(bench_rng >> (i % 48)) ^ (uint8_t)i;
        for (size_t b = 0; b < rs / t->type_size; b++) {
            uint16_t h = llmri_fp32_to_fp16(0.01f);
            size_t off = t->type == LLMR_TYPE_Q2_K ? 80 : t->type == LLMR_TYPE_Q3_K ? 108 : 0;
            memcpy(proto + b * t->type_size + off, &h, 2);
        }
    }
    for (size_t r = 0; r < rows; r++)   /* distinct rows would not change the timing */
        memcpy(w + r * rs, proto, rs);
    free(proto);
    free(row);
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? (size_t)atoi(argv[1]) : 256;
    const int K = 2048;
    printf("best ISA: %s\n\n", llmri_isa_name(llmri_cpu_best_isa()));
    printf("| type | ISA | decode GB/s (%zu MiB, RAM) | decode GB/s (256 KiB, L2) | vec_dot GB/s (L2) | pp GMAC/s (64x64 tile, L2) |\n",
           mib);
    printf("|---|---|---|---|---|---|\n");
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        if (argc > 2) {
            int want = 0;
            for (int a = 2; a < argc; a++)
                if (!strcmp(argv[a], llmri_traits_isa(types[ti], 0)->name))
                    want = 1;
            if (!want)
                continue;
        }
        for (int isa = 0; isa <= (int)llmri_cpu_best_isa(); isa++) {
            const llmr_type_traits *t = llmri_traits_isa(types[ti], (llmr_isa)isa);
            const llmr_type_traits *tx = llmri_traits_isa(t->vec_dot_type, (llmr_isa)isa);
            size_t rs = llmri_row_size(t->type, K), xs = llmri_row_size(t->vec_dot_type, K);
            size_t rows = (mib << 20) / rs;
            uint8_t *W = aligned_alloc(64, (rows * rs + 63) / 64 * 64);
            fill(t, W, rows, K);
            const int NC = 64;
            uint8_t *X = malloc(xs * NC);
            float *xf = malloc(sizeof(float) * K);
            for (int j = 0; j < NC; j++) {
                for (int k = 0; k < K; k++)
                    xf[k] = bench_frand();
                tx->from_float(xf, X + j * xs, K);
            }
            float *Y = malloc(sizeof(float) * rows * NC);
            /* Each figure is the best of many short runs: the machine is shared, and the
             * minimum is the run nobody preempted. */
            /* decode from RAM: the whole matrix once per pass */
            double best = 1e9;
            int passes = isa == 0 ? 1 : 5;
            for (int p = 0; p < passes; p++) {
                double t0 = bench_now();
                llmri_matmul_rows(t, K, W, rs, 0, (int)rows, X, xs, 1, Y, rows);
                double dt = bench_now() - t0;
                if (dt < best)
                    best = dt;
            }
            double gbs_ram = rows * rs / best / 1e9;
            /* decode from L2: 256 KiB of rows */
            int l2rows = (int)((256 << 10) / rs);
            best = 1e9;
            for (int p = 0; p < (isa == 0 ? 3 : 300); p++) {
                double t0 = bench_now();
                llmri_matmul_rows(t, K, W, rs, 0, l2rows, X, xs, 1, Y, l2rows);
                double dt = bench_now() - t0;
                if (dt < best)
                    best = dt;
            }
            double gbs_l2 = (double)l2rows * rs / best / 1e9;
            /* the same through vec_dot, one row at a time */
            best = 1e9;
            for (int p = 0; p < (isa == 0 ? 3 : 300); p++) {
                double t0 = bench_now();
                for (int r = 0; r < l2rows; r++)
                    t->vec_dot(K, &Y[r], W + (size_t)r * rs, X);
                double dt = bench_now() - t0;
                if (dt < best)
                    best = dt;
            }
            double gbs_vd = (double)l2rows * rs / best / 1e9;
            /* prompt processing: 64 rows x 64 columns (weights and activations in L2) */
            int pr = 64;
            best = 1e9;
            for (int p = 0; p < (isa == 0 ? 1 : 30); p++) {
                double t0 = bench_now();
                llmri_matmul_rows(t, K, W, rs, 0, pr, X, xs, NC, Y, pr);
                double dt = bench_now() - t0;
                if (dt < best)
                    best = dt;
            }
            double gmac = (double)pr * NC * K / best / 1e9;
            printf("| %s | %s | %.1f | %.1f | %.1f | %.1f |\n", t->name,
                   llmri_isa_name((llmr_isa)isa), gbs_ram, gbs_l2, gbs_vd, gmac);
            fflush(stdout);
            free(W);
            free(X);
            free(xf);
            free(Y);
        }
    }
    return 0;
}
