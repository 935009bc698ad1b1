/* http.c - replies, request bodies, client liveness and the generation loop the APIs share.
 *
 * Client liveness: civetweb gives a handler no socket, and a handler blocked waiting for
 * tokens would only learn that its client left at its next write. To stop a generation within
 * 100 ms of a disconnect, also while the request is queued or its prompt is being evaluated,
 * the handler finds its own socket once (the descriptor whose peer and local addresses are
 * this request's) and polls it: POLLRDHUP/POLLHUP, or a readable socket whose MSG_PEEK read
 * returns 0, means the peer closed.
 */
#include "server/server_int.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/grow.h"
#include "core/json.h"
#include "core/util.h"

#define POLL_MS 20     /* how often a waiting handler checks its client and the clock */

/* ---- client sockets ---------------------------------------------------------------------- */

static bool addr_eq(const struct sockaddr_storage *a, const char *ip, int port)
{
    char buf[INET6_ADDRSTRLEN];
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)a;
        return ntohs(in->sin_port) == port && inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf) &&
               !strcmp(buf, ip);
    }
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in = (const struct sockaddr_in6 *)a;
        return ntohs(in->sin6_port) == port &&
               inet_ntop(AF_INET6, &in->sin6_addr, buf, sizeof buf) && !strcmp(buf, ip);
    }
    return false;
}

int srv_find_fd(const struct mg_connection *c)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    return ri ? srv_find_fd_of(ri->remote_addr, ri->remote_port, ri->server_port) : -1;
}

int srv_find_fd_of(const char *remote_addr, int remote_port, int server_port)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int found = -1;
    struct dirent *de;
    while (found < 0 && (de = readdir(d))) {
        char *end;
        long fd = strtol(de->d_name, &end, 10);
        if (*end || end == de->d_name || fd == dirfd(d))
            continue;
        /* getpeername fails at once on what is not a connected socket; the peer's address
         * is compared before the local one is asked for. */
        struct sockaddr_storage peer, self;
        socklen_t pl = sizeof peer, sl = sizeof self;
        if (getpeername((int)fd, (struct sockaddr *)&peer, &pl) ||
            !addr_eq(&peer, remote_addr, remote_port) ||
            getsockname((int)fd, (struct sockaddr *)&self, &sl))
            continue;
        int self_port = self.ss_family == AF_INET
                            ? ntohs(((struct sockaddr_in *)&self)->sin_port)
                            : ntohs(((struct sockaddr_in6 *)&self)->sin6_port);
        if (self_port == server_port)
            found = (int)fd;
    }
    closedir(d);
    return found;
}

bool srv_client_alive_cb(void *x)
{
    return srv_client_alive(x);
}

bool srv_client_alive(srv_ctx *x)
{
    if (x->fd == -2)
        x->fd = srv_find_fd(x->c);
    if (x->fd < 0)
        return true;   /* not found: rely on write errors */
    struct pollfd p = {.fd = x->fd, .events = POLLIN | POLLRDHUP};
    if (poll(&p, 1, 0) <= 0)
        return true;
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))
        return false;
    if (p.revents & POLLIN) {
        char b;
        ssize_t n = recv(x->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return false;
    }
    return true;
}

/* ---- replies ----------------------------------------------------------------------------- */

void srv_ctx_init(srv_ctx *x, llmr_server *s, struct mg_connection *c, srv_api api)
{
    memset(x, 0, sizeof *x);
    x->srv = s;
    x->c = c;
    x->api = api;
    x->t0 = llmri_now();
    x->fd = -2;   /* not looked up yet */
}

/* The entry of the --cors list that allows origin ("*" or origin itself), or NULL. */
static const char *cors_allows(const char *cors, const char *origin)
{
    if (!cors || !origin)
        return NULL;
    size_t on = strlen(origin);
    for (const char *p = cors; *p;) {
        p += strspn(p, " ,");
        size_t n = strcspn(p, ",");
        size_t t = n;
        while (t > 0 && p[t - 1] == ' ')
            t--;
        if (t == 1 && p[0] == '*')
            return "*";
        if (t > 0 && t == on && !strncasecmp(p, origin, t))
            return origin;
        p += n;
    }
    return NULL;
}

const char *srv_cors_origin(srv_ctx *x)
{
    return cors_allows(x->srv->cors, mg_get_header(x->c, "Origin"));
}

bool srv_ws_origin_ok(const struct mg_connection *c, const llmr_server *s)
{
    const char *origin = mg_get_header(c, "Origin");
    if (!origin || cors_allows(s->cors, origin))
        return true;   /* not a browser, or a page --cors allows */
    /* The server's own page: the Origin names the host the browser connected to. */
    const char *host = mg_get_header(c, "Host");
    const char *o = !strncasecmp(origin, "http://", 7) ? origin + 7
                    : !strncasecmp(origin, "https://", 8) ? origin + 8 : NULL;
    return o && host && !strcasecmp(o, host);
}

const char *srv_cors_headers(srv_ctx *x)
{
    static __thread char buf[800];
    const char *o = srv_cors_origin(x);
    if (!o || strlen(o) > 300 || strpbrk(o, "\r\n"))
        return "";
    snprintf(buf, sizeof buf,
             "Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n"
             "Access-Control-Allow-Headers: Authorization, Content-Type, X-LLMR-Strategy\r\n"
             "Access-Control-Allow-Methods: GET, POST, DELETE, OPTIONS\r\n"
             "Access-Control-Expose-Headers: X-LLMR-Model\r\n", o);
    return buf;
}

static const char *status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
    }
}

/* "X-LLMR-Model: NAME\r\n" for the model that answers, "" when none (or a name that cannot
 * be a header value). */
static const char *model_header(const srv_ctx *x, char *buf, size_t n)
{
    const char *m = x->model_hdr;
    buf[0] = 0;
    if (!m || !m[0])
        return buf;
    for (const char *p = m; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return buf;
    snprintf(buf, n, "X-LLMR-Model: %s\r\n", m);
    return buf;
}

void srv_reply_text(srv_ctx *x, int status, const char *ctype, const char *body, size_t len,
                    const char *extra)
{
    x->status = status;
    char mh[200];
    mg_printf(x->c,
              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
              "Cache-Control: no-store\r\n%s%s%s\r\n",
              status, status_text(status), ctype, len, srv_cors_headers(x),
              model_header(x, mh, sizeof mh), extra ? extra : "");
    if (len)
        mg_write(x->c, body, len);
    x->bytes += len;
    if (status >= 500)
        atomic_fetch_add(&x->srv->m.errors_5xx, 1);
    else if (status >= 400)
        atomic_fetch_add(&x->srv->m.errors_4xx, 1);
}

void srv_reply_json(srv_ctx *x, int status, const char *json, const char *extra)
{
    srv_reply_text(x, status, "application/json", json, strlen(json), extra);
}

void srv_reply_cjson(srv_ctx *x, int status, cJSON *o)
{
    char *js = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    srv_reply_json(x, status, js ? js : "{}", NULL);
    free(js);
}

/* OpenAI: {"error":{"message","type","param","code"}}; ollama: {"error":"..."}. */
static char *error_json(srv_api api, const srv_error *e)
{
    cJSON *o = cJSON_CreateObject();
    if (api == SRV_API_OLLAMA_GEN || api == SRV_API_OLLAMA_CHAT) {
        cJSON_AddStringToObject(o, "error", e->msg);
    } else if (api == SRV_API_ANTHROPIC) {
        /* {"type":"error","error":{"type","message"}} with Anthropic's type names */
        cJSON_AddStringToObject(o, "type", "error");
        cJSON *er = cJSON_AddObjectToObject(o, "error");
        const char *t = e->status == 401   ? "authentication_error"
                        : e->status == 403 ? "permission_error"
                        : e->status == 404 ? "not_found_error"
                        : e->status == 413 ? "request_too_large"
                        : e->status == 429 ? "rate_limit_error"
                        : e->status == 503 ? "overloaded_error"
                        : e->status >= 500 ? "api_error" : "invalid_request_error";
        cJSON_AddStringToObject(er, "type", t);
        cJSON_AddStringToObject(er, "message", e->msg);
    } else {
        cJSON *er = cJSON_AddObjectToObject(o, "error");
        cJSON_AddStringToObject(er, "message", e->msg);
        cJSON_AddStringToObject(er, "type", e->type ? e->type : "invalid_request_error");
        if (e->param[0])
            cJSON_AddStringToObject(er, "param", e->param);
        else
            cJSON_AddNullToObject(er, "param");
        if (e->code)
            cJSON_AddStringToObject(er, "code", e->code);
        else
            cJSON_AddNullToObject(er, "code");
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

void srv_reply_error(srv_ctx *x, const srv_error *e)
{
    char *s = error_json(x->api, e);
    const char *extra = NULL;
    if (e->status == 503)
        extra = "Retry-After: 1\r\n";
    else if (e->status == 401)
        extra = "WWW-Authenticate: Bearer\r\n";
    srv_reply_json(x, e->status, s ? s : "{\"error\":{\"message\":\"out of memory\"}}", extra);
    if (e->status == 503 && !strcmp(e->type ? e->type : "", "overloaded_error"))
        atomic_fetch_add(&x->srv->m.rejected_busy, 1);
    free(s);
}

void srv_reply_errorf(srv_ctx *x, int status, const char *type, const char *code,
                      const char *fmt, ...)
{
    srv_error e = {0};
    e.status = status;
    e.type = type;
    e.code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.msg, sizeof e.msg, fmt, ap);
    va_end(ap);
    srv_reply_error(x, &e);
}

bool srv_stream_begin(srv_ctx *x, const char *ctype)
{
    x->status = 200;
    char mh[200];
    return mg_printf(x->c,
                     "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nCache-Control: no-cache\r\n"
                     "X-Accel-Buffering: no\r\nTransfer-Encoding: chunked\r\n%s%s\r\n",
                     ctype, srv_cors_headers(x), model_header(x, mh, sizeof mh)) > 0;
}

bool srv_stream_write(srv_ctx *x, const char *data, size_t len)
{
    if (!len)
        return true;
    /* civetweb's mg_send_chunk writes the size line, the data and the CRLF. */
    if (mg_send_chunk(x->c, data, (unsigned)len) <= 0)
        return false;
    x->bytes += len;
    return true;
}

void srv_stream_end(srv_ctx *x)
{
    mg_write(x->c, "0\r\n\r\n", 5);
}

/* JSON routes take application/json (or another +json type), or no type at all (a
 * client that names none). Never text/plain or form types: a web page may send
 * those to any address without a CORS preflight, so accepting them would let any page the
 * user visits drive a loopback server. */
static bool json_ctype_ok(srv_ctx *x)
{
    const char *ct = mg_get_header(x->c, "Content-Type");
    if (!ct)
        return true;
    ct += strspn(ct, " \t");
    size_t n = strcspn(ct, "; \t");
    if ((n == 16 && !strncasecmp(ct, "application/json", 16)) ||
        (n > 17 && !strncasecmp(ct, "application/", 12) && !strncasecmp(ct + n - 5, "+json", 5)))
        return true;
    srv_reply_errorf(x, 415, "invalid_request_error", "unsupported_media_type",
                     "the body must be JSON sent as 'Content-Type: application/json' (got "
                     "'%.60s'; text and form bodies are refused because any web page can send "
                     "them)", ct);
    return false;
}


static char *read_body(srv_ctx *x, size_t *len);

/* mg_read waits request_timeout_ms for each piece of a body, not for the whole: a body
 * trickled a byte at a time would hold this worker for as long as the client likes. So the
 * whole read gets read_timeout_s (conn.c shuts the socket's reading side at the deadline). */
char *srv_read_body(srv_ctx *x, size_t *len)
{
    if (!json_ctype_ok(x))
        return NULL;
    if (x->fd == -2)
        x->fd = srv_find_fd(x->c);
    srv_deadline d;
    srv_deadline_arm(x->srv, x->fd, x->srv->o.read_timeout_s, &d);
    char *b = read_body(x, len);
    srv_deadline_disarm(x->srv, &d);
    return b;
}

static char *read_body(srv_ctx *x, size_t *len)
{
    const struct mg_request_info *ri = mg_get_request_info(x->c);
    size_t max = x->srv->o.max_body;
    if (ri->content_length > 0 && (uint64_t)ri->content_length > max) {
        srv_reply_errorf(x, 413, "invalid_request_error", "request_too_large",
                         "the request body has %lld bytes; the limit is %zu (--max-body)",
                         (long long)ri->content_length, max);
        return NULL;
    }
    size_t cap = 0, n = 0;
    char *b = NULL;
    for (;;) {
        /* the announced length at once, else 4 KiB and doubling; one byte more than max is
         * room enough to see that a body without a length is too large */
        size_t want = ri->content_length > 0 ? (size_t)ri->content_length + 1 : 4096;
        if (n + 1 >= cap && !LLMR_GROW(b, cap, n + 1 < want ? want : n + 2)) {
            free(b);
            srv_reply_errorf(x, 500, "server_error", NULL, "out of memory reading the body");
            return NULL;
        }
        int r = mg_read(x->c, b + n, cap - 1 - n);
        if (r == 0)
            break;
        if (r < 0) {
            free(b);
            /* A client that stops sending mid-body (civetweb's read times out) or sends too
             * slowly (the deadline of srv_read_body shut the socket's reading side). */
            srv_reply_errorf(x, 408, "invalid_request_error", "request_timeout",
                             "the request body did not arrive within %d s (--read-timeout)",
                             x->srv->o.read_timeout_s);
            return NULL;
        }
        n += (size_t)r;
        if (n > max) {
            free(b);
            srv_reply_errorf(x, 413, "invalid_request_error", "request_too_large",
                             "the request body is larger than the limit of %zu bytes", max);
            return NULL;
        }
    }
    b[n] = 0;
    *len = n;
    return b;
}

cJSON *srv_read_json(srv_ctx *x)
{
    size_t len;
    char *body = srv_read_body(x, &len);
    if (!body)
        return NULL;
    char err[300];
    cJSON *o = llmri_json_parse(body, len, 0, "the request body", NULL, err, sizeof err);
    free(body);
    if (!o)
        srv_reply_errorf(x, 400, "invalid_request_error", NULL, "%s", err);
    else if (!cJSON_IsObject(o)) {
        srv_reply_errorf(x, 400, "invalid_request_error", NULL,
                         "the request body must be a JSON object");
        cJSON_Delete(o);
        o = NULL;
    }
    return o;
}

void srv_access_log(srv_ctx *x)
{
    if (!x->srv->o.access_log)
        return;
    const struct mg_request_info *ri = mg_get_request_info(x->c);
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(stderr, "%s %s \"%s %s\" %d %zu %.3fs", when, ri ? ri->remote_addr : "-",
            ri ? ri->request_method : "-", ri ? ri->local_uri : "-", x->status, x->bytes,
            llmri_now() - x->t0);
    if (x->model_hdr && x->model_hdr[0])
        fprintf(stderr, " model=%s", x->model_hdr);
    if (x->prompt_tokens || x->gen_tokens)
        fprintf(stderr, " prompt=%d gen=%d", x->prompt_tokens, x->gen_tokens);
    if (x->note)
        fprintf(stderr, " %s", x->note);
    fputc('\n', stderr);
}

/* ---- generation -------------------------------------------------------------------------- */

void srv_note_usage(srv_ctx *x, const srv_usage *u)
{
    llmr_server *s = x->srv;
    x->prompt_tokens = u->prompt_tokens;
    x->gen_tokens = u->completion_tokens;
    x->note = srv_finish_name(u->finish);
    atomic_fetch_add(&s->m.tokens_in, (unsigned long long)u->prompt_tokens);
    atomic_fetch_add(&s->m.tokens_out, (unsigned long long)u->completion_tokens);
    if (u->finish == SRV_FINISH_CANCELLED)
        atomic_fetch_add(&s->m.cancelled, 1);
    if (u->ttft_s > 0) {
        atomic_fetch_add(&s->m.ttft_count, 1);
        atomic_fetch_add(&s->m.ttft_sum_us, (unsigned long long)(u->ttft_s * 1e6));
        for (int i = 0; i < SRV_TTFT_BUCKETS; i++)
            if (u->ttft_s <= srv_ttft_le[i])
                atomic_fetch_add(&s->m.ttft_bucket[i], 1);
    }
}

static bool timed_out(srv_ctx *x)
{
    return x->srv->o.timeout_s > 0 && llmri_now() - x->t0 > x->srv->o.timeout_s;
}

bool srv_pump(srv_ctx *x, srv_gen *j, srv_emit_fn emit, void *user)
{
    srv_take t = {0};
    bool ok = true;
    for (;;) {
        srv_job_state st = srv_gen_take(j, POLL_MS, &t);
        /* One event per piece, as OpenAI and ollama stream one token per chunk. */
        for (int i = 0; ok && i < t.n; i++) {
            size_t at = i ? t.ends[i - 1] : 0;
            j->piece_lp = t.lp[i];
            ok = emit(user, t.text + at, t.ends[i] - at, t.thought[i]);
            j->piece_lp = NULL;
        }
        if (!ok || st == SRV_JOB_DONE)
            break;
        if (!srv_client_alive(x)) {
            ok = false;
            break;
        }
        if (timed_out(x)) {
            x->note = "timeout";
            srv_gen_cancel(j);   /* ends as cancelled; the reply says length */
        }
    }
    if (!ok) {
        /* Wait (briefly) for the scheduler to drop the job, so the usage read next is final
         * and counted as cancelled. */
        srv_gen_cancel(j);
        for (int i = 0; i < 100; i++)
            if (srv_gen_take(j, POLL_MS, &t) == SRV_JOB_DONE)
                break;
    }
    srv_take_free(&t);
    return ok;
}

typedef struct collected {
    llmr_buf text, thought;
    srv_gen *g;
} collected;

static bool collect(void *user, const char *text, size_t len, bool thought)
{
    collected *c = user;
    const cJSON *e;
    if (c->g->lp_text && !thought)
        cJSON_ArrayForEach(e, c->g->piece_lp)
            cJSON_AddItemToArray(c->g->lp_text, cJSON_Duplicate(e, true));
    return llmri_buf_append(thought ? &c->thought : &c->text, text, len);
}

bool srv_wait_all(srv_ctx *x, srv_gen *j, char **text, size_t *len, char **thought)
{
    collected c = {.g = j};
    if (j->logprobs && !j->lp_text && !(j->lp_text = cJSON_CreateArray()))
        return false;
    *len = 0;
    *text = NULL;
    *thought = NULL;
    if (!llmri_buf_reserve(&c.text, 0))
        return false;
    bool ok = srv_pump(x, j, collect, &c);
    *len = c.text.len;
    *text = llmri_buf_take(&c.text);
    *thought = c.thought.len ? llmri_buf_take(&c.thought) : NULL;
    llmri_buf_free(&c.thought);
    return ok;
}

const char *srv_finish_name(srv_finish f)
{
    switch (f) {
    case SRV_FINISH_STOP: return "stop";
    case SRV_FINISH_LENGTH: return "length";
    case SRV_FINISH_CANCELLED: return "cancelled";
    case SRV_FINISH_ERROR: return "error";
    default: return "none";
    }
}

bool srv_accept_generation(srv_ctx *x, srv_api api, srv_req *r)
{
    memset(r, 0, sizeof *r);
    if (!srv_check(x, "POST", SRV_KEY))
        return false;
    size_t len;
    char *body = srv_read_body(x, &len);
    if (!body)
        return false;
    srv_error e = {0};
    int rc = srv_req_parse(api, body, len, r, &e);
    free(body);
    const char *h = mg_get_header(x->c, "X-LLMR-Strategy");
    if (!rc && !r->strategy && h && h[0] && !(r->strategy = llmri_strdup(h)))
        rc = srv_error_set(&e, 500, "server_error", NULL, NULL, "out of memory");
    if (rc) {
        srv_reply_error(x, &e);
        srv_req_free(r);
        return false;
    }
    return true;
}
