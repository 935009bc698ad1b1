#!/usr/bin/env python3
"""gguf_fill.py IN OUT TENSOR VALUE - test helper: copies a GGUF v2/v3 file with every value of
one F32 tensor set to VALUE (a Python float: nan, inf, 1e30). Makes the broken models the tests
need."""
import os, struct, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_layout

src, dst, name, value = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
b = bytearray(open(src, "rb").read())
_, _, infos, _, data_start, _ = gguf_layout.read(b)
found = [(toff, dims) for (tname, dims, ttype, toff) in infos if tname == name]
assert found, "no tensor " + name
assert [t for (tname, _, t, _) in infos if tname == name] == [0], "F32 tensors only"
toff, dims = found[0]
n = 1
for d in dims:
    n *= d
data = data_start + toff
b[data: data + 4 * n] = struct.pack("<f", value) * n
open(dst, "wb").write(b)
