/* bench_membw.c - the decode ceiling: how fast T threads can stream-read memory on this
 * machine (AVX2 loads, no compute), in GB/s, best of several passes over a buffer far larger
 * than the caches. Decode reads every weight byte once per token, so for a model of S bytes
 * no engine can exceed (this figure / S) tokens per second.
 *
 * Build (CMake does not build it; see bench/README.md):
 *   cc -O2 -mavx2 bench/bench_membw.c -o build/bench_membw -lpthread
 * Run: build/bench_membw [threads, default 2] [MiB, default 1024] [passes, default 5]
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const uint8_t *p;
    size_t n;
    pthread_barrier_t *start;
    uint32_t sink;
    double t0, t1;   /* timed by the reader itself: the caller may not run meanwhile */
} part;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Four independent accumulators so that the loads, not an add chain, set the pace. */
static void *reader(void *arg)
{
    part *pt = arg;
    pthread_barrier_wait(pt->start);
    pt->t0 = now();
    __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
    for (size_t i = 0; i + 128 <= pt->n; i += 128) {
        a = _mm256_add_epi32(a, _mm256_load_si256((const __m256i *)(pt->p + i)));
        b = _mm256_add_epi32(b, _mm256_load_si256((const __m256i *)(pt->p + i + 32)));
        c = _mm256_add_epi32(c, _mm256_load_si256((const __m256i *)(pt->p + i + 64)));
        d = _mm256_add_epi32(d, _mm256_load_si256((const __m256i *)(pt->p + i + 96)));
    }
    a = _mm256_add_epi32(_mm256_add_epi32(a, b), _mm256_add_epi32(c, d));
    pt->sink = (uint32_t)_mm256_extract_epi32(a, 0);
    pt->t1 = now();
    return NULL;
}

int main(int argc, char **argv)
{
    int nth = argc > 1 ? atoi(argv[1]) : 2;
    size_t mib = argc > 2 ? (size_t)atol(argv[2]) : 1024;
    int passes = argc > 3 ? atoi(argv[3]) : 5;
    if (nth < 1 || nth > 256 || mib < 64 || passes < 1) {
        fprintf(stderr, "usage: bench_membw [threads 1-256] [MiB >= 64] [passes >= 1]\n");
        return 2;
    }
    size_t bytes = mib << 20;
    uint8_t *buf = aligned_alloc(4096, bytes);
    if (!buf) {
        fprintf(stderr, "bench_membw: cannot allocate %zu MiB\n", mib);
        return 1;
    }
    memset(buf, 1, bytes);   /* fault every page in before timing */
    pthread_t *tid = malloc(sizeof *tid * (size_t)nth);
    part *pt = malloc(sizeof *pt * (size_t)nth);
    double best = 1e30;
    uint32_t sink = 0;
    for (int p = 0; p < passes; p++) {
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, (unsigned)nth + 1);
        size_t per = bytes / (size_t)nth / 128 * 128;
        for (int t = 0; t < nth; t++) {
            pt[t] = (part){buf + (size_t)t * per, per, &start, 0, 0, 0};
            pthread_create(&tid[t], NULL, reader, &pt[t]);
        }
        pthread_barrier_wait(&start);
        double t0 = 1e300, t1 = 0;
        for (int t = 0; t < nth; t++) {
            pthread_join(tid[t], NULL);
            sink += pt[t].sink;
            t0 = pt[t].t0 < t0 ? pt[t].t0 : t0;
            t1 = pt[t].t1 > t1 ? pt[t].t1 : t1;
        }
        double dt = t1 - t0;
        best = dt < best ? dt : best;
        pthread_barrier_destroy(&start);
    }
    printf("%d thread(s), %zu MiB: %.1f GB/s (best of %d; checksum %u)\n", nth, mib,
           (double)(bytes / (size_t)nth / 128 * 128 * (size_t)nth) / best / 1e9, passes, sink);
    free(pt);
    free(tid);
    free(buf);
    return 0;
}
