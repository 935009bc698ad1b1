/* filtered_stream.c - the guide's "Streaming with Filters": a profanity filter and a
 * punctuation enhancer, chained, change pieces before the reader sees them (an uppercase
 * filter is there too, as in the guide, but not added).
 *   usage: filtered_stream MODEL.gguf [PROMPT] */
#include "example_util.h"

#include <ctype.h>
#include <string.h>

/* A piece containing a bad word (any case) becomes "***". */
static const char *profanity_filter(void *user, const char *t, size_t n, size_t *out_len)
{
    static const char *bad[] = {"bad", "evil", "terrible"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (strcasestr(t, bad[i])) {
            *out_len = 3;
            return "***";
        }
    return t;
}

/* Every '.' becomes '!' (the guide's replace() changed the first only; a piece rarely has two).
 * The replacement lives in the filter's buffer until its next call. */
static const char *punctuation_enhancer(void *user, const char *t, size_t n, size_t *out_len)
{
    char *buf = user;
    if (!memchr(t, '.', n) || n >= 256)
        return t;
    for (size_t i = 0; i < n; i++)
        buf[i] = t[i] == '.' ? '!' : t[i];
    buf[n] = '\0';
    *out_len = n;
    return buf;
}

static const char *uppercase_filter(void *user, const char *t, size_t n, size_t *out_len)
{
    char *buf = user;
    if (n >= 256)
        return t;
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)toupper((unsigned char)t[i]);
    buf[n] = '\0';
    *out_len = n;
    return buf;
}

int main(int argc, char **argv)
{
    llmr_model *m = example_model(argc, argv, " [PROMPT]");
    const char *prompt = argc > 2 ? argv[2] : "Tell me a story about a bad day";
    char punct_buf[256], upper_buf[256];
    llmr_filter filters[] = {{profanity_filter, NULL}, {punctuation_enhancer, punct_buf},
                             {uppercase_filter, upper_buf}};
    llmr_gen_opts o = llmr_gen_defaults();
    o.max_tokens = example_max_tokens(200);
    o.sampling.temperature = 0.7f;
    o.sampling.seed = example_seed();
    o.filters = filters;
    o.n_filters = 2;              /* profanity, then punctuation; uppercase left out */

    printf("🎭 Streaming with filters...\n\n");
    llmr_stream *s;
    int rc = llmr_stream_open(m, prompt, &o, &s);
    llmr_piece p;
    if (rc == LLMR_OK)
        while ((rc = llmr_stream_next(s, &p)) == LLMR_PIECE) {
            fwrite(p.text, 1, p.len, stdout);
            fflush(stdout);
        }
    if (rc != LLMR_DONE)
        fprintf(stderr, "\n❌ %s\n", llmr_stream_errmsg(s));
    else
        printf("\n\n✅ Filtered stream complete\n");
    llmr_stream_close(s);
    llmr_model_close(m);
    return rc == LLMR_DONE ? 0 : 1;
}
