#!/usr/bin/env bash
# POST /api/models/load from a client that must not reach what the operator did not name.
# With --config: no model_dirs and no "downloads" means no loading by path or URL (config ids
# still load); paths resolve (realpath) inside model_dirs or are refused alike, symlinks and
# '..' included; downloads go only to listed hosts, every redirect checked, and only to listed
# addresses when those are loopback (a listed *name* that resolves to 127.0.0.1 is refused
# before any request reaches the server: DNS rebinding); a closed port and a 404 read the
# same to the client; a failed download leaves no .part; downloads.max_mb holds with and
# without a Content-Length, downloads.total_mb across downloads. With -m: a symlink out of
# the models folder is neither listed nor loaded. The downloads come from tests/router/httpd.py
# on 127.0.0.1. Also: /api/tags and /api/ps give each model's digest as its file's sha256, as
# ollama does.
. "$(dirname "$0")/lib.bash"
need_model
command -v curl >/dev/null || { echo "skipped: curl is not installed"; exit 77; }
command -v python3 >/dev/null || { echo "skipped: python3 is not installed"; exit 77; }
SRC=${LLMR_SRC:-$(dirname "$0")/../..}
MODEL=$(cd "$(dirname "$MODEL")" && pwd)/$(basename "$MODEL")
export LLMR_CACHE_DIR=$TMP/cache
hpids=()
trap 'for p in "${hpids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; cleanup' EXIT

mkdir -p "$TMP/models" "$TMP/outside" "$TMP/www" "$TMP/mdir"
cp "$MODEL" "$TMP/models/copy.gguf"
cp "$MODEL" "$TMP/outside/o.gguf"
ln -s "$MODEL" "$TMP/models/evil.gguf"                 # a symlink out of the model folder
for f in w w2 w3 w4 w5 w6 drop t1 t2; do cp "$MODEL" "$TMP/www/$f.gguf"; done
{ printf 'GGUF'; head -c 3145728 /dev/urandom; } > "$TMP/www/big.gguf"    # 3 MiB
cp "$TMP/www/big.gguf" "$TMP/www/big2.gguf"

# httpd NAME ARGS...: tests/router/httpd.py on 127.0.0.1; sets HP; its request log: TMP/NAME.log
httpd() {
    local name=$1; shift
    : > "$TMP/$name.log"
    python3 "$SRC/tests/router/httpd.py" --root "$TMP/www" --port-file "$TMP/$name.port" \
        --log "$TMP/$name.log" "$@" >"$TMP/$name.out" 2>&1 & hpids+=($!)
    for _ in $(seq 200); do [ -s "$TMP/$name.port" ] && break; sleep 0.05; done
    HP=$(cat "$TMP/$name.port")
}
httpd plain; P=$HP
httpd drop --drop-after 100000 --drop-count 1000; PDROP=$HP
httpd nolen --no-length; PNOLEN=$HP

# load SOURCE: POST /api/models/load; the status echoed, the body in TMP/load.json
load() {
    curl -s -o "$TMP/load.json" -w '%{http_code}' "$BASE/api/models/load" \
        -H 'Content-Type: application/json' -d "{\"model\":\"$1\"}"
}
# digests FILE: "name digest" per model of an /api/tags or /api/ps reply
digests() { python3 -c 'import json,sys
for m in json.load(open(sys.argv[1]))["models"]: print(m["name"], m["digest"])' "$1"; }
sha() { sha256sum "$1" | cut -d" " -f1; }
msg() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["error"]["message"])' "$TMP/load.json"; }
requested() { grep -q "GET /$2" "$TMP/$1.log"; }         # httpd NAME saw GET /PATH
no_part() { [ -z "$(ls -A "$LLMR_CACHE_DIR" 2>/dev/null | grep "^$1")" ]; }   # no FILE nor FILE.part

# ---- A: a config without model_dirs or downloads ------------------------------------------
cat > "$TMP/a.json" <<JSON
{"models": [{"id": "tiny", "source": "$MODEL"}]}
JSON
start_server_with --config "$TMP/a.json"
code=$(load "$TMP/models/copy.gguf")
check "no model_dirs: loading by path is refused ($code)" $([ "$code" = 403 ]; echo $?)
msg | grep -q "model_dirs"; check "no model_dirs: the refusal names model_dirs" $?
code=$(load "http://127.0.0.1:$P/w.gguf")
check "no downloads: loading by URL is refused ($code)" $([ "$code" = 403 ]; echo $?)
msg | grep -q "downloads"; check "no downloads: the refusal names downloads" $?
! requested plain w.gguf; check "no downloads: the file server saw no request" $?
code=$(load tiny); check "no model_dirs: an id of the config still loads ($code)" $([ "$code" = 200 ]; echo $?)
stop_server; check "server A exits cleanly (status 0: no leak, no sanitizer report)" $?

# ---- B: model_dirs and downloads from 127.0.0.1 ---------------------------------------------
cat > "$TMP/b.json" <<JSON
{"model_dirs": ["$TMP/models"],
 "downloads": {"allow": true, "hosts": ["127.0.0.1"], "max_mb": 2},
 "models": [{"id": "tiny", "source": "$MODEL"}]}
JSON
start_server_with --config "$TMP/b.json"
code=$(load copy.gguf); check "a file of model_dirs loads by name ($code)" $([ "$code" = 200 ]; echo $?)
code=$(load "$TMP/models/copy.gguf")
check "... and by its full path, as the same model" $([ "$code" = 200 ] && grep -q '"changed":false' "$TMP/load.json"; echo $?)
code=$(load "$TMP/models/missing.gguf"); check "a missing file of model_dirs: 404 ($code)" $([ "$code" = 404 ]; echo $?)

code=$(load "$TMP/outside/o.gguf"); m1=$(msg)
check "a path outside model_dirs is refused ($code)" $([ "$code" = 403 ]; echo $?)
code2=$(load "$TMP/outside/none.gguf"); m2=$(msg)
check "a missing path outside: the same status ($code2)" $([ "$code2" = "$code" ]; echo $?)
[ "${m1/o.gguf/X}" = "${m2/none.gguf/X}" ]
check "a missing path outside: the same message, which says nothing of existence" $?
code=$(load "$TMP/models/evil.gguf")
check "a symlink out of model_dirs is refused ($code)" $([ "$code" = 403 ]; echo $?)
code=$(load "evil.gguf"); check "... also by its name ($code)" $([ "$code" = 403 ]; echo $?)
code=$(load "$TMP/models/../outside/o.gguf")
check "'..' out of model_dirs is refused ($code)" $([ "$code" = 403 ]; echo $?)
code=$(load "../outside/o.gguf"); check "a relative '..' is refused ($code)" $([ "$code" = 403 ]; echo $?)
! curl -s "$BASE/v1/models" | grep -q '"id":"\(o\|evil\|none\)"'; check "nothing refused was added" $?

code=$(load "http://127.0.0.1:$P/w.gguf")
check "a download from a listed address loads ($code: $(cat "$TMP/load.json"))" $([ "$code" = 200 ]; echo $?)
requested plain w.gguf; check "... fetched from the file server" $?
cmp -s "$LLMR_CACHE_DIR/w.gguf" "$TMP/www/w.gguf"; check "... into the cache, whole" $?
code=$(load "http://127.0.0.1:$P/to/http%3A%2F%2F127.0.0.1%3A$P%2Fw5.gguf")
check "a redirect to a listed host is followed ($code)" $([ "$code" = 200 ] && requested plain w5.gguf; echo $?)
code=$(load "http://localhost:$P/w2.gguf")
check "a loopback name that is not listed is refused ($code)" $([ "$code" = 403 ]; echo $?)
! requested plain w2.gguf; check "... before any request" $?
code=$(load "hf:org/repo/w.gguf")
check "hf: needs huggingface.co listed ($code)" $([ "$code" = 403 ] && msg | grep -q huggingface.co; echo $?)
code=$(load "http://127.0.0.1:$P/to/http%3A%2F%2Flocalhost%3A$P%2Fw4.gguf")
check "a redirect to a host that is not listed fails ($code)" $([ "$code" = 502 ]; echo $?)
requested plain to/ && ! requested plain w4.gguf; check "... and is not followed" $?
no_part w4; check "... leaving nothing in the cache" $?

# a closed port and an open one that answers 404 read the same; the log has the details
code1=$(load "http://127.0.0.1:1/probe.gguf"); body1=$(cat "$TMP/load.json")
code2=$(load "http://127.0.0.1:$P/probe.gguf"); body2=$(cat "$TMP/load.json")
check "closed and open port: the same status ($code1, $code2)" $([ "$code1" = "$code2" ]; echo $?)
check "closed and open port: the same message ($body1 / $body2)" $([ "$body1" = "$body2" ]; echo $?)
! grep -q "127.0.0.1\|refused\|404" <<<"$body1$body2"; check "the message names no address or cause" $?
grep -q "probe.gguf: HTTP 404" "$SRV_LOG"; check "the server log has the details" $?
# tried once: retries' backoff would make a closed port take seconds where a 404 takes none
grep -q "127.0.0.1:1/probe.gguf: .*after 1 attempts" "$SRV_LOG"
check "a client's download is tried once" $?

code=$(load "http://127.0.0.1:$PDROP/drop.gguf")
check "a download cut off every time fails ($code)" $([ "$code" = 502 ]; echo $?)
requested drop drop.gguf; check "... after reaching the server" $?
no_part drop; check "... and leaves no .part" $?

code=$(load "http://127.0.0.1:$P/big.gguf")
check "a file over downloads.max_mb is refused ($code)" $([ "${code:0:1}" = 4 ]; echo $?)
msg | grep -q "downloads.max_mb: 2 MiB"; check "... naming the limit" $?
no_part big; check "... and leaves nothing in the cache" $?
code=$(load "http://127.0.0.1:$PNOLEN/big2.gguf")
check "over max_mb without a Content-Length: refused while streaming ($code)" $([ "${code:0:1}" = 4 ]; echo $?)
requested nolen big2.gguf && msg | grep -q "downloads.max_mb"; check "... after the transfer began, naming the limit" $?
no_part big2; check "... and leaves nothing in the cache" $?

curl -s "$BASE/api/tags" > "$TMP/tags.json"; digests "$TMP/tags.json" > "$TMP/tags.txt"
grep -qx "tiny:latest $(sha "$MODEL")" "$TMP/tags.txt"; check "/api/tags: a config model's digest is its sha256" $?
grep -qx "copy:latest $(sha "$TMP/models/copy.gguf")" "$TMP/tags.txt"; check "/api/tags: a model added by path: its sha256" $?
grep -qx "w:latest $(sha "$TMP/www/w.gguf")" "$TMP/tags.txt"; check "/api/tags: a downloaded model: its sha256" $?
curl -s "$BASE/api/ps" > "$TMP/ps.json"
digests "$TMP/ps.json" > "$TMP/ps.txt"
grep -qx "w:latest $(sha "$TMP/www/w.gguf")" "$TMP/ps.txt"; check "/api/ps: the same digests" $?
cp "$TMP/models/copy.gguf" "$TMP/copy.bak"; printf 'x' >> "$TMP/models/copy.gguf"
curl -s "$BASE/api/tags" > "$TMP/tags.json"; digests "$TMP/tags.json" > "$TMP/tags.txt"
grep -qx "copy:latest $(sha "$TMP/models/copy.gguf")" "$TMP/tags.txt"
check "/api/tags: a file that changes is hashed again" $?
mv "$TMP/copy.bak" "$TMP/models/copy.gguf"
stop_server; check "server B exits cleanly (status 0: no leak, no sanitizer report)" $?

# ---- C: a listed name whose address is loopback (DNS rebinding) ------------------------------
cat > "$TMP/c.json" <<JSON
{"downloads": {"allow": true, "hosts": ["localhost"]},
 "models": [{"id": "tiny", "source": "$MODEL"}]}
JSON
start_server_with --config "$TMP/c.json"
code=$(load "http://localhost:$P/w6.gguf")
check "a listed name resolving to an unlisted loopback address fails ($code)" $([ "$code" = 502 ]; echo $?)
! requested plain w6.gguf; check "... before any request reaches the address" $?
grep -q "not public and not listed" "$SRV_LOG"; check "... and the log says why" $?
stop_server; check "server C exits cleanly (status 0: no leak, no sanitizer report)" $?

# ---- D: downloads.total_mb across downloads ---------------------------------------------------
# the allowance is exactly one model file: the first download spends all of it
TOTAL=$(python3 -c 'import os,sys; print(os.path.getsize(sys.argv[1]) / 1048576)' "$MODEL")
cat > "$TMP/d.json" <<JSON
{"downloads": {"allow": true, "hosts": ["127.0.0.1"], "total_mb": $TOTAL},
 "models": [{"id": "tiny", "source": "$MODEL"}]}
JSON
start_server_with --config "$TMP/d.json"
code=$(load "http://127.0.0.1:$P/t1.gguf"); check "total_mb: the first download fits ($code)" $([ "$code" = 200 ]; echo $?)
code=$(load "http://127.0.0.1:$P/t2.gguf")
check "total_mb: the second does not ($code)" $([ "${code:0:1}" = 4 ] && msg | grep -q "total_mb"; echo $?)
! requested plain t2.gguf; check "total_mb: ... and is not even requested" $?
no_part t2; check "total_mb: nothing of it is kept" $?
curl -s -o /dev/null -X DELETE "$BASE/api/models/t1"
code=$(load t1); check "total_mb: a model downloaded before loads again without counting ($code)" $([ "$code" = 200 ]; echo $?)
stop_server; check "server D exits cleanly (status 0: no leak, no sanitizer report)" $?

# ---- E: -m, a symlink out of the models folder -----------------------------------------------
cp "$MODEL" "$TMP/mdir/a.gguf"
ln -s "$TMP/outside/o.gguf" "$TMP/mdir/evil.gguf"
start_server_with -m "$TMP/mdir/a.gguf"
code=$(load evil); check "-m: a symlink out of the models folder is refused ($code)" $([ "$code" = 403 ]; echo $?)
code=$(load a); check "-m: a file of the folder loads ($code)" $([ "$code" = 200 ]; echo $?)
curl -s "$BASE/api/models" > "$TMP/list.json"
! grep -q '"evil"' "$TMP/list.json" && grep -q '"a"' "$TMP/list.json"
check "-m: GET /api/models does not list the symlink out" $?
curl -s "$BASE/api/tags" > "$TMP/tags.json"
[ "$(digests "$TMP/tags.json")" = "a:latest $(sha "$TMP/mdir/a.gguf")" ]
check "-m: /api/tags gives the model file's sha256" $?
stop_server; check "server E exits cleanly (status 0: no leak, no sanitizer report)" $?

finish
