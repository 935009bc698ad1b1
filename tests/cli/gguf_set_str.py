#!/usr/bin/env python3
"""gguf_set_str.py IN OUT KEY VALUE_FILE - test helper: copies a GGUF v2/v3 file, adding (or
replacing) one string key whose value is read from VALUE_FILE. Used to give test models a
chat template."""
import os, struct, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_layout

src, dst, key, value_file = sys.argv[1:5]
value = open(value_file, "rb").read()
b = open(src, "rb").read()
n_t, kvs, _, infos_end, data_start, align = gguf_layout.read(b)
infos_start = 24 + sum(len(e) for (_, e) in kvs)
infos = b[infos_start:infos_end]
kept = [e for (k, e) in kvs if k != key]
kb = key.encode()
kept.append(struct.pack("<Q", len(kb)) + kb + struct.pack("<IQ", 8, len(value)) + value)
head = b[:8] + struct.pack("<QQ", n_t, len(kept)) + b"".join(kept) + infos
head += b"\0" * ((-len(head)) % align)
open(dst, "wb").write(head + b[data_start:])
