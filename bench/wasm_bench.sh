#!/usr/bin/env bash
# wasm_bench.sh [MODEL.gguf...] - llmr's WebAssembly build against @wllama/wllama (llama.cpp
# compiled to WebAssembly, npm, pinned in bench/wasm/package-lock.json) in the same Chromium,
# on the same files, the same thread count; prints a table (bench/wasm/bench.mjs). Default models:
# 1.1B TinyLlama-shaped Q4_0 and Q8_0 files made by `llmr synth` (kept in $LLMR_TEST_MODELS).
#   BENCH_PROMPT=64 BENCH_GEN=16   prompt length and tokens generated
#   BENCH_THREADS=1                threads of each engine (more: their threads builds)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bash scripts/build-wasm.sh >/dev/null
[ -d bench/wasm/node_modules/@wllama/wllama ] ||
    (cd bench/wasm && npm ci --no-audit --no-fund --loglevel=error)
MODELS=${LLMR_TEST_MODELS:-${TMPDIR:-/tmp}/llmr-test-models}
mkdir -p "$MODELS"
files=("$@")
if [ ${#files[@]} = 0 ]; then
    for t in Q4_0 Q8_0; do
        f=$MODELS/tinyllama-1.1b-${t,,}.gguf
        [ -f "$f" ] || build/llmr synth --shape tinyllama-1.1b --type $t \
            --vocab ../shared/vocab/ggml-vocab-llama-spm.gguf -o "$f" >/dev/null
        files+=("$f")
    done
fi
site=$(mktemp -d)
trap 'kill $srv 2>/dev/null; rm -rf "$site"' EXIT
mkdir -p "$site/models"
echo '<!DOCTYPE html><title>llmr wasm bench</title>' > "$site/index.html"
ln -s "$root/js" "$site/llmr"
ln -s "$root/bench/wasm/node_modules/@wllama/wllama" "$site/wllama"
names=()
for f in "${files[@]}"; do ln -s "$(realpath "$f")" "$site/models/$(basename "$f")"; names+=("$(basename "$f")"); done
node tests/wasm/static_server.mjs "$site" > "$site/server.log" 2>&1 &
srv=$!
base=""
for _ in $(seq 1 100); do
    base=$(sed -n 's|^listening on \(http://127.0.0.1:[0-9]*/\)$|\1|p' "$site/server.log")
    [ -n "$base" ] && break
    sleep 0.1
done
node bench/wasm/bench.mjs "$base" "${names[@]}"
