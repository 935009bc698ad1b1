#!/usr/bin/env bash
# Hostile requests to llmr serve (issue: a 1.6 KB body killed the server): JSON nested past
# the limit on every JSON route and in WebSocket messages, repeated keys, CORS (none by
# default, preflights refused unless --cors allows the origin), bodies that any web page can
# send without a preflight (text/plain, forms), WebSocket handshakes from foreign pages, and
# the API key on every route but /health (--metrics-key for /metrics).
set -u
. "$(dirname "$0")/lib.bash"
need_model
command -v python3 >/dev/null || { echo "skipped: python3 is not installed"; exit 77; }

# probe.py PORT KEY CASE...: each case prints "ok NAME" or "FAIL NAME: why".
cat > "$TMP/probe.py" <<'PY'
import base64, http.client, json, os, socket, struct, sys
port, key = int(sys.argv[1]), sys.argv[2]

def req(method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    h = dict(headers or {})
    if key and "Authorization" not in h:
        h["Authorization"] = "Bearer " + key
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data

def jpost(path, body, ctype="application/json"):
    return req("POST", path, body.encode() if isinstance(body, str) else body,
                {"Content-Type": ctype} if ctype else {})

def ws_open(origin=None, query=""):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    k = base64.b64encode(os.urandom(16)).decode()
    req = ("GET /ws%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
           % (query, port, k))
    if origin:
        req += "Origin: %s\r\n" % origin
    s.sendall((req + "\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    return s, head.split(b"\r\n")[0], rest

def ws_send(s, text):
    p = text.encode(); m = os.urandom(4)
    n = len(p)
    h = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n)
                         if n < 65536 else bytes([0x80 | 127]) + struct.pack(">Q", n))
    s.sendall(h + m + bytes(c ^ m[i % 4] for i, c in enumerate(p)))

def ws_recv(s, buf):
    def need(n):
        nonlocal buf
        while len(buf) < n:
            d = s.recv(65536)
            if not d:
                raise EOFError
            buf += d
        out, buf = buf[:n], buf[n:]
        return out
    b0, b1 = need(2)
    n = b1 & 127
    if n == 126: n = struct.unpack(">H", need(2))[0]
    elif n == 127: n = struct.unpack(">Q", need(8))[0]
    return json.loads(need(n)), buf

def check(name, cond, why=""):
    print(("ok " + name) if cond else ("FAIL %s: %s" % (name, why)))

def alive():
    st, _, _ = req("GET", "/health")
    return st == 200

deep800 = "[" * 800 + "]" * 800
deep = "[" * 100000 + "]" * 100000
for case in sys.argv[3:]:
    if case == "deep":
        st, _, b = jpost("/v1/chat/completions", deep800)
        check("800-deep array to /v1/chat/completions: 400 naming the limit",
              st == 400 and b"deeper than 64 levels" in b, (st, b[:200]))
        check("the server is alive after it", alive())
        for path in ("/v1/completions", "/api/generate", "/api/chat", "/api/models/load"):
            st, _, b = jpost(path, deep)
            check("100000-deep array to %s: 400" % path,
                  st == 400 and b"deeper than 64 levels" in b, (st, b[:200]))
        body = '{"prompt": %s, "max_tokens": 2}' % ("{\"a\":" * 5000 + "1" + "}" * 5000)
        st, _, b = jpost("/v1/completions", body)
        check("deep object inside a request: 400", st == 400 and b"deeper" in b, (st, b[:200]))
        check("the server is alive after them", alive())
    elif case == "ws_deep":
        s, line, rest = ws_open()
        check("WebSocket handshake", b" 101 " in line, line)
        m, rest = ws_recv(s, rest)                        # welcome
        ws_send(s, "[" * 1000 + "]" * 1000)
        m, rest = ws_recv(s, rest)
        check("1000-deep WebSocket message: an error naming the limit",
              m.get("type") == "error" and "deeper than 64" in json.dumps(m), m)
        ws_send(s, json.dumps({"type": "chat", "content": "Once", "max_tokens": 3}))
        types = []
        while True:
            m, rest = ws_recv(s, rest)
            types.append(m["type"])
            if m["type"] in ("stream_end", "error"):
                break
        check("the same connection then streams a reply", types[-1] == "stream_end", types)
        s.close()
        check("the server is alive after it", alive())
    elif case == "dups":
        st, _, b = jpost("/v1/completions",
                         '{"prompt":"Once","max_tokens":2,"max_tokens":2000}')
        check("repeated key: 400 naming it", st == 400 and b'max_tokens\\" twice' in b,
              (st, b[:200]))
        st, _, b = jpost("/api/chat", '{"messages":[{"role":"user","role":"system",'
                                      '"content":"x"}]}')
        check("repeated key in a nested object: 400", st == 400 and b"twice" in b, (st, b[:200]))
    elif case == "ctype":
        body = '{"prompt":"Once","max_tokens":2}'
        for ct in ("text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
                   "multipart/form-data; boundary=x"):
            st, _, b = jpost("/v1/completions", body, ct)
            check("Content-Type %s: 415" % ct, st == 415 and b"application/json" in b,
                  (st, b[:200]))
        st, _, _ = jpost("/api/models/load", '{"model":"x"}', "text/plain")
        check("/api/models/load with text/plain: 415", st == 415, st)
        for ct in ("application/json", "application/json; charset=utf-8", None):
            st, _, b = jpost("/v1/completions", body, ct)
            check("Content-Type %s: 200" % ct, st == 200, (st, b[:200]))
    elif case == "cors_off":
        st, h, _ = req("OPTIONS", "/v1/chat/completions", None,
                        {"Origin": "http://evil.example", "Access-Control-Request-Method": "POST",
                         "Access-Control-Request-Headers": "content-type,authorization"})
        check("preflight from any page refused (%d)" % st, st == 403, st)
        check("preflight answer has no CORS headers",
              not any(k.startswith("access-control-") for k in h), h)
        st, h, _ = req("GET", "/v1/models", None, {"Origin": "http://evil.example"})
        check("no CORS headers on a reply", st == 200 and "access-control-allow-origin" not in h, h)
        s, line, _ = ws_open(origin="http://evil.example")
        check("WebSocket handshake from a foreign page refused", b" 101 " not in line, line)
        s.close()
        s, line, _ = ws_open(origin="http://127.0.0.1:%d" % port)
        check("WebSocket handshake from the server's own page", b" 101 " in line, line)
        s.close()
    elif case == "cors_on":
        st, h, _ = req("OPTIONS", "/v1/chat/completions", None,
                        {"Origin": "http://app.example", "Access-Control-Request-Method": "POST"})
        check("preflight from an allowed origin: 204 with it",
              st == 204 and h.get("access-control-allow-origin") == "http://app.example", (st, h))
        st, h, _ = req("OPTIONS", "/v1/chat/completions", None,
                        {"Origin": "http://other.example", "Access-Control-Request-Method": "POST"})
        check("preflight from another origin: 403, no CORS headers",
              st == 403 and "access-control-allow-origin" not in h, (st, h))
        st, h, _ = req("GET", "/v1/models", None, {"Origin": "http://other.example"})
        check("a reply to another origin has no CORS headers",
              "access-control-allow-origin" not in h, h)
        s, line, _ = ws_open(origin="http://app.example", query="?api_key=" + key)
        check("WebSocket from an allowed origin", b" 101 " in line, line)
        s.close()
    elif case == "keys":
        def get(path, k):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("GET", path, headers={"Authorization": "Bearer " + k} if k else {})
            r = c.getresponse(); r.read(); c.close()
            return r.status
        for path in ("/metrics", "/api/version", "/", "/index.html", "/v1/models", "/api/tags",
                     "/api/ps"):
            st = get(path, None)
            check("%s without the key: 401" % path, st == 401, st)
            st = get(path, "wrong")
            check("%s with a wrong key: 401" % path, st == 401, st)
            st = get(path, key)
            check("%s with the key: 200" % path, st == 200, st)
        check("/metrics with --metrics-key: 200", get("/metrics", "m3trics") == 200)
        check("--metrics-key opens nothing else", get("/v1/models", "m3trics") == 401)
        check("/health without the key: 200", get("/health", None) == 200)
        check("the page with ?api_key=KEY: 200", get("/?api_key=" + key, None) == 200)
        check("the page with a wrong ?api_key: 401", get("/?api_key=nope", None) == 401)
        long_key = "k" * 5000
        s, line, _ = ws_open(query="?api_key=" + long_key)
        check("/ws with a wrong 5000-byte key refused", b" 101 " not in line, line)
        s.close()
PY

probe() { # CASE...: runs probe.py against the running server, counts its lines
    python3 "$TMP/probe.py" "$PORT" "${KEY:-}" "$@" > "$TMP/probe.out" 2>&1
    local rc=$?
    while IFS= read -r line; do
        case "$line" in
            ok\ *) check "${line#ok }" 0 ;;
            FAIL\ *) check "${line#FAIL }" 1 ;;
            *) echo "$line" ;;
        esac
    done < "$TMP/probe.out"
    check "probe $* ran to the end" $rc
}

# Hostile values of the new flags are usage errors (exit 2) before anything listens.
for f in "--read-timeout -5" "--read-timeout 0" "--max-conns-per-addr 99999999999" \
         "--ws-idle abc" "--cors" "--metrics-key"; do
    # shellcheck disable=SC2086
    timeout 20 "$BIN" serve -m "$MODEL" --port 0 $f >/dev/null 2>"$TMP/flag.err"
    rc=$?
    [ $rc = 2 ] && grep -q "usage error" "$TMP/flag.err"; check "serve $f: usage error (exit $rc)" $?
done

KEY=""
start_server --parallel 2
probe deep ws_deep dups ctype cors_off
stop_server; check "clean exit on SIGTERM" $?

# A model whose chat template nests nearly as deep as the template parser allows (120 unary '+'),
# and recurses through a macro as deep as the renderer allows: rendering runs on a stack of
# its own, not on a civetweb worker's 100 KiB (where the fuzzer overflowed it at 47 levels).
python3 - "$TMP/deep.jinja" <<'PY'
import sys
open(sys.argv[1], "w").write(
    "{% macro r(n) %}{% if n > 0 %}{{ r(n - 1) }}{% endif %}{% endmacro %}{{ r(95) }}"
    "{{ " + "+" * 120 + "4 }}{% for m in messages %}{{ m.content }}{% endfor %}")
PY
python3 "$(dirname "$0")/../cli/gguf_set_str.py" "$MODEL" "$TMP/deep.gguf" \
    tokenizer.chat_template "$TMP/deep.jinja"
KEY=""
start_server_with -m "$TMP/deep.gguf" --parallel 1
code=$(curl -s -o "$TMP/deep.json" -w '%{http_code}' -H 'Content-Type: application/json' \
    "$BASE/v1/chat/completions" -d '{"messages":[{"role":"user","content":"Once"}],"max_tokens":2}')
check "a deeply nesting chat template renders ($code)" $([ "$code" = 200 ]; echo $?)
curl -s -o /dev/null -w '%{http_code}' "$BASE/health" | grep -q 200
check "the server is alive after it" $?
stop_server; check "clean exit on SIGTERM (deep template)" $?

KEY=s3cret
start_server --parallel 2 --api-key "$KEY" --metrics-key m3trics --cors http://app.example
probe keys cors_on
stop_server; check "clean exit on SIGTERM (key, cors)" $?
finish
