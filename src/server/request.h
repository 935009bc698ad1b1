/* request.h - parsing the JSON bodies of generation requests (OpenAI, ollama, the seed's
 * WebSocket protocol) into one normalized form, with errors that carry their HTTP status.
 *
 * Pure functions over a byte buffer: no sockets, no model. Every input is hostile; the
 * libFuzzer target fuzz/fuzz_request.c drives srv_req_parse() with arbitrary bytes.
 */
#ifndef LLMR_SERVER_REQUEST_H
#define LLMR_SERVER_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmr.h"
#include <cjson/cJSON.h>

/* Which wire API a request came in on: it decides defaults (ollama streams unless told not
 * to; OpenAI does not), field names and the shape of replies and errors. */
typedef enum srv_api {
    SRV_API_CHAT = 0,         /* POST /v1/chat/completions */
    SRV_API_COMPLETION = 1,   /* POST /v1/completions */
    SRV_API_OLLAMA_GEN = 2,   /* POST /api/generate */
    SRV_API_OLLAMA_CHAT = 3,  /* POST /api/chat */
    SRV_API_WS = 4,           /* a {"type":"chat"} message on /ws */
    SRV_API_ANTHROPIC = 5     /* POST /v1/messages (Anthropic's Messages API) */
} srv_api;

#define SRV_MAX_MSGS   256      /* messages in one chat request */
#define SRV_MAX_STOP   16       /* stop sequences (OpenAI allows 4; we allow more) */
#define SRV_MAX_BIAS   1024     /* logit_bias entries */
#define LLMR_MAX_GEN_TOKENS_SRV 1048576   /* the most max_tokens a request may ask for */

typedef struct srv_msg {
    char *role;      /* "system", "user", "assistant", "tool" */
    char *content;   /* UTF-8 text (an OpenAI content-part array is joined) */
} srv_msg;

typedef struct srv_bias {
    int32_t token;
    float   bias;
} srv_bias;

/* A request, normalized. Strings are malloc'd and freed by srv_req_free(). Fields left at
 * their "unset" values take the server's defaults. */
typedef struct srv_req {
    srv_api  api;
    char    *model;            /* requested model name; NULL when absent */
    srv_msg *msgs;             /* chat APIs */
    int      n_msgs;
    char    *prompt;           /* completion APIs */
    char    *system;           /* ollama generate: system prompt */
    bool     raw;              /* ollama generate: prompt is not templated */
    bool     stream;
    bool     include_usage;    /* OpenAI stream_options.include_usage */
    int32_t  max_tokens;       /* -1: unset */
    float    temperature;      /* NaN: unset (likewise below) */
    float    top_p, min_p, presence_penalty, frequency_penalty, repeat_penalty;
    int32_t  top_k;            /* -1: unset */
    bool     has_seed;
    uint64_t seed;
    char    *stop[SRV_MAX_STOP];
    int      n_stop;
    srv_bias *bias;
    int      n_bias;
    bool     json_object;      /* response_format json_object / ollama format "json" */
    char    *json_schema;      /* response_format json_schema.schema / ollama format {...},
                                  serialized */
    char    *user;             /* OpenAI `user`: kept for the access log */
    char    *strategy;         /* llmr extension, every API: the routing strategy for this
                                  request (`llmr serve --config`); NULL: the router's */
    bool     logprobs;         /* each token's log-probability (llmr_gen_opts.logprobs) */
    int32_t  top_logprobs;     /* and this many alternatives, 0..20 */
    bool     split_reasoning;  /* <think> blocks apart from the answer: OpenAI
                                  reasoning_content (reasoning_format other than "none",
                                  the default on chat completions), ollama's thinking
                                  ("think": true) */
    /* tool calling (chat APIs) */
    char    *tools;            /* the tools array, serialized; NULL: none */
    char    *tool_choice;      /* "auto", "none", "required" or a function's name; NULL: auto */
    bool     parallel_tool_calls;
    char    *messages_json;    /* the messages as the template gets them (content flattened,
                                  tool_calls' arguments as objects), when tools are given or
                                  the history holds calls; NULL otherwise */
} srv_req;

/* An error to send back: HTTP status, OpenAI error `type` and `code`, the offending `param`
 * (empty: none) and a message saying what was wrong and what was expected. */
typedef struct srv_error {
    int         status;
    const char *type;    /* "invalid_request_error", "authentication_error", "server_error",
                            ... */
    const char *code;    /* NULL or "context_length_exceeded", "model_not_found", ... */
    char        param[64];
    char        msg[512];
} srv_error;

/* Fills *e and returns status, so `return srv_error_set(e, 400, ...)` reads naturally. */
int srv_error_set(srv_error *e, int status, const char *type, const char *code,
                  const char *param, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Parses body[0..len) as a request of kind `api` into *out (zeroed first). Returns 0, or an
 * HTTP status (400, 413, 422) with *e filled: malformed JSON (with the byte offset), invalid
 * UTF-8, a field of the wrong type or out of range (named in e->param), a missing required
 * field, n != 1. *out is always safe to pass to srv_req_free(). */
/* The tool-calling fields of a chat request o (after its messages): tools, tool_choice,
 * parallel_tool_calls, and r->messages_json when tools or the history's calls need it
 * (request_tools.c). 0, or a status with *e. */
int srv_req_tools(const cJSON *o, srv_req *r, srv_error *e);
/* For the APIs translated into a chat request (Anthropic's, Responses): one function tool in
 * OpenAI's form from its parts (NULL parts left out), and a tool_choice naming a function. */
cJSON *srv_function_tool(const cJSON *name, const cJSON *description, const cJSON *parameters);
void srv_named_tool_choice(cJSON *o, const char *name);

int srv_req_parse(srv_api api, const char *body, size_t len, srv_req *out, srv_error *e);
void srv_req_free(srv_req *r);

/* Whether s[0..n) is well-formed UTF-8 (no overlongs, surrogates or code points past
 * U+10FFFF: Unicode 15 table 3-7). On failure *bad is the offset of the first bad byte. */
bool srv_utf8_valid(const char *s, size_t n, size_t *bad);

#endif
