#!/usr/bin/env bash
# setup.sh - install what llmr needs on Debian 12, build it, and stream a completion.
#   bash scripts/setup.sh             install + build + run the demo (idempotent)
#   bash scripts/setup.sh --deps-only just the Debian packages
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(build-essential cmake pkg-config clang libclang-rt-14-dev python3
          libcmocka-dev libcjson-dev libutf8proc-dev libcurl4-openssl-dev libedit-dev
          libcivetweb-dev curl nodejs chromium tmux groff-base emscripten)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Debian's nodejs needs its npm package; a nodejs that bundles npm (NodeSource) conflicts with it.
command -v npm >/dev/null || missing+=(npm)
# Node-API's C headers, to build the Node.js package's addon (js/): Debian's nodejs keeps them in
# libnode-dev; a NodeSource nodejs ships them itself.
[ -f /usr/include/node/node_api.h ] || missing+=(libnode-dev)
if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    echo "setup: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The server tests' real clients (openai, ollama, ws, playwright-core) and the JSON schema
# property test's validator (ajv, ajv-formats) come from npm, pinned by
# tests/npm/package-lock.json. Skipped when node_modules already matches the lock file.
if command -v npm >/dev/null && [ -f tests/npm/package-lock.json ]; then
    want=$(sha256sum tests/npm/package-lock.json | cut -d' ' -f1)
    have=$(cat tests/npm/node_modules/.llmr-lock-sha256 2>/dev/null || true)
    if [ "$want" != "$have" ]; then
        echo "setup: npm ci in tests/npm"
        (cd tests/npm && npm ci --no-audit --no-fund --loglevel=error) &&
            echo "$want" > tests/npm/node_modules/.llmr-lock-sha256
    fi
fi
[ "${1:-}" = "--deps-only" ] && exit 0

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
# The Node.js package (js/) loads its addon from js/build/llmr.node.
if [ -f build/llmr.node ]; then
    mkdir -p js/build && cp build/llmr.node js/build/llmr.node.tmp && mv js/build/llmr.node.tmp js/build/llmr.node
    echo "setup: built the Node.js package's addon: npm install $(pwd)/js"
fi

# The demo: the default model shipped in models/ (stories260K, MIT; see models/README.md), or
# LLMR_MODEL (a path, a name from `llmr ls`, a URL or hf: id).
if [ -n "${LLMR_MODEL:-}" ]; then
    ./build/llmr run -m "$LLMR_MODEL" -n 64 --temp 0 "Once upon a time"
else
    ./build/llmr run -n 64 --temp 0 "Once upon a time"
fi
echo
cat <<'MSG'
setup: built ./build/llmr. Next, a real chat model (about 0.4 to 0.8 GB):
    ./build/llmr pull hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf
    ./build/llmr chat qwen2.5-0.5b-instruct-q4_k_m
MSG
