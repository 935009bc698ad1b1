/* conn.c - keeps clients that hold connections from starving the server.
 *
 * civetweb (1.15) serves each connection with a worker thread of its own, from the moment a
 * worker takes it until it closes, keep-alive waits included: an idle or slow client holds a
 * thread. Four things bound what such clients can take:
 *
 * - Headers: civetweb's request_timeout_ms (read_timeout_s) bounds the whole header read, as
 *   it measures from the request's start, not from the last byte received.
 * - Bodies: mg_read keeps reading for as long as each piece comes within request_timeout_ms,
 *   so a body trickled a byte at a time never times out. srv_deadline_arm() gives a body read
 *   a total deadline: a watchdog thread shuts the socket's reading side down when it passes,
 *   and the blocked mg_read then fails at once (the handler answers 408).
 * - Connections per client address (max_conns_per_addr): counted from a connection's start
 *   (init_connection, on its worker, before anything is read) to connection_close. civetweb
 *   gives init_connection no address (mg_get_request_info answers only once it returns), so
 *   the connection is queued for the watchdog thread, which counts it a moment later, while
 *   the worker waits for the request's first bytes. One over the cap is answered 429 and
 *   shut down there: the worker's read then ends at once and the worker is free again.
 * - Threads: enough workers for every generation slot and queue place, one address's full
 *   share, and a margin, so /health and /metrics are answered while all of those are held.
 *
 * WebSockets (ws.c) keep their own idle timeout with pings; begin_request hands /ws to ws.c.
 */
#include "server/server_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/strmap.h"
#include "core/util.h"

#define ADDR_BUCKETS 256
#define THREAD_MARGIN 16   /* workers for quick routes (/health, /metrics, /v1/models...) */
#define REFUSE_BATCH 32    /* connections refused per pass of the watchdog, outside its lock */

typedef struct addr_count {
    char addr[48];              /* mg_request_info.remote_addr */
    int n;                      /* connections open from it */
    struct addr_count *next;
} addr_count;

/* One connection, from init_connection to connection_close (its user connection data:
 * nothing else in the server may set that). */
typedef struct conn_rec {
    const struct mg_connection *c;
    char addr[48];
    bool counted;               /* in its address's count */
    struct conn_rec *next;      /* srv_conns.pending, until counted */
} conn_rec;

/* A connection to refuse: its addresses, copied under the lock. */
typedef struct refusal {
    char addr[48];
    int port, server_port;
} refusal;

struct srv_conns {
    llmr_server *s;
    pthread_mutex_t mu;         /* guards everything below */
    pthread_cond_t wake;        /* the watchdog waits on it */
    addr_count *buckets[ADDR_BUCKETS];
    conn_rec *pending;          /* connections not yet counted */
    srv_deadline *deadlines;    /* armed body reads */
    bool stop;
    pthread_t watchdog;
    bool watchdog_started;
};

static llmr_server *conn_server(const struct mg_connection *c)
{
    return mg_get_user_data(mg_get_context(c));
}

/* ---- connections per address ------------------------------------------------------------- */

static addr_count **addr_slot(srv_conns *k, const char *addr)
{
    addr_count **pp = &k->buckets[llmri_hash_bytes(addr, strlen(addr)) % ADDR_BUCKETS];
    while (*pp && strcmp((*pp)->addr, addr))
        pp = &(*pp)->next;
    return pp;
}

/* Counts a connection from addr in; returns the count with it, 0 when out of memory (not
 * counted: it is let in rather than refused for the server's want of memory). Under mu. */
static int addr_add(srv_conns *k, const char *addr)
{
    addr_count **pp = addr_slot(k, addr);
    if (!*pp) {
        addr_count *a = calloc(1, sizeof *a);
        if (!a)
            return 0;
        snprintf(a->addr, sizeof a->addr, "%s", addr);
        *pp = a;
    }
    return ++(*pp)->n;
}

static void addr_remove(srv_conns *k, const char *addr)
{
    addr_count **pp = addr_slot(k, addr);
    addr_count *a = *pp;
    if (a && --a->n <= 0) {
        *pp = a->next;
        free(a);
    }
}

/* Answers 429 on the connection's socket itself and shuts it down: civetweb's read of the
 * request then sees the end of the stream and closes the connection. The reply is small
 * enough for an empty send buffer, so the send does not wait. The socket is found by its
 * addresses: should the connection have closed meanwhile, no other has the same four. */
static void refuse(llmr_server *s, const refusal *r)
{
    int fd = srv_find_fd_of(r->addr, r->port, r->server_port);
    if (fd < 0)
        return;
    int cap = s->o.max_conns_per_addr;
    char body[200], msg[400];
    int bl = snprintf(body, sizeof body,
                      "{\"error\":{\"message\":\"too many connections from %s (at most %d at "
                      "once)\",\"type\":\"rate_limit_error\",\"code\":\"too_many_connections\"}}",
                      r->addr, cap);
    int ml = snprintf(msg, sizeof msg,
                      "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n"
                      "Content-Length: %d\r\nConnection: close\r\nRetry-After: 1\r\n\r\n%s",
                      bl, body);
    (void)!send(fd, msg, (size_t)ml, MSG_DONTWAIT | MSG_NOSIGNAL);
    shutdown(fd, SHUT_RDWR);
    atomic_fetch_add(&s->m.refused_conns, 1);
}

/* Counts the pending connections whose request info civetweb now gives; those over the cap
 * go to out[] (at most REFUSE_BATCH). Returns how many; *retry: some must be looked at again
 * soon. Under mu. */
static int count_pending(srv_conns *k, refusal *out, bool *retry)
{
    int n_out = 0, cap = k->s->o.max_conns_per_addr;
    *retry = false;
    for (conn_rec **pp = &k->pending; *pp;) {
        conn_rec *r = *pp;
        const struct mg_request_info *ri = mg_get_request_info(r->c);
        if (!ri || n_out == REFUSE_BATCH) {
            *retry = true;
            pp = &r->next;
            continue;
        }
        *pp = r->next;
        snprintf(r->addr, sizeof r->addr, "%s", ri->remote_addr);
        int n = addr_add(k, r->addr);
        r->counted = n > 0;
        if (cap > 0 && n > cap) {
            refusal *f = &out[n_out++];
            snprintf(f->addr, sizeof f->addr, "%s", ri->remote_addr);
            f->port = ri->remote_port;
            f->server_port = ri->server_port;
        }
    }
    return n_out;
}

static int on_init_connection(const struct mg_connection *c, void **conn_data)
{
    *conn_data = NULL;
    llmr_server *s = conn_server(c);
    conn_rec *r = s && s->conns ? calloc(1, sizeof *r) : NULL;
    if (!r)
        return 0;
    r->c = c;
    pthread_mutex_lock(&s->conns->mu);
    r->next = s->conns->pending;
    s->conns->pending = r;
    pthread_cond_signal(&s->conns->wake);
    pthread_mutex_unlock(&s->conns->mu);
    *conn_data = r;
    return 0;
}

static void on_connection_close(const struct mg_connection *c)
{
    llmr_server *s = conn_server(c);
    conn_rec *r = mg_get_user_connection_data(c);
    if (!s || !s->conns || !r)
        return;
    srv_conns *k = s->conns;
    pthread_mutex_lock(&k->mu);
    for (conn_rec **pp = &k->pending; *pp; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    if (r->counted)
        addr_remove(k, r->addr);
    pthread_mutex_unlock(&k->mu);
    free(r);   /* civetweb forgets the pointer after this callback */
}

/* /ws is served here, before civetweb's routing: civetweb's own WebSocket layer neither
 * shows a handler whether a frame was masked nor bounds a frame's size before allocating it,
 * so ws.c speaks RFC 6455 itself on the socket. */
static int on_begin_request(struct mg_connection *c)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    if (ri && ri->local_uri && !strcmp(ri->local_uri, "/ws"))
        return srv_ws_serve(c, conn_server(c));
    return 0;
}

/* ---- body deadlines ---------------------------------------------------------------------- */

/* Fires body deadlines and counts new connections (refusing those over the cap). */
static void *watchdog_main(void *arg)
{
    srv_conns *k = arg;
    refusal out[REFUSE_BATCH];
    pthread_mutex_lock(&k->mu);
    while (!k->stop) {
        double now = llmri_now(), next = now + 1.0;
        for (srv_deadline *d = k->deadlines; d; d = d->next) {
            if (d->fired)
                continue;
            if (d->at <= now) {
                /* Only the reading side: the handler can still write its 408. */
                shutdown(d->fd, SHUT_RD);
                d->fired = true;
            } else if (d->at < next) {
                next = d->at;
            }
        }
        bool retry;
        int n = count_pending(k, out, &retry);
        if (n) {
            pthread_mutex_unlock(&k->mu);
            for (int i = 0; i < n; i++)
                refuse(k->s, &out[i]);
            pthread_mutex_lock(&k->mu);
            continue;
        }
        if (retry && now + 0.001 < next)
            next = now + 0.001;   /* the worker is about to set the request info */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        double wait = next - now;
        ts.tv_sec += (time_t)wait;
        ts.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&k->wake, &k->mu, &ts);
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

void srv_deadline_arm(llmr_server *s, int fd, double seconds, srv_deadline *d)
{
    memset(d, 0, sizeof *d);
    d->fd = fd;
    if (fd < 0 || !s->conns || !s->conns->watchdog_started)
        return;
    d->at = llmri_now() + seconds;
    d->armed = true;
    pthread_mutex_lock(&s->conns->mu);
    d->next = s->conns->deadlines;
    s->conns->deadlines = d;
    pthread_cond_signal(&s->conns->wake);
    pthread_mutex_unlock(&s->conns->mu);
}

bool srv_deadline_disarm(llmr_server *s, srv_deadline *d)
{
    if (!d->armed)
        return false;
    pthread_mutex_lock(&s->conns->mu);
    for (srv_deadline **pp = &s->conns->deadlines; *pp; pp = &(*pp)->next)
        if (*pp == d) {
            *pp = d->next;
            break;
        }
    bool fired = d->fired;
    pthread_mutex_unlock(&s->conns->mu);
    d->armed = false;
    return fired;
}

/* ---- setup ------------------------------------------------------------------------------- */

int srv_conns_threads(const llmr_server *s)
{
    return s->o.parallel + s->o.queue_size + s->o.max_conns_per_addr + THREAD_MARGIN;
}

void srv_conns_callbacks(struct mg_callbacks *cb)
{
    cb->init_connection = on_init_connection;
    cb->connection_close = on_connection_close;
    cb->begin_request = on_begin_request;
}

int srv_conns_open(llmr_server *s)
{
    srv_conns *k = calloc(1, sizeof *k);
    if (!k)
        return LLMR_ERR_NOMEM;
    k->s = s;
    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->wake, NULL);
    s->conns = k;
    if (pthread_create(&k->watchdog, NULL, watchdog_main, k))
        return LLMR_ERR_NOMEM;
    k->watchdog_started = true;
    return LLMR_OK;
}

void srv_conns_close(llmr_server *s)
{
    srv_conns *k = s->conns;
    if (!k)
        return;
    if (k->watchdog_started) {
        pthread_mutex_lock(&k->mu);
        k->stop = true;
        pthread_cond_signal(&k->wake);
        pthread_mutex_unlock(&k->mu);
        pthread_join(k->watchdog, NULL);
    }
    while (k->pending) {   /* mg_stop closed every connection: none is left in practice */
        conn_rec *r = k->pending;
        k->pending = r->next;
        free(r);
    }
    for (int i = 0; i < ADDR_BUCKETS; i++)
        while (k->buckets[i]) {
            addr_count *a = k->buckets[i];
            k->buckets[i] = a->next;
            free(a);
        }
    pthread_cond_destroy(&k->wake);
    pthread_mutex_destroy(&k->mu);
    free(k);
    s->conns = NULL;
}
