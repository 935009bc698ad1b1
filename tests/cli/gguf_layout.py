"""gguf_layout.py - the GGUF v2/v3 header walk the test helpers share (gguf_set_str.py,
gguf_fill.py); written from the GGUF layout (ggml docs/gguf.md), nothing more.

read(b) -> (n_tensors, kvs, infos, data_start, align): kvs is a list of (key, bytes of the whole
key/value entry), infos a list of (name, dims, type, offset), data_start where tensor data
begins."""
import struct

SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def _skip_value(b, t, off):
    if t in SIZES:
        return off + SIZES[t]
    if t == 8:
        (n,) = struct.unpack_from("<Q", b, off)
        return off + 8 + n
    et, n = struct.unpack_from("<IQ", b, off)
    off += 12
    for _ in range(n):
        off = _skip_value(b, et, off)
    return off


def read(b):
    assert b[:4] == b"GGUF" and struct.unpack_from("<I", b, 4)[0] in (2, 3), "GGUF v2/v3 only"
    n_t, n_kv = struct.unpack_from("<QQ", b, 8)
    off, kvs, align = 24, [], 32
    for _ in range(n_kv):
        start = off
        (klen,) = struct.unpack_from("<Q", b, off)
        k = bytes(b[off + 8: off + 8 + klen]).decode()
        (t,) = struct.unpack_from("<I", b, off + 8 + klen)
        if k == "general.alignment":
            (align,) = struct.unpack_from("<I", b, off + 12 + klen)
        off = _skip_value(b, t, off + 12 + klen)
        kvs.append((k, bytes(b[start:off])))
    infos = []
    for _ in range(n_t):
        (nlen,) = struct.unpack_from("<Q", b, off)
        name = bytes(b[off + 8: off + 8 + nlen]).decode()
        off += 8 + nlen
        (nd,) = struct.unpack_from("<I", b, off)
        dims = struct.unpack_from("<%dQ" % nd, b, off + 4)
        ttype, toff = struct.unpack_from("<IQ", b, off + 4 + 8 * nd)
        off += 4 + 8 * nd + 12
        infos.append((name, dims, ttype, toff))
    return n_t, kvs, infos, off, (off + align - 1) // align * align, align
