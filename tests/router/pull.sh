#!/usr/bin/env bash
# llmr pull / ls / rm against a local HTTP server (tests/router/httpd.py): a download cut off
# mid-file resumes with a Range request, a wrong sha256 or a non-GGUF URL leaves nothing behind,
# and the path is the last line of stdout.
set -u
BIN=${LLMR_BIN:?}
SRC=${LLMR_SRC:-$(dirname "$0")/../..}
command -v python3 >/dev/null || { echo "skipped: python3 is absent"; exit 77; }
"$BIN" help pull >/dev/null || exit 1
. "$(dirname "$0")/../check.bash"
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
export LLMR_CACHE_DIR="$tmp/cache"

# a "model": the GGUF magic and 3 MiB of random bytes (pull checks the magic and sha256 only)
mkdir -p "$tmp/www"
{ printf 'GGUF'; head -c 3145728 /dev/urandom; } > "$tmp/www/tiny.gguf"
echo '<!DOCTYPE html><html>hello</html>' > "$tmp/www/page.gguf"
SHA=$(sha256sum "$tmp/www/tiny.gguf" | cut -d' ' -f1)

start_server() { # name, extra args...; sets PORT
    local name=$1; shift
    rm -f "$tmp/$name.port"
    python3 "$SRC/tests/router/httpd.py" --root "$tmp/www" --port-file "$tmp/$name.port" \
        --log "$tmp/$name.log" "$@" >"$tmp/$name.out" 2>&1 & pids+=($!)
    for _ in $(seq 200); do [ -s "$tmp/$name.port" ] && break; sleep 0.05; done
    PORT=$(cat "$tmp/$name.port")
}

# 1. cut off twice mid-file, resumed within one pull
start_server drop --drop-after 1000000 --drop-count 2; P=$PORT
out=$("$BIN" pull --quiet --sha256 "$SHA" "http://127.0.0.1:$P/tiny.gguf" 2>"$tmp/err"); rc=$?
check "resumed pull exits 0 ($(cat "$tmp/err"))" $([ $rc = 0 ]; echo $?)
path=$(printf '%s\n' "$out" | tail -n1)
check "last line is the cached path" $([ "$path" = "$LLMR_CACHE_DIR/tiny.gguf" ]; echo $?)
cmp -s "$path" "$tmp/www/tiny.gguf"; check "resumed file is byte-identical" $?
grep -q 'range=bytes=1000000-' "$tmp/drop.log"; check "second connection asked Range: bytes=1000000-" $?
grep -q 'range=bytes=2000000-' "$tmp/drop.log"; check "third connection resumed at 2000000" $?
[ ! -e "$path.part" ]; check "no .part left" $?

# 2. already cached: no new request
n0=$(wc -l < "$tmp/drop.log")
"$BIN" pull --quiet "http://127.0.0.1:$P/tiny.gguf" >/dev/null 2>&1; check "cached pull ok" $?
[ "$(wc -l < "$tmp/drop.log")" = "$n0" ]; check "cached pull makes no request" $?
"$BIN" rm tiny.gguf >/dev/null; check "rm" $?
[ ! -e "$path" ]; check "rm removed the file" $?

# 3. interrupted across two pulls: the first gives up (one attempt), the second resumes
start_server split --drop-after 1500000 --drop-count 1; P2=$PORT
"$BIN" pull --quiet --attempts 1 "http://127.0.0.1:$P2/tiny.gguf" >/dev/null 2>"$tmp/err"; rc=$?
check "cut-off single attempt fails" $([ $rc = 1 ]; echo $?)
[ ! -e "$LLMR_CACHE_DIR/tiny.gguf" ]; check "no file under the final name after a cut" $?
[ "$(stat -c %s "$LLMR_CACHE_DIR/tiny.gguf.part")" = 1500000 ]; check ".part keeps 1500000 bytes" $?
"$BIN" ls | grep -q '^tiny .*partial'; check "ls shows the partial download" $?
out=$("$BIN" pull --quiet "http://127.0.0.1:$P2/tiny.gguf" 2>"$tmp/err"); rc=$?
check "second pull resumes ($(cat "$tmp/err"))" $([ $rc = 0 ]; echo $?)
cmp -s "$(printf '%s\n' "$out" | tail -n1)" "$tmp/www/tiny.gguf"; check "resumed across pulls is identical" $?
grep -q 'range=bytes=1500000-' "$tmp/split.log"; check "second pull sent Range: bytes=1500000-" $?
"$BIN" ls --json | grep -q '"name":[[:space:]]*"tiny.gguf"'; check "ls --json lists it" $?
"$BIN" rm tiny >/dev/null; check "rm without .gguf" $?

# 4. a server that ignores Range: the download starts over and is still right
start_server norange --no-range --drop-after 700000 --drop-count 1; P3=$PORT
out=$("$BIN" pull --quiet --sha256 "$SHA" "http://127.0.0.1:$P3/tiny.gguf" 2>"$tmp/err"); rc=$?
check "no-Range server: pull ok ($(cat "$tmp/err"))" $([ $rc = 0 ]; echo $?)
cmp -s "$(printf '%s\n' "$out" | tail -n1)" "$tmp/www/tiny.gguf"; check "no-Range server: identical" $?
"$BIN" rm tiny.gguf >/dev/null

# 5. checksum mismatch: error, and neither the file nor a .part stays
BAD=0000000000000000000000000000000000000000000000000000000000000000
"$BIN" pull --quiet --sha256 $BAD "http://127.0.0.1:$P3/tiny.gguf" >/dev/null 2>"$tmp/err"; rc=$?
check "mismatch exits 1" $([ $rc = 1 ]; echo $?)
grep -q "sha256 mismatch: expected $BAD, got $SHA" "$tmp/err"; check "mismatch message names both digests" $?
[ -z "$(ls -A "$LLMR_CACHE_DIR")" ]; check "mismatch leaves no file" $?

# 6. not a GGUF file; a missing file; an unreachable server
"$BIN" pull --quiet "http://127.0.0.1:$P3/page.gguf" >/dev/null 2>"$tmp/err"; rc=$?
check "HTML page exits 1" $([ $rc = 1 ]; echo $?)
grep -q "not a GGUF file" "$tmp/err"; check "HTML page: 'not a GGUF file'" $?
[ -z "$(ls -A "$LLMR_CACHE_DIR")" ]; check "HTML page leaves no file" $?
"$BIN" pull --quiet "http://127.0.0.1:$P3/missing.gguf" >/dev/null 2>"$tmp/err"; rc=$?
check "404 exits 1" $([ $rc = 1 ]; echo $?)
grep -q "HTTP 404" "$tmp/err"; check "404 named" $?
[ -z "$(ls -A "$LLMR_CACHE_DIR")" ]; check "404 leaves no (0-byte) entry in the cache" $?
"$BIN" pull --quiet --attempts 2 "http://127.0.0.1:1/x.gguf" >/dev/null 2>"$tmp/err"; rc=$?
check "unreachable exits 1" $([ $rc = 1 ]; echo $?)
grep -q "127.0.0.1:1" "$tmp/err"; check "unreachable names the URL" $?
[ -z "$(ls -A "$LLMR_CACHE_DIR")" ]; check "refused connection leaves no entry in the cache" $?
[ "$("$BIN" ls | wc -l)" = 1 ]; check "ls lists nothing after failed pulls" $?
"$BIN" pull --quiet --sha256 xyz "http://127.0.0.1:$P3/tiny.gguf" >/dev/null 2>&1; rc=$?
check "bad --sha256 exits 1" $([ $rc = 1 ]; echo $?)

# 7. local sources: a path prints itself, a directory lists every .gguf, a non-GGUF fails
mkdir -p "$tmp/dir"; cp "$tmp/www/tiny.gguf" "$tmp/dir/b.gguf"; cp "$tmp/www/tiny.gguf" "$tmp/dir/a.gguf"
out=$("$BIN" pull "$tmp/dir/b.gguf"); check "path: prints it" $([ "$out" = "$tmp/dir/b.gguf" ]; echo $?)
out=$("$BIN" pull "$tmp/dir" | tr '\n' ' '); check "dir: every .gguf, sorted" $([ "$out" = "$tmp/dir/a.gguf $tmp/dir/b.gguf " ]; echo $?)
"$BIN" pull "$tmp/www/page.gguf" >/dev/null 2>&1; check "local non-GGUF exits 1" $([ $? = 1 ]; echo $?)
"$BIN" rm nothing-here >/dev/null 2>&1; check "rm of an absent name exits 1" $([ $? = 1 ]; echo $?)
"$BIN" rm ../etc >/dev/null 2>&1; check "rm refuses a path" $([ $? = 1 ]; echo $?)
"$BIN" pull >/dev/null 2>&1; check "pull without SOURCE -> 2" $([ $? = 2 ]; echo $?)

echo "pull.sh: $passes passed, $fails failed"
[ $fails = 0 ]
