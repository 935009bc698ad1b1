# lib.bash - shared by the tests/server/*.sh tests (sourced; named .bash so that CTest, which
# runs every tests/*/*.sh, does not run it on its own).
# start_server ARGS...  starts `llmr serve -m MODEL` on a free loopback port (--port 0) with
# ARGS, waits until /health says ok, and sets SRV_PID, PORT, BASE and SRV_LOG. The EXIT trap
# kills it. start_server_with ARGS... does the same without -m MODEL.

BIN=${LLMR_BIN:?LLMR_BIN must name the llmr binary}
SHARED=${LLMR_SHARED:-../shared}
MODEL=$SHARED/models/stories260K.gguf
# the copy the source tree ships when ../shared is absent (a fresh clone)
[ -f "$MODEL" ] || MODEL=${LLMR_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/models/stories260K.gguf
TMP=$(mktemp -d)
SRV_PID=""
fails=0; passes=0

cleanup() {
    if [ -n "$SRV_PID" ] && kill -0 "$SRV_PID" 2>/dev/null; then
        kill "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

need_model() {
    if [ ! -f "$MODEL" ]; then
        echo "skipped: $MODEL is absent (these tests need ../shared)"
        exit 77
    fi
}

check() { # name, status (0 = pass)
    if [ "$2" = 0 ]; then passes=$((passes+1)); else fails=$((fails+1)); echo "FAIL: $1"; fi
}

start_server() { start_server_with -m "$MODEL" "$@"; }

# start_server_with ARGS...: the same without the default -m MODEL (e.g. --config FILE).
start_server_with() {
    SRV_LOG=$TMP/server.log
    # -t 1: the tiny model gains nothing from threads, and a loaded 2-core machine makes a
    # thread pool's wake-ups the slowest part of a step.
    "$BIN" serve --port 0 -t 1 "$@" >"$SRV_LOG" 2>&1 &
    SRV_PID=$!
    PORT=""
    for _ in $(seq 1 100); do
        PORT=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$SRV_LOG" | head -1)
        if [ -n "$PORT" ] && curl -fs "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then
            BASE="http://127.0.0.1:$PORT"
            return 0
        fi
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "FAIL: the server did not start:"; cat "$SRV_LOG"
    exit 1
}

stop_server() { # SIGTERM, then wait for a clean exit; returns its status
    kill -TERM "$SRV_PID" 2>/dev/null
    wait "$SRV_PID"; local rc=$?
    SRV_PID=""
    return $rc
}

# metric NAME: the value of a Prometheus sample line from /metrics
metric() { curl -s "$BASE/metrics" | awk -v n="$1" '$1 == n { print $2 }'; }

finish() {
    echo "$passes passed, $fails failed"
    [ "$fails" = 0 ]
    exit $?
}
