/* cmd_tokenize.c - `llmr tokenize -m MODEL [--no-bos] [--special] [--pieces] [--bench]
 * [--split SEP] (TEXT | -f FILE)`: the ids a model's tokenizer gives for a text. */
#include "cli/cli.h"
#include "core/buf.h"
#include "core/util.h"
#include "llmr.h"
#include "tokenizer/tok_unicode.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A piece as a C-like literal: printable ASCII and UTF-8 as is, the rest escaped. */
static void print_piece(const char *p, size_t n)
{
    putchar('\'');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\n') fputs("\\n", stdout);
        else if (c == '\t') fputs("\\t", stdout);
        else if (c == '\r') fputs("\\r", stdout);
        else if (c == '\\') fputs("\\\\", stdout);
        else if (c == '\'') fputs("\\'", stdout);
        else if (c < 0x20 || c == 0x7F) printf("\\x%02x", c);
        else putchar(c);
    }
    putchar('\'');
}

static int tokenize_all(const llmr_tokenizer *t, const char *text, size_t len, unsigned flags,
                        llmr_token **ids, size_t *n)
{
    size_t cap = len / 2 + 16;
    *ids = NULL;
    for (;;) {
        llmr_token *v = realloc(*ids, cap * sizeof *v);
        if (!v)
            return LLMR_ERR_NOMEM;
        *ids = v;
        int rc = llmr_tokenize(t, text, len, flags, v, cap, n);
        if (rc != LLMR_ERR_TOO_BIG)
            return rc;
        cap = *n;
    }
}

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Tokenizes the text over and over for about two seconds on this thread; prints MB/s. */
static int bench(const llmr_tokenizer *t, const char *text, size_t len, unsigned flags)
{
    llmr_token *ids = NULL;
    size_t n = 0;
    int rc = tokenize_all(t, text, len, flags, &ids, &n);   /* warm-up, and the buffer */
    if (rc) {
        free(ids);
        return rc;
    }
    double t0 = llmri_now(), c0 = thread_cpu(), el = 0, best = 1e30;
    int runs = 0;
    while (el < 2.0 || runs < 3) {
        size_t got;
        double c1 = thread_cpu();
        rc = llmr_tokenize(t, text, len, flags, ids, n, &got);
        if (rc)
            break;
        double c = thread_cpu() - c1;
        best = c < best ? c : best;
        runs++;
        el = llmri_now() - t0;
    }
    free(ids);
    if (rc)
        return rc;
    double cpu = thread_cpu() - c0;
    double mb = (double)len * runs / 1e6;
    /* CPU time is what one core gives while other processes compete for the machine; the
     * best run is the least disturbed one; wall time is what a caller waits */
    printf("tokenized %zu bytes into %zu tokens, %d runs on one thread: best run %.2f MB/s, "
           "mean %.2f MB/s of CPU time (%.3f s), %.2f MB/s of wall time (%.3f s)\n",
           len, n, runs, (double)len / 1e6 / best, mb / cpu, cpu, mb / el, el);
    return LLMR_OK;
}

/* Prints the ids of text[0..len), on one line or (pieces) one token per line. */
static int print_ids(const llmr_tokenizer *t, const char *text, size_t len, unsigned flags,
                     bool pieces)
{
    llmr_token *ids = NULL;
    size_t n = 0;
    int rc = tokenize_all(t, text, len, flags, &ids, &n);
    for (size_t i = 0; rc == LLMR_OK && i < n; i++) {
        if (pieces) {
            const char *p;
            size_t pl;
            llmr_token_to_piece(t, ids[i], true, &p, &pl);
            printf("%d\t", ids[i]);
            print_piece(p, pl);
            putchar('\n');
        } else {
            printf(i ? " %d" : "%d", ids[i]);
        }
    }
    if (rc == LLMR_OK && !pieces)
        putchar('\n');
    free(ids);
    return rc;
}

/* --split SEP: each part of the text between separators on its own (llama.cpp's tokenizer
 * test files separate their texts with "\n__ggml_vocab_test__\n"), so that one process
 * tokenizes a whole corpus. */
static int print_parts(const llmr_tokenizer *t, const char *text, size_t len, const char *sep,
                       unsigned flags, bool pieces)
{
    size_t sl = strlen(sep);
    int rc = LLMR_OK;
    for (const char *p = text, *end = text + len; rc == LLMR_OK;) {
        const char *q = memmem(p, (size_t)(end - p), sep, sl);
        rc = print_ids(t, p, (size_t)((q ? q : end) - p), flags, pieces);
        if (!q)
            break;
        p = q + sl;
    }
    return rc;
}

int cmd_tokenize(int argc, char **argv)
{
    const char *model = NULL, *file = NULL, *text = NULL, *split = NULL;
    bool no_bos = false, special = false, pieces = false, do_bench = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool is_m = !strcmp(a, "-m") || !strcmp(a, "--model");
        bool is_f = !strcmp(a, "-f") || !strcmp(a, "--file");
        bool is_s = !strcmp(a, "--split");
        if (is_m || is_f || is_s) {
            if (i + 1 >= argc)
                return cli_usage_error("tokenize", "%s needs a value", a);
            *(is_m ? &model : is_f ? &file : &split) = argv[++i];
            if (is_s && !*split)
                return cli_usage_error("tokenize", "--split needs a non-empty separator");
        } else if (!strcmp(a, "--no-bos")) {
            no_bos = true;
        } else if (!strcmp(a, "--special")) {
            special = true;
        } else if (!strcmp(a, "--pieces")) {
            pieces = true;
        } else if (!strcmp(a, "--bench")) {
            do_bench = true;
        } else if (!strcmp(a, "--")) {
            if (i + 2 != argc || text)
                return cli_usage_error("tokenize", "one TEXT after --");
            text = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error("tokenize", "unknown flag %s", a);
        } else if (text) {
            return cli_usage_error("tokenize", "one TEXT only (quote it)");
        } else {
            text = a;
        }
    }
    if (!model)
        return cli_usage_error("tokenize", "-m MODEL is required");
    if (!text == !file)
        return cli_usage_error("tokenize", "give either TEXT or -f FILE");

    char path[4096];
    if (!cli_model_path("tokenize", model, path, sizeof path))
        return CLI_BAD_INPUT;
    size_t len = 0;
    llmr_buf buf = {0};
    if (file) {
        int r = strcmp(file, "-") ? llmri_buf_read_path(&buf, file)
                                  : llmri_buf_read_fd(&buf, STDIN_FILENO);
        if (r || !llmri_buf_reserve(&buf, 0)) {
            llmri_buf_free(&buf);
            return cli_fail("tokenize", "%s: cannot read the file", file);
        }
        text = buf.p;
        len = buf.len;
    } else {
        len = strlen(text);
    }
    llmr_tokenizer *t = NULL;
    int rc = llmr_tokenizer_open(path, &t);
    if (rc) {
        int r = cli_fail("tokenize", "%s", t ? llmr_tokenizer_errmsg(t) : "out of memory");
        llmr_tokenizer_close(t);
        llmri_buf_free(&buf);
        return r;
    }
    size_t clean_len;
    bool valid;
    char *clean = uc_sanitize(text, len, &clean_len, &valid);
    if (clean && !valid) {
        fprintf(stderr, "llmr tokenize: warning: the text is not valid UTF-8; each invalid "
                        "byte is read as U+FFFD\n");
        free(clean);
    }
    unsigned flags = (no_bos ? 0 : LLMR_TOK_ADD_SPECIAL) | (special ? LLMR_TOK_PARSE_SPECIAL : 0);
    int status = CLI_OK;
    if (do_bench) {
        rc = bench(t, text, len, flags);
    } else if (split) {
        rc = print_parts(t, text, len, split, flags, pieces);
    } else {
        rc = print_ids(t, text, len, flags, pieces);
    }
    if (rc)
        status = cli_fail("tokenize", "%s", llmr_strerror(rc));
    llmr_tokenizer_close(t);
    llmri_buf_free(&buf);
    if (fflush(stdout) != 0)
        status = CLI_BAD_INPUT;
    return status;
}
