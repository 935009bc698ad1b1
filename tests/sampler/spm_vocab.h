/* spm_vocab.h - output bytes of each token of a SentencePiece GGUF vocabulary, for tests and
 * benchmarks of the grammar on a real 32k vocabulary without the tokenizer layer:
 * U+2581 (the SentencePiece space) becomes ' ', byte tokens <0xHH> (token_type 6) become the
 * byte, control and unknown tokens (types 3 and 2) have no bytes. */
#ifndef LLMR_TEST_SPM_VOCAB_H
#define LLMR_TEST_SPM_VOCAB_H

#include "gguf/gguf.h"
#include "sampler/grammar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct spm_vocab {
    int32_t     n;
    llmr_bytes *tok;
    char       *store;
    int32_t     eos;
} spm_vocab;

static inline void spm_vocab_free(spm_vocab *v)
{
    free(v->tok);
    free(v->store);
}

static inline int spm_vocab_load(const char *path, spm_vocab *v)
{
    gguf_file *f;
    llmr_err e;
    memset(v, 0, sizeof *v);
    if (gguf_open(path, &f, &e))
        return -1;
    uint64_t n = 0, nt = 0;
    const gguf_str *s = gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_STRING, &n);
    const int32_t *type = gguf_get_arr(f, "tokenizer.ggml.token_type", GGUF_I32, &nt);
    uint32_t eos = 2;
    gguf_get_u32(f, "tokenizer.ggml.eos_token_id", &eos);
    size_t total = 0;
    for (uint64_t i = 0; s && i < n; i++)
        total += s[i].len + 1;
    v->tok = calloc(n ? n : 1, sizeof *v->tok);
    v->store = malloc(total + 1);
    if (!s || !v->tok || !v->store || (type && nt != n)) {
        gguf_close(f);
        spm_vocab_free(v);
        return -1;
    }
    char *w = v->store;
    for (uint64_t i = 0; i < n; i++) {
        int32_t ty = type ? type[i] : 1;
        v->tok[i].ptr = w;
        if (ty == 2 || ty == 3) {
            v->tok[i].len = 0;
            continue;
        }
        unsigned hi;
        if (ty == 6 && s[i].len == 6 && sscanf(s[i].ptr, "<0x%02X>", &hi) == 1) {
            *w++ = (char)hi;
        } else {
            for (uint64_t k = 0; k < s[i].len; k++) {
                if (k + 2 < s[i].len && memcmp(s[i].ptr + k, "\xe2\x96\x81", 3) == 0) {
                    *w++ = ' ';
                    k += 2;
                } else {
                    *w++ = s[i].ptr[k];
                }
            }
        }
        v->tok[i].len = (size_t)(w - v->tok[i].ptr);
    }
    v->n = (int32_t)n;
    v->eos = (int32_t)eos;
    gguf_close(f);
    return 0;
}

#endif
