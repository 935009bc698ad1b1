#!/usr/bin/env bash
# Log-probabilities on the wire: OpenAI chat (logprobs, top_logprobs; streamed and not),
# OpenAI completions (logprobs N), ollama's /api/generate and /api/chat, the Responses API;
# what the numbers must satisfy (each <= 0, alternatives sorted and their mass <= 1, the
# chosen token first at temperature 0, the tokens' bytes concatenating to the text, streamed
# equal to whole), out-of-range values answered 400 naming the field, and a router's remote
# model (which computes none) passed over for a local one.
set -u
. "$(dirname "$0")/lib.bash"
need_model
command -v curl >/dev/null || { echo "skipped: curl is not installed"; exit 77; }
command -v python3 >/dev/null || { echo "skipped: python3 is not installed"; exit 77; }
start_server --parallel 2
J='Content-Type: application/json'
CHAT='"messages":[{"role":"user","content":"Tell me a story"}],"max_tokens":24,"temperature":0'

# The checks every list of OpenAI-shaped entries must pass, shared by the cases below.
cat > "$TMP/lp.py" <<'PY'
import json, math, sys

def check_entries(entries, text, n_top, greedy=True):
    assert entries, "no entries"
    got = b""
    for e in entries:
        assert set(e) == {"token", "logprob", "bytes", "top_logprobs"}, e
        assert e["logprob"] <= 0, e
        b = bytes(e["bytes"])
        got += b
        assert e["token"] == b.decode("utf-8", "replace"), e
        top = e["top_logprobs"]
        assert len(top) == n_top, (len(top), n_top)
        lps = [t["logprob"] for t in top]
        assert lps == sorted(lps, reverse=True), lps
        assert all(x <= 0 for x in lps), lps
        assert sum(math.exp(x) for x in lps) <= 1 + 1e-6, lps
        if n_top:
            # the model's own distribution: nothing chosen is more likely than the first
            assert e["logprob"] <= lps[0] + 1e-6, e
            if greedy:
                assert top[0]["bytes"] == e["bytes"] and abs(lps[0] - e["logprob"]) < 1e-6, e
    assert got.decode("utf-8") == text, (got, text)
    return entries
PY

# --- chat, not streamed ---
curl -s "$BASE/v1/chat/completions" -H "$J" \
    -d "{$CHAT,\"logprobs\":true,\"top_logprobs\":5}" > "$TMP/chat.json"
python3 - "$TMP" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1]); from lp import check_entries
r = json.load(open(sys.argv[1] + "/chat.json"))
c = r["choices"][0]
assert c["logprobs"]["refusal"] is None, c
check_entries(c["logprobs"]["content"], c["message"]["content"], 5)
assert len(c["logprobs"]["content"]) <= r["usage"]["completion_tokens"]
PY
check "chat: logprobs <= 0, top 5 sorted, chosen first, bytes are the text" $?

# --- chat, streamed: each chunk carries its own tokens; the whole equals the unstreamed ---
curl -sN "$BASE/v1/chat/completions" -H "$J" \
    -d "{$CHAT,\"logprobs\":true,\"top_logprobs\":5,\"stream\":true}" > "$TMP/chat.sse"
python3 - "$TMP" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1]); from lp import check_entries
events = [e for e in open(sys.argv[1] + "/chat.sse").read().split("\n\n") if e]
assert events[-1] == "data: [DONE]"
chunks = [json.loads(e[6:]) for e in events[:-1]]
text, entries = "", []
for ch in chunks:
    c = ch["choices"][0]
    piece = c["delta"].get("content")
    if piece:                      # a content chunk has its tokens
        check_entries(c["logprobs"]["content"], piece, 5)
        entries += c["logprobs"]["content"]
        text += piece
    else:
        assert c["logprobs"] is None, c
whole = json.load(open(sys.argv[1] + "/chat.json"))["choices"][0]
assert text == whole["message"]["content"], (text, whole)
w = whole["logprobs"]["content"]
assert [e["bytes"] for e in entries] == [e["bytes"] for e in w]
assert all(abs(a["logprob"] - b["logprob"]) < 1e-4 for a, b in zip(entries, w))
PY
check "chat stream: per-chunk logprobs, the same as the whole reply" $?

# --- chat without logprobs: null, as before; logprobs without top: empty lists ---
curl -s "$BASE/v1/chat/completions" -H "$J" -d "{$CHAT}" > "$TMP/plain.json"
curl -s "$BASE/v1/chat/completions" -H "$J" -d "{$CHAT,\"logprobs\":true}" > "$TMP/top0.json"
python3 - "$TMP" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1]); from lp import check_entries
assert json.load(open(sys.argv[1] + "/plain.json"))["choices"][0]["logprobs"] is None
c = json.load(open(sys.argv[1] + "/top0.json"))["choices"][0]
check_entries(c["logprobs"]["content"], c["message"]["content"], 0)
PY
check "chat: no logprobs asked is null; logprobs alone has no alternatives" $?

# --- sampling: the values stay the model's, the chosen token need not be the first ---
curl -s "$BASE/v1/chat/completions" -H "$J" -d '{"messages":[{"role":"user","content":"Tell me a story"}],
    "max_tokens":40,"temperature":2,"seed":3,"logprobs":true,"top_logprobs":20}' > "$TMP/hot.json"
python3 - "$TMP" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1]); from lp import check_entries
c = json.load(open(sys.argv[1] + "/hot.json"))["choices"][0]
es = check_entries(c["logprobs"]["content"], c["message"]["content"], 20, greedy=False)
# at temperature 2 some token is not the model's favourite, and still has its own value
assert any(e["bytes"] != e["top_logprobs"][0]["bytes"] for e in es), "every token greedy"
PY
check "chat at temperature 2: the model's values, not the sampler's" $?

# --- completions: logprobs N, the legacy shape, streamed and not ---
curl -s "$BASE/v1/completions" -H "$J" \
    -d '{"prompt":"Once upon a time","max_tokens":16,"temperature":0,"logprobs":3}' > "$TMP/cmpl.json"
curl -sN "$BASE/v1/completions" -H "$J" \
    -d '{"prompt":"Once upon a time","max_tokens":16,"temperature":0,"logprobs":3,"stream":true}' \
    > "$TMP/cmpl.sse"
python3 - "$TMP" <<'PY'
import json, math, sys
def legacy(lp, text, start=0):
    toks, lps, tops, offs = lp["tokens"], lp["token_logprobs"], lp["top_logprobs"], lp["text_offset"]
    assert len(toks) == len(lps) == len(tops) == len(offs) > 0, lp
    assert "".join(toks) == text, (toks, text)
    at = start
    for t, l, top, off in zip(toks, lps, tops, offs):
        assert l <= 0 and off == at, (l, off, at)
        at += len(t)
        assert 1 <= len(top) <= 3 and sum(math.exp(v) for v in top.values()) <= 1 + 1e-6, top
        assert max(top.values()) == top[t] and abs(top[t] - l) < 1e-6, (t, top)  # greedy
    return at
c = json.load(open(sys.argv[1] + "/cmpl.json"))["choices"][0]
legacy(c["logprobs"], c["text"])
events = [e for e in open(sys.argv[1] + "/cmpl.sse").read().split("\n\n") if e][:-1]
at, text = 0, ""
for e in events:
    ch = json.loads(e[6:])["choices"][0]
    if ch["text"]:
        at = legacy(ch["logprobs"], ch["text"], at)
        text += ch["text"]
assert text == c["text"]
PY
check "completions: tokens, token_logprobs, top_logprobs, text_offset (streamed too)" $?

# --- ollama: /api/generate streamed, /api/chat whole ---
curl -s "$BASE/api/generate" -H "$J" -d '{"model":"stories260K","prompt":"Once upon a time",
    "logprobs":true,"top_logprobs":2,"options":{"num_predict":12,"temperature":0}}' > "$TMP/gen.ndjson"
curl -s "$BASE/api/chat" -H "$J" -d '{"model":"stories260K","stream":false,"logprobs":true,
    "messages":[{"role":"user","content":"Tell me a story"}],"options":{"num_predict":12,"temperature":0}}' \
    > "$TMP/ochat.json"
python3 - "$TMP" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1]); from lp import check_entries
lines = [json.loads(l) for l in open(sys.argv[1] + "/gen.ndjson")]
for l in lines[:-1]:
    check_entries(l["logprobs"], l["response"], 2)
assert lines[-1]["done"] and lines[-1]["response"] == ""
r = json.load(open(sys.argv[1] + "/ochat.json"))
check_entries(r["logprobs"], r["message"]["content"], 0)
PY
check "ollama: logprobs on each generate line and on a whole chat" $?

# --- the Responses API: top_logprobs, and include ---
curl -s "$BASE/v1/responses" -H "$J" -d '{"input":"Tell me a story","max_output_tokens":12,
    "temperature":0,"include":["message.output_text.logprobs"],"top_logprobs":2}' > "$TMP/resp.json"
python3 - "$TMP" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1]); from lp import check_entries
part = json.load(open(sys.argv[1] + "/resp.json"))["output"][0]["content"][0]
check_entries(part["logprobs"], part["text"], 2)
PY
check "responses: output_text.logprobs" $?

# --- out of range: 400 naming the field ---
bad() { # name, route, body, param (OpenAI) or "ollama:WORD"
    local code
    code=$(curl -s -o "$TMP/bad.json" -w '%{http_code}' "$BASE$2" -H "$J" -d "$3")
    python3 - "$TMP/bad.json" "$4" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))["error"]
want = sys.argv[2]
if want.startswith("ollama:"):
    assert isinstance(e, str) and want[7:] in e, e
else:
    assert e["param"] == want and e["type"] == "invalid_request_error", e
PY
    local shape=$?
    check "$1: 400 naming $4 (got $code)" $([ "$code" = 400 ] && [ $shape = 0 ]; echo $?)
}
M='"messages":[{"role":"user","content":"hi"}]'
bad "top_logprobs 21" /v1/chat/completions "{$M,\"logprobs\":true,\"top_logprobs\":21}" top_logprobs
bad "top_logprobs -1" /v1/chat/completions "{$M,\"logprobs\":true,\"top_logprobs\":-1}" top_logprobs
bad "top_logprobs 2.5" /v1/chat/completions "{$M,\"logprobs\":true,\"top_logprobs\":2.5}" top_logprobs
bad "top_logprobs without logprobs" /v1/chat/completions "{$M,\"top_logprobs\":2}" top_logprobs
bad "logprobs not a boolean" /v1/chat/completions "{$M,\"logprobs\":\"yes\"}" logprobs
bad "completions logprobs 21" /v1/completions '{"prompt":"a","logprobs":21}' logprobs
bad "completions logprobs true" /v1/completions '{"prompt":"a","logprobs":true}' logprobs
bad "responses top_logprobs 99" /v1/responses '{"input":"a","top_logprobs":99}' top_logprobs
bad "ollama top_logprobs 50" /api/generate '{"prompt":"a","logprobs":true,"top_logprobs":50}' \
    ollama:top_logprobs
stop_server; check "clean exit" $?

# --- a router: a remote model computes none, so a request for them goes to the local one ---
MODEL_ABS=$(cd "$(dirname "$MODEL")" && pwd)/$(basename "$MODEL")
cat > "$TMP/router.json" <<EOF
{"strategy": "quality-first", "backends": {"far": {"url": "http://127.0.0.1:9"}},
 "models": [{"id": "remote", "backend": "far", "remote_model": "x", "quality": 0.9},
            {"id": "local", "source": "$MODEL_ABS", "quality": 0.1}]}
EOF
start_server_with --config "$TMP/router.json"
curl -s -D "$TMP/h" "$BASE/v1/chat/completions" -H "$J" -d "{$CHAT,\"logprobs\":true}" > "$TMP/r.json"
python3 - "$TMP" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1]); from lp import check_entries
r = json.load(open(sys.argv[1] + "/r.json"))
assert r["model"] == "local", r
check_entries(r["choices"][0]["logprobs"]["content"], r["choices"][0]["message"]["content"], 0)
PY
check "router: logprobs go to the local model, not the better-ranked remote" $?
# named, it fails over to the next model (as any model that cannot answer does), never
# answering without them
curl -s "$BASE/v1/chat/completions" -H "$J" -d "{$CHAT,\"model\":\"remote\",\"logprobs\":true}" \
    > "$TMP/r2.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["model"] == "local" and r["choices"][0]["logprobs"]["content"], r' \
    "$TMP/r2.json"
check "router: logprobs asked of the remote model by name come from the local one" $?
stop_server; check "router: clean exit" $?
finish
