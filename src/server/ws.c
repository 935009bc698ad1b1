/* ws.c - the seed's WebSocket chat protocol at /ws (streaming-examples.md, "WebSocket
 * Streaming Server"):
 *   server, on connect:  {"type":"welcome","message":"..."}
 *   client:              {"type":"chat","content":"..."}   (optional: temperature, max_tokens)
 *   server:              {"type":"stream_start"}, {"type":"token","content":"..."} per piece,
 *                        {"type":"stream_end","fullResponse":"<trimmed reply>"}
 *   failures:            {"type":"error","message":"..."}
 *   client:              {"type":"stop"} cancels the reply in progress (it still ends with
 *                        stream_end, carrying what was generated and "stopped":true).
 *   client:              {"type":"pause"} and {"type":"resume"}: flow control of the
 *                        connection. While paused the server sends no token (nor stream_end)
 *                        of the reply in progress, or of the next one when none is, and the
 *                        reply keeps its model in use; resume sends what was held and goes on.
 *                        A stop, a closed socket or the server's --timeout ends a pause.
 * Each connection keeps its own history, the last SRV_WS_TURNS messages as the seed's
 * history.slice(-10), rendered with the model's chat template.
 *
 * The connection's thread (a civetweb worker, from begin_request) reads the client's
 * messages (wsio.c speaks RFC 6455 on the socket), so it must not block while a reply
 * streams (it would never see "stop"): each reply is pumped by a thread of its own, joined
 * before the next reply starts and when the connection closes.
 *
 * Idle clients: one silent for ws_idle_s (while no reply streams) gets a ping; silent for as
 * long again, it is closed with 1001, so a client that has gone away without closing (or
 * holds the connection without answering) gives its worker back in bounded time.
 */
#include "server/server_int.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>
#include <sys/socket.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/util.h"
#include "server/wsio.h"

#define SRV_WS_TURNS 10

typedef struct srv_ws {
    llmr_server *s;
    struct mg_connection *c;
    srv_wsio io;
    pthread_mutex_t mu;        /* guards gen, msgs, n_msgs, pumping */
    srv_msg msgs[SRV_WS_TURNS + 1];
    int n_msgs;
    srv_gen *gen;              /* the reply in progress, once started */
    bool busy;                 /* a reply is being prepared or streamed */
    bool stop_asked;           /* {"type":"stop"} came before the job existed */
    bool paused;               /* {"type":"pause"} without a resume since */
    pthread_cond_t resumed;    /* signalled on resume and stop, with mu */
    bool pumping;              /* a pump thread exists and has not been joined */
    srv_req req;
    pthread_t th;
    struct srv_ws *next;       /* s->ws_list, guarded by s->ws_lock */
} srv_ws;

static void ws_send(srv_ws *w, cJSON *o)
{
    char *js = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (js) {
        srv_wsio_send(&w->io, WS_OP_TEXT, js, strlen(js));
        free(js);
    }
}

static void ws_error(srv_ws *w, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "error");
    cJSON_AddStringToObject(o, "message", msg);
    ws_send(w, o);
}

/* Appends a message, keeping the last SRV_WS_TURNS. Under w->mu. */
static bool history_push(srv_ws *w, const char *role, const char *content)
{
    char *r = llmri_strdup(role), *c = llmri_strdup(content);
    if (!r || !c) {
        free(r);
        free(c);
        return false;
    }
    if (w->n_msgs == SRV_WS_TURNS) {
        free(w->msgs[0].role);
        free(w->msgs[0].content);
        memmove(w->msgs, w->msgs + 1, (SRV_WS_TURNS - 1) * sizeof w->msgs[0]);
        w->n_msgs--;
    }
    w->msgs[w->n_msgs++] = (srv_msg){r, c};
    return true;
}

/* The seed trims the reply it stores and sends (response.trim()). */
static char *trimmed(const char *t, size_t n)
{
    while (n && isspace((unsigned char)*t))
        t++, n--;
    while (n && isspace((unsigned char)t[n - 1]))
        n--;
    return llmri_strndup(t, n);
}

/* Drops the last history message (the user's, when no reply came). Pump thread, busy. */
static void history_pop(srv_ws *w)
{
    pthread_mutex_lock(&w->mu);
    if (w->n_msgs > 0) {
        w->n_msgs--;
        free(w->msgs[w->n_msgs].role);
        free(w->msgs[w->n_msgs].content);
    }
    pthread_mutex_unlock(&w->mu);
}

/* The reply is still wanted: no stop came (a closed socket also stops). */
static bool ws_wanted(void *user)
{
    srv_ws *w = user;
    pthread_mutex_lock(&w->mu);
    bool stop = w->stop_asked;
    pthread_mutex_unlock(&w->mu);
    return !stop;
}

/* Starts the reply on the model the message names (or the router's choice): the generation
 * holds the model for the whole reply, so a model load or unload waits for it. */
static bool pump_start(srv_ws *w, srv_gen *g)
{
    llmr_server *s = w->s;
    srv_error e = {0};
    /* While busy, the history is this thread's alone (on_chat refuses new messages). */
    pthread_mutex_lock(&w->mu);
    unsigned flags = w->paused ? SRV_GEN_PAUSED : 0;   /* paused before asking: no token yet */
    pthread_mutex_unlock(&w->mu);
    if (srv_gen_start(s, &w->req, w->msgs, w->n_msgs, flags, ws_wanted, w, g, &e)) {
        history_pop(w);   /* unanswered: the next message goes without it */
        ws_error(w, e.status == 503 && e.code && !strcmp(e.code, "model_loading")
                        ? "the model is not ready" : e.msg);
        return false;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "stream_start");
    cJSON_AddStringToObject(o, "model", g->model);
    ws_send(w, o);
    pthread_mutex_lock(&w->mu);
    w->gen = g;
    if (w->stop_asked)
        srv_gen_cancel(g);
    srv_gen_pause(g, w->paused);
    pthread_mutex_unlock(&w->mu);
    return true;
}

/* Holds the pump while the client has paused the connection. The reply keeps its model (the
 * generation holds it from start to srv_gen_end), so a client can keep a model in use for as
 * long as it likes, as one that stops reading would; the server's timeout cancels the reply
 * and ends the pause. Pump thread. */
static void wait_resumed(srv_ws *w, srv_gen *j, double t0)
{
    const double timeout = w->s->o.timeout_s;
    pthread_mutex_lock(&w->mu);
    while (w->paused && !w->stop_asked) {
        if (timeout > 0 && llmri_now() - t0 > timeout) {
            w->stop_asked = true;
            srv_gen_cancel(j);
            break;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000L;   /* wake now and then to look at the timeout */
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&w->resumed, &w->mu, &ts);
    }
    pthread_mutex_unlock(&w->mu);
}

static void *pump_main(void *arg)
{
    srv_ws *w = arg;
    llmr_server *s = w->s;
    srv_gen gen, *j = &gen;
    bool started = pump_start(w, j);
    srv_req_free(&w->req);
    if (!started) {
        pthread_mutex_lock(&w->mu);
        w->busy = false;
        pthread_mutex_unlock(&w->mu);
        return NULL;
    }
    srv_take t = {0};
    llmr_buf all = {0};
    double t0 = llmri_now();
    for (;;) {
        wait_resumed(w, j, t0);
        srv_job_state st = srv_gen_take(j, 50, &t);
        if (t.len && !llmri_buf_append(&all, t.text, t.len))
            break;
        /* One {"type":"token"} per piece, as the seed sends one per token. */
        for (int i = 0; i < t.n; i++) {
            size_t at = i ? t.ends[i - 1] : 0;
            char *piece = llmri_strndup(t.text + at, t.ends[i] - at);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "type", "token");
            cJSON_AddStringToObject(o, "content", piece ? piece : "");
            if (t.lp[i])           /* {"logprobs": true}: the piece's tokens */
                cJSON_AddItemToObject(o, "logprobs", cJSON_Duplicate(t.lp[i], true));
            free(piece);
            ws_send(w, o);
        }
        if (st == SRV_JOB_DONE)
            break;
        if (s->o.timeout_s > 0 && llmri_now() - t0 > s->o.timeout_s)
            srv_gen_cancel(j);
    }
    srv_usage u;
    srv_gen_usage(j, &u);
    atomic_fetch_add(&s->m.tokens_in, (unsigned long long)u.prompt_tokens);
    atomic_fetch_add(&s->m.tokens_out, (unsigned long long)u.completion_tokens);
    char *full = u.finish == SRV_FINISH_ERROR ? NULL : trimmed(llmri_buf_str(&all), all.len);
    /* Not busy from here on: a client may send its next message as soon as stream_end
     * arrives (on_chat joins this thread before starting the next reply). */
    pthread_mutex_lock(&w->mu);
    if (u.finish != SRV_FINISH_ERROR)
        history_push(w, "assistant", full ? full : "");
    w->gen = NULL;
    w->busy = false;
    pthread_mutex_unlock(&w->mu);
    if (u.finish == SRV_FINISH_ERROR) {
        char msg[300];
        snprintf(msg, sizeof msg, "generation failed: %s", u.err_msg);
        ws_error(w, msg);
    } else {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "stream_end");
        cJSON_AddStringToObject(o, "fullResponse", full ? full : "");
        cJSON_AddStringToObject(o, "model", j->model);
        cJSON_AddStringToObject(o, "finish_reason", srv_finish_name(u.finish));
        if (u.finish == SRV_FINISH_CANCELLED)
            cJSON_AddBoolToObject(o, "stopped", true);
        cJSON_AddNumberToObject(o, "tokens", u.completion_tokens);
        cJSON_AddNumberToObject(o, "tokens_per_second",
                                u.gen_s > 0 ? u.completion_tokens / u.gen_s : 0);
        ws_send(w, o);
    }
    free(full);
    if (s->o.access_log) {
        const struct mg_request_info *ri = mg_get_request_info(w->c);
        fprintf(stderr, "%s \"WS /ws chat\" model=%s prompt=%d gen=%d %.3fs %s\n",
                ri ? ri->remote_addr : "-", j->model, u.prompt_tokens, u.completion_tokens,
                u.total_s, srv_finish_name(u.finish));
    }
    srv_take_free(&t);
    llmri_buf_free(&all);
    srv_gen_end(j);
    return NULL;
}

/* Joins a finished pump thread. Under no lock. */
static void join_pump(srv_ws *w)
{
    pthread_mutex_lock(&w->mu);
    bool p = w->pumping;
    w->pumping = false;
    pthread_mutex_unlock(&w->mu);
    if (p)
        pthread_join(w->th, NULL);
}

static void on_chat(srv_ws *w, const char *data, size_t len)
{
    llmr_server *s = w->s;
    pthread_mutex_lock(&w->mu);
    bool busy = w->busy;
    pthread_mutex_unlock(&w->mu);
    if (busy) {
        ws_error(w, "a reply is in progress: wait for stream_end or send {\"type\":\"stop\"}");
        return;
    }
    join_pump(w);
    atomic_fetch_add(&s->m.requests[SRV_API_WS], 1);
    srv_req r;
    srv_error e = {0};
    if (srv_req_parse(SRV_API_WS, data, len, &r, &e)) {
        ws_error(w, e.msg);
        srv_req_free(&r);
        return;
    }
    if (atomic_load(&s->stopping) || (s->single && !srv_model_matches(s, r.model))) {
        ws_error(w, atomic_load(&s->stopping) ? "the server is shutting down"
                                              : "unknown model (GET /api/models lists them)");
        srv_req_free(&r);
        return;
    }
    /* No pump thread runs now, so the history is this thread's alone. */
    if (!history_push(w, "user", r.prompt)) {
        ws_error(w, "out of memory");
        srv_req_free(&r);
        return;
    }
    pthread_mutex_lock(&w->mu);
    w->busy = true;
    w->stop_asked = false;
    w->req = r;
    w->pumping = pthread_create(&w->th, NULL, pump_main, w) == 0;
    if (!w->pumping)
        w->busy = false;
    bool started = w->pumping;
    pthread_mutex_unlock(&w->mu);
    if (!started) {
        srv_req_free(&w->req);
        history_pop(w);
        ws_error(w, "cannot start the reply thread");
    }
}

static void on_stop(srv_ws *w)
{
    pthread_mutex_lock(&w->mu);
    w->stop_asked = true;
    if (w->gen)
        srv_gen_cancel(w->gen);
    pthread_cond_broadcast(&w->resumed);
    pthread_mutex_unlock(&w->mu);
}

static void on_pause(srv_ws *w, bool pause)
{
    pthread_mutex_lock(&w->mu);
    w->paused = pause;
    if (w->gen)
        srv_gen_pause(w->gen, pause);    /* the stream itself: no token is made meanwhile */
    if (!pause)
        pthread_cond_broadcast(&w->resumed);
    pthread_mutex_unlock(&w->mu);
}

/* The API key from "Authorization: Bearer KEY" or, as browsers cannot set headers on a
 * WebSocket, from ?api_key=KEY; of any length, compared in constant time. */
static bool key_ok(const struct mg_connection *c, const llmr_server *s)
{
    const char *h = mg_get_header(c, "Authorization");
    if (h && !strncasecmp(h, "Bearer ", 7) && srv_key_equal(h + 7, s->api_key))
        return true;
    const struct mg_request_info *ri = mg_get_request_info(c);
    if (!ri->query_string)
        return false;
    size_t ql = strlen(ri->query_string);
    char *q = malloc(ql + 1);   /* a decoded value is never longer than the query */
    bool ok = q && mg_get_var(ri->query_string, ql, "api_key", q, ql + 1) >= 0 &&
              srv_key_equal(q, s->api_key);
    free(q);
    return ok;
}

/* Answers a request that cannot become a WebSocket. */
static int refuse(struct mg_connection *c, llmr_server *s, int status, const char *msg)
{
    srv_ctx x;
    srv_ctx_init(&x, s, c, SRV_API_WS);
    char extra[64] = "";
    if (status == 426)
        snprintf(extra, sizeof extra, "Sec-WebSocket-Version: 13\r\n");
    else if (status == 401)
        snprintf(extra, sizeof extra, "WWW-Authenticate: Bearer\r\n");
    cJSON *o = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "message", msg);
    char *js = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    srv_reply_text(&x, status, "application/json", js ? js : "{}", js ? strlen(js) : 2, extra);
    free(js);
    srv_access_log(&x);
    return status;
}

static void welcome(srv_ws *w)
{
    llmr_server *s = w->s;
    char msg[400];
    pthread_mutex_lock(&s->lock);
    snprintf(msg, sizeof msg, "Connected to llmr %s (model %s)", llmr_version(),
             !s->single ? "chosen per message" : s->alias ? s->alias
                                             : (s->name ? s->name : "loading"));
    pthread_mutex_unlock(&s->lock);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "welcome");
    cJSON_AddStringToObject(o, "message", msg);
    ws_send(w, o);
}

static void on_text(srv_ws *w, const char *data, size_t len)
{
    char err[300];
    cJSON *o = llmri_json_parse(data, len, 0, "the message", NULL, err, sizeof err);
    const cJSON *t = o ? cJSON_GetObjectItemCaseSensitive(o, "type") : NULL;
    if (!cJSON_IsString(t)) {
        ws_error(w, o ? "a message needs a \"type\" (chat, stop, pause or resume)" : err);
    } else if (!strcmp(t->valuestring, "chat")) {
        on_chat(w, data, len);
    } else if (!strcmp(t->valuestring, "stop")) {
        on_stop(w);
    } else if (!strcmp(t->valuestring, "pause") || !strcmp(t->valuestring, "resume")) {
        on_pause(w, t->valuestring[0] == 'p');
    } else {
        char msg[160];
        snprintf(msg, sizeof msg, "unknown message type '%.40s' (expected chat, stop, pause "
                 "or resume)", t->valuestring);
        ws_error(w, msg);
    }
    cJSON_Delete(o);
}

static bool ws_busy(srv_ws *w)
{
    pthread_mutex_lock(&w->mu);
    bool b = w->busy;
    pthread_mutex_unlock(&w->mu);
    return b;
}

/* Reads messages until the client closes, breaks the protocol, idles out, or the server
 * stops (once no reply is streaming: shutdown lets replies finish first). */
static void session(srv_ws *w)
{
    llmr_server *s = w->s;
    double idle = s->o.ws_idle_s;
    bool pinged = false;
    for (;;) {
        bool busy = ws_busy(w);
        if (atomic_load(&s->stopping) && !busy) {
            srv_wsio_close(&w->io, WS_CLOSE_GOING_AWAY, "the server is shutting down", 1000);
            return;
        }
        double rx = w->io.last_rx;
        srv_ws_event ev = srv_wsio_next(&w->io, 200);
        if (w->io.last_rx != rx)
            pinged = false;   /* any frame (a pong too) shows the client is there */
        if (ev == WS_EV_CLOSED)
            return;
        if (ev == WS_EV_VIOLATION) {
            if (w->io.close_code == WS_CLOSE_UNSUPPORTED)
                ws_error(w, w->io.close_reason);
            srv_wsio_close(&w->io, w->io.close_code, w->io.close_reason, 1000);
            return;
        }
        if (ev == WS_EV_TEXT) {
            on_text(w, (const char *)w->io.msg, w->io.msg_len);
            continue;
        }
        double now = llmri_now();
        if (busy) {
            w->io.last_rx = now;   /* a client waiting for its reply is not idle */
            pinged = false;
        } else if (now - w->io.last_rx >= 2 * idle) {
            srv_wsio_close(&w->io, WS_CLOSE_GOING_AWAY, "idle: no answer to the ping", 1000);
            return;
        } else if (now - w->io.last_rx >= idle && !pinged) {
            srv_wsio_send(&w->io, WS_OP_PING, "llmr", 4);
            pinged = true;
        }
    }
}

static void ws_free(srv_ws *w)
{
    llmr_server *s = w->s;
    on_stop(w);      /* a client that leaves stops its reply */
    join_pump(w);
    pthread_mutex_lock(&s->ws_lock);
    for (srv_ws **pp = &s->ws_list; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    pthread_mutex_unlock(&s->ws_lock);
    for (int i = 0; i < w->n_msgs; i++) {
        free(w->msgs[i].role);
        free(w->msgs[i].content);
    }
    pthread_cond_destroy(&w->resumed);
    srv_wsio_free(&w->io);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

int srv_ws_serve(struct mg_connection *c, llmr_server *s)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    char accept[29];
    const char *why = NULL;
    int st = srv_ws_handshake_check(ri->request_method, ri->http_version,
                                    mg_get_header(c, "Upgrade"), mg_get_header(c, "Connection"),
                                    mg_get_header(c, "Sec-WebSocket-Version"),
                                    mg_get_header(c, "Sec-WebSocket-Key"), accept, &why);
    if (st)
        return refuse(c, s, st, why);
    if (!srv_ws_origin_ok(c, s))
        return refuse(c, s, 403, "a page of another origin may not open this WebSocket (see "
                                 "--cors)");
    if (s->api_key && !key_ok(c, s))
        return refuse(c, s, 401, "the API key is missing or not valid (send 'Authorization: "
                                 "Bearer KEY' or ?api_key=KEY)");
    if (atomic_load(&s->stopping))
        return refuse(c, s, 503, "the server is shutting down");
    int fd = srv_find_fd(c);
    srv_ws *w = fd >= 0 ? calloc(1, sizeof *w) : NULL;
    if (!w)
        return refuse(c, s, 500, "cannot serve the WebSocket");
    mg_printf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
    w->s = s;
    w->c = c;
    srv_wsio_init(&w->io, fd, s->o.max_body, s->o.read_timeout_s, s->o.read_timeout_s);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->resumed, NULL);
    pthread_mutex_lock(&s->ws_lock);
    w->next = s->ws_list;
    s->ws_list = w;
    pthread_mutex_unlock(&s->ws_lock);
    welcome(w);
    session(w);
    ws_free(w);
    /* civetweb would read the next request from this socket: there is none. */
    shutdown(fd, SHUT_RDWR);
    return 101;
}

void srv_ws_close_all(llmr_server *s)
{
    pthread_mutex_lock(&s->ws_lock);
    for (srv_ws *w = s->ws_list; w; w = w->next)
        on_stop(w);
    pthread_mutex_unlock(&s->ws_lock);
}
