/* addon.h - the Node-API face of libllmr (llmr.node), shared by its two files:
 * addon.c (module set-up, errors, options, routers) and stream.c (streams on worker threads).
 *
 * Only the public API of llmr.h is used. Generation never runs on the JavaScript thread: each
 * stream is pulled with llmr_stream_next() on a worker thread of this addon, and what it
 * produces reaches JavaScript through a thread-safe function of its own. */
#ifndef LLMR_NODE_ADDON_H
#define LLMR_NODE_ADDON_H

#define NAPI_VERSION 8
#include <node_api.h>
#include <llmr.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/* A router shared by JavaScript (its External) and by every stream opened on it: closed when
 * the last of them lets go, from whichever thread that is. */
typedef struct js_router {
    llmr_router *r;
    atomic_int   refs;       /* the External's, plus one per stream not yet closed */
} js_router;

void js_router_release(js_router *jr);

/* Throws a JavaScript Error with `code` (e.g. "LLMR_ERR_ARG") and message; returns NULL so
 * that a callback can `return js_throw(...)`. */
napi_value js_throw(napi_env env, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A JavaScript Error value for a libllmr result code and message. */
napi_value js_error_value(napi_env env, int rc, const char *msg);
/* "LLMR_ERR_FORMAT" for LLMR_ERR_FORMAT (the prefix of llmr_strerror). */
void js_code_name(int rc, char *buf, size_t n);

/* Reads a string argument into a malloc'd UTF-8 copy (NULL and a pending exception when it is
 * not a string). */
char *js_string(napi_env env, napi_value v, const char *what);

/* Stream functions (stream.c), registered by addon.c. */
napi_value js_stream_open(napi_env env, napi_callback_info info);
napi_value js_stream_control(napi_env env, napi_callback_info info);
/* Per-environment state: the worker pool. */
int  js_pool_init(napi_env env);

/* Options (addon.c): fill o/ro from the plain objects the JavaScript layer has checked.
 * Strings are copied into `keep` (freed with js_opts_free). Return false with an exception
 * pending when a value has the wrong type. */
typedef struct js_opts {
    llmr_gen_opts   go;
    llmr_route_opts ro;
    char           *strs[LLMR_MAX_STOP + 6];
    size_t          n_strs;
    llmr_logit_bias *bias;
} js_opts;
bool js_opts_read(napi_env env, napi_value gen, napi_value route, js_opts *o);
void js_opts_free(js_opts *o);

#endif
