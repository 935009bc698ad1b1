#!/usr/bin/env bash
# JSON schemas through llmr serve and llmr run --json-schema: bounds, pattern and format are
# honoured (the output validates whatever the model says), and a schema outside the supported
# subset is refused with a 400 (OpenAI and ollama shapes) or exit status 1, naming the keyword.
set -u
. "$(dirname "$0")/lib.bash"
need_model
command -v curl >/dev/null || { echo "skipped: curl is not installed"; exit 77; }
command -v python3 >/dev/null || { echo "skipped: python3 is not installed"; exit 77; }
start_server --parallel 2

chat() { # SCHEMA SEED: a chat completion constrained by SCHEMA, into $TMP/out.json
    curl -s -o "$TMP/out.json" -w '%{http_code}' -H 'Content-Type: application/json' \
        "$BASE/v1/chat/completions" -d '{"messages":[{"role":"user","content":"json"}],
        "max_tokens":300,"seed":'"$2"',"response_format":{"type":"json_schema",
        "json_schema":{"name":"x","schema":'"$1"'}}}'
}

# --- bounds: the issue's {"minimum":0,"maximum":10} gave -3300000000000000 ---
ok=0
for seed in 1 2 3 4 5 6; do
    code=$(chat '{"type":"object","properties":{"n":{"type":"integer","minimum":0,
      "maximum":10},"x":{"type":"number","exclusiveMinimum":-1.5,"maximum":-0.25}},
      "required":["n","x"]}' $seed)
    python3 -c '
import json,sys; r=json.load(open(sys.argv[1])); o=json.loads(r["choices"][0]["message"]["content"])
assert sys.argv[2] == "200" and 0 <= o["n"] <= 10 and isinstance(o["n"], int), o
assert -1.5 < o["x"] <= -0.25, o' "$TMP/out.json" "$code" || { cat "$TMP/out.json"; ok=1; }
done
check "minimum/maximum/exclusiveMinimum hold in response_format" $ok

# --- pattern, format, enum, prefixItems ---
code=$(chat '{"type":"object","properties":{"d":{"type":"string","format":"date"},
  "id":{"type":"string","pattern":"^[A-Z]{3}-\\d{2}$"},"u":{"type":"string","format":"uuid"},
  "t":{"type":"array","prefixItems":[{"enum":["a","b"]},{"type":"boolean"}],"items":false,
  "minItems":2}},"required":["d","id","u","t"]}' 9)
python3 -c '
import json,re,sys,datetime; r=json.load(open(sys.argv[1])); o=json.loads(r["choices"][0]["message"]["content"])
datetime.date.fromisoformat(o["d"])
assert re.fullmatch(r"[A-Z]{3}-\d{2}", o["id"]), o
assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", o["u"]), o
assert o["t"][0] in ("a","b") and isinstance(o["t"][1], bool) and len(o["t"]) == 2, o' \
    "$TMP/out.json"
rc=$?
[ $rc = 0 ] || cat "$TMP/out.json"
check "pattern, format, enum and prefixItems hold" $rc

# --- outside the subset: 400 naming the keyword, OpenAI's error shape ---
code=$(chat '{"type":"object","properties":{"n":{"type":"integer","multipleOf":3}}}' 1)
python3 -c '
import json,sys; e=json.load(open(sys.argv[1]))["error"]
assert sys.argv[2] == "400", sys.argv[2]
assert e["type"] == "invalid_request_error" and e["param"] == "response_format", e
assert "multipleOf" in e["message"] and "/properties/n" in e["message"], e' "$TMP/out.json" "$code"
check "an unsupported keyword is a 400 naming it (OpenAI)" $?

code=$(chat '{"type":"object","properties":{"x":{"$ref":"#"}},"required":["x"]}' 1)
grep -q 'no base case' "$TMP/out.json" && [ "$code" = 400 ]
check "a \$ref cycle with no base case is a 400" $?

code=$(curl -s -o "$TMP/ol.json" -w '%{http_code}' -H 'Content-Type: application/json' \
    "$BASE/api/chat" -d '{"model":"stories260K","messages":[{"role":"user","content":"x"}],
    "stream":false,"format":{"type":"string","pattern":"(a)\\1"}}')
python3 -c '
import json,sys; r=json.load(open(sys.argv[1]))
assert sys.argv[2] == "400" and isinstance(r["error"], str), r
assert "backreferences" in r["error"], r' "$TMP/ol.json" "$code"
check "an unsupported pattern is a 400 on ollama routes too" $?

# --- llmr run --json-schema ---
out=$("$BIN" run -m "$MODEL" -n 50 --seed 4 --json-schema '{"type":"integer","minimum":-7,"maximum":-3}' hi)
[ "$out" -ge -7 ] && [ "$out" -le -3 ]
check "llmr run --json-schema: bounds hold ($out)" $?
"$BIN" run -m "$MODEL" -n 5 --json-schema '{"type":"string","format":"hostname"}' hi \
    >/dev/null 2>"$TMP/err"
rc=$?
[ $rc = 1 ] && grep -q 'format "hostname" is not supported' "$TMP/err"
check "llmr run --json-schema: unsupported format, exit 1 naming it" $?

finish
