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

/* Path of a file in ../shared (from $LLMR_SHARED, set by CTest), or NULL when absent. Uses a
 * static buffer per call site rotation; copy if you keep several. */
static inline const char *shared_path(const char *rel)
{
    static char buf[8][1024];
    static int k;
    const char *root = getenv("LLMR_SHARED");
    if (!root)
        root = "../shared";
    char *p = buf[k++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s", root, rel);
    struct stat st;
    return stat(p, &st) == 0 ? p : NULL;
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
