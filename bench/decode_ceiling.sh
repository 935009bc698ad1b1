#!/usr/bin/env bash
# decode_ceiling.sh - decode speed as a fraction of the memory read rate measured in the same
# minutes: for each model and thread count, bench_membw (T threads) right before and right
# after `llmr bench -n TG -t T`, then
#   streamed GB/s = tg t/s x bytes a token reads (every tensor but the token-embedding table,
#                   of which decode reads one row)
#   ceiling      = the mean of the two bench_membw figures
# and the fraction streamed / ceiling. Decode reads each weight byte once per token, so no
# engine can go past 100% (bar what the caches hold between tokens).
#
# Usage: bench/decode_ceiling.sh [MODEL...]   (default: /tmp/q/tl-{q4_0,q8_0,q4_k_m,q6_k,f16}.gguf)
# Env:   LLMR (build/llmr), MEMBW (build/bench_membw, built if missing), THREADS ("1 2"),
#        TG (64), REPS (2)
set -euo pipefail
LLMR=${LLMR:-build/llmr}
MEMBW=${MEMBW:-build/bench_membw}
THREADS=${THREADS:-1 2}
TG=${TG:-64}
REPS=${REPS:-2}
if [ ! -x "$MEMBW" ]; then
  cc -O2 -mavx2 "$(dirname "$0")/bench_membw.c" -o "$MEMBW" -lpthread
fi
if [ $# -eq 0 ]; then
  set -- /tmp/q/tl-q4_0.gguf /tmp/q/tl-q8_0.gguf /tmp/q/tl-q4_k_m.gguf /tmp/q/tl-q6_k.gguf \
         /tmp/q/tl-f16.gguf
fi
membw() { "$MEMBW" "$1" 1024 3 | grep -o '[0-9.]* GB/s' | cut -d' ' -f1; }

echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cpus," \
     "$(grep -m1 -o 'avx512[a-z_0-9]*' /proc/cpuinfo | head -1 | grep -q . && echo AVX-512 || echo 'AVX2, no AVX-512')"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| model | threads | bytes/token (MB) | tg$TG t/s | streamed GB/s | bench_membw GB/s (before, after) | fraction of ceiling |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for f in "$@"; do
  [ -f "$f" ] || { echo "| $(basename "$f") | missing |"; continue; }
  bytes=$("$LLMR" info --json --tensors "$f" | python3 -c 'import json, sys
print(sum(t["bytes"] for t in json.load(sys.stdin)["tensors"] if t["name"] != "token_embd.weight"))')
  for t in $THREADS; do
    m0=$(membw "$t")
    ts=$("$LLMR" bench -m "$f" -p 0 -n "$TG" -t "$t" -r "$REPS" --json | python3 -c 'import json, sys
print(json.load(sys.stdin)[0]["avg_ts"])')
    m1=$(membw "$t")
    python3 - "$f" "$t" "$bytes" "$ts" "$m0" "$m1" <<'PY'
import os, sys
f, t, b, ts, m0, m1 = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
gbs = ts * b / 1e9
ceil = (m0 + m1) / 2
print(f"| {os.path.basename(f)} | {t} | {b/1e6:.0f} | {ts:.2f} | {gbs:.1f} | {ceil:.1f} ({m0:.1f}, {m1:.1f}) | {100*gbs/ceil:.0f}% |")
PY
  done
done
