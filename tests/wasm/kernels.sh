#!/usr/bin/env bash
# The WebAssembly build's SIMD128 kernels against the plain-C reference, under Node
# (tests/wasm/wasm_kernels.c, built by scripts/build-wasm.sh with Debian's emscripten).
# Skips (77) when emcc or node is absent.
set -u
SRC=${LLMR_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v node >/dev/null || { echo "skipped: node is not installed (scripts/setup.sh)"; exit 77; }
command -v emcc >/dev/null || {
    echo "skipped: emcc is not installed (Debian package emscripten; scripts/setup.sh)"; exit 77; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# One WebAssembly build for every test that needs it (idempotent; build-wasm/ in the tree).
bash "$SRC/scripts/build-wasm.sh" >"$out" 2>&1; rc=$?
[ $rc = 77 ] && { cat "$out"; exit 77; }
[ $rc = 0 ] || { tail -30 "$out"; echo "FAIL: scripts/build-wasm.sh"; echo "0 passed, 1 failed"; exit 1; }
node "$SRC/build-wasm/test_wasm_kernels.js"; rc=$?
if [ $rc = 0 ]; then echo "1 passed, 0 failed"; else echo "FAIL: SIMD128 kernels"; echo "0 passed, 1 failed"; fi
exit $rc
