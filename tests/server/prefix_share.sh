#!/usr/bin/env bash
# llmr serve shares a prompt prefix across slots: a request whose prompt another slot's cache
# already holds copies those keys and values instead of evaluating them (usage reports them as
# cached_tokens), and its greedy reply is the same as when the prompt is evaluated.
# Also: several requests with one prompt, sent together, all get the same greedy reply.
set -u
. "$(dirname "$0")/lib.bash"
need_model
command -v curl >/dev/null || { echo "skipped: curl is not installed"; exit 77; }
command -v python3 >/dev/null || { echo "skipped: python3 is not installed"; exit 77; }

field() { # file, python expression on d
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}
P=$(python3 -c 'print("Once upon a time there was a little girl named Lily. She loved to play " * 4)')
req() { # max_tokens
    echo "{\"prompt\":\"$P\",\"max_tokens\":$1,\"temperature\":0,\"logit_bias\":{\"2\":-100}}"
}

# A stories42m-shaped random model (as in concurrency.sh): slow enough that a long generation
# is still running when the second request comes.
MODEL_ORIG=$MODEL
MODEL=$TMP/s42.gguf
"$BIN" synth --shape stories42m --type Q4_0 --vocab "$MODEL_ORIG" -o "$MODEL" >/dev/null 2>&1 || {
    echo "FAIL: llmr synth"; exit 1; }

# the reference: one request on a fresh server, nothing cached
start_server --parallel 2 --ctx-size 1024
curl -H 'Content-Type: application/json' -s "$BASE/v1/completions" -d "$(req 12)" > "$TMP/ref.json"
check "reference request" $([ "$(field "$TMP/ref.json" "d['usage']['prompt_tokens_details']['cached_tokens']")" = 0 ]; echo $?)
stop_server

# slot 0 is busy generating from the prompt; the same prompt then takes slot 1 and copies
start_server --parallel 2 --ctx-size 1024
curl -H 'Content-Type: application/json' -sN "$BASE/v1/completions" -d "{\"prompt\":\"$P\",\"max_tokens\":900,\"logit_bias\":{\"2\":-100},\"stream\":true}" \
    > "$TMP/long.sse" & A=$!
for _ in $(seq 1 200); do [ -s "$TMP/long.sse" ] && break; sleep 0.01; done
curl -H 'Content-Type: application/json' -s "$BASE/v1/completions" -d "$(req 12)" > "$TMP/b.json"
busy=$(metric llmr_slots_active)
kill "$A"; wait "$A" 2>/dev/null
n=$(field "$TMP/b.json" "d['usage']['prompt_tokens']")
c=$(field "$TMP/b.json" "d['usage']['prompt_tokens_details']['cached_tokens']")
check "the first slot was still generating ($busy active)" $([ "$busy" = 1 ]; echo $?)
check "the prompt was copied from the busy slot ($c of $n tokens cached)" \
      $([ "$c" = $((n - 1)) ]; echo $?)
check "the reply equals the evaluated one" \
      $([ "$(field "$TMP/b.json" "d['choices'][0]['text']")" = "$(field "$TMP/ref.json" "d['choices'][0]['text']")" ]; echo $?)
stop_server

# four requests with one prompt at once: the same greedy reply for each
start_server --parallel 4 --ctx-size 1024
pids=()
for i in 1 2 3 4; do curl -H 'Content-Type: application/json' -s "$BASE/v1/completions" -d "$(req 12)" > "$TMP/s$i.json" & pids+=($!); done
wait "${pids[@]}"
same=0
for i in 1 2 3 4; do
    [ "$(field "$TMP/s$i.json" "d['choices'][0]['text']")" = "$(field "$TMP/ref.json" "d['choices'][0]['text']")" ] && same=$((same+1))
done
check "four simultaneous requests with one prompt reply as one alone ($same/4)" $([ $same = 4 ]; echo $?)
stop_server; check "clean exit" $?
finish
