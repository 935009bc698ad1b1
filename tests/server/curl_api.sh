#!/usr/bin/env bash
# llmr serve through curl: OpenAI SSE chunk shapes (role delta, content deltas, finish chunk,
# usage chunk, [DONE]), non-streamed replies, ollama NDJSON, the REST routes, and errors in the
# API's own shape with the right status codes.
set -u
. "$(dirname "$0")/lib.bash"
need_model
command -v curl >/dev/null || { echo "skipped: curl is not installed"; exit 77; }
command -v python3 >/dev/null || { echo "skipped: python3 is not installed"; exit 77; }
# The models folder: the default model and an F16 copy made here (/api/models/load switches
# between them), so that the test needs nothing from ../shared.
mkdir -p "$TMP/models"
cp "$MODEL" "$TMP/models/stories260K.gguf"
"$BIN" quantize "$MODEL" "$TMP/models/stories260K-f16.gguf" F16 >/dev/null 2>&1
check "an F16 copy to switch to" $?
MODEL=$TMP/models/stories260K.gguf
start_server --parallel 2

# --- OpenAI chat, streamed, with include_usage ---
curl -sN "$BASE/v1/chat/completions" -H 'Content-Type: application/json' -d '{
  "model":"stories260K","messages":[{"role":"user","content":"Tell me a story"}],
  "max_tokens":12,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}' \
  > "$TMP/chat.sse"
python3 - "$TMP/chat.sse" <<'PY'
import json, sys
raw = open(sys.argv[1]).read()
assert raw.endswith("data: [DONE]\n\n"), raw[-200:]
events = [e for e in raw.split("\n\n") if e]
assert all(e.startswith("data: ") for e in events), events
chunks = [json.loads(e[6:]) for e in events[:-1]]
first, *mid, fin, usage = chunks
for c in chunks:
    assert c["object"] == "chat.completion.chunk" and c["id"] == first["id"], c
    assert c["model"] == "stories260K" and isinstance(c["created"], int), c
    assert "usage" in c, c                     # null on every chunk but the last
assert first["choices"][0]["delta"] == {"role": "assistant", "content": ""}, first
assert first["choices"][0]["finish_reason"] is None and first["usage"] is None
assert mid and all(set(c["choices"][0]["delta"]) == {"content"} for c in mid), mid
assert all(c["choices"][0]["finish_reason"] is None for c in mid)
assert fin["choices"][0]["delta"] == {} and fin["choices"][0]["finish_reason"] == "length", fin
assert usage["choices"] == [], usage
u = usage["usage"]
assert u["completion_tokens"] == 12 and u["prompt_tokens"] > 0, u
assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"], u
PY
check "chat stream: role delta, content deltas, finish chunk, usage chunk, [DONE]" $?

# --- OpenAI chat, streamed, without include_usage: no usage key, no usage chunk ---
curl -H 'Content-Type: application/json' -sN "$BASE/v1/chat/completions" -d '{"messages":[{"role":"user","content":"Hi"}],
  "max_tokens":4,"stream":true}' > "$TMP/chat2.sse"
python3 - "$TMP/chat2.sse" <<'PY'
import json, sys
events = [e for e in open(sys.argv[1]).read().split("\n\n") if e]
assert events[-1] == "data: [DONE]"
chunks = [json.loads(e[6:]) for e in events[:-1]]
assert all("usage" not in c for c in chunks), chunks
assert chunks[-1]["choices"][0]["finish_reason"] in ("stop", "length")
PY
check "chat stream without include_usage has no usage" $?

# --- completions, streamed and whole, greedy: the same text, the known continuation ---
curl -H 'Content-Type: application/json' -sN "$BASE/v1/completions" -d '{"prompt":"Once upon a time","max_tokens":20,
  "temperature":0,"stream":true}' > "$TMP/compl.sse"
curl -H 'Content-Type: application/json' -s "$BASE/v1/completions" -d '{"prompt":"Once upon a time","max_tokens":20,
  "temperature":0}' > "$TMP/compl.json"
python3 - "$TMP/compl.sse" "$TMP/compl.json" <<'PY'
import json, sys
events = [e for e in open(sys.argv[1]).read().split("\n\n") if e]
assert events[-1] == "data: [DONE]"
chunks = [json.loads(e[6:]) for e in events[:-1]]
assert all(c["object"] == "text_completion" for c in chunks)
text = "".join(c["choices"][0]["text"] for c in chunks)
whole = json.load(open(sys.argv[2]))
assert whole["object"] == "text_completion", whole
assert whole["choices"][0]["text"] == text, (text, whole)
assert whole["choices"][0]["finish_reason"] == "length"
assert whole["usage"]["completion_tokens"] == 20, whole["usage"]
# stories260K's greedy continuation (../shared/models/stories260K.golden.json)
assert text.startswith(", there was a little girl named Lily."), text
PY
check "completions: streamed == whole, greedy golden text" $?

# --- stop sequences end the text before them ---
curl -H 'Content-Type: application/json' -s "$BASE/v1/completions" -d '{"prompt":"Once upon a time","max_tokens":40,
  "temperature":0,"stop":["Lily"]}' > "$TMP/stop.json"
python3 -c '
import json,sys; r=json.load(open(sys.argv[1])); c=r["choices"][0]
assert c["text"] == ", there was a little girl named ", c
assert c["finish_reason"] == "stop", c' "$TMP/stop.json"
check "stop sequence cuts the text, finish_reason stop" $?

# --- response_format json_object: the output parses as a JSON object ---
curl -H 'Content-Type: application/json' -s "$BASE/v1/chat/completions" -d '{"messages":[{"role":"user","content":"json"}],
  "max_tokens":200,"seed":7,"response_format":{"type":"json_schema","json_schema":{"name":"x",
  "schema":{"type":"object","properties":{"name":{"type":"string","maxLength":8},
  "age":{"type":"integer"}},"required":["name","age"]}}}}' > "$TMP/schema.json"
python3 -c '
import json,sys; r=json.load(open(sys.argv[1])); c=r["choices"][0]
assert c["finish_reason"] == "stop", c
o = json.loads(c["message"]["content"])
assert isinstance(o["name"], str) and isinstance(o["age"], int), o' "$TMP/schema.json"
check "response_format json_schema through the grammar" $?

# --- ollama /api/generate (NDJSON) and /api/chat (stream false) ---
curl -H 'Content-Type: application/json' -sN "$BASE/api/generate" -d '{"model":"stories260K","prompt":"Once upon a time",
  "raw":true,"options":{"num_predict":10,"temperature":0}}' -D "$TMP/gen.h" > "$TMP/gen.ndjson"
grep -qi '^content-type: application/x-ndjson' "$TMP/gen.h"; check "ollama content type" $?
python3 - "$TMP/gen.ndjson" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
objs = [json.loads(l) for l in lines]
assert all(o["done"] is False and "response" in o for o in objs[:-1]), objs
last = objs[-1]
assert last["done"] is True and last["done_reason"] == "length", last
for k in ("total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration",
          "eval_count", "eval_duration", "created_at", "model"):
    assert k in last, k
assert last["eval_count"] == 10 and last["prompt_eval_count"] == 5, last
assert "".join(o["response"] for o in objs).startswith(", there was a little girl")
PY
check "ollama generate NDJSON: pieces then done line with counts and durations" $?
curl -H 'Content-Type: application/json' -s "$BASE/api/chat" -d '{"model":"stories260K:latest","stream":false,
  "messages":[{"role":"user","content":"Hi"}],"options":{"num_predict":3}}' > "$TMP/ochat.json"
python3 -c '
import json,sys; o=json.load(open(sys.argv[1]))
assert o["done"] is True and o["message"]["role"] == "assistant", o
assert o["eval_count"] == 3, o' "$TMP/ochat.json"
check "ollama chat stream:false" $?
curl -s "$BASE/api/tags" | python3 -c '
import json,sys; o=json.load(sys.stdin); m=o["models"][0]
assert m["name"] == "stories260K:latest" and m["details"]["format"] == "gguf", o'
check "ollama /api/tags" $?
curl -s "$BASE/api/ps" | python3 -c 'import json,sys; assert json.load(sys.stdin)["models"]'
check "ollama /api/ps" $?
curl -s "$BASE/api/version" | python3 -c 'import json,sys; assert json.load(sys.stdin)["version"]'
check "ollama /api/version" $?

# --- REST routes of the seed, health, metrics, the page ---
curl -s "$BASE/api/health" | python3 -c '
import json,sys; o=json.load(sys.stdin); assert o["status"] == "ok" and o["slots"] == 2, o'
check "/api/health" $?
curl -s "$BASE/api/models" | python3 -c '
import json,sys; o=json.load(sys.stdin)
assert any(m["name"] == "stories260K" and m["loaded"] for m in o["models"]), o'
check "/api/models lists the models folder" $?
code=$(curl -s -H "Content-Type: application/json" -o "$TMP/load.json" -w '%{http_code}' "$BASE/api/models/load" \
       -d '{"model":"stories260K-f16"}')
check "/api/models/load switches models ($code)" $([ "$code" = 200 ]; echo $?)
curl -s "$BASE/v1/models" | grep -q '"id":"stories260K-f16"'; check "the new model is served" $?
curl -H 'Content-Type: application/json' -s "$BASE/api/models/load" -d '{"model":"stories260K"}' >/dev/null
code=$(curl -H 'Content-Type: application/json' -s -o /dev/null -w '%{http_code}' "$BASE/api/models/load" -d '{"model":"../etc/passwd"}')
check "/api/models/load refuses paths ($code)" $([ "$code" = 400 ]; echo $?)
curl -s "$BASE/health" | grep -q '"status":"ok"'; check "/health ok" $?
curl -s "$BASE/metrics" > "$TMP/metrics"
for m in llmr_requests_total llmr_generated_tokens_total llmr_prompt_tokens_total \
         llmr_queue_depth llmr_slots_active llmr_decode_tokens_per_second \
         'llmr_ttft_seconds_bucket{le="+Inf"}'; do
    grep -q "^$m" "$TMP/metrics"; check "/metrics has $m" $?
done
curl -s "$BASE/" | grep -q '<title>llmr chat</title>'; check "the page at /" $?

# --- errors: status codes and OpenAI's error object ---
# err NAME STATUS CODE CURL-ARGS...: the status is checked now; the bodies (an OpenAI error
# object, with `code` when CODE is not '-') are checked by one python3 run below.
n_err=0
err() {
    local name=$1 want=$2 wcode=$3; shift 3
    n_err=$((n_err+1))
    local got
    got=$(curl -s -H "Content-Type: application/json" -o "$TMP/err$n_err.json" -w '%{http_code}' "$@")
    check "$name: status $got, expected $want" $([ "$got" = "$want" ]; echo $?)
    printf '%s\t%s\t%s\n' "$TMP/err$n_err.json" "$wcode" "$name" >> "$TMP/errs.tsv"
}
err "malformed JSON -> 400" 400 - "$BASE/v1/chat/completions" -d '{"messages": ['
err "wrong type -> 400" 400 - "$BASE/v1/chat/completions" -d '{"messages":"hi"}'
err "missing messages -> 400" 400 - "$BASE/v1/chat/completions" -d '{"model":"stories260K"}'
err "temperature out of range -> 400" 400 - "$BASE/v1/completions" -d '{"prompt":"a","temperature":9}'
err "n = 2 -> 400" 400 - "$BASE/v1/completions" -d '{"prompt":"a","n":2}'
err "unknown model -> 404" 404 model_not_found "$BASE/v1/chat/completions" \
    -d '{"model":"gpt-9","messages":[{"role":"user","content":"hi"}]}'
printf '{"prompt":"\xff\xfe"}' > "$TMP/bad.json"
err "invalid UTF-8 -> 400" 400 - "$BASE/v1/completions" --data-binary @"$TMP/bad.json"
python3 -c 'print("{\"prompt\":\"" + "x " * 600 + "\"}")' > "$TMP/long.json"
err "prompt past the context -> 400" 400 context_length_exceeded "$BASE/v1/completions" \
    --data-binary @"$TMP/long.json"
head -c 2000000 /dev/zero | tr '\0' 'a' > "$TMP/huge"
err "oversized body -> 413" 413 - "$BASE/v1/completions" --data-binary @"$TMP/huge"
err "max_tokens past the limit -> 400" 400 - "$BASE/v1/completions" -d '{"prompt":"a","max_tokens":999999}'
python3 -c 'import json; print(json.dumps({"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f%d" % i,"parameters":{"type":"object"}}} for i in range(10000)]}))' > "$TMP/tools.json"
err "10 000 tools -> 400" 400 - "$BASE/v1/chat/completions" --data-binary @"$TMP/tools.json"
err "a tool that is no object -> 400" 400 - "$BASE/v1/chat/completions" \
    -d '{"messages":[{"role":"user","content":"hi"}],"tools":[5],"tool_choice":"required"}'
err "tool_choice without tools -> 400" 400 - "$BASE/v1/chat/completions" \
    -d '{"messages":[{"role":"user","content":"hi"}],"tool_choice":"required"}'
err "top_logprobs past 20 -> 400 (logprobs.sh has the rest)" 400 - "$BASE/v1/chat/completions" \
    -d '{"messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":21}'
err "GET on a POST route -> 405" 405 - "$BASE/v1/chat/completions"
err "unknown route -> 404" 404 - "$BASE/v2/nothing"
python3 - "$TMP/errs.tsv" <<'PY'
import json, sys
bad = 0
for line in open(sys.argv[1]):
    path, code, name = line.rstrip("\n").split("\t")
    try:
        e = json.load(open(path))["error"]
        assert isinstance(e["message"], str) and e["message"] and e["type"], e
        assert code == "-" or e["code"] == code, e
    except Exception as x:
        print(f"FAIL: {name}: error body: {x!r}")
        bad += 1
sys.exit(bad)
PY
check "every error body is an OpenAI error object" $?
# an unknown ollama route answers in ollama's shape ({"error": "..."}), which its clients read
code=$(curl -s -o "$TMP/o404.json" -w '%{http_code}' "$BASE/api/nothing")
python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["error"]; assert isinstance(e, str) and "/api/nothing" in e' \
    "$TMP/o404.json"; shape=$?
check "unknown /api/ route: 404 in ollama's error shape ($code)" $([ "$code" = 404 ] && [ $shape = 0 ]; echo $?)
code=$(curl -H 'Content-Type: application/json' -s -o "$TMP/oerr.json" -w '%{http_code}' "$BASE/api/chat" -d '{"messages":5}')
python3 -c 'import json,sys; assert isinstance(json.load(open(sys.argv[1]))["error"], str)' \
    "$TMP/oerr.json"
check "ollama errors are {\"error\": \"...\"} with 400 ($code)" $([ "$code" = 400 ]; echo $?)
# a server that answered all of that still serves
curl -H 'Content-Type: application/json' -s "$BASE/v1/completions" -d '{"prompt":"Once","max_tokens":3}' | grep -q '"finish_reason"'
check "still serving after bad requests" $?

# --- CORS is off unless --cors ---
curl -s -D - -o /dev/null "$BASE/v1/models" -H 'Origin: http://evil.example' | \
    grep -qi '^access-control-allow-origin'
check "no CORS headers by default" $([ $? != 0 ]; echo $?)

stop_server; check "clean exit on SIGTERM" $?

# --- API key and CORS ---
start_server --api-key s3cret --cors http://app.example
code=$(curl -s -o "$TMP/e401.json" -w '%{http_code}' "$BASE/v1/models")
check "no key -> 401 ($code)" $([ "$code" = 401 ]; echo $?)
grep -q '"invalid_api_key"' "$TMP/e401.json"; check "401 names invalid_api_key" $?
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong' "$BASE/v1/models")
check "wrong key -> 401" $([ "$code" = 401 ]; echo $?)
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer s3cret' "$BASE/v1/models")
check "right key -> 200" $([ "$code" = 200 ]; echo $?)
curl -s -o /dev/null -w '%{http_code}' "$BASE/health" | grep -q 200; check "/health needs no key" $?
curl -s -D - -o /dev/null -X OPTIONS "$BASE/v1/chat/completions" -H 'Origin: http://app.example' \
    -H 'Access-Control-Request-Method: POST' | grep -qi '^access-control-allow-origin: http://app.example'
check "--cors answers preflight with the origin" $?
finish
