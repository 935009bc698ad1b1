#!/usr/bin/env bash
# The web page at / in Debian's Chromium, driven by playwright-core (tests/npm/browser_page.mjs):
# type a prompt, see tokens arrive with a live tokens/s figure, press stop.
set -u
. "$(dirname "$0")/lib.bash"
need_model
NPM_DIR=${LLMR_SRC:-$(dirname "$0")/../..}/tests/npm
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
command -v node >/dev/null || { echo "skipped: node is not installed (scripts/setup.sh)"; exit 77; }
[ -x "$CHROMIUM" ] || { echo "skipped: $CHROMIUM is absent (Debian package chromium)"; exit 77; }
[ -d "$NPM_DIR/node_modules/playwright-core" ] || {
    echo "skipped: npm package playwright-core is missing (scripts/setup.sh: npm ci in tests/npm)"
    exit 77; }
# A random-weight stories42m-shaped model (llmr synth) generates ~100 tokens/s here, slowly
# enough that the stop button lands while the reply streams.
"$BIN" synth --shape stories42m --type Q4_0 --vocab "$MODEL" -o "$TMP/page-model.gguf" \
    >/dev/null 2>&1 || { echo "FAIL: llmr synth"; exit 1; }
MODEL=$TMP/page-model.gguf
start_server --parallel 2
CHROMIUM=$CHROMIUM timeout 55 node "$NPM_DIR/browser_page.mjs" "$BASE" page-model \
    > "$TMP/b.out" 2>&1; rc=$?
[ $rc = 0 ] || { cat "$TMP/b.out"; tail -20 "$SRV_LOG"; }
check "the page streams a reply, shows tokens/s, and stops" $rc
stop_server; check "clean exit" $?
finish
