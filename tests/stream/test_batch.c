/* test_batch.c - the generation engine through the public API: many streams on one model are
 * decoded together (continuous batching), and each behaves exactly as it does alone - same
 * pieces, tokens and usage at temperature 0, with stop sequences, filters and callbacks - while
 * others are queued, cancelled (queued, prefilling, decoding), paused, or fail.
 *
 * States are held by construction, never by timing: n_parallel 1 makes the second stream wait
 * for the first; one thread pulling several streams in turn decides what each pass holds; and
 * LLMR_SCHED_STEP_S (the engine's pass budget) is set tiny so a prompt opened while others
 * generate is evaluated in chunks of at most 16 rows, over several passes. */
#include "test_util.h"
#include "llmr.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>

#define STORIES "models/stories260K.gguf"
#define MAX_PIECES 512

static const char *PROMPTS[] = {
    "Once upon a time, there was a little girl named Lily. She loved to play outside",
    "Tom had a red ball.",
    "One day, a big dog came to the park and",
    ("The sun was shining and the birds were singing. Sara wanted to go to the beach with her "
     "mom and dad, but it was"),
    "Ben and his friend",
    "Once upon a time, there was a little girl named Lily. She had a cat",
    "A little bird sat on a tree.",
    "Mia found a shiny stone in the garden",
};
#define N_PROMPTS ((int)(sizeof PROMPTS / sizeof *PROMPTS))

static llmr_model *open_model(const char *path, int n_parallel)
{
    llmr_model_opts mo = llmr_model_defaults();
    mo.n_threads = 1;          /* the CI machine is small and shared */
    mo.n_parallel = n_parallel;
    llmr_model *m;
    int rc = llmr_model_open(path, &mo, &m);
    if (rc != LLMR_OK)
        fail_msg("%s: %s", path, llmr_model_errmsg(m));
    return m;
}

/* One stream's record: every piece with the token behind it, and how it ended. */
typedef struct rec {
    llmr_stream *s;
    char         text[8192];
    size_t       len;
    int          n;
    int32_t      tok[MAX_PIECES];
    uint32_t     ntok[MAX_PIECES];
    int          rc;
    bool         done;
    llmr_usage   u;
    char         err[512];
} rec;

static void rec_open(llmr_model *m, const char *prompt, const llmr_gen_opts *o, rec *r)
{
    memset(r, 0, sizeof *r);
    int rc = llmr_stream_open(m, prompt, o, &r->s);
    if (rc != LLMR_OK)
        fail_msg("open: %s", llmr_stream_errmsg(r->s));
}

/* Pulls one piece (or the end); false once the stream has ended. */
static bool rec_step(rec *r)
{
    if (r->done)
        return false;
    llmr_piece p;
    int rc = llmr_stream_next(r->s, &p);
    if (rc == LLMR_PIECE) {
        assert_true(r->n < MAX_PIECES && r->len + p.len < sizeof r->text);
        memcpy(r->text + r->len, p.text, p.len);
        r->len += p.len;
        r->tok[r->n] = p.token;
        r->ntok[r->n++] = p.n_tokens;
        return true;
    }
    r->rc = rc;
    r->done = true;
    llmr_stream_usage(r->s, &r->u);
    snprintf(r->err, sizeof r->err, "%s", llmr_stream_errmsg(r->s));
    return false;
}

static void rec_close(rec *r)
{
    llmr_stream_close(r->s);
    r->s = NULL;
}

static void rec_pull(llmr_model *m, const char *prompt, const llmr_gen_opts *o, rec *r)
{
    rec_open(m, prompt, o, r);
    while (rec_step(r))
        ;
    rec_close(r);
}

/* The stream alone: on a model of its own that runs one stream at a time. */
static void lone(const char *path, const char *prompt, const llmr_gen_opts *o, rec *r)
{
    llmr_model *m = open_model(path, 1);
    rec_pull(m, prompt, o, r);
    llmr_model_close(m);
}

/* Same pieces, same tokens behind them, same end, same counts. */
static void assert_same_run(const rec *a, const rec *b)
{
    assert_int_equal(a->rc, b->rc);
    assert_int_equal(a->len, b->len);
    assert_memory_equal(a->text, b->text, a->len);
    assert_int_equal(a->n, b->n);
    assert_memory_equal(a->tok, b->tok, (size_t)a->n * sizeof *a->tok);
    assert_memory_equal(a->ntok, b->ntok, (size_t)a->n * sizeof *a->ntok);
    assert_int_equal(a->u.finish, b->u.finish);
    assert_int_equal(a->u.prompt_tokens, b->u.prompt_tokens);
    assert_int_equal(a->u.generated_tokens, b->u.generated_tokens);
    assert_int_equal(a->u.pieces, b->u.pieces);
    assert_int_equal(a->u.text_bytes, b->u.text_bytes);
    assert_int_equal(a->u.attempts, b->u.attempts);
}

static llmr_gen_opts greedy(int n)
{
    llmr_gen_opts o = llmr_gen_defaults();
    o.max_tokens = n;
    o.sampling.temperature = 0;
    o.max_retries = 0;         /* a refused open fails at once instead of backing off */
    return o;
}

/* ---- batched equals alone -------------------------------------------------------------------- */

static const char *upper_filter(void *user, const char *text, size_t len, size_t *out_len)
{
    char *buf = user;          /* 4 KiB, the filter's own */
    if (len >= 4096)
        return text;
    for (size_t i = 0; i < len; i++)
        buf[i] = (text[i] >= 'a' && text[i] <= 'z') ? (char)(text[i] - 32) : text[i];
    *out_len = len;
    return buf;
}

static void count_piece(void *user, const llmr_piece *p)
{
    (void)p;
    atomic_fetch_add((atomic_int *)user, 1);
}

/* The options of stream k: plain greedy, or with a stop sequence, a filter, a callback, a
 * sampled (seeded) draw. */
typedef struct variety {
    llmr_gen_opts o;
    char          stop[16];
    char          fbuf[4096];
    llmr_filter   f;
    atomic_int    calls;
} variety;

static void make_opts(int k, const char *path, variety *v)
{
    memset(v, 0, sizeof *v);
    v->o = greedy(40 + 7 * k);
    switch (k % 4) {
    case 1: {                  /* a stop sequence from the middle of its own text */
        rec r;
        lone(path, PROMPTS[k], &v->o, &r);
        assert_true(r.len > 30);
        memcpy(v->stop, r.text + r.len / 2, 5);
        v->o.stop[0] = v->stop;
        break;
    }
    case 2:
        v->f = (llmr_filter){upper_filter, v->fbuf};
        v->o.filters = &v->f;
        v->o.n_filters = 1;
        break;
    case 3:
        v->o.cb.on_token = count_piece;
        v->o.cb.user = &v->calls;
        v->o.sampling.temperature = 0.9f;   /* sampled, but seeded: the same draw alone */
        v->o.sampling.seed = 1234u + (unsigned)k;
        break;
    default:
        break;
    }
}

static void streams_pulled_in_turn_equal_their_lone_runs_token_for_token(void **state)
{
    (void)state;
    REQUIRE_SHARED(path, STORIES);
    static variety v[N_PROMPTS];
    static rec ref[N_PROMPTS], got[N_PROMPTS];
    for (int k = 0; k < N_PROMPTS; k++) {
        make_opts(k, path, &v[k]);
        lone(path, PROMPTS[k], &v[k].o, &ref[k]);
        assert_int_equal(ref[k].rc, LLMR_DONE);
        atomic_store(&v[k].calls, 0);
    }
    llmr_model *m = open_model(path, 4);
    /* Half now; the other half after a few passes, so their prompts are evaluated in passes
     * that also carry the first half's decode tokens; four slots for eight streams, so some
     * queue and take the slots of the streams that end. */
    for (int k = 0; k < N_PROMPTS / 2; k++)
        rec_open(m, PROMPTS[k], &v[k].o, &got[k]);
    for (int round = 0; round < 3; round++)
        for (int k = 0; k < N_PROMPTS / 2; k++)
            rec_step(&got[k]);
    for (int k = N_PROMPTS / 2; k < N_PROMPTS; k++)
        rec_open(m, PROMPTS[k], &v[k].o, &got[k]);
    /* A queued stream is not pulled: its next() would wait for a slot that only the streams
     * this thread pulls can free (llmr.h, "Threads"). */
    for (bool any = true; any;) {
        any = false;
        for (int k = 0; k < N_PROMPTS; k++) {
            if (!got[k].done && llmr_stream_status(got[k].s) == LLMR_STATUS_QUEUED) {
                any = true;
                continue;
            }
            any |= rec_step(&got[k]);   /* a stream that ends frees its slot */
        }
    }
    for (int k = 0; k < N_PROMPTS; k++) {
        print_message("stream %d: %u tokens, %u pieces, finish %s\n", k,
                      got[k].u.generated_tokens, got[k].u.pieces,
                      llmr_finish_name(got[k].u.finish));
        assert_same_run(&ref[k], &got[k]);
        rec_close(&got[k]);
    }
    for (int k = 3; k < N_PROMPTS; k += 4)
        assert_int_equal(atomic_load(&v[k].calls), got[k].u.pieces);
    llmr_model_close(m);
}

typedef struct worker {
    llmr_model   *m;
    int           k;
    variety      *v;
    rec          *r;
} worker;

static void *pull_thread(void *arg)
{
    worker *w = arg;
    rec_pull(w->m, PROMPTS[w->k], &w->v->o, w->r);
    return NULL;
}

static void concurrent_threads_at_temperature_0_equal_their_lone_runs(void **state)
{
    (void)state;
    REQUIRE_SHARED(path, STORIES);
    static variety v[N_PROMPTS];
    static rec ref[N_PROMPTS], got[N_PROMPTS];
    for (int k = 0; k < N_PROMPTS; k++) {
        v[k].o = greedy(48);
        lone(path, PROMPTS[k], &v[k].o, &ref[k]);
    }
    llmr_model *m = open_model(path, 4);
    pthread_t th[N_PROMPTS];
    worker w[N_PROMPTS];
    for (int k = 0; k < N_PROMPTS; k++) {
        w[k] = (worker){m, k, &v[k], &got[k]};
        assert_int_equal(pthread_create(&th[k], NULL, pull_thread, &w[k]), 0);
    }
    for (int k = 0; k < N_PROMPTS; k++)
        pthread_join(th[k], NULL);
    for (int k = 0; k < N_PROMPTS; k++)
        assert_same_run(&ref[k], &got[k]);
    llmr_model_close(m);
}

/* Two streams with one prompt, opened together: the second copies the first's evaluated
 * prompt (all but the last token, whose logits it needs) instead of computing it. */
static void a_prefix_shared_across_slots_is_computed_once(void **state)
{
    (void)state;
    REQUIRE_SHARED(path, STORIES);
    llmr_gen_opts o = greedy(24);
    o.no_cache = false;
    rec ref, a, b;
    lone(path, PROMPTS[0], &o, &ref);
    llmr_model *m = open_model(path, 2);
    rec_open(m, PROMPTS[0], &o, &a);
    rec_open(m, PROMPTS[0], &o, &b);
    for (bool more = true; more;)
        more = rec_step(&a) + rec_step(&b) > 0;   /* in turn, both every time */
    assert_same_run(&ref, &a);
    assert_same_run(&ref, &b);
    assert_int_equal(a.u.cached_tokens, 0);
    assert_int_equal(b.u.cached_tokens, b.u.prompt_tokens - 1);
    rec_close(&a);
    rec_close(&b);
    llmr_model_close(m);
}

/* ---- the queue ------------------------------------------------------------------------------ */

static void streams_beyond_n_parallel_queue_oldest_first(void **state)
{
    (void)state;
    REQUIRE_SHARED(path, STORIES);
    llmr_gen_opts o = greedy(12);
    rec ref[3], r[3];
    for (int k = 0; k < 3; k++)
        lone(path, PROMPTS[k], &o, &ref[k]);
    llmr_model *m = open_model(path, 1);
    for (int k = 0; k < 3; k++)
        rec_open(m, PROMPTS[k], &o, &r[k]);
    assert_int_equal(llmr_stream_status(r[0].s), LLMR_STATUS_RUNNING);
    assert_int_equal(llmr_stream_status(r[1].s), LLMR_STATUS_QUEUED);
    assert_int_equal(llmr_stream_status(r[2].s), LLMR_STATUS_QUEUED);
    while (rec_step(&r[0]))
        ;
    rec_close(&r[0]);
    assert_int_equal(llmr_stream_status(r[1].s), LLMR_STATUS_RUNNING);   /* the older one */
    assert_int_equal(llmr_stream_status(r[2].s), LLMR_STATUS_QUEUED);
    while (rec_step(&r[1]))
        ;
    rec_close(&r[1]);
    assert_int_equal(llmr_stream_status(r[2].s), LLMR_STATUS_RUNNING);
    while (rec_step(&r[2]))
        ;
    rec_close(&r[2]);
    for (int k = 0; k < 3; k++)
        assert_same_run(&ref[k], &r[k]);
    llmr_model_close(m);
}

static void *next_thread(void *arg)
{
    rec_step(arg);
    return NULL;
}

static void cancel_while_queued(void **state)
{
    (void)state;
    REQUIRE_SHARED(path, STORIES);
    llmr_gen_opts o = greedy(16);
    rec ref, a, b, c;
    lone(path, PROMPTS[0], &o, &ref);
    llmr_model *m = open_model(path, 1);
    rec_open(m, PROMPTS[0], &o, &a);
    rec_open(m, PROMPTS[1], &o, &b);
    rec_open(m, PROMPTS[2], &o, &c);
    assert_int_equal(llmr_stream_status(b.s), LLMR_STATUS_QUEUED);
    /* stopped before anyone pulls it */
    llmr_stream_stop(b.s);
    assert_false(rec_step(&b));
    assert_int_equal(b.rc, LLMR_DONE);
    assert_int_equal(b.u.finish, LLMR_FINISH_CANCELLED);
    assert_int_equal(b.u.generated_tokens, 0);
    rec_close(&b);
    /* stopped while its owner waits in next() for a slot that A holds: the wait ends (the
     * waiting thread may run A's passes meanwhile; A's tokens wait for A) */
    assert_int_equal(llmr_stream_status(c.s), LLMR_STATUS_QUEUED);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, next_thread, &c), 0);
    llmr_stream_stop(c.s);
    pthread_join(th, NULL);
    assert_int_equal(c.rc, LLMR_DONE);
    assert_int_equal(c.u.finish, LLMR_FINISH_CANCELLED);
    assert_int_equal(c.n, 0);
    rec_close(&c);
    while (rec_step(&a))
        ;
    assert_same_run(&ref, &a);
    rec_close(&a);
    llmr_model_close(m);
}

static void cancel_while_prefilling(void **state)
{
    (void)state;
    REQUIRE_SHARED(path, STORIES);
    llmr_gen_opts o = greedy(30);
    rec ref, a, b;
    lone(path, PROMPTS[1], &o, &ref);
    llmr_model *m = open_model(path, 2);
    rec_open(m, PROMPTS[1], &o, &a);
    assert_true(rec_step(&a));                      /* A generates */
    rec_open(m, PROMPTS[3], &o, &b);                /* 30-odd prompt tokens */
    assert_true(rec_step(&a));                      /* one pass: A's token + B's first chunk */
    llmr_stream_stop(b.s);
    assert_false(rec_step(&b));
    assert_int_equal(b.rc, LLMR_DONE);
    assert_int_equal(b.u.finish, LLMR_FINISH_CANCELLED);
    assert_int_equal(b.u.generated_tokens, 0);
    rec_close(&b);
    while (rec_step(&a))
        ;
    assert_same_run(&ref, &a);
    rec_close(&a);
    /* the slot B left is reusable: a new stream on it runs as it does alone */
    lone(path, PROMPTS[3], &o, &ref);
    rec_pull(m, PROMPTS[3], &o, &b);
    assert_same_run(&ref, &b);
    llmr_model_close(m);
}

static void cancel_while_decoding(void **state)
{
    (void)state;
    REQUIRE_SHARED(path, STORIES);
    llmr_gen_opts o = greedy(40);
    o.ignore_eos = true;
    rec ref, a, b;
    lone(path, PROMPTS[2], &o, &ref);
    llmr_model *m = open_model(path, 2);
    rec_open(m, PROMPTS[2], &o, &a);
    rec_open(m, PROMPTS[4], &o, &b);
    for (int i = 0; i < 5; i++) {
        assert_true(rec_step(&a));
        assert_true(rec_step(&b));
    }
    llmr_stream_stop(b.s);
    assert_false(rec_step(&b));
    assert_int_equal(b.rc, LLMR_DONE);
    assert_int_equal(b.u.finish, LLMR_FINISH_CANCELLED);
    assert_int_equal(b.n, 5);
    assert_true(b.u.generated_tokens >= 5 && b.u.generated_tokens < 40);
    assert_int_equal(llmr_stream_status(b.s), LLMR_STATUS_FINISHED);
    while (rec_step(&a))
        ;
    assert_same_run(&ref, &a);
    rec_close(&a);
    rec_close(&b);
    llmr_model_close(m);
}

/* ---- pause, errors --------------------------------------------------------------------------- */

static void pause_one_stream_while_others_run(void **state)
{
    (void)state;
    REQUIRE_SHARED(path, STORIES);
    llmr_gen_opts o = greedy(40);
    o.ignore_eos = true;
    rec ra, rb, a, b;
    lone(path, PROMPTS[0], &o, &ra);
    lone(path, PROMPTS[6], &o, &rb);
    llmr_model *m = open_model(path, 2);
    rec_open(m, PROMPTS[0], &o, &a);
    rec_open(m, PROMPTS[6], &o, &b);
    for (int i = 0; i < 4; i++) {
        rec_step(&a);
        rec_step(&b);
    }
    assert_int_equal(llmr_stream_pause(b.s), LLMR_OK);
    assert_int_equal(llmr_stream_status(b.s), LLMR_STATUS_PAUSED);
    llmr_usage before, after;
    llmr_stream_usage(b.s, &before);
    while (rec_step(&a))                            /* A runs to its end meanwhile */
        ;
    llmr_stream_usage(b.s, &after);
    assert_int_equal(after.generated_tokens, before.generated_tokens);
    assert_int_equal(after.pieces, before.pieces);
    assert_int_equal(llmr_stream_status(b.s), LLMR_STATUS_PAUSED);
    assert_int_equal(llmr_stream_resume(b.s), LLMR_OK);
    while (rec_step(&b))
        ;
    assert_same_run(&ra, &a);
    assert_same_run(&rb, &b);
    rec_close(&a);
    rec_close(&b);
    llmr_model_close(m);
}

static void a_stream_that_errors_does_not_disturb_the_others(void **state)
{
    (void)state;
    REQUIRE_SHARED(path, STORIES);
    llmr_gen_opts o = greedy(30);
    rec ra, rc_, a, bad, c;
    lone(path, PROMPTS[0], &o, &ra);
    lone(path, PROMPTS[2], &o, &rc_);
    llmr_model *m = open_model(path, 3);
    /* every token banned: sampling fails once the prompt is evaluated */
    int32_t nv;
    {
        llmr_tokenizer *t;
        assert_int_equal(llmr_tokenizer_open(path, &t), LLMR_OK);
        nv = llmr_tokenizer_n_vocab(t);
        llmr_tokenizer_close(t);
    }
    llmr_logit_bias *ban = calloc((size_t)nv, sizeof *ban);
    for (int32_t i = 0; i < nv; i++)
        ban[i] = (llmr_logit_bias){i, -INFINITY};
    llmr_gen_opts ob = o;
    ob.sampling.logit_bias = ban;
    ob.sampling.n_logit_bias = (size_t)nv;
    rec_open(m, PROMPTS[0], &o, &a);
    rec_open(m, PROMPTS[1], &ob, &bad);
    free(ban);
    rec_open(m, PROMPTS[2], &o, &c);
    assert_true(rec_step(&a));                      /* the pass that fails B serves A and C */
    assert_false(rec_step(&bad));
    assert_int_equal(bad.rc, LLMR_ERR_STATE);
    assert_int_equal(bad.u.finish, LLMR_FINISH_ERROR);
    assert_non_null(strstr(bad.err, "banned"));
    rec_close(&bad);
    for (bool more = true; more;)
        more = rec_step(&a) + rec_step(&c) > 0;
    assert_same_run(&ra, &a);
    assert_same_run(&rc_, &c);
    rec_close(&a);
    rec_close(&c);
    llmr_model_close(m);
}

int main(void)
{
    /* Passes that carry decode tokens take prompt chunks of at most 16 rows (the engine's
     * floor), so prompts opened while others generate span several mixed passes. */
    setenv("LLMR_SCHED_STEP_S", "0.000000001", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(streams_pulled_in_turn_equal_their_lone_runs_token_for_token),
        cmocka_unit_test(concurrent_threads_at_temperature_0_equal_their_lone_runs),
        cmocka_unit_test(a_prefix_shared_across_slots_is_computed_once),
        cmocka_unit_test(streams_beyond_n_parallel_queue_oldest_first),
        cmocka_unit_test(cancel_while_queued),
        cmocka_unit_test(cancel_while_prefilling),
        cmocka_unit_test(cancel_while_decoding),
        cmocka_unit_test(pause_one_stream_while_others_run),
        cmocka_unit_test(a_stream_that_errors_does_not_disturb_the_others),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
