/* test_stream_control.c - stop, pause, resume and status from another thread, over a
 * scripted source that takes a little time per token.
 *
 * Written to be run under ThreadSanitizer as well:
 *   cmake -S . -B build-tsan -DLLMR_TSAN=ON -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo
 *   cmake --build build-tsan -j2 --target test_stream_control && build-tsan/test_stream_control
 * (tests/stream/tsan.sh does exactly this when LLMR_TSAN_RUN=1.) */
#include "test_util.h"
#include "mock_source.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

typedef struct shared {
    llmr_stream *s;
    atomic_int   pieces;          /* pieces the consumer has received */
    atomic_int   at_stop;         /* pieces when stop returned */
    atomic_int   paused_from, paused_to;
    atomic_int   status_while_paused;
    atomic_int   control_rc;      /* first failing control call's code (cmocka asserts only
                                     on the test's own thread) */
    int          stop_after;      /* pieces before the controller stops */
    bool         do_pause;
} shared;

static void wait_pieces(shared *sh, int n)
{
    while (atomic_load(&sh->pieces) < n)
        sleep_ms(1);
}

static void *controller(void *arg)
{
    shared *sh = arg;
    if (sh->do_pause) {
        wait_pieces(sh, 5);
        int rc = llmr_stream_pause(sh->s);
        if (rc != LLMR_OK)
            atomic_store(&sh->control_rc, rc);
        /* A piece in the making when pause was called may still arrive; after that, none. */
        sleep_ms(20);
        atomic_store(&sh->paused_from, atomic_load(&sh->pieces));
        atomic_store(&sh->status_while_paused, (int)llmr_stream_status(sh->s));
        sleep_ms(150);
        atomic_store(&sh->paused_to, atomic_load(&sh->pieces));
        if ((rc = llmr_stream_resume(sh->s)) != LLMR_OK)
            atomic_store(&sh->control_rc, rc);
    }
    wait_pieces(sh, sh->stop_after);
    llmr_stream_stop(sh->s);
    atomic_store(&sh->at_stop, atomic_load(&sh->pieces));
    return NULL;
}

static void run_controlled(shared *sh, unsigned step_us, int *after_stop, llmr_usage *u)
{
    const char *script[] = {"tick ", NULL};
    mock_source m;
    mock_init(&m, "mock", script);
    m.loop = true;
    m.step_us = step_us;
    llmr_source *src = &m.base;
    llmr_gen_opts o = llmr_gen_defaults();
    o.max_tokens = 0;
    assert_int_equal(llmri_stream_open_sources(&src, 1, "p", &o, &sh->s), LLMR_OK);
    assert_int_equal(llmr_stream_status(sh->s), LLMR_STATUS_RUNNING);
    pthread_t th;
    pthread_create(&th, NULL, controller, sh);
    llmr_piece p;
    int rc;
    while ((rc = llmr_stream_next(sh->s, &p)) == LLMR_PIECE)
        atomic_fetch_add(&sh->pieces, 1);
    pthread_join(th, NULL);
    assert_int_equal(rc, LLMR_DONE);
    assert_int_equal(atomic_load(&sh->control_rc), LLMR_OK);
    *after_stop = atomic_load(&sh->pieces) - atomic_load(&sh->at_stop);
    llmr_stream_usage(sh->s, u);
    assert_int_equal(llmr_stream_status(sh->s), LLMR_STATUS_FINISHED);
    assert_int_equal(llmr_stream_finish_reason(sh->s), LLMR_FINISH_CANCELLED);
    assert_int_equal(llmr_stream_pause(sh->s), LLMR_ERR_STATE);
    llmr_stream_close(sh->s);
}

static void stop_from_another_thread_ends_within_one_piece(void **state)
{
    shared sh = {0};
    sh.stop_after = 20;
    int after;
    llmr_usage u;
    run_controlled(&sh, 500, &after, &u);
    assert_true(after <= 1);
    assert_true(u.pieces >= 20);
    assert_int_equal(u.finish, LLMR_FINISH_CANCELLED);
}

static void no_pieces_arrive_while_paused(void **state)
{
    shared sh = {0};
    sh.stop_after = 15;
    sh.do_pause = true;
    int after;
    llmr_usage u;
    run_controlled(&sh, 500, &after, &u);
    assert_int_equal(atomic_load(&sh.status_while_paused), LLMR_STATUS_PAUSED);
    assert_int_equal(atomic_load(&sh.paused_to), atomic_load(&sh.paused_from));
    assert_true(atomic_load(&sh.pieces) >= 15);       /* it resumed */
    assert_true(after <= 1);
    /* 150+ ms paused are not generation time: 15-odd tokens at 0.5 ms take far less. */
    assert_true(u.gen_s < 0.150);
    assert_true(u.total_s >= 0.150);
}

static void *stop_later(void *arg)
{
    sleep_ms(50);
    llmr_stream_stop(arg);
    return NULL;
}

static void stop_wakes_a_paused_stream(void **state)
{
    const char *script[] = {"x", NULL};
    mock_source m;
    mock_init(&m, "mock", script);
    m.loop = true;
    llmr_source *src = &m.base;
    llmr_stream *s;
    assert_int_equal(llmri_stream_open_sources(&src, 1, "p", NULL, &s), LLMR_OK);
    llmr_piece p;
    assert_int_equal(llmr_stream_next(s, &p), LLMR_PIECE);
    assert_int_equal(llmr_stream_pause(s), LLMR_OK);
    pthread_t th;
    pthread_create(&th, NULL, stop_later, s);
    int steps = m.steps;
    assert_int_equal(llmr_stream_next(s, &p), LLMR_DONE);   /* blocks until the stop */
    pthread_join(th, NULL);
    assert_int_equal(m.steps, steps);
    assert_int_equal(llmr_stream_finish_reason(s), LLMR_FINISH_CANCELLED);
    llmr_stream_close(s);
}

static void stop_interrupts_a_retry_delay(void **state)
{
    const char *script[] = {"x", NULL};
    mock_source m;
    mock_init(&m, "mock", script);
    m.step_fail_at = 0;
    m.step_code = LLMR_ERR_BUSY;
    llmr_source *src = &m.base;
    llmr_gen_opts o = llmr_gen_defaults();
    o.retry_delay_ms = 60000;                       /* a minute: only a stop ends it soon */
    llmr_stream *s;
    assert_int_equal(llmri_stream_open_sources(&src, 1, "p", &o, &s), LLMR_OK);
    pthread_t th;
    pthread_create(&th, NULL, stop_later, s);
    double t0 = now_s();
    llmr_piece p;
    assert_int_equal(llmr_stream_next(s, &p), LLMR_DONE);
    assert_true(now_s() - t0 < 10.0);
    assert_int_equal(llmr_stream_finish_reason(s), LLMR_FINISH_CANCELLED);
    pthread_join(th, NULL);
    llmr_stream_close(s);
}

static void control_calls_accept_null(void **state)
{
    llmr_stream_stop(NULL);
    assert_int_equal(llmr_stream_pause(NULL), LLMR_ERR_ARG);
    assert_int_equal(llmr_stream_resume(NULL), LLMR_ERR_ARG);
    assert_int_equal(llmr_stream_status(NULL), LLMR_STATUS_FINISHED);
    llmr_stream_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stop_from_another_thread_ends_within_one_piece),
        cmocka_unit_test(no_pieces_arrive_while_paused),
        cmocka_unit_test(stop_wakes_a_paused_stream),
        cmocka_unit_test(stop_interrupts_a_retry_delay),
        cmocka_unit_test(control_calls_accept_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
