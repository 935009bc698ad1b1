#!/usr/bin/env bash
# Tokenizer throughput: English prose through the Llama 3 vocabulary, one thread.
#   bench/tokenize.sh [LLMR_BIN] [VOCAB.gguf] [TEXT_FILE]
# The text defaults to the GNU GPL v3 (plain English, on every Debian system) repeated to
# about 1 MB. `llmr tokenize --bench` tokenizes it over and over for two seconds and prints
# MB/s of CPU time (what one core does) and of wall time.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$here/build/llmr}
VOCAB=${2:-$here/../shared/vocab/ggml-vocab-llama-bpe.gguf}
TEXT=${3:-}
if [ -z "$TEXT" ]; then
    src=/usr/share/common-licenses/GPL-3
    [ -f "$src" ] || { echo "no $src: pass a text file" >&2; exit 2; }
    TEXT=$(mktemp)
    trap 'rm -f "$TEXT"' EXIT
    for _ in $(seq 30); do cat "$src"; done > "$TEXT"
fi
echo "vocab: $(basename "$VOCAB"); text: $(wc -c < "$TEXT") bytes"
"$BIN" tokenize -m "$VOCAB" --no-bos --bench -f "$TEXT"
