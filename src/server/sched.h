/* sched.h - continuous batching: many generation requests on one model.
 *
 * One scheduler thread owns the model's sequences. Each of the n_slots slots holds one KV
 * cache of n_ctx positions (--parallel, --ctx-size: every slot gets the full n_ctx; nothing is
 * split). Per iteration the thread
 *   1. drops cancelled requests (queued or running) and frees their slots,
 *   2. admits queued requests into free slots (FIFO), choosing the free slot whose cache
 *      shares the longest prefix with the prompt so that prefix is not recomputed,
 *   3. runs ONE forward pass (llmr_seq_eval_mixed) over the next token of every generating
 *      sequence plus chunks of the prompts being evaluated (oldest request first), about
 *      SRV_STEP_S worth of rows in all, so the weights are read once per step for all of
 *      them and a new request's prompt shares steps with the running decodes; the pass stops
 *      between layers when one of its requests is cancelled,
 *   4. samples the token of each sequence whose prompt is complete, turns it into text (UTF-8
 *      assembly, stop sequences held back) and hands the text to the request's consumer.
 * Consumers (HTTP worker threads) submit jobs, take text as it comes, and cancel them. A job
 * is freed when both the consumer and the scheduler have released it.
 */
#ifndef LLMR_SERVER_SCHED_H
#define LLMR_SERVER_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmr.h"
#include "server/request.h"

#define SRV_STEP_S        0.25  /* target seconds per forward pass: a pass takes as many rows
                                   as fit in this at the measured cost per row ... */
#define SRV_STEP_MIN_ROWS 16    /* ... but at least this many while a prompt waits (fewer rows
                                   cost nearly as much as 16: the weights are read either way),
                                   and at most SRV_STEP_MAX_ROWS */
#define SRV_STEP_MAX_ROWS 512   /* LLMR_UBATCH */
#define SRV_PREFILL_MIN   8     /* prompt tokens per pass while a prompt waits, at least */
#define SRV_MAX_SLOTS 64        /* the batched decode takes at most 64 sequences */

typedef struct srv_sched srv_sched;
typedef struct srv_job srv_job;

typedef struct srv_sched_opts {
    int n_slots;          /* sequences decoded together (--parallel) */
    int n_ctx;            /* KV positions per slot (--ctx-size) */
    int queue_max;        /* requests waiting for a slot before 503 */
    int max_tokens;       /* cap and default of generated tokens per request */
    int max_prompt;       /* cap of prompt tokens per request */
} srv_sched_opts;

/* What the consumer sees of a job. */
typedef enum srv_job_state {
    SRV_JOB_QUEUED = 0,
    SRV_JOB_PREFILL = 1,
    SRV_JOB_GEN = 2,
    SRV_JOB_DONE = 3
} srv_job_state;

/* Why a job ended (the OpenAI finish_reason for stop and length). */
typedef enum srv_finish {
    SRV_FINISH_NONE = 0,
    SRV_FINISH_STOP = 1,        /* end-of-generation token, stop sequence, grammar complete */
    SRV_FINISH_LENGTH = 2,      /* max_tokens, or the slot's context is full */
    SRV_FINISH_CANCELLED = 3,   /* srv_job_cancel(): client gone, stop message, shutdown */
    SRV_FINISH_ERROR = 4
} srv_finish;

/* Counts and timings of a finished (or running) job. Times in seconds. */
typedef struct srv_usage {
    int         prompt_tokens;
    int         cached_tokens;     /* prompt tokens reused from the slot's cache */
    int         completion_tokens; /* tokens sampled (an end-of-generation token excluded) */
    double      queue_s;           /* submit -> slot */
    double      prompt_s;          /* slot -> prompt evaluated */
    double      gen_s;             /* prompt evaluated -> end */
    double      ttft_s;            /* submit -> first text */
    double      total_s;           /* submit -> end */
    srv_finish  finish;
    int         err_code;          /* LLMR_ERR_* when finish is error */
    char        err_msg[256];
} srv_usage;

/* Opens a scheduler on model m and tokenizer t (borrowed; they must outlive it) and starts its
 * thread. LLMR_OK or LLMR_ERR_NOMEM / LLMR_ERR_ARG with a message in msg. */
int srv_sched_open(llmr_model *m, const llmr_tokenizer *t, const srv_sched_opts *o,
                   srv_sched **out, char *msg, size_t msg_len);
/* Cancels every job, stops the thread and frees the slots. Accepts NULL. Consumers must have
 * released their jobs. */
void srv_sched_close(srv_sched *s);

/* Cancels every queued and running job (shutdown). Any thread. */
void srv_sched_cancel_all(srv_sched *s);

/* Tokenizes `prompt` (the rendered text), prepares sampling from r (grammar from
 * response_format included) and queues the job. Returns a job the caller must release, or
 * NULL with *e filled: 400 for a prompt past the context or the prompt limit
 * (code context_length_exceeded), a bad grammar/schema or a bias on a token out of range; 503
 * when the queue is full. parse_special lets control-token text in the prompt (the template's
 * own markers) be special tokens. */
srv_job *srv_sched_submit(srv_sched *s, const srv_req *r, const char *prompt, bool add_bos,
                          bool parse_special, srv_error *e);

/* Text taken from a job: the bytes, and where each piece ends (one piece per generated
 * token, except where text was held back and released together: an incomplete UTF-8
 * character, a possible start of a stop sequence). Owned by the consumer; grows as needed;
 * free with srv_take_free(). */
typedef struct srv_take {
    char   *text;
    size_t  len, cap;
    size_t *ends;       /* ends[i]: offset just past piece i */
    int     n, cap_ends;
} srv_take;
void srv_take_free(srv_take *t);

/* Waits up to timeout_ms for text or the end, replaces t's contents with the pieces made
 * since the last take, and returns the job's state (SRV_JOB_DONE only once every piece has
 * been taken). */
srv_job_state srv_job_take(srv_job *j, int timeout_ms, srv_take *t);
/* Asks the job to stop: the scheduler drops it at its next step (queued, prompt or
 * generating) and frees its slot; it ends with finish reason cancelled. Any thread. */
void srv_job_cancel(srv_job *j);
/* Usage so far (complete once take returned SRV_JOB_DONE). */
void srv_job_usage(srv_job *j, srv_usage *u);
/* The consumer is done with the job (cancels it if still running). */
void srv_job_release(srv_job *j);

/* Live figures for /metrics and /api/ps. */
typedef struct srv_sched_stats {
    int      n_slots, active, queued;
    uint64_t tokens_in, tokens_out, steps, batched_rows;
    double   decode_s;      /* time spent in batched decode passes */
} srv_sched_stats;
void srv_sched_stats_get(srv_sched *s, srv_sched_stats *st);

#endif
