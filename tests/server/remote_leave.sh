#!/usr/bin/env bash
# llmr serve --config with a remote backend that stalls: a client who leaves while the server
# waits on the backend (before its response headers, or after them but before the first
# token, or between tokens) must end the backend request at once, not when the backend
# answers or the idle timeout (here 20 s) fires. Clients: OpenAI and ollama streams over HTTP
# (killed), and WebSocket (socket closed, or {"type": "stop"}). The backend is a small Python server that
# stalls on purpose and notes when llmr closes the connection.
set -u
BIN=${LLMR_BIN:?LLMR_BIN must name the llmr binary}
. "$(dirname "$0")/../check.bash"
command -v curl >/dev/null || { echo "skipped: curl is not installed"; exit 77; }
command -v python3 >/dev/null || { echo "skipped: python3 is not installed"; exit 77; }
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT

# The stalling backend: for each connection, reads the request, then per the mode in the
# prompt ("noheaders", "nofirst", "midway") sends nothing, only the SSE headers, or the
# headers and one token; then waits for the peer to close and appends "MODE SECONDS" (time
# from the stall to the close) to closes.txt.
cat > "$tmp/stall.py" <<'PY'
import socket, sys, threading, time
out = sys.argv[1]
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0)); srv.listen(16)
print(srv.getsockname()[1], flush=True)
def serve(c):
    data = b""
    while b"\r\n\r\n" not in data:
        data += c.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(body) < n:
        body += c.recv(65536)
    mode = next(m for m in ("noheaders", "nofirst", "midway") if m.encode() in body)
    if mode != "noheaders":
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n")
    if mode == "midway":
        c.sendall(b'data: {"choices":[{"index":0,"text":"Once","finish_reason":null}]}\n\n')
    t0 = time.monotonic()
    c.settimeout(30)
    try:
        while c.recv(4096):
            pass
    except OSError:
        pass
    with open(out, "a") as f:
        f.write("%s %.2f\n" % (mode, time.monotonic() - t0))
    c.close()
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
# A WebSocket client (the seed's protocol) that asks model "slow" for MODE, then after 1 s
# either closes the socket (close) or sends {"type": "stop"} (stop) and waits.
cat > "$tmp/ws.py" <<'PY'
import base64, json, os, socket, sys, time
port, mode, how = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), timeout=20)
k = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % k).encode())
buf = b""
while b"\r\n\r\n" not in buf:
    buf += s.recv(4096)
assert b" 101 " in buf.split(b"\r\n")[0], buf
def send(o):
    p = json.dumps(o).encode(); m = os.urandom(4)
    s.sendall(bytes([0x81, 0x80 | len(p)]) + m + bytes(c ^ m[i % 4] for i, c in enumerate(p)))
send({"type": "chat", "content": mode, "model": "slow", "max_tokens": 5})
time.sleep(1)
if how == "stop":
    send({"type": "stop"})
    time.sleep(4)
s.close()
PY
python3 "$tmp/stall.py" "$tmp/closes.txt" > "$tmp/stall.port" &
pids+=($!)
for _ in $(seq 1 50); do [ -s "$tmp/stall.port" ] && break; sleep 0.1; done
SPORT=$(cat "$tmp/stall.port")
cat > "$tmp/router.json" <<JSON
{"backends": {"s": {"url": "http://127.0.0.1:$SPORT", "idle_timeout_ms": 20000}},
 "models": [{"id": "slow", "backend": "s", "api": "completions", "context": 512}]}
JSON
"$BIN" serve --config "$tmp/router.json" --port 0 >"$tmp/main.log" 2>&1 &
pids+=($!)
PORT=""
for _ in $(seq 1 100); do
    PORT=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$tmp/main.log" | head -1)
    [ -n "$PORT" ] && break
    sleep 0.1
done
[ -n "$PORT" ] || { echo "FAIL: llmr serve did not start:"; cat "$tmp/main.log"; exit 1; }

# leave MODE CLIENT: a streaming client (OpenAI completions or ollama generate over HTTP,
# killed after 1 s; or a WebSocket client that closes its socket or sends stop after 1 s);
# the backend must see llmr close within 3 s of that.
leave() {
    local mode=$1 url body cp
    local before=0
    [ -f "$tmp/closes.txt" ] && before=$(wc -l < "$tmp/closes.txt")
    case $2 in
    completions) url=/v1/completions
                 body='{"model":"slow","prompt":"'$mode'","max_tokens":5,"stream":true}' ;;
    ollama)      url=/api/generate
                 body='{"model":"slow","prompt":"'$mode'","options":{"num_predict":5}}' ;;
    esac
    case $2 in
    ws-*) python3 "$tmp/ws.py" "$PORT" "$mode" "${2#ws-}" & cp=$!
          sleep 1.1 ;;
    *)    curl -H 'Content-Type: application/json' -sN "http://127.0.0.1:$PORT$url" -d "$body" > "$tmp/out.txt" 2>/dev/null &
          cp=$!
          sleep 1
          kill -9 "$cp" 2>/dev/null; wait "$cp" 2>/dev/null ;;
    esac
    local t0=$(date +%s.%N) got=""
    for _ in $(seq 1 60); do
        got=$(sed -n "$((before + 1))p" "$tmp/closes.txt" 2>/dev/null)
        [ -n "$got" ] && break
        sleep 0.05
    done
    local dt=$(python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$(date +%s.%N)")
    echo "$mode via $2: backend saw the close ${dt}s after the client left ($got)"
    case $2 in ws-*) wait "$cp" 2>/dev/null ;; esac
    check "$mode via $2: the backend request ends when the client leaves" \
          $([ -n "$got" ] && [ "${got%% *}" = "$mode" ]; echo $?)
}
leave noheaders completions
leave nofirst completions
leave midway completions
leave nofirst ollama
leave nofirst ws-close
leave midway ws-stop

curl -s "http://127.0.0.1:$PORT/health" | grep -q ok; check "the server still answers" $?
echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
