#!/usr/bin/env python3
"""Makes ref.json, the reference embeddings tests/model/embed_llamacpp.sh checks llmr against.

For each case: `llmr synth` makes a random-weight model (shape, type, seed below), and
llama.cpp's llama-embedding (release b4748) embeds TEXTS in one batch with the case's pooling
and its default L2 normalisation (pooling none: one vector per token, the inputs' tokens one
after another, for the first two texts only, to keep the file small). Only the vectors (7 decimals, as llama-embedding prints
them) are kept; the models are remade by the test.

usage: make_ref.py LLMR LLAMA_EMBEDDING SHARED_DIR OUT.json
"""
import json
import os
import subprocess
import sys
import tempfile

SEED = 7
TEXTS = [
    "hello world",
    "The quick brown fox jumps over the lazy dog.",
    # over 32 tokens: several attention tiles of query rows
    " ".join(["Embeddings map every piece of text to a vector of numbers, and similar texts "
              "land close together."] * 4),
]
# (shape, vocab file, type, pooling or None for the model's own)
CASES = [
    ("bert-tiny", "ggml-vocab-bert-bge.gguf", "F32", None),
    ("bert-tiny", "ggml-vocab-bert-bge.gguf", "F32", "mean"),
    ("bert-tiny", "ggml-vocab-bert-bge.gguf", "F32", "last"),
    ("bert-tiny", "ggml-vocab-bert-bge.gguf", "F32", "none"),
    ("bert-tiny", "ggml-vocab-bert-bge.gguf", "Q8_0", None),
    ("nomic-bert-tiny", "ggml-vocab-bert-bge.gguf", "F32", None),
    ("nomic-bert-tiny", "ggml-vocab-bert-bge.gguf", "F32", "cls"),
    ("nomic-bert-tiny", "ggml-vocab-bert-bge.gguf", "F32", "none"),
    ("nomic-bert-tiny", "ggml-vocab-bert-bge.gguf", "Q8_0", None),
    ("stories15m", "ggml-vocab-llama-spm.gguf", "F32", "last"),
    ("stories15m", "ggml-vocab-llama-spm.gguf", "F32", "mean"),
    ("stories15m", "ggml-vocab-llama-spm.gguf", "Q8_0", "last"),
]


def main():
    llmr, llama, shared, out = sys.argv[1:5]
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "texts.txt"), "w") as f:
            f.write("\n".join(TEXTS))
        with open(os.path.join(tmp, "short.txt"), "w") as f:
            f.write("\n".join(TEXTS[:2]))
        made = {}
        for shape, vocab, ty, pooling in CASES:
            model = os.path.join(tmp, f"{shape}-{ty}.gguf")
            if model not in made:
                subprocess.run([llmr, "synth", "--shape", shape, "--type", ty, "--seed", str(SEED),
                                "--vocab", os.path.join(shared, "vocab", vocab), "-o", model],
                               check=True)
                made[model] = True
            texts = "short.txt" if pooling == "none" else "texts.txt"
            cmd = [llama, "-m", model, "-f", os.path.join(tmp, texts), "-t", "2",
                   "-c", "2048", "-b", "2048", "-ub", "2048", "--embd-output-format", "json"]
            if pooling:
                cmd += ["--pooling", pooling]
            res = subprocess.run(cmd, check=True, capture_output=True, text=True)
            data = json.loads(res.stdout)["data"]
            cases.append({"shape": shape, "vocab": vocab, "type": ty, "pooling": pooling,
                          "vectors": [d["embedding"] for d in data]})
    with open(out, "w") as f:
        json.dump({"made_by": "llama.cpp b4748 llama-embedding, default --embd-normalize 2",
                   "seed": SEED, "texts": TEXTS, "cases": cases}, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
