/* robust_streaming.c - the guide's "Robust Streaming with Retries": load a model with a
 * fallback path (might-fail-model, then the backup), and stream with retries and exponential
 * backoff (3 retries, 1000 ms doubling). To have a retryable error to recover from, the model
 * is opened to run one stream at a time with no queue (n_parallel 1, max_queued -1), and a
 * background request holds it for 2.5 s first: ours gets LLMR_ERR_BUSY, waits 1 s, then 2 s,
 * and goes through. LLMR_EXAMPLE_SCALE scales the times.
 *   usage: robust_streaming BACKUP_MODEL.gguf [PRIMARY_MODEL.gguf]
 * The primary (the might-fail model; default models/might-fail-model.gguf) is tried first,
 * then the backup; the output names which one loaded with the same words. */
#include "example_util.h"

#include <pthread.h>

static double t0;

static void on_retry(void *user, int attempt, unsigned delay_ms, int code, const char *msg)
{
    printf("\n⚠️ [%.2f s] Stream error (attempt %d), retrying in %ums...\n", example_now() - t0,
           attempt, delay_ms);
    printf("Error: %s\n", msg);
}

/* Another request holding the model: reads its stream for 2.5 s, then lets go. */
static void *background(void *arg)
{
    llmr_stream *s = arg;
    double until = example_now() + 2.5 * example_scale();
    llmr_piece p;
    while (example_now() < until && llmr_stream_next(s, &p) == LLMR_PIECE)
        example_sleep_ms(20);
    llmr_stream_close(s);
    printf("\n[%.2f s] the background request is done\n", example_now() - t0);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s BACKUP_MODEL.gguf [PRIMARY_MODEL.gguf]\n"
                        "  the primary (might-fail) model is tried first (default "
                        "models/might-fail-model.gguf), then the backup\n", argv[0]);
        return 2;
    }
    const char *paths[] = {argc > 2 ? argv[2] : "models/might-fail-model.gguf", argv[1]};
    llmr_model *m;
    size_t which;
    char why[1024];
    llmr_model_opts mo = example_model_opts();
    mo.n_parallel = 1;      /* one stream at a time ... */
    mo.max_queued = -1;     /* ... and a second is refused (LLMR_ERR_BUSY) instead of queued */
    if (llmr_model_open_first(paths, 2, &mo, &m, &which, why, sizeof why) != LLMR_OK) {
        fprintf(stderr, "❌ No model could be loaded:\n%s\n", why);
        return 1;
    }
    if (which > 0)
        printf("Loading backup model... (%s)\n", why);
    printf("Loaded the %s model: %s\n", which ? "backup" : "primary", paths[which]);

    llmr_gen_opts bg = llmr_gen_defaults();
    bg.max_tokens = 0;
    bg.ignore_eos = true;
    bg.sampling.seed = 1;
    llmr_stream *other;
    if (llmr_stream_open(m, "A background request", &bg, &other) != LLMR_OK) {
        fprintf(stderr, "❌ %s\n", llmr_stream_errmsg(other));
        return 1;
    }
    t0 = example_now();
    pthread_t th;
    pthread_create(&th, NULL, background, other);

    llmr_gen_opts o = llmr_gen_defaults();
    o.max_tokens = example_max_tokens(300);
    o.sampling.temperature = 0.7f;
    o.sampling.seed = example_seed();
    o.max_retries = 3;
    o.retry_delay_ms = (unsigned)(1000 * example_scale());
    o.backoff = 2.0;
    o.cb.on_retry = on_retry;
    llmr_stream *s;
    int rc = llmr_stream_open(m, "Explain quantum computing", &o, &s);
    llmr_piece p;
    if (rc == LLMR_OK)
        while ((rc = llmr_stream_next(s, &p)) == LLMR_PIECE) {
            fwrite(p.text, 1, p.len, stdout);
            fflush(stdout);
        }
    if (rc == LLMR_DONE)
        printf("\n✅ Streaming completed successfully\n");
    else
        fprintf(stderr, "\n❌ Streaming failed permanently: %s\n", llmr_stream_errmsg(s));
    llmr_usage u;
    llmr_stream_usage(s, &u);
    printf("attempts: %d\n", u.attempts);
    llmr_stream_close(s);
    pthread_join(th, NULL);
    llmr_model_close(m);
    return rc == LLMR_DONE ? 0 : 1;
}
