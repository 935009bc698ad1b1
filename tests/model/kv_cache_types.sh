#!/usr/bin/env bash
# Quantized KV caches (--cache-type-k / -v q8_0, q4_0): the next-token distributions stay
# close to the F16 cache's. Two random-weight models made by `llmr synth` (qwen3-tiny: GQA,
# head_dim 64; gemma2-tiny: soft-capping and a sliding window), 200 positions each, every
# position's logits compared: mean KL(f16 || type) within bounds about 10x what was measured
# (q8_0 2.3e-6, q4_0 6e-4), and q8_0 well below q4_0. A model whose head dimension is not a
# multiple of 32 (stories260K: 8) is refused a quantized cache with a message.
set -u
BIN=${LLMR_BIN:?}
SHARED=${LLMR_SHARED:-../shared}
. "$(dirname "$0")/../check.bash"
if [ ! -f "$SHARED/models/stories260K.gguf" ] || ! command -v python3 >/dev/null; then
    echo "skipped: $SHARED/models/stories260K.gguf or python3 is absent"
    exit 77
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
kl() {   # mean KL(a || b) over the positions of two `llmr eval --all --json` outputs
    python3 - "$1" "$2" <<'PY'
import json, math, sys
def lsm(x):
    m = max(x); z = m + math.log(sum(math.exp(v - m) for v in x)); return [v - z for v in x]
a = json.load(open(sys.argv[1]))["logits"]; b = json.load(open(sys.argv[2]))["logits"]
assert len(a) == len(b) > 0
print(sum(sum(math.exp(u) * (u - v) for u, v in zip(lsm(x), lsm(y))) for x, y in zip(a, b)) / len(a))
PY
}
below() { python3 -c 'import sys; sys.exit(not float(sys.argv[1]) < float(sys.argv[2]))' "$1" "$2"; }
ids=$(python3 -c 'import random; random.seed(5); print(",".join(str(random.randrange(3, 512)) for _ in range(200)))')
for shape in qwen3-tiny gemma2-tiny; do
    m=$tmp/$shape.gguf
    "$BIN" synth --shape "$shape" --type F32 --seed 1 -t 1 --vocab "$SHARED/models/stories260K.gguf" \
        -o "$m" 2>/dev/null; check "synth $shape" $?
    for kv in f16 q8_0 q4_0; do
        "$BIN" eval -m "$m" --ids "$ids" --all --json -c 256 --kv "$kv" -t 2 > "$tmp/$kv.json"
        check "$shape eval --kv $kv" $?
    done
    k8=$(kl "$tmp/f16.json" "$tmp/q8_0.json"); k4=$(kl "$tmp/f16.json" "$tmp/q4_0.json")
    below "$k8" 2e-5; check "$shape q8_0 cache: mean KL $k8 from f16 < 2e-5" $?
    echo "$shape: mean KL from the f16 cache: q8_0 $k8, q4_0 $k4"
    below "$k4" 5e-3; check "$shape q4_0 cache: mean KL $k4 from f16 < 5e-3" $?
    below "$k8" "$(python3 -c "print($k4 / 10)")"; check "$shape q8_0 ten times closer than q4_0" $?
    # the K and V caches apart: q8_0 keys with f16 values sit between f16 and q8_0 for both
    "$BIN" eval -m "$m" --ids "$ids" --all --json -c 256 -ctk q8_0 -ctv f16 -t 2 > "$tmp/k8.json"
    check "$shape eval -ctk q8_0 -ctv f16" $?
    kk=$(kl "$tmp/f16.json" "$tmp/k8.json")
    below 0 "$kk" && below "$kk" 2e-5; check "$shape q8_0 keys alone: mean KL $kk in (0, 2e-5)" $?
done
# run and bench take the flags too; a bad type is a usage error
"$BIN" run -m "$tmp/qwen3-tiny.gguf" -n 4 --temp 0 -ctk q4_0 -ctv q8_0 "once" >/dev/null 2>&1
check "run -ctk q4_0 -ctv q8_0" $?
"$BIN" bench -m "$tmp/qwen3-tiny.gguf" -p 8 -n 2 -r 1 -t 1 -ctk q8_0 --json > "$tmp/b.json" 2>/dev/null &&
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(not (r[0]["type_k"] == "q8_0" and r[0]["type_v"] == "q8_0"))' "$tmp/b.json"
check "bench -ctk q8_0: type_k and type_v in the JSON" $?
"$BIN" eval -m "$tmp/qwen3-tiny.gguf" --ids 1,2 --kv q5_0 >/dev/null 2>&1
check "eval --kv q5_0 -> 2" $([ $? = 2 ]; echo $?)
"$BIN" eval -m "$SHARED/models/stories260K.gguf" --ids 1,2 --kv q8_0 >/dev/null 2>"$tmp/err"
check "head_dim 8 with a q8_0 cache -> 1" $([ $? = 1 ]; echo $?)
grep -q "multiple of 32" "$tmp/err"; check "the refusal says why" $?
echo "$passes passed, $fails failed"
[ $fails = 0 ]
