#!/usr/bin/env bash
# test.sh - build llmr and run the whole test suite with CTest (idempotent).
#   LLMR_BUILD_DIR   build folder (default: build)
#   LLMR_CMAKE_ARGS  extra cmake arguments (e.g. "-DLLMR_SANITIZE=ON -DCMAKE_C_COMPILER=clang")
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dir=${LLMR_BUILD_DIR:-build}
# shellcheck disable=SC2086
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=${LLMR_BUILD_TYPE:-Release} ${LLMR_CMAKE_ARGS:-} >/dev/null
cmake --build "$dir" -j"$(nproc)"
cd "$dir"
# The console output is kept to name the skipped tests at the end, with their reasons.
out=$(mktemp)
trap 'rm -f "$out"' EXIT
set +e
ctest --output-on-failure -j"${LLMR_TEST_JOBS:-2}" --timeout 900 | tee "$out"
rc=${PIPESTATUS[0]}
set -e
echo
bash "$root/scripts/ctest_skips.sh" . "$out"
exit "$rc"
