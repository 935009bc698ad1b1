/* batch.h - the generation engine of one model: continuous batching of every stream on it.
 *
 * Every local stream on a model is a job of the model's engine. The engine holds up to
 * n_parallel slots, each a sequence (KV cache of n_ctx positions) with the tokens it holds;
 * a job takes a slot when it starts and gives it back when its stream ends; further jobs
 * queue, oldest first. Slots are made when first needed and keep their cache after a job, so
 * the next job with the same prefix does not recompute it (the prefix cache).
 *
 * There is no engine thread. Work is done by the threads that wait for tokens: a stream's
 * owner that needs a token and finds none ready becomes the driver (when no pass is running)
 * and runs ONE forward pass (llmri_seq_eval_mixed) over every job that can advance: the next
 * token of each generating job and chunks of the prompts being evaluated (oldest first, with
 * prefixes shared across slots copied rather than computed), then samples each job's next
 * token. So a lone stream drives its own passes at the speed of a plain llmri_seq_eval loop,
 * and streams pulled from many threads (or in turn from one) share their passes.
 *
 * A job's sampled tokens wait for its owner in a small queue (LLMR_ENGINE_AHEAD): a job whose
 * owner does not take its tokens (paused, busy elsewhere) stops advancing after that many.
 * Two, not one: with one, a job whose owner has not yet woken to take the token of the last
 * pass sits out the next pass, so the driver (already awake) ran passes of itself and one or
 * two others; four streams of a 42M model made 240 tokens in ~115 passes. With two, every job
 * stays in every pass while its owner catches up (60-70 passes), at the cost of one token
 * made and dropped when a stream stops.
 *
 * Locks: engine->mu guards the queue, the slots' job pointers and every job's engine state
 * below, except that the jobs in a running pass (in_pass) belong to the driver until the pass
 * is over; llmri_engine_leave waits for that. job->cancel is atomic: any thread sets it.
 */
#ifndef LLMR_STREAM_BATCH_H
#define LLMR_STREAM_BATCH_H

#include "core/error.h"
#include "llmr.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct llmr_sampler;
typedef struct llmr_engine llmr_engine;

#define LLMR_ENGINE_AHEAD 2      /* tokens sampled ahead of what the owner has taken */

typedef enum llmr_job_state {
    LLMR_JOB_IDLE = 0,           /* not submitted, or left */
    LLMR_JOB_QUEUED,             /* waiting for a slot */
    LLMR_JOB_PREFILL,            /* in a slot, its prompt being evaluated */
    LLMR_JOB_GEN                 /* generating */
} llmr_job_state;

typedef struct llmr_job {
    /* ---- the request: set by the owner before llmri_engine_submit, read-only until
     * llmri_engine_leave ---- */
    const int32_t *prompt;
    int            n_prompt;
    struct llmr_sampler *smp;    /* used by the driver of a pass only while the job is in it */
    bool           no_cache;     /* evaluate the whole prompt: no cached or shared prefix */
    bool           stop_at_eog;  /* an end-of-generation token ends the job */
    uint32_t       max_tokens;   /* tokens to sample at most (0: until the context is full) */
    int            top_logprobs; /* -1: no log-probabilities; else each sampled token's, with
                                    this many alternatives (llmr_gen_opts.logprobs) */

    /* ---- engine state (see the locks above) ---- */
    llmr_job_state state;
    int            slot;         /* with PREFILL and GEN */
    int            n_eval;       /* prompt tokens in the slot's cache */
    int32_t        last;         /* sampled, not yet evaluated */
    uint32_t       n_sampled;
    int32_t        ahead[LLMR_ENGINE_AHEAD];      /* sampled, not yet taken, in order */
    bool           ahead_last[LLMR_ENGINE_AHEAD]; /* the grammar is complete after it */
    int            n_ahead;
    llmr_token_logprob ahead_lp[LLMR_ENGINE_AHEAD]; /* with top_logprobs >= 0: theirs */
    llmr_token_logprob lp_new;   /* the driver's, while the job is in a pass: the token just
                                    sampled, moved to ahead_lp under mu */
    bool           over;         /* nothing more will be sampled (EOG, limit, grammar) */
    int            end_rc;       /* once the ahead tokens are taken: LLMR_ERR_CONTEXT (full)
                                    or the error that ended the job; 0 while it runs */
    llmr_err       end_err;
    bool           in_pass;
    uint64_t       order;        /* submission order: the queue and prompt chunks go oldest
                                    first */
    uint32_t       n_cached;     /* prompt tokens reused from a cache, not evaluated */
    double         t_submit, t_slot, t_prompt;
    struct llmr_job *next;       /* queue link */
    atomic_bool    cancel;       /* set by llmri_engine_cancel (any thread); never cleared */
} llmr_job;

/* Makes the engine of model m (n_parallel slots of the model's n_ctx positions at most, at
 * most max_queued waiting jobs: 0 no limit, -1 none). is_eog(user, id) says whether a token ends
 * generation. LLMR_OK or LLMR_ERR_NOMEM. */
int llmri_engine_new(llmr_model *m, int n_parallel, int max_queued,
                    bool (*is_eog)(const void *user, int32_t id), const void *eog_user,
                    llmr_engine **out, llmr_err *err);
/* Changes how the engine batches: n_parallel slots of n_ctx positions each (0: the model's
 * n_ctx), max_queued as above. LLMR_OK, LLMR_ERR_ARG (out of range) or LLMR_ERR_STATE once a
 * slot has been made (a stream has run on the model). */
int llmri_engine_configure(llmr_engine *e, int n_parallel, int n_ctx, int max_queued,
                          llmr_err *err);
/* Positions of each slot. */
int llmri_engine_n_ctx(const llmr_engine *e);

/* Live figures of the engine (for a server's /metrics). */
typedef llmr_batch_stats llmr_engine_stats;   /* llmr.h */
void llmri_engine_stats_get(llmr_engine *e, llmr_engine_stats *st);

/* Frees the engine and its slots; no job may be submitted. Accepts NULL. */
void llmri_engine_free(llmr_engine *e);

/* Queues job j (its request fields set, its engine state zeroed by llmri_engine_job_init).
 * LLMR_OK, or LLMR_ERR_BUSY when max_queued jobs are waiting for a slot already. */
int llmri_engine_submit(llmr_engine *e, llmr_job *j, llmr_err *err);

/* The job's next token: waits for it, driving passes meanwhile when none is running.
 * LLMR_OK with *tok and *last (nothing can follow it: the grammar is complete), and its
 * log-probabilities in *lp when the job asks for them (lp may be NULL);
 * LLMR_ERR_CONTEXT when the slot's context is full; LLMR_ERR_CANCELLED after
 * llmri_engine_cancel; or the error that ended the job (message in err). Owner thread. */
int llmri_engine_next(llmr_engine *e, llmr_job *j, int32_t *tok, bool *last,
                      llmr_token_logprob *lp, llmr_err *err);

/* Takes the job out of the queue or its slot (waiting for a pass it is in to end); the slot
 * keeps what its cache holds for later jobs. The job may then be submitted again. */
void llmri_engine_leave(llmr_engine *e, llmr_job *j);

/* Resets j's engine state for a new submission; the cancel flag is kept. */
void llmri_engine_job_init(llmr_job *j);

/* Asks the job to end: a wait in llmri_engine_next returns LLMR_ERR_CANCELLED, and a pass
 * that holds it stops between layers. Any thread. */
void llmri_engine_cancel(llmr_engine *e, llmr_job *j);

/* Whether the job waits for a slot. Any thread. */
bool llmri_engine_queued(llmr_engine *e, llmr_job *j);

/* The job's prompt figures once its prompt is evaluated: tokens reused, and seconds from
 * taking a slot to the prompt evaluated (0 before). Owner thread. */
void llmri_engine_prompt_info(llmr_engine *e, llmr_job *j, uint32_t *n_cached, double *prompt_s);

#endif
