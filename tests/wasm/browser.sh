#!/usr/bin/env bash
# The seed guide's "Browser Streaming Example", verbatim but for its model URL, on libllmr
# compiled to WebAssembly (dist/browser.js, built by scripts/build-wasm.sh), in Debian's
# Chromium through playwright-core (tests/npm/wasm_page.mjs): tokens grow, Stop stops, hostile
# model URLs fail clearly and the worker survives. The page is served with COOP/COEP headers
# by tests/wasm/static_server.mjs, and by `llmr serve` (its /browser/: the package's
# example.html, the guide's page with model.gguf, the server's model, for its URL), where
# the page must be cross-origin isolated and run the threads build; greedy text is the same
# on both builds; llmr serve's own page generates in the page or on the server.
# Screenshots: $LLMR_BUILD/wasm-screenshots/.
# slow.html runs a model made by `llmr synth` (kept in $LLMR_TEST_MODELS for the next run):
# the 1.1B Q4_0 TinyLlama shape when ../shared has its vocabulary, stories42m otherwise, slow
# enough in WebAssembly that Stop lands long before its 200 tokens.
set -u
. "$(dirname "$0")/../server/lib.bash"
need_model
SRC=${LLMR_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
NPM_DIR=$SRC/tests/npm
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
GUIDE=$SHARED/seed/streaming-examples.md
[ -f "$GUIDE" ] || { echo "skipped: $GUIDE is absent (the guide is in ../shared)"; exit 77; }
command -v node >/dev/null || { echo "skipped: node is not installed (scripts/setup.sh)"; exit 77; }
command -v emcc >/dev/null || {
    echo "skipped: emcc is not installed (Debian package emscripten; scripts/setup.sh)"; exit 77; }
[ -x "$CHROMIUM" ] || { echo "skipped: $CHROMIUM is absent (Debian package chromium)"; exit 77; }
[ -d "$NPM_DIR/node_modules/playwright-core" ] || {
    echo "skipped: npm package playwright-core is missing (scripts/setup.sh: npm ci in tests/npm)"
    exit 77; }

bash "$SRC/scripts/build-wasm.sh" >"$TMP/build.log" 2>&1 || {
    tail -30 "$TMP/build.log"; echo "FAIL: scripts/build-wasm.sh"; exit 1; }

MODELS=${LLMR_TEST_MODELS:-${TMPDIR:-/tmp}/llmr-test-models}
mkdir -p "$MODELS"
VOCAB=$SHARED/vocab/ggml-vocab-llama-spm.gguf
if [ -f "$VOCAB" ]; then shape=tinyllama-1.1b; else shape=stories42m; VOCAB=$MODEL; fi
SLOW=$MODELS/$shape-q4_0.gguf
[ -f "$VOCAB" ] && [ "$VOCAB" = "$MODEL" ] && SLOW=$MODELS/$shape-q4_0-v512.gguf
if [ ! -f "$SLOW" ]; then
    "$BIN" synth --shape $shape --type Q4_0 --vocab "$VOCAB" -o "$SLOW.tmp" >/dev/null 2>&1 &&
        mv "$SLOW.tmp" "$SLOW" || { echo "FAIL: llmr synth --shape $shape"; exit 1; }
fi
echo "slow.html's model: $SLOW"

# The site: the guide's HTML block with its model URL changed, next to node_modules/
# llm-runner-router (the package, whose dist/ the build made) and models/.
site=$TMP/site
mkdir -p "$site/node_modules" "$site/models"
ln -s "$SRC/js" "$site/node_modules/llm-runner-router"
ln -s "$MODEL" "$site/models/stories260K.gguf"
ln -s "$SLOW" "$site/models/slow.gguf"
python3 - "$GUIDE" "$site" <<'PY'
import re, sys
text = open(sys.argv[1], encoding='utf-8').read()
sec = text.index('### Browser Streaming Example')
m = re.compile(r'```html\n(.*?)```', re.S).search(text, sec)
html = m.group(1)
url = 'https://example.com/models/web-model.onnx'
assert html.count(url) == 1, 'the guide no longer loads ' + url
for name, model in (('index.html', 'models/stories260K.gguf'), ('slow.html', 'models/slow.gguf')):
    open(f'{sys.argv[2]}/{name}', 'w', encoding='utf-8').write(html.replace(url, model))
PY
[ -f "$site/index.html" ] || { echo "FAIL: the guide's browser example was not found"; exit 1; }
# The package's copy (js/browser/example.html, served by llmr serve) is the guide's page too.
sed 's|models/stories260K.gguf|model.gguf|' "$site/index.html" | cmp -s - "$SRC/js/dist/example.html"
check "js/dist/example.html is the guide's example with model.gguf for its URL" $?

# llmr serve with the package: its /browser/ (the example, model.gguf: the server's model)
start_server --browser-dir "$SRC/js/dist"
SERVE=$BASE/

node "$SRC/tests/wasm/static_server.mjs" "$site" >"$TMP/static.log" 2>&1 &
STATIC_PID=$!
trap 'kill $STATIC_PID 2>/dev/null; wait $STATIC_PID 2>/dev/null; cleanup' EXIT
BASE=""
for _ in $(seq 1 100); do
    BASE=$(sed -n 's|^listening on \(http://127.0.0.1:[0-9]*/\)$|\1|p' "$TMP/static.log")
    [ -n "$BASE" ] && break
    kill -0 "$STATIC_PID" 2>/dev/null || break
    sleep 0.1
done
[ -n "$BASE" ] || { cat "$TMP/static.log"; echo "FAIL: the static server did not start"; exit 1; }

SHOTS=${LLMR_BUILD:-$SRC/build}/wasm-screenshots
CHROMIUM=$CHROMIUM timeout 800 node "$NPM_DIR/wasm_page.mjs" "$BASE" "$SHOTS" "$SERVE" >"$TMP/page.out" 2>&1
rc=$?
cat "$TMP/page.out"
echo "screenshots: $SHOTS"
check "the guide's browser example on the WebAssembly build" $rc
finish
