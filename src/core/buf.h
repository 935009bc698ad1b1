/* buf.h - the string builder every layer uses: a growable byte buffer, NUL-terminated once it
 * has storage, with an optional size limit and a sticky failure flag so that a run of appends
 * can be checked once at the end. `llmr_buf b = {0};` is an empty, unlimited buffer. */
#ifndef LLMR_CORE_BUF_H
#define LLMR_CORE_BUF_H

#include <stdbool.h>
#include <stddef.h>

#include "llmr.h"

typedef struct llmr_buf {
    char  *p;         /* NULL until the first append */
    size_t len, cap;  /* bytes held (without the NUL); bytes allocated */
    size_t limit;     /* refuse to hold more than this many bytes; 0: no limit */
    bool   failed;    /* an append was refused (over the limit, overflow or out of memory);
                       * every later append is refused too */
} llmr_buf;

/* Makes room for `extra` more bytes (and the NUL). False, and `failed` set, when that would
 * pass the limit or size_t, or memory runs out. */
bool llmri_buf_reserve(llmr_buf *b, size_t extra);
/* Appends n bytes; false (and nothing appended) when refused, as llmri_buf_reserve. */
bool llmri_buf_append(llmr_buf *b, const void *data, size_t n);
bool llmri_buf_puts(llmr_buf *b, const char *s);
bool llmri_buf_printf(llmr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Removes the first n bytes (all of them when n >= len). */
void llmri_buf_consume(llmr_buf *b, size_t n);
/* Shortens the text to n bytes; a no-op when it is not longer. */
void llmri_buf_truncate(llmr_buf *b, size_t n);
/* The text ("" for a buffer that never held any); valid until the next change to b. */
const char *llmri_buf_str(const llmr_buf *b);
/* Hands the malloc'd text to the caller (NULL for a buffer that never held any) and leaves b
 * empty, its limit kept. */
char *llmri_buf_take(llmr_buf *b);
/* Appends everything read from fd until end of file (retrying interrupted reads). Returns
 * LLMR_OK, LLMR_ERR_IO (read failed: errno tells why), LLMR_ERR_TOO_BIG (the text would pass
 * the limit) or LLMR_ERR_NOMEM. On error b keeps what was read before. */
int llmri_buf_read_fd(llmr_buf *b, int fd);
/* Appends the whole file at path. Returns LLMR_OK,
 * LLMR_ERR_NOT_FOUND (no such file), LLMR_ERR_IO (cannot open or read: errno tells why),
 * LLMR_ERR_TOO_BIG or LLMR_ERR_NOMEM, as llmri_buf_read_fd. On success b->p is never NULL. */
int llmri_buf_read_path(llmr_buf *b, const char *path);
/* Frees the storage; b is empty (limit kept, failure cleared) and may be used again. */
void llmri_buf_free(llmr_buf *b);

#endif
