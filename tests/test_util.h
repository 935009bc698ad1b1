/* test_util.h - shared helpers for the cmocka suites.
 * Include after <cmocka.h>'s prerequisites: stdarg.h, stddef.h, stdint.h, setjmp.h. */
#ifndef LLMR_TEST_UTIL_H
#define LLMR_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Path of a file in ../shared (from $LLMR_SHARED, set by CTest), or NULL when absent. A file
 * the source tree ships at the same place ($LLMR_SRC/models/stories260K.gguf, the default
 * model) is found there when ../shared lacks it, so the tests that need only that model run
 * in a fresh clone. Uses a static buffer per call site rotation; copy if you keep several. */
static inline const char *shared_path(const char *rel)
{
    static char buf[8][1024];
    static int k;
    const char *roots[2] = {getenv("LLMR_SHARED"), getenv("LLMR_SRC")};
    if (!roots[0])
        roots[0] = "../shared";
    for (int r = 0; r < 2; r++) {
        if (!roots[r])
            continue;
        char *p = buf[k++ % 8];
        snprintf(p, sizeof buf[0], "%s/%s", roots[r], rel);
        struct stat st;
        if (stat(p, &st) == 0 && (r == 0 || S_ISREG(st.st_mode)))
            return p;
    }
    return NULL;
}

/* In a test: skip (cmocka's skip) with a message when a shared file is missing. */
#define REQUIRE_SHARED(var, rel)                                                          \
    const char *var = shared_path(rel);                                                   \
    if (!var) {                                                                           \
        print_message("skipped: ../shared/%s is absent (tests that need shared data "    \
                      "skip without it)\n", rel);                                         \
        skip();                                                                           \
    }

/* Reads a whole file into a malloc'd buffer (NUL-terminated); NULL on error. */
static inline char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    if (b) {
        b[n] = 0;
        if (len)
            *len = (size_t)n;
    }
    fclose(f);
    return b;
}

#endif
