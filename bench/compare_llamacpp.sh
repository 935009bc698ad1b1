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
#   env ROUNDS       alternations of the two engines per type (default 1); the table gives
#                    the mean of the per-round averages and their range
#   env PRIO         a command prefix both engines run under, e.g. "chrt -f 10" (real-time
#                    priority, as root) when other work shares the machine (default: none)
#   env PEER         a third engine: the path of any llama-bench binary (e.g. ik_llama.cpp's,
#                    built under /tmp); it runs in every round after llama.cpp, and every
#                    table gains its column and llmr's ratio to it (default: none)
#   env PEER_NAME    its name in the tables (default: peer)
#   env PEER_ARGS    extra arguments for it, e.g. "-rtr 1" (ik_llama.cpp's run-time repacking)
#   env DEPTH        llama-bench's -d (tests with that many tokens already in the cache), for
#                    llmr and for a PEER that knows -d; llama.cpp b4748 has no -d (default: none)
#   env MEMBW        the memory-read benchmark, run before each round (default:
#                    build/bench_membw when built, see bench_membw.c): the table then gives
#                    the GB/s each engine's tg streamed next to what the memory delivered,
#                    because on a shared machine the decode ceiling moves from round to round
# Makes WORKDIR/tl-f16.gguf with `llmr synth` (random weights, TinyLlama 1.1B shape), quantizes
# it with `llmr quantize`, runs each engine on each file (PP/TG tests, REPS repetitions), and
# prints one markdown table with the ratio llmr / llama.cpp (and llmr / PEER). Raw JSON stays
# in RESULTS.
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
ROUNDS=${ROUNDS:-1}
MEMBW=${MEMBW:-build/bench_membw}
PEER=${PEER:-}
PEER_NAME=${PEER_NAME:-peer}
PEER_ARGS=${PEER_ARGS:-}
DEPTH=${DEPTH:-}
mkdir -p "$WORK" "$RESULTS"
model_file() { [ "$1" = F16 ] && echo "$WORK/tl-f16.gguf" || echo "$WORK/tl-$1.gguf"; }
if [ ! -f "$WORK/tl-f16.gguf" ]; then
  $LLMR synth --shape tinyllama-1.1b --type F16 --vocab "$VOCAB" -o "$WORK/tl-f16.gguf"
fi
for t in $TYPES; do
  f=$(model_file "$t")
  [ -f "$f" ] || $LLMR quantize "$WORK/tl-f16.gguf" "$f" "$t"
done
# bytes decode reads per token: every tensor but the token-embedding table (one row of it)
for t in $TYPES; do
  f=$(model_file "$t")
  $LLMR info --json --tensors "$f" | python3 -c 'import json, sys
print(sum(t["bytes"] for t in json.load(sys.stdin)["tensors"] if t["name"] != "token_embd.weight"))' \
      > "$RESULTS/stream-bytes-$t.txt"
done
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" > "$RESULTS/load.txt"
for t in $TYPES; do
  f=$(model_file "$t")
  cat "$f" > /dev/null       # into the page cache before either engine runs
  # ROUNDS alternations of the two engines: the machine's speed drifts (other tenants share
  # its memory bandwidth), so each engine gets the same mix of good and bad minutes
  for k in $(seq 1 "$ROUNDS"); do
    if [ -x "$MEMBW" ]; then
      "$MEMBW" "$THREADS" 1024 3 | grep -o '[0-9.]* GB/s' | cut -d' ' -f1 > "$RESULTS/membw-$t-$k.txt"
    fi
    echo "== $t round $k: llama.cpp" >&2
    $PRIO $LLAMA_BENCH -m "$f" -t "$THREADS" -p "$PP" -n "$TG" -r "$REPS" -o json > "$RESULTS/llamacpp-$t-$k.json"
    if [ -n "$PEER" ]; then
      echo "== $t round $k: $PEER_NAME" >&2
      # shellcheck disable=SC2086  # PEER_ARGS is a list of arguments
      $PRIO $PEER -m "$f" -t "$THREADS" -p "$PP" -n "$TG" -r "$REPS" ${DEPTH:+-d $DEPTH} \
          $PEER_ARGS -o json > "$RESULTS/peer-$t-$k.json"
    fi
    echo "== $t round $k: llmr" >&2
    $PRIO $LLMR bench -m "$f" -t "$THREADS" -p "$PP" -n "$TG" -r "$REPS" ${DEPTH:+-d $DEPTH} \
        --json > "$RESULTS/llmr-$t-$k.json"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RESULTS/load.txt"
cat "$RESULTS/load.txt"
python3 - "$RESULTS" "$ROUNDS" "${PEER:+$PEER_NAME}" $TYPES <<'PY'
import json, statistics, sys
import os
work, rounds, peer, types = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
engines = ("llamacpp", "peer", "llmr") if peer else ("llamacpp", "llmr")
def membw(t):   # GB/s read before each round of type t, when bench_membw ran
    files = [f"{work}/membw-{t}-{k}.txt" for k in range(1, rounds + 1)]
    texts = [open(f).read().strip() for f in files if os.path.exists(f)]
    return [float(x) for x in texts if x]
if peer:
    print(f"| type | test | llama.cpp t/s | {peer} t/s | llmr t/s | llmr / llama.cpp | llmr / {peer} |")
    print("|---|---|---:|---:|---:|---:|---:|")
else:
    print("| type | test | llama.cpp t/s | llmr t/s | llmr / llama.cpp |")
    print("|---|---|---:|---:|---:|")
def label(r):   # llama-bench's test name, with the depth when the engine reports one
    test = f"pp{r['n_prompt']}" if r['n_prompt'] else f"tg{r['n_gen']}"
    return test + (f" @ d{r['n_depth']}" if r.get('n_depth') else "")
def cell(xs):
    m = statistics.mean(xs)
    return f"{m:.2f} ({min(xs):.2f}-{max(xs):.2f})" if len(xs) > 1 else f"{m:.2f}"
streams = []
for t in types:
    runs = {}   # (engine, test) -> per-round averages
    size = int(open(f"{work}/stream-bytes-{t}.txt").read())   # decode's bytes per token
    for k in range(1, rounds + 1):
        for eng in engines:
            for r in json.load(open(f"{work}/{eng}-{t}-{k}.json")):
                runs.setdefault((eng, label(r)), []).append(r['avg_ts'])
    for test in sorted({te for e, te in runs if e == "llmr"}, key=lambda x: (x[:2] != "pp", x)):
        b = runs[("llmr", test)]
        a = runs.get(("llamacpp", test), [])   # b4748 has no -d: "-" at a depth
        c = runs.get(("peer", test), [])
        ratio = lambda xs: f"{statistics.mean(b) / statistics.mean(xs):.2f}x" if xs else "-"
        cellx = lambda xs: cell(xs) if xs else "-"
        if peer:
            print(f"| {t} | {test} | {cellx(a)} | {cellx(c)} | {cell(b)} | {ratio(a)} | {ratio(c)} |")
        else:
            print(f"| {t} | {test} | {cellx(a)} | {cell(b)} | {ratio(a)} |")
        mb = membw(t)
        if test.startswith("tg") and mb and a:   # (the weight bytes alone: no depth)
            streams.append((t, test, size * statistics.mean(a) / 1e9,
                            size * statistics.mean(c) / 1e9 if c else None,
                            size * statistics.mean(b) / 1e9, mb))
if streams:
    print()
    print("Decode against the memory: the weight bytes a token reads (all tensors but the token")
    print("embeddings) x t/s, and what the memory-read benchmark gave just before each round")
    print("(the ceiling of those minutes; it drifts, so a short run can land above it).")
    print()
    if peer:
        print(f"| type | test | llama.cpp GB/s | {peer} GB/s | llmr GB/s | memory read GB/s |")
        print("|---|---|---:|---:|---:|---:|")
    else:
        print("| type | test | llama.cpp GB/s | llmr GB/s | memory read GB/s |")
        print("|---|---|---:|---:|---:|")
    for t, test, ga, gc, gb, mb in streams:
        mid = (f"{gc:.1f} | " if gc is not None else "- | ") if peer else ""
        print(f"| {t} | {test} | {ga:.1f} | {mid}{gb:.1f} | {cell(mb)} |")
PY
