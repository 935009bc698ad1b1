/* stream_analyzer.c - the guide's "Token Analysis During Streaming": a live analyzer counts
 * tokens, unique words, sentences and word lengths as pieces arrive; stats every 50 tokens.
 *   usage: stream_analyzer MODEL.gguf [PROMPT] */
#include "example_util.h"

static void print_stats(const llmr_analysis *a)
{
    printf("   Tokens: %llu\n   Unique words: %llu\n   Sentences: %llu\n"
           "   Avg word length: %.1f\n   Words per sentence: %.1f\n",
           (unsigned long long)a->tokens, (unsigned long long)a->unique_words,
           (unsigned long long)a->sentences, a->avg_word_len, a->words_per_sentence);
}

int main(int argc, char **argv)
{
    llmr_model *m = example_model(argc, argv, " [PROMPT]");
    const char *prompt = argc > 2 ? argv[2]
                                  : "Write a detailed explanation of machine learning concepts";
    llmr_gen_opts o = llmr_gen_defaults();
    o.max_tokens = example_max_tokens(500);
    o.sampling.temperature = 0.7f;
    o.sampling.seed = example_seed();

    printf("📊 Starting analyzed streaming...\n\n");
    llmr_analyzer *an;
    llmr_stream *s;
    if (llmr_analyzer_open(&an) != LLMR_OK)
        return 1;
    int rc = llmr_stream_open(m, prompt, &o, &s);
    llmr_piece p;
    if (rc == LLMR_OK)
        while ((rc = llmr_stream_next(s, &p)) == LLMR_PIECE) {
            fwrite(p.text, 1, p.len, stdout);
            llmr_analyzer_feed(an, p.text, p.len);
            if ((p.index + 1) % 50 == 0) {
                llmr_analysis st;
                llmr_analyzer_get(an, false, &st);
                printf("\n\n📈 Stats at %u tokens:\n", p.index + 1);
                print_stats(&st);
                printf("\n");
            }
        }
    if (rc != LLMR_DONE)
        fprintf(stderr, "\n❌ %s\n", llmr_stream_errmsg(s));
    llmr_analysis st;
    llmr_analyzer_get(an, true, &st);
    printf("\n\n📊 Final Statistics:\n");
    print_stats(&st);
    printf("   Words: %llu\n   Characters: %llu\n", (unsigned long long)st.words,
           (unsigned long long)st.chars);
    llmr_analyzer_close(an);
    llmr_stream_close(s);
    llmr_model_close(m);
    return rc == LLMR_DONE ? 0 : 1;
}
