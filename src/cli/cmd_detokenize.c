/* cmd_detokenize.c - `llmr detokenize -m MODEL [--special] (ID... | --lines FILE)`: the text
 * of token ids. */
#include "cli/cli.h"
#include "core/buf.h"
#include "core/grow.h"
#include "llmr.h"

#include <unistd.h>

#include <stdlib.h>
#include <string.h>

/* Appends the ids in one argument ("5", or "1 2 3" / "1,2,3" as a shell may pass them). */
static int parse_ids(const char *arg, llmr_token **ids, size_t *n, size_t *cap)
{
    const char *p = arg;
    bool any = false;
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t' || *p == '\n')
            p++;
        if (!*p)
            break;
        size_t l = strcspn(p, " ,\t\n");
        char num[24];
        if (l >= sizeof num)
            return cli_usage_error("detokenize", "'%.*s' is not a token id", (int)l, p);
        memcpy(num, p, l);
        num[l] = 0;
        long v;
        if (!cli_parse_long(num, 0, INT32_MAX, &v))
            return cli_usage_error("detokenize", "'%s' is not a token id (a number >= 0)", num);
        if (!llmri_grow(ids, cap, *n + 1, sizeof **ids))
            return cli_fail("detokenize", "out of memory");
        (*ids)[(*n)++] = (llmr_token)v;
        any = true;
        p += l;
    }
    if (!any)
        return cli_usage_error("detokenize", "'%s' holds no token id", arg);
    return CLI_OK;
}

/* The text of ids[0..n) in a new string (*out, *len), or an LLMR_ERR_* code. */
static int detok(const llmr_tokenizer *t, const llmr_token *ids, size_t n, unsigned flags,
                 char **out, size_t *len)
{
    *out = NULL;
    int rc = llmr_detokenize(t, ids, n, flags, NULL, 0, len);
    if (rc != LLMR_ERR_TOO_BIG && rc != LLMR_OK)
        return rc;
    *out = malloc(*len + 1);
    if (!*out)
        return LLMR_ERR_NOMEM;
    rc = llmr_detokenize(t, ids, n, flags, *out, *len + 1, len);
    if (rc) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

/* s[0..n) as a JSON string on a line of its own: bytes below 0x20 (NUL included) escaped, the
 * rest as is (the text is UTF-8). */
static void print_json_line(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c == '\n' || c == '\t' || c == '\r')
            printf("\\%c", c == '\n' ? 'n' : c == '\t' ? 't' : 'r');
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    fputs("\"\n", stdout);
}

/* --lines FILE: one id list per line (an empty line is no ids); prints the text of each as
 * a JSON string on a line of its own, so that texts holding newlines stay apart. */
static int detok_lines(const llmr_tokenizer *t, const char *file, unsigned flags)
{
    llmr_buf b = {0};
    int r = strcmp(file, "-") ? llmri_buf_read_path(&b, file) : llmri_buf_read_fd(&b, 0);
    if (r || !llmri_buf_reserve(&b, 1)) {
        llmri_buf_free(&b);
        return cli_fail("detokenize", "%s: cannot read the file", file);
    }
    b.p[b.len] = 0;
    int st = CLI_OK;
    size_t line = 0;
    for (char *p = b.p; st == CLI_OK && p < b.p + b.len; line++) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = 0;
        llmr_token *ids = NULL;
        size_t n = 0, cap = 0;
        if (p[strspn(p, " ,\t\r")])
            st = parse_ids(p, &ids, &n, &cap);
        for (size_t i = 0; st == CLI_OK && i < n; i++)
            if (ids[i] >= llmr_tokenizer_n_vocab(t))
                st = cli_fail("detokenize", "%s:%zu: token id %d is out of range", file,
                              line + 1, ids[i]);
        char *text = NULL;
        size_t len = 0;
        int rc = st == CLI_OK ? detok(t, ids, n, flags, &text, &len) : LLMR_OK;
        if (rc)
            st = cli_fail("detokenize", "%s", llmr_strerror(rc));
        else if (st == CLI_OK)
            print_json_line(text, len);
        free(text);
        free(ids);
        if (!nl)
            break;
        p = nl + 1;
    }
    llmri_buf_free(&b);
    return st;
}

int cmd_detokenize(int argc, char **argv)
{
    const char *lines = NULL;
    const char *model = NULL;
    bool special = false;
    llmr_token *ids = NULL;
    size_t n = 0, cap = 0;
    int st = CLI_OK;
    for (int i = 1; i < argc && st == CLI_OK; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (i + 1 >= argc)
                st = cli_usage_error("detokenize", "%s needs a value", a);
            else
                model = argv[++i];
        } else if (!strcmp(a, "--special")) {
            special = true;
        } else if (!strcmp(a, "--lines")) {
            if (i + 1 >= argc)
                st = cli_usage_error("detokenize", "%s needs a value", a);
            else
                lines = argv[++i];
        } else if (a[0] == '-' && a[1] && a[1] != ',' && !(a[1] >= '0' && a[1] <= '9')) {
            st = cli_usage_error("detokenize", "unknown flag %s", a);
        } else {
            st = parse_ids(a, &ids, &n, &cap);
        }
    }
    if (st == CLI_OK && !model)
        st = cli_usage_error("detokenize", "-m MODEL is required");
    if (st == CLI_OK && n == 0 && !lines)
        st = cli_usage_error("detokenize", "give at least one token ID");
    if (st == CLI_OK && n && lines)
        st = cli_usage_error("detokenize", "give either IDs or --lines FILE");
    if (st != CLI_OK) {
        free(ids);
        return st;
    }
    char path[4096];
    if (!cli_model_path("detokenize", model, path, sizeof path)) {
        free(ids);
        return CLI_BAD_INPUT;
    }
    llmr_tokenizer *t = NULL;
    int rc = llmr_tokenizer_open(path, &t);
    if (rc) {
        st = cli_fail("detokenize", "%s", t ? llmr_tokenizer_errmsg(t) : "out of memory");
        llmr_tokenizer_close(t);
        free(ids);
        return st;
    }
    if (lines) {
        st = detok_lines(t, lines, special ? LLMR_DETOK_SPECIAL : 0);
        n = 0;
    }
    for (size_t i = 0; i < n; i++)
        if (ids[i] >= llmr_tokenizer_n_vocab(t)) {
            st = cli_fail("detokenize", "token id %d is out of range (the vocabulary has %d "
                          "tokens: 0..%d)", ids[i], llmr_tokenizer_n_vocab(t),
                          llmr_tokenizer_n_vocab(t) - 1);
            break;
        }
    if (st == CLI_OK && !lines) {
        unsigned flags = special ? LLMR_DETOK_SPECIAL : 0;
        size_t len = 0;
        rc = llmr_detokenize(t, ids, n, flags, NULL, 0, &len);
        char *buf = rc == LLMR_ERR_TOO_BIG ? malloc(len + 1) : NULL;
        if (buf)
            rc = llmr_detokenize(t, ids, n, flags, buf, len + 1, &len);
        else if (rc == LLMR_ERR_TOO_BIG)
            rc = LLMR_ERR_NOMEM;
        if (rc == LLMR_OK && buf)
            fwrite(buf, 1, len, stdout);
        if (rc)
            st = cli_fail("detokenize", "%s", llmr_strerror(rc));
        free(buf);
    }
    llmr_tokenizer_close(t);
    free(ids);
    if (fflush(stdout) != 0)
        st = CLI_BAD_INPUT;
    return st;
}
