# lib.bash - sourced by the tests/js/*.sh tests of the Node.js package (js/): finds node, the
# addon this build made ($LLMR_BUILD/llmr.node) and the test model, or skips (exit 77) saying
# what is missing. Sanitizer builds: the addon needs the ASan runtime preloaded into node.
SHARED=${LLMR_SHARED:-../shared}
MODEL=$SHARED/models/stories260K.gguf
SRC=${LLMR_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${LLMR_BUILD:-$SRC/build}
command -v node >/dev/null || { echo "skipped: node is not installed (scripts/setup.sh installs it)"; exit 77; }
[ -f "$MODEL" ] || { echo "skipped: $MODEL is absent (these tests need ../shared)"; exit 77; }
export LLMR_NODE_ADDON=$BUILD/llmr.node
[ -f "$LLMR_NODE_ADDON" ] || {
    echo "skipped: $LLMR_NODE_ADDON was not built (node_api.h absent when cmake ran)"; exit 77; }
export LLMR_MODEL_ABS
LLMR_MODEL_ABS=$(cd "$(dirname "$MODEL")" && pwd)/$(basename "$MODEL")
NPM_DIR=$SRC/tests/npm
# NODE runs node: with the ASan runtime preloaded when the addon is instrumented (and only node:
# an ASan executable such as this build's llmr brings its own runtime, and must not get it twice)
NODE=(node)
if nm -D "$LLMR_NODE_ADDON" 2>/dev/null | grep -q ' U __asan_init'; then
    rt=$(clang -print-file-name=libclang_rt.asan-x86_64.so 2>/dev/null)
    [ -f "$rt" ] || { echo "skipped: ASan addon, but no ASan runtime to preload into node"; exit 77; }
    # node itself is not built for LeakSanitizer: leaks are the C tests' to find
    NODE=(env LD_PRELOAD="$rt" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" node)
fi
