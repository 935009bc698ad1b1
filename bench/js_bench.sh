#!/usr/bin/env bash
# js_bench.sh - the llm-runner-router package's overhead, back to back with the C paths on the
# same model file (see bench/README.md, "The Node.js package"). Not a test: it takes minutes
# and its figures depend on the machine and its load.
#   bash bench/js_bench.sh MODEL.gguf
# Env: LLMR_BIN (default build/llmr), THREADS (default 2), ROUNDS (default 3), TOKENS (single
# stream, default 128), STREAMS (default 8), PTOKENS (tokens per parallel stream, default 64).
set -u
cd "$(dirname "$0")/.."
MODEL=${1:?usage: js_bench.sh MODEL.gguf}
LLMR_BIN=${LLMR_BIN:-build/llmr}
THREADS=${THREADS:-2}; ROUNDS=${ROUNDS:-3}; TOKENS=${TOKENS:-128}
STREAMS=${STREAMS:-8}; PTOKENS=${PTOKENS:-64}
CTX=512
export LLMR_NODE_ADDON=${LLMR_NODE_ADDON:-$(dirname "$LLMR_BIN")/llmr.node}

echo "== one stream, $TOKENS tokens, temperature 0: llmr run --verbose, then for await, alternately"
for r in $(seq 1 "$ROUNDS"); do
    "$LLMR_BIN" run -m "$MODEL" -n "$TOKENS" --temp 0 -t "$THREADS" -c $CTX --verbose \
        "Once upon a time" 2>&1 >/dev/null | sed -n 's/^generation: .*, \([0-9.]*\) t\/s$/llmr run: \1 t\/s/p'
    node bench/js_stream.mjs single "$MODEL" "$TOKENS" "$THREADS" $CTX |
        node -e 'const r = JSON.parse(require("fs").readFileSync(0)); console.log(`for await: ${r.decode_tps.toFixed(2)} t/s (library ${r.library_gen_tps.toFixed(2)})`)'
done

echo "== $STREAMS streams x $PTOKENS tokens: llmr serve --parallel $STREAMS, then the package"
NPS=$STREAMS SKIP_SOAK=1 ROUNDS=$ROUNDS THREADS=$THREADS bash bench/server_bench.sh "$MODEL" /tmp/llmr-js-bench |
    grep -E "^round|^==" 
node bench/js_stream.mjs parallel "$MODEL" "$STREAMS" "$PTOKENS" "$THREADS" $CTX "$ROUNDS" |
    node -e 'const r = JSON.parse(require("fs").readFileSync(0)); r.rounds.forEach((x, i) => console.log(`package round ${i + 1}: ${x.tokens} tokens, ${x.aggregate_tps.toFixed(1)} t/s aggregate (${x.decode_tps.toFixed(1)} t/s after the first token), TTFT p50 ${x.ttft_p50_s.toFixed(2)}s`)); console.log(`package: median ${r.aggregate_tps_median.toFixed(1)} t/s aggregate`)'
