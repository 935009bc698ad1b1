/* basic_streaming.c - the guide's "Simple Token Streaming": pull a story one piece at a time
 * and print it as it comes.   usage: basic_streaming MODEL.gguf [PROMPT] */
#include "example_util.h"

#include <string.h>

int main(int argc, char **argv)
{
    llmr_model *m = example_model(argc, argv, " [PROMPT]");
    const char *prompt = argc > 2 ? argv[2] : "Write a short story about a brave knight";

    printf("🎬 Starting story generation...\n\n");
    llmr_gen_opts o = llmr_gen_defaults();
    o.max_tokens = example_max_tokens(300);
    o.sampling.temperature = 0.8f;
    o.sampling.seed = example_seed();

    llmr_stream *s;
    int rc = llmr_stream_open(m, prompt, &o, &s);
    size_t total = 0;
    llmr_piece p;
    if (rc == LLMR_OK)
        while ((rc = llmr_stream_next(s, &p)) == LLMR_PIECE) {
            fwrite(p.text, 1, p.len, stdout);
            fflush(stdout);
            total += p.len;
        }
    if (rc != LLMR_DONE) {
        fprintf(stderr, "\n❌ %s\n", llmr_stream_errmsg(s));
        llmr_stream_close(s);
        llmr_model_close(m);
        return 1;
    }
    size_t len;
    const char *text = llmr_stream_text(s, &len);
    size_t chars = 0;
    for (size_t i = 0; i < len; i++)                  /* code points, as JS's .length nearly */
        chars += ((unsigned char)text[i] & 0xC0) != 0x80;
    printf("\n\n✅ Story complete!\n");
    printf("Total length: %zu characters (%zu bytes streamed, %zu in the full text)\n", chars,
           total, len);
    llmr_stream_close(s);
    llmr_model_close(m);
    return 0;
}
