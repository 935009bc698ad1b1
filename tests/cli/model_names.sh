#!/usr/bin/env bash
# Models by name: `llmr run` without -m streams from the shipped default model (said once on
# stderr); -m of run, chat, serve, bench, info, eval and tokenize takes a path, a cache name
# (with or without .gguf, the file part of a hub name), NAME:TAG, an alias, a URL (pulled on
# first use); an unknown name is one line listing close matches; `llmr ls` shows name, size,
# type, architecture, parameters and modified. Needs only models/stories260K.gguf.
set -u
BIN=${LLMR_BIN:?}
SRC=${LLMR_SRC:-$(dirname "$0")/../..}
. "$(dirname "$0")/../check.bash"
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
export LLMR_CACHE_DIR="$tmp/cache"
unset LLMR_DEFAULT_MODEL
M=$DEFAULT_MODEL
[ -f "$M" ] || { echo "FAIL: the default model $M is missing from the source tree"; exit 1; }
file_of() { "$BIN" info "$@" 2>"$tmp/info.err" | awk '$1 == "file" && NF == 2 { print $2 }'; }

# 1. the default model: no -m
"$BIN" run -n 12 --temp 0 -t 1 "Once upon a time" >"$tmp/d.out" 2>"$tmp/d.err"
st=$?; check "run without -m exits 0 ($(cat "$tmp/d.err"))" $st
"$BIN" run -m "$M" -n 12 --temp 0 -t 1 "Once upon a time" >"$tmp/m.out" 2>/dev/null
[ -s "$tmp/d.out" ] && cmp -s "$tmp/d.out" "$tmp/m.out"; check "it is the shipped model's story" $?
[ "$(grep -c 'using the default model stories260K' "$tmp/d.err")" = 1 ] &&
    [ "$(wc -l < "$tmp/d.err")" = 1 ]; check "said once on stderr" $?
"$BIN" run -n 12 --temp 0 -t 1 -m stories260K "Once upon a time" >"$tmp/n.out" 2>"$tmp/n.err"
cmp -s "$tmp/n.out" "$tmp/m.out" && [ ! -s "$tmp/n.err" ]; check "-m stories260K is it, silently" $?
LLMR_DEFAULT_MODEL=/nonexistent/x.gguf "$BIN" run hi >/dev/null 2>"$tmp/e"; rc=$?
[ $rc = 1 ] && grep -q 'x.gguf' "$tmp/e"; check "LLMR_DEFAULT_MODEL overrides it" $?

# 2. names in the cache
mkdir -p "$LLMR_CACHE_DIR"
cp "$M" "$LLMR_CACHE_DIR/tinystory.gguf"
cp "$M" "$LLMR_CACHE_DIR/tinystory-7b.gguf"
cp "$M" "$LLMR_CACHE_DIR/SomeOrg--Story-GGUF--story-Q8_0.gguf"
C=$LLMR_CACHE_DIR
[ "$(file_of tinystory)" = "$C/tinystory.gguf" ]; check "name without .gguf" $?
[ "$(file_of tinystory.gguf)" = "$C/tinystory.gguf" ]; check "name with .gguf" $?
[ "$(file_of tinystory:latest)" = "$C/tinystory.gguf" ]; check "NAME:latest" $?
[ "$(file_of tinystory:7b)" = "$C/tinystory-7b.gguf" ]; check "NAME:TAG is NAME-TAG" $?
[ "$(file_of TinyStory:7B)" = "$C/tinystory-7b.gguf" ]; check "case ignored when unique" $?
[ "$(file_of story-Q8_0)" = "$C/SomeOrg--Story-GGUF--story-Q8_0.gguf" ]; check "hub file part" $?
[ "$(file_of -m tinystory:7b)" = "$C/tinystory-7b.gguf" ]; check "info -m NAME" $?
cd "$tmp" && cp "$M" ./local.gguf
[ "$(file_of local.gguf)" = "local.gguf" ]; check "a file in the current folder wins" $?
cd - >/dev/null

# an unknown name: one line, close matches, exit 1, for every command that takes -m
for cmd in "run -m tinystori:7b hi" "chat -m tinystori:7b" "bench -m tinystori:7b -p 8 -n 0" \
           "info tinystori:7b" "eval -m tinystori:7b --ids 1" "tokenize -m tinystori:7b hi" \
           "serve -m tinystori:7b --port 0"; do
    # shellcheck disable=SC2086
    timeout 60 "$BIN" $cmd </dev/null >"$tmp/u.out" 2>"$tmp/u.err"; rc=$?
    [ $rc = 1 ] && [ "$(wc -l < "$tmp/u.err")" = 1 ] && grep -q "'tinystori:7b' is not a file" "$tmp/u.err" &&
        grep -q 'close matches: tinystory-7b' "$tmp/u.err"
    st=$?; check "${cmd%% *}: unknown name is one line with close matches ($rc: $(cat "$tmp/u.err"))" $st
done
"$BIN" run -m zzzzzzzzzzzz hi 2>"$tmp/z.err" >/dev/null
grep -q "not a file, a cached model or an alias (see" "$tmp/z.err" && ! grep -q 'close' "$tmp/z.err"
check "no close match: none offered" $?
cp "$M" "$C/Tinystory.gguf"
"$BIN" info tinyStory >/dev/null 2>"$tmp/a.err"; rc=$?
[ $rc = 1 ] && grep -q 'matches several cached models' "$tmp/a.err"; check "ambiguous name -> 1" $?
[ "$(file_of Tinystory)" = "$C/Tinystory.gguf" ]; check "exact case wins over a case-folded one" $?
rm "$C/Tinystory.gguf"

# every command runs a model named so
"$BIN" run -m tinystory:7b -n 12 --temp 0 -t 1 "Once upon a time" >"$tmp/r.out" 2>&1
cmp -s "$tmp/r.out" "$tmp/m.out"; check "run -m NAME:TAG" $?
"$BIN" run tinystory:7b -n 12 --temp 0 -t 1 "Once upon a time" >"$tmp/r2.out" 2>&1
cmp -s "$tmp/r2.out" "$tmp/m.out"; check "run NAME PROMPT, as ollama's" $?
"$BIN" run -m tinystory a b >/dev/null 2>&1; check "-m and a NAME argument -> 2" $([ $? = 2 ]; echo $?)
echo "Hello" | "$BIN" chat -m tinystory -n 4 --temp 0 -t 1 >"$tmp/c.out" 2>&1; check "chat -m NAME" $?
"$BIN" bench -m tinystory -p 8 -n 4 -r 1 -t 1 --json >"$tmp/b.json" 2>&1
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert len(r) == 2 and r[0]["model_n_params"] > 0' "$tmp/b.json"
check "bench -m NAME" $?
"$BIN" eval -m story-Q8_0 --ids 1,403 --json >"$tmp/e.json" 2>&1
grep -q '"n_vocab": *512' "$tmp/e.json"; check "eval -m NAME" $?
[ "$("$BIN" tokenize -m tinystory 'Once upon a time')" = "1 403 407 261 378" ]; check "tokenize -m NAME" $?
"$BIN" serve -m tinystory:7b --port 0 -t 1 >"$tmp/srv.log" 2>&1 & pids+=($!)
port=""
for _ in $(seq 100); do
    port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$tmp/srv.log")
    [ -n "$port" ] && break; sleep 0.1
done
curl -s "http://127.0.0.1:$port/v1/models" | grep -q '"id":"tinystory-7b"'
st=$?; check "serve -m NAME:TAG serves the file ($(tail -1 "$tmp/srv.log"))" $st

# 3. aliases
"$BIN" alias tiny tinystory:7b >/dev/null; check "alias set" $?
[ "$(file_of tiny)" = "$C/tinystory-7b.gguf" ]; check "an alias resolves" $?
"$BIN" alias | grep -q '^tiny  *tinystory:7b$'; check "alias lists it" $?
"$BIN" alias broken nosuchmodel >/dev/null 2>&1; check "alias to nothing -> 1" $([ $? = 1 ]; echo $?)
"$BIN" alias 'a/b' tinystory >/dev/null 2>&1; check "alias with / -> 1" $([ $? = 1 ]; echo $?)
"$BIN" alias --rm tiny >/dev/null && ! "$BIN" info tiny >/dev/null 2>&1; check "alias --rm" $?

# 4. ls: name, size, type, architecture, parameters, modified
"$BIN" ls >"$tmp/ls"
head -1 "$tmp/ls" | grep -Eq '^NAME +SIZE +TYPE +ARCH +PARAMS +MODIFIED$'; check "ls header" $?
grep -Eq '^tinystory-7b +1\.[0-9] MiB +F32 +llama +292\.80K +[0-9]{4}-[0-9]{2}-[0-9]{2} ' "$tmp/ls"
st=$?; check "ls row ($(grep tinystory-7b "$tmp/ls"))" $st
! grep -q aliases "$tmp/ls"; check "the aliases file is not a model" $?
"$BIN" ls --json | python3 -c '
import json,sys; o=json.load(sys.stdin); m={e["model"]: e for e in o["models"]}
e=m["tinystory-7b"]; assert e["name"] == "tinystory-7b.gguf" and e["type"] == "F32", e
assert e["architecture"] == "llama" and e["n_params"] == 292800 and e["size"] > 1000000, e'
check "ls --json keys" $?

# 5. a URL: pulled on first use, then found by name without a request
mkdir -p "$tmp/www" && cp "$M" "$tmp/www/webstory.gguf"
python3 "$SRC/tests/router/httpd.py" --root "$tmp/www" --port-file "$tmp/port" --log "$tmp/http.log" \
    >/dev/null 2>&1 & pids+=($!)
for _ in $(seq 200); do [ -s "$tmp/port" ] && break; sleep 0.05; done
URL="http://127.0.0.1:$(cat "$tmp/port")/webstory.gguf"
"$BIN" run -m "$URL" -n 12 --temp 0 -t 1 "Once upon a time" >"$tmp/w.out" 2>"$tmp/w.err"
cmp -s "$tmp/w.out" "$tmp/m.out"; st=$?; check "run -m URL downloads and runs ($(cat "$tmp/w.err"))" $st
[ -f "$C/webstory.gguf" ]; check "the URL's file is in the cache" $?
n=$(wc -l < "$tmp/http.log")
"$BIN" run -m webstory -n 12 --temp 0 -t 1 "Once upon a time" >"$tmp/w2.out" 2>&1
cmp -s "$tmp/w2.out" "$tmp/m.out" && [ "$(wc -l < "$tmp/http.log")" = "$n" ]
check "then by name, with no request" $?

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
