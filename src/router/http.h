/* http.h - one small HTTP request with the whole (bounded) answer in memory: what `llmr ps`,
 * `llmr stop` and the ollama registry's manifests need. Downloads of models go through
 * fetch.c instead (resume, progress, checks). */
#ifndef LLMR_ROUTER_HTTP_H
#define LLMR_ROUTER_HTTP_H

#include "core/error.h"

#include <stddef.h>

typedef struct rt_http_req {
    const char *method;        /* "GET" (default when NULL), "DELETE", "POST" */
    const char *url;           /* http:// or https:// only */
    const char *accept;        /* Accept header, or NULL */
    const char *bearer;        /* Authorization: Bearer KEY, or NULL */
    const char *body;          /* JSON body for POST, or NULL */
    long        timeout_ms;    /* whole request (default 10000) */
    size_t      max_bytes;     /* the answer may be at most this long (default 4 MiB) */
} rt_http_req;

/* Performs the request, following redirects. On LLMR_OK, *status is the HTTP status (any,
 * 4xx and 5xx included) and *body a malloc'd NUL-terminated answer of *len bytes. Errors:
 * LLMR_ERR_ARG (not an http(s) URL), LLMR_ERR_NETWORK (no connection, timeout; the message
 * names the URL and curl's reason), LLMR_ERR_TOO_BIG (past max_bytes), LLMR_ERR_NOMEM,
 * LLMR_ERR_UNSUPPORTED (built without libcurl). */
int rt_http(const rt_http_req *r, long *status, char **body, size_t *len, llmr_err *err);

#endif
