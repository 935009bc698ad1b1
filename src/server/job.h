/* job.h - a server request's stream and a buffer between it and the HTTP worker.
 *
 * The request is a routed library stream (llmr_router_stream_open / llmr_router_chat_open):
 * batching with the other requests on the model, sampling, UTF-8 assembly, stop sequences,
 * reasoning apart from the answer (pieces marked reasoning), log-probabilities, usage,
 * failover and backoff are the library's. A job pulls its stream on a thread of its
 * own into a buffer that the worker drains with a timeout, so the worker watches its client
 * and the time limit meanwhile, and cancels the job (which stops the stream: queued,
 * prefilling or generating) when either says so. A job is freed when both the consumer and
 * its pull thread have released it.
 */
#ifndef LLMR_SERVER_JOB_H
#define LLMR_SERVER_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmr.h"
#include "server/request.h"

typedef struct srv_jobs srv_jobs;
typedef struct srv_job srv_job;

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
    char        stop_seq[LLMR_MAX_STOP_LEN + 1]; /* the stop sequence that ended it, or "" */
    char        err_msg[256];
} srv_usage;

/* The server's jobs: so that shutdown can stop them all and wait for their pull threads. */
srv_jobs *srv_jobs_new(void);
/* Cancels every job (shutdown). Any thread. */
void srv_jobs_cancel_all(srv_jobs *js);
/* Cancels every job, waits for their pull threads to end, frees the list; accepts NULL.
 * Consumers must have released their jobs. */
void srv_jobs_free(srv_jobs *js);

/* Starts pulling stream st, opened on router (taken over: closed by the job, also on
 * failure), on a thread of its own, as flags say. NULL with *e (503) when no
 * thread can be started. */
#define SRV_JOB_PAUSED 1u    /* paused before the first step */
#define SRV_JOB_TOOLS  2u    /* keep the answer and read its tool calls at the end */
#define SRV_JOB_LOGPROBS 8u  /* each piece with its tokens' log-probabilities */
srv_job *srv_job_start(srv_jobs *js, llmr_router *router, llmr_stream *st, unsigned flags,
                       srv_error *e);
/* With tools: the whole reply read for tool calls once the job is done (NULL before, or when
 * it could not be read); owned by the job. */
const char *srv_job_tool_calls(srv_job *j);
/* The id of the model serving the job: the one that began it, then the one that made its
 * first piece (failover may change it in between). */
void srv_job_model(srv_job *j, char *buf, size_t n);

/* One token's {"token", "logprob", "bytes"} as OpenAI writes it: token is the text with
 * each byte that is not part of valid UTF-8 replaced by U+FFFD, bytes the raw bytes. */
cJSON *srv_logprob_entry(const char *bytes, size_t len, float logprob);

/* Text taken from a job: the bytes, and where each piece ends (one piece per generated
 * token, except where text was held back and released together: an incomplete UTF-8
 * character, a possible start of a stop sequence). Owned by the consumer; grows as needed;
 * free with srv_take_free(). */
typedef struct srv_take {
    char   *text;
    size_t  len, cap;
    size_t *ends;       /* ends[i]: offset just past piece i */
    bool   *thought;    /* thought[i]: piece i is reasoning (llmr_piece.reasoning) */
    cJSON **lp;         /* lp[i]: with SRV_JOB_LOGPROBS, piece i's tokens as a JSON array of
                           {"token", "logprob", "bytes", "top_logprobs": [{"token",
                           "logprob", "bytes"}]} (OpenAI's shape; owned by t), or NULL */
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
/* Pauses (no token is made until resumed: the stream keeps its slot and its model) or
 * resumes the job's stream. Any thread. */
void srv_job_pause(srv_job *j, bool paused);
/* Usage so far (complete once take returned SRV_JOB_DONE). */
void srv_job_usage(srv_job *j, srv_usage *u);
/* The consumer is done with the job (cancels it if still running). */
void srv_job_release(srv_job *j);

#endif
