#!/bin/bash
# compare_llamacpp.sh - llmr vs llama.cpp's llama-bench on the same synthetic TinyLlama-shaped
# files, side by side in one run (the machine is noisy: never compare numbers from two runs).
#
# usage: bench/compare_llamacpp.sh WORKDIR [REPS] [THREADS] [TYPES]
#   env LLMR         command that runs llmr         (default: build/llmr)
#   env LLAMA_BENCH  command that runs llama-bench  (default: /tmp/llamacpp/build/bin/llama-bench)
#   env VOCAB        vocab file (default: ../shared/vocab/ggml-vocab-llama-spm.gguf)
#   env PP, TG       prompt and generation lengths (default 512 and 128)
#   env RESULTS      where the JSON of each run goes (default WORKDIR)
#   env PRIO         a command prefix both engines run under, e.g. "chrt -f 10" (real-time
#                    priority, as root) when other work shares the machine (default: none)
# Makes WORKDIR/tl-f16.gguf with `llmr synth` (random weights, TinyLlama 1.1B shape), quantizes
# it with `llmr quantize`, runs each engine on each file (PP/TG tests, REPS repetitions), and
# prints one markdown table with the ratio llmr / llama.cpp. Raw JSON stays in WORKDIR.
set -euo pipefail
WORK=${1:?usage: compare_llamacpp.sh WORKDIR [REPS] [THREADS] [TYPES]}
REPS=${2:-3}
THREADS=${3:-2}
TYPES=${4:-"Q4_0 Q4_K_M Q8_0 F16"}
LLMR=${LLMR:-build/llmr}
LLAMA_BENCH=${LLAMA_BENCH:-/tmp/llamacpp/build/bin/llama-bench}
VOCAB=${VOCAB:-../shared/vocab/ggml-vocab-llama-spm.gguf}
PP=${PP:-512}
TG=${TG:-128}
RESULTS=${RESULTS:-$WORK}
PRIO=${PRIO:-}
mkdir -p "$WORK" "$RESULTS"
if [ ! -f "$WORK/tl-f16.gguf" ]; then
  $LLMR synth --shape tinyllama-1.1b --type F16 --vocab "$VOCAB" -o "$WORK/tl-f16.gguf"
fi
for t in $TYPES; do
  f="$WORK/tl-$t.gguf"
  [ "$t" = F16 ] && f="$WORK/tl-f16.gguf"
  [ -f "$f" ] || $LLMR quantize "$WORK/tl-f16.gguf" "$f" "$t"
done
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" > "$RESULTS/load.txt"
for t in $TYPES; do
  f="$WORK/tl-$t.gguf"
  [ "$t" = F16 ] && f="$WORK/tl-f16.gguf"
  cat "$f" > /dev/null       # into the page cache before either engine runs
  echo "== $t: llama.cpp" >&2
  $PRIO $LLAMA_BENCH -m "$f" -t "$THREADS" -p "$PP" -n "$TG" -r "$REPS" -o json > "$RESULTS/llamacpp-$t.json"
  echo "== $t: llmr" >&2
  $PRIO $LLMR bench -m "$f" -t "$THREADS" -p "$PP" -n "$TG" -r "$REPS" --json > "$RESULTS/llmr-$t.json"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RESULTS/load.txt"
cat "$RESULTS/load.txt"
python3 - "$RESULTS" $TYPES <<'PY'
import json, sys
work, types = sys.argv[1], sys.argv[2:]
print("| type | test | llama.cpp t/s | llmr t/s | llmr / llama.cpp |")
print("|---|---|---:|---:|---:|")
for t in types:
    a = json.load(open(f"{work}/llamacpp-{t}.json"))
    b = json.load(open(f"{work}/llmr-{t}.json"))
    for ra in a:
        test = f"pp{ra['n_prompt']}" if ra['n_prompt'] else f"tg{ra['n_gen']}"
        rb = [r for r in b if r['n_prompt'] == ra['n_prompt'] and r['n_gen'] == ra['n_gen']][0]
        print(f"| {t} | {test} | {ra['avg_ts']:.2f} ± {ra['stddev_ts']:.2f} | "
              f"{rb['avg_ts']:.2f} ± {rb['stddev_ts']:.2f} | {rb['avg_ts'] / ra['avg_ts']:.2f}x |")
PY
