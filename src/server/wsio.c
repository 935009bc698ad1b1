/* wsio.c - RFC 6455 on a socket, server side (see wsio.h).
 *
 * Frames from a client must be masked, carry no RSV bits (no extension is ever agreed) and a
 * defined opcode; control frames are unfragmented and at most 125 bytes: anything else is a
 * protocol error, closed with 1002 (section 5.1-5.5, 7.4.1). A message's size is checked
 * against the limit from the frame header, before its payload is read or stored, so a
 * client cannot make the server hold more than max_msg bytes (plus one frame header).
 */
#include "server/wsio.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "core/sha1.h"
#include "core/util.h"
#include "server/request.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"   /* RFC 6455 section 1.3 */
#define WS_MAX_HEADER 14

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Whether a comma-separated header value holds token (case-insensitive). */
static bool has_token(const char *v, const char *token)
{
    size_t tl = strlen(token);
    while (v && *v) {
        v += strspn(v, " \t,");
        size_t n = strcspn(v, ",");
        size_t e = n;
        while (e && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e == tl && !strncasecmp(v, token, tl))
            return true;
        v += n;
    }
    return false;
}

int srv_ws_handshake_check(const char *method, const char *version, const char *upgrade,
                           const char *connection, const char *ws_version, const char *key,
                           char accept[29], const char **why)
{
    if (!method || strcmp(method, "GET") || !version || strcmp(version, "1.1"))
        return *why = "a WebSocket opens with GET over HTTP/1.1", 400;
    if (!has_token(upgrade, "websocket") || !has_token(connection, "upgrade"))
        return *why = "/ws needs 'Upgrade: websocket' and 'Connection: Upgrade'", 400;
    if (!ws_version || strcmp(ws_version, "13"))
        return *why = "Sec-WebSocket-Version must be 13", 426;
    /* The key is 16 random bytes in base64: 22 characters and "==". */
    if (!key || strlen(key) != 24 || strspn(key, b64) != 22 || strcmp(key + 22, "=="))
        return *why = "Sec-WebSocket-Key must be 16 bytes in base64", 400;
    char buf[24 + sizeof WS_GUID];
    snprintf(buf, sizeof buf, "%s%s", key, WS_GUID);
    uint8_t d[20];
    llmri_sha1(buf, strlen(buf), d);
    llmri_base64(d, sizeof d, accept);
    return 0;
}

void srv_wsio_init(srv_wsio *w, int fd, size_t max_msg, double frame_timeout,
                   double send_timeout)
{
    memset(w, 0, sizeof *w);
    w->fd = fd;
    w->max_msg = max_msg;
    w->frame_timeout = frame_timeout;
    w->send_timeout = send_timeout;
    w->last_rx = llmri_now();
    pthread_mutex_init(&w->wmu, NULL);
}

void srv_wsio_free(srv_wsio *w)
{
    free(w->in);
    free(w->msg);
    pthread_mutex_destroy(&w->wmu);
}

/* ---- writing ----------------------------------------------------------------------------- */

static bool send_all(srv_wsio *w, const uint8_t *p, size_t n, double end, int more)
{
    while (n) {
        ssize_t k = send(w->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT | more);
        if (k > 0) {
            p += k;
            n -= (size_t)k;
            continue;
        }
        if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return false;
        double left = end - llmri_now();
        struct pollfd pf = {.fd = w->fd, .events = POLLOUT};
        if (left <= 0 || poll(&pf, 1, (int)(left * 1000) + 1) < 0 ||
            (pf.revents & (POLLERR | POLLHUP | POLLNVAL)))
            return false;
    }
    return true;
}

/* Under wmu. */
static bool send_frame(srv_wsio *w, int opcode, const void *data, size_t len)
{
    if (w->dead)
        return false;
    uint8_t h[10];
    size_t hl = 2;
    h[0] = (uint8_t)(0x80 | opcode);
    if (len < 126) {
        h[1] = (uint8_t)len;
    } else if (len <= 0xFFFF) {
        h[1] = 126;
        h[2] = (uint8_t)(len >> 8);
        h[3] = (uint8_t)len;
        hl = 4;
    } else {
        h[1] = 127;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
        hl = 10;
    }
    double end = llmri_now() + w->send_timeout;
    if (!send_all(w, h, hl, end, len ? MSG_MORE : 0) || !send_all(w, data, len, end, 0)) {
        /* Gone, or not reading: the reader sees the end of the stream too. */
        w->dead = true;
        shutdown(w->fd, SHUT_RDWR);
        return false;
    }
    return true;
}

bool srv_wsio_send(srv_wsio *w, int opcode, const void *data, size_t len)
{
    pthread_mutex_lock(&w->wmu);
    bool ok = !w->close_sent && send_frame(w, opcode, data, len);
    pthread_mutex_unlock(&w->wmu);
    return ok;
}

static void send_close(srv_wsio *w, int code, const char *reason)
{
    uint8_t p[125];
    size_t n = 0;
    if (code) {
        p[0] = (uint8_t)(code >> 8);
        p[1] = (uint8_t)code;
        n = 2;
        size_t rl = reason ? strlen(reason) : 0;
        if (rl > sizeof p - 2)
            rl = sizeof p - 2;
        if (rl)
            memcpy(p + 2, reason, rl);
        n += rl;
    }
    pthread_mutex_lock(&w->wmu);
    if (!w->close_sent) {
        w->close_sent = true;
        send_frame(w, WS_OP_CLOSE, p, n);
    }
    pthread_mutex_unlock(&w->wmu);
}

/* ---- reading ----------------------------------------------------------------------------- */

static srv_ws_event violation(srv_wsio *w, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static srv_ws_event violation(srv_wsio *w, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->close_reason, sizeof w->close_reason, fmt, ap);
    va_end(ap);
    w->close_code = code;
    return WS_EV_VIOLATION;
}

/* Close codes a peer may send (section 7.4): 1004-1006 and 1015 are never sent. */
static bool close_code_ok(unsigned c)
{
    return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}

static void consume(srv_wsio *w, size_t n)
{
    memmove(w->in, w->in + n, w->in_len - n);
    w->in_len -= n;
    w->in_since = llmri_now();
}

/* A control frame's payload p[0..n) (unmasked). Returns -1 to go on, or an event. */
static int on_control(srv_wsio *w, int op, const uint8_t *p, size_t n)
{
    if (op == WS_OP_PING) {
        pthread_mutex_lock(&w->wmu);
        if (!w->close_sent)
            send_frame(w, WS_OP_PONG, p, n);
        pthread_mutex_unlock(&w->wmu);
        return -1;
    }
    if (op == WS_OP_PONG)
        return -1;
    /* Close: answer with the same code (section 5.5.1), or a bare close for a bare one. */
    if (n == 1)
        return violation(w, WS_CLOSE_PROTOCOL, "a close frame of 1 byte");
    unsigned code = n >= 2 ? (unsigned)p[0] << 8 | p[1] : 0;
    if (n >= 2 && !close_code_ok(code))
        return violation(w, WS_CLOSE_PROTOCOL, "close code %u is not one a peer may send",
                         code);
    if (n > 2 && !srv_utf8_valid((const char *)p + 2, n - 2, NULL))
        return violation(w, WS_CLOSE_BAD_DATA, "the close reason is not UTF-8");
    send_close(w, (int)code, NULL);
    return WS_EV_CLOSED;
}

/* Appends a data frame's payload to the message; a final frame completes it. */
static int on_data(srv_wsio *w, int op, bool fin, const uint8_t *p, size_t n)
{
    if (w->msg_len + n + 1 > w->msg_cap) {
        size_t nc = w->msg_len + n + 1;
        if (nc < w->msg_cap * 2)
            nc = w->msg_cap * 2 < w->max_msg + 1 ? w->msg_cap * 2 : w->max_msg + 1;
        uint8_t *m = realloc(w->msg, nc);
        if (!m)
            return violation(w, WS_CLOSE_TOO_BIG, "out of memory for the message");
        w->msg = m;
        w->msg_cap = nc;
    }
    memcpy(w->msg + w->msg_len, p, n);
    w->msg_len += n;
    w->msg[w->msg_len] = 0;
    if (op != WS_OP_CONT)
        w->msg_op = op;
    if (!fin)
        return -1;
    w->msg_op = 0;
    if (!srv_utf8_valid((const char *)w->msg, w->msg_len, NULL))
        return violation(w, WS_CLOSE_BAD_DATA, "a text message that is not UTF-8");
    return WS_EV_TEXT;
}

/* Takes one frame from w->in when it is complete. Returns -1 when more bytes are needed
 * (*want: how many the frame needs in all), -2 when a frame was taken and no message is
 * complete yet, or an event. */
static int take_frame(srv_wsio *w, size_t *want)
{
    *want = 2;
    if (w->in_len < 2)
        return -1;
    const uint8_t *b = w->in;
    bool fin = b[0] & 0x80, masked = b[1] & 0x80;
    int op = b[0] & 0x0F, len7 = b[1] & 0x7F;
    if (b[0] & 0x70)
        return violation(w, WS_CLOSE_PROTOCOL, "RSV bits set, but no extension was agreed");
    if (op > WS_OP_BINARY && op < WS_OP_CLOSE)
        return violation(w, WS_CLOSE_PROTOCOL, "reserved opcode %d", op);
    if (op > WS_OP_PONG)
        return violation(w, WS_CLOSE_PROTOCOL, "reserved control opcode %d", op);
    if (!masked)
        return violation(w, WS_CLOSE_PROTOCOL, "a client's frames must be masked");
    size_t hl = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4;
    if (w->in_len < hl)
        return *want = hl, -1;
    uint64_t plen = (uint64_t)len7;
    if (len7 == 126) {
        plen = (uint64_t)b[2] << 8 | b[3];
    } else if (len7 == 127) {
        plen = 0;
        for (int i = 0; i < 8; i++)
            plen = plen << 8 | b[2 + i];
        if (plen >> 63)
            return violation(w, WS_CLOSE_PROTOCOL, "a frame length with its top bit set");
    }
    if (op & 0x8) {
        if (!fin || plen > 125)
            return violation(w, WS_CLOSE_PROTOCOL, "a control frame that is fragmented or "
                                                   "longer than 125 bytes");
    } else {
        if (op == WS_OP_CONT && !w->msg_op)
            return violation(w, WS_CLOSE_PROTOCOL, "a continuation frame with no message "
                                                   "begun");
        if (op != WS_OP_CONT && w->msg_op)
            return violation(w, WS_CLOSE_PROTOCOL, "a new message before the fragmented one "
                                                   "ended");
        if (op == WS_OP_BINARY)
            return violation(w, WS_CLOSE_UNSUPPORTED, "binary messages are not supported: "
                                                      "send JSON as text");
        if (plen > w->max_msg - w->msg_len)
            return violation(w, WS_CLOSE_TOO_BIG, "a message of more than %zu bytes",
                             w->max_msg);
    }
    if (w->in_len - hl < plen)
        return *want = hl + (size_t)plen, -1;
    uint8_t *p = w->in + hl;
    const uint8_t *mask = w->in + hl - 4;
    for (size_t i = 0; i < plen; i++)
        p[i] ^= mask[i & 3];
    w->last_rx = llmri_now();
    int ev = op & 0x8 ? on_control(w, op, p, (size_t)plen) : on_data(w, op, fin, p, (size_t)plen);
    consume(w, hl + (size_t)plen);
    return ev == -1 ? -2 : ev;
}

/* Receives what is there (waiting up to ms). False when the stream ended or failed. */
static bool fill(srv_wsio *w, size_t want, int ms)
{
    size_t need = want > 4096 ? want : 4096;
    if (need > w->in_cap) {
        uint8_t *p = realloc(w->in, need);
        if (!p)
            return false;
        w->in = p;
        w->in_cap = need;
    }
    struct pollfd pf = {.fd = w->fd, .events = POLLIN};
    int r = poll(&pf, 1, ms);
    if (r < 0)
        return errno == EINTR;
    if (r == 0)
        return true;
    ssize_t n = recv(w->fd, w->in + w->in_len, w->in_cap - w->in_len, MSG_DONTWAIT);
    if (n == 0)
        return false;
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    if (!w->in_len)
        w->in_since = llmri_now();
    w->in_len += (size_t)n;
    return true;
}

srv_ws_event srv_wsio_next(srv_wsio *w, int timeout_ms)
{
    if (!w->msg_op)
        w->msg_len = 0;   /* the last message was taken */
    double end = llmri_now() + timeout_ms / 1000.0;
    for (;;) {
        size_t want;
        int ev = take_frame(w, &want);
        if (ev >= 0)
            return (srv_ws_event)ev;
        if (ev == -2)
            continue;
        double now = llmri_now();
        /* A frame begun must arrive in frame_timeout: bytes trickled one at a time would
         * otherwise hold the connection forever. */
        if (w->in_len && now - w->in_since > w->frame_timeout)
            return violation(w, WS_CLOSE_POLICY, "a frame did not arrive within %.0f s",
                             w->frame_timeout);
        double left = end - now;
        if (left <= 0)
            return WS_EV_TIMEOUT;
        if (w->in_len && w->in_since + w->frame_timeout - now < left)
            left = w->in_since + w->frame_timeout - now;
        if (!fill(w, want, (int)(left * 1000) + 1))
            return WS_EV_CLOSED;
    }
}

void srv_wsio_close(srv_wsio *w, int code, const char *reason, int wait_ms)
{
    send_close(w, code, reason);
    /* Wait for the peer's close (or the end of the stream) so that the close frame is read
     * before the socket goes: closing with unread input would reset the connection. */
    double end = llmri_now() + wait_ms / 1000.0;
    for (;;) {
        double left = end - llmri_now();
        if (left <= 0)
            break;
        srv_ws_event ev = srv_wsio_next(w, (int)(left * 1000) + 1);
        if (ev == WS_EV_CLOSED || ev == WS_EV_TIMEOUT)
            break;
        if (ev == WS_EV_VIOLATION) {
            /* Not framing any more: just drain until the end of the stream. */
            w->in_len = 0;
            uint8_t junk[4096];
            struct pollfd pf = {.fd = w->fd, .events = POLLIN};
            while (llmri_now() < end && poll(&pf, 1, 50) >= 0) {
                if (!(pf.revents & POLLIN))
                    continue;
                if (recv(w->fd, junk, sizeof junk, MSG_DONTWAIT) <= 0)
                    break;
            }
            break;
        }
    }
}
