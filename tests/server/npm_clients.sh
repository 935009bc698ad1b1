#!/usr/bin/env bash
# llmr serve with real clients from npm (installed in tests/npm by scripts/setup.sh):
# the official `openai` package streaming a chat completion, the `ollama` package streaming
# /api/chat, the `ws` package speaking the seed's WebSocket protocol, tool calls with both
# (tools.mjs), `@anthropic-ai/sdk` on /v1/messages (anthropic.mjs), and the `openai`
# package's responses.create on /v1/responses (responses.mjs), and log-probabilities through
# all of them (logprobs.mjs).
set -u
. "$(dirname "$0")/lib.bash"
need_model
NPM_DIR=${LLMR_SRC:-$(dirname "$0")/../..}/tests/npm
command -v node >/dev/null || { echo "skipped: node is not installed (scripts/setup.sh)"; exit 77; }
for m in openai ollama ws @anthropic-ai/sdk; do
    [ -d "$NPM_DIR/node_modules/$m" ] || {
        echo "skipped: npm package $m is missing (run scripts/setup.sh: npm ci in tests/npm)"
        exit 77; }
done
clients() { # label
    for t in openai_stream ollama_chat ws_protocol tools anthropic responses logprobs; do
        timeout 50 node "$NPM_DIR/$t.mjs" "$BASE" > "$TMP/$t.out" 2>&1; rc=$?
        [ $rc = 0 ] || cat "$TMP/$t.out"
        check "$1: $t" $rc
        tail -1 "$TMP/$t.out"
    done
}
start_server --parallel 3
clients "-m"
stop_server; check "-m: clean exit" $?
# The same clients against `llmr serve --config` with the model under the same name: the
# router's server must look the same to them.
MODEL_ABS=$(cd "$(dirname "$MODEL")" && pwd)/$(basename "$MODEL")
printf '{"models": [{"id": "stories260K", "source": "%s", "preload": true}]}\n' "$MODEL_ABS" \
    > "$TMP/router.json"
start_server_with --config "$TMP/router.json" --parallel 3
clients "--config"
stop_server; check "--config: clean exit" $?
finish
