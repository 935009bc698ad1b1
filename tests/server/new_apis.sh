#!/usr/bin/env bash
# Anthropic's /v1/messages and OpenAI's /v1/responses with hostile bodies: each is a 400 in
# the API's error shape (Anthropic: {"type": "error", "error": {"type":
# "invalid_request_error", "message"}}; OpenAI: {"error": {"message", "type"}}), never a
# crash; the server answers good requests afterwards. (The real clients are tested in
# tests/npm/anthropic.mjs and responses.mjs.)
set -u
. "$(dirname "$0")/lib.bash"
need_model
command -v curl >/dev/null || { echo "skipped: curl is not installed"; exit 77; }
command -v python3 >/dev/null || { echo "skipped: python3 is not installed"; exit 77; }
start_server
n=0
bad() { # name body
    n=$((n+1))
    local code
    code=$(curl -s -o "$TMP/b$n.json" -w '%{http_code}' -H 'Content-Type: application/json' \
           "$BASE/v1/messages" --data-binary "$2")
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["type"]=="error" and d["error"]["type"]=="invalid_request_error" and d["error"]["message"], d' "$TMP/b$n.json"
    local shape=$?
    check "$1: 400 in Anthropic's shape ($code)" $([ "$code" = 400 ] && [ $shape = 0 ]; echo $?)
}
bad "not an object" '[1,2]'
bad "no max_tokens" '{"messages":[{"role":"user","content":"x"}]}'
bad "messages not an array" '{"max_tokens":4,"messages":"x"}'
bad "a role that is not user or assistant" '{"max_tokens":4,"messages":[{"role":"system","content":"x"}]}'
bad "content of numbers" '{"max_tokens":4,"messages":[{"role":"user","content":[1,2]}]}'
bad "an image block" '{"max_tokens":4,"messages":[{"role":"user","content":[{"type":"image","source":{}}]}]}'
bad "a tool_use without input" '{"max_tokens":4,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"a","name":"f"}]}]}'
bad "a tool_result without its id" '{"max_tokens":4,"messages":[{"role":"user","content":[{"type":"tool_result","content":"r"}]}]}'
bad "system of numbers" '{"max_tokens":4,"system":5,"messages":[{"role":"user","content":"x"}]}'
bad "tools not an array" '{"max_tokens":4,"tools":{},"messages":[{"role":"user","content":"x"}]}'
bad "a tool without a schema object" '{"max_tokens":4,"tools":[{"name":"f","input_schema":3}],"tool_choice":{"type":"any"},"messages":[{"role":"user","content":"x"}]}'
bad "tool_choice of an unknown type" '{"max_tokens":4,"tool_choice":{"type":"maybe"},"messages":[{"role":"user","content":"x"}]}'
bad "max_tokens of zero" '{"max_tokens":0,"messages":[{"role":"user","content":"x"}]}'
bad "thinking of an unknown type" '{"max_tokens":4,"thinking":{"type":"maybe"},"messages":[{"role":"user","content":"x"}]}'
bad "a thinking budget under 1024" '{"max_tokens":2000,"thinking":{"type":"enabled","budget_tokens":100},"messages":[{"role":"user","content":"x"}]}'
bad "a thinking budget past max_tokens" '{"max_tokens":2000,"thinking":{"type":"enabled","budget_tokens":2000},"messages":[{"role":"user","content":"x"}]}'
python3 -c 'import json; print(json.dumps({"max_tokens":4,"tools":[{"name":"f%d"%i,"input_schema":{"type":"object"}} for i in range(10000)],"messages":[{"role":"user","content":"x"}]}))' > "$TMP/many.json"
bad "10 000 tools" "@$TMP/many.json"
curl -s -H 'Content-Type: application/json' "$BASE/v1/messages" \
    -d '{"max_tokens":4,"messages":[{"role":"user","content":"Once"}]}' | grep -q '"type":"message"'
check "a good request is still answered" $?

rbad() { # name body status
    n=$((n+1))
    local code
    code=$(curl -s -o "$TMP/r$n.json" -w '%{http_code}' -H 'Content-Type: application/json' \
           "$BASE/v1/responses" --data-binary "$2")
    python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["error"]; assert e["message"] and e["type"], e' "$TMP/r$n.json"
    local shape=$?
    check "responses, $1: ${3:-400} with an OpenAI error ($code)" \
        $([ "$code" = "${3:-400}" ] && [ $shape = 0 ]; echo $?)
}
rbad "no input" '{"model":"x"}'
rbad "input of a number" '{"input":5}'
rbad "an item that is no object" '{"input":[1]}'
rbad "an unknown item type" '{"input":[{"type":"reasoning"}]}'
rbad "a function_call without call_id" '{"input":[{"type":"function_call","name":"f","arguments":"{}"}]}'
rbad "a function_call_output without output" '{"input":[{"type":"function_call_output","call_id":"c"}]}'
rbad "an image part" '{"input":[{"role":"user","content":[{"type":"input_image","image_url":"x"}]}]}'
rbad "a web_search tool" '{"input":"x","tools":[{"type":"web_search"}]}'
rbad "text.format of an unknown type" '{"input":"x","text":{"format":{"type":"xml"}}}'
rbad "instructions of a number" '{"input":"x","instructions":3}'
rbad "an unknown previous_response_id" '{"input":"x","previous_response_id":"resp_none"}' 404
rbad "max_output_tokens of zero" '{"input":"x","max_output_tokens":0}'
curl -s -H 'Content-Type: application/json' "$BASE/v1/responses" \
    -d '{"input":"Once","max_output_tokens":4}' | grep -q '"object":"response"'
check "responses: a good request is still answered" $?
stop_server; check "clean exit" $?
finish
