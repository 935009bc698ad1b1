#!/bin/bash
# kv_kl.sh - KL divergence of the q8_0 and q4_0 KV caches from the F16 cache over a long prompt
# (bench/kv_kl.c; the table in bench/README.md, "Quantized KV cache").
#
# usage: bench/kv_kl.sh MODEL.gguf [N_TOKENS=4096] [THREADS=2]
#   env BUILD  the build folder holding libllmr.a (default build)
#   env TEXT   the prompt's text (default: the GNU GPL v3, repeated until long enough)
set -euo pipefail
MODEL=${1:?usage: kv_kl.sh MODEL.gguf [N_TOKENS] [THREADS]}
N=${2:-4096}
THREADS=${3:-2}
BUILD=${BUILD:-build}
cc -O2 -Isrc -Iinclude -I"$BUILD/generated" bench/kv_kl.c "$BUILD/libllmr.a" \
   $(pkg-config --libs libcjson libutf8proc) -lm -lpthread -o "$BUILD/kv_kl"
TEXT=${TEXT:-}
if [ -z "$TEXT" ]; then
    TEXT=$(mktemp); trap 'rm -f "$TEXT"' EXIT
    for _ in 1 2 3 4 5 6; do cat /usr/share/common-licenses/GPL-3; done > "$TEXT"
fi
"$BUILD/kv_kl" "$MODEL" "$TEXT" "$N" "$THREADS"
