#!/usr/bin/env python3
"""Checks `llmr embed` against llama.cpp's embeddings in embed_ref/ref.json (made by
embed_ref/make_ref.py): each case's model is remade with `llmr synth` (same shape, type and
seed), the same texts are embedded in one batch (pooling none: the first two) with the same pooling, and every vector must
match: max abs difference <= 1e-4 in F32, cosine >= 0.9999 in quantized types.

usage: embed_compare.py LLMR SHARED_DIR REF.json TMPDIR     (prints one line per case)
"""
import json
import math
import os
import subprocess
import sys


def main():
    llmr, shared, ref_path, tmp = sys.argv[1:5]
    ref = json.load(open(ref_path))
    fails = 0
    for case in ref["cases"]:
        model = os.path.join(tmp, f"{case['shape']}-{case['type']}.gguf")
        if not os.path.exists(model):
            subprocess.run([llmr, "synth", "--shape", case["shape"], "--type", case["type"],
                            "--seed", str(ref["seed"]), "-t", "1", "--vocab",
                            os.path.join(shared, "vocab", case["vocab"]), "-o", model],
                           check=True, stderr=subprocess.DEVNULL)
        cmd = [llmr, "embed", "-m", model, "-t", "1"]
        if case["pooling"]:
            cmd += ["--pooling", case["pooling"]]
        texts = ref["texts"][:2] if case["pooling"] == "none" else ref["texts"]
        got = json.loads(subprocess.run(cmd + ["--"] + texts, check=True,
                                        capture_output=True, text=True).stdout)["embeddings"]
        if case["pooling"] == "none":   # llama.cpp lists every token's vector in one list
            got = [v for per_input in got for v in per_input]
        want = case["vectors"]
        name = f"{case['shape']} {case['type']} pooling {case['pooling'] or 'model'}"
        if len(got) != len(want) or any(len(g) != len(w) for g, w in zip(got, want)):
            print(f"FAIL: {name}: {len(got)} vectors, expected {len(want)}")
            fails += 1
            continue
        diff = max(abs(a - b) for g, w in zip(got, want) for a, b in zip(g, w))
        cos = min(sum(a * b for a, b in zip(g, w)) /
                  math.sqrt(sum(a * a for a in g) * sum(b * b for b in w))
                  for g, w in zip(got, want))
        ok = diff <= 1e-4 if case["type"] == "F32" else cos >= 0.9999
        print(f"{'ok' if ok else 'FAIL'}: {name}: max abs diff {diff:.2e}, min cosine {cos:.7f}")
        fails += not ok
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
