/* threadpool.c - persistent workers: spin on a generation counter, then futex-sleep. */
#include "core/threadpool.h"

#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#if defined(__EMSCRIPTEN__)
#include <emscripten/threading.h>
#include <math.h>
#else
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

/* How long a waiting thread spins before it sleeps: long enough to bridge the gap between
 * two steps of one token (microseconds), short enough not to burn a core while idle. */
#define SPIN_ITERS 4000

struct llmr_pool {
    int n;                         /* threads, caller included */
    pthread_t *tids;
    llmr_pool_fn fn;               /* written by the caller before gen is bumped */
    void *arg;
    _Atomic uint32_t gen;          /* bumped once per step (release); futex word */
    _Atomic int pending;           /* workers still running the current step */
    _Atomic int sleepers;          /* workers inside futex_wait on gen */
    _Atomic uint32_t done_gen;     /* futex word the caller may sleep on */
    _Atomic int stop;
};

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

#if defined(__EMSCRIPTEN__)
/* WebAssembly: memory.atomic.wait32 / notify, which emscripten wraps (threads build). */
static void futex_wait(_Atomic uint32_t *addr, uint32_t val)
{
    emscripten_futex_wait((void *)addr, val, INFINITY);
}

static void futex_wake_all(_Atomic uint32_t *addr)
{
    emscripten_futex_wake((void *)addr, INT_MAX);
}
#else
static void futex_wait(_Atomic uint32_t *addr, uint32_t val)
{
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic uint32_t *addr)
{
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}
#endif

typedef struct { llmr_pool *p; int ith; } worker_arg;

static void *worker(void *varg)
{
    worker_arg wa = *(worker_arg *)varg;
    free(varg);
    llmr_pool *p = wa.p;
    uint32_t seen = 0;
    for (;;) {
        uint32_t g;
        int spins = 0;
        while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen) {
            if (++spins < SPIN_ITERS) {
                cpu_relax();
                continue;
            }
            atomic_fetch_add(&p->sleepers, 1);
            if (atomic_load(&p->gen) == seen)   /* seq_cst, pairs with run() */
                futex_wait(&p->gen, seen);
            atomic_fetch_sub(&p->sleepers, 1);
            spins = 0;
        }
        seen = g;
        if (atomic_load_explicit(&p->stop, memory_order_acquire))
            return NULL;
        p->fn(p->arg, wa.ith, p->n);
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            atomic_fetch_add_explicit(&p->done_gen, 1, memory_order_release);
            futex_wake_all(&p->done_gen);
        }
    }
}

llmr_pool *llmri_pool_new(int n_threads)
{
    if (n_threads < 1)
        n_threads = 1;
    llmr_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->n = n_threads;
    p->tids = calloc((size_t)n_threads, sizeof *p->tids);
    if (!p->tids) {
        free(p);
        return NULL;
    }
    for (int i = 1; i < n_threads; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (!wa || (wa->p = p, wa->ith = i, pthread_create(&p->tids[i], NULL, worker, wa))) {
            free(wa);
            p->n = i;              /* join only what started */
            llmri_pool_free(p);
            return NULL;
        }
    }
    return p;
}

void llmri_pool_free(llmr_pool *p)
{
    if (!p)
        return;
    atomic_store_explicit(&p->stop, 1, memory_order_release);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    futex_wake_all(&p->gen);
    for (int i = 1; i < p->n; i++)
        pthread_join(p->tids[i], NULL);
    free(p->tids);
    free(p);
}

int llmri_pool_size(const llmr_pool *p) { return p->n; }

void llmri_pool_run(llmr_pool *p, llmr_pool_fn fn, void *arg)
{
    if (p->n == 1) {
        fn(arg, 0, 1);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    uint32_t done = atomic_load_explicit(&p->done_gen, memory_order_acquire);
    atomic_store_explicit(&p->pending, p->n - 1, memory_order_relaxed);
    atomic_fetch_add(&p->gen, 1);          /* seq_cst: ordered before the sleepers load */
    if (atomic_load(&p->sleepers) > 0)
        futex_wake_all(&p->gen);
    fn(arg, 0, p->n);
    int spins = 0;
    while (atomic_load_explicit(&p->pending, memory_order_acquire) != 0) {
        if (++spins < SPIN_ITERS) {
            cpu_relax();
            continue;
        }
        futex_wait(&p->done_gen, done);
        spins = 0;
    }
}
