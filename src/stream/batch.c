/* batch.c - continuous batching of the streams on one model (see batch.h). */
#include "stream/batch.h"
#include "core/util.h"
#include "model/model.h"
#include "sampler/sampler.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STEP_S        0.25  /* target seconds per pass while some job generates: a pass takes
                               as many rows as fit in this at the measured cost per row ... */
#define STEP_MIN_ROWS 16    /* ... but at least this many while a prompt waits (fewer rows cost
                               nearly as much: the weights are read either way) */
#define PREFILL_MIN   8     /* prompt tokens per pass while a prompt waits, at least */

typedef struct slot {
    llmr_seq *seq;
    int32_t  *cache;           /* tokens in the KV cache at [0, n_cache) */
    int       n_cache;
    llmr_job *job;             /* NULL: free */
    uint64_t  packed;          /* the pass (n_passes + 1) that took a prompt chunk from it */
} slot;

struct llmr_engine {
    llmr_model *m;
    int n_parallel, max_queued, n_ctx;
    bool (*is_eog)(const void *user, int32_t id);
    const void *eog_user;
    pthread_mutex_t mu;
    pthread_cond_t cv;         /* a pass ended, a token is ready, a job left or was cancelled */
    llmr_job *qhead, *qtail;
    int n_queued;
    uint64_t order;
    bool driving;              /* a pass is being built or run */
    int n_slots;               /* slots made so far */
    slot slots[LLMR_MAX_BATCH_SEQS];
    double step_s, row_s;      /* target seconds per pass; measured seconds per row */
    /* the pass being built and run: the driver's alone */
    llmr_batch_part parts[LLMR_MAX_BATCH_SEQS];
    int pslot[LLMR_MAX_BATCH_SEQS];
    int n_parts;
    uint64_t n_passes;
    llmr_engine_stats st;      /* tokens_in .. decode_s, guarded by mu */
};

/* ---- jobs and slots (mu held) ------------------------------------------------------------- */

void llmri_engine_job_init(llmr_job *j)
{
    j->state = LLMR_JOB_IDLE;
    j->slot = -1;
    j->n_eval = 0;
    j->last = -1;
    j->n_sampled = 0;
    j->n_ahead = 0;
    j->over = false;
    j->end_rc = 0;
    llmri_err_clear(&j->end_err);
    j->in_pass = false;
    j->n_cached = 0;
    j->t_submit = j->t_slot = j->t_prompt = 0;
    j->next = NULL;
}

static void job_fail(llmr_job *j, int rc, const char *msg)
{
    if (!j->end_rc)
        llmri_err_set(&j->end_err, rc, "%s", msg);
    j->end_rc = rc;
}

static int common_prefix(const slot *sl, const llmr_job *j)
{
    if (j->no_cache)
        return 0;
    int n = 0;
    while (n < sl->n_cache && n < j->n_prompt && sl->cache[n] == j->prompt[n])
        n++;
    return n;
}

/* A free slot for j: the made slot whose cache shares the longest prefix with its prompt, or
 * a new one when every made slot is taken. -1 when none is free (or one cannot be made: then
 * j has failed). */
static int pick_slot(llmr_engine *e, llmr_job *j, int *prefix)
{
    int best = -1;
    *prefix = -1;
    for (int i = 0; i < e->n_slots; i++) {
        if (e->slots[i].job)
            continue;
        int c = common_prefix(&e->slots[i], j);
        if (c > *prefix) {
            best = i;
            *prefix = c;
        }
    }
    if (best >= 0 || e->n_slots >= e->n_parallel)
        return best;
    slot *sl = &e->slots[e->n_slots];
    int rc = llmri_seq_new(e->m, e->n_ctx, &sl->seq);
    if (rc == LLMR_OK && !(sl->cache = calloc((size_t)e->n_ctx, sizeof *sl->cache)))
        rc = LLMR_ERR_NOMEM;
    if (rc != LLMR_OK) {
        char msg[400];
        snprintf(msg, sizeof msg, "KV cache of slot %d (%d positions): %s", e->n_slots + 1,
                 e->n_ctx, rc == LLMR_ERR_NOMEM ? "out of memory" : llmr_model_errmsg(e->m));
        llmri_seq_free(sl->seq);
        sl->seq = NULL;
        job_fail(j, rc, msg);
        return -1;
    }
    *prefix = 0;
    return e->n_slots++;
}

static void dequeue(llmr_engine *e, llmr_job *j)
{
    for (llmr_job **pp = &e->qhead; *pp; pp = &(*pp)->next)
        if (*pp == j) {
            *pp = j->next;
            break;
        }
    e->qtail = NULL;
    for (llmr_job *x = e->qhead; x; x = x->next)
        e->qtail = x;
    j->next = NULL;
    e->n_queued--;
}

/* Queued jobs take free slots, oldest first. Only while no pass runs: slots' caches are read. */
static void admit(llmr_engine *e)
{
    while (e->qhead) {
        llmr_job *j = e->qhead;
        int prefix;
        int i = pick_slot(e, j, &prefix);
        if (i < 0 && !j->end_rc)
            return;                           /* every slot is taken */
        dequeue(e, j);
        if (i < 0) {
            j->state = LLMR_JOB_IDLE;         /* failed: its owner gets the error */
            continue;
        }
        slot *sl = &e->slots[i];
        sl->job = j;
        e->st.tokens_in += (uint64_t)j->n_prompt;
        /* The last prompt token is evaluated again even when cached: its logits are needed. */
        if (prefix >= j->n_prompt)
            prefix = j->n_prompt - 1;
        sl->n_cache = prefix;
        j->n_eval = prefix;
        j->n_cached = (uint32_t)prefix;
        j->slot = i;
        j->state = LLMR_JOB_PREFILL;
        j->t_slot = llmri_now();
    }
}

static bool decodable(const llmr_job *j)
{
    return j && j->state == LLMR_JOB_GEN && !j->over && !j->end_rc &&
           j->n_ahead < LLMR_ENGINE_AHEAD && !atomic_load(&j->cancel);
}

static bool prefillable(const llmr_job *j)
{
    return j && j->state == LLMR_JOB_PREFILL && !j->end_rc && !atomic_load(&j->cancel);
}

/* Whether a pass would do anything: a queued job could take a slot, or a job can advance. */
static bool has_work(const llmr_engine *e)
{
    bool free_slot = e->n_slots < e->n_parallel;
    for (int i = 0; i < e->n_slots; i++) {
        const llmr_job *j = e->slots[i].job;
        if (decodable(j) || prefillable(j))
            return true;
        free_slot |= !j;
    }
    return e->qhead && free_slot;
}

/* ---- building a pass (the driver, mu held) ----------------------------------------------- */

/* Prompt positions another slot's cache already holds are copied, not evaluated, so jobs that
 * share a prefix (a system prompt, a template's preamble, the same question) compute it once:
 * vLLM's and SGLang's automatic prefix caching, across slots. */
static void share_prefixes(llmr_engine *e)
{
    for (int i = 0; i < e->n_slots; i++) {
        slot *sl = &e->slots[i];
        llmr_job *j = sl->job;
        if (!prefillable(j) || j->no_cache || j->n_eval >= j->n_prompt - 1)
            continue;
        int from = -1, len = j->n_eval;
        for (int k = 0; k < e->n_slots; k++) {
            int c = k == i ? 0 : common_prefix(&e->slots[k], j);
            if (c > len) {
                from = k;
                len = c;
            }
        }
        if (from < 0)
            continue;
        if (len > j->n_prompt - 1)
            len = j->n_prompt - 1;   /* the last prompt token is evaluated: its logits */
        if (llmri_seq_copy_range(sl->seq, e->slots[from].seq, j->n_eval, len) != LLMR_OK)
            continue;                /* not expected; the positions are then evaluated */
        memcpy(sl->cache + j->n_eval, j->prompt + j->n_eval,
               (size_t)(len - j->n_eval) * sizeof *sl->cache);
        j->n_cached += (uint32_t)(len - j->n_eval);
        j->n_eval = len;
        sl->n_cache = len;
    }
}

/* Whether a prompt chunk already in this pass covers j's next positions with the same tokens
 * (from position 0): then j waits one pass and copies them (share_prefixes) instead of
 * evaluating them again; eight identical prompts arriving together cost one. */
static bool shares_packed_chunk(const llmr_engine *e, const llmr_job *j)
{
    if (j->no_cache || j->n_eval >= j->n_prompt - 1)
        return false;
    for (int k = 0; k < e->n_parts; k++) {
        const llmr_job *a = e->slots[e->pslot[k]].job;
        const llmr_batch_part *p = &e->parts[k];
        if (a->state != LLMR_JOB_PREFILL || a->no_cache || p->pos > j->n_eval ||
            p->pos + p->n <= j->n_eval)
            continue;
        int n = p->pos + p->n < j->n_prompt - 1 ? p->pos + p->n : j->n_prompt - 1;
        if (!memcmp(a->prompt, j->prompt, (size_t)n * sizeof *j->prompt))
            return true;
    }
    return false;
}

/* Prompt rows per pass while jobs generate: as many as take about step_s at the measured cost
 * per row, at least STEP_MIN_ROWS. The time bound keeps a prompt from holding up the others'
 * next token for long; the floor keeps passes that carry prompt work out of the small-batch
 * regime, where a pass costs about as much as one of 16 rows. With nothing generating the
 * whole prompt goes at once (LLMR_UBATCH rows a pass), as a lone llmri_seq_eval would. */
static int prompt_budget(const llmr_engine *e, int decode_rows)
{
    int rows = LLMR_UBATCH;
    if (decode_rows > 0) {
        rows = STEP_MIN_ROWS;
        if (e->row_s > 0 && e->step_s / e->row_s > STEP_MIN_ROWS)
            rows = e->step_s / e->row_s < LLMR_UBATCH ? (int)(e->step_s / e->row_s)
                                                      : LLMR_UBATCH;
        rows -= decode_rows;
        if (rows < PREFILL_MIN)
            rows = PREFILL_MIN;
    }
    return rows < LLMR_UBATCH - decode_rows ? rows : LLMR_UBATCH - decode_rows;
}

/* The decode token of every job that can take one, then prompt chunks, oldest job first. */
static void pack(llmr_engine *e)
{
    share_prefixes(e);
    e->n_parts = 0;
    for (int i = 0; i < e->n_slots; i++) {
        llmr_job *j = e->slots[i].job;
        if (!decodable(j))
            continue;
        e->parts[e->n_parts] = (llmr_batch_part){e->slots[i].seq, &j->last, 1,
                                                 e->slots[i].n_cache};
        e->pslot[e->n_parts++] = i;
    }
    int budget = prompt_budget(e, e->n_parts);
    while (budget > 0) {
        int best = -1;
        for (int i = 0; i < e->n_slots; i++) {
            const llmr_job *j = e->slots[i].job;
            if (!prefillable(j) || e->slots[i].packed == e->n_passes + 1)
                continue;
            if (best < 0 || j->order < e->slots[best].job->order)
                best = i;
        }
        if (best < 0)
            break;
        slot *sl = &e->slots[best];
        llmr_job *j = sl->job;
        sl->packed = e->n_passes + 1;
        if (shares_packed_chunk(e, j))
            continue;
        int n = j->n_prompt - j->n_eval < budget ? j->n_prompt - j->n_eval : budget;
        e->parts[e->n_parts] = (llmr_batch_part){sl->seq, j->prompt + j->n_eval, n, j->n_eval};
        e->pslot[e->n_parts++] = best;
        budget -= n;
    }
    for (int k = 0; k < e->n_parts; k++)
        e->slots[e->pslot[k]].job->in_pass = true;
}

/* ---- running a pass ------------------------------------------------------------------------ */

/* The pass stops between layers as soon as one of its jobs is cancelled, so a cancel waits
 * for at most one layer, not a whole pass; the other parts go again in the next pass. */
static bool pass_abort(void *user)
{
    const llmr_engine *e = user;
    for (int k = 0; k < e->n_parts; k++)
        if (atomic_load_explicit(&e->slots[e->pslot[k]].job->cancel, memory_order_relaxed))
            return true;
    return false;
}

/* What sampling gave a job after the pass. */
typedef struct sampled {
    int32_t  tok;              /* -1: none (the prompt is not complete, or an error) */
    bool     last;
    int      rc;
    llmr_err err;
} sampled;

/* After a successful pass, unlocked: the job is the driver's (in_pass). Records the part in
 * the slot's cache and, when the job's prompt is complete, samples its next token. */
static void part_sample(llmr_engine *e, int k, sampled *r)
{
    slot *sl = &e->slots[e->pslot[k]];
    llmr_job *j = sl->job;
    const llmr_batch_part *p = &e->parts[k];
    r->tok = -1;
    r->rc = LLMR_OK;
    memcpy(sl->cache + p->pos, p->tokens, (size_t)p->n * sizeof *sl->cache);
    sl->n_cache = p->pos + p->n;
    if (j->state == LLMR_JOB_PREFILL && p->pos + p->n < j->n_prompt)
        return;
    llmri_err_clear(&r->err);
    int32_t t = llmri_sampler_sample(j->smp, llmri_seq_logits(sl->seq), &r->err);
    if (t < 0) {
        r->rc = r->err.code ? r->err.code : LLMR_ERR_STATE;
        return;
    }
    if ((r->rc = llmri_sampler_accept(j->smp, t, &r->err)) != LLMR_OK)
        return;
    if (j->top_logprobs >= 0)     /* the model's own distribution: the logits as they came */
        llmri_logprobs(llmri_seq_logits(sl->seq), llmri_model_n_vocab(e->m), t, j->top_logprobs,
                       &j->lp_new);
    r->tok = t;
    r->last = llmri_sampler_grammar_done(j->smp);
}

/* Under mu: what the pass gave job j in part k. */
static void part_apply(llmr_engine *e, int k, const sampled *r, double now)
{
    slot *sl = &e->slots[e->pslot[k]];
    llmr_job *j = sl->job;
    if (j->state == LLMR_JOB_PREFILL) {
        j->n_eval = sl->n_cache;
        if (j->n_eval < j->n_prompt)
            return;
        j->state = LLMR_JOB_GEN;
        j->t_prompt = now;
    }
    if (r->rc != LLMR_OK) {
        job_fail(j, r->rc, r->err.msg);
        return;
    }
    e->st.tokens_out++;
    if (j->top_logprobs >= 0)
        j->ahead_lp[j->n_ahead] = j->lp_new;
    j->ahead[j->n_ahead] = r->tok;
    j->ahead_last[j->n_ahead++] = r->last;
    j->last = r->tok;
    j->n_sampled++;
    if (r->last || (j->stop_at_eog && e->is_eog(e->eog_user, r->tok)) ||
        (j->max_tokens && j->n_sampled >= j->max_tokens))
        j->over = true;
    else if (sl->n_cache >= llmri_seq_n_ctx(sl->seq)) {
        /* the token is delivered, but there is no position left to evaluate it at */
        char msg[128];
        snprintf(msg, sizeof msg, "the context of %d positions is full", sl->n_cache);
        job_fail(j, LLMR_ERR_CONTEXT, msg);
    }
}

/* One pass, by the thread that holds `driving`; mu held on entry and exit, released while the
 * model runs and the samplers draw. */
static void drive(llmr_engine *e)
{
    e->driving = true;
    admit(e);
    pack(e);
    e->n_passes++;
    int n = e->n_parts;
    if (n == 0) {                  /* admission failed: the failed jobs' owners wake */
        e->driving = false;
        pthread_cond_broadcast(&e->cv);
        return;
    }
    pthread_mutex_unlock(&e->mu);
    const llmr_abort ab = {pass_abort, e};
    int bad = -1, rows = 0;
    for (int k = 0; k < n; k++)
        rows += e->parts[k].n;
    double t0 = llmri_now();
    int rc = llmri_seq_eval_mixed(e->parts, n, &ab, &bad);
    double dt = llmri_now() - t0;
    sampled res[LLMR_MAX_BATCH_SEQS];
    if (rc == LLMR_OK) {
        if (rows >= STEP_MIN_ROWS)   /* past the small-batch regime: a fair cost per row */
            e->row_s = e->row_s > 0 ? 0.5 * e->row_s + 0.5 * dt / rows : dt / rows;
        for (int k = 0; k < n; k++)
            part_sample(e, k, &res[k]);
    }
    pthread_mutex_lock(&e->mu);
    double now = llmri_now();
    if (rc == LLMR_OK) {
        int n_dec = 0;
        for (int k = 0; k < n; k++)
            n_dec += e->slots[e->pslot[k]].job->state == LLMR_JOB_GEN;
        if (n_dec) {              /* the decode figures of a server's /metrics */
            e->st.steps++;
            e->st.rows += (uint64_t)n_dec;
            e->st.decode_s += dt;
        }
    }
    for (int k = 0; k < n; k++) {
        llmr_job *j = e->slots[e->pslot[k]].job;
        if (rc == LLMR_OK)
            part_apply(e, k, &res[k], now);
        else if (rc != LLMR_ERR_CANCELLED && (bad < 0 || bad == k)) {
            char msg[400];
            snprintf(msg, sizeof msg, "%s: %s", j->state == LLMR_JOB_GEN
                     ? "batched decode" : "evaluating the prompt",
                     llmri_seq_errmsg(e->slots[e->pslot[k]].seq));
            job_fail(j, rc, msg);
        }
        /* else: cut short by a cancel, or not evaluated because another part was refused:
         * it goes again in the next pass */
        j->in_pass = false;
    }
    e->driving = false;
    pthread_cond_broadcast(&e->cv);
}

/* ---- the job's owner ------------------------------------------------------------------------ */

int llmri_engine_submit(llmr_engine *e, llmr_job *j, llmr_err *err)
{
    pthread_mutex_lock(&e->mu);
    int free_slots = e->n_parallel;
    for (int i = 0; i < e->n_slots; i++)
        free_slots -= e->slots[i].job != NULL;
    /* Jobs queued while slots are free take them at the next pass: they do not wait. */
    if (e->max_queued && e->n_queued + 1 > free_slots + (e->max_queued > 0 ? e->max_queued : 0)) {
        int q = e->n_queued;
        pthread_mutex_unlock(&e->mu);
        if (e->max_queued < 0)
            return llmri_err_set(err, LLMR_ERR_BUSY, "the model is generating for another "
                                "stream in each of its %d slot%s (n_parallel) and takes no "
                                "queue (max_queued -1)", e->n_parallel,
                                e->n_parallel == 1 ? "" : "s");
        return llmri_err_set(err, LLMR_ERR_BUSY, "%d streams are generating and %d wait for "
                            "one of them to end (at most %d may wait)", e->n_parallel, q,
                            e->max_queued);
    }
    j->order = ++e->order;
    j->t_submit = llmri_now();
    j->state = LLMR_JOB_QUEUED;
    j->next = NULL;
    if (e->qtail)
        e->qtail->next = j;
    else
        e->qhead = j;
    e->qtail = j;
    e->n_queued++;
    if (!e->driving)              /* slots are stable between passes: take one now if free */
        admit(e);
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
    return LLMR_OK;
}

int llmri_engine_next(llmr_engine *e, llmr_job *j, int32_t *tok, bool *last,
                      llmr_token_logprob *lp, llmr_err *err)
{
    int rc;
    pthread_mutex_lock(&e->mu);
    for (;;) {
        if (j->n_ahead) {
            *tok = j->ahead[0];
            *last = j->ahead_last[0];
            if (lp && j->top_logprobs >= 0) {
                *lp = j->ahead_lp[0];
                memmove(j->ahead_lp, j->ahead_lp + 1, (size_t)(j->n_ahead - 1) * sizeof *lp);
            }
            j->n_ahead--;
            memmove(j->ahead, j->ahead + 1, (size_t)j->n_ahead * sizeof *j->ahead);
            memmove(j->ahead_last, j->ahead_last + 1, (size_t)j->n_ahead * sizeof *j->ahead_last);
            rc = LLMR_OK;
            break;
        }
        if (j->end_rc) {
            rc = llmri_err_set(err, j->end_rc, "%s", j->end_err.msg);
            break;
        }
        if (atomic_load(&j->cancel)) {
            rc = llmri_err_set(err, LLMR_ERR_CANCELLED, "stopped");
            break;
        }
        if (j->state == LLMR_JOB_IDLE || j->over) {
            rc = llmri_err_set(err, LLMR_ERR_STATE, "the stream has no more tokens to give");
            break;
        }
        if (!e->driving && has_work(e))
            drive(e);
        else
            pthread_cond_wait(&e->cv, &e->mu);
    }
    pthread_mutex_unlock(&e->mu);
    return rc;
}

void llmri_engine_leave(llmr_engine *e, llmr_job *j)
{
    pthread_mutex_lock(&e->mu);
    while (j->in_pass)
        pthread_cond_wait(&e->cv, &e->mu);
    if (j->state == LLMR_JOB_QUEUED)
        dequeue(e, j);
    else if (j->state != LLMR_JOB_IDLE)
        e->slots[j->slot].job = NULL;        /* the cache stays for the next job */
    j->state = LLMR_JOB_IDLE;
    if (!e->driving)
        admit(e);                            /* a queued job takes the slot now */
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

void llmri_engine_cancel(llmr_engine *e, llmr_job *j)
{
    atomic_store(&j->cancel, true);
    pthread_mutex_lock(&e->mu);
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

bool llmri_engine_queued(llmr_engine *e, llmr_job *j)
{
    pthread_mutex_lock(&e->mu);
    bool q = j->state == LLMR_JOB_QUEUED;
    pthread_mutex_unlock(&e->mu);
    return q;
}

void llmri_engine_prompt_info(llmr_engine *e, llmr_job *j, uint32_t *n_cached, double *prompt_s)
{
    pthread_mutex_lock(&e->mu);
    *n_cached = j->n_cached;
    *prompt_s = j->t_prompt > 0 ? j->t_prompt - j->t_slot : 0;
    pthread_mutex_unlock(&e->mu);
}

/* ---- the engine ------------------------------------------------------------------------------ */

int llmri_engine_configure(llmr_engine *e, int n_parallel, int n_ctx, int max_queued,
                          llmr_err *err)
{
    if (n_parallel < 1 || n_parallel > LLMR_MAX_BATCH_SEQS || n_ctx < 0 || max_queued < -1)
        return llmri_err_set(err, LLMR_ERR_ARG, "%d slots of %d positions, queue %d: expected 1 "
                            "to %d slots, at least 2 positions, a queue of -1 or more",
                            n_parallel, n_ctx, max_queued, LLMR_MAX_BATCH_SEQS);
    pthread_mutex_lock(&e->mu);
    int rc = LLMR_OK;
    if (e->n_slots || e->qhead)
        rc = llmri_err_set(err, LLMR_ERR_STATE, "the model's batching is set before its first "
                          "stream");
    else {
        e->n_parallel = n_parallel;
        e->n_ctx = n_ctx ? n_ctx : llmri_model_n_ctx(e->m);
        e->max_queued = max_queued;
    }
    pthread_mutex_unlock(&e->mu);
    return rc;
}

int llmri_engine_n_ctx(const llmr_engine *e) { return e->n_ctx; }

void llmri_engine_stats_get(llmr_engine *e, llmr_engine_stats *st)
{
    pthread_mutex_lock(&e->mu);
    *st = e->st;
    st->n_slots = e->n_parallel;
    st->queued = e->n_queued;
    st->active = 0;
    for (int i = 0; i < e->n_slots; i++)
        st->active += e->slots[i].job != NULL;
    pthread_mutex_unlock(&e->mu);
}

int llmri_engine_new(llmr_model *m, int n_parallel, int max_queued,
                    bool (*is_eog)(const void *user, int32_t id), const void *eog_user,
                    llmr_engine **out, llmr_err *err)
{
    *out = NULL;
    llmr_engine *e = calloc(1, sizeof *e);
    if (!e)
        return llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory");
    e->m = m;
    e->n_parallel = n_parallel < 1 ? 1 : n_parallel > LLMR_MAX_BATCH_SEQS ? LLMR_MAX_BATCH_SEQS
                                                                          : n_parallel;
    e->max_queued = max_queued;
    e->n_ctx = llmri_model_n_ctx(m);
    e->is_eog = is_eog;
    e->eog_user = eog_user;
    e->step_s = STEP_S;
    /* For measuring the pass budget (bench/README.md), not a documented setting. */
    const char *ev = getenv("LLMR_SCHED_STEP_S");
    if (ev && atof(ev) > 0)
        e->step_s = atof(ev);
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    *out = e;
    return LLMR_OK;
}

void llmri_engine_free(llmr_engine *e)
{
    if (!e)
        return;
    for (int i = 0; i < e->n_slots; i++) {
        llmri_seq_free(e->slots[i].seq);
        free(e->slots[i].cache);
    }
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
    free(e);
}
