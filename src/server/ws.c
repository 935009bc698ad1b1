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
 * civetweb calls the data handler on the connection's own thread, so the handler must not
 * block while a reply streams (it would never see "stop"): each reply is pumped by a thread
 * of its own, joined before the next reply starts and when the connection closes.
 */
#include "server/server_int.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/util.h"

#define SRV_WS_TURNS 10

typedef struct srv_ws {
    llmr_server *s;
    struct mg_connection *c;
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
        mg_websocket_write(w->c, MG_WEBSOCKET_OPCODE_TEXT, js, strlen(js));
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
    char *r = llmr_strdup(role), *c = llmr_strdup(content);
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
    return llmr_strndup(t, n);
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
    if (srv_gen_start(s, &w->req, w->msgs, w->n_msgs, ws_wanted, w, g, &e)) {
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
        if (timeout > 0 && llmr_now() - t0 > timeout) {
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
    double t0 = llmr_now();
    for (;;) {
        wait_resumed(w, j, t0);
        srv_job_state st = srv_gen_take(j, 50, &t);
        if (t.len && !llmr_buf_append(&all, t.text, t.len))
            break;
        /* One {"type":"token"} per piece, as the seed sends one per token. */
        for (int i = 0; i < t.n; i++) {
            size_t at = i ? t.ends[i - 1] : 0;
            char *piece = llmr_strndup(t.text + at, t.ends[i] - at);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "type", "token");
            cJSON_AddStringToObject(o, "content", piece ? piece : "");
            free(piece);
            ws_send(w, o);
        }
        if (st == SRV_JOB_DONE)
            break;
        if (s->o.timeout_s > 0 && llmr_now() - t0 > s->o.timeout_s)
            srv_gen_cancel(j);
    }
    srv_usage u;
    srv_gen_usage(j, &u);
    atomic_fetch_add(&s->m.tokens_in, (unsigned long long)u.prompt_tokens);
    atomic_fetch_add(&s->m.tokens_out, (unsigned long long)u.completion_tokens);
    char *full = u.finish == SRV_FINISH_ERROR ? NULL : trimmed(llmr_buf_str(&all), all.len);
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
    llmr_buf_free(&all);
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
    if (atomic_load(&s->stopping) || (!s->router && !srv_model_matches(s, r.model))) {
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
    if (!pause)
        pthread_cond_broadcast(&w->resumed);
    pthread_mutex_unlock(&w->mu);
}

static int ws_connect(const struct mg_connection *c, void *ud)
{
    llmr_server *s = ud;
    if (atomic_load(&s->stopping) || !srv_ws_origin_ok(c, s))
        return 1;
    if (s->api_key) {
        /* Browsers cannot set headers on a WebSocket: the key may come as ?api_key=KEY. */
        const char *h = mg_get_header(c, "Authorization");
        const struct mg_request_info *ri = mg_get_request_info(c);
        char q[256] = "";
        if (ri->query_string)
            mg_get_var(ri->query_string, strlen(ri->query_string), "api_key", q, sizeof q);
        bool ok = (h && !strncasecmp(h, "Bearer ", 7) && !strcmp(h + 7, s->api_key)) ||
                  (q[0] && !strcmp(q, s->api_key));
        if (!ok)
            return 1;   /* civetweb refuses the handshake */
    }
    return 0;
}

static void ws_ready(struct mg_connection *c, void *ud)
{
    llmr_server *s = ud;
    srv_ws *w = calloc(1, sizeof *w);
    if (!w)
        return;
    w->s = s;
    w->c = c;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->resumed, NULL);
    mg_set_user_connection_data(c, w);
    pthread_mutex_lock(&s->ws_lock);
    w->next = s->ws_list;
    s->ws_list = w;
    pthread_mutex_unlock(&s->ws_lock);
    char msg[400];
    pthread_mutex_lock(&s->lock);
    snprintf(msg, sizeof msg, "Connected to llmr %s (model %s)", llmr_version(),
             s->router ? "chosen per message" : s->alias ? s->alias
                                             : (s->name ? s->name : "loading"));
    pthread_mutex_unlock(&s->lock);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "welcome");
    cJSON_AddStringToObject(o, "message", msg);
    ws_send(w, o);
}

static int ws_data(struct mg_connection *c, int bits, char *data, size_t len, void *ud)
{
    llmr_server *s = ud;
    srv_ws *w = mg_get_user_connection_data(c);
    int op = bits & 0x0F;
    if (!w || op == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE)
        return 0;
    if (op == MG_WEBSOCKET_OPCODE_PING) {
        mg_websocket_write(c, MG_WEBSOCKET_OPCODE_PONG, data, len);
        return 1;
    }
    if (op != MG_WEBSOCKET_OPCODE_TEXT)
        return 1;   /* pongs and binary frames carry nothing for this protocol */
    if (len > s->o.max_body) {
        ws_error(w, "message too large");
        return 1;
    }
    char err[300];
    cJSON *o = llmr_json_parse(data, len, 0, "the message", NULL, err, sizeof err);
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
    return 1;
}

static void ws_close(const struct mg_connection *c, void *ud)
{
    llmr_server *s = ud;
    srv_ws *w = mg_get_user_connection_data(c);
    if (!w)
        return;
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
    pthread_mutex_destroy(&w->mu);
    free(w);
}

void srv_ws_register(llmr_server *s)
{
    mg_set_websocket_handler(s->ctx, "/ws$", ws_connect, ws_ready, ws_data, ws_close, s);
}

void srv_ws_close_all(llmr_server *s)
{
    pthread_mutex_lock(&s->ws_lock);
    for (srv_ws *w = s->ws_list; w; w = w->next)
        on_stop(w);
    pthread_mutex_unlock(&s->ws_lock);
}
