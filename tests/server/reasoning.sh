#!/usr/bin/env bash
# Reasoning models' <think> blocks (issue 15): a backend whose reply is "<think>I reason.
# </think>\n\nThe answer." in chunks that cut both tags, served through llmr serve --config.
# OpenAI chat completions put the reasoning in message.reasoning_content (delta.reasoning_
# content when streamed) and the answer in content; "reasoning_format": "none" keeps the text
# as written; ollama's "think": true puts it in message.thinking, and without it the text
# stays whole. A backend's model that does not think is untouched.
set -u
. "$(dirname "$0")/lib.bash"
command -v curl >/dev/null || { echo "skipped: curl is not installed"; exit 77; }
command -v python3 >/dev/null || { echo "skipped: python3 is not installed"; exit 77; }
SRC=${LLMR_SRC:-$(dirname "$0")/../..}
python3 "$SRC/tests/router/oai_mock.py" --port-file "$TMP/mock.port" --name M &
MOCK=$!
trap 'kill $MOCK 2>/dev/null; cleanup' EXIT
for _ in $(seq 100); do [ -s "$TMP/mock.port" ] && break; sleep 0.1; done
[ -s "$TMP/mock.port" ] || { echo "skipped: the mock backend did not start"; exit 77; }
cat > "$TMP/cfg.json" <<JSON
{"backends": {"m": {"url": "http://127.0.0.1:$(cat "$TMP/mock.port")"}},
 "models": [{"id": "thinker", "backend": "m", "remote_model": "think", "api": "chat"},
            {"id": "plain", "backend": "m", "remote_model": "ok", "api": "chat"}]}
JSON
start_server_with --config "$TMP/cfg.json"
chat() { # body -> $TMP/out
    curl -s -o "$TMP/out" -H 'Content-Type: application/json' "$BASE$1" -d "$2"
}
py() { python3 -c "import json,sys; d=json.load(open('$TMP/out')); $1"; }

chat /v1/chat/completions '{"model":"thinker","messages":[{"role":"user","content":"q"}]}'
py 'm=d["choices"][0]["message"]; assert m["reasoning_content"]=="I reason." and m["content"]=="The answer.", m'
check "whole reply: reasoning_content apart from content" $?

chat /v1/chat/completions '{"model":"thinker","stream":true,"messages":[{"role":"user","content":"q"}]}'
python3 - "$TMP/out" <<'PY'
import json, sys
r = c = ""
for line in open(sys.argv[1]):
    if not line.startswith("data: {"): continue
    d = json.loads(line[6:])["choices"][0]["delta"]
    r += d.get("reasoning_content", ""); c += d.get("content", "") or ""
assert r == "I reason." and c == "The answer.", (r, c)
PY
check "streamed: delta.reasoning_content, then content" $?

chat /v1/chat/completions '{"model":"thinker","reasoning_format":"none","messages":[{"role":"user","content":"q"}]}'
py 'm=d["choices"][0]["message"]; assert m["content"]=="<think>I reason.</think>\n\nThe answer." and "reasoning_content" not in m, m'
check "reasoning_format none: the text as written" $?

code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' "$BASE/v1/chat/completions" \
       -d '{"model":"thinker","reasoning_format":"loud","messages":[{"role":"user","content":"q"}]}')
check "an unknown reasoning_format is a 400 ($code)" $([ "$code" = 400 ]; echo $?)

chat /api/chat '{"model":"thinker","think":true,"stream":false,"messages":[{"role":"user","content":"q"}]}'
py 'm=d["message"]; assert m["thinking"]=="I reason." and m["content"]=="The answer.", m'
check "ollama think: message.thinking" $?

chat /api/chat '{"model":"thinker","stream":false,"messages":[{"role":"user","content":"q"}]}'
py 'm=d["message"]; assert m["content"].startswith("<think>") and "thinking" not in m, m'
check "ollama without think: the text whole" $?

# Anthropic's extended thinking, through the official SDK when it is installed
NPM_DIR=$SRC/tests/npm
if command -v node >/dev/null && [ -d "$NPM_DIR/node_modules/@anthropic-ai/sdk" ]; then
    timeout 50 node "$NPM_DIR/anthropic_thinking.mjs" "$BASE" thinker > "$TMP/ant.out" 2>&1
    rc=$?; [ $rc = 0 ] || cat "$TMP/ant.out"
    check "anthropic thinking: a thinking block, thinking_delta when streamed" $rc
else
    echo "note: node or @anthropic-ai/sdk is missing: the SDK's thinking check is not run"
fi
chat /v1/messages '{"model":"thinker","max_tokens":2048,"thinking":{"type":"enabled","budget_tokens":1024},"messages":[{"role":"user","content":"q"}]}'
py 'c=d["content"]; assert [b["type"] for b in c]==["thinking","text"] and c[0]["thinking"]=="I reason." and c[1]["text"]=="The answer.", c'
check "anthropic thinking (curl): thinking block, then text" $?

chat /v1/chat/completions '{"model":"plain","messages":[{"role":"user","content":"a b"}]}'
py 'm=d["choices"][0]["message"]; assert m["content"]=="[M] a b" and "reasoning_content" not in m, m'
check "a model that does not think is untouched" $?
stop_server; check "clean exit" $?
finish
