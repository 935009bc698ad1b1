#!/usr/bin/env bash
# device_check.sh - build, run the kernel tests and the kernel benchmark on another machine
# (used for the AVX-512 paths, which the 2-core development VM lacks). Output on stdout.
set -u
J=${J:-8}
echo "== cpu"; grep -m1 'model name' /proc/cpuinfo
grep -m1 -o 'avx512[a-z_0-9]*' /proc/cpuinfo | head -1 >/dev/null && \
  grep -m1 flags /proc/cpuinfo | tr ' ' '\n' | grep -E 'avx512(f|bw|vl|dq|_vnni|_bf16)$|avx512_bf16|avx512_vnni' | tr '\n' ' '; echo
B=build-dev
cmake -S . -B $B -DCMAKE_BUILD_TYPE=Release -DLLMR_WERROR=ON >/dev/null 2>&1 || { echo "cmake failed"; exit 1; }
cmake --build $B -j$J 2>&1 | grep -E 'error|warning' | head -20
echo "== tests"; (cd $B && ctest -R kernels --output-on-failure 2>&1 | tail -25)
$B/test_simd 2>&1 | grep -v '^\[ *\(RUN\|OK\) ' | head -20
echo "== bench"
gcc -O2 -Isrc -Iinclude bench/bench_kernels.c $B/libllmr.a -lm -lpthread -o $B/bench_kernels && \
  $B/bench_kernels ${MIB:-256} ${TYPES:-Q4_0 Q8_0 Q4_K Q5_K Q6_K F16 BF16}
