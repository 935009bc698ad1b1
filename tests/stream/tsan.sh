#!/bin/bash
# Builds the stream control test with ThreadSanitizer and runs it. Opt-in (a second build of
# the library takes minutes on a small machine): LLMR_TSAN_RUN=1 ctest -R stream/tsan
# By hand:
#   cmake -S . -B build-tsan -DLLMR_TSAN=ON -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo
#   cmake --build build-tsan -j2 --target test_stream_control && build-tsan/test_stream_control
set -euo pipefail
if [ "${LLMR_TSAN_RUN:-0}" != 1 ]; then
    echo "skipped: set LLMR_TSAN_RUN=1 to build and run the control test under ThreadSanitizer"
    exit 77
fi
command -v clang >/dev/null || { echo "skipped: clang not found"; exit 77; }
src=${LLMR_SRC:?}
dir=${LLMR_BUILD:-$src/build}/tsan
cmake -S "$src" -B "$dir" -DLLMR_TSAN=ON -DCMAKE_C_COMPILER=clang \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$dir" -j2 --target test_stream_control >/dev/null
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" "$dir/test_stream_control"
