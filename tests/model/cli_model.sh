#!/usr/bin/env bash
# llmr eval / synth / quantize / bench: the eval JSON contract, tools that make and time
# models, and exit statuses on bad input.
set -u
BIN=${LLMR_BIN:?}
SHARED=${LLMR_SHARED:-../shared}
. "$(dirname "$0")/../check.bash"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# usage errors exit 2
"$BIN" eval >/dev/null 2>&1; check "eval no args -> 2" $([ $? = 2 ]; echo $?)
"$BIN" eval -m x.gguf --ids 1,a >/dev/null 2>&1; check "eval bad ids -> 2" $([ $? = 2 ]; echo $?)
"$BIN" bench >/dev/null 2>&1; check "bench no model -> 2" $([ $? = 2 ]; echo $?)
"$BIN" quantize a b NOPE >/dev/null 2>&1; check "quantize bad type -> 2" $([ $? = 2 ]; echo $?)
"$BIN" synth --shape nope --vocab v -o o >/dev/null 2>&1; check "synth bad shape -> 2" $([ $? = 2 ]; echo $?)
"$BIN" eval -m /nonexistent.gguf --ids 1 2>"$tmp/err" >/dev/null; rc=$?
check "eval missing file -> 1" $([ $rc = 1 ]; echo $?)
grep -q nonexistent.gguf "$tmp/err"; check "missing file named" $?

if [ ! -d "$SHARED/models" ] || ! command -v jq >/dev/null; then
    echo "skipped: $SHARED/models or jq is absent (the model checks need both)"
    echo "$passes passed, $fails failed"
    [ $fails = 0 ] || exit 1
    exit 77
fi
M="$SHARED/models/stories260K.gguf"

# -t past the CPUs this process may use is capped with a warning, by every command that takes
# it (one helper): the result is the one -t 1 gives.
cpus=$(nproc)
cap="is more threads than the $cpus CPUs this process may use; using $cpus"
"$BIN" eval -m "$M" --ids 1,403,407 --json -t 999 > "$tmp/e999.json" 2> "$tmp/err"
check "eval -t 999 exit 0" $?
grep -q "llmr eval: warning: -t 999 $cap" "$tmp/err"; check "eval -t 999 warns" $?
"$BIN" bench -m "$M" -p 8 -n 0 -r 1 -t 1,999 > "$tmp/b999" 2> "$tmp/err"
check "bench -t 1,999 exit 0" $?
grep -q "llmr bench: warning: -t 999 $cap" "$tmp/err"; check "bench -t 999 warns" $?
grep -qE "\| +$cpus \| +pp8 \|" "$tmp/b999"; check "bench runs the capped count" $?
"$BIN" quantize "$M" "$tmp/q999.gguf" Q8_0 -t 999 > /dev/null 2> "$tmp/err"
check "quantize -t 999 exit 0" $?
grep -q "llmr quantize: warning: -t 999 $cap" "$tmp/err"; check "quantize -t 999 warns" $?

# eval: {"n_vocab": N, "logits": [[...]]}, one row or one per id with --all
"$BIN" eval -m "$M" --ids 1,403,407 --json -t 2 > "$tmp/e1.json"; check "eval exit 0" $?
jq -e '.n_vocab == 512 and (.logits | length) == 1 and (.logits[0] | length) == 512' \
    "$tmp/e1.json" >/dev/null; check "eval last row" $?
"$BIN" eval -m "$M" --ids 1,403,407 --all --json > "$tmp/e3.json"; check "eval --all exit 0" $?
jq -e '(.logits | length) == 3 and ([.logits[] | length] | all(. == 512))' "$tmp/e3.json" \
    >/dev/null; check "eval --all rows" $?
# the last row of --all is the single-row answer
jq -e --slurpfile one "$tmp/e1.json" \
    '[.logits[2], $one[0].logits[0]] | transpose | map((.[0] - .[1]) | fabs) | max < 1e-4' \
    "$tmp/e3.json" >/dev/null; check "eval --all last == eval" $?
# "Once upon a time" -> the golden first step's argmax (432)
"$BIN" eval -m "$M" --ids 1,403,407,261,378 --json | \
    jq -e '.logits[0] | to_entries | max_by(.value) | .key == 432' >/dev/null
check "eval argmax" $?
"$BIN" eval -m "$M" --ids 1,999 2>"$tmp/err" >/dev/null; rc=$?
check "eval id out of vocab -> 1" $([ $rc = 1 ]; echo $?)
grep -q '999' "$tmp/err"; check "bad id named" $?
"$BIN" eval -m "$M" -c 2 --ids 1,2,3 2>"$tmp/err" >/dev/null; rc=$?
check "eval context overflow -> 1" $([ $rc = 1 ]; echo $?)
grep -q 'context' "$tmp/err"; check "overflow says context" $?

# synth + quantize + eval + bench on a small real shape
V="$SHARED/vocab/ggml-vocab-llama-spm.gguf"
"$BIN" synth --shape stories15m --type F16 --vocab "$V" -o "$tmp/s.gguf" 2>/dev/null
check "synth exit 0" $?
"$BIN" info --json "$tmp/s.gguf" | jq -e '.n_vocab == 32000' >/dev/null; check "synth vocab" $?
"$BIN" quantize "$tmp/s.gguf" "$tmp/q.gguf" Q8_0; check "quantize exit 0" $?
"$BIN" eval -m "$tmp/q.gguf" --ids 1,2,3 --json | jq -e '.n_vocab == 32000' >/dev/null
check "eval quantized" $?
"$BIN" quantize "$tmp/q.gguf" "$tmp/q2.gguf" Q4_0 2>"$tmp/err"; rc=$?
check "requantize refused" $([ $rc = 1 ]; echo $?)
"$BIN" bench -m "$tmp/q.gguf" -p 8 -n 4 -r 2 -t 1 --json > "$tmp/b.json"; check "bench exit 0" $?
jq -e 'length == 2 and (.[0] | has("model_type") and has("avg_ts") and has("stddev_ts") and
       has("samples_ts") and has("model_n_params") and .n_prompt == 8 and .n_threads == 1)
       and .[1].n_gen == 4' "$tmp/b.json" >/dev/null; check "bench json keys" $?
jq -e '.[0].model_type | endswith(" Q8_0")' "$tmp/b.json" >/dev/null; check "bench file type" $?
# a file without general.file_type (stories260K, all F32) gets its tensors' type, as llama.cpp
"$BIN" bench -m "$M" -p 8 -n 0 -r 1 -t 1 --json | jq -e '.[0].model_type | endswith(" F32")' \
    >/dev/null; check "bench guessed file type" $?
"$BIN" info --json "$M" | jq -e '.file_type == "F32"' \
    >/dev/null; check "info guessed file type" $?
"$BIN" bench -m "$tmp/q.gguf" -p 8 -n 0 -r 1 -t 1 | grep -q '| *pp8 *|'; check "bench table" $?
# -d: every test runs with N tokens already in the cache (llama-bench's n_depth)
"$BIN" bench -m "$tmp/q.gguf" -p 8 -n 4 -d 0,16 -r 1 -t 1 --json > "$tmp/bd.json"
check "bench -d exit 0" $?
[ -s "$tmp/bd.json" ] && jq -e 'length == 4 and ([.[].n_depth] == [0, 0, 16, 16]) and .[3].n_gen == 4' "$tmp/bd.json" \
    >/dev/null; check "bench -d json n_depth" $?
"$BIN" bench -m "$tmp/q.gguf" -p 0 -n 4 -d 16 -r 1 -t 1 | grep -q '| *tg4 @ d16 *|'
check "bench -d table label" $?
"$BIN" bench -m "$M" -p 8 -d x >/dev/null 2>&1; check "bench -d bad -> 2" $([ $? = 2 ]; echo $?)

# quantize follows llama.cpp: Q4_0 bytes identical to llama-quantize's (same sha256 of the
# dequantized values), and the Q4_K_M mix picks the same type per tensor as the fixture
F="$SHARED/fixtures"
if [ -f "$F/qfix-F32.gguf" ]; then
    "$BIN" quantize "$F/qfix-F32.gguf" "$tmp/q40.gguf" Q4_0 --pure -t 1; check "quantize Q4_0" $?
    for t in token_embd.weight blk.0.attn_q.weight blk.1.ffn_down.weight; do
        [ "$("$BIN" tensor "$tmp/q40.gguf" $t --sha256)" = \
          "$("$BIN" tensor "$F/qfix-Q4_0.gguf" $t --sha256)" ]; check "Q4_0 $t as llama.cpp" $?
    done
    "$BIN" quantize "$F/qfix-F32.gguf" "$tmp/qkm.gguf" Q4_K_M -t 1; check "quantize Q4_K_M" $?
    for t in output.weight token_embd.weight blk.0.attn_v.weight blk.1.attn_v.weight \
             blk.0.ffn_down.weight blk.1.ffn_down.weight blk.1.ffn_up.weight; do
        [ "$("$BIN" tensor "$tmp/qkm.gguf" $t | grep '^type:')" = \
          "$("$BIN" tensor "$F/qfix-Q4_K_M.gguf" $t | grep '^type:')" ]
        check "Q4_K_M $t type as llama.cpp" $?
    done
fi

echo "$passes passed, $fails failed"
[ $fails = 0 ]
