#!/usr/bin/env bash
# fuzz.sh SECONDS - builds the libFuzzer targets (clang) and runs each for SECONDS in total,
# split evenly, starting from a seed corpus cut from ../shared's real models. Fails on a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
dir=build-fuzz
cmake -S . -B "$dir" -DCMAKE_C_COMPILER=clang -DLLMR_FUZZ=ON -DLLMR_TESTS=OFF -DLLMR_NODE=OFF \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined" \
      -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
cmake --build "$dir" -j2
targets=("$dir"/fuzz_*)
per=$(( secs / ${#targets[@]} ))
[ "$per" -ge 5 ] || per=5
for t in "${targets[@]}"; do
    name=$(basename "$t")
    corpus="$dir/corpus-$name"
    mkdir -p "$corpus"
    seeds="fuzz/seeds/${name#fuzz_}"
    [ -d "$seeds" ] && cp -n "$seeds"/* "$corpus"/ 2>/dev/null || true
    if [ "$name" = fuzz_gguf ] && [ -d ../shared/models ]; then
        # Headers of real files: the metadata and tensor infos are what the reader parses.
        for f in ../shared/models/*.gguf ../shared/vocab/*.gguf; do
            head -c 65536 "$f" > "$corpus/$(basename "$f").head"
        done
        cp -n ../shared/models/stories260K-gguf-v1.gguf "$corpus"/ 2>/dev/null || true
    fi
    echo "fuzz: $name for ${per}s"
    "$t" -max_total_time="$per" -max_len=131072 -timeout=10 -rss_limit_mb=4096 \
         -print_final_stats=1 "$corpus" 2>&1 | tail -n 25
done
