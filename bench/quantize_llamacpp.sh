#!/bin/bash
# quantize_llamacpp.sh - `llmr quantize` against llama.cpp's llama-quantize on the same F16
# file and type, the two alternating, 2 threads each, wall and user time and peak resident
# memory from /usr/bin/time -v, and the load average at each start (the machine is shared:
# compare only numbers from one run). Then the peak memory of loading a model: llama-bench
# and `llmr bench` (LLMR_REPACK=1 and default) on the plain files, and llmr on the files
# `llmr quantize --repack` makes, with the time of `llmr eval --ids 1` (a load and one token).
#
# usage: bench/quantize_llamacpp.sh WORKDIR [TYPES]
#   env LLMR            llmr binary (default: build/llmr)
#   env LLAMA_QUANTIZE  (default: /tmp/llamacpp/build/bin/llama-quantize)
#   env LLAMA_BENCH     (default: /tmp/llamacpp/build/bin/llama-bench)
#   env VOCAB           vocab for `llmr synth` (default: ../shared/vocab/ggml-vocab-llama-spm.gguf)
#   env THREADS         (default 2)
# Makes WORKDIR/tl-f16.gguf (TinyLlama 1.1B shape, random weights) unless it exists; TYPES
# defaults to "Q4_0 Q8_0 Q4_K_M Q6_K"; the repacked load runs on Q8_0 and Q4_0.
set -euo pipefail
W=${1:?usage: bench/quantize_llamacpp.sh WORKDIR [TYPES]}
TYPES=${2:-Q4_0 Q8_0 Q4_K_M Q6_K}
LLMR=${LLMR:-build/llmr}
LQ=${LLAMA_QUANTIZE:-/tmp/llamacpp/build/bin/llama-quantize}
LB=${LLAMA_BENCH:-/tmp/llamacpp/build/bin/llama-bench}
VOCAB=${VOCAB:-../shared/vocab/ggml-vocab-llama-spm.gguf}
T=${THREADS:-2}
mkdir -p "$W"
IN=$W/tl-f16.gguf
[ -f "$IN" ] || "$LLMR" synth --shape tinyllama-1.1b --type F16 --vocab "$VOCAB" -o "$IN"

timed() { # label, command...: one table row from /usr/bin/time -v
    local label=$1 la; shift
    la=$(cut -d' ' -f1 /proc/loadavg)
    /usr/bin/time -v -o "$W/time.txt" "$@" >/dev/null 2>&1 || echo "($label failed)"
    awk -v l="$label" -v la="$la" '/Elapsed \(wall/ {w=$NF} /User time/ {u=$NF}
        /Maximum resident/ {r=$NF} END {printf "| %s | %s | %s | %.0f | %s |\n", l, w, u,
        r / 1024, la}' "$W/time.txt"
}

echo "| quantize to | wall | user s | peak RSS MiB | load avg |"
echo "|---|---:|---:|---:|---:|"
for ty in $TYPES; do
    timed "$ty llama-quantize" "$LQ" "$IN" "$W/out-llama.gguf" "$ty" "$T"
    timed "$ty llmr quantize" "$LLMR" quantize "$IN" "$W/out-llmr.gguf" "$ty" -t "$T"
    [ "$ty" = Q8_0 ] && mv "$W/out-llmr.gguf" "$W/tl-q8_0.gguf"
    [ "$ty" = Q4_0 ] && mv "$W/out-llmr.gguf" "$W/tl-q4_0.gguf"
    rm -f "$W/out-llama.gguf" "$W/out-llmr.gguf"
done

echo
echo "| load (bench -p 16 -n 4 -r 1) | wall | user s | peak RSS MiB | load avg |"
echo "|---|---:|---:|---:|---:|"
for ty in q8_0 q4_0; do
    f=$W/tl-$ty.gguf
    [ -f "$f" ] || continue
    "$LLMR" quantize --repack "$f" "$W/tl-$ty-r.gguf" 2>/dev/null
    timed "$ty llama-bench" "$LB" -m "$f" -p 16 -n 4 -r 1 -t "$T"
    timed "$ty llmr LLMR_REPACK=1" env LLMR_REPACK=1 "$LLMR" bench -m "$f" -p 16 -n 4 -r 1 -t "$T"
    timed "$ty llmr default" "$LLMR" bench -m "$f" -p 16 -n 4 -r 1 -t "$T"
    timed "$ty-r llmr LLMR_REPACK=1" env LLMR_REPACK=1 "$LLMR" bench -m "$W/tl-$ty-r.gguf" \
        -p 16 -n 4 -r 1 -t "$T"
    timed "$ty eval --ids 1, LLMR_REPACK=1" env LLMR_REPACK=1 "$LLMR" eval -m "$f" --ids 1 -t "$T"
    timed "$ty-r eval --ids 1, LLMR_REPACK=1" env LLMR_REPACK=1 "$LLMR" eval -m "$W/tl-$ty-r.gguf" \
        --ids 1 -t "$T"
done
