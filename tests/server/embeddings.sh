#!/usr/bin/env bash
# The embeddings endpoints (POST /v1/embeddings, /api/embed, /api/embeddings) on a bert-tiny
# model made by `llmr synth`, on a decoder (stories260K) and through --config: the vectors are
# those `llmr embed` prints; every hostile body (empty texts, inputs over the context, 10 000
# inputs, wrong types) is a clear 400 in the route's error shape, and the server stays up.
set -u
. "$(dirname "$0")/lib.bash"
need_model
VOCAB=$SHARED/vocab/ggml-vocab-bert-bge.gguf
[ -f "$VOCAB" ] || { echo "skipped: $VOCAB is absent"; exit 77; }
BERT=$TMP/bert-tiny.gguf
"$BIN" synth --shape bert-tiny --type F16 --vocab "$VOCAB" -o "$BERT" -t 1 2>/dev/null
check "synth bert-tiny" $?

# post PATH BODY: the reply body to $TMP/out, the status printed
post() { curl -s -o "$TMP/out" -w '%{http_code}' -H 'Content-Type: application/json' \
              --data-binary "$2" "$BASE$1"; }
# js EXPR: EXPR over d = the last reply's JSON (and ref = llmr embed's), exit 0 when true
js() { python3 -c "
import json, math, sys, base64, struct
d = json.load(open('$TMP/out'))
ref = json.load(open('$TMP/ref.json')) if __import__('os').path.exists('$TMP/ref.json') else None
close = lambda a, b: len(a) == len(b) and max(abs(x - y) for x, y in zip(a, b)) < 1e-6
norm = lambda v: math.sqrt(sum(x * x for x in v))
sys.exit(0 if ($1) else 1)"; }
expect() { # name, path, body, status, [python condition]
    local st; st=$(post "$2" "$3")
    check "$1: status $st, expected $4" $([ "$st" = "$4" ]; echo $?)
    if [ $# -ge 5 ]; then js "$5"; check "$1" $?; fi
}
openai_err='set(d) == {"error"} and isinstance(d["error"]["message"], str) and "type" in d["error"]'
ollama_err='set(d) == {"error"} and isinstance(d["error"], str)'

"$BIN" embed -m "$BERT" -t 1 "hello world" "a second, longer text to embed" > "$TMP/ref.json"
check "llmr embed (the reference)" $?
start_server_with -m "$BERT"

expect "/v1: two texts" /v1/embeddings '{"input":["hello world","a second, longer text to embed"]}' 200 \
  'd["object"] == "list" and [e["index"] for e in d["data"]] == [0, 1] and all(close(e["embedding"], ref["embeddings"][i]) for i, e in enumerate(d["data"])) and d["usage"]["prompt_tokens"] == sum(ref["n_tokens"]) == d["usage"]["total_tokens"] and d["model"] == "bert-tiny"'
expect "/v1: one string" /v1/embeddings '{"input":"hello world","model":"bert-tiny"}' 200 \
  'len(d["data"]) == 1 and close(d["data"][0]["embedding"], ref["embeddings"][0])'
expect "/v1: base64 is the float32 vector" /v1/embeddings '{"input":"hello world","encoding_format":"base64"}' 200 \
  'close(struct.unpack("<128f", base64.b64decode(d["data"][0]["embedding"])), ref["embeddings"][0])'
# "hello world" is [CLS] hello world [SEP] = 101 7592 2088 102
expect "/v1: token ids give the text's vector" /v1/embeddings '{"input":[101,7592,2088,102]}' 200 \
  'close(d["data"][0]["embedding"], ref["embeddings"][0]) and d["usage"]["prompt_tokens"] == 4'
expect "/v1: arrays of token ids" /v1/embeddings '{"input":[[101,7592,2088,102],[101,102]]}' 200 \
  'len(d["data"]) == 2 and close(d["data"][0]["embedding"], ref["embeddings"][0])'
expect "/v1: dimensions equal to the model's" /v1/embeddings '{"input":"x","dimensions":128}' 200
expect "/v1: dimensions 64 refused" /v1/embeddings '{"input":"x","dimensions":64}' 400 \
  "$openai_err and d['error']['param'] == 'dimensions' and '128' in d['error']['message']"
expect "/v1: empty string" /v1/embeddings '{"input":""}' 400 "$openai_err and 'empty' in d['error']['message']"
expect "/v1: an empty string among others" /v1/embeddings '{"input":["a",""]}' 400 "$openai_err and 'input 1 is empty' in d['error']['message']"
expect "/v1: empty array" /v1/embeddings '{"input":[]}' 400 "$openai_err"
expect "/v1: empty token array" /v1/embeddings '{"input":[[]]}' 400 "$openai_err"
expect "/v1: no input" /v1/embeddings '{"model":"bert-tiny"}' 400 "$openai_err and d['error']['param'] == 'input'"
for bad in '3' '{}' '[null]' '[1.5]' '[-1]' '[1e300]' '[[1e300]]' '[1,"a"]' '["a",1]' '[[1,"a"]]' 'true'; do
    expect "/v1: input $bad" /v1/embeddings "{\"input\":$bad}" 400 "$openai_err and d['error']['param'] == 'input'"
done
expect "/v1: token id out of the vocabulary" /v1/embeddings '{"input":[101,30522]}' 400 "$openai_err and '30522' in d['error']['message']"
expect "/v1: encoding_format int8" /v1/embeddings '{"input":"a","encoding_format":"int8"}' 400 "$openai_err and d['error']['param'] == 'encoding_format'"
expect "/v1: dimensions not a number" /v1/embeddings '{"input":"a","dimensions":"x"}' 400 "$openai_err"
expect "/v1: dimensions 1e300" /v1/embeddings '{"input":"a","dimensions":1e300}' 400 "$openai_err and d['error']['param'] == 'dimensions'"
expect "/v1: model not a string" /v1/embeddings '{"input":"a","model":5}' 400 "$openai_err"
expect "/v1: unknown model" /v1/embeddings '{"input":"a","model":"nope"}' 404 "$openai_err and d['error']['code'] == 'model_not_found'"
long=$(python3 -c "print(' '.join(['word'] * 600))")
expect "/v1: over the context" /v1/embeddings "{\"input\":[\"a\",\"$long\"]}" 400 \
  "$openai_err and d['error']['code'] == 'context_length_exceeded' and 'input 1 has 602 tokens' in d['error']['message']"
python3 -c "import json; print(json.dumps({'input': ['x'] * 10000}))" > "$TMP/big.json"
expect "/v1: 10000 inputs" /v1/embeddings @"$TMP/big.json" 400 "$openai_err and '2048' in d['error']['message']"
python3 -c "import json; print(json.dumps({'input': ['x'] * 2048}))" > "$TMP/max.json"
expect "/v1: 2048 inputs (the limit) in one request" /v1/embeddings @"$TMP/max.json" 200 'len(d["data"]) == 2048'
expect "/v1: not JSON" /v1/embeddings '{"input":' 400 "$openai_err"

expect "/api/embed: two texts" /api/embed '{"model":"bert-tiny","input":["hello world","a second, longer text to embed"]}' 200 \
  'all(close(e, ref["embeddings"][i]) for i, e in enumerate(d["embeddings"])) and d["prompt_eval_count"] == sum(ref["n_tokens"]) and d["model"] == "bert-tiny"'
expect "/api/embed: one string" /api/embed '{"input":"hello world"}' 200 'close(d["embeddings"][0], ref["embeddings"][0])'
expect "/api/embed: over the context is truncated by default (as ollama)" /api/embed "{\"input\":\"$long\"}" 200 'd["prompt_eval_count"] == 512'
expect "/api/embed: truncate false refuses it" /api/embed "{\"input\":\"$long\",\"truncate\":false}" 400 "$ollama_err and '602 tokens' in d['error']"
expect "/api/embed: empty string" /api/embed '{"input":""}' 400 "$ollama_err and 'empty' in d['error']"
expect "/api/embed: token ids are not ollama's" /api/embed '{"input":[1,2]}' 400 "$ollama_err"
expect "/api/embed: truncate not a boolean" /api/embed '{"input":"a","truncate":"yes"}' 400 "$ollama_err"
expect "/api/embed: 10000 inputs" /api/embed @"$TMP/big.json" 400 "$ollama_err"
expect "/api/embeddings: legacy, not normalised" /api/embeddings '{"prompt":"hello world"}' 200 \
  'len(d["embedding"]) == 128 and abs(norm(d["embedding"]) - 1) > 1e-3'
expect "/api/embeddings: no prompt" /api/embeddings '{"input":"hello world"}' 400 "$ollama_err and 'prompt' in d['error']"
expect "/api/embeddings: empty prompt" /api/embeddings '{"prompt":""}' 400 "$ollama_err"
expect "chat on an encoder is a 400" /v1/chat/completions '{"messages":[{"role":"user","content":"hi"}]}' 400 \
  "$openai_err and 'encoder' in d['error']['message']"
curl -s "$BASE/api/tags" > "$TMP/out"
js 'd["models"][0]["details"]["family"] == "bert" and d["models"][0]["details"]["quantization_level"] == "F16"'
check "/api/tags describes the encoder" $?
curl -s "$BASE/api/ps" > "$TMP/out"; js 'd["models"][0]["details"]["family"] == "bert"'
check "/api/ps describes the encoder" $?
curl -fs "$BASE/health" >/dev/null; check "the server is up after all that" $?

NPM_DIR=${LLMR_SRC:-$(dirname "$0")/../..}/tests/npm
if command -v node >/dev/null && [ -d "$NPM_DIR/node_modules/openai" ] && [ -d "$NPM_DIR/node_modules/ollama" ]; then
    timeout 50 node "$NPM_DIR/embed_clients.mjs" "$BASE" bert-tiny "$TMP/ref.json" > "$TMP/npm.out" 2>&1
    rc=$?; [ $rc = 0 ] || cat "$TMP/npm.out"
    check "the openai and ollama npm clients" $rc
else
    echo "note: the npm clients are not installed (scripts/setup.sh); their check is left out"
fi
stop_server; check "-m: clean exit" $?

# a decoder: the last token's normed hidden state, as llmr embed gives it
rm -f "$TMP/ref.json"
"$BIN" embed -m "$MODEL" -t 1 "hello world" > "$TMP/dref.json"
start_server
expect "decoder /v1/embeddings" /v1/embeddings '{"input":"hello world"}' 200 \
  "close(d['data'][0]['embedding'], json.load(open('$TMP/dref.json'))['embeddings'][0])"
stop_server

# --config: the model by its id, local models only
BERT_ABS=$(cd "$(dirname "$BERT")" && pwd)/$(basename "$BERT")
printf '{"models": [{"id": "bert", "source": "%s"}, {"id": "far", "backend": "b", "remote_model": "x"}], "backends": {"b": {"url": "http://127.0.0.1:9"}}}\n' \
    "$BERT_ABS" > "$TMP/router.json"
start_server_with --config "$TMP/router.json"
expect "--config: by id" /v1/embeddings '{"model":"bert","input":"hello world"}' 200 'len(d["data"][0]["embedding"]) == 128 and d["model"] == "bert"'
expect "--config: ollama's name:latest" /api/embed '{"model":"bert:latest","input":"hello world"}' 200 'len(d["embeddings"]) == 1'
expect "--config: no model" /v1/embeddings '{"input":"hello world"}' 400 "$openai_err and d['error']['param'] == 'model'"
expect "--config: unknown model" /api/embed '{"model":"nope","input":"a"}' 404 "$ollama_err"
expect "--config: a remote model" /v1/embeddings '{"model":"far","input":"a"}' 400 "$openai_err and 'remote' in d['error']['message']"
stop_server; check "--config: clean exit" $?
finish
