/* tok_test_util.h - helpers shared by the tokenizer tests that build vocabularies by hand. */
#ifndef LLMR_TOK_TEST_UTIL_H
#define LLMR_TOK_TEST_UTIL_H

#include "test_util.h"

#include "gguf/gguf.h"
#include "llmr.h"

#include <unistd.h>

/* Writes `w` (freed here) to a temporary file, opens it as a tokenizer and removes the file.
 * Returns llmr_tokenizer_open's code: some tests expect it to fail. */
static inline int tok_open_written(gguf_writer *w, llmr_tokenizer **t)
{
    static int seq;
    char path[128];
    snprintf(path, sizeof path, "/tmp/llmr-tok-test-%d-%d.gguf", (int)getpid(), seq++);
    llmr_err err;
    assert_int_equal(gguf_writer_write(w, path, 0, &err), LLMR_OK);
    gguf_writer_free(w);
    *t = NULL;
    int rc = llmr_tokenizer_open(path, t);
    unlink(path);
    return rc;
}

/* As tok_open_written, for a vocabulary that must open. */
static inline llmr_tokenizer *tok_open_ok(gguf_writer *w)
{
    llmr_tokenizer *t = NULL;
    assert_int_equal(tok_open_written(w, &t), LLMR_OK);
    return t;
}

/* Tokenizes `text` with special tokens parsed and compares with want[0..nw); prints the ids
 * it got when they differ. */
static inline void tok_expect(const llmr_tokenizer *t, const char *text, const llmr_token *want,
                              size_t nw)
{
    llmr_token got[64];
    size_t n = 0;
    assert_int_equal(llmr_tokenize(t, text, strlen(text), LLMR_TOK_PARSE_SPECIAL, got, 64, &n),
                     LLMR_OK);
    if (n != nw || memcmp(got, want, nw * sizeof *want)) {
        print_message("'%s':", text);
        for (size_t i = 0; i < n; i++)
            print_message(" %d", got[i]);
        print_message("\n");
    }
    assert_int_equal(n, nw);
    assert_memory_equal(got, want, nw * sizeof *want);
}

#endif
