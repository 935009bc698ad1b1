#!/usr/bin/env python3
"""gguf_set_str.py IN OUT KEY VALUE_FILE - test helper: copies a GGUF v2/v3 file, adding (or
replacing) one string key whose value is read from VALUE_FILE. Used to give test models a
chat template; written from the GGUF layout (ggml docs/gguf.md), nothing more."""
import struct, sys

src, dst, key, value_file = sys.argv[1:5]
value = open(value_file, "rb").read()
b = open(src, "rb").read()
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

kvs, align = [], 32
for _ in range(n_kv):
    start = off
    (klen,) = struct.unpack_from("<Q", b, off)
    k = b[off + 8: off + 8 + klen].decode()
    off += 8 + klen
    (t,) = struct.unpack_from("<I", b, off)
    off = skip_value(t, off + 4)
    if k == "general.alignment":
        align = struct.unpack_from("<I", b, off - 4)[0]
    if k != key:
        kvs.append(b[start:off])
infos_start = off
for _ in range(n_t):
    (nlen,) = struct.unpack_from("<Q", b, off)
    off += 8 + nlen
    (nd,) = struct.unpack_from("<I", b, off)
    off += 4 + 8 * nd + 4 + 8
infos = b[infos_start:off]
data_start = (off + align - 1) // align * align
kb = key.encode()
kvs.append(struct.pack("<Q", len(kb)) + kb + struct.pack("<IQ", 8, len(value)) + value)
head = b[:8] + struct.pack("<QQ", n_t, len(kvs)) + b"".join(kvs) + infos
head += b"\0" * ((-len(head)) % align)
open(dst, "wb").write(head + b[data_start:])
