/* sched.h - a server request on a local model: a library stream (llmr_stream) and a buffer
 * between it and the HTTP worker.
 *
 * Batching is the library's: every stream on the model is decoded with the others by the
 * model's engine (src/stream/batch.c: --parallel slots of --ctx-size positions each, mixed
 * prompt and decode passes, prefix sharing, the rest queued oldest first). A job pulls its
 * stream on a thread of its own into a buffer that the worker drains with a timeout, so the
 * worker watches its client and the time limit meanwhile, and cancels the job (which stops the
 * stream: queued, prefilling or generating) when either says so. A job is freed when both the
 * consumer and its pull thread have released it.
 */
#ifndef LLMR_SERVER_SCHED_H
#define LLMR_SERVER_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmr.h"
#include "server/request.h"

#define SRV_MAX_SLOTS 64        /* the engine batches at most 64 streams */

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
    int         completion_tokens; /* llmr_usage.generated_tokens: tokens sampled */
    double      queue_s;           /* waiting for a slot: total less prompt and generation */
    double      prompt_s;          /* slot -> prompt evaluated */
    double      gen_s;             /* prompt evaluated -> end */
    double      ttft_s;            /* submit -> first text */
    double      total_s;           /* submit -> end */
    srv_finish  finish;
    int         err_code;          /* LLMR_ERR_* when finish is error */
    char        err_msg[256];
} srv_usage;

/* Sets model m's batching to o's slots, context and queue (before its first stream: the model
 * was just loaded) and opens a scheduler on it (m borrowed; it must outlive the scheduler).
 * LLMR_OK or an error with a message in msg. */
int srv_sched_open(llmr_model *m, const srv_sched_opts *o, srv_sched **out, char *msg,
                   size_t msg_len);
/* Cancels every job and waits for their pull threads to end; then frees the scheduler.
 * Accepts NULL. Consumers must have released their jobs. */
void srv_sched_close(srv_sched *s);

/* Cancels every queued and running job (shutdown). Any thread. */
void srv_sched_cancel_all(srv_sched *s);

/* Opens the stream of `prompt` (the rendered text) with sampling from r (grammar from
 * response_format included), which tokenizes it and queues it on the model's engine. Returns a job the caller must release, or
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
