#!/usr/bin/env bash
# The llm-runner-router package (js/) on a real model: api.mjs (see there).
set -u
. "$(dirname "$0")/lib.bash"
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/node_modules"
ln -s "$SRC/js" "$TMP/node_modules/llm-runner-router"
cp "$SRC/tests/js/"*.mjs "$TMP/"
cd "$TMP" && LLMR_BIN=${LLMR_BIN:-$BUILD/llmr} timeout 600 node --expose-gc api.mjs
