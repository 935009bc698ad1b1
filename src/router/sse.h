/* sse.h - an incremental parser of Server-Sent Events (the WHATWG HTML standard, section
 * 9.2.6 "Interpreting an event stream"), as OpenAI-compatible servers stream completions.
 *
 * Bytes may arrive in any split: a line, a CRLF pair or a UTF-8 character may be cut between
 * two feeds; the parser keeps the partial line and only hands out whole events. Lines end in
 * CRLF, LF or CR; a line starting with ':' is a comment; "field: value" loses one leading
 * space of its value; several data lines join with '\n'; an empty line dispatches the event;
 * a leading UTF-8 BOM is skipped; an unfinished event at the end of the stream is dropped. */
#ifndef LLMR_ROUTER_SSE_H
#define LLMR_ROUTER_SSE_H

#include "core/error.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct llmr_sse_event {
    const char *type;      /* "message" unless an event: field named another */
    const char *data;      /* the data lines joined by '\n', NUL-terminated */
    size_t      data_len;
    const char *id;        /* the last event ID ("" when none) */
} llmr_sse_event;

/* Called for each whole event; the strings are valid during the call only. Returning non-zero
 * stops the feed, which then returns that value. */
typedef int (*llmr_sse_cb)(void *user, const llmr_sse_event *ev);

typedef struct llmr_sse {
    char  *line;   size_t n_line, cap_line;    /* the line being assembled */
    char  *data;   size_t n_data, cap_data;    /* the event's data so far */
    char   type[64];
    char   id[256];
    long   retry_ms;                           /* last retry: field (-1 when none) */
    size_t max_bytes;                          /* bound on a line and on an event's data */
    bool   cr;                                 /* the last byte was a CR (an LF may follow) */
    bool   started;                            /* past the optional BOM */
    bool   has_data;                           /* a data: field was seen in this event */
    unsigned char bom[3]; size_t n_bom;
} llmr_sse;

/* max_bytes bounds a line and an event (0: 4 MiB), as a guard against a hostile server. */
void llmri_sse_init(llmr_sse *p, size_t max_bytes);
void llmri_sse_free(llmr_sse *p);

/* Feeds n bytes. Returns LLMR_OK, the callback's non-zero value, LLMR_ERR_TOO_BIG (a line or
 * an event past max_bytes) or LLMR_ERR_NOMEM. */
int llmri_sse_feed(llmr_sse *p, const char *buf, size_t n, llmr_sse_cb cb, void *user,
                  llmr_err *err);

#endif
