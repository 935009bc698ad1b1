// dumps llama.cpp's logits: top-K and log-sum-exp per position, as JSON
#include "llama.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: lcdump MODEL IDS N_CTX TOPK\n"); return 2; }
    int n_ctx = atoi(argv[3]), topk = atoi(argv[4]);
    int32_t toks[4096]; int n = 0;
    for (char *p = strtok(argv[2], ","); p; p = strtok(NULL, ",")) toks[n++] = atoi(p);
    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    struct llama_model *m = llama_model_load_from_file(argv[1], mp);
    if (!m) return 1;
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = n_ctx; cp.n_batch = n; cp.n_ubatch = n; cp.n_threads = 1; cp.n_threads_batch = 1;
    cp.type_k = GGML_TYPE_F32; cp.type_v = GGML_TYPE_F32; cp.flash_attn = false;
    struct llama_context *c = llama_init_from_model(m, cp);
    if (!c) return 1;
    int nv = llama_vocab_n_tokens(llama_model_get_vocab(m));
    struct llama_batch b = llama_batch_init(n, 0, 1);
    for (int i = 0; i < n; i++) { b.token[i] = toks[i]; b.pos[i] = i; b.n_seq_id[i] = 1; b.seq_id[i][0] = 0; b.logits[i] = 1; }
    b.n_tokens = n;
    if (llama_decode(c, b)) return 1;
    printf("{\"tokens\": [");
    for (int i = 0; i < n; i++) printf("%s%d", i ? ", " : "", toks[i]);
    printf("], \"n_vocab\": %d, \"n_ctx\": %d, \"positions\": [\n", nv, n_ctx);
    int *idx = malloc(sizeof(int) * nv);
    for (int i = 0; i < n; i++) {
        const float *lg = llama_get_logits_ith(c, i);
        double mx = -1e30; for (int v = 0; v < nv; v++) if (lg[v] > mx) mx = lg[v];
        double s = 0; for (int v = 0; v < nv; v++) s += exp(lg[v] - mx);
        double lse = mx + log(s);
        for (int v = 0; v < nv; v++) idx[v] = v;
        for (int k = 0; k < topk && k < nv; k++) { int best = k; for (int v = k + 1; v < nv; v++) if (lg[idx[v]] > lg[idx[best]]) best = v; int t = idx[k]; idx[k] = idx[best]; idx[best] = t; }
        printf("  {\"lse\": %.9g, \"top\": [", lse);
        for (int k = 0; k < topk && k < nv; k++) printf("%s[%d, %.9g]", k ? ", " : "", idx[k], lg[idx[k]]);
        printf("]}%s\n", i + 1 < n ? "," : "");
    }
    printf("]}\n");
    llama_free(c); llama_model_free(m);
    return 0;
}
