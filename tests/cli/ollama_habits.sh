#!/usr/bin/env bash
# ollama's habits: `llmr pull ollama:NAME[:TAG]` from a mock ollama registry on loopback
# (tests/router/ollama_registry.py: manifest, then the model layer's blob, its sha256 checked;
# the registry named by --registry or LLMR_OLLAMA_REGISTRY), -m NAME:TAG afterwards and
# -m ollama:NAME pulled on first use; `llmr show` and its --template, --parameters,
# --metadata, --license; `llmr ps` and `llmr stop NAME` against a running `llmr serve`.
# Needs only models/stories260K.gguf.
set -u
BIN=${LLMR_BIN:?}
SRC=${LLMR_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$0")/../check.bash"
command -v python3 >/dev/null || { echo "skipped: python3 is absent"; exit 77; }
command -v curl >/dev/null || { echo "skipped: curl is absent"; exit 77; }
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
export LLMR_CACHE_DIR="$tmp/cache"
unset LLMR_OLLAMA_REGISTRY LLMR_HOST LLMR_API_KEY
M=$DEFAULT_MODEL
wait_file() { for _ in $(seq 300); do [ -s "$1" ] && return 0; sleep 0.05; done; return 1; }

# a model with a chat template and a licence, to show
printf '{%% for m in messages %%}<|{{ m.role }}|>{{ m.content }}{%% endfor %%}<|assistant|>' > "$tmp/tmpl"
printf 'MIT License\n\nCopyright (c) 2023 Andrej\n' > "$tmp/lic"
python3 "$HERE/gguf_set_str.py" "$M" "$tmp/t1.gguf" tokenizer.chat_template "$tmp/tmpl"
python3 "$HERE/gguf_set_str.py" "$tmp/t1.gguf" "$tmp/chatstory.gguf" general.license "$tmp/lic"

python3 "$SRC/tests/router/ollama_registry.py" --model "library/tinystory:1m=$M" \
    --model "someone/chatstory:latest=$tmp/chatstory.gguf" \
    --port-file "$tmp/reg.port" --log "$tmp/reg.log" >/dev/null 2>&1 & pids+=($!)
wait_file "$tmp/reg.port"
REG="http://127.0.0.1:$(cat "$tmp/reg.port")"

# 1. pull from the registry
out=$("$BIN" pull --quiet --registry "$REG" ollama:tinystory:1m 2>"$tmp/e"); rc=$?
[ $rc = 0 ] && [ "$(printf '%s\n' "$out" | tail -n1)" = "$LLMR_CACHE_DIR/tinystory-1m.gguf" ]
st=$?; check "pull ollama:NAME:TAG ($rc: $(cat "$tmp/e"))" $st
cmp -s "$LLMR_CACHE_DIR/tinystory-1m.gguf" "$M"; check "the model layer is the file" $?
grep -q "GET /v2/library/tinystory/manifests/1m accept=application/vnd.docker.distribution.manifest.v2+json" "$tmp/reg.log"
check "the manifest asked for with the distribution media type" $?
grep -q "GET /v2/library/tinystory/blobs/sha256:$(sha256sum "$M" | cut -d' ' -f1)" "$tmp/reg.log"
check "the blob fetched by its digest" $?
! grep -q "vnd.ollama.image.template\|blobs/sha256:.* accept" "$tmp/reg.log" || [ "$(grep -c /blobs/ "$tmp/reg.log")" = 1 ]
check "only the model layer is downloaded" $?
"$BIN" run -m tinystory:1m -n 8 --temp 0 -t 1 "Once upon a time" >"$tmp/a" 2>/dev/null &&
    "$BIN" run -m "$M" -n 8 --temp 0 -t 1 "Once upon a time" >"$tmp/b" 2>/dev/null && cmp -s "$tmp/a" "$tmp/b"
check "-m NAME:TAG runs the pulled model" $?
n=$(wc -l < "$tmp/reg.log")
"$BIN" pull --quiet --registry "$REG" ollama:tinystory:1m >/dev/null 2>&1
[ "$(wc -l < "$tmp/reg.log")" = "$n" ]; check "a second pull asks nothing" $?
"$BIN" pull --quiet --registry "$REG" ollama:nosuch:7b >/dev/null 2>"$tmp/e"; rc=$?
[ $rc = 1 ] && grep -q "nosuch:7b is not in the registry" "$tmp/e"; st=$?
check "an unknown name: one clear line ($(cat "$tmp/e"))" $st
[ ! -e "$LLMR_CACHE_DIR/nosuch-7b.gguf" ] && [ ! -e "$LLMR_CACHE_DIR/nosuch-7b.gguf.part" ]
check "and nothing in the cache" $?
"$BIN" pull --registry "$REG" 'ollama:../x' >/dev/null 2>&1; check "a bad name -> 1" $([ $? = 1 ]; echo $?)
# the registry from the environment, and -m ollama:NAME pulling on first use
LLMR_OLLAMA_REGISTRY=$REG "$BIN" show ollama:someone/chatstory >"$tmp/show" 2>"$tmp/e"
st=$?; check "show ollama:NS/NAME pulls it first ($(cat "$tmp/e"))" $st
[ -f "$LLMR_CACHE_DIR/someone--chatstory-latest.gguf" ]; check "cached as NS--NAME-TAG.gguf" $?
"$BIN" pull --quiet --registry "http://127.0.0.1:1" ollama:other >/dev/null 2>"$tmp/e"
grep -q "127.0.0.1:1/v2/library/other/manifests/latest" "$tmp/e"; check "--registry is the host asked" $?

# 2. show
grep -q "^    architecture  *llama$" "$tmp/show" && grep -q "^    parameters  *292.80K$" "$tmp/show" &&
    grep -q "^    context length  *512$" "$tmp/show" && grep -q "^    quantization  *F32$" "$tmp/show" &&
    grep -q '^    stop  *"</s>"$' "$tmp/show" && grep -q "^  License$" "$tmp/show" &&
    grep -q "^    MIT License \.\.\." "$tmp/show"
st=$?; check "show: model, parameters, licence ($(tr '\n' '|' < "$tmp/show"))" $st
"$BIN" show someone--chatstory-latest --template >"$tmp/t"; cmp -s "$tmp/t" "$tmp/tmpl"
check "show --template is the raw template" $?
"$BIN" show someone--chatstory-latest --license >"$tmp/l"; diff -q <(cat "$tmp/lic"; echo) "$tmp/l" >/dev/null
check "show --license is the licence" $?
"$BIN" show tinystory:1m --metadata >"$tmp/md"
grep -q '^general.name  *"tinyllamas-stories-260k"$' "$tmp/md" && grep -q '^llama.block_count  *5$' "$tmp/md" &&
    grep -q '^tokenizer.ggml.token_type  *\[512 i32: 2, 3, 3, 6' "$tmp/md"
check "show --metadata dumps the keys" $?
[ "$(grep -c . "$tmp/md")" = "$("$BIN" info --json tinystory:1m | python3 -c 'import json,sys; print(json.load(sys.stdin)["n_kv"])')" ]
check "one line per key" $?
"$BIN" show tinystory:1m --parameters | grep -qx 'temperature  *0.8'; check "show --parameters" $?
"$BIN" show tinystory:1m --template >/dev/null 2>"$tmp/e"; grep -q "no chat template" "$tmp/e"
check "show --template without one says so" $?
"$BIN" show tinystori >/dev/null 2>"$tmp/e"; grep -q "close matches: tinystory-1m" "$tmp/e"
check "show of an unknown name lists close matches" $?

# 3. ps and stop against a running server (a router config: its models can be unloaded)
"$BIN" ps --port 1 >/dev/null 2>"$tmp/e"; rc=$?
[ $rc = 1 ] && grep -q "is \`llmr serve\` running there" "$tmp/e"; check "ps without a server -> 1" $?
printf '{"models": [{"id": "tiny", "source": "%s"}]}\n' "$LLMR_CACHE_DIR/tinystory-1m.gguf" > "$tmp/r.json"
"$BIN" serve --config "$tmp/r.json" --port 0 -t 1 >"$tmp/srv.log" 2>&1 & pids+=($!)
port=""
for _ in $(seq 300); do
    port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$tmp/srv.log"); [ -n "$port" ] && break; sleep 0.05
done
"$BIN" ps --port "$port" >"$tmp/ps0"; check "ps exits 0" $?
[ "$(wc -l < "$tmp/ps0")" = 1 ] && grep -q "^NAME  *ID  *SIZE  *STATE  *UNTIL$" "$tmp/ps0"
check "nothing loaded yet: the header alone" $?
curl -s "http://127.0.0.1:$port/v1/completions" -H 'Content-Type: application/json' \
    -d '{"model":"tiny","prompt":"Once","max_tokens":2}' >/dev/null
LLMR_HOST="127.0.0.1:$port" "$BIN" ps >"$tmp/ps1"
grep -Eq "^tiny:latest +3c4a7c3a8313 +1\.1 MiB +loaded " "$tmp/ps1"; st=$?
check "ps lists the loaded model (LLMR_HOST) ($(tail -1 "$tmp/ps1"))" $st
"$BIN" stop tiny:latest --port "$port" >"$tmp/o" 2>"$tmp/e"; rc=$?
[ $rc = 0 ] && grep -qx "stopped tiny" "$tmp/o"; st=$?; check "stop NAME ($rc: $(cat "$tmp/e"))" $st
"$BIN" ps --port "$port" >"$tmp/ps2"; [ "$(wc -l < "$tmp/ps2")" = 1 ]; check "then ps lists nothing" $?
"$BIN" stop nosuch --port "$port" >/dev/null 2>"$tmp/e"; rc=$?
[ $rc = 1 ] && grep -q "nosuch" "$tmp/e"; check "stop of an unknown model -> 1" $?
"$BIN" stop 'a/b' --port "$port" >/dev/null 2>&1; check "stop of a path -> 2" $([ $? = 2 ]; echo $?)

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
