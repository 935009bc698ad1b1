/* test_wsio.c - the WebSocket layer (src/server/wsio.c) over a socketpair: SHA-1 against the
 * FIPS 180 examples, the handshake's accept value against RFC 6455's example, reassembly of
 * fragments around a ping, and each protocol violation with its close code. */
#include "test_util.h"

#include <sys/socket.h>
#include <unistd.h>

#include "core/sha1.h"
#include "server/wsio.h"

static void hex(const uint8_t *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void sha1_matches_the_fips_examples(void **state)
{
    (void)state;
    static const char *in[] = {"", "abc",
                               "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"};
    static const char *want[] = {"da39a3ee5e6b4b0d3255bfef95601890afd80709",
                                 "a9993e364706816aba3e25717850c26c9cd0d89d",
                                 "84983e441c3bd26ebaae4aa1f95129e5e54670f1"};
    for (int i = 0; i < 3; i++) {
        uint8_t d[20];
        char h[41];
        llmri_sha1(in[i], strlen(in[i]), d);
        hex(d, 20, h);
        assert_string_equal(h, want[i]);
    }
    /* A million 'a's crosses many blocks (FIPS 180 example 3). */
    char *a = malloc(1000000);
    assert_non_null(a);
    memset(a, 'a', 1000000);
    uint8_t d[20];
    char h[41];
    llmri_sha1(a, 1000000, d);
    hex(d, 20, h);
    assert_string_equal(h, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    free(a);
}

static void handshake_gives_the_rfc_accept_value_and_refuses_bad_requests(void **state)
{
    (void)state;
    char acc[29];
    const char *why = NULL;
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
    assert_int_equal(srv_ws_handshake_check("GET", "1.1", "websocket", "keep-alive, Upgrade",
                                            "13", key, acc, &why), 0);
    assert_string_equal(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_int_equal(srv_ws_handshake_check("GET", "1.1", "websocket", "Upgrade", "8", key, acc,
                                            &why), 426);
    assert_int_equal(srv_ws_handshake_check("POST", "1.1", "websocket", "Upgrade", "13", key,
                                            acc, &why), 400);
    assert_int_equal(srv_ws_handshake_check("GET", "1.1", "h2c", "Upgrade", "13", key, acc,
                                            &why), 400);
    assert_int_equal(srv_ws_handshake_check("GET", "1.1", "websocket", "Upgradeish", "13", key,
                                            acc, &why), 400);
    assert_int_equal(srv_ws_handshake_check("GET", "1.1", "websocket", "Upgrade", "13",
                                            "short==", acc, &why), 400);
    assert_int_equal(srv_ws_handshake_check("GET", "1.1", "websocket", "Upgrade", "13", NULL,
                                            acc, &why), 400);
}

typedef struct pair {
    int peer;             /* the client's end */
    srv_wsio w;           /* the server's */
} pair;

static void pair_open(pair *p, size_t max_msg)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    p->peer = sv[0];
    srv_wsio_init(&p->w, sv[1], max_msg, 5, 5);
}

static void pair_close(pair *p)
{
    close(p->peer);
    close(p->w.fd);
    srv_wsio_free(&p->w);
}

/* Writes one client frame: b0 is FIN/RSV/opcode; masked unless told otherwise; len_field
 * overrides the length written (0: the payload's). */
static void client_frame(pair *p, int b0, const char *payload, size_t n, bool mask,
                         uint64_t len_field)
{
    uint8_t f[256];
    size_t k = 0;
    uint64_t len = len_field ? len_field : n;
    f[k++] = (uint8_t)b0;
    if (len < 126) {
        f[k++] = (uint8_t)((mask ? 0x80 : 0) | len);
    } else if (len <= 0xFFFF) {
        f[k++] = (uint8_t)((mask ? 0x80 : 0) | 126);
        f[k++] = (uint8_t)(len >> 8);
        f[k++] = (uint8_t)len;
    } else {
        f[k++] = (uint8_t)((mask ? 0x80 : 0) | 127);
        for (int i = 7; i >= 0; i--)
            f[k++] = (uint8_t)(len >> (8 * i));
    }
    const uint8_t m[4] = {0x12, 0x34, 0x56, 0x78};
    if (mask) {
        memcpy(f + k, m, 4);
        k += 4;
    }
    assert_true(k + n <= sizeof f);
    for (size_t i = 0; i < n; i++)
        f[k + i] = (uint8_t)(mask ? payload[i] ^ m[i & 3] : payload[i]);
    assert_int_equal(write(p->peer, f, k + n), (ssize_t)(k + n));
}

/* The next frame the server wrote: its opcode, payload into buf. */
static int server_frame(pair *p, char *buf, size_t cap, size_t *n)
{
    uint8_t h[2];
    assert_int_equal(read(p->peer, h, 2), 2);
    assert_int_equal(h[1] & 0x80, 0);   /* servers do not mask */
    *n = h[1] & 127;
    assert_true(*n < 126 && *n <= cap);
    if (*n)
        assert_int_equal(read(p->peer, buf, *n), (ssize_t)*n);
    return h[0] & 0x0F;
}

static void fragments_around_a_ping_are_one_message(void **state)
{
    (void)state;
    pair p;
    pair_open(&p, 100);
    client_frame(&p, WS_OP_TEXT, "{\"type\"", 7, true, 0);
    client_frame(&p, 0x80 | WS_OP_PING, "hi", 2, true, 0);
    client_frame(&p, WS_OP_CONT, ":\"st", 4, true, 0);
    client_frame(&p, 0x80 | WS_OP_CONT, "op\"}", 4, true, 0);
    assert_int_equal(srv_wsio_next(&p.w, 2000), WS_EV_TEXT);
    assert_int_equal(p.w.msg_len, 15);
    assert_string_equal((char *)p.w.msg, "{\"type\":\"stop\"}");
    char buf[128];
    size_t n;
    assert_int_equal(server_frame(&p, buf, sizeof buf, &n), WS_OP_PONG);
    assert_int_equal(n, 2);
    assert_memory_equal(buf, "hi", 2);
    assert_int_equal(srv_wsio_next(&p.w, 50), WS_EV_TIMEOUT);
    pair_close(&p);
}

/* Sends frames, then expects a violation with code. */
static void expect_violation(void (*send)(pair *), int code)
{
    pair p;
    pair_open(&p, 100);
    send(&p);
    assert_int_equal(srv_wsio_next(&p.w, 2000), WS_EV_VIOLATION);
    assert_int_equal(p.w.close_code, code);
    pair_close(&p);
}

static void unmasked(pair *p) { client_frame(p, 0x81, "{}", 2, false, 0); }
static void rsv1(pair *p) { client_frame(p, 0xC1, "{}", 2, true, 0); }
static void opcode3(pair *p) { client_frame(p, 0x83, "{}", 2, true, 0); }
static void opcode11(pair *p) { client_frame(p, 0x8B, "", 0, true, 0); }
static void long_ping(pair *p) { client_frame(p, 0x89, "", 0, true, 126); }
static void lone_cont(pair *p) { client_frame(p, 0x80, "{}", 2, true, 0); }
static void binary(pair *p) { client_frame(p, 0x82, "\x01", 1, true, 0); }
static void bad_utf8(pair *p) { client_frame(p, 0x81, "\xc3\x28", 2, true, 0); }
static void text_in_text(pair *p)
{
    client_frame(p, 0x01, "{", 1, true, 0);
    client_frame(p, 0x81, "}", 1, true, 0);
}
/* Only the header, claiming 2^40 bytes: refused before any payload. */
static void huge(pair *p) { client_frame(p, 0x81, "", 0, true, 1ull << 40); }
static void too_big_in_fragments(pair *p)
{
    static char x[60];
    memset(x, 'x', sizeof x);
    client_frame(p, 0x01, x, sizeof x, true, 0);
    client_frame(p, 0x80, x, sizeof x, true, 0);
}

static void violations_close_with_their_codes(void **state)
{
    (void)state;
    expect_violation(unmasked, WS_CLOSE_PROTOCOL);
    expect_violation(rsv1, WS_CLOSE_PROTOCOL);
    expect_violation(opcode3, WS_CLOSE_PROTOCOL);
    expect_violation(opcode11, WS_CLOSE_PROTOCOL);
    expect_violation(long_ping, WS_CLOSE_PROTOCOL);
    expect_violation(lone_cont, WS_CLOSE_PROTOCOL);
    expect_violation(text_in_text, WS_CLOSE_PROTOCOL);
    expect_violation(binary, WS_CLOSE_UNSUPPORTED);
    expect_violation(bad_utf8, WS_CLOSE_BAD_DATA);
    expect_violation(huge, WS_CLOSE_TOO_BIG);
    expect_violation(too_big_in_fragments, WS_CLOSE_TOO_BIG);
}

static void a_close_is_answered_with_its_code(void **state)
{
    (void)state;
    pair p;
    pair_open(&p, 100);
    client_frame(&p, 0x88, "\x0f\xa0" "done", 6, true, 0);   /* 4000, an application code */
    assert_int_equal(srv_wsio_next(&p.w, 2000), WS_EV_CLOSED);
    char buf[128];
    size_t n;
    assert_int_equal(server_frame(&p, buf, sizeof buf, &n), WS_OP_CLOSE);
    assert_int_equal(n, 2);
    assert_memory_equal(buf, "\x0f\xa0", 2);
    assert_false(srv_wsio_send(&p.w, WS_OP_TEXT, "x", 1));   /* nothing after a close */
    pair_close(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha1_matches_the_fips_examples),
        cmocka_unit_test(handshake_gives_the_rfc_accept_value_and_refuses_bad_requests),
        cmocka_unit_test(fragments_around_a_ping_are_one_message),
        cmocka_unit_test(violations_close_with_their_codes),
        cmocka_unit_test(a_close_is_answered_with_its_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
