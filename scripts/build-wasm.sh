#!/usr/bin/env bash
# build-wasm.sh - libllmr compiled to WebAssembly with Debian's emscripten (idempotent).
#   bash scripts/build-wasm.sh      builds build-wasm/ and the browser package files in js/dist/
#   LLMR_WASM_BUILD_DIR             build folder (default: build-wasm)
# Outputs: build-wasm/llmr-wasm.{js,wasm} (the engine with its C glue, src/bindings/wasm/),
# build-wasm/llmr-wasm-mt.{js,wasm,worker.js} (the same with threads, for isolated pages),
# build-wasm/test_wasm_kernels.{js,wasm} (the SIMD128 kernel test, run under Node), and
# js/dist/ (browser.js, its types, its worker, both engines and the guide's example page,
# example.html, which `llmr serve` serves at /browser/), generated and gitignored.
#
# cJSON and utf8proc, Debian packages on the host, have no WebAssembly build in Debian: their
# Debian source packages (the same versions and patches as the host's libraries) are fetched
# once with apt-get source into the build folder and compiled with emcc. Exit status 77 means
# emscripten is not installed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dir=${LLMR_WASM_BUILD_DIR:-build-wasm}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
# Tests that need the build run it, maybe at once (ctest -j): one builds, the others wait.
exec 9>"$dir/.build-lock"
flock 9

if ! command -v emcc >/dev/null || ! command -v emcmake >/dev/null; then
    echo "build-wasm: emcc not found: install Debian's emscripten (apt-get install emscripten)" >&2
    exit 77
fi
# Debian's emscripten runs its JavaScript optimizer with Node and finds acorn in Debian's
# node-acorn (/usr/share/nodejs), which a Node.js not from Debian does not search.
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}
# The Debian package keeps emscripten's system-library cache under /usr/share, writable only by
# root; a user's build gets a cache of its own.
if [ ! -w /usr/share/emscripten/cache ] && [ -z "${EM_CACHE:-}" ]; then
    export EM_CACHE=$dir/em-cache
fi

# ---- cJSON and utf8proc from their Debian source packages --------------------------------
deps=$dir/deps
fetch_source() {    # fetch_source PACKAGE: unpacked into $deps/PACKAGE
    local pkg=$1 lists=$deps/apt/lists
    [ -f "$deps/$pkg/.llmr-ok" ] && return 0
    mkdir -p "$lists/partial" "$deps/apt/dl"
    # A private sources list and state folder: the system's apt configuration is untouched.
    local suite
    suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
    echo "deb-src http://deb.debian.org/debian $suite main" > "$deps/apt/sources.list"
    local apt=(apt-get -qq -o Dir::Etc::SourceList="$deps/apt/sources.list"
               -o Dir::Etc::SourceParts=/nonexistent -o Dir::State::Lists="$lists"
               -o Debug::NoLocking=1 -o APT::Sandbox::User="$(id -un)")
    [ -f "$deps/apt/.updated" ] || { "${apt[@]}" update && touch "$deps/apt/.updated"; }
    (cd "$deps/apt/dl" && "${apt[@]}" source --download-only "$pkg")
    rm -rf "$deps/$pkg"
    dpkg-source -q --no-check -x "$(ls "$deps/apt/dl/${pkg}"_*.dsc | head -1)" "$deps/$pkg" >/dev/null
    touch "$deps/$pkg/.llmr-ok"
}
fetch_source cjson
fetch_source utf8proc
mkdir -p "$deps/include/cjson"
cp "$deps/cjson/cJSON.h" "$deps/include/cjson/cJSON.h"
cp "$deps/utf8proc/utf8proc.h" "$deps/include/utf8proc.h"

# ---- the build ---------------------------------------------------------------------------
if [ ! -f "$dir/CMakeCache.txt" ]; then
    emcmake cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DLLMR_WERROR=ON \
        -DLLMR_WASM_DEPS="$deps" >/dev/null
fi
nice cmake --build "$dir" -j2

# ---- the browser package files (js/dist, gitignored) -------------------------------------
mkdir -p js/dist
for f in llmr-wasm.js llmr-wasm.wasm llmr-wasm-mt.js llmr-wasm-mt.wasm llmr-wasm-mt.worker.js; do
    cmp -s "$dir/$f" "js/dist/$f" || cp "$dir/$f" "js/dist/$f"
done
for f in js/browser/*.js js/browser/*.html js/browser/*.d.ts; do
    cmp -s "$f" "js/dist/$(basename "$f")" || cp "$f" "js/dist/$(basename "$f")"
done
echo "build-wasm: $dir/llmr-wasm.wasm, js/dist/"
