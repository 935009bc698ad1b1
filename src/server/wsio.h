/* wsio.h - the WebSocket protocol (RFC 6455) on a connection's socket, server side: the
 * opening handshake, frames in and out, fragmented messages reassembled within a size limit,
 * the close handshake. ws.c speaks the seed's chat protocol over it. (internal) */
#ifndef LLMR_SERVER_WSIO_H
#define LLMR_SERVER_WSIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Opcodes (RFC 6455 section 5.2) and the close codes used (section 7.4.1). */
enum {
    WS_OP_CONT = 0x0, WS_OP_TEXT = 0x1, WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8, WS_OP_PING = 0x9, WS_OP_PONG = 0xA,
};
enum {
    WS_CLOSE_NORMAL = 1000, WS_CLOSE_GOING_AWAY = 1001, WS_CLOSE_PROTOCOL = 1002,
    WS_CLOSE_UNSUPPORTED = 1003, WS_CLOSE_BAD_DATA = 1007, WS_CLOSE_POLICY = 1008,
    WS_CLOSE_TOO_BIG = 1009,
};

/* What srv_wsio_next found. */
typedef enum srv_ws_event {
    WS_EV_TEXT,       /* a complete text message: msg, msg_len (valid UTF-8, NUL-terminated) */
    WS_EV_TIMEOUT,    /* no complete message within the wait */
    WS_EV_CLOSED,     /* the peer closed (its close frame answered) or the socket failed */
    WS_EV_VIOLATION,  /* the peer broke the protocol or a limit: close with close_code */
} srv_ws_event;

typedef struct srv_wsio {
    int fd;
    size_t max_msg;           /* a message's limit, all fragments together */
    double frame_timeout;     /* seconds a started frame may take to arrive */
    double send_timeout;      /* seconds a write may wait for the client to read */
    pthread_mutex_t wmu;      /* one frame written at a time (the pump thread writes too) */
    bool dead;                /* a write failed: the socket is shut down (under wmu) */
    bool close_sent;          /* under wmu */
    /* reading: one thread (the connection's) */
    uint8_t *in;              /* bytes received, not yet taken as frames */
    size_t in_len, in_cap;
    double in_since;          /* when the first byte of the frame being received came */
    uint8_t *msg;             /* the message being assembled */
    size_t msg_len, msg_cap;
    int msg_op;               /* its opcode; 0: none in progress */
    double last_rx;           /* when the last complete frame came (llmri_now) */
    int close_code;           /* WS_EV_VIOLATION: the code to close with */
    char close_reason[96];
} srv_wsio;

/* Checks an upgrade request's headers (RFC 6455 section 4.2.1): 0 with the
 * Sec-WebSocket-Accept value in accept[29], or an HTTP status (400, 426) with why. */
int srv_ws_handshake_check(const char *method, const char *version, const char *upgrade,
                           const char *connection, const char *ws_version, const char *key,
                           char accept[29], const char **why);

void srv_wsio_init(srv_wsio *w, int fd, size_t max_msg, double frame_timeout,
                   double send_timeout);
void srv_wsio_free(srv_wsio *w);
/* Waits up to timeout_ms for the next complete message, answering pings and taking pongs on
 * the way. Connection thread only. */
srv_ws_event srv_wsio_next(srv_wsio *w, int timeout_ms);
/* Sends one unfragmented frame (servers do not mask). False when the client is gone or does
 * not read within send_timeout (the socket is then shut down). Any thread. */
bool srv_wsio_send(srv_wsio *w, int opcode, const void *data, size_t len);
/* Starts the close handshake with code and reason (once; later calls do nothing), then
 * waits up to wait_ms for the peer's close frame or end of stream, discarding what comes. */
void srv_wsio_close(srv_wsio *w, int code, const char *reason, int wait_ms);

#endif
