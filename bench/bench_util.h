/* bench_util.h - what the single-thread kernel benchmarks (bench_kernels.c, bench_kq.c)
 * share: a CPU-time clock and a reproducible random source. Header-only, because CMake does
 * not build the benchmarks (each is one cc command, see its first comment). */
#ifndef LLMR_BENCH_UTIL_H
#define LLMR_BENCH_UTIL_H

#include <stdint.h>
#include <time.h>

/* This thread's CPU time in seconds: immune to preemption on a shared machine. */
static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* xorshift64 state, seeded so that runs are comparable. */
static uint64_t bench_rng = 88172645463325252ull;

/* A uniform float in [-1, 1). */
static inline float bench_frand(void)
{
    bench_rng ^= bench_rng << 13;
    bench_rng ^= bench_rng >> 7;
    bench_rng ^= bench_rng << 17;
    return (float)((bench_rng >> 40) / 8388608.0 - 1.0);
}

#endif
