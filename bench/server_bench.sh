#!/usr/bin/env bash
# server_bench.sh - llmr serve vs llama-server, back to back on the same model file, with
# bench/server_load.py (see bench/README.md, "Server"). Not a test: it takes minutes and its
# figures depend on the machine and its load.
#   bash bench/server_bench.sh MODEL.gguf [OUT_DIR]
# Env: LLMR_BIN (default build/llmr), LLAMA_SERVER (a llama.cpp llama-server binary; skipped
# when absent), THREADS (default 2), ROUNDS (default 3), SOAK_S (default 60), SKIP_SOAK=1,
# NPS (slot counts to compare, default "1 8"), PRIO (a prefix both servers run under, e.g.
# "nice -n -5" as root, when other work shares the machine), SAME_PROMPT=1 (every client sends
# the same prompt; by default each sends its own, so prefix sharing across requests cannot help).
set -u
cd "$(dirname "$0")/.."
MODEL=${1:?usage: server_bench.sh MODEL.gguf [OUT_DIR]}
OUT=${2:-/tmp/llmr-server-bench}
LLMR_BIN=${LLMR_BIN:-build/llmr}
LLAMA_SERVER=${LLAMA_SERVER:-}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
SOAK_S=${SOAK_S:-60}
NPS=${NPS:-1 8}
PRIO=${PRIO:-}
DISTINCT=--distinct
[ -n "${SAME_PROMPT:-}" ] && DISTINCT=
CTX=512               # per sequence, for both servers
mkdir -p "$OUT"
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null' EXIT

wait_up() { # url
    for _ in $(seq 1 600); do
        curl -fs "$1/health" >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    echo "server at $1 did not come up"; return 1
}
stop() { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; PID=""; }
load() { # name url clients extra...
    local name=$1 url=$2 n=$3; shift 3
    echo "== $name: $n clients"
    python3 bench/server_load.py --url "$url" --mode burst --clients "$n" --rounds "$ROUNDS" \
        --max-tokens 64 --ignore-eos $DISTINCT --json "$OUT/$name-burst$n.json" "$@"
}

for np in $NPS; do
    $PRIO "$LLMR_BIN" serve -m "$MODEL" --port 18431 -t "$THREADS" --parallel "$np" --ctx-size $CTX \
        --no-log 2>"$OUT/llmr-np$np.log" &
    PID=$!
    wait_up http://127.0.0.1:18431 || exit 1
    load "llmr-np$np" http://127.0.0.1:18431 "$np"
    stop
    if [ -n "$LLAMA_SERVER" ] && [ -x "$LLAMA_SERVER" ]; then
        # llama-server splits -c among its -np slots: -c 512*np gives each slot 512.
        $PRIO "$LLAMA_SERVER" -m "$MODEL" --port 18432 -t "$THREADS" -cb -np "$np" -c $((CTX * np)) \
            --log-disable 2>"$OUT/llama-np$np.log" >/dev/null &
        PID=$!
        wait_up http://127.0.0.1:18432 || exit 1
        load "llama-np$np" http://127.0.0.1:18432 "$np"
        stop
    fi
done

if [ -z "${SKIP_SOAK:-}" ]; then
    "$LLMR_BIN" serve -m "$MODEL" --port 18431 -t "$THREADS" --parallel 8 --ctx-size $CTX \
        --queue 64 --no-log 2>"$OUT/llmr-soak.log" &
    PID=$!
    wait_up http://127.0.0.1:18431 || exit 1
    echo "== llmr soak: 16 clients, ${SOAK_S}s, 20% dropped mid-stream"
    python3 bench/server_load.py --url http://127.0.0.1:18431 --mode soak --clients 16 \
        --duration "$SOAK_S" --disconnect 0.2 --max-tokens 64 --pid "$PID" \
        --json "$OUT/llmr-soak16.json"
    curl -s http://127.0.0.1:18431/metrics | grep -E '^llmr_(cancelled|generated|slots|queue)' \
        > "$OUT/llmr-soak-metrics.txt"
    cat "$OUT/llmr-soak-metrics.txt"
    stop
fi
