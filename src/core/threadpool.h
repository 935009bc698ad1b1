/* threadpool.h - a persistent pool of compute threads with low-latency fork/join.
 *
 * The forward pass runs a few hundred short parallel steps per token (each matrix product,
 * attention), so starting threads or sleeping on a condition variable per step would cost
 * more than the step. Workers spin briefly on a generation counter and only then sleep on a
 * futex; the caller is thread 0 and does its share of every step.
 *
 * Thread safety: one thread at a time may call llmri_pool_run on a pool (the model layer
 * holds a lock around it). llmri_pool_new/free are not concurrent with run.
 */
#ifndef LLMR_CORE_THREADPOOL_H
#define LLMR_CORE_THREADPOOL_H

typedef struct llmr_pool llmr_pool;

/* A step: called once on each of the nth threads with ith in [0, nth). */
typedef void (*llmr_pool_fn)(void *arg, int ith, int nth);

/* Starts n_threads - 1 workers (n_threads >= 1). NULL if out of memory or threads. */
llmr_pool *llmri_pool_new(int n_threads);

/* Joins the workers and frees the pool; accepts NULL. */
void llmri_pool_free(llmr_pool *p);

int llmri_pool_size(const llmr_pool *p);

/* Runs fn(arg, ith, nth) on every thread (the caller is ith 0) and returns when all have
 * returned: the return is the barrier between steps. */
void llmri_pool_run(llmr_pool *p, llmr_pool_fn fn, void *arg);

#endif
