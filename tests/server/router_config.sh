#!/usr/bin/env bash
# llmr serve --config: several models behind one server. Config errors (exit 2, the key named,
# nothing listening); two local models picked by id, alias and ollama's NAME:latest, each reply
# naming the model that answered (OpenAI "model" fields, ollama "model", WebSocket
# stream_start/stream_end, X-LLMR-Model); "auto" and per-request strategies (body field and
# X-LLMR-Strategy header); the listings with states; load and unload over HTTP (404, 409 busy,
# a source added by path); the API key on every route; and a remote backend - a second
# `llmr serve` on another loopback port - killed mid-test while requests are still answered by
# the next candidate, without repeated text.
set -u
BIN=${LLMR_BIN:?LLMR_BIN must name the llmr binary}
SHARED=${LLMR_SHARED:-../shared}
TINY=$SHARED/models/stories260K.gguf
RAND=$SHARED/models/llama-2-tiny-random.gguf
F16=$SHARED/models/stories260K-f16.gguf
. "$(dirname "$0")/../check.bash"
for f in "$TINY" "$RAND" "$F16"; do
    [ -f "$f" ] || { echo "skipped: $f is absent (this test needs ../shared)"; exit 77; }
done
command -v curl >/dev/null || { echo "skipped: curl is not installed"; exit 77; }
command -v python3 >/dev/null || { echo "skipped: python3 is not installed"; exit 77; }
TINY=$(cd "$(dirname "$TINY")" && pwd)/$(basename "$TINY")
RAND=$(cd "$(dirname "$RAND")" && pwd)/$(basename "$RAND")
F16=$(cd "$(dirname "$F16")" && pwd)/$(basename "$F16")
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
GOLDEN=", there was a little girl named Lily"   # stories260K's greedy continuation

# start NAME ARGS...: llmr serve on a free port; sets PORT and the pid in pids; log in tmp/NAME.log
start() {
    local name=$1; shift
    "$BIN" serve --port 0 -t 1 --parallel 2 "$@" >"$tmp/$name.log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    PORT=""
    for _ in $(seq 1 300); do
        PORT=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$tmp/$name.log" | head -1)
        if [ -n "$PORT" ] && curl -fs "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then
            LAST_PID=$pid
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "FAIL: $name did not start:"; cat "$tmp/$name.log"; exit 1
}

# ---- config errors: exit 2, the key named, nothing listens ---------------------------------
cfg_err() { # name, expected text, config text
    printf '%s\n' "$3" > "$tmp/bad.json"
    "$BIN" serve --config "$tmp/bad.json" --port 0 >"$tmp/out" 2>"$tmp/err"; local rc=$?
    check "$1: exit 2" $([ $rc = 2 ]; echo $?)
    grep -qF -- "$2" "$tmp/err"; check "$1: says '$2'" $?
    ! grep -q "listening" "$tmp/err"; check "$1: nothing listens" $?
}
cfg_err "out of range" "bad.json: models[0].quality: 2 is out of range: expected 0..1" \
    '{"models": [{"id": "a", "source": "x.gguf", "quality": 2}]}'
cfg_err "unknown key" "models[0].qualty" '{"models": [{"id": "a", "source": "x.gguf", "qualty": 1}]}'
cfg_err "undefined backend" "nope" '{"models": [{"id": "a", "backend": "nope"}]}'
cfg_err "not JSON" "bad.json" '{"models": [}'
cfg_err "bad strategy" "strategy" '{"strategy": "fastest", "models": [{"id": "a", "source": "x.gguf"}]}'
"$BIN" serve --config "$tmp/none.json" --port 0 >/dev/null 2>"$tmp/err"; rc=$?
check "missing config file: exit 2" $([ $rc = 2 ]; echo $?)
grep -q "none.json" "$tmp/err"; check "missing config file named" $?
"$BIN" serve --config "$tmp/bad.json" -m "$TINY" >/dev/null 2>&1; rc=$?
check "-m with --config: usage error" $([ $rc = 2 ]; echo $?)

# ---- the servers -------------------------------------------------------------------------
# The remote: a plain one-model server whose model answers as "far-tiny".
start far -m "$TINY" --alias far-tiny
FAR_PORT=$PORT FAR_PID=$LAST_PID
cat > "$tmp/router.json" <<JSON
{"strategy": "quality-first", "keep_alive_s": 300, "cooldown_s": 60,
 "retry": {"max_rounds": 1}, "model_dirs": ["$(dirname "$F16")", "$tmp"],
 "backends": {"b": {"url": "http://127.0.0.1:$FAR_PORT", "connect_timeout_ms": 2000,
                    "idle_timeout_ms": 10000}},
 "models": [
  {"id": "tiny", "aliases": ["stories"], "source": "$TINY", "quality": 0.6, "cost": 0.1,
   "context": 512},
  {"id": "rand", "source": "$RAND", "quality": 0.1, "cost": 0, "context": 512},
  {"id": "far", "backend": "b", "remote_model": "far-tiny", "api": "completions", "quality": 0.9, "cost": 1,
   "context": 512},
  {"id": "far-chat", "backend": "b", "remote_model": "far-tiny", "quality": 0.05, "cost": 1,
   "context": 512}]}
JSON
start main --config "$tmp/router.json" --api-key sekrit
B="http://127.0.0.1:$PORT"
K=(-H "Authorization: Bearer sekrit")

# ---- the API key on every model route ----------------------------------------------------
for r in "GET /v1/models" "GET /api/tags" "GET /api/ps" "GET /api/models" \
         "POST /api/models/load" "DELETE /api/models/tiny" "POST /v1/completions"; do
    code=$(curl -H 'Content-Type: application/json' -s -o /dev/null -w '%{http_code}' -X "${r%% *}" "$B${r#* }" -d '{"model":"tiny"}')
    check "$r needs the key" $([ "$code" = 401 ]; echo $?)
done

# ---- the listings before any use ---------------------------------------------------------
curl -s "${K[@]}" "$B/v1/models" > "$tmp/models.json"
python3 - "$tmp/models.json" <<'PY'
import json, sys
d = {m["id"]: m for m in json.load(open(sys.argv[1]))["data"]}
assert set(d) == {"tiny", "rand", "far", "far-chat"}, d
assert d["tiny"]["state"] == "unloaded" and d["rand"]["state"] == "unloaded", d
assert d["far"]["state"] == "available" and d["far"]["type"] == "remote", d
assert d["tiny"]["aliases"] == ["stories"] and all(m["object"] == "model" for m in d.values())
PY
check "/v1/models lists every model with its state" $?

# ---- each local model by name -----------------------------------------------------------
# compl FILE ARGS...: a greedy completion of "Once upon a time", headers in FILE.h
compl() {
    local out=$1; shift
    curl -s -H "Content-Type: application/json" "${K[@]}" -D "$out.h" "$B/v1/completions" "$@" > "$out"
}
# field FILE KEY: the first "KEY":value of a compact JSON reply (string quotes taken off); the
# server writes compact JSON, so grep does what a JSON parser would, without its start-up cost.
field() { grep -o "\"$2\":\(\"[^\"]*\"\|[a-z0-9]*\)" "$1" | head -1 | sed 's/^"[^"]*"://; s/^"//; s/"$//'; }
# text FILE: the reply's text (choices[0].text)
text() { field "$1" text; }
compl "$tmp/t.json" -d '{"model":"tiny","prompt":"Once upon a time","max_tokens":12,"temperature":0}'
[ "$(field "$tmp/t.json" model)" = tiny ]; check "tiny by id: model tiny" $?
text "$tmp/t.json" | grep -qF "$GOLDEN"; check "tiny by id: its greedy text" $?
grep -qi '^X-LLMR-Model: tiny' "$tmp/t.json.h"; check "tiny by id: X-LLMR-Model" $?
compl "$tmp/a.json" -d '{"model":"stories","prompt":"Once upon a time","max_tokens":12,"temperature":0}'
[ "$(field "$tmp/a.json" model)" = tiny ]; check "by alias: answered by tiny" $?
compl "$tmp/r.json" -d '{"model":"rand","prompt":"Once upon a time","max_tokens":12,"temperature":0}'
[ "$(field "$tmp/r.json" model)" = rand ]; check "rand by id: model rand" $?
! text "$tmp/r.json" | grep -qF "$GOLDEN"; check "rand's text is its own" $?
grep -qi '^X-LLMR-Model: rand' "$tmp/r.json.h"; check "rand by id: X-LLMR-Model" $?
compl "$tmp/u.json" -d '{"model":"nosuch","prompt":"x"}'
[ "$(field "$tmp/u.json" code)" = model_not_found ]; check "unknown model: model_not_found" $?
grep -q '^HTTP/1.1 404' "$tmp/u.json.h"; check "unknown model: 404" $?
field "$tmp/u.json" message | grep -q "known: tiny, rand, far"; check "unknown model: lists the known" $?

# streamed chat on rand: every chunk names it
curl -H 'Content-Type: application/json' -sN "${K[@]}" -D "$tmp/c.h" "$B/v1/chat/completions" -d '{"model":"rand",
  "messages":[{"role":"user","content":"Hi"}],"max_tokens":5,"stream":true}' > "$tmp/c.sse"
python3 - "$tmp/c.sse" <<'PY'
import json, sys
ev = [e for e in open(sys.argv[1]).read().split("\n\n") if e]
assert ev[-1] == "data: [DONE]", ev
ch = [json.loads(e[6:]) for e in ev[:-1]]
assert len(ch) >= 3 and all(c["model"] == "rand" for c in ch), ch
PY
check "chat stream: every chunk names rand" $?
grep -qi '^X-LLMR-Model: rand' "$tmp/c.h"; check "chat stream: X-LLMR-Model" $?

# ollama, by NAME:latest
curl -H 'Content-Type: application/json' -s "${K[@]}" -D "$tmp/o.h" "$B/api/chat" -d '{"model":"tiny:latest","messages":[{"role":"user",
  "content":"Hi"}],"options":{"num_predict":4}}' > "$tmp/o.ndjson"
python3 - "$tmp/o.ndjson" <<'PY'
import json, sys
ls = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert ls[-1]["done"] is True and all(l["model"] == "tiny" for l in ls), ls
PY
check "ollama chat by tiny:latest: every line names tiny" $?
grep -qi '^X-LLMR-Model: tiny' "$tmp/o.h"; check "ollama chat: X-LLMR-Model" $?

# a local model served by the router still batches: concurrent requests share decode steps
metric() { curl -s "${K[@]}" "$B/metrics" | awk -v n="$1" '$1 == n { print $2 }'; }
s0=$(metric llmr_decode_steps_total); g0=$(metric llmr_generated_tokens_total)
cpids=()
for i in 1 2 3 4; do
    curl -H 'Content-Type: application/json' -s "${K[@]}" "$B/v1/completions" -o /dev/null -d '{"model":"tiny","prompt":"Once","max_tokens":60}' &
    cpids+=($!)
done
wait "${cpids[@]}"
s1=$(metric llmr_decode_steps_total); g1=$(metric llmr_generated_tokens_total)
[ $((g1 - g0)) = 240 ] && [ $((s1 - s0)) -lt 240 ]
check "4 concurrent requests on tiny: 240 tokens in $((s1 - s0)) batched steps" $?

# ---- the WebSocket protocol names the model ---------------------------------------------
# wslib.py: a minimal WebSocket client (masked text frames out, unfragmented frames in)
cat > "$tmp/wslib.py" <<'PY'
import base64, json, os, socket, struct
class WS:
    def __init__(self, port, key):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=20)
        k = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall(("GET /ws?api_key=%s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n" % (key, k)).encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self.buf += self.s.recv(4096)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        assert b" 101 " in head.split(b"\r\n")[0], head
    def recv_exact(self, n):
        while len(self.buf) < n:
            d = self.s.recv(4096)
            if not d: raise EOFError
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out
    def recv(self):
        b0, b1 = self.recv_exact(2)
        n = b1 & 127
        if n == 126: n = struct.unpack(">H", self.recv_exact(2))[0]
        elif n == 127: n = struct.unpack(">Q", self.recv_exact(8))[0]
        return json.loads(self.recv_exact(n))
    def send(self, o):
        p = json.dumps(o).encode(); m = os.urandom(4)
        h = bytes([0x81]) + (bytes([0x80 | len(p)]) if len(p) < 126
                             else bytes([0x80 | 126]) + struct.pack(">H", len(p)))
        self.s.sendall(h + m + bytes(c ^ m[i % 4] for i, c in enumerate(p)))
    def close(self):
        self.s.close()
PY
cat > "$tmp/ws.py" <<'PY'
import sys
sys.path.insert(0, sys.argv[4])
from wslib import WS
port, key, model = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ws = WS(port, key)
recv_msg, send = ws.recv, ws.send
assert recv_msg()["type"] == "welcome"
send({"type": "chat", "content": "Hello", "model": model, "max_tokens": 4})
start = recv_msg()
assert start == {"type": "stream_start", "model": "tiny"}, start
while True:
    m = recv_msg()
    if m["type"] != "token": break
assert m["type"] == "stream_end" and m["model"] == "tiny", m
send({"type": "chat", "content": "Hello", "model": "nosuch"})
m = recv_msg()
assert m["type"] == "error" and "nosuch" in m["message"], m
PY
timeout 30 python3 "$tmp/ws.py" "$PORT" sekrit stories "$tmp"; check "WebSocket: stream_start/stream_end name the model; unknown model is an error" $?

# ---- auto and strategies ----------------------------------------------------------------
# quality-first ranks far (the remote, quality 0.9) first: the other server answers
compl "$tmp/f.json" -d '{"model":"auto","prompt":"Once upon a time","max_tokens":12,"temperature":0}'
[ "$(field "$tmp/f.json" model)" = far ]; check "auto, quality-first: far answers" $?
text "$tmp/f.json" | grep -qF "$GOLDEN"; check "far's text comes from the remote model" $?
grep -qi '^X-LLMR-Model: far' "$tmp/f.json.h"; check "auto: X-LLMR-Model far" $?
grep -q 'POST /v1/completions' "$tmp/far.log"; check "the remote server got the request" $?
# a chat backend gets the conversation itself: the remote server renders it with its model's
# template, as the local copy of that model does, so both give the same greedy reply
chat='"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Tell me a story"}],"max_tokens":12,"temperature":0'
curl -H 'Content-Type: application/json' -s "${K[@]}" "$B/v1/chat/completions" -d "{\"model\":\"far-chat\",$chat}" > "$tmp/fc.json"
curl -H 'Content-Type: application/json' -s "${K[@]}" "$B/v1/chat/completions" -d "{\"model\":\"tiny\",$chat}" > "$tmp/tc.json"
[ "$(field "$tmp/fc.json" model)" = far-chat ] && [ -n "$(field "$tmp/tc.json" content)" ] &&
    [ "$(field "$tmp/fc.json" content)" = "$(field "$tmp/tc.json" content)" ]
check "chat to a chat backend: the messages arrive (same reply as the local model)" $?
grep -q 'POST /v1/chat/completions.* 200 ' "$tmp/far.log"; check "the remote got a chat request" $?
compl "$tmp/s.json" -d '{"prompt":"Once","max_tokens":3,"strategy":"cost-optimized"}'
[ "$(field "$tmp/s.json" model)" = rand ]; check "strategy field cost-optimized: rand" $?
compl "$tmp/s2.json" -H 'X-LLMR-Strategy: cost-optimized' -d '{"prompt":"Once","max_tokens":3}'
[ "$(field "$tmp/s2.json" model)" = rand ]; check "X-LLMR-Strategy cost-optimized: rand" $?
compl "$tmp/s3.json" -d '{"prompt":"Once","max_tokens":3,"strategy":"fastest"}'
grep -q '^HTTP/1.1 400' "$tmp/s3.json.h" && field "$tmp/s3.json" param | grep -q strategy
check "unknown strategy: 400 naming the param" $?

# ---- listings after use -------------------------------------------------------------------
curl -s "${K[@]}" "$B/api/tags" > "$tmp/tags.json"
curl -s "${K[@]}" "$B/api/ps" > "$tmp/ps.json"
curl -s "${K[@]}" "$B/api/models" > "$tmp/am.json"
python3 - "$tmp/tags.json" "$tmp/ps.json" "$tmp/am.json" <<'PY'
import json, sys
tags = {m["name"]: m for m in json.load(open(sys.argv[1]))["models"]}
assert set(tags) == {"tiny:latest", "rand:latest", "far:latest", "far-chat:latest"}, tags
assert tags["tiny:latest"]["state"] == "loaded" and tags["far:latest"]["state"] == "available"
assert tags["tiny:latest"]["details"]["format"] == "gguf", tags
ps = {m["name"] for m in json.load(open(sys.argv[2]))["models"]}
assert ps == {"tiny:latest", "rand:latest"}, ps
am = {m["id"]: m for m in json.load(open(sys.argv[3]))["models"]}
assert am["tiny"]["state"] == "loaded" and am["tiny"]["served"] >= 2, am
assert am["far"]["type"] == "remote" and am["far"]["served"] >= 1, am
PY
check "/api/tags (every model), /api/ps (loaded), /api/models (status) with states" $?

# ---- load and unload over HTTP ----------------------------------------------------------
req() { # METHOD PATH [BODY] -> body in tmp/req.json, status echoed
    curl -H 'Content-Type: application/json' -s "${K[@]}" -o "$tmp/req.json" -w '%{http_code}' -X "$1" "$B$2" ${3:+-d "$3"}
}
[ "$(req DELETE /api/models/rand)" = 200 ]; check "unload rand: 200" $?
[ "$(field "$tmp/req.json" changed)" = true ]; check "unload rand: changed" $?
curl -s "${K[@]}" "$B/v1/models" | grep -q '"id":"rand","object":"model","created":[0-9]*,"owned_by":"llmr","state":"unloaded"'
check "rand is unloaded" $?
[ "$(req DELETE /api/models/rand)" = 200 ] && [ "$(field "$tmp/req.json" changed)" = false ]
check "unload again: 200, not changed" $?
[ "$(req DELETE /api/models/nosuch)" = 404 ]; check "unload unknown: 404" $?
[ "$(req POST /api/models/load '{"model":"rand"}')" = 200 ]; check "load rand: 200" $?
curl -s "${K[@]}" "$B/api/ps" | grep -q '"rand:latest"'; check "rand is loaded again" $?
[ "$(req POST /api/models/load '{"model":"nosuch"}')" = 404 ]; check "load unknown id: 404" $?
[ "$(req POST /api/models/load "{\"model\":\"$tmp/x.gguf\"}")" = 404 ]; check "load missing file: 404" $?
! curl -s "${K[@]}" "$B/v1/models" | grep -q '"id":"x"'; check "a source that fails is not kept" $?
# hostile load requests: a clear 4xx each, and the server goes on
for bad in 'not json' '{}' '{"model":5}' '{"model":""}' "{\"model\":\"$(head -c 5000 /dev/zero | tr '\0' a)\"}"; do
    [ "$(req POST /api/models/load "$bad")" = 400 ]; check "load with a bad body (${bad:0:20}): 400" $?
done
head -c 4096 /dev/urandom > "$tmp/junk.gguf"
code=$(req POST /api/models/load "{\"model\":\"$tmp/junk.gguf\"}")
case $code in 4*) true ;; *) false ;; esac; check "load a corrupt .gguf: 4xx ($code)" $?
grep -q '"message"' "$tmp/req.json"; check "load a corrupt .gguf: the error says why" $?
! curl -s "${K[@]}" "$B/v1/models" | grep -q '"id":"junk"'; check "a corrupt source is not kept" $?
[ "$(req DELETE "/api/models/$(head -c 3000 /dev/zero | tr '\0' z)")" = 404 ]
check "unload an overlong id: 404" $?
[ "$(req POST /api/models/load "{\"model\":\"$F16\"}")" = 200 ]; check "load a source path: 200" $?
[ "$(field "$tmp/req.json" model)" = stories260K-f16 ]; check "the source's id is its file name" $?
compl "$tmp/n.json" -d '{"model":"stories260K-f16","prompt":"Once upon a time","max_tokens":12,"temperature":0}'
[ "$(field "$tmp/n.json" model)" = stories260K-f16 ]; check "the added model answers by name" $?

# busy: a WebSocket reply on tiny, paused by its client before it starts, holds tiny by
# construction - the reply keeps its model from stream_start until it ends, and it cannot end
# while paused however fast the model is - so unloading is refused with 409 until the client
# resumes. Then a second paused reply whose client leaves: the server ends it and gives the
# model back, and the unload succeeds.
cat > "$tmp/ws_busy.py" <<'PY'
import http.client, json, sys, time
sys.path.insert(0, sys.argv[3])
from wslib import WS
port, key = int(sys.argv[1]), sys.argv[2]
ws = WS(port, key)
recv_msg, send = ws.recv, ws.send
def delete(path="/api/models/tiny"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    c.request("DELETE", path, headers={"Authorization": "Bearer " + key})
    r = c.getresponse()
    return r.status, json.loads(r.read() or b"{}")
def delete_until_200():
    for _ in range(400):                 # polls: the reply releases tiny just after its end
        st, body = delete()
        if st == 200:
            return body
        assert st == 409, (st, body)
        time.sleep(0.05)
    raise AssertionError("tiny stayed busy")
assert recv_msg()["type"] == "welcome"
send({"type": "pause"})                  # before the chat: no token can be sent, nor the end
send({"type": "chat", "content": "Once", "model": "tiny", "max_tokens": 20, "temperature": 0})
assert recv_msg() == {"type": "stream_start", "model": "tiny"}   # tiny is in use from here
st, body = delete()
assert st == 409 and body["error"]["code"] == "model_busy", (st, body)
print("busy: 409 model_busy")
send({"type": "resume"})
n = 0
while True:
    m = recv_msg()
    if m["type"] != "token": break
    n += 1
assert m["type"] == "stream_end" and m["tokens"] == 20 and n > 0, (m, n)
assert delete_until_200()["status"] == "unloaded"
print("resumed: the reply ends and the unload succeeds")
send({"type": "pause"})
send({"type": "chat", "content": "Once", "model": "tiny", "max_tokens": 20})
assert recv_msg() == {"type": "stream_start", "model": "tiny"}   # loaded again, in use
assert delete()[0] == 409
ws.close()                               # the client leaves while paused
delete_until_200()
print("client gone: the unload succeeds")
PY
timeout 60 python3 "$tmp/ws_busy.py" "$PORT" sekrit "$tmp" > "$tmp/ws_busy.out" 2>&1
rc=$?
cat "$tmp/ws_busy.out"
grep -q "^busy: 409 model_busy$" "$tmp/ws_busy.out"; check "unload while in use (a paused WebSocket reply): 409 model_busy" $?
grep -q "^resumed: the reply ends and the unload succeeds$" "$tmp/ws_busy.out"
check "resumed, the reply ends and the unload succeeds" $?
[ $rc = 0 ] && grep -q "^client gone: the unload succeeds$" "$tmp/ws_busy.out"
check "the client gone, the unload succeeds" $?

# ---- failover: the remote server dies -------------------------------------------------
kill -9 "$FAR_PID"; wait "$FAR_PID" 2>/dev/null
compl "$tmp/k.json" -d '{"prompt":"Once upon a time","max_tokens":12,"temperature":0}'
[ "$(field "$tmp/k.json" model)" = tiny ]; check "far dead, auto: tiny answers" $?
text "$tmp/k.json" | grep -qF "$GOLDEN"; check "far dead: the text" $?
grep -qi '^X-LLMR-Model: tiny' "$tmp/k.json.h"; check "far dead: X-LLMR-Model tiny" $?
# asked for by name, streamed: the next candidate answers, and no text is repeated
curl -H 'Content-Type: application/json' -sN "${K[@]}" "$B/v1/completions" -d '{"model":"far","prompt":"Once upon a time",
  "max_tokens":12,"temperature":0,"stream":true}' > "$tmp/k.sse"
python3 - "$tmp/k.sse" "$GOLDEN" <<'PY'
import json, sys
ev = [e for e in open(sys.argv[1]).read().split("\n\n") if e]
assert ev[-1] == "data: [DONE]", ev
ch = [json.loads(e[6:]) for e in ev[:-1]]
assert all(c["model"] == "tiny" for c in ch), ch
text = "".join(c["choices"][0]["text"] for c in ch)
assert text.startswith(sys.argv[2]) and text.count("Lily") == 1, text
PY
check "far dead, asked by name, streamed: tiny answers once" $?
curl -s "${K[@]}" "$B/api/models" | python3 -c '
import json,sys; m={x["id"]:x for x in json.load(sys.stdin)["models"]}["far"]
assert m["failures"] >= 1 and m["state"] == "cooldown", m'
check "far is in cooldown with its failure counted" $?

# ---- clean shutdown -------------------------------------------------------------------------
MAIN_PID=$LAST_PID
kill -TERM "$MAIN_PID"; wait "$MAIN_PID"; rc=$?
check "SIGTERM: exit 0 (rc $rc)" $([ $rc = 0 ]; echo $?)
# ---- memory budget and keep_alive: schedulers close with their models ----------------------
# tiny (1.1 MiB) and rand (1.7 MiB) do not fit 2.5 MiB together: loading one evicts the other.
cat > "$tmp/mem.json" <<JSON
{"memory_budget_mb": 2.5, "keep_alive_s": -1,
 "models": [{"id": "tiny", "source": "$TINY", "keep_alive_s": 2},
            {"id": "rand", "source": "$RAND"}]}
JSON
start mem --config "$tmp/mem.json"
B="http://127.0.0.1:$PORT"
K=()
ps_names() { curl -s "$B/api/ps" | grep -o '"name":"[^"]*"' | sed 's/"name":"//; s/"$//' | sort | tr '\n' ' ' | sed 's/ $//'; }
compl "$tmp/m1.json" -d '{"model":"tiny","prompt":"Once","max_tokens":3}'
[ "$(ps_names)" = "tiny:latest" ]; check "budget: tiny loaded" $?
compl "$tmp/m2.json" -d '{"model":"rand","prompt":"Once","max_tokens":3}'
[ "$(field "$tmp/m2.json" model)" = rand ] && [ "$(ps_names)" = "rand:latest" ]
check "budget: rand evicts the idle tiny" $?
grep -q "model tiny unloaded" "$tmp/mem.log"; check "budget: tiny's scheduler closed" $?
compl "$tmp/m3.json" -d '{"model":"tiny","prompt":"Once upon a time","max_tokens":12,"temperature":0}'
[ "$(ps_names)" = "tiny:latest" ]; check "budget: tiny evicts rand" $?
text "$tmp/m3.json" | grep -qF "$GOLDEN"; check "budget: tiny back, same text" $?
for _ in $(seq 1 100); do [ -z "$(ps_names)" ] && break; sleep 0.1; done
[ -z "$(ps_names)" ]; check "keep_alive 2 s: tiny unloaded when idle" $?
kill -TERM "$LAST_PID"; wait "$LAST_PID"; rc=$?
check "mem server: SIGTERM exit 0 (rc $rc)" $([ $rc = 0 ]; echo $?)

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
