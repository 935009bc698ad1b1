#!/usr/bin/env bash
# llmr serve with a model whose weights hold NaN: every API answers with an error that says the
# logits are NaN and names the first layer that made them so (500, or an error event once a
# stream has begun), not "every token is banned"; the server keeps serving. And -t past the
# CPUs this process may use is capped with a warning.
set -u
. "$(dirname "$0")/lib.bash"
need_model
command -v curl >/dev/null || { echo "skipped: curl is not installed"; exit 77; }
command -v python3 >/dev/null || { echo "skipped: python3 is not installed"; exit 77; }

NAN=$TMP/nan.gguf
python3 "$(dirname "$0")/../cli/gguf_fill.py" "$MODEL" "$NAN" blk.2.ffn_up.weight nan
start_server_with -m "$NAN" -t 999
cpus=$(nproc)
cap="is more threads than the $cpus CPUs this process may use; using $cpus"
grep -q "llmr serve: warning: -t 999 $cap" "$SRV_LOG"; check "-t 999 warns and names the cap" $?

post() { # path, body -> $TMP/out; prints the HTTP status
    curl -s -o "$TMP/out" -w '%{http_code}' -H 'Content-Type: application/json' "$BASE$1" -d "$2"
}
names_nan() { # the answer says what and where, and not what it used to
    grep -q "the logits are NaN" "$TMP/out" && grep -q 'layer 2 (blk.2.\*)' "$TMP/out" &&
        ! grep -q "banned" "$TMP/out"
}
code=$(post /v1/completions '{"prompt":"Once upon a time","max_tokens":5}')
names_nan; st=$?
ok=$([ "$code" = 500 ] && [ $st = 0 ]; echo $?)
check "completions: 500 naming NaN and layer 2 (got $code: $(head -c 300 "$TMP/out"))" $ok
code=$(post /v1/chat/completions '{"messages":[{"role":"user","content":"hi"}],"max_tokens":5}')
names_nan; st=$?; check "chat: 500 naming NaN and layer 2 (got $code)" \
    $([ "$code" = 500 ] && [ $st = 0 ]; echo $?)
code=$(post /v1/completions '{"prompt":"Once upon a time","max_tokens":5,"stream":true}')
names_nan; st=$?; check "stream: an error event naming NaN and layer 2 (got $code)" \
    $(grep -q '^data: {"error"' "$TMP/out" && [ $st = 0 ]; echo $?)
code=$(post /api/generate '{"model":"nan","prompt":"Once upon a time","options":{"num_predict":5}}')
names_nan; st=$?; check "ollama generate: the error names NaN and layer 2 (got $code)" $st
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/health")
check "still serving (/health $code)" $([ "$code" = 200 ]; echo $?)
stop_server; check "clean shutdown" $?
finish
