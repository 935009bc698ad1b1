#!/usr/bin/env bash
# llmr serve's static files (src/server/static.c): the browser folder (--browser-dir) at
# /browser/ with the guide's example page at /browser/, the package path the example imports
# (/browser/node_modules/llm-runner-router/dist/), the server's model at /browser/model.gguf
# and any local model at /api/models/ID/gguf, read-only with byte ranges; the COOP/COEP
# headers of a cross-origin isolated page on all of them and on the web page; hostile paths
# (.., encoded .., NUL, backslash, hidden files, sub-folders, a symlink out) refused without
# a byte of the file outside.
set -u
. "$(dirname "$0")/lib.bash"
need_model

dir=$TMP/dist
mkdir -p "$dir/sub"
printf 'export default 1;\n' > "$dir/browser.js"
printf '<!DOCTYPE html><title>example</title>\n' > "$dir/example.html"
printf '\0asm\1\0\0\0' > "$dir/llmr-wasm.wasm"
printf 'hidden\n' > "$dir/.hidden"
printf 'nested\n' > "$dir/sub/inner.js"
echo TOPSECRET > "$TMP/secret.txt"
ln -s "$TMP/secret.txt" "$dir/out.js"          # a link out of the folder
ln -s browser.js "$dir/alias.js"                # a link inside it
size=$(stat -c %s "$MODEL")

# status PATH [CURL ARGS]: the status code; the body in $TMP/body, headers in $TMP/head
status() {
    local p=$1; shift
    curl -s --path-as-is -o "$TMP/body" -D "$TMP/head" -w '%{http_code}' "$@" "$BASE$p"
}
header() { tr -d '\r' < "$TMP/head" | sed -n "s/^$1: //Ip" | head -1; }
isolated() {  # the headers of a cross-origin isolated page
    [ "$(header Cross-Origin-Opener-Policy)" = same-origin ] &&
        [ "$(header Cross-Origin-Embedder-Policy)" = require-corp ]
}

start_server --browser-dir "$dir"

# ---- the folder's files ---------------------------------------------------------------------
[ "$(status /browser/browser.js)" = 200 ] && cmp -s "$TMP/body" "$dir/browser.js" &&
    isolated && [ "$(header Cross-Origin-Resource-Policy)" = same-origin ] &&
    header Content-Type | grep -q '^text/javascript'
check "/browser/browser.js: the file, text/javascript, COOP/COEP/CORP" $?
[ "$(status /browser/llmr-wasm.wasm)" = 200 ] && [ "$(header Content-Type)" = application/wasm ]
check ".wasm is application/wasm (streaming compilation needs it)" $?
[ "$(status /browser/)" = 200 ] && cmp -s "$TMP/body" "$dir/example.html" && isolated &&
    header Content-Type | grep -q '^text/html'
check "/browser/ is the example page, isolated" $?
[ "$(status /browser)" = 308 ] && [ "$(header Location)" = /browser/ ]
check "/browser redirects to /browser/" $?
[ "$(status /browser/node_modules/llm-runner-router/dist/browser.js)" = 200 ] &&
    cmp -s "$TMP/body" "$dir/browser.js"
check "the package path the guide's example imports" $?
[ "$(status /browser/alias.js)" = 200 ] && cmp -s "$TMP/body" "$dir/browser.js"
check "a symlink inside the folder is followed" $?
# HEAD on a raw connection: the headers with the length, then nothing (the server closes)
python3 - "$PORT" "$(stat -c %s "$dir/browser.js")" <<'PY'
import socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=30)
s.sendall(b'HEAD /browser/browser.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
data = b''
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
head, _, body = data.partition(b'\r\n\r\n')
assert head.startswith(b'HTTP/1.1 200'), head
assert b'Content-Length: ' + sys.argv[2].encode() in head, head
assert body == b'', body[:100]
PY
check "HEAD: the length, no body" $?
[ "$(status /browser/browser.js -X POST -d x)" = 405 ]
check "POST /browser/browser.js: 405" $?
[ "$(status /)" = 200 ] && isolated
check "the web page at / is cross-origin isolated too" $?

# ---- hostile paths: refused, and nothing of the file outside comes back ---------------------
leak=0
for p in /browser/../secret.txt /browser/%2e%2e/secret.txt /browser/..%2fsecret.txt \
         /browser/%2e%2e%2fsecret.txt /browser/..%5csecret.txt '/browser/..\secret.txt' \
         /browser/node_modules/llm-runner-router/dist/../../../../secret.txt \
         /browser/node_modules/llm-runner-router/dist/%2e%2e%2f%2e%2e%2fsecret.txt \
         /browser/out.js /browser/.hidden /browser/sub/inner.js /browser/sub%2finner.js \
         /browser/%2fetc%2fpasswd /browser//etc/passwd \
         "/browser/$(head -c 300 /dev/zero | tr '\0' a).js"; do
    s=$(status "$p")
    if [ "$s" = 200 ] || grep -q -e TOPSECRET -e hidden -e nested -e 'root:' "$TMP/body"; then
        echo "  $p -> $s: $(head -c 100 "$TMP/body")"
        leak=1
    fi
done
check "hostile paths (.., encoded, NUL, backslash, hidden, sub-folder, link out, long) refused" $leak
# civetweb ends the decoded path at a %00: the file before it, with its own type, or nothing
s=$(status /browser/browser.js%00.html)
[ "$s" = 404 ] || { [ "$s" = 200 ] && cmp -s "$TMP/body" "$dir/browser.js" &&
    header Content-Type | grep -q '^text/javascript'; }
check "a %00 in the name: no other file, no other type" $?
# the refusal is the server's own, not a missing route: it names the browser folder
[ "$(status /browser/out.js)" = 404 ] && grep -q 'browser folder' "$TMP/body"
check "a link out of the folder: 404 from the browser route" $?

# ---- the model file -----------------------------------------------------------------------
[ "$(status /browser/model.gguf)" = 200 ] && cmp -s "$TMP/body" "$MODEL" && isolated &&
    [ "$(header Accept-Ranges)" = bytes ]
check "/browser/model.gguf is the server's model file" $?
id=$(curl -s "$BASE/api/models" | python3 -c 'import json,sys; print(json.load(sys.stdin)["models"][0]["name"])')
[ "$(status "/api/models/$id/gguf")" = 200 ] && cmp -s "$TMP/body" "$MODEL"
check "/api/models/$id/gguf is the model's file" $?
[ "$(status /api/models/nope/gguf)" = 404 ] && grep -q "nope" "$TMP/body"
check "an unknown model's file: 404" $?
[ "$(status "/api/models/$id/gguf" -H 'Range: bytes=0-3')" = 206 ] &&
    [ "$(cat "$TMP/body")" = GGUF ] && [ "$(header Content-Range)" = "bytes 0-3/$size" ] &&
    [ "$(header Content-Length)" = 4 ]
check "Range bytes=0-3: 206 GGUF" $?
[ "$(status /browser/model.gguf -H 'Range: bytes=-5')" = 206 ] &&
    cmp -s "$TMP/body" <(tail -c 5 "$MODEL") &&
    [ "$(header Content-Range)" = "bytes $((size - 5))-$((size - 1))/$size" ]
check "Range bytes=-5: the last 5 bytes" $?
[ "$(status /browser/model.gguf -H "Range: bytes=100-")" = 206 ] &&
    cmp -s "$TMP/body" <(tail -c +101 "$MODEL")
check "Range bytes=100-: the rest" $?
[ "$(status /browser/model.gguf -H "Range: bytes=$size-")" = 416 ] &&
    [ "$(header Content-Range)" = "bytes */$size" ]
check "Range past the end: 416" $?
[ "$(status /browser/model.gguf -H 'Range: bytes=0-1,5-6')" = 200 ] && cmp -s "$TMP/body" "$MODEL"
check "several ranges: the whole file (a server may ignore Range)" $?
[ "$(status /api/models/$id/gguf -X DELETE)" != 200 ] || [ -f "$MODEL" ]
check "the file route is read-only" $?
stop_server

# ---- with an API key: the package is public, the model is not ------------------------------
# and -m's models folder: its .gguf files (GET /api/models lists them), confined to it
mkdir -p "$TMP/mdir"
printf 'GGUFother' > "$TMP/mdir/other.gguf"
ln -s "$TMP/secret.txt" "$TMP/mdir/out.gguf"
start_server --browser-dir "$dir" --api-key sekrit --models-dir "$TMP/mdir"
[ "$(status /browser/browser.js)" = 200 ]
check "--api-key: the package's files need no key" $?
[ "$(status /browser/model.gguf)" = 401 ] && [ "$(status "/api/models/$id/gguf")" = 401 ]
check "--api-key: a model file needs the key" $?
[ "$(status '/browser/model.gguf?api_key=sekrit')" = 200 ] && cmp -s "$TMP/body" "$MODEL"
check "--api-key: ?api_key=KEY gets it" $?
[ "$(status '/api/models/other/gguf?api_key=sekrit')" = 200 ] && [ "$(cat "$TMP/body")" = GGUFother ]
check "-m: a file of the models folder by its name" $?
leak=0
for p in out ..%2fsecret.txt %2e%2e .secret; do
    s=$(status "/api/models/$p/gguf?api_key=sekrit")
    if [ "$s" = 200 ] || grep -q TOPSECRET "$TMP/body"; then echo "  $p -> $s"; leak=1; fi
done
check "-m: a link out of the models folder, .., hidden: refused" $leak
stop_server

# ---- no folder, a bad folder --------------------------------------------------------------
start_server --browser-dir ""
[ "$(status /browser/browser.js)" = 404 ] && grep -q 'build-wasm.sh' "$TMP/body"
check "--browser-dir '': 404 saying how to build the files" $?
stop_server
"$BIN" serve -m "$MODEL" --port 0 --browser-dir "$TMP/none" >"$TMP/bad.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
if kill -0 $pid 2>/dev/null; then kill $pid; wait $pid; rc=0; else wait $pid; rc=$?; fi
[ "$rc" != 0 ] && grep -q "not a folder" "$TMP/bad.log"
check "--browser-dir of no folder: refused at start" $?
finish
