/* remote.h - an OpenAI-compatible backend as a pull-style token source: one streamed request
 * at a time over libcurl's multi interface, so that step() blocks only until the next chunk
 * and a cancel from another thread is noticed within one poll.
 *
 * Endpoints: POST {url}/v1/chat/completions (api "chat") or {url}/v1/completions (api
 * "completions") with "stream": true; a url that already ends in /v1 is not given another. */
#ifndef LLMR_ROUTER_REMOTE_H
#define LLMR_ROUTER_REMOTE_H

#include "core/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct llmr_remote_cfg {
    const char *url;              /* base URL, http(s)://host:port[/prefix] */
    const char *model;            /* the "model" field sent (NULL: omitted) */
    const char *api_key_env;      /* name of the environment variable holding the API key
                                     (NULL: no Authorization header) */
    bool        chat;             /* /v1/chat/completions (true) or /v1/completions */
    long        connect_timeout_ms;   /* default 5000 */
    long        idle_timeout_ms;  /* no byte for this long ends the request (default 30000) */
    /* Asked about every 100 ms while a call waits on the backend (NULL: never); false
     * cancels the request as llmri_remote_cancel would. A server passes "is the client still
     * connected", so that a client who leaves stops a slow backend's request at once. */
    bool      (*alive)(void *user);
    void       *alive_user;
} llmr_remote_cfg;

llmr_remote_cfg llmri_remote_defaults(void);

/* What one request asks for; sampling fields < 0 (or NULL) are not sent, so the server's
 * defaults apply. */
typedef struct llmr_remote_req {
    int32_t     max_tokens;       /* 0: not sent */
    double      temperature;      /* < 0: not sent */
    double      top_p;            /* < 0: not sent */
    int64_t     seed;             /* < 0: not sent */
    const char *const *stop;      /* NULL-terminated, may be NULL */
    bool        json_mode;        /* response_format {"type":"json_object"} */
    /* A whole conversation for a chat backend (n_msgs > 0): sent as "messages" in place of
     * the prompt as one user message. Ignored by a completions backend. */
    const char *const *msg_roles;
    const char *const *msg_contents;
    size_t      n_msgs;
    /* Tool calling (chat backends): the conversation as a JSON array of OpenAI messages
     * (tool_calls, tool_call_id; a call's arguments may be an object: sent as JSON text),
     * sent in place of the roles and contents; the tools (a JSON array in OpenAI's form);
     * tool_choice ("auto", "none", "required" or a function's name; NULL: not sent) and
     * parallel_tool_calls (sent with tools). NULL: none. */
    const char *messages_json;
    const char *tools_json;
    const char *tool_choice;
    bool        parallel_tool_calls;
} llmr_remote_req;

llmr_remote_req llmri_remote_req_defaults(void);

typedef struct llmr_remote llmr_remote;

/* Copies cfg. LLMR_ERR_ARG for a URL that is not http(s), LLMR_ERR_UNSUPPORTED without curl. */
int llmri_remote_open(const llmr_remote_cfg *cfg, llmr_remote **out, llmr_err *err);
void llmri_remote_close(llmr_remote *r);

/* Sends the request and waits for the response status, so that a connection failure, a
 * timeout or an HTTP error arrives here, before any text: LLMR_ERR_NETWORK (connect failure,
 * timeout, 5xx), LLMR_ERR_BUSY (429, 503), LLMR_ERR_NOT_FOUND (404), LLMR_ERR_ARG (other
 * 4xx, a missing API key variable), LLMR_ERR_CANCELLED. */
int llmri_remote_begin(llmr_remote *r, const char *prompt, const llmr_remote_req *q,
                      llmr_err *err);

/* The next piece of text: LLMR_OK with *text and *len (owned by r, valid until the next call;
 * never empty), LLMR_DONE at [DONE] or a finish_reason, or an error (LLMR_ERR_FORMAT for
 * malformed SSE or chunks, LLMR_ERR_NETWORK / LLMR_ERR_BUSY for a dropped connection, idle
 * timeout or error chunk, LLMR_ERR_CANCELLED). */
int llmri_remote_step(llmr_remote *r, const char **text, size_t *len, llmr_err *err);

/* Ends the request (aborting it if it runs); begin may follow. */
void llmri_remote_end(llmr_remote *r);

/* Makes a running begin/step return LLMR_ERR_CANCELLED promptly. Any thread. Cleared by the
 * next begin. */
void llmri_remote_cancel(llmr_remote *r);

/* The tool calls the backend streamed in the request so far (delta.tool_calls assembled by
 * index: ids, names, argument fragments joined) as a JSON array [{"id", "type": "function",
 * "function": {"name", "arguments"}}], malloc'd (free()); NULL when it made none. */
char *llmri_remote_tool_calls(const llmr_remote *r);

/* The finish_reason the server gave ("" when none yet) and the model it named. */
const char *llmri_remote_finish(const llmr_remote *r);
const char *llmri_remote_model(const llmr_remote *r);

/* Asks GET {url}/v1/models within timeout_ms: LLMR_OK when it answers 2xx, else
 * LLMR_ERR_NETWORK / LLMR_ERR_BUSY with the reason. Used to bring a cooled-down backend back. */
int llmri_remote_health(const char *url, long timeout_ms, llmr_err *err);

#endif
