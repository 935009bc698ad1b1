#!/usr/bin/env bash
# /ws speaks RFC 6455: fragmented messages are reassembled (control frames may come between
# the fragments), a message over --max-body closes with 1009, unmasked client frames, RSV
# bits, reserved opcodes and malformed control frames close with 1002, binary messages get an
# error and 1003, invalid UTF-8 1007; the close handshake echoes the client's code; idle
# clients are pinged and closed (1001) when they do not answer; the API key is compared in
# full, whatever its length. Raw frames come from tests/server/ws_raw.py, fragments from a
# real client too (the `ws` npm package, when installed).
set -u
. "$(dirname "$0")/lib.bash"
need_model
HERE=$(cd "$(dirname "$0")" && pwd)
NPM_DIR=${LLMR_SRC:-$HERE/../..}/tests/npm

# results: lines "PASS name" / "FAIL name: why" from a Python script on stdin
run_cases() { # label, python args...
    local label=$1 out=$TMP/cases.out
    shift
    timeout 240 env PYTHONPATH="$HERE" python3 - "$@" > "$out" 2>&1
    local rc=$?
    while read -r verdict name; do
        case $verdict in
            PASS) check "$name" 0 ;;
            FAIL) check "$name" 1 ;;
        esac
    done < "$out"
    grep -v '^PASS' "$out"
    [ "$rc" = 0 ] || check "the $label cases ran to the end (rc $rc)" 1
}

start_server --max-body 4096
run_cases protocol "$PORT" <<'PY'
import sys
from ws_raw import WS, cases
case, opened = cases(int(sys.argv[1]))
port = int(sys.argv[1])
import json, socket, time

@case("a text message in three fragments, a ping between them, is one chat message")
def _():
    w = opened()
    msg = json.dumps({"type": "chat", "content": "Once upon a time", "max_tokens": 8})
    a, b = len(msg) // 3, 2 * len(msg) // 3
    w.frame(1, msg[:a], fin=False)
    w.frame(9, b"between")
    w.frame(0, msg[a:b], fin=False)
    w.frame(0, msg[b:], fin=True)
    op, p = w.recv_frame()
    assert (op, p) == (10, b"between"), (op, p)
    text, end = w.reply()
    assert end["tokens"] >= 1 and end["fullResponse"] == text.strip(), end
    w.close()

@case("fragments over --max-body together close with 1009")
def _():
    w = opened()
    w.frame(1, "x" * 2000, fin=False)
    w.frame(0, "x" * 2000, fin=False)
    w.frame(0, "x" * 2000, fin=True)
    assert (c := w.expect_close()) == 1009, c

@case("one frame whose header claims 2^40 bytes closes with 1009 before any payload")
def _():
    w = opened()
    w.frame(1, b"", length=1 << 40)
    assert (c := w.expect_close()) == 1009, c

@case("an unmasked client frame closes with 1002")
def _():
    w = opened()
    w.s.sendall(bytes([0x81, 17]) + b'{"type":"stop"}xx')
    assert (c := w.expect_close()) == 1002, c

@case("reserved data opcode 3 closes with 1002")
def _():
    w = opened()
    w.frame(3, b"{}")
    assert (c := w.expect_close()) == 1002, c

@case("reserved control opcode 11 closes with 1002")
def _():
    w = opened()
    w.frame(11, b"")
    assert (c := w.expect_close()) == 1002, c

@case("RSV1 set without an agreed extension closes with 1002")
def _():
    w = opened()
    w.frame(1, '{"type":"stop"}', rsv=4)
    assert (c := w.expect_close()) == 1002, c

@case("a fragmented ping closes with 1002")
def _():
    w = opened()
    w.frame(9, b"a", fin=False)
    assert (c := w.expect_close()) == 1002, c

@case("a 126-byte ping closes with 1002")
def _():
    w = opened()
    w.frame(9, b"p" * 126)
    assert (c := w.expect_close()) == 1002, c

@case("a continuation with no message begun closes with 1002")
def _():
    w = opened()
    w.frame(0, b"{}")
    assert (c := w.expect_close()) == 1002, c

@case("a new text frame inside a fragmented message closes with 1002")
def _():
    w = opened()
    w.frame(1, b'{"type":', fin=False)
    w.frame(1, b'"stop"}')
    assert (c := w.expect_close()) == 1002, c

@case("a binary message gets an error message, then close 1003")
def _():
    w = opened()
    w.frame(2, b"\x00\x01\x02")
    op, p = w.recv_frame()
    assert op == 1 and json.loads(p)["type"] == "error", (op, p)
    assert (c := w.expect_close()) == 1003, c

@case("a text message that is not UTF-8 closes with 1007")
def _():
    w = opened()
    w.frame(1, b'{"type":"chat","content":"\xff\xfe"}')
    assert (c := w.expect_close()) == 1007, c

@case("the client's close 1000 is answered with close 1000")
def _():
    w = opened()
    w.frame(8, b"\x03\xe8bye")
    assert (c := w.expect_close()) == 1000, c

@case("a close with code 1005 (never sent on the wire) closes with 1002")
def _():
    w = opened()
    w.frame(8, b"\x03\xed")
    assert (c := w.expect_close()) == 1002, c

@case("handshake: Sec-WebSocket-Version 8 gets 426 naming version 13")
def _():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n")
    r = s.recv(4096).decode("latin-1")
    assert r.startswith("HTTP/1.1 426") and "Sec-WebSocket-Version: 13" in r, r

@case("handshake: the RFC 6455 sample key gets its sample accept value")
def _():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, "
              b"Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              b"Sec-WebSocket-Version: 13\r\n\r\n")
    r = s.recv(4096).decode("latin-1")
    assert r.startswith("HTTP/1.1 101") and \
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in r, r
PY

# A real client's fragments: the `ws` package's send(data, {fin: false}).
if command -v node >/dev/null && [ -d "$NPM_DIR/node_modules/ws" ]; then
    timeout 60 node "$NPM_DIR/ws_fragments.mjs" "$BASE" > "$TMP/frag.out" 2>&1
    rc=$?; [ $rc = 0 ] || cat "$TMP/frag.out"
    check "ws package: a chat message sent in fragments is answered" $rc
else
    echo "note: node or the ws npm package is missing: the ws-package fragment case is not run"
fi
stop_server; check "clean exit" $?

# The API key: long keys are compared in full (a query parameter or a Bearer header).
KEY=$(head -c 900 /dev/zero | tr '\0' k)
start_server --api-key "$KEY"
run_cases "API key" "$PORT" "$KEY" <<'PY'
import sys
from ws_raw import WS
port, key = int(sys.argv[1]), sys.argv[2]
def case(name, ok):
    print("PASS" if ok else "FAIL", name)
case("a 900-byte key as ?api_key= opens /ws", WS(port, "/ws?api_key=" + key).status == 101)
case("a 900-byte key as a Bearer header opens /ws",
     WS(port, headers="Authorization: Bearer %s\r\n" % key).status == 101)
case("the key with its last byte changed is refused (401)",
     WS(port, "/ws?api_key=" + key[:-1] + "x").status == 401)
case("the key's first 255 bytes are refused (401)", WS(port, "/ws?api_key=" + key[:255]).status == 401)
case("no key is refused (401)", WS(port).status == 401)
PY
stop_server; check "clean exit (key)" $?

# Idle clients: pinged after --ws-idle seconds of silence, closed after as long again.
start_server --ws-idle 1
run_cases idle "$PORT" <<'PY'
import sys, time
from ws_raw import cases
case, opened = cases(int(sys.argv[1]))
@case("an idle client is pinged, and closed with 1001 when it does not answer")
def _():
    w = opened()
    t0 = time.time()
    op, p = w.recv_frame()
    assert op == 9, (op, p)
    assert (c := w.expect_close()) == 1001, c
    assert time.time() - t0 < 15, time.time() - t0

@case("a client that answers pings stays open past twice --ws-idle and is still served")
def _():
    w = opened()
    t0 = time.time()
    pings = 0
    while time.time() - t0 < 3.5:
        op, p = w.recv_frame()
        assert op == 9, (op, p)
        w.frame(10, p)
        pings += 1
    assert pings >= 2, pings
    text, end = w.chat("Hi", max_tokens=4)
    assert end["tokens"] >= 1, end

PY
stop_server; check "clean exit (idle)" $?
finish
