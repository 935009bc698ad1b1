#!/usr/bin/env bash
# tools_cli.sh - every template in ../shared/chat-templates/llama.cpp with conversations that
# carry tools, tool calls (string and object arguments) and tool results, against what
# Python's jinja2 renders under HF's settings (tests/template/tools/expected, made with
# jinja2 3.1.6). Where jinja2 raises, the .error file holds its message.
set -u
BIN=${LLMR_BIN:?LLMR_BIN is not set}
SRC=${LLMR_SRC:?LLMR_SRC is not set}
TPL=${LLMR_SHARED:-../shared}/chat-templates/llama.cpp
if [ ! -d "$TPL" ]; then
    echo "skipped: $TPL is absent (tests that need shared data skip without it)"
    exit 77
fi
DATA=$SRC/tests/template/tools
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0; fail=0
for t in "$TPL"/*.jinja; do
    base=$(basename "$t" .jinja)
    for conv in "$DATA"/*.json; do
        c=$(basename "$conv" .json)
        want=$DATA/expected/$base.$c
        [ -f "$want" ] || [ -f "$want.error" ] || continue
        "$BIN" template --template-file "$t" --messages "$conv" --add-generation-prompt \
            --bos "<s>" --eos "</s>" --date 2024-07-26 > "$TMP/out" 2> "$TMP/err"
        rc=$?
        if [ -f "$want" ]; then
            if [ $rc -eq 0 ] && cmp -s "$TMP/out" "$want"; then pass=$((pass + 1)); else
                fail=$((fail + 1)); echo "FAIL $base $c: exit $rc $(head -c 300 "$TMP/err")"
                diff <(cat "$want") <(cat "$TMP/out") | head -10
            fi
        else
            if [ $rc -eq 1 ] && grep -qF -- "$(cat "$want.error")" "$TMP/err"; then pass=$((pass + 1)); else
                fail=$((fail + 1)); echo "FAIL $base $c: wanted error [$(cat "$want.error")], exit $rc [$(cat "$TMP/err")]"
            fi
        fi
    done
done
echo "tool conversations: $pass passed, $fail failed"
[ $pass -gt 0 ] && [ $fail -eq 0 ]
