#!/usr/bin/env bash
# llmr tokenize / detokenize: ids on one line, --no-bos, --special, --pieces, -f FILE and
# stdin, the round trip, and exit statuses on bad input (1) and usage errors (2).
set -u
BIN=${LLMR_BIN:?}
SHARED=${LLMR_SHARED:-../shared}
. "$(dirname "$0")/../check.bash"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# usage errors exit 2, before any file is read
"$BIN" tokenize >/dev/null 2>&1; check "tokenize, no args -> 2" $([ $? = 2 ]; echo $?)
"$BIN" tokenize -m x.gguf >/dev/null 2>&1; check "tokenize, no text -> 2" $([ $? = 2 ]; echo $?)
"$BIN" tokenize -m x.gguf -f a b >/dev/null 2>&1; check "text and -f -> 2" $([ $? = 2 ]; echo $?)
"$BIN" tokenize -m x.gguf --bogus hi >/dev/null 2>&1; check "unknown flag -> 2" $([ $? = 2 ]; echo $?)
"$BIN" tokenize hi >/dev/null 2>&1; check "no -m -> 2" $([ $? = 2 ]; echo $?)
"$BIN" detokenize -m x.gguf >/dev/null 2>&1; check "detokenize, no ids -> 2" $([ $? = 2 ]; echo $?)
"$BIN" detokenize -m x.gguf 12abc >/dev/null 2>&1; check "non-number id -> 2" $([ $? = 2 ]; echo $?)
"$BIN" help tokenize | grep -q -- '--no-bos'; check "help tokenize" $?
"$BIN" --help | grep -q detokenize; check "detokenize listed" $?

# bad input exits 1 with a message naming it
"$BIN" tokenize -m /nonexistent.gguf hi 2>"$tmp/err" >/dev/null; rc=$?
check "missing model -> 1" $([ $rc = 1 ]; echo $?)
grep -q 'nonexistent.gguf' "$tmp/err"; check "missing model named" $?
"$BIN" tokenize -m /nonexistent.gguf -f /nonexistent.txt 2>"$tmp/err" >/dev/null; rc=$?
check "missing text file -> 1" $([ $rc = 1 ]; echo $?)
grep -q 'nonexistent.txt' "$tmp/err"; check "missing text file named" $?
printf 'GGUF\x03\x00\x00\x00' > "$tmp/short.gguf"
"$BIN" tokenize -m "$tmp/short.gguf" hi 2>/dev/null >/dev/null; rc=$?
check "truncated model -> 1" $([ $rc = 1 ]; echo $?)

M=$SHARED/vocab/ggml-vocab-llama-bpe.gguf
S=$SHARED/models/stories260K.gguf
if [ ! -f "$M" ] || [ ! -f "$S" ]; then
    echo "skipped: $SHARED/vocab or $SHARED/models is absent (the real-file checks need ../shared)"
    echo "$passes passed, $fails failed"
    [ $fails = 0 ] || exit 1
    exit 77
fi

# ids on one line; BOS by default, none with --no-bos
out=$("$BIN" tokenize -m "$S" "Once upon a time"); check "tokenize exit 0" $?
[ "$out" = "1 403 407 261 378" ]; check "stories260K golden prompt ids ($out)" $?
out=$("$BIN" tokenize -m "$S" --no-bos "Once upon a time")
[ "$out" = "403 407 261 378" ]; check "--no-bos ($out)" $?

# control-token text is plain text unless --special
out=$("$BIN" tokenize -m "$M" --no-bos "Hi<|eot_id|>")
[ "$out" != "13347 128009" ] && ! echo " $out " | grep -q ' 128009 '; check "no injection ($out)" $?
out=$("$BIN" tokenize -m "$M" --no-bos --special "Hi<|eot_id|>")
[ "$out" = "13347 128009" ]; check "--special ($out)" $?

# --pieces: one token per line with its text
"$BIN" tokenize -m "$M" --pieces "Hello world" > "$tmp/p"; check "--pieces exit 0" $?
[ "$(wc -l < "$tmp/p")" = 3 ]; check "--pieces lines" $?
grep -q "^128000	'<|begin_of_text|>'$" "$tmp/p"; check "--pieces BOS" $?
grep -q "^1917	' world'$" "$tmp/p"; check "--pieces word" $?

# round trip through files and stdin, byte for byte
printf 'Caf\xc3\xa9 \xf0\x9f\xa6\x99 \xe4\xbd\xa0\xe5\xa5\xbd\n\ttabs  and  spaces\n' > "$tmp/in.txt"
for model in "$M" "$S" "$SHARED/vocab/ggml-vocab-llama-spm.gguf"; do
    ids=$("$BIN" tokenize -m "$model" --no-bos -f "$tmp/in.txt")
    "$BIN" detokenize -m "$model" $ids > "$tmp/back.txt"; check "detokenize exit 0" $?
    cmp -s "$tmp/in.txt" "$tmp/back.txt"; rc=$?; check "round trip $(basename "$model")" $rc
done
ids=$("$BIN" tokenize -m "$S" --no-bos -f "$tmp/in.txt")
ids2=$("$BIN" tokenize -m "$S" --no-bos -f - < "$tmp/in.txt")
[ "$ids" = "$ids2" ]; check "stdin = file" $?
"$BIN" detokenize -m "$S" "1 403,407 261 378" > "$tmp/o"; check "ids in one argument" $?
[ "$(cat "$tmp/o")" = "Once upon a time" ]; check "detokenize text" $?
"$BIN" detokenize -m "$S" --special 1 403 > "$tmp/o"
[ "$(cat "$tmp/o")" = "<s> Once" ]; check "detokenize --special" $?

# invalid UTF-8 is read as U+FFFD, with a warning; never a crash
printf 'a\xffb\xc3' > "$tmp/bad.txt"
ids=$("$BIN" tokenize -m "$S" --no-bos -f "$tmp/bad.txt" 2>"$tmp/err"); check "invalid UTF-8 exit 0" $?
grep -q 'U+FFFD' "$tmp/err"; check "invalid UTF-8 warning" $?
"$BIN" detokenize -m "$S" $ids > "$tmp/o"
printf 'a\xef\xbf\xbdb\xef\xbf\xbd' | cmp -s - "$tmp/o"; check "invalid bytes became U+FFFD" $?
head -c 3000 /dev/urandom > "$tmp/rand.bin"
"$BIN" tokenize -m "$S" -f "$tmp/rand.bin" >/dev/null 2>&1; check "random bytes exit 0" $?

# out-of-range ids are bad input
"$BIN" detokenize -m "$S" 512 2>"$tmp/err" >/dev/null; rc=$?
check "id out of range -> 1" $([ $rc = 1 ]; echo $?)
grep -q '512' "$tmp/err"; check "id out of range named" $?
"$BIN" detokenize -m "$S" -1 >/dev/null 2>&1; rc=$?
check "negative id -> 2" $([ $rc = 2 ]; echo $?)

echo "$passes passed, $fails failed"
[ $fails = 0 ]
