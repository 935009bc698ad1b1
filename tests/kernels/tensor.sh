#!/usr/bin/env bash
# llmr tensor: --sha256 matches llama.cpp's dequantized values for a tensor of every fixture
# type; the plain form shows type, shape and values; exit statuses 1 (bad input), 2 (usage).
set -u
BIN=${LLMR_BIN:?}
SHARED=${LLMR_SHARED:-../shared}
fails=0; passes=0
check() { if [ "$2" = 0 ]; then passes=$((passes+1)); else fails=$((fails+1)); echo "FAIL: $1"; fi; }

"$BIN" tensor >/dev/null 2>&1; check "no args -> 2" $([ $? = 2 ]; echo $?)
"$BIN" tensor a.gguf >/dev/null 2>&1; check "no name -> 2" $([ $? = 2 ]; echo $?)
"$BIN" tensor --bogus a.gguf x >/dev/null 2>&1; check "unknown flag -> 2" $([ $? = 2 ]; echo $?)
"$BIN" tensor /nonexistent.gguf x >/dev/null 2>&1; check "missing file -> 1" $([ $? = 1 ]; echo $?)

SUMS="$SHARED/fixtures/qfix-dequant-checksums.json"
if [ ! -f "$SUMS" ]; then
    echo "skipped: $SUMS is absent (the fixture checks need ../shared)"
    echo "$passes passed, $fails failed"; [ $fails = 0 ] || exit 1; exit 77
fi
F="$SHARED/fixtures/qfix-Q4_K_M.gguf"
"$BIN" tensor "$F" no.such.tensor 2>"${TMPDIR:-/tmp}/llmr_tensor_err.$$" >/dev/null
check "missing tensor -> 1" $([ $? = 1 ]; echo $?)
grep -q 'no.such.tensor' "${TMPDIR:-/tmp}/llmr_tensor_err.$$"; check "missing tensor named" $?
rm -f "${TMPDIR:-/tmp}/llmr_tensor_err.$$"
out=$("$BIN" tensor "$F" blk.1.ffn_down.weight)
echo "$out" | grep -q '^type: Q6_K$'; check "type shown" $?
echo "$out" | grep -q '^shape: \[768, 256\]$'; check "shape shown" $?

# one 2-D tensor per fixture file: blk.0.attn_q.weight (in the file's type) and a norm (F32)
while read -r file tensor want; do
    got=$("$BIN" tensor "$SHARED/fixtures/$file" "$tensor" --sha256)
    check "$file $tensor sha256" $([ "$got" = "$want" ]; echo $?)
done < <(python3 - "$SUMS" <<'PY'
import json, sys
files = json.load(open(sys.argv[1]))["files"]
for f, ts in sorted(files.items()):
    for t in ("blk.0.attn_q.weight", "output.weight", "blk.1.ffn_norm.weight"):
        if t in ts:
            print(f, t, ts[t]["sha256_f32"])
PY
)
echo "$passes passed, $fails failed"
[ $fails = 0 ]
