#!/usr/bin/env bash
# The package with a router config naming a remote OpenAI-compatible backend: remote.mjs, against
# tests/router/oai_mock.py on 127.0.0.1.
set -u
. "$(dirname "$0")/lib.bash"
command -v python3 >/dev/null || { echo "skipped: python3 is not installed"; exit 77; }
TMP=$(mktemp -d)
python3 "$SRC/tests/router/oai_mock.py" --port-file "$TMP/port" --name mock >"$TMP/mock.log" 2>&1 &
MOCK=$!
trap 'kill $MOCK 2>/dev/null; wait $MOCK 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 1 400); do [ -s "$TMP/port" ] && break; sleep 0.05; done
[ -s "$TMP/port" ] || { echo "FAIL: the mock server did not start"; cat "$TMP/mock.log"; exit 1; }
# a model by URL: httpd.py serves a copy of the test model on 127.0.0.1
mkdir -p "$TMP/www" "$TMP/cache"
cp "$LLMR_MODEL_ABS" "$TMP/www/web-model.gguf"
python3 "$SRC/tests/router/httpd.py" --root "$TMP/www" --port-file "$TMP/www.port" --log "$TMP/www.log" \
    >/dev/null 2>&1 &
WWW=$!
trap 'kill $MOCK $WWW 2>/dev/null; wait $MOCK $WWW 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 1 400); do [ -s "$TMP/www.port" ] && break; sleep 0.05; done
export LLMR_CACHE_DIR=$TMP/cache LLMR_WWW_PORT
LLMR_WWW_PORT=$(cat "$TMP/www.port")
mkdir -p "$TMP/node_modules"
ln -s "$SRC/js" "$TMP/node_modules/llm-runner-router"
cp "$SRC/tests/js/"*.mjs "$TMP/"
cd "$TMP" && timeout 300 "${NODE[@]}" remote.mjs "$(cat "$TMP/port")" "$LLMR_MODEL_ABS"
