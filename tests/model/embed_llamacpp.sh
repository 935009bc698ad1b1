#!/usr/bin/env bash
# llmr embed against llama.cpp b4748's llama-embedding: bert, nomic-bert and llama models made
# by `llmr synth` (F32 and Q8_0), several texts in one batch, each pooling; the reference
# vectors and the script that made them are in embed_ref/.
set -u
BIN=${LLMR_BIN:?}
SHARED=${LLMR_SHARED:-../shared}
if [ ! -d "$SHARED/vocab" ]; then
    echo "skipped: $SHARED/vocab is absent (the synth models take their vocabularies from it)"
    exit 77
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
here=$(dirname "$0")
python3 "$here/embed_compare.py" "$BIN" "$SHARED" "$here/embed_ref/ref.json" "$tmp"
