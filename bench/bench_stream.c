/* bench_stream.c - what the stream API costs over the engine's raw decode loop, and what the
 * prefix cache saves on a long prompt.
 *
 * 1. Overhead: the same greedy generation (ignore_eos, same prompt, same sampler) run two
 *    ways, interleaved, best of R rounds, single thread, CPU time of the calling thread
 *    (immune to preemption on a shared machine):
 *      raw:    llmri_seq_eval + llmri_sampler_sample/accept + llmr_token_to_piece per token
 *      stream: llmr_stream_open + llmr_stream_next (UTF-8 assembly, stop scan, control checks,
 *              events, filters), optionally with 4 stop sequences and a filter chain.
 *    Both produce the same text (checked), so the difference is the stream machinery. On a
 *    shared machine that A/B difference is noisy, so the stream's cost is also measured
 *    directly: the local source is wrapped in a source that times its step() calls, and the
 *    stream's own cost is the next() loop's time minus the time inside step().
 * 2. Prefix cache: a long prompt, then the same prompt with a different last sentence; the
 *    second request's prompt time with the cache and with no_cache.
 *
 * Build (CMake does not build it; see bench/README.md, section "stream"):
 *   cc -O2 -Isrc -Iinclude -Ibuild/generated bench/bench_stream.c build/libllmr.a \
 *      -lcjson -lutf8proc -lm -lpthread -o build/bench_stream
 * Run: build/bench_stream MODEL.gguf [tokens, default 400] [rounds, default 7]
 */
#include "model/model.h"
#include "sampler/sampler.h"
#include "stream/local.h"
#include "stream/text.h"
#include "tokenizer/tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static const char *PROMPT = "Once upon a time";

/* The engine alone: returns generation CPU seconds (prompt excluded); fills text. */
static double raw_loop(llmr_model *m, const llmr_tokenizer *tok, int n, char *text, size_t cap)
{
    llmr_seq *seq;
    llmr_sampler *smp;
    llmr_err err;
    llmr_sampling sp = llmr_sampling_defaults();
    sp.temperature = 0;
    int32_t prompt[64];
    size_t np;
    llmr_tokenize(tok, PROMPT, strlen(PROMPT), LLMR_TOK_ADD_SPECIAL | LLMR_TOK_PARSE_SPECIAL,
                  prompt, 64, &np);
    if (llmri_seq_new(m, 0, &seq) ||
        llmri_sampler_create(&smp, llmri_model_n_vocab(m), &sp, NULL, NULL, NULL, 0, &err)) {
        fprintf(stderr, "raw loop setup failed\n");
        exit(1);
    }
    llmri_sampler_add_history(smp, prompt, np);
    const float *logits;
    llmri_seq_eval(seq, prompt, (int)np, 0, false, &logits);
    size_t bytes = 0;
    text[0] = '\0';
    double t0 = cpu_now();
    for (int i = 0; i < n; i++) {
        int32_t t = llmri_sampler_sample(smp, logits, &err);
        llmri_sampler_accept(smp, t, &err);
        const char *piece;
        size_t len;
        llmr_token_to_piece(tok, t, false, &piece, &len);
        if (bytes + len < cap) {
            memcpy(text + bytes, piece, len);
            bytes += len;
            text[bytes] = '\0';
        }
        if (i + 1 < n)
            llmri_seq_eval(seq, &t, 1, (int)np + i, false, &logits);
    }
    double t = cpu_now() - t0;
    llmri_sampler_free(smp);
    llmri_seq_free(seq);
    return t;
}

/* A source that forwards to the local source and times its step() calls. */
typedef struct timed {
    llmr_source  base;
    llmr_source *inner;
    double       step_s;
} timed;

static int t_begin(llmr_source *src, const char *prompt, const llmr_gen_opts *o,
                   uint32_t *n_prompt, uint32_t *n_cached, llmr_err *err)
{
    timed *t = (timed *)src;
    return t->inner->ops->begin(t->inner, prompt, o, n_prompt, n_cached, err);
}

static int t_step(llmr_source *src, llmr_src_token *tok, llmr_err *err)
{
    timed *t = (timed *)src;
    double t0 = cpu_now();
    int rc = t->inner->ops->step(t->inner, tok, err);
    t->step_s += cpu_now() - t0;
    return rc;
}

static void t_end(llmr_source *src) { ((timed *)src)->inner->ops->end(((timed *)src)->inner); }
static void t_destroy(llmr_source *src) { ((timed *)src)->inner->ops->destroy(((timed *)src)->inner); }
static const llmr_source_ops timed_ops = {t_begin, t_step, t_end, t_destroy};

static const char *keep(void *user, const char *t, size_t n, size_t *out_len)
{
    (*(size_t *)user) += n;
    return t;
}

/* The same through the stream API: generation CPU seconds, measured around the next() loop
 * (open, which evaluates the prompt, is outside as in the raw loop), and *step_s the part of
 * it spent in the source's step(). */
static double stream_loop(llmr_model *m, int n, bool extras, char *text, size_t cap,
                          double *step_s)
{
    llmr_gen_opts o = llmr_gen_defaults();
    o.max_tokens = n;
    o.sampling.temperature = 0;
    o.ignore_eos = true;
    o.no_cache = true;
    size_t seen = 0;
    llmr_filter f[2] = {{keep, &seen}, {keep, &seen}};
    if (extras) {
        o.stop[0] = "\nHuman:";
        o.stop[1] = "THE END";
        o.stop[2] = "zzzz";
        o.stop[3] = "<|im_end|>";
        o.filters = f;
        o.n_filters = 2;
    }
    timed *tw = calloc(1, sizeof *tw);
    llmr_err err;
    if (llmri_local_source_new(m, &tw->inner, &err) != LLMR_OK) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    tw->base.ops = &timed_ops;
    llmr_source *src = &tw->base;
    llmr_stream *s;
    if (llmri_stream_open_sources(&src, 1, PROMPT, &o, &s) != LLMR_OK) {
        fprintf(stderr, "%s\n", llmr_stream_errmsg(s));
        exit(1);
    }
    tw->step_s = 0;
    llmr_piece p;
    double t0 = cpu_now();
    while (llmr_stream_next(s, &p) == LLMR_PIECE)
        ;
    double t = cpu_now() - t0;
    *step_s = tw->step_s;
    llmr_usage u;
    llmr_stream_usage(s, &u);
    if ((int)u.generated_tokens != n)
        fprintf(stderr, "stream made %u tokens, not %d\n", u.generated_tokens, n);
    snprintf(text, cap, "%s", llmr_stream_text(s, NULL));
    llmr_stream_close(s);
    free(tw);
    return t;
}

static void overhead(llmr_model *m, const llmr_tokenizer *tok, int n, int rounds)
{
    static char a[65536], b[65536], c[65536];
    double best_raw = 1e9, best_s = 1e9, best_x = 1e9, own_s = 1e9, own_x = 1e9, step;
    for (int r = 0; r < rounds; r++) {
        double t = raw_loop(m, tok, n, a, sizeof a);
        best_raw = t < best_raw ? t : best_raw;
        t = stream_loop(m, n, false, b, sizeof b, &step);
        best_s = t < best_s ? t : best_s;
        own_s = t - step < own_s ? t - step : own_s;
        t = stream_loop(m, n, true, c, sizeof c, &step);
        best_x = t < best_x ? t : best_x;
        own_x = t - step < own_x ? t - step : own_x;
    }
    /* The stream repairs ill-formed UTF-8 (a random model's stray byte tokens); so must the
     * raw text before comparing. */
    llmr_utf8 u8 = {0};
    llmr_buf fixed = {0};
    llmri_utf8_feed(&u8, a, strlen(a), &fixed);
    llmri_utf8_flush(&u8, &fixed);
    bool same = fixed.p && !strcmp(fixed.p, b) && !strcmp(fixed.p, c);
    llmri_buf_free(&fixed);
    printf("overhead, %d tokens, best of %d, CPU time of the generating thread%s:\n", n, rounds,
           same ? "" : " (TEXTS DIFFER)");
    printf("  raw decode loop              %9.3f ms  %8.1f tok/s\n", best_raw * 1e3,
           n / best_raw);
    printf("  stream API                   %9.3f ms  %8.1f tok/s  A/B %+6.2f%%\n",
           best_s * 1e3, n / best_s, (best_s / best_raw - 1) * 100);
    printf("  stream + 4 stops + 2 filters %9.3f ms  %8.1f tok/s  A/B %+6.2f%%\n",
           best_x * 1e3, n / best_x, (best_x / best_raw - 1) * 100);
    /* The wrapper's two clock reads per step land partly in the "own" time: measure them. */
    double c0 = cpu_now();
    for (int i = 0; i < 100000; i++)
        cpu_now();
    double clock_us = (cpu_now() - c0) / 100000 * 1e6;
    printf("  (one read of the thread CPU clock costs %.2f us; the step wrapper makes 2 per "
           "token)\n", clock_us);
    printf("  stream's own time (next() minus the source's step()): %.3f ms = %.2f us/token "
           "= %.3f%% of the raw loop\n", own_s * 1e3, own_s / n * 1e6, own_s / best_raw * 100);
    printf("  ... with 4 stops + 2 filters: %.3f ms = %.2f us/token = %.3f%% of the raw loop\n",
           own_x * 1e3, own_x / n * 1e6, own_x / best_raw * 100);
}

/* A source that does no work: the stream machinery alone, per token, with no timer inside. */
static const char *NULL_TOKENS[] = {" Once", " upon", " a", " time", ",", " there", " was", " a",
                                    " little", " girl", " named", " Lily", "."};
typedef struct null_src {
    llmr_source base;
    int         i;
} null_src;

static int n_begin(llmr_source *src, const char *prompt, const llmr_gen_opts *o,
                   uint32_t *n_prompt, uint32_t *n_cached, llmr_err *err)
{
    *n_prompt = 1;
    *n_cached = 0;
    return LLMR_OK;
}

static int n_step(llmr_source *src, llmr_src_token *tok, llmr_err *err)
{
    null_src *n = (null_src *)src;
    const char *t = NULL_TOKENS[n->i++ % 13];
    *tok = (llmr_src_token){t, strlen(t), n->i, false, false};
    return LLMR_OK;
}

static void n_end(llmr_source *src) {}
static void n_destroy(llmr_source *src) {}
static const llmr_source_ops null_ops = {n_begin, n_step, n_end, n_destroy};

static void machinery(int n, bool extras)
{
    null_src ns = {{&null_ops, "null"}, 0};
    llmr_source *src = &ns.base;
    llmr_gen_opts o = llmr_gen_defaults();
    o.max_tokens = n;
    size_t seen = 0;
    llmr_filter f[2] = {{keep, &seen}, {keep, &seen}};
    if (extras) {
        o.stop[0] = "\nHuman:";
        o.stop[1] = "THE END";
        o.stop[2] = "zzzz";
        o.stop[3] = "<|im_end|>";
        o.filters = f;
        o.n_filters = 2;
    }
    llmr_stream *s;
    llmri_stream_open_sources(&src, 1, "p", &o, &s);
    llmr_piece p;
    double t0 = cpu_now();
    while (llmr_stream_next(s, &p) == LLMR_PIECE)
        ;
    double t = cpu_now() - t0;
    llmr_stream_close(s);
    printf("  stream machinery alone (a source that does no work)%s: %.3f us/token\n",
           extras ? ", 4 stops + 2 filters" : "", t / n * 1e6);
}

static void prefix_cache(llmr_model *m, const llmr_tokenizer *tok)
{
    /* A long shared prompt (as a chat history or a system prompt would be), then a new tail. */
    char base[8192] = "";
    size_t nt = 0;
    int32_t ids[2048];
    while (nt < (size_t)llmri_model_n_ctx(m) * 3 / 4) {
        strcat(base, "Once upon a time, there was a little girl named Lily. She loved to play "
                     "outside in the park with her friends. ");
        llmr_tokenize(tok, base, strlen(base), LLMR_TOK_ADD_SPECIAL, ids, 2048, &nt);
    }
    char p1[8400], p2[8400];
    snprintf(p1, sizeof p1, "%sOne day, she saw a big red ball.", base);
    snprintf(p2, sizeof p2, "%sOne day, she found a little dog.", base);
    llmr_gen_opts o = llmr_gen_defaults();
    o.max_tokens = 1;
    o.sampling.temperature = 0;
    double best[2] = {1e9, 1e9}, prompt_s[2] = {1e9, 1e9};
    llmr_usage u[2];
    for (int r = 0; r < 5; r++)
        for (int cached = 0; cached < 2; cached++) {
            o.no_cache = false;
            llmr_generate(m, p1, &o, NULL, NULL, NULL, 0);        /* fills the cache */
            o.no_cache = !cached;
            double t0 = wall_now();
            llmr_generate(m, p2, &o, NULL, &u[cached], NULL, 0);
            double t = wall_now() - t0;
            best[cached] = t < best[cached] ? t : best[cached];
            if (u[cached].prompt_s < prompt_s[cached])
                prompt_s[cached] = u[cached].prompt_s;
        }
    printf("prefix cache, second request of %u prompt tokens sharing %u with the first "
           "(best of 5, wall):\n", u[1].prompt_tokens, u[1].cached_tokens);
    printf("  no_cache   prompt %8.3f ms (%u tokens evaluated)\n", prompt_s[0] * 1e3,
           u[0].prompt_tokens);
    printf("  cache      prompt %8.3f ms (%u tokens evaluated)  request %.3f ms vs %.3f ms: "
           "%.1fx faster\n", prompt_s[1] * 1e3, u[1].prompt_tokens - u[1].cached_tokens,
           best[1] * 1e3, best[0] * 1e3, best[0] / best[1]);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.gguf [tokens] [rounds]\n", argv[0]);
        return 2;
    }
    llmr_model_opts mo = llmr_model_defaults();
    mo.n_threads = 1;
    llmr_model *m;
    if (llmr_model_open(argv[1], &mo, &m) != LLMR_OK) {
        fprintf(stderr, "%s\n", llmr_model_errmsg(m));
        return 1;
    }
    llmr_tokenizer *tok;
    llmr_err err;
    if (tok_open_gguf(llmri_model_gguf(m), &tok, &err) != LLMR_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    int n = argc > 2 ? atoi(argv[2]) : 400;
    int rounds = argc > 3 ? atoi(argv[3]) : 7;
    if (n > llmri_model_n_ctx(m) - 16)
        n = llmri_model_n_ctx(m) - 16;
    printf("model %s, 1 thread\n", argv[1]);
    overhead(m, tok, n, rounds);
    machinery(1000000, false);
    machinery(1000000, true);
    prefix_cache(m, tok);
    llmr_tokenizer_close(tok);
    llmr_model_close(m);
    return 0;
}
