#!/usr/bin/env bash
# llmr vocab --from-hf on small hand-made tokenizer.json files (no network): the GGUF keys of
# a byte-level BPE and of a SentencePiece-style BPE, the ids they give, errors on what it
# cannot convert; and the batch modes tokenize --split and detokenize --lines.
set -u
BIN=${LLMR_BIN:?}
. "$(dirname "$0")/../check.bash"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
field() { python3 -c "import json,sys; print(json.load(sys.stdin).get('$1'))"; }

# ---- byte-level (Qwen's split regex); merges in both of tokenizer.json's forms ----
cat > "$tmp/bl.json" <<'EOF'
{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "Ġ": 3, "Ġa": 4, "Ġab": 7, "Ċ": 8},
  "merges": ["a b", ["Ġ", "a"], "Ġa b", "Ġ ab"]},
 "added_tokens": [{"id": 5, "content": "<|im_end|>", "special": true},
                  {"id": 6, "content": "<think>", "special": false},
                  {"id": 10, "content": "<|pad|>", "special": false}],
 "normalizer": {"type": "NFC"},
 "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex":
   "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
   "behavior": "Isolated", "invert": false}, {"type": "ByteLevel", "use_regex": false}]},
 "decoder": {"type": "ByteLevel"}}
EOF
cat > "$tmp/bl_cfg.json" <<'EOF'
{"add_bos_token": false, "bos_token": null, "eos_token": "<|im_end|>",
 "pad_token": {"content": "<|pad|>"}, "chat_template": "{{ messages[0].content }}"}
EOF
"$BIN" vocab --from-hf "$tmp/bl.json" --config "$tmp/bl_cfg.json" --name "Qwen test" \
    -o "$tmp/bl.gguf"; check "byte-level converts" $?
"$BIN" info --json "$tmp/bl.gguf" > "$tmp/bl.info"
[ "$(field tokenizer_model < "$tmp/bl.info")" = gpt2 ]; check "model gpt2" $?
[ "$(field tokenizer_pre < "$tmp/bl.info")" = qwen2 ]; check "pre qwen2 from the regex" $?
[ "$(field n_vocab < "$tmp/bl.info")" = 11 ]; check "n_vocab: highest id + 1" $?
[ "$(field eos_token_id < "$tmp/bl.info")" = 5 ]; check "eos from the config" $?
[ "$(field padding_token_id < "$tmp/bl.info")" = 10 ]; check "pad from {content}" $?
[ "$(field has_chat_template < "$tmp/bl.info")" = True ]; check "chat template kept" $?
out=$("$BIN" tokenize -m "$tmp/bl.gguf" --special "ab ab<|im_end|><think>")
[ "$out" = "2 7 5 6" ]; check "merges of both forms, in rank order; no BOS ($out)" $?
out=$("$BIN" tokenize -m "$tmp/bl.gguf" " a")
[ "$out" = "4" ]; check "Ġ a made before a b could ($out)" $?
out=$("$BIN" tokenize -m "$tmp/bl.gguf" --pieces --no-bos "[PAD9]")
! echo "$out" | grep -q "^9	"; check "a hole is an unused [PADn], never produced ($out)" $?
out=$("$BIN" tokenize -m "$tmp/bl.gguf" --no-bos "<|pad|>")
[ "$out" != 10 ]; check "<|...|> is a control token even if not marked special ($out)" $?

# ---- SentencePiece-style (Llama 2): scores from merge ranks, Prepend -> leading space ----
cat > "$tmp/spm.json" <<'EOF'
{"model": {"type": "BPE", "byte_fallback": true, "unk_token": "<unk>",
  "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0x0A>": 3, "▁": 4, "a": 5, "b": 6, "ab": 7,
            "▁a": 8, "▁ab": 9, "ba": 10},
  "merges": ["▁ a", "b a", "a b", "▁a b"]},
 "added_tokens": [{"id": 0, "content": "<unk>", "special": true},
                  {"id": 1, "content": "<s>", "special": true},
                  {"id": 2, "content": "</s>", "special": true},
                  {"id": 11, "content": "▁▁", "special": false}],
 "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
   {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
 "pre_tokenizer": null,
 "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>",
   "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}]},
 "decoder": {"type": "Sequence", "decoders": [{"type": "ByteFallback"}]}}
EOF
"$BIN" vocab --from-hf "$tmp/spm.json" -o "$tmp/spm.gguf"; check "SentencePiece-style converts" $?
"$BIN" info --json "$tmp/spm.gguf" > "$tmp/spm.info"
[ "$(field tokenizer_model < "$tmp/spm.info")" = llama ]; check "model llama" $?
[ "$(field bos_token_id < "$tmp/spm.info")" = 1 ]; check "BOS from the post-processor" $?
out=$("$BIN" tokenize -m "$tmp/spm.gguf" "ab")
[ "$out" = "1 9" ]; check "BOS added, leading space, ▁a then ▁ab ($out)" $?
# "aba": the merges make "a" + "ba" (rank 1 before rank 2), not "ab" + "a"
out=$("$BIN" tokenize -m "$tmp/spm.gguf" --no-bos "xaba")
[ "$out" = "4 0 5 10" ]; check "scores follow the merge ranks; unknown x is <unk> ($out)" $?
out=$("$BIN" tokenize -m "$tmp/spm.gguf" --no-bos --pieces "a  b")
echo "$out" | grep -q "^11	'  '$"; check "a user piece's ▁ is stored as a space ($out)" $?
out=$("$BIN" tokenize -m "$tmp/spm.gguf" --no-bos $'a\n')
[ "$out" = "8 3" ]; check "byte fallback <0x0A> ($out)" $?

# ---- what it refuses: exit 1 with the reason; usage errors exit 2 ----
echo '{"model": {"type": "Unigram", "vocab": []}}' > "$tmp/uni.json"
"$BIN" vocab --from-hf "$tmp/uni.json" -o "$tmp/x.gguf" 2>"$tmp/err"; rc=$?
[ $rc = 1 ] && grep -q Unigram "$tmp/err"; check "Unigram refused, named ($rc)" $?
sed 's/\\\\p{N}|/\\\\p{N}{1,2}|/' "$tmp/bl.json" > "$tmp/re.json"
"$BIN" vocab --from-hf "$tmp/re.json" -o "$tmp/x.gguf" 2>"$tmp/err"; rc=$?
[ $rc = 1 ] && grep -q "regex" "$tmp/err"; check "an unknown split regex refused ($rc)" $?
sed 's/"a b", /"ab", /' "$tmp/bl.json" > "$tmp/m.json"
"$BIN" vocab --from-hf "$tmp/m.json" -o "$tmp/x.gguf" 2>"$tmp/err"; rc=$?
[ $rc = 1 ] && grep -q "merges\[0\]" "$tmp/err"; check "a merge without a space refused ($rc)" $?
sed 's/"ab": 2/"ab": -2/' "$tmp/bl.json" > "$tmp/id.json"
"$BIN" vocab --from-hf "$tmp/id.json" -o "$tmp/x.gguf" 2>/dev/null; rc=$?
[ $rc = 1 ]; check "a negative id refused ($rc)" $?
sed 's/"ab": 2/"ab": 99999999/' "$tmp/bl.json" > "$tmp/id.json"
"$BIN" vocab --from-hf "$tmp/id.json" -o "$tmp/x.gguf" 2>/dev/null; rc=$?
[ $rc = 1 ]; check "an id past 2^21 refused ($rc)" $?
echo '{"model": ' > "$tmp/bad.json"
"$BIN" vocab --from-hf "$tmp/bad.json" -o "$tmp/x.gguf" 2>/dev/null; rc=$?
[ $rc = 1 ]; check "truncated JSON refused ($rc)" $?
"$BIN" vocab --from-hf /nonexistent.json -o "$tmp/x.gguf" 2>"$tmp/err"; rc=$?
[ $rc = 1 ] && grep -q nonexistent "$tmp/err"; check "missing file named ($rc)" $?
[ ! -e "$tmp/x.gguf" ]; check "no output left after a failure" $?
"$BIN" vocab --from-hf "$tmp/bl.json" >/dev/null 2>&1; check "no -o -> 2" $([ $? = 2 ]; echo $?)
"$BIN" vocab --bogus x >/dev/null 2>&1; check "unknown flag -> 2" $([ $? = 2 ]; echo $?)
"$BIN" help vocab | grep -q -- '--from-hf'; check "help vocab" $?

# ---- tokenize --split and detokenize --lines ----
printf 'ab\n__S__\n\n__S__\nab ab<|im_end|>' > "$tmp/in"
"$BIN" tokenize -m "$tmp/bl.gguf" --special --split $'\n__S__\n' -f "$tmp/in" > "$tmp/ids"
[ "$(cat "$tmp/ids")" = $'2\n\n2 7 5' ]; check "--split: one line per part, empty ones too" $?
"$BIN" detokenize -m "$tmp/bl.gguf" --special --lines "$tmp/ids" > "$tmp/txt"
[ "$(cat "$tmp/txt")" = $'"ab"\n""\n"ab ab<|im_end|>"' ]; check "--lines: JSON strings" $?
printf '8\n8 3 0\n' | "$BIN" detokenize -m "$tmp/spm.gguf" --lines - > "$tmp/txt"
[ "$(cat "$tmp/txt")" = $'"a"\n"a\\n"' ]; check "--lines from stdin, newline escaped" $?
printf '2\n99\n' | "$BIN" detokenize -m "$tmp/bl.gguf" --lines - >/dev/null 2>&1
check "--lines: an id out of range -> 1" $([ $? = 1 ]; echo $?)
"$BIN" detokenize -m "$tmp/bl.gguf" --lines - 2 >/dev/null 2>&1
check "--lines and ids -> 2" $([ $? = 2 ]; echo $?)

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
