/* controllable_stream.c - the guide's "Controllable Streaming": one thread reads the stream
 * while a controller pauses it at 3 s, resumes it at 6 s and stops it at 15 s, as in the guide.
 * The reader prints at a reading pace of 40 ms a piece (the guide's model was slow; this keeps a
 * tiny model busy for the whole timeline). LLMR_EXAMPLE_SCALE scales every time.
 *   usage: controllable_stream MODEL.gguf [PROMPT] */
#include "example_util.h"

#include <pthread.h>
#include <stdatomic.h>

typedef struct shared {
    llmr_stream *s;
    atomic_int   pieces;          /* pieces the reader has received */
} shared;

static void *controller(void *arg)
{
    shared *sh = arg;
    example_sleep_ms(3000);
    llmr_stream_pause(sh->s);
    /* A piece handed out just before the pause may still be on its way to the reader. */
    struct timespec grace = {0, 20 * 1000000L};
    nanosleep(&grace, NULL);
    int at_pause = atomic_load(&sh->pieces);
    printf("\n⏸️ Stream paused after %d pieces (status %s)\n", at_pause,
           llmr_stream_status(sh->s) == LLMR_STATUS_PAUSED ? "paused" : "not paused");
    example_sleep_ms(3000);
    printf("\n▶️ Stream resumed after %d pieces\n", atomic_load(&sh->pieces));
    llmr_stream_resume(sh->s);
    example_sleep_ms(9000);
    llmr_stream_stop(sh->s);
    printf("\n⏹️ Stream stopped after %d pieces\n", atomic_load(&sh->pieces));
    return NULL;
}

int main(int argc, char **argv)
{
    llmr_model *m = example_model(argc, argv, " [PROMPT]");
    const char *prompt = argc > 2 ? argv[2] : "Write a long essay about artificial intelligence";
    llmr_gen_opts o = llmr_gen_defaults();
    o.max_tokens = 1000;
    o.sampling.temperature = 0.7f;
    o.sampling.seed = example_seed();
    o.ignore_eos = true;          /* a tiny story model ends stories early; keep it writing */

    shared sh = {0};
    if (llmr_stream_open(m, prompt, &o, &sh.s) != LLMR_OK) {
        fprintf(stderr, "❌ %s\n", llmr_stream_errmsg(sh.s));
        llmr_stream_close(sh.s);
        llmr_model_close(m);
        return 1;
    }
    pthread_t th;
    pthread_create(&th, NULL, controller, &sh);
    llmr_piece p;
    int rc;
    while ((rc = llmr_stream_next(sh.s, &p)) == LLMR_PIECE) {
        atomic_fetch_add(&sh.pieces, 1);
        fwrite(p.text, 1, p.len, stdout);
        fflush(stdout);
        example_sleep_ms(40);
    }
    pthread_join(th, NULL);
    llmr_usage u;
    llmr_stream_usage(sh.s, &u);
    printf("\n🏁 Stream finished: %d pieces, %u tokens, finish reason %s, %.1f s generating of "
           "%.1f s\n", atomic_load(&sh.pieces), u.generated_tokens, llmr_finish_name(u.finish),
           u.gen_s, u.total_s);
    if (rc != LLMR_DONE)
        fprintf(stderr, "Stream error: %s\n", llmr_stream_errmsg(sh.s));
    llmr_stream_close(sh.s);
    llmr_model_close(m);
    return rc == LLMR_DONE ? 0 : 1;
}
