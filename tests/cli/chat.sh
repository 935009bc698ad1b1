#!/usr/bin/env bash
# llmr chat: scripted through a pipe, and driven through a pseudo-terminal.
set -u
BIN=${LLMR_BIN:?}
SHARED=${LLMR_SHARED:-../shared}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$0")/../check.bash"
MODEL=$DEFAULT_MODEL
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

"$BIN" chat >/dev/null 2>&1; check "no model -> 2" $([ $? = 2 ]; echo $?)
"$BIN" chat -m x.gguf --bogus </dev/null >/dev/null 2>&1; check "unknown flag -> 2" $([ $? = 2 ]; echo $?)
"$BIN" chat -m x.gguf --temp -1 </dev/null >/dev/null 2>&1; check "negative temp -> 2" $([ $? = 2 ]; echo $?)
"$BIN" chat -m /nonexistent.gguf </dev/null >/dev/null 2>"$tmp/err"; rc=$?
check "missing model -> 1" $([ $rc = 1 ]; echo $?)
if [ ! -f "$MODEL" ]; then
    echo "skipped: $MODEL is absent (chat needs ../shared)"; echo "$passes passed, $fails failed"
    [ $fails = 0 ] || exit 1; exit 77
fi
chat() { "$BIN" chat -m "$MODEL" --temp 0 -n 24 "$@"; }

# Pipe mode: one reply per line, nothing else on stdout, deterministic at temperature 0.
printf 'Hello there\nWhat did the cat do?\n' | chat >"$tmp/a" 2>"$tmp/a.err"
check "pipe exit 0" $?
[ "$(wc -l < "$tmp/a")" -ge 2 ] && [ -s "$tmp/a" ]; check "two replies" $?
! grep -q '>>>' "$tmp/a"; check "no prompt in pipe mode" $?
! grep -q $'\e\[' "$tmp/a"; check "no colours in pipe mode" $?
printf 'Hello there\nWhat did the cat do?\n' | chat >"$tmp/b" 2>/dev/null
cmp -s "$tmp/a" "$tmp/b"; check "deterministic replies" $?

# The second reply depends on the first turn (history is kept): differs from a fresh chat.
printf 'What did the cat do?\n' | chat >"$tmp/c" 2>/dev/null
[ "$(tail -n1 "$tmp/a")" != "$(cat "$tmp/c")" ] || [ "$(wc -l < "$tmp/a")" -gt 2 ]
check "history influences the reply" $?

# /save writes the conversation; /load restores it; bad files leave the session going.
printf 'Hello\n/save %s\n' "$tmp/conv.json" | chat >/dev/null 2>"$tmp/err"
python3 -c '
import json,sys; d=json.load(open(sys.argv[1])); m=d["messages"]
assert [x["role"] for x in m]==["user","assistant"] and m[0]["content"]=="Hello", m' "$tmp/conv.json"
check "/save writes JSON" $?
printf '/load %s\n/save %s\n' "$tmp/conv.json" "$tmp/conv2.json" | chat >/dev/null 2>"$tmp/err"
cmp -s "$tmp/conv.json" "$tmp/conv2.json"; check "/load then /save round-trips" $?
echo '{"messages": [{"role": "user"}]' > "$tmp/bad.json"
printf '/load %s\n/load %s\nHi\n' "$tmp/bad.json" "$tmp/missing.json" | chat >"$tmp/out" 2>"$tmp/err"
check "bad /load exit 0" $?
grep -q "cannot load $tmp/bad.json" "$tmp/err"; check "malformed file named" $?
grep -q "cannot load $tmp/missing.json" "$tmp/err"; check "missing file named" $?
[ -s "$tmp/out" ]; check "session goes on after bad /load" $?

# Commands: /system, /set with good and bad values, unknown command, /reset, /bye.
printf '/system You are terse.\n/set temp 0.5\n/set top_p 7\n/frob\n/reset\n/bye\nnever read\n' \
    | chat >"$tmp/out" 2>"$tmp/err"
grep -q 'system prompt set' "$tmp/err" && grep -q 'temp = 0.5' "$tmp/err"; check "/system /set" $?
grep -q '/set: .*top' "$tmp/err"; check "/set out of range refused" $?
grep -q 'unknown command /frob' "$tmp/err"; check "unknown command" $?
[ ! -s "$tmp/out" ]; check "/bye stops before the next line" $?

# Over-long line and invalid UTF-8: a clear message, and the session goes on.
{ head -c 2000000 /dev/zero | tr '\0' 'a'; printf '\nHello\n'; printf 'Bad \xff\xfe bytes\n'; } \
    | chat >"$tmp/out" 2>"$tmp/err"
check "hostile input exit 0" $?
grep -q 'too long' "$tmp/err"; check "over-long line reported" $?
grep -q 'invalid UTF-8' "$tmp/err"; check "invalid UTF-8 reported" $?
[ "$(wc -l < "$tmp/out")" -ge 2 ]; check "replies after hostile input" $?

# A conversation longer than the context drops the oldest exchange with a notice.
printf 'One two three four five six seven.\nEight nine ten eleven twelve.\nThirteen fourteen.\nFifteen sixteen.\n' \
    | "$BIN" chat -m "$MODEL" --temp 0 -n 16 -c 64 >"$tmp/out" 2>"$tmp/err"
check "small context exit 0" $?
grep -q 'dropped the oldest' "$tmp/err"; check "overflow notice" $?

# A multi-line """ block is one message.
printf '"""\nline one\nline two\n"""\n/save %s\n' "$tmp/ml.json" | chat >/dev/null 2>&1
python3 -c '
import json,sys; m=json.load(open(sys.argv[1]))["messages"]
assert m[0]["content"]=="line one\nline two", m' "$tmp/ml.json"
check "multi-line block" $?

# The pseudo-terminal: Ctrl-C mid-reply, /stats, history recall, /reset, Ctrl-D.
timeout 300 python3 "$HERE/chat_pty.py" "$BIN" "$MODEL" "$tmp/history"; check "pty session" $?

echo "$passes passed, $fails failed"
[ $fails = 0 ]
