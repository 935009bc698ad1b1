/* kv_kl.c - the accuracy of the quantized KV caches: the KL divergence of every position's
 * next-token distribution with a q8_0 / q4_0 cache from the one with an F16 cache, over one
 * long prompt (the first N tokens of a text file), evaluated in chunks of 512 as llmr does.
 *
 *   cc -O2 -Isrc -Iinclude -Ibuild/generated bench/kv_kl.c build/libllmr.a \
 *      $(pkg-config --libs libcjson libutf8proc) -lm -lpthread -o build/kv_kl
 *   build/kv_kl MODEL.gguf TEXT [N_TOKENS=4096] [THREADS=2]
 *   bench/kv_kl.sh MODEL.gguf    (builds it, and uses the GNU GPL v3 repeated as the text)
 *
 * Prints per cache type (K and V both of that type; with KV_KL_ALL=1 in the environment also
 * the K cache alone): the mean and largest KL(F16 || type) in nats, and how often the most
 * likely token is the same. The text is tokenized with the model's own vocabulary, BOS first.
 */
#include "model/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 512

typedef struct stats { double sum, max; long n, same; } stats;

/* log-softmax of x (nv values) into out, in double */
static void log_softmax(const float *x, int nv, double *out)
{
    double mx = x[0], z = 0;
    for (int i = 1; i < nv; i++)
        mx = x[i] > mx ? x[i] : mx;
    for (int i = 0; i < nv; i++)
        z += exp(x[i] - mx);
    const double lz = mx + log(z);
    for (int i = 0; i < nv; i++)
        out[i] = x[i] - lz;
}

static int argmax(const double *x, int nv)
{
    int b = 0;
    for (int i = 1; i < nv; i++)
        b = x[i] > x[b] ? i : b;
    return b;
}

static llmr_model *open_with(const char *path, llmr_kv_type k, llmr_kv_type v, int threads,
                             int n_ctx)
{
    llmr_model_opts o = llmr_model_defaults();
    o.kv_type = k;
    o.kv_type_v = v;
    o.n_threads = threads;
    o.n_ctx = n_ctx;
    llmr_model *m;
    if (llmr_model_open(path, &o, &m)) {
        fprintf(stderr, "kv_kl: %s\n", llmr_model_errmsg(m));
        exit(1);
    }
    return m;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: kv_kl MODEL.gguf TEXT [N_TOKENS] [THREADS]\n");
        return 2;
    }
    const int want = argc > 3 ? atoi(argv[3]) : 4096, threads = argc > 4 ? atoi(argv[4]) : 2;
    FILE *f = fopen(argv[2], "rb");
    if (!f || want < 2)
        return fprintf(stderr, "kv_kl: cannot read %s\n", argv[2]), 1;
    fseek(f, 0, SEEK_END);
    const long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)len + 1);
    if (!text || fread(text, 1, (size_t)len, f) != (size_t)len)
        return fprintf(stderr, "kv_kl: cannot read %s\n", argv[2]), 1;
    fclose(f);
    llmr_tokenizer *tk;
    if (llmr_tokenizer_open(argv[1], &tk))
        return fprintf(stderr, "kv_kl: %s\n", llmr_tokenizer_errmsg(tk)), 1;
    llmr_token *toks = malloc((size_t)len * sizeof *toks + 64);
    size_t n = 0;
    if (llmr_tokenize(tk, text, (size_t)len, LLMR_TOK_ADD_SPECIAL, toks, (size_t)len + 16, &n))
        return fprintf(stderr, "kv_kl: tokenizing failed\n"), 1;
    if ((int)n < want)
        return fprintf(stderr, "kv_kl: the text has %zu tokens, %d wanted\n", n, want), 1;
    n = (size_t)want;
    /* the reference, q8_0 and q4_0 (K and V both); with `all` also the K cache alone */
    const int nk = getenv("KV_KL_ALL") ? 5 : 3;
    const llmr_kv_type kt[5] = {LLMR_KV_F16, LLMR_KV_Q8_0, LLMR_KV_Q4_0, LLMR_KV_Q8_0,
                                LLMR_KV_Q4_0};
    const llmr_kv_type vt[5] = {LLMR_KV_F16, LLMR_KV_Q8_0, LLMR_KV_Q4_0, LLMR_KV_F16,
                                LLMR_KV_F16};
    llmr_model *m[5];
    llmr_seq *s[5];
    for (int k = 0; k < nk; k++) {
        m[k] = open_with(argv[1], kt[k], vt[k], threads, want);
        if (llmri_seq_new(m[k], want, &s[k]))
            return fprintf(stderr, "kv_kl: %s\n", llmr_model_errmsg(m[k])), 1;
    }
    const int nv = llmri_model_n_vocab(m[0]);
    double *ref = malloc((size_t)nv * sizeof *ref), *lp = malloc((size_t)nv * sizeof *lp);
    float *keep = malloc((size_t)CHUNK * nv * sizeof *keep);
    stats st[5] = {{0}};
    for (int p = 0; p < (int)n; p += CHUNK) {
        const int c = (int)n - p < CHUNK ? (int)n - p : CHUNK;
        const float *lg;
        for (int k = 0; k < nk; k++) {
            if (llmri_seq_eval(s[k], (const int32_t *)toks + p, c, p, true, &lg))
                return fprintf(stderr, "kv_kl: %s\n", llmri_seq_errmsg(s[k])), 1;
            if (k == 0) {
                for (int i = 0; i < c * nv; i++)
                    keep[i] = lg[i];
                continue;
            }
            for (int r = 0; r < c; r++) {
                log_softmax(keep + (size_t)r * nv, nv, ref);
                log_softmax(lg + (size_t)r * nv, nv, lp);
                double kl = 0;
                for (int i = 0; i < nv; i++)
                    kl += exp(ref[i]) * (ref[i] - lp[i]);
                st[k].sum += kl;
                st[k].max = kl > st[k].max ? kl : st[k].max;
                st[k].same += argmax(ref, nv) == argmax(lp, nv);
                st[k].n++;
            }
        }
        fprintf(stderr, "\r%d / %zu tokens", p + c, n);
    }
    fprintf(stderr, "\n");
    printf("| K cache | V cache | mean KL from f16 | max KL | same top token |\n");
    printf("|---|---|---:|---:|---:|\n");
    for (int k = 1; k < nk; k++)
        printf("| %s | %s | %.3g | %.3g | %.2f%% |\n", llmr_kv_type_name(kt[k]),
               llmr_kv_type_name(vt[k]), st[k].sum / st[k].n, st[k].max,
               100.0 * st[k].same / st[k].n);
    for (int k = 0; k < nk; k++) {
        llmri_seq_free(s[k]);
        llmr_model_close(m[k]);
    }
    llmr_tokenizer_close(tk);
    free(ref); free(lp); free(keep); free(toks); free(text);
    return 0;
}
