#!/usr/bin/env bash
# llmr route: --explain prints the ranking and why; config errors name the key; and failover
# against real servers: three `llmr serve` processes on loopback ports, killed one by one,
# while the same greedy request keeps being answered with the same text, never repeated.
set -u
BIN=${LLMR_BIN:?}
SHARED=${LLMR_SHARED:-../shared}
. "$(dirname "$0")/../check.bash"
MODEL=$DEFAULT_MODEL
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT

# ---- usage and config errors --------------------------------------------------------------
"$BIN" route "x" >/dev/null 2>&1; check "no --config -> 2" $([ $? = 2 ]; echo $?)
"$BIN" route --config "$tmp/none.json" "x" 2>"$tmp/err" >/dev/null; rc=$?
check "missing config -> 1" $([ $rc = 1 ]; echo $?)
grep -q "none.json" "$tmp/err"; check "missing config named" $?
echo '{"models": [{"id": "a", "source": "x.gguf", "quality": 2}]}' > "$tmp/bad.json"
"$BIN" route --config "$tmp/bad.json" "x" 2>"$tmp/err" >/dev/null; rc=$?
check "bad config -> 1" $([ $rc = 1 ]; echo $?)
grep -q 'bad.json: models\[0\].quality: 2 is out of range: expected 0..1' "$tmp/err"; check "bad config names the key" $?
[ "$(wc -l < "$tmp/err")" = 1 ]; check "one line on stderr" $?

# ---- --explain (nothing is loaded or contacted) ------------------------------------------
cat > "$tmp/explain.json" <<JSON
{"strategy": "quality-first",
 "backends": {"far": {"url": "http://127.0.0.1:1"}},
 "models": [
  {"id": "small", "source": "/nonexistent/small.gguf", "quality": 0.2, "cost": 0, "context": 512, "chat": false},
  {"id": "mid", "source": "/nonexistent/mid.gguf", "quality": 0.6, "cost": 0.1, "context": 4096},
  {"id": "big", "backend": "far", "quality": 0.9, "cost": 2, "context": 32768}]}
JSON
"$BIN" route --config "$tmp/explain.json" --explain "Tell me a story" > "$tmp/out"; check "explain exits 0" $?
grep -q '^strategy: quality-first' "$tmp/out"; check "explain names the strategy" $?
grep -Eq '^ 1\. big .*quality 0.90' "$tmp/out"; check "explain ranks big first" $?
grep -Eq '^ 3\. small ' "$tmp/out"; check "explain ranks small third" $?
"$BIN" route --config "$tmp/explain.json" --explain -s cost-optimized --chat "Tell me a story" > "$tmp/out"
grep -Eq '^ 1\. mid .*cost 0.1' "$tmp/out"; check "per-request strategy and chat need" $?
grep -Eq '^ -  small +excluded: no chat capability' "$tmp/out"; check "excluded with the reason" $?
"$BIN" route --config "$tmp/explain.json" --explain --min-context 10000 "x" > "$tmp/out"
grep -Eq '^ -  mid +excluded: context 4096 < 10000 needed' "$tmp/out"; check "context need excludes" $?
"$BIN" route --config "$tmp/explain.json" --explain -s balanced "x" | grep -q 'weights: quality 0.40'
check "balanced shows its weights" $?
"$BIN" route --config "$tmp/explain.json" -m nosuch "x" 2>"$tmp/err" >/dev/null; rc=$?
check "unknown model -> 1" $([ $rc = 1 ]; echo $?)
grep -q "no model 'nosuch' in the router (known: small, mid, big)" "$tmp/err"; check "unknown model named" $?
"$BIN" route --config "$tmp/explain.json" -m big --strict "x" 2>"$tmp/err" >/dev/null; rc=$?
check "unreachable backend -> 1" $([ $rc = 1 ]; echo $?)
grep -q "127.0.0.1:1" "$tmp/err"; check "unreachable backend named" $?

# ---- failover across real servers ---------------------------------------------------------
# Three `llmr serve` processes when llmr serve is built in and answers a completion (it needs
# ../shared's model); otherwise three tests/router/oai_mock.py servers, which speak the same
# OpenAI chunk format and answer "[NAME] " + the prompt.
SRC=${LLMR_SRC:-$(dirname "$0")/../..}
SERVE_BIN=${LLMR_SERVE_BIN:-$BIN}     # another build's llmr may serve, e.g. while comparing
kind=mock
ports=()
serve_ok() { # port: a streamed completion comes back with [DONE]
    curl -s -m 10 -N "http://127.0.0.1:$1/v1/completions" \
        -d '{"prompt":"Once","stream":true,"max_tokens":2,"temperature":0}' | grep -q '\[DONE\]'
}
if [ -f "$MODEL" ] && "$SERVE_BIN" help serve >/dev/null 2>&1 && command -v curl >/dev/null; then
    kind=serve
    for i in 1 2 3; do
        "$SERVE_BIN" serve -m "$MODEL" --port 0 -t 1 --parallel 1 >"$tmp/srv$i.log" 2>&1 & pids+=($!)
    done
    for i in 1 2 3; do
        p=""
        for _ in $(seq 1 200); do
            p=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$tmp/srv$i.log" | head -1)
            [ -n "$p" ] && break; sleep 0.1
        done
        ports+=("$p")
    done
    if [ -z "${ports[2]}" ] || ! serve_ok "${ports[0]}"; then
        echo "route.sh: llmr serve did not answer a streamed completion (log below); the"
        echo "          failover checks run against tests/router/oai_mock.py instead"
        sed 's/^/    /' "$tmp/srv1.log" | tail -5
        for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
        pids=(); ports=(); kind=mock
    fi
fi
if [ $kind = mock ]; then
    command -v python3 >/dev/null || { echo "skipped: no python3 for the mock servers"; exit 77; }
    for i in 1 2 3; do
        python3 "$SRC/tests/router/oai_mock.py" --port-file "$tmp/port$i" --name "S$i" \
            >"$tmp/mock$i.log" 2>&1 & pids+=($!)
    done
    for i in 1 2 3; do
        for _ in $(seq 1 400); do [ -s "$tmp/port$i" ] && break; sleep 0.05; done
        ports+=("$(cat "$tmp/port$i")")
    done
fi
echo "route.sh: failover across three $( [ $kind = serve ] && echo "llmr serve" || echo "mock OpenAI") servers"
cat > "$tmp/fleet.json" <<JSON
{"strategy": "quality-first", "retry": {"max_rounds": 1},
 "backends": {"s1": {"url": "http://127.0.0.1:${ports[0]}"},
              "s2": {"url": "http://127.0.0.1:${ports[1]}"},
              "s3": {"url": "http://127.0.0.1:${ports[2]}"}},
 "models": [
  {"id": "srv1", "backend": "s1", "api": "completions", "remote_model": "stories260K", "quality": 0.9, "context": 512},
  {"id": "srv2", "backend": "s2", "api": "completions", "remote_model": "stories260K", "quality": 0.8, "context": 512},
  {"id": "srv3", "backend": "s3", "api": "completions", "remote_model": "stories260K", "quality": 0.7, "context": 512}]}
JSON
ask() { "$BIN" route --config "$tmp/fleet.json" --temp 0 -n 24 "Once upon a time" >"$tmp/ans" 2>"$tmp/who"; }
expect() { # server number: the text that server must give
    if [ $kind = serve ]; then echo "$first"; else echo "[S$1] Once upon a time"; fi
}
ask; rc=$?; check "fleet answers ($(cat "$tmp/who"))" $rc
first=$(cat "$tmp/ans")
grep -q 'answered by srv1' "$tmp/who"; check "the best server answers first" $?
[ -n "$first" ] && [ "$first" = "$(expect 1)" ]; check "its text came back ($first)" $?
kill -9 "${pids[0]}"; wait "${pids[0]}" 2>/dev/null
ask; rc=$?; check "answered with server 1 killed ($(cat "$tmp/who"))" $rc
grep -q 'answered by srv2' "$tmp/who"; check "server 2 took over" $?
[ "$(cat "$tmp/ans")" = "$(expect 2)" ]; rc=$?
check "server 2's text, nothing repeated ($(cat "$tmp/ans"))" $rc
kill -9 "${pids[1]}"; wait "${pids[1]}" 2>/dev/null
ask; check "answered with servers 1 and 2 killed" $?
grep -q 'answered by srv3' "$tmp/who"; check "server 3 took over" $?
[ "$(cat "$tmp/ans")" = "$(expect 3)" ]; check "server 3's text" $?
kill -9 "${pids[2]}"; wait "${pids[2]}" 2>/dev/null
ask; rc=$?
check "all killed -> 1" $([ $rc = 1 ]; echo $?)
grep -q 'every candidate failed' "$tmp/who"; check "all killed: every candidate named" $?
grep -q 'srv1: .*srv2: .*srv3: ' "$tmp/who"; check "each failure listed" $?

echo "route.sh: $passes passed, $fails failed"
[ $fails = 0 ]
