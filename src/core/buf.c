/* buf.c - the string builder (see buf.h). */
#include "core/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/grow.h"

bool llmri_buf_reserve(llmr_buf *b, size_t extra)
{
    if (b->failed)
        return false;
    size_t limit = b->limit ? b->limit : SIZE_MAX - 1;
    if (extra > limit || b->len > limit - extra) {
        b->failed = true;
        return false;
    }
    size_t cap = b->cap, need = b->len + extra + 1;
    if (!llmri_grow(&b->p, &cap, need < 64 ? 64 : need, 1)) {   /* no reallocs for short text */
        b->failed = true;
        return false;
    }
    if (cap != b->cap)
        b->p[b->len] = '\0';
    b->cap = cap;
    return true;
}

bool llmri_buf_append(llmr_buf *b, const void *data, size_t n)
{
    if (!llmri_buf_reserve(b, n))
        return false;
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return true;
}

bool llmri_buf_puts(llmr_buf *b, const char *s)
{
    return llmri_buf_append(b, s, strlen(s));
}

/* Formats straight into the spare room, growing once when it was too small. */
bool llmri_buf_printf(llmr_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0 || !llmri_buf_reserve(b, (size_t)k))
        return false;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)k;
    return true;
}

void llmri_buf_consume(llmr_buf *b, size_t n)
{
    if (n >= b->len) {
        llmri_buf_truncate(b, 0);
        return;
    }
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
    b->p[b->len] = '\0';
}

void llmri_buf_truncate(llmr_buf *b, size_t n)
{
    if (n < b->len) {
        b->len = n;
        b->p[n] = '\0';
    }
}

const char *llmri_buf_str(const llmr_buf *b)
{
    return b->p ? b->p : "";
}

char *llmri_buf_take(llmr_buf *b)
{
    char *p = b->p;
    *b = (llmr_buf){.limit = b->limit};
    return p;
}

/* Reads into the spare room, doubling it when full. A buffer at its limit reads one more byte
 * to tell a text of exactly `limit` bytes from a longer one. */
int llmri_buf_read_fd(llmr_buf *b, int fd)
{
    for (;;) {
        char probe, *dst = &probe;
        size_t n = 1;
        bool full = b->limit && b->len >= b->limit;
        if (!full) {
            if (b->cap <= b->len + 1) {
                size_t want = b->cap < 65536 ? 65536 : b->cap;
                if (b->limit && want > b->limit - b->len)
                    want = b->limit - b->len;
                if (!llmri_buf_reserve(b, want))
                    return b->len > SIZE_MAX / 2 ? LLMR_ERR_TOO_BIG : LLMR_ERR_NOMEM;
            }
            dst = b->p + b->len;
            n = b->cap - b->len - 1;
            if (b->limit && n > b->limit - b->len)
                n = b->limit - b->len;
        }
        ssize_t r = read(fd, dst, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return LLMR_ERR_IO;
        if (r == 0)
            return LLMR_OK;
        if (full) {
            b->failed = true;
            return LLMR_ERR_TOO_BIG;
        }
        b->len += (size_t)r;
        b->p[b->len] = '\0';
    }
}

int llmri_buf_read_path(llmr_buf *b, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? LLMR_ERR_NOT_FOUND : LLMR_ERR_IO;
    int rc = llmri_buf_read_fd(b, fd);
    if (rc == LLMR_OK && !llmri_buf_reserve(b, 0))
        rc = LLMR_ERR_NOMEM;
    int saved = errno;   /* a read error's reason outlives the close */
    close(fd);
    errno = saved;
    return rc;
}

void llmri_buf_free(llmr_buf *b)
{
    free(b->p);
    *b = (llmr_buf){.limit = b->limit};
}
