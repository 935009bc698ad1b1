/* event_streaming.c - the guide's "Streaming with Progress Events": llmr_generate() runs the
 * stream and calls back on start, every token, progress every 10 tokens, completion and error.
 *   usage: event_streaming MODEL.gguf [PROMPT] */
#include "example_util.h"

static void on_start(void *user, const char *prompt)
{
    printf("🎬 Starting generation: %s\n", prompt);
}

static void on_token(void *user, const llmr_piece *p)
{
    fwrite(p->text, 1, p->len, stdout);
    fflush(stdout);
}

static void on_progress(void *user, const llmr_progress *pr)
{
    printf("\n📊 Progress: %u tokens, %.1f chars/sec, %.1f tokens/sec\n", pr->tokens,
           pr->chars_per_s, pr->tokens_per_s);
    if (pr->eta_s >= 0)
        printf("⏱️ ETA: %.0fms\n", pr->eta_s * 1000);
}

static void on_complete(void *user, const llmr_result *r)
{
    printf("\n✅ Complete: %u tokens in %.0fms (%s), %zu bytes of text\n",
           r->usage.generated_tokens, r->usage.total_s * 1000, llmr_finish_name(r->usage.finish),
           r->len);
}

static void on_error(void *user, int code, const char *msg)
{
    fprintf(stderr, "\n❌ Error: %s (%s)\n", msg, llmr_strerror(code));
}

int main(int argc, char **argv)
{
    llmr_model *m = example_model(argc, argv, " [PROMPT]");
    const char *prompt = argc > 2 ? argv[2] : "Explain the theory of relativity in simple terms";
    llmr_gen_opts o = llmr_gen_defaults();
    o.max_tokens = example_max_tokens(500);
    o.sampling.temperature = 0.6f;
    o.sampling.seed = example_seed();
    o.progress_every = 10;
    o.cb = (llmr_callbacks){.on_start = on_start, .on_token = on_token,
                            .on_progress = on_progress, .on_complete = on_complete,
                            .on_error = on_error};
    int rc = llmr_generate(m, prompt, &o, NULL, NULL, NULL, 0);
    llmr_model_close(m);
    return rc == LLMR_OK ? 0 : 1;
}
