#!/usr/bin/env bash
# llmr info: facts of real files, --json keys, --tensors, and exit statuses on bad input.
set -u
BIN=${LLMR_BIN:?}
SHARED=${LLMR_SHARED:-../shared}
. "$(dirname "$0")/../check.bash"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# usage errors exit 2
"$BIN" info >/dev/null 2>&1; check "no args -> 2" $([ $? = 2 ]; echo $?)
"$BIN" info --bogus x.gguf >/dev/null 2>&1; check "unknown flag -> 2" $([ $? = 2 ]; echo $?)
"$BIN" nosuchcmd >/dev/null 2>&1; check "unknown command -> 2" $([ $? = 2 ]; echo $?)
"$BIN" --version | grep -Eq '^llmr [0-9]+\.[0-9]+\.[0-9]+$'; check "--version" $?
"$BIN" help info | grep -q -- '--json'; check "help info" $?

# bad input exits 1 with one line naming the problem
"$BIN" info /nonexistent.gguf 2>"$tmp/err" >/dev/null; rc=$?
check "missing file -> 1" $([ $rc = 1 ]; echo $?)
grep -q 'nonexistent.gguf' "$tmp/err"; check "missing file named" $?
printf 'GGUF\x03\x00\x00\x00' > "$tmp/short.gguf"
"$BIN" info "$tmp/short.gguf" 2>"$tmp/err" >/dev/null; rc=$?
check "truncated -> 1" $([ $rc = 1 ]; echo $?)
grep -q 'truncated' "$tmp/err"; check "truncated message" $?
[ "$(wc -l < "$tmp/err")" = 1 ]; check "one line on stderr" $?

if [ ! -d "$SHARED/models" ]; then
    echo "skipped: $SHARED/models is absent (the real-file checks need ../shared)"
    echo "$passes passed, $fails failed"
    [ $fails = 0 ] || exit 1
    exit 77
fi

# stories260K facts, for the v3, F16 and v1 files
for f in stories260K.gguf stories260K-f16.gguf stories260K-gguf-v1.gguf; do
    "$BIN" info --json "$SHARED/models/$f" > "$tmp/o.json"; check "$f exit 0" $?
    python3 - "$tmp/o.json" "$f" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
want = dict(architecture="llama", n_layer=5, n_embd=64, n_head=8, n_head_kv=4, n_ff=172,
            n_vocab=512, bos_token_id=1, eos_token_id=2, n_ctx_train=512, tokenizer_model="llama",
            n_params=292800)
bad = {k: (d.get(k), v) for k, v in want.items() if d.get(k) != v}
assert not bad, bad
assert d["gguf_version"] == (1 if "v1" in sys.argv[2] else 3)
assert sum(d["tensor_types"].values()) == 48, d["tensor_types"]
if "f16" in sys.argv[2]:
    assert d["tensor_types"] == {"F32": 11, "F16": 37}, d["tensor_types"]
PY
    check "$f facts" $?
done

# every shared file gives valid JSON with the contract's keys
for f in "$SHARED"/models/*.gguf "$SHARED"/vocab/*.gguf "$SHARED"/fixtures/*.gguf "$SHARED"/fixtures/arch/*.gguf; do
    [ -f "$f" ] || continue
    "$BIN" info --json "$f" > "$tmp/o.json" && python3 - "$tmp/o.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for k in ["gguf_version", "architecture", "n_params", "n_vocab", "n_ctx_train", "n_embd",
          "n_layer", "n_head", "n_head_kv", "n_ff", "bos_token_id", "eos_token_id",
          "tokenizer_model", "tensor_types"]:
    assert k in d, k
PY
    rc=$?; check "keys of $(basename "$f")" $rc
done

# qfix Q4_K_M mix and the qwen2 fixture
"$BIN" info --json "$SHARED/fixtures/qfix-Q4_K_M.gguf" | python3 -c '
import json,sys; d=json.load(sys.stdin); assert d["tensor_types"]=={"F32":5,"Q4_K":13,"Q6_K":3}, d'
check "Q4_K_M tensor types" $?
"$BIN" info --json "$SHARED/fixtures/arch/archfix-qwen2.gguf" | python3 -c '
import json,sys; d=json.load(sys.stdin); assert d["architecture"]=="qwen2" and d["n_vocab"]==512, d'
check "qwen2 vocab from token count" $?

# --tensors lists every tensor with its offset
n=$("$BIN" info --tensors "$SHARED/models/stories260K.gguf" | grep -c '^blk\.\|^token_embd\|^output')
check "--tensors lists 48" $([ "$n" = 48 ]; echo $?)
"$BIN" info --json --tensors "$SHARED/models/stories260K.gguf" | python3 -c '
import json,sys; d=json.load(sys.stdin); t=d["tensors"]; assert len(t)==48
e=[x for x in t if x["name"]=="token_embd.weight"][0]; assert e["shape"]==[64,512] and e["type"]=="F32"'
check "--json --tensors" $?

# a corrupted real file: exit 1, never a crash
cp "$SHARED/models/stories260K.gguf" "$tmp/c.gguf"
printf '\xff\xff\xff\xff\xff\xff\xff\x7f' | dd of="$tmp/c.gguf" bs=1 seek=16 conv=notrunc 2>/dev/null
"$BIN" info "$tmp/c.gguf" >/dev/null 2>"$tmp/err"; rc=$?
check "corrupted kv count -> 1" $([ $rc = 1 ]; echo $?)
head -c 600000 "$SHARED/models/stories260K.gguf" > "$tmp/t.gguf"
"$BIN" info "$tmp/t.gguf" >/dev/null 2>"$tmp/err"; rc=$?
check "truncated real file -> 1" $([ $rc = 1 ]; echo $?)
grep -q 'past the end of the file' "$tmp/err"; check "truncated real file message" $?
# a pipe is not mappable: the read() fallback
"$BIN" info --json <(cat "$SHARED/models/stories260K.gguf") | grep -q '"n_layer":5'
check "read() fallback through a pipe" $?

# a chat template is reported with its family (the model gets Llama 3.1's template)
python3 "$(dirname "$0")/gguf_set_str.py" "$SHARED/models/stories260K.gguf" "$tmp/tmpl.gguf" \
    tokenizer.chat_template "$SHARED/chat-templates/llama.cpp/meta-llama-Llama-3.1-8B-Instruct.jinja"
"$BIN" info --json "$tmp/tmpl.gguf" | python3 -c '
import json,sys; d=json.load(sys.stdin)
assert d["has_chat_template"] and d["chat_template_family"]=="llama3" and d["n_layer"]==5, d'
check "chat template family" $?
"$BIN" info "$tmp/tmpl.gguf" | grep -q "chat template *yes (llama3)"; check "template in text output" $?

echo "$passes passed, $fails failed"
[ $fails = 0 ]
