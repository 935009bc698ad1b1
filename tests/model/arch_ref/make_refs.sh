#!/bin/bash
# make_refs.sh - remakes the reference logits listed in `cases` (run from the repository root).
#   tests/model/arch_ref/make_refs.sh LLMR LCDUMP
# LLMR: the llmr binary; LCDUMP: lcdump.c built against llama.cpp b4748's libllama, e.g.
#   cc -O2 -I$LC/src/include -I$LC/src/ggml/include tests/model/arch_ref/lcdump.c \
#      -L$LC/build/bin -lllama -lggml -lggml-base -Wl,-rpath,$LC/build/bin -lm -o /tmp/lcdump
# with llama.cpp built as bench/README.md ("Engine: llmr vs llama.cpp b4748") shows.
# dense_ref.py needs numpy (Debian's python3-numpy, hence /usr/bin/python3).
set -euo pipefail
LLMR=$1 LCDUMP=$2
dir=tests/model/arch_ref
vocab=../shared/models/stories260K.gguf
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# 24 token ids of the 512-token vocabulary, fixed once (Python's random, seed 7)
ids=$(python3 -c "import random; r=random.Random(7); print(','.join(str(r.randrange(512)) for _ in range(24)))")
grep -v '^#' $dir/cases | while read -r ref shape layers type nctx check bound; do
    [ -n "$ref" ] || continue
    lay=(); [ "$layers" = - ] || lay=(--layers "$layers")
    m=$tmp/$shape-$layers-$type.gguf
    [ -f "$m" ] || "$LLMR" synth --shape "$shape" --type "$type" --seed 1 --vocab $vocab \
        "${lay[@]}" -o "$m" 2>/dev/null
    case $ref in
    *.lcpp.json)
        # llama.cpp b4748 gives every model named like phi3 Phi-3's special-token attributes,
        # which need tokens this vocabulary lacks: the copy it reads is renamed (same length,
        # so every offset and every tensor byte stays)
        python3 -c "import sys; b=open(sys.argv[1],'rb').read(); open(sys.argv[2],'wb').write(b.replace(b'synthetic phi3-', b'synthetic phiX-', 1))" "$m" "$tmp/lc.gguf"
        "$LCDUMP" "$tmp/lc.gguf" "$ids" "$nctx" 64 > "$dir/$ref" 2>/dev/null ;;
    *.f64.json)
        [ "$type" = F32 ] || continue   # the quantized cases share the F32 reference
        f=$tmp/$shape-$layers-F32.gguf
        [ -f "$f" ] || "$LLMR" synth --shape "$shape" --type F32 --seed 1 --vocab $vocab \
            "${lay[@]}" -o "$f" 2>/dev/null
        /usr/bin/python3 $dir/dense_ref.py "$f" "$ids" "$nctx" 64 > "$dir/$ref" ;;
    esac
    echo "made $ref"
done
