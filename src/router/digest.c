/* digest.c - see digest.h. */
#include "router/digest.h"

#include <ctype.h>
#include <stdio.h>

bool llmr_sha256_file(const char *path, uint8_t out[32])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    llmr_sha256 c;
    llmr_sha256_init(&c);
    static _Thread_local uint8_t buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        llmr_sha256_update(&c, buf, n);
    bool ok = !ferror(f);
    fclose(f);
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
