#!/usr/bin/env bash
# The llm-runner-router package under hostile use: hostile.mjs (see there).
set -u
. "$(dirname "$0")/lib.bash"
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/node_modules"
ln -s "$SRC/js" "$TMP/node_modules/llm-runner-router"
cp "$SRC/tests/js/"*.mjs "$TMP/"
cd "$TMP" && timeout 800 "${NODE[@]}" hostile.mjs
