#!/usr/bin/env bash
# llmr quantize --repack: a file stored in the loader's row-interleaved layouts gives the
# logits of its plain file (with load-time repacking on, off and by default), dequantizes to
# the same values, names its types in `llmr info --json`, and a damaged or unknown one is
# refused with a message instead of being read.
set -u
BIN=${LLMR_BIN:?}
SHARED=${LLMR_SHARED:-../shared}
. "$(dirname "$0")/../check.bash"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

F="$SHARED/fixtures"
if [ ! -f "$F/qfix-Q8_0.gguf" ] || ! command -v jq >/dev/null || ! command -v python3 >/dev/null
then
    echo "skipped: $F/qfix-*.gguf, jq or python3 is absent"
    echo "$passes passed, $fails failed"; [ $fails = 0 ] || exit 1; exit 77
fi

ids=1,403,407,261,378,300,20
same_logits() { # name, plain file, repacked file
    for e in 1 0 default; do
        if [ $e = default ]; then unset LLMR_REPACK; else export LLMR_REPACK=$e; fi
        "$BIN" eval -m "$2" --ids $ids --all --json -t 2 > "$tmp/p.json" 2>/dev/null
        "$BIN" eval -m "$3" --ids $ids --all --json -t 2 > "$tmp/r.json" 2>"$tmp/err"
        check "$1: eval exit 0 (LLMR_REPACK=$e)" $?
        [ -s "$tmp/r.json" ] && cmp -s "$tmp/p.json" "$tmp/r.json"
        check "$1: logits identical to the plain file (LLMR_REPACK=$e)" $?
    done
    unset LLMR_REPACK
}
same_values() { # name, plain file, repacked file, tensors...
    local name=$1 plain=$2 rep=$3; shift 3
    for t in "$@"; do
        a=$("$BIN" tensor "$plain" $t --sha256); b=$("$BIN" tensor "$rep" $t --sha256)
        [ -n "$b" ] && [ "$a" = "$b" ]; check "$name: $t dequantizes as the plain file" $?
    done
}

# an already quantized file: only rearranged (no TYPE), never quantized again
for ty in Q8_0 Q4_0 IQ4_NL; do
    "$BIN" quantize --repack "$F/qfix-$ty.gguf" "$tmp/$ty-r.gguf" 2>"$tmp/err"
    check "$ty: quantize --repack exit 0" $?
    grep -q "repacked" "$tmp/err"; check "$ty: summary counts the repacked tensors" $?
    "$BIN" info --json "$tmp/$ty-r.gguf" > "$tmp/info.json"
    # the 14 products of the two layers and output.weight; token_embd stays plain
    jq -e --arg r "${ty}_R8" --arg p "$ty" '.tensor_types[$r] == 15 and .tensor_types[$p] == 1' \
        "$tmp/info.json" >/dev/null; check "$ty: info --json shows ${ty}_R8" $?
    "$BIN" info --json --tensors "$tmp/$ty-r.gguf" | jq -e --arg r "${ty}_R8" \
        '.tensors[] | select(.name == "blk.1.ffn_down.weight") | .type == $r' >/dev/null
    check "$ty: a product's type is ${ty}_R8" $?
    same_logits "$ty" "$F/qfix-$ty.gguf" "$tmp/$ty-r.gguf"
    same_values "$ty" "$F/qfix-$ty.gguf" "$tmp/$ty-r.gguf" blk.0.attn_q.weight \
        blk.1.ffn_down.weight output.weight token_embd.weight
done
# the fixtures' checksums of llama.cpp's dequantized values hold for the repacked file too
want=$(jq -r '.files["qfix-Q4_0.gguf"]["blk.0.attn_q.weight"].sha256_f32' \
       "$F/qfix-dequant-checksums.json" 2>/dev/null)
[ -n "$want" ] && [ "$want" = "$("$BIN" tensor "$tmp/Q4_0-r.gguf" blk.0.attn_q.weight --sha256)" ]
check "Q4_0_R8 dequantizes to llama.cpp's checksum" $?
# repacking a repacked file changes nothing
"$BIN" quantize --repack "$tmp/Q8_0-r.gguf" "$tmp/again.gguf" 2>/dev/null
cmp -s "$tmp/Q8_0-r.gguf" "$tmp/again.gguf"; check "repacking twice is repacking once" $?

# quantizing with --repack is quantizing, then repacking
"$BIN" quantize "$F/qfix-F32.gguf" "$tmp/q8.gguf" Q8_0 --pure -t 2 2>/dev/null
"$BIN" quantize "$F/qfix-F32.gguf" "$tmp/q8r.gguf" Q8_0 --pure --repack -t 2 2>/dev/null
check "quantize Q8_0 --repack exit 0" $?
"$BIN" quantize --repack "$tmp/q8.gguf" "$tmp/q8rr.gguf" 2>/dev/null
cmp -s "$tmp/q8r.gguf" "$tmp/q8rr.gguf"; check "quantize --repack == quantize, then --repack" $?
# F16 (F16_R16 where this build has the layout)
"$BIN" quantize --repack "$F/qfix-F16.gguf" "$tmp/f16r.gguf" 2>/dev/null
check "F16: quantize --repack exit 0" $?
same_logits F16 "$F/qfix-F16.gguf" "$tmp/f16r.gguf"
same_values F16 "$F/qfix-F16.gguf" "$tmp/f16r.gguf" blk.0.attn_k.weight output.weight
# BF16: BF16_R16 at every level; its values and llama.cpp's checksum survive the layout
"$BIN" quantize --repack "$F/qfix-BF16.gguf" "$tmp/bf16r.gguf" 2>/dev/null
check "BF16: quantize --repack exit 0" $?
"$BIN" info --json --tensors "$tmp/bf16r.gguf" | jq -e \
    '.tensors[] | select(.name == "blk.1.ffn_down.weight") | .type == "BF16_R16"' >/dev/null
check "BF16: a product's type is BF16_R16" $?
same_logits BF16 "$F/qfix-BF16.gguf" "$tmp/bf16r.gguf"
same_values BF16 "$F/qfix-BF16.gguf" "$tmp/bf16r.gguf" blk.0.attn_k.weight blk.1.ffn_up.weight \
    output.weight
want=$(jq -r '.files["qfix-BF16.gguf"]["blk.1.ffn_up.weight"].sha256_f32' \
       "$F/qfix-dequant-checksums.json" 2>/dev/null)
[ -n "$want" ] && [ "$want" = "$("$BIN" tensor "$tmp/bf16r.gguf" blk.1.ffn_up.weight --sha256)" ]
check "BF16_R16 dequantizes to llama.cpp's checksum" $?
# still refused: quantizing a quantized file again
"$BIN" quantize --repack "$F/qfix-Q8_0.gguf" "$tmp/x.gguf" Q4_0 2>"$tmp/err"
check "requantize --repack refused" $([ $? = 1 ]; echo $?)

# damaged and unknown files are refused, with the reason
size=$(stat -c %s "$tmp/Q8_0-r.gguf")
head -c $((size - 4096)) "$tmp/Q8_0-r.gguf" > "$tmp/trunc.gguf"
"$BIN" eval -m "$tmp/trunc.gguf" --ids 1 2>"$tmp/err" >/dev/null
check "truncated repacked file -> 1" $([ $? = 1 ]; echo $?)
grep -q "trunc.gguf" "$tmp/err"; check "truncated file named" $?
# patch one tensor's type id (and optionally its row count) in the tensor infos
patch() { # in, out, tensor, new type id, [new ne1]
    python3 - "$@" <<'PY'
import struct, sys
src, dst, name, ty = sys.argv[1], sys.argv[2], sys.argv[3].encode(), int(sys.argv[4], 0)
ne1 = int(sys.argv[5]) if len(sys.argv) > 5 else None
b = bytearray(open(src, "rb").read())
o = 8
nt, nkv = struct.unpack_from("<QQ", b, o); o += 16
size = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
def skip(t, o):
    if t == 8:
        return o + 8 + struct.unpack_from("<Q", b, o)[0]
    if t == 9:
        et, n = struct.unpack_from("<IQ", b, o); o += 12
        for _ in range(n):
            o = skip(et, o)
        return o
    return o + size[t]
for _ in range(nkv):
    o += 8 + struct.unpack_from("<Q", b, o)[0]
    t = struct.unpack_from("<I", b, o)[0]
    o = skip(t, o + 4)
for _ in range(nt):
    n = struct.unpack_from("<Q", b, o)[0]; nm = bytes(b[o + 8:o + 8 + n]); o += 8 + n
    nd = struct.unpack_from("<I", b, o)[0]; o += 4
    dims = o; o += 8 * nd
    if nm == name:
        struct.pack_into("<I", b, o, ty)
        if ne1 is not None:
            struct.pack_into("<Q", b, dims + 8, ne1)
    o += 12
open(dst, "wb").write(b)
PY
}
# a layout this build does not have (Q8_0 in groups of 4: same bytes, other arrangement)
patch "$tmp/Q8_0-r.gguf" "$tmp/r4.gguf" blk.0.attn_q.weight 0x10408
"$BIN" info --json --tensors "$tmp/r4.gguf" | jq -e '.tensors[] |
    select(.name == "blk.0.attn_q.weight") | .type == "Q8_0_R4"' >/dev/null
check "unknown layout still named by info" $?
"$BIN" eval -m "$tmp/r4.gguf" --ids 1 2>"$tmp/err" >/dev/null
check "unknown layout -> 1" $([ $? = 1 ]; echo $?)
grep -q "blk.0.attn_q.weight has type Q8_0_R4.*does not have" "$tmp/err"
check "unknown layout named in the error" $?
"$BIN" tensor "$tmp/r4.gguf" blk.0.attn_q.weight --sha256 >/dev/null 2>&1
check "tensor refuses an unknown layout" $([ $? = 1 ]; echo $?)
# a row count that is not whole groups
patch "$tmp/Q8_0-r.gguf" "$tmp/rows.gguf" blk.0.attn_k.weight 0x10808 127
"$BIN" eval -m "$tmp/rows.gguf" --ids 1 2>"$tmp/err" >/dev/null
check "partial group -> 1" $([ $? = 1 ]; echo $?)
grep -q "groups are 8 rows, but 127 rows" "$tmp/err"; check "partial group explained" $?
# an id in llmr's range that names no layout at all (rows 3)
patch "$tmp/Q8_0-r.gguf" "$tmp/bad.gguf" blk.0.attn_q.weight 0x10308
"$BIN" info "$tmp/bad.gguf" 2>"$tmp/err" >/dev/null
check "malformed repacked id -> 1" $([ $? = 1 ]; echo $?)
grep -q "unknown type id 66312" "$tmp/err"; check "malformed id named" $?

echo "$passes passed, $fails failed"
[ $fails = 0 ]
