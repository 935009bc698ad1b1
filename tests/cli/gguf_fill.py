#!/usr/bin/env python3
"""gguf_fill.py IN OUT TENSOR VALUE - test helper: copies a GGUF v2/v3 file with every value of
one F32 tensor set to VALUE (a Python float: nan, inf, 1e30). Makes the broken models the tests
need; written from the GGUF layout (ggml docs/gguf.md), nothing more."""
import struct, sys

src, dst, name, value = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
b = bytearray(open(src, "rb").read())
assert b[:4] == b"GGUF" and struct.unpack_from("<I", b, 4)[0] in (2, 3), "GGUF v2/v3 only"
n_t, n_kv = struct.unpack_from("<QQ", b, 8)
off = 24
SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}

def skip_value(t, off):
    if t in SIZES:
        return off + SIZES[t]
    if t == 8:
        (n,) = struct.unpack_from("<Q", b, off)
        return off + 8 + n
    et, n = struct.unpack_from("<IQ", b, off)
    off += 12
    for _ in range(n):
        off = skip_value(et, off)
    return off

align = 32
for _ in range(n_kv):
    (klen,) = struct.unpack_from("<Q", b, off)
    k = b[off + 8: off + 8 + klen].decode()
    (t,) = struct.unpack_from("<I", b, off + 8 + klen)
    if k == "general.alignment":
        (align,) = struct.unpack_from("<I", b, off + 12 + klen)
    off = skip_value(t, off + 12 + klen)
found = None
for _ in range(n_t):
    (nlen,) = struct.unpack_from("<Q", b, off)
    tname = b[off + 8: off + 8 + nlen].decode()
    off += 8 + nlen
    (nd,) = struct.unpack_from("<I", b, off)
    dims = struct.unpack_from("<%dQ" % nd, b, off + 4)
    ttype, toff = struct.unpack_from("<IQ", b, off + 4 + 8 * nd)
    off += 4 + 8 * nd + 12
    if tname == name:
        assert ttype == 0, "F32 tensors only"
        n = 1
        for d in dims:
            n *= d
        found = (toff, n)
assert found, "no tensor " + name
data = (off + align - 1) // align * align + found[0]
b[data: data + 4 * found[1]] = struct.pack("<f", value) * found[1]
open(dst, "wb").write(b)
