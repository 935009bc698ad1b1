/* server_int.h - what the files of the server layer share (internal).
 *
 * Files: server.c (lifecycle, routing, auth, CORS, limits, access log, the model), http.c
 * (reply helpers, request bodies, client liveness), api_openai.c, api_ollama.c, ws.c (the
 * seed's WebSocket protocol), api_misc.c (health, models, metrics), page.c (the web page),
 * request.c (request bodies), job.c (a stream pulled into a buffer), gen.c (one request as a
 * routed stream), route.c (the model routes over the router).
 *
 * The server is a front end of the router (llmr.h, "Router"): with --config the config's
 * router, with -m a router of one entry, the model file. Generation goes through routed
 * streams only; the router decides which model answers, fails over and backs off.
 */
#ifndef LLMR_SERVER_INT_H
#define LLMR_SERVER_INT_H

#include <civetweb.h>
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmr.h"
#include "server/request.h"
#include "server/job.h"

typedef enum srv_state { SRV_LOADING = 0, SRV_READY = 1, SRV_FAILED = 2 } srv_state;

/* Time-to-first-token histogram buckets, seconds (Prometheus `le` bounds). */
#define SRV_TTFT_BUCKETS 12
extern const double srv_ttft_le[SRV_TTFT_BUCKETS];

typedef struct srv_metrics {
#define SRV_REQ_OTHER 6
    atomic_ullong requests[7];        /* by endpoint kind (srv_api), then other routes: chat,
                                         completion, ollama generate, ollama chat, ws,
                                         anthropic, other */
    atomic_ullong errors_4xx, errors_5xx, rejected_busy, cancelled;
    atomic_ullong tokens_in, tokens_out;
    atomic_ullong ttft_count, ttft_bucket[SRV_TTFT_BUCKETS];
    atomic_ullong ttft_sum_us;
    atomic_ullong refused_conns;      /* over max_conns_per_addr: answered 429 (conn.c) */
} srv_metrics;

struct llmr_server {
    llmr_server_opts o;
    char *host, *api_key, *metrics_key, *cors, *alias, *models_dir;   /* owned copies of the options */
    char *browser_dir;        /* the browser folder's real path (static.c); NULL: none */
    struct mg_context *ctx;
    bool lib_inited;          /* mg_init_library called (mg_exit_library at close) */
    int port;
    double t_start;
    srv_metrics m;

    /* The router (owned) holds every model; requests pick one by name or by the router's
     * strategy. With -m (single) it is a router of one entry made from the model file, and
     * a model load replaces it: `lock` guards state, models, model_path and name then, and
     * generation handlers hold `use` (a read lock) from start to end so that a load (write
     * lock) waits for them. With --config, state is READY from the start. */
    llmr_router *models;
    bool single;
    pthread_mutex_t lock;
    pthread_rwlock_t use;
    srv_state state;
    char errmsg[512];
    char *model_path, *name;
    uint64_t model_size;
    pthread_t loader;
    bool loader_started;
    srv_jobs *jobs;           /* every request's stream (job.h) */
    struct srv_responses *responses;   /* stored /v1/responses conversations */

    atomic_int in_flight;     /* generation requests being served */
    atomic_bool stopping;     /* shutdown has begun: new requests get 503 */
    pthread_mutex_t ws_lock;  /* guards the WebSocket connection list (ws.c) */
    struct srv_ws *ws_list;
    struct srv_conns *conns;  /* connection counts and body deadlines (conn.c) */
};

/* One request's generation (gen.c): its job, and what the server holds for it. */
typedef struct srv_gen {
    llmr_server *s;
    srv_job     *job;
    bool         held;        /* -m: the model's read lock and an in_flight count are held */
    bool         counted;     /* an in_flight count is held */
    char         model[160];  /* the name replies carry in their "model" fields */
    char         model_hdr[160];   /* the model that answers, for X-LLMR-Model ("" none) */
    srv_take     first;       /* pieces taken before the reply began (SRV_GEN_WAIT_FIRST) */
    bool         tools;       /* the request has tools the model may call */
    srv_job_state first_state;
    bool         first_pending;
    bool         logprobs;    /* the request asked for log-probabilities */
    const cJSON *piece_lp;    /* srv_pump: the entries of the piece being emitted (borrowed,
                                 during emit only; NULL: none) */
    cJSON       *lp_text;     /* srv_wait_all: the entries of the text (not of reasoning), in
                                 order, as one array (owned; NULL: none asked) */
} srv_gen;

/* ---- per-request bookkeeping for the access log ---- */
typedef struct srv_ctx {
    llmr_server *srv;
    struct mg_connection *c;
    srv_api api;              /* decides the error shape */
    int status;
    size_t bytes;
    double t0;
    int fd;                   /* the client's socket, found once; -1 when not found */
    const char *note;         /* extra access-log text (finish reason) */
    const char *model_hdr;    /* the answering model: an X-LLMR-Model header (NULL: none) */
    int prompt_tokens, gen_tokens;
} srv_ctx;

/* ---- http.c ---- */
void srv_ctx_init(srv_ctx *x, llmr_server *s, struct mg_connection *c, srv_api api);
/* Sends a complete response (status, JSON body) with CORS and length headers. */
void srv_reply_json(srv_ctx *x, int status, const char *json, const char *extra_headers);
/* Replies with object o as compact JSON and frees o. */
void srv_reply_cjson(srv_ctx *x, int status, cJSON *o);
void srv_reply_text(srv_ctx *x, int status, const char *ctype, const char *body, size_t len,
                    const char *extra_headers);
/* Sends an error in the request's API shape (OpenAI error object or ollama {"error":...}). */
void srv_reply_error(srv_ctx *x, const srv_error *e);
void srv_reply_errorf(srv_ctx *x, int status, const char *type, const char *code,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Starts a streamed (chunked) response with the given content type. */
bool srv_stream_begin(srv_ctx *x, const char *ctype);
/* Writes one chunk; false when the client is gone. */
bool srv_stream_write(srv_ctx *x, const char *data, size_t len);
void srv_stream_end(srv_ctx *x);
/* Reads the request body (at most max bytes). Returns a malloc'd NUL-terminated buffer, or
 * NULL after sending 413 (too large), 408 (client too slow) or 400. */
char *srv_read_body(srv_ctx *x, size_t *len);
/* The body as a JSON object (bounded depth, no repeated keys; free with cJSON_Delete), or
 * NULL after replying 4xx/5xx. */
cJSON *srv_read_json(srv_ctx *x);
/* Whether the client is still connected (its socket has not been closed or reset). */
bool srv_client_alive(srv_ctx *x);
/* The same for a callback's void pointer (x is an srv_ctx). */
bool srv_client_alive_cb(void *x);
/* The CORS header line(s) for responses, "" when CORS is off. */
/* The request's Origin when --cors allows it (the value to send back), else NULL. */
const char *srv_cors_origin(srv_ctx *x);
/* Whether a WebSocket handshake may proceed: browsers let any page open a WebSocket to any
 * address (no CORS), so a handshake with an Origin must come from the server's own page or
 * an origin --cors allows. */
bool srv_ws_origin_ok(const struct mg_connection *c, const llmr_server *s);
/* The CORS response headers for this request: none unless its Origin is allowed. */
const char *srv_cors_headers(srv_ctx *x);
void srv_access_log(srv_ctx *x);

/* The socket of connection c (found by its addresses), or -1. Scans the process's
 * descriptors: call it once per connection or request, not in a loop. */
int srv_find_fd(const struct mg_connection *c);
/* The same for a connection's addresses (server_port: the local side). */
int srv_find_fd_of(const char *remote_addr, int remote_port, int server_port);

/* ---- conn.c: limits on what connections may hold ---- */
typedef struct srv_conns srv_conns;
/* A total deadline on reading from a socket (the caller's; linked into the watchdog's list
 * while armed). */
typedef struct srv_deadline {
    int fd;
    double at;                /* llmri_now() time */
    bool armed, fired;        /* fired: the socket's reading side was shut down */
    struct srv_deadline *next;
} srv_deadline;
/* Creates the connection table and starts the deadline watchdog (before mg_start). */
int srv_conns_open(llmr_server *s);
/* Stops the watchdog and frees the table (after mg_stop). */
void srv_conns_close(llmr_server *s);
/* Installs the init_connection, connection_close and begin_request callbacks. */
void srv_conns_callbacks(struct mg_callbacks *cb);
/* civetweb worker threads for the options. */
int srv_conns_threads(const llmr_server *s);
/* Shuts fd's reading side down `seconds` from now unless disarmed first: a read blocked on
 * it then fails. fd < 0 arms nothing. */
void srv_deadline_arm(llmr_server *s, int fd, double seconds, srv_deadline *d);
/* Disarms d; true when it had fired. */
bool srv_deadline_disarm(llmr_server *s, srv_deadline *d);

/* ---- server.c ---- */
/* Compares an offered API key with the server's in time that does not depend on how much of
 * it is right. */
bool srv_key_equal(const char *offered, const char *key);
/* Whether name (a request's "model") names the loaded model (alias, file name with or without
 * .gguf, ollama's "name:latest"); NULL or "" always matches. -m only. */
bool srv_model_matches(llmr_server *s, const char *name);
/* -m: takes the model for a generation request (its read lock and an in_flight count): 0, or
 * an HTTP status with *e (503 loading or shutting down, 404 unknown model). Give it back with
 * srv_model_put(). */
int srv_model_take(llmr_server *s, const char *model_name, srv_error *e);
void srv_model_put(llmr_server *s);
/* Holds s->models for a listing (-m: the read lock, while the model is loaded; false and
 * nothing held when it is not); give it back with srv_models_put(). */
bool srv_models_hold(llmr_server *s);
void srv_models_put(llmr_server *s);
/* The common front of every generation route (OpenAI and ollama): method and API key, body,
 * parsing into *r (the X-LLMR-Strategy header fills r->strategy when the body has none).
 * False once an error has been replied (r is then freed); true with *r to free. */
bool srv_accept_generation(srv_ctx *x, srv_api api, srv_req *r);
/* Loads the model file at path (replacing the current one); 0 or an HTTP status with msg. */
int srv_model_load(llmr_server *s, const char *path, char *msg, size_t msg_len);
/* ISO 8601 UTC time with nanoseconds, as ollama writes created_at. */
void srv_iso_time(char *buf, size_t n);

/* ---- gen.c: one generation ---- */
#define SRV_GEN_WAIT_FIRST 1u   /* return once the first piece is there (or the end): a failure
                                   before any text is still an HTTP status */
#define SRV_GEN_PAUSED     2u   /* open paused (a WebSocket client paused before asking) */
/* Opens request r's routed stream (msgs/n_msgs, when not NULL, are the conversation: the
 * WebSocket history) and starts pulling it. -m: the model, if r names it. alive(alive_user),
 * when not NULL, is asked while the first piece is awaited: false (the client left) cancels
 * the request. Returns 0 with *g to end with srv_gen_end(), or an HTTP status with *e. */
int srv_gen_start(llmr_server *s, const srv_req *r, const srv_msg *msgs, int n_msgs,
                  unsigned flags, bool (*alive)(void *user), void *alive_user, srv_gen *g,
                  srv_error *e);
/* As srv_job_take. */
srv_job_state srv_gen_take(srv_gen *g, int timeout_ms, srv_take *t);
/* Asks the generation to stop, or pauses or resumes it. Any thread. */
void srv_gen_cancel(srv_gen *g);
void srv_gen_pause(srv_gen *g, bool paused);
void srv_gen_usage(srv_gen *g, srv_usage *u);
/* With tools, once the generation is done: the reply read for tool calls (llmr.h,
 * llmr_router_stream_tool_calls) as {"content", "tool_calls": [...]}, parsed (the caller
 * frees it); NULL without tools, or when the reply made no calls. */
cJSON *srv_gen_calls(srv_gen *g);
/* Releases the job and what the server holds for it. */
void srv_gen_end(srv_gen *g);
/* The whole of a generation route, but for what differs per API: counts the request (as
 * api), reads it with accept (NULL: srv_accept_generation; false once it has replied with an
 * error), starts it (SRV_GEN_WAIT_FIRST, so a request no model can answer gets a status:
 * replied in the API's error shape), hands the started generation to reply, then ends it,
 * frees the request and writes the access log. user goes to both. Returns 1 (civetweb's
 * "handled"). */
typedef bool (*srv_accept_fn)(srv_ctx *x, void *user, srv_req *r);
typedef void (*srv_reply_fn)(srv_ctx *x, const srv_req *r, srv_gen *g, void *user);
int srv_handle_generation(struct mg_connection *c, llmr_server *s, srv_api api,
                          srv_accept_fn accept, srv_reply_fn reply, void *user);
/* Stops every generation (shutdown). */
void srv_gen_cancel_all(llmr_server *s);

/* ---- api_ollama.c ---- */
/* One model of /api/tags or /api/ps (ps: the running form); digest: its file's sha256 in hex
 * ("" when there is no file: a remote model, a download not made yet); details: the
 * router status's "details" of a loaded model (family, parameter_size, quantization_level),
 * NULL when not loaded. */
cJSON *srv_ollama_entry(const char *id, const char *digest, uint64_t size,
                        const cJSON *details, bool ps);

/* ---- route.c: the model routes ---- */
/* Gives router r the server's options for the local models it loads (threads, context per
 * slot, parallel slots, queue). 0, or an error with msg. */
int srv_route_init(llmr_server *s, llmr_router *r, char *msg, size_t msg_len);
/* The model routes, from the router's registry. */
void srv_route_models_openai(srv_ctx *x);
void srv_route_models_ollama(srv_ctx *x, bool ps);
void srv_route_models_list(srv_ctx *x);
void srv_route_models_load(srv_ctx *x);
int srv_h_api_models_item(struct mg_connection *c, void *s);

/* ---- generation shared by the APIs (http.c) ---- */
/* Waits for the generation to finish (non-streaming replies), watching the client and the time
 * limit; the text is returned malloc'd, and its reasoning apart (*thought, NULL when none:
 * SRV_JOB_SPLIT); with logprobs, the text's tokens in g->lp_text. false when the client left
 * (generation cancelled). */
bool srv_wait_all(srv_ctx *x, srv_gen *g, char **text, size_t *len, char **thought);
/* Pulls text until the generation ends, calling emit for every batch of new text (with its
 * tokens' log-probabilities in g->piece_lp meanwhile); stops (and cancels) when emit returns
 * false, the client leaves, or the time limit passes. */
typedef bool (*srv_emit_fn)(void *user, const char *text, size_t len, bool thought);
bool srv_pump(srv_ctx *x, srv_gen *g, srv_emit_fn emit, void *user);
void srv_note_usage(srv_ctx *x, const srv_usage *u);

/* ---- handlers ---- */
int srv_h_chat(struct mg_connection *c, void *s);
int srv_h_completions(struct mg_connection *c, void *s);
int srv_h_anthropic_messages(struct mg_connection *c, void *s);
int srv_h_responses(struct mg_connection *c, void *s);
/* /v1/responses' store of conversations for previous_response_id (api_responses.c). */
typedef struct srv_responses srv_responses;
srv_responses *srv_responses_new(void);
void srv_responses_free(srv_responses *r);
int srv_h_anthropic_count(struct mg_connection *c, void *s);
int srv_h_models(struct mg_connection *c, void *s);
int srv_h_ollama_generate(struct mg_connection *c, void *s);
int srv_h_embeddings(struct mg_connection *c, void *s);         /* api_embed.c */
int srv_h_ollama_embed(struct mg_connection *c, void *s);
int srv_h_ollama_embeddings(struct mg_connection *c, void *s);
int srv_h_ollama_chat(struct mg_connection *c, void *s);
int srv_h_ollama_tags(struct mg_connection *c, void *s);
int srv_h_ollama_show(struct mg_connection *c, void *s);
int srv_h_ollama_ps(struct mg_connection *c, void *s);
int srv_h_ollama_version(struct mg_connection *c, void *s);
int srv_h_health(struct mg_connection *c, void *s);
int srv_h_api_health(struct mg_connection *c, void *s);
int srv_h_api_models(struct mg_connection *c, void *s);
int srv_h_api_models_load(struct mg_connection *c, void *s);
int srv_h_metrics(struct mg_connection *c, void *s);
int srv_h_page(struct mg_connection *c, void *s);
/* Serves a /ws request on c (from begin_request): the WebSocket handshake and the session,
 * until it closes. Returns the HTTP status for civetweb's log (101 once upgraded). */
int srv_ws_serve(struct mg_connection *c, llmr_server *s);
void srv_ws_close_all(llmr_server *s);

/* ---- static.c: files sent as they are ---- */
/* /browser and /browser/...: the browser package and the guide's example (static.c). */
int srv_h_browser(struct mg_connection *c, void *s);
/* GET or HEAD /api/models/ID/gguf: rest is "ID/gguf" (the URI after /api/models/). */
void srv_model_gguf(srv_ctx *x, const char *rest);

/* The embedded web page (page.c). */
extern const char srv_page_html[];

/* Common checks at the top of a handler: method, API key. Returns false after replying. */
/* Who may use a route. */
typedef enum srv_access {
    SRV_OPEN,         /* anyone: /health */
    SRV_KEY,          /* the API key, when one is set: every other route */
    SRV_KEY_QUERY,    /* the same, also as ?api_key=KEY (the page and /ws: a browser cannot
                         set their headers) */
    SRV_KEY_METRICS   /* the API key or --metrics-key: /metrics */
} srv_access;
/* Answers CORS preflights (204 for an origin --cors allows, else 403), a wrong method (405)
 * and a missing or wrong key (401); true when the handler should go on. */
bool srv_check(srv_ctx *x, const char *method, srv_access access);
/* Whether the request carries a key that access accepts (always true without --api-key). */
bool srv_key_ok(srv_ctx *x, srv_access access);
const char *srv_finish_name(srv_finish f);

#endif
