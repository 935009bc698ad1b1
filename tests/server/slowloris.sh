#!/usr/bin/env bash
# Idle and slow connections do not starve the server. From other loopback addresses: 500
# idle sockets (127.0.0.2), 200 slowloris sockets sending a header line every 2 s
# (127.0.0.3), and 4 clients trickling a request body a byte a second (127.0.0.4). Meanwhile a
# client on 127.0.0.1 streams a completion, which must complete, and /health must answer
# within 100 ms. Then: connections past --max-conns-per-addr (default 32) were answered 429
# and closed at once; the slowloris ones and the trickled bodies were cut off at
# --read-timeout (default 10 s; a body gets a 408).
set -u
. "$(dirname "$0")/lib.bash"
need_model
ulimit -n 4096 2>/dev/null
[ "$(ulimit -n)" -ge 2048 ] || { echo "skipped: needs 2048 open files (ulimit -n)"; exit 77; }
python3 - <<'PY' || { echo "skipped: cannot bind 127.0.0.2 (loopback /8 not routed here)"; exit 77; }
import socket; s = socket.socket(); s.bind(("127.0.0.2", 0)); s.close()
PY

start_server --parallel 2

cat > "$TMP/attack.py" <<'PY'
# Opens the attacking sockets and keeps them (never reconnecting); writes a JSON summary of
# each group to argv[2] every 0.2 s until argv[3] exists or 40 s pass.
import errno, json, os, selectors, socket, sys, time
port, out, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3]
groups = {"idle": ("127.0.0.2", 500), "slow": ("127.0.0.3", 200), "body": ("127.0.0.4", 4)}
sel = selectors.DefaultSelector()
t0 = time.time()
conns = []
for g, (src, n) in groups.items():
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.bind((src, 0))
        e = s.connect_ex(("127.0.0.1", port))
        assert e in (0, errno.EINPROGRESS), e
        c = {"g": g, "s": s, "up": False, "closed": None, "got": b"", "next": 0.0}
        conns.append(c)
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, c)

def summary():
    r = {}
    for g in groups:
        cs = [c for c in conns if c["g"] == g]
        r[g] = {"up": sum(c["up"] for c in cs),
                "closed": sum(c["closed"] is not None for c in cs),
                "open": sum(c["up"] and c["closed"] is None for c in cs),
                "429": sum(c["got"].startswith(b"HTTP/1.1 429") for c in cs),
                "408": sum(c["got"].startswith(b"HTTP/1.1 408") for c in cs),
                "last_close_s": max([c["closed"] for c in cs if c["closed"]] or [0])}
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(r, f)
    os.replace(tmp, out)

last = 0
while not os.path.exists(stop) and time.time() - t0 < 40:
    for key, ev in sel.select(0.05):
        c = key.data
        if ev & selectors.EVENT_WRITE and not c["up"]:
            if c["s"].getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                c["closed"] = time.time() - t0
                sel.unregister(c["s"])
                continue
            c["up"] = True
            sel.modify(c["s"], selectors.EVENT_READ, c)
            if c["g"] == "slow":
                c["s"].send(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            elif c["g"] == "body":
                c["s"].send(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: "
                            b"application/json\r\nContent-Length: 1000\r\n\r\n{")
            c["next"] = time.time() + (2 if c["g"] == "slow" else 1)
        elif ev & selectors.EVENT_READ:
            try:
                d = c["s"].recv(4096)
            except OSError:
                d = b""
            c["got"] += d
            if not d:
                c["closed"] = time.time() - t0
                sel.unregister(c["s"])
    now = time.time()
    for c in conns:
        if c["up"] and c["closed"] is None and c["g"] != "idle" and now >= c["next"]:
            try:
                c["s"].send(b"X-Slow: 1\r\n" if c["g"] == "slow" else b" ")
            except OSError:
                pass
            c["next"] = now + (2 if c["g"] == "slow" else 1)
    if now - last > 0.2:
        summary()
        last = now
summary()
PY

# field GROUP KEY: a number from the attacker's summary
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]][sys.argv[3]])" \
          "$TMP/state.json" "$1" "$2" 2>/dev/null || echo 0; }
# wait_for EXPR SECONDS: polls the summary (d) until the Python expression holds
wait_for() {
    python3 - "$TMP/state.json" "$1" "$2" <<'PY'
import json, sys, time
end = time.time() + float(sys.argv[3])
while time.time() < end:
    try:
        d = json.load(open(sys.argv[1]))
        if eval(sys.argv[2]):
            sys.exit(0)
    except (OSError, ValueError, KeyError):
        pass
    time.sleep(0.05)
sys.exit(1)
PY
}
python3 "$TMP/attack.py" "$PORT" "$TMP/state.json" "$TMP/stop" 2>"$TMP/attack.err" &
ATTACK=$!
trap 'touch "$TMP/stop"; wait $ATTACK 2>/dev/null; cleanup' EXIT

# The cap: past 32 connections an address is refused at once, so all but 32 idle and 32
# slowloris sockets are closed quickly (today's server holds a thread for each instead).
wait_for 'd["idle"]["closed"] >= 468 and d["slow"]["closed"] >= 168' 20
[ "$(field idle closed)" -ge 468 ] && [ "$(field idle open)" -le 32 ]
rc=$?
check "idle: all but 32 of 500 refused at once ($(field idle closed) closed, $(field idle 429) with 429)" $rc
[ "$(field slow closed)" -ge 168 ] && [ "$(field slow open)" -le 32 ]
rc=$?
check "slowloris: all but 32 of 200 refused at once ($(field slow closed) closed)" $rc

# Under the attack: a streamed completion on 127.0.0.1, and /health answered fast.
curl -sN --max-time 60 "$BASE/v1/completions" -H 'Content-Type: application/json' \
    -d '{"prompt":"Once upon a time","max_tokens":48,"temperature":0,"stream":true}' \
    > "$TMP/stream.sse" &
STREAM=$!
# Most answers within 100 ms and none past 2 s (the server before took 18.8 s): one answer
# delayed by the shared host's scheduler must not fail the check, a starved server does.
fast=0; bad=0; times=""
for _ in $(seq 1 10); do
    t=$(curl -s -o "$TMP/h.json" -w '%{time_total}' --max-time 30 "$BASE/health")
    times="$times $t"
    grep -q '"ok"' "$TMP/h.json" || bad=$((bad+1))
    awk -v t="$t" 'BEGIN { exit !(t < 2) }' || bad=$((bad+1))
    awk -v t="$t" 'BEGIN { exit !(t < 0.1) }' && fast=$((fast+1))
done
[ "$bad" = 0 ] && [ "$fast" -ge 8 ]
check "/health answered, 8 of 10 times within 100 ms, under attack:$times" $?
wait $STREAM
grep -q '"text"' "$TMP/stream.sse" && tail -c 20 "$TMP/stream.sse" | grep -q 'data: \[DONE\]'
check "a completion streamed on 127.0.0.1 under attack completes" $?

# --read-timeout (10 s): slowloris headers and trickled bodies are cut off. The bound allows
# for the 2 s between header lines and a loaded machine.
wait_for 'all(d[g]["open"] == 0 for g in d)' 30
[ "$(field slow open)" = 0 ] && [ "$(field idle open)" = 0 ] \
    && awk -v t="$(field slow last_close_s)" 'BEGIN { exit !(t < 20) }'
rc=$?
check "held idle and slowloris sockets are cut off (last at $(field slow last_close_s) s)" $rc
[ "$(field body open)" = 0 ] && [ "$(field body 408)" = 4 ] \
    && awk -v t="$(field body last_close_s)" 'BEGIN { exit !(t < 20) }'
rc=$?
check "bodies trickled a byte a second get 408 at the read timeout ($(field body 408) of 4, last at $(field body last_close_s) s)" $rc
touch "$TMP/stop"; wait $ATTACK; check "the attacking client ran to the end" $?; cat "$TMP/attack.err"
[ "$(metric llmr_refused_connections_total)" -ge 636 ] 2>/dev/null
rc=$?
check "llmr_refused_connections_total counts them ($(metric llmr_refused_connections_total))" $rc
# The counts go down as connections close: once the attack is over, its addresses are served
# again, for as many sequential requests as the cap and more.
ok=0
for _ in $(seq 1 40); do
    curl -s --max-time 10 --interface 127.0.0.2 "$BASE/health" | grep -q '"ok"' && ok=$((ok+1))
done
[ "$ok" = 40 ]; check "after the attack, 127.0.0.2 is served again: 40 of 40 sequential /health ($ok)" $?
stop_server; check "clean exit" $?

# The cap itself, held by construction: a server that never times a connection out, 33
# connections from one address that send nothing. The first bytes any of them receives must be
# a 429 (the server does not wait for a request to refuse), and the 32 others are held open:
# each then answers a request.
start_server --read-timeout 3600
python3 - "$PORT" <<'PY'
import selectors, socket, sys, time
port = int(sys.argv[1])
socks = []
for _ in range(33):
    s = socket.socket(); s.bind(("127.0.0.5", 0)); s.connect(("127.0.0.1", port)); socks.append(s)
sel = selectors.DefaultSelector()
for s in socks:
    sel.register(s, selectors.EVENT_READ)
ready = sel.select(120)
assert ready, "no answer to any of 33 connections"
first = ready[0][0].fileobj
r = first.recv(4096)
assert r.startswith(b"HTTP/1.1 429") and b"too_many_connections" in r, r
for s in socks:
    if s is first:
        continue
    s.settimeout(120)
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    got = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        got += d
    assert got.startswith(b"HTTP/1.1 200") and b'"ok"' in got, got[:200]
PY
check "the 33rd connection from one address is answered 429 before any request; the 32 others are held and served" $?
stop_server; check "clean exit (second server)" $?
finish
