/* digest.c - see digest.h. */
#include "router/digest.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

bool llmr_sha256_file(const char *path, uint8_t out[32])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    /* heap, not a static or thread-local buffer: static TLS is carved out of every thread's
     * stack, and civetweb's worker threads have small ones */
    enum { BUF = 1 << 16 };
    uint8_t *buf = malloc(BUF);
    if (!buf) {
        fclose(f);
        errno = ENOMEM;
        return false;
    }
    llmr_sha256 c;
    llmr_sha256_init(&c);
    size_t n;
    while ((n = fread(buf, 1, BUF, f)) > 0)
        llmr_sha256_update(&c, buf, n);
    bool ok = !ferror(f);
    fclose(f);
    free(buf);
    if (ok)
        llmr_sha256_final(&c, out);
    return ok;
}

bool llmr_sha256_hex_valid(const char *s)
{
    size_t i = 0;
    for (; s[i]; i++)
        if (!isxdigit((unsigned char)s[i]))
            return false;
    return i == 64;
}
