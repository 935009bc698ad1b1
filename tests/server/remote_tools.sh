#!/usr/bin/env bash
# Tool calls through a remote OpenAI-compatible backend (llmr serve --config): the request's
# tools, tool_choice, parallel_tool_calls and a history holding calls reach the backend in
# OpenAI's form, and the calls it streams back (delta.tool_calls: index, id, name, then the
# arguments in fragments) come out of every API as that API writes calls - OpenAI chat
# whole and streamed, ollama's /api/chat, Anthropic's tool_use blocks. The backend is
# tests/router/oai_mock.py's "tools" mode.
set -u
. "$(dirname "$0")/lib.bash"
command -v curl >/dev/null || { echo "skipped: curl is not installed"; exit 77; }
command -v python3 >/dev/null || { echo "skipped: python3 is not installed"; exit 77; }
SRC=${LLMR_SRC:-$(dirname "$0")/../..}
python3 "$SRC/tests/router/oai_mock.py" --port-file "$TMP/mock.port" --name M \
    --log "$TMP/mock.log" &
MOCK=$!
trap 'kill $MOCK 2>/dev/null; cleanup' EXIT
for _ in $(seq 100); do [ -s "$TMP/mock.port" ] && break; sleep 0.1; done
[ -s "$TMP/mock.port" ] || { echo "skipped: the mock backend did not start"; exit 77; }
cat > "$TMP/cfg.json" <<JSON
{"backends": {"m": {"url": "http://127.0.0.1:$(cat "$TMP/mock.port")"}},
 "models": [{"id": "far", "backend": "m", "remote_model": "tools", "api": "chat"},
            {"id": "many", "backend": "m", "remote_model": "tools-many", "api": "chat"},
            {"id": "bytes", "backend": "m", "remote_model": "tools-bytes", "api": "chat"},
            {"id": "index", "backend": "m", "remote_model": "tools-index", "api": "chat"},
            {"id": "notobj", "backend": "m", "remote_model": "tools-notobj", "api": "chat"},
            {"id": "big", "backend": "m", "remote_model": "tools-big", "api": "chat"}]}
JSON
start_server_with --config "$TMP/cfg.json"
J='Content-Type: application/json'
TOOLS='"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},
                {"type":"function","function":{"name":"get_time","parameters":{"type":"object"}}}]'
Q='"messages":[{"role":"user","content":"Weather in Paris?"}]'
# the last request the backend got, as JSON
last_sent() { tail -1 "$TMP/mock.log" | sed 's/.* body=//' > "$TMP/sent.json"; }

# --- OpenAI chat, whole ---
curl -s "$BASE/v1/chat/completions" -H "$J" -d "{\"model\":\"far\",$Q,$TOOLS}" > "$TMP/a.json"
last_sent
python3 - "$TMP" <<'PY'
import json, sys
d = json.load(open(sys.argv[1] + "/a.json"))
c = d["choices"][0]
assert c["finish_reason"] == "tool_calls", d
m = c["message"]
assert m["content"] is None and len(m["tool_calls"]) == 1, m
call = m["tool_calls"][0]
assert call["id"] == "call_m0" and call["type"] == "function", call
assert call["function"]["name"] == "get_weather", call
assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}, call
sent = json.load(open(sys.argv[1] + "/sent.json"))
assert [t["function"]["name"] for t in sent["tools"]] == ["get_weather", "get_time"], sent
assert sent["tool_choice"] == "auto" and sent["parallel_tool_calls"] is False, sent
PY
check "chat: the tools go to the backend, its call comes back (finish tool_calls)" $?

# --- OpenAI chat, streamed: OpenAI's tool_calls deltas ---
curl -sN "$BASE/v1/chat/completions" -H "$J" -d "{\"model\":\"far\",\"stream\":true,$Q,$TOOLS}" \
    > "$TMP/b.sse"
python3 - "$TMP/b.sse" <<'PY'
import json, sys
events = [e for e in open(sys.argv[1]).read().split("\n\n") if e]
assert events[-1] == "data: [DONE]", events[-1]
calls, finish = {}, None
for e in events[:-1]:
    c = json.loads(e[6:])["choices"][0]
    for t in c["delta"].get("tool_calls", []):
        k = calls.setdefault(t["index"], {"id": None, "name": "", "args": ""})
        k["id"] = t.get("id", k["id"])
        f = t.get("function", {})
        k["name"] += f.get("name", "")
        k["args"] += f.get("arguments", "")
    finish = c["finish_reason"] or finish
assert finish == "tool_calls", finish
assert list(calls) == [0] and calls[0]["id"] == "call_m0" and calls[0]["name"] == "get_weather", calls
assert json.loads(calls[0]["args"]) == {"city": "Paris"}, calls
PY
check "chat stream: tool_calls deltas, finish tool_calls" $?

# --- a named tool_choice and parallel calls reach the backend in OpenAI's form ---
curl -s "$BASE/v1/chat/completions" -H "$J" -d "{\"model\":\"far\",$Q,$TOOLS,
    \"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_time\"}}}" > "$TMP/c.json"
last_sent; cp "$TMP/sent.json" "$TMP/sent_c.json"
curl -s "$BASE/v1/chat/completions" -H "$J" -d "{\"model\":\"far\",$Q,$TOOLS,
    \"tool_choice\":\"required\",\"parallel_tool_calls\":true}" > "$TMP/d.json"
last_sent
python3 - "$TMP" <<'PY'
import json, sys
t = sys.argv[1]
c = json.load(open(t + "/c.json"))["choices"][0]["message"]["tool_calls"]
assert [x["function"]["name"] for x in c] == ["get_time"], c
assert json.load(open(t + "/sent_c.json"))["tool_choice"] == {"type": "function", "function": {"name": "get_time"}}
d = json.load(open(t + "/d.json"))["choices"][0]["message"]["tool_calls"]
assert [x["function"]["name"] for x in d] == ["get_weather", "get_time"], d
assert [x["id"] for x in d] == ["call_m0", "call_m1"], d
s = json.load(open(t + "/sent.json"))
assert s["tool_choice"] == "required" and s["parallel_tool_calls"] is True, s
PY
check "named tool_choice and parallel_tool_calls: sent as OpenAI's, two calls back" $?

# --- a history with a call and its result: sent whole (arguments as JSON text) ---
curl -s "$BASE/v1/chat/completions" -H "$J" -d "{\"model\":\"far\",$TOOLS,\"messages\":[
    {\"role\":\"user\",\"content\":\"Weather in Paris?\"},
    {\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_m0\",\"type\":\"function\",
      \"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},
    {\"role\":\"tool\",\"tool_call_id\":\"call_m0\",\"content\":\"21 degrees\"}]}" > "$TMP/e.json"
last_sent
python3 - "$TMP" <<'PY'
import json, sys
t = sys.argv[1]
d = json.load(open(t + "/e.json"))
c = d["choices"][0]
assert c["message"]["content"] == "[M] got call_m0: 21 degrees" and c["finish_reason"] == "stop", d
assert "tool_calls" not in c["message"], c
s = json.load(open(t + "/sent.json"))
a = s["messages"][1]
assert a["role"] == "assistant" and a["tool_calls"][0]["id"] == "call_m0", s
assert json.loads(a["tool_calls"][0]["function"]["arguments"]) == {"city": "Paris"}, a
assert s["messages"][2] == {"role": "tool", "tool_call_id": "call_m0", "content": "21 degrees"}, s
PY
check "history: calls and tool results reach the backend; its text answer is content" $?

# --- ollama's /api/chat and Anthropic's Messages: the same calls in their shapes ---
curl -s "$BASE/api/chat" -H "$J" -d "{\"model\":\"far\",\"stream\":false,$Q,$TOOLS}" > "$TMP/o.json"
curl -s "$BASE/v1/messages" -H "$J" -d '{"model":"far","max_tokens":64,
    "messages":[{"role":"user","content":"Weather in Paris?"}],
    "tools":[{"name":"get_weather","input_schema":{"type":"object"}}]}' > "$TMP/an.json"
python3 - "$TMP" <<'PY'
import json, sys
t = sys.argv[1]
o = json.load(open(t + "/o.json"))
tc = o["message"]["tool_calls"]
assert tc == [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}], o
a = json.load(open(t + "/an.json"))
assert a["stop_reason"] == "tool_use", a
use = [b for b in a["content"] if b["type"] == "tool_use"]
assert len(use) == 1 and use[0]["name"] == "get_weather" and use[0]["input"] == {"city": "Paris"}, a
PY
check "ollama tool_calls and Anthropic tool_use from the backend's call" $?

# --- a hostile backend: the limits hold, the answer is an error naming them, nothing leaks ---
curl -s "$BASE/v1/chat/completions" -H "$J" -d "{\"model\":\"many\",$Q,$TOOLS}" > "$TMP/h1.json"
curl -s "$BASE/v1/chat/completions" -H "$J" -d "{\"model\":\"bytes\",$Q,$TOOLS}" > "$TMP/h2.json"
python3 - "$TMP" <<'PY'
import json, sys
t = sys.argv[1]
c = json.load(open(t + "/h1.json"))["choices"][0]["message"]["tool_calls"]
assert len(c) == 128, len(c)
assert [x["function"]["name"] for x in c] == [f"f{i}" for i in range(128)], c[:3]
assert [x["id"] for x in c] == [f"call_{i}" for i in range(128)], c[:3]
assert all(json.loads(x["function"]["arguments"]) == {"i": i} for i, x in enumerate(c))
c = json.load(open(t + "/h2.json"))["choices"][0]["message"]["tool_calls"]
want = "".join("é€x😀"[i % 4] for i in range(20000))
assert len(c) == 1 and json.loads(c[0]["function"]["arguments"]) == {"s": want}, len(c)
PY
check "128 calls in reverse order, without ids; 20000 one-character argument fragments" $?
for m in index notobj big; do
    code=$(curl -s -o "$TMP/h_$m.json" -w '%{http_code}' "$BASE/v1/chat/completions" -H "$J" \
        -d "{\"model\":\"$m\",$Q,$TOOLS}")
    case $m in
    index|notobj) want="an index in 0..127" ;;
    big) want="exceed 1048576 bytes" ;;
    esac
    [ "$code" -ge 500 ] && grep -q "$want" "$TMP/h_$m.json"; ok=$?
    [ $ok = 0 ] || head -c 300 "$TMP/h_$m.json"
    check "hostile backend ($m): HTTP $code, an error naming the limit" $ok
done
curl -sN "$BASE/v1/chat/completions" -H "$J" -d "{\"model\":\"index\",\"stream\":true,$Q,$TOOLS}" \
    > "$TMP/h_s.sse"
grep -q "an index in 0..127" "$TMP/h_s.sse" && ! grep -q '"tool_calls"' "$TMP/h_s.sse"; ok=$?
[ $ok = 0 ] || head -c 300 "$TMP/h_s.sse"
check "hostile backend, streamed: an error event, no partial calls" $ok
curl -s "$BASE/v1/chat/completions" -H "$J" -d "{\"model\":\"far\",$Q,$TOOLS}" > "$TMP/after.json"
grep -q '"get_weather"' "$TMP/after.json"
check "the server still answers after the hostile replies" $?

stop_server; check "clean exit" $?
finish
