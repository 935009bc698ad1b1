#!/usr/bin/env bash
# Every JavaScript block of the seed's streaming guide, run with Node on the package: guide.mjs.
# The ControllableStream example runs on a 1.1B Q4_0 model made by `llmr synth` (kept in
# $LLMR_TEST_MODELS, default /tmp/llmr-test-models, for the next run), slow enough that its
# pause at 3 s and stop at 15 s land mid-stream.
set -u
. "$(dirname "$0")/lib.bash"
GUIDE=$SHARED/seed/streaming-examples.md
[ -f "$GUIDE" ] || { echo "skipped: $GUIDE is absent"; exit 77; }
BIN=${LLMR_BIN:-$BUILD/llmr}
MODELS=${LLMR_TEST_MODELS:-${TMPDIR:-/tmp}/llmr-test-models}
SLOW=$MODELS/tinyllama-1.1b-q4_0.gguf
if [ ! -f "$SLOW" ]; then
    mkdir -p "$MODELS"
    "$BIN" synth --shape tinyllama-1.1b --type Q4_0 --vocab "$SHARED/vocab/ggml-vocab-llama-spm.gguf" \
        -o "$SLOW" >/dev/null || { echo "FAIL: llmr synth"; exit 1; }
fi
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
cp "$SRC/tests/js/"*.mjs "$TMP/"
export LLMR_JS_PKG=$SRC/js TMPDIR=$TMP
[ -d "$NPM_DIR/node_modules/ws" ] && export LLMR_WS_MODULE=$NPM_DIR/node_modules/ws
cd "$TMP" && timeout 800 "${NODE[@]}" guide.mjs "$GUIDE" "$LLMR_MODEL_ABS" "$SLOW"
