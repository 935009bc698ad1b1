#!/usr/bin/env bash
# llmr run: the continuation only, streamed; sampling flags; stop sequences; constraints;
# --chat; --verbose; and exit statuses (2 for bad options, 1 for bad input) before generation.
set -u
BIN=${LLMR_BIN:?}
SHARED=${LLMR_SHARED:-../shared}
. "$(dirname "$0")/../check.bash"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
expect_rc() { # name, rc, needle, command...
    local name=$1 want=$2 needle=$3; shift 3
    "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
    check "$name -> $want (got $rc)" $([ $rc = "$want" ]; echo $?)
    grep -q -- "$needle" "$tmp/err"; check "$name names '$needle'" $?
    [ ! -s "$tmp/out" ]; check "$name prints no text" $?
}

expect_rc "no args" 2 "no prompt" "$BIN" run
expect_rc "no prompt" 2 "no prompt" "$BIN" run -m x.gguf
expect_rc "unknown flag" 2 "unknown option --bogus" "$BIN" run -m x.gguf --bogus 1 hi
expect_rc "negative temp" 2 "temperature" "$BIN" run -m x.gguf --temp -1 hi
expect_rc "top-p > 1" 2 "top_p" "$BIN" run -m x.gguf --top-p 1.5 hi
expect_rc "absurd -n" 2 "-n" "$BIN" run -m x.gguf -n 99999999999 hi
expect_rc "empty stop" 2 "stop sequence 1 is empty" "$BIN" run -m x.gguf --stop "" hi
expect_rc "missing value" 2 "needs a value" "$BIN" run -m x.gguf hi --temp
expect_rc "two prompts" 2 "unexpected argument" "$BIN" run -m x.gguf hi there
expect_rc "missing model" 1 "nosuch.gguf" "$BIN" run -m "$tmp/nosuch.gguf" hi
expect_rc "missing grammar file" 1 "nosuch.gbnf" "$BIN" run -m x.gguf --grammar-file "$tmp/nosuch.gbnf" hi
echo 'root ::= ("yes" | "no"' > "$tmp/bad.gbnf"
expect_rc "invalid grammar" 1 "expected ')'" "$BIN" run -m x.gguf --grammar-file "$tmp/bad.gbnf" hi
expect_rc "invalid schema" 1 "json-schema" "$BIN" run -m x.gguf --json-schema '{"type": 5}' hi

STORIES=$DEFAULT_MODEL
# constraints are checked with random weights too when ../shared has them
RANDOM_LLAMA="$SHARED/models/llama-2-tiny-random.gguf"
[ -f "$RANDOM_LLAMA" ] || RANDOM_LLAMA=$STORIES
if [ ! -f "$STORIES" ]; then
    echo "skipped: $STORIES is absent (the generation checks need it)"
    echo "$passes passed, $fails failed"
    [ $fails = 0 ] || exit 1
    exit 77
fi
R=("$BIN" run -t 1)

# The greedy continuation of the reference prompt (stories260K.golden.json), and only that.
"${R[@]}" -m "$STORIES" -n 30 --temp 0 "Once upon a time" > "$tmp/g"; check "greedy exit 0" $?
grep -q "^, there was a little girl named Lily. She loved to play" "$tmp/g"; check "greedy text" $?
# A stop sequence ends the text before it.
"${R[@]}" -m "$STORIES" -n 30 --temp 0 --stop " named" --stop "zzz" "Once upon a time" > "$tmp/s"
[ "$(cat "$tmp/s")" = ", there was a little girl" ]; check "stop sequence" $?
# Seeds: the same seed, the same text.
"${R[@]}" -m "$STORIES" -n 40 --seed 11 --temp 1 --top-k 0 --top-p 0.9 --min-p 0.01 \
    --typical 0.95 --repeat-penalty 1.1 --presence-penalty 0.2 --frequency-penalty 0.1 \
    "Once upon a time" > "$tmp/a"; check "sampling flags exit 0" $?
"${R[@]}" -m "$STORIES" -n 40 --seed 11 --temp 1 --top-k 0 --top-p 0.9 --min-p 0.01 \
    --typical 0.95 --repeat-penalty 1.1 --presence-penalty 0.2 --frequency-penalty 0.1 \
    "Once upon a time" > "$tmp/b"
cmp -s "$tmp/a" "$tmp/b"; check "same seed, same text" $?
[ -s "$tmp/a" ]; check "sampled text not empty" $?
# Flags may follow the prompt; "--" lets a prompt start with '-'.
"${R[@]}" -m "$STORIES" "Once upon a time" -n 30 --temp 0 > "$tmp/g2"
cmp -s "$tmp/g" "$tmp/g2"; check "flags after the prompt" $?
"${R[@]}" -m "$STORIES" -n 3 --temp 0 -- "-5 is" > "$tmp/d"; check "prompt after --" $?
# A prompt longer than the context: exit 1 before any text.
expect_rc "prompt too long" 1 "context" "${R[@]}" -m "$STORIES" -c 8 \
    "Once upon a time there was a little girl named Lily who loved to play"
# --verbose: timings on stderr, the same text on stdout.
"${R[@]}" -m "$STORIES" -n 30 --temp 0 --verbose "Once upon a time" > "$tmp/v" 2> "$tmp/verr"
cmp -s "$tmp/v" "$tmp/g"; check "--verbose leaves stdout alone" $?
grep -q "prompt: 5 tokens" "$tmp/verr" && grep -q "generation: 30 tokens" "$tmp/verr" \
    && grep -q "t/s" "$tmp/verr" && grep -q "time to first token" "$tmp/verr"
check "--verbose timings" $?
# Grammar and schema constraints, with random weights too.
echo 'root ::= "yes" | "no"' > "$tmp/yn.gbnf"
"${R[@]}" -m "$RANDOM_LLAMA" --seed 1 --grammar-file "$tmp/yn.gbnf" "Answer:" > "$tmp/yn"
grep -qxE 'yes|no' "$tmp/yn"; st=$?; check "grammar output ($(cat "$tmp/yn"))" $st
schema='{"type":"object","properties":{"n":{"type":"integer"},"ok":{"type":"boolean"},"s":{"type":"string","maxLength":6}},"required":["n","ok","s"]}'
echo "$schema" > "$tmp/schema.json"
for src in "$schema" "$tmp/schema.json"; do
    "${R[@]}" -m "$RANDOM_LLAMA" --seed 2 -n 300 --json-schema "$src" "JSON:" > "$tmp/j"
    check "schema exit 0" $?
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert isinstance(d["n"], int) and isinstance(d["ok"], bool) and isinstance(d["s"], str) and len(d["s"]) <= 6' "$tmp/j"
    st=$?; check "schema output parses ($(head -c 80 "$tmp/j"))" $st
done
# --chat wraps the prompt in the model's template (stories260K has none: the plain fallback).
"${R[@]}" -m "$STORIES" -n 10 --temp 0 --chat "Tell me a story" > "$tmp/c"; check "--chat exit 0" $?
[ -s "$tmp/c" ]; check "--chat text" $?

# -n 0 generates nothing (the prompt is still evaluated: one too long for the context is an
# error); -1 generates until the context is full; other negative counts are usage errors.
"${R[@]}" -m "$STORIES" -n 0 --temp 0 "Once upon a time" > "$tmp/n0" 2> "$tmp/n0err"
check "-n 0 exit 0" $?
[ ! -s "$tmp/n0" ] && [ ! -s "$tmp/n0err" ]; check "-n 0 prints nothing" $?
expect_rc "-n 0, prompt too long" 1 "context" "${R[@]}" -m "$STORIES" -n 0 -c 8 \
    "Once upon a time there was a little girl named Lily who loved to play"
# (40 positions: 5 of prompt, 35 generated tokens evaluated, and the 36th sampled from the last)
"${R[@]}" -m "$STORIES" -n -1 -c 40 --temp 0 --verbose "Once upon a time" \
    > "$tmp/nfull" 2> "$tmp/nfullerr"
check "-n -1 exit 0" $?
grep -q "generation: 36 tokens" "$tmp/nfullerr" && grep -q "finish: length" "$tmp/nfullerr"
st=$?; check "-n -1 fills the context ($(grep generation: "$tmp/nfullerr"))" $st
expect_rc "-n -2" 2 "is not a token count in -1" "${R[@]}" -m "$STORIES" -n -2 hi
expect_rc "chat -n 0" 2 "-n 0 would generate no reply" "$BIN" chat -m "$STORIES" -n 0
# -t past the CPUs this process may use: capped, with a warning naming the cap.
cpus=$(nproc)
"$BIN" run -t 999 -m "$STORIES" -n 30 --temp 0 "Once upon a time" > "$tmp/t" 2> "$tmp/terr"
check "-t 999 exit 0" $?
grep -q "warning: -t 999 is more threads than the $cpus CPUs this process may use; using $cpus" \
    "$tmp/terr"; st=$?; check "-t 999 warns and names the cap ($(cat "$tmp/terr"))" $st
cmp -s "$tmp/t" "$tmp/g"; check "-t 999 gives the same text" $?
# NaN weights: an error naming the NaN logits and the first layer that made them.
python3 "$(dirname "$0")/../cli/gguf_fill.py" "$STORIES" "$tmp/nan.gguf" blk.3.ffn_gate.weight nan
expect_rc "NaN weights" 1 "the logits are NaN" "${R[@]}" -m "$tmp/nan.gguf" -n 5 "Once upon a time"
grep -q "layer 3 (blk.3.\*) is the first" "$tmp/err"; check "NaN weights name layer 3" $?
grep -q "banned" "$tmp/err"; check "NaN weights: not 'every token is banned'" $((!$?))

echo "$passes passed, $fails failed"
[ $fails = 0 ]
