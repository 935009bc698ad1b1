#!/usr/bin/env bash
# template_cli.sh - `llmr template` over every case in ../shared/chat-templates/expected: the
# prompt on stdout byte for byte (exit 0), or exit 1 with jinja2's error on stderr; plus the
# usage errors (exit 2).
set -u
BIN=${LLMR_BIN:?LLMR_BIN is not set}
EXP=${LLMR_SHARED:-../shared}/chat-templates/expected
if [ ! -d "$EXP" ]; then
    echo "skipped: $EXP is absent (tests that need shared data skip without it)"
    exit 77
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
S='{"role": "system", "content": "You are a helpful assistant."}'
U1='{"role": "user", "content": "Hello, how are you?"}'
A1='{"role": "assistant", "content": "I'"'"'m doing great. How can I help you today?"}'
U2='{"role": "user", "content": "I'"'"'d like to show off how chat templating works!"}'
echo "[$U1]" > "$TMP/user.json"
echo "[$U1, $A1, $U2]" > "$TMP/user-assistant-user.json"
echo "{\"messages\": [$S, $U1, $A1, $U2]}" > "$TMP/system-user-assistant-user.json"

pass=0; fail=0
for dir in "$EXP"/*/; do
    dir=${dir%/}
    for c in user user-assistant-user system-user-assistant-user; do
        "$BIN" template --template-file "$dir/template.jinja" --messages "$TMP/$c.json" \
            --add-generation-prompt --bos "<s>" --eos "</s>" --date 2024-07-26 \
            > "$TMP/out" 2> "$TMP/err"
        rc=$?
        if [ -f "$dir/$c" ]; then
            if [ $rc -eq 0 ] && cmp -s "$TMP/out" "$dir/$c" && [ ! -s "$TMP/err" ]; then
                pass=$((pass + 1))
            else
                fail=$((fail + 1)); echo "FAIL $(basename "$dir") $c: exit $rc $(head -c 300 "$TMP/err")"
            fi
        else
            want=$(cat "$dir/$c.error")
            if [ $rc -eq 1 ] && [ ! -s "$TMP/out" ] && grep -qF -- "$want" "$TMP/err"; then
                pass=$((pass + 1))
            else
                fail=$((fail + 1)); echo "FAIL $(basename "$dir") $c: exit $rc, wanted error [$want], got [$(cat "$TMP/err")]"
            fi
        fi
    done
done
echo "expected cases: $pass passed, $fail failed"

# usage errors exit 2; a template error exits 1 with the message on stderr
check_exit() {
    local want=$1; shift
    "$BIN" template "$@" > "$TMP/out" 2> "$TMP/err"
    local rc=$?
    if [ $rc -ne "$want" ]; then
        fail=$((fail + 1)); echo "FAIL: llmr template $* exited $rc, wanted $want"
    fi
}
T=$(ls "$EXP"/*/template.jinja | head -1)
check_exit 2
check_exit 2 --template-file "$T"
check_exit 2 --template-file "$T" --messages "$TMP/user.json" --date 2024/07/26
check_exit 2 --template-file "$T" --messages "$TMP/user.json" --bogus
check_exit 2 --template-file "$T" --messages
check_exit 1 --template-file "$TMP/none.jinja" --messages "$TMP/user.json"
echo '{% if %}' > "$TMP/bad.jinja"
check_exit 1 --template-file "$TMP/bad.jinja" --messages "$TMP/user.json"
grep -q "line 1" "$TMP/err" || { fail=$((fail + 1)); echo "FAIL: syntax error does not name the line"; }
echo 'not json' > "$TMP/bad.json"
check_exit 1 --template-file "$T" --messages "$TMP/bad.json"
printf '{{ raise_exception("nope") }}' > "$TMP/raise.jinja"
check_exit 1 --template-file "$TMP/raise.jinja" --messages "$TMP/user.json"
grep -q "nope" "$TMP/err" || { fail=$((fail + 1)); echo "FAIL: raise_exception message missing"; }
# no trailing newline is added
printf 'x{{ messages[0].content }}' > "$TMP/plain.jinja"
"$BIN" template --template-file "$TMP/plain.jinja" --messages "$TMP/user.json" > "$TMP/out"
printf 'xHello, how are you?' | cmp -s - "$TMP/out" || { fail=$((fail + 1)); echo "FAIL: output not exact"; }

[ $fail -eq 0 ]
