#!/usr/bin/env bash
# A new user's friction, each checked: a usage error is one line pointing at `llmr help CMD`;
# `llmr bench -p 0 -n 0` is a usage error; `llmr quantize` warns how many tensors fell back to
# another type, prints a summary, and records the file type it really wrote; a chat reply cut
# short by a full context says "finish: context", not "length"; scripts/ctest_skips.sh (the
# end of scripts/test.sh) counts the skipped tests and says why, one line each. (The failed
# pull that left a 0-byte cache entry is checked in tests/router/pull.sh, the robust example's
# labels in tests/stream/examples.sh.) Needs only models/stories260K.gguf.
set -u
BIN=${LLMR_BIN:?}
SRC=${LLMR_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "$0")/../check.bash"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
M=$DEFAULT_MODEL
export LLMR_CACHE_DIR="$tmp/cache"

# 1. usage errors: one line, naming the mistake and `llmr help CMD`
for cmd in "run -m x.gguf --bogus hi" "chat --temp -1 -m x" "bench -m x -r 0" "info --bogus" \
           "eval -m x" "tokenize -m x" "serve --port 99999 -m x" "pull" "quantize a b" \
           "ls --bogus" "rm" "route" "template" "synth"; do
    c=${cmd%% *}
    # shellcheck disable=SC2086
    "$BIN" $cmd </dev/null >"$tmp/o" 2>"$tmp/e"; rc=$?
    [ $rc = 2 ] && [ "$(wc -l < "$tmp/e")" = 1 ] && grep -q "^llmr $c: usage error: .*; see 'llmr help $c'$" "$tmp/e"
    st=$?; check "$c: a usage error is one line ($rc: $(head -c 300 "$tmp/e"))" $st
done

# 2. bench with nothing to measure
"$BIN" bench -m "$M" -p 0 -n 0 >"$tmp/o" 2>"$tmp/e"; rc=$?
[ $rc = 2 ] && grep -q 'nothing to measure' "$tmp/e" && [ ! -s "$tmp/o" ]
st=$?; check "bench -p 0 -n 0 is a usage error ($rc: $(cat "$tmp/e"))" $st
"$BIN" bench -m "$M" -p 0,0 -n 0 -r 1 >/dev/null 2>&1; check "bench -p 0,0 -n 0 too" $([ $? = 2 ]; echo $?)
"$BIN" bench -m "$M" -p 0 -n 4 -r 1 -t 1 >/dev/null 2>&1; check "bench -p 0 -n 4 still runs" $?

# 3. quantize: progress on a terminal only, a warning counting fallbacks, a summary, and the
# file type that was written. stories260K's feed-forward rows (172 values) fit no 32-value
# block: its 5 ffn_down tensors fall back.
"$BIN" quantize "$M" "$tmp/q4.gguf" Q4_0 >"$tmp/o" 2>"$tmp/e"; check "quantize Q4_0" $?
grep -q "warning: 5 of 48 tensors fell back to another type" "$tmp/e"; st=$?; check "fallbacks counted ($(cat "$tmp/e"))" $st
grep -q "wrote $tmp/q4.gguf: 48 tensors (11 F32, 5 F16, 31 Q4_0, 1 Q8_0), .* MiB -> .* MiB, file type Q4_0," "$tmp/e"
check "summary names the tensor types and file type" $?
! grep -q $'\r\|\033' "$tmp/e"; check "no progress bar or color on a pipe" $?
"$BIN" info --json "$tmp/q4.gguf" | python3 -c '
import json,sys; o=json.load(sys.stdin)
assert o["file_type"] == "Q4_0" and o["tensor_types"] == {"F32": 11, "F16": 5, "Q4_0": 31, "Q8_0": 1}, o'
check "info agrees with the summary" $?
# Q4_K's 256-value blocks fit no row of this model: every matrix falls back, and the file
# says what it holds (Q8_0), not Q4_K_M.
"$BIN" quantize "$M" "$tmp/q4k.gguf" Q4_K_M >/dev/null 2>"$tmp/e"; check "quantize Q4_K_M" $?
grep -q "warning: 36 of 48 tensors fell back" "$tmp/e" && grep -q "file type Q8_0 (not the asked-for type" "$tmp/e"
st=$?; check "a wholly fallen-back file is named by what it holds ($(tail -1 "$tmp/e"))" $st
[ "$("$BIN" info --json "$tmp/q4k.gguf" | python3 -c 'import json,sys; print(json.load(sys.stdin)["file_type"])')" = Q8_0 ]
check "general.file_type is the truth" $?
"$BIN" quantize "$M" "$tmp/f16.gguf" F16 >/dev/null 2>"$tmp/e"
! grep -q warning "$tmp/e" && grep -q "file type F16," "$tmp/e"; check "F16 fits every row: no warning" $?

# 4. chat: a reply cut short by a full context says so, distinct from -n's length
printf 'Hello\n/stats\n' | "$BIN" chat -m "$M" -c 48 -n -1 --temp 0 -t 1 >"$tmp/o" 2>"$tmp/e"
check "chat with a small context" $?
grep -q "the reply was cut short: the context of 48 tokens is full; finish: context" "$tmp/e" &&
    grep -q "finish: context$" "$tmp/e"; st=$?; check "full context: notice and finish: context ($(cat "$tmp/e"))" $st
printf 'Hello\n/stats\n' | "$BIN" chat -m "$M" -c 256 -n 4 --temp 0 -t 1 >"$tmp/o" 2>"$tmp/e"
grep -q "finish: length$" "$tmp/e" && ! grep -q "cut short" "$tmp/e"; check "-n's end is length" $?

# 5. the skipped tests' summary, on a CTest project of three tests
if command -v cmake >/dev/null && command -v ctest >/dev/null; then
    mkdir -p "$tmp/proj"
    cat > "$tmp/proj/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.16)
project(skips NONE)
enable_testing()
add_test(NAME a/passes COMMAND sh -c "echo fine")
add_test(NAME b/needs_frob COMMAND sh -c "echo 'skipped: no frobnicator here'; exit 77")
add_test(NAME c/needs_moon COMMAND sh -c "echo working; echo 'skipped: the moon is absent'; exit 77")
set_tests_properties(b/needs_frob c/needs_moon PROPERTIES SKIP_RETURN_CODE 77)
CM
    cmake -S "$tmp/proj" -B "$tmp/proj/b" >/dev/null 2>&1
    (cd "$tmp/proj/b" && ctest > "$tmp/ct.out" 2>&1)
    bash "$SRC/scripts/ctest_skips.sh" "$tmp/proj/b" "$tmp/ct.out" > "$tmp/sum"
    head -1 "$tmp/sum" | grep -qx "2 tests skipped" &&
        grep -qx "  b/needs_frob: skipped: no frobnicator here" "$tmp/sum" &&
        grep -qx "  c/needs_moon: skipped: the moon is absent" "$tmp/sum" && ! grep -q a/passes "$tmp/sum"
    st=$?; check "the skipped tests are counted, one line each with why ($(cat "$tmp/sum"))" $st
    grep -q 'ctest_skips.sh' "$SRC/scripts/test.sh"; check "scripts/test.sh prints the summary" $?
fi

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
