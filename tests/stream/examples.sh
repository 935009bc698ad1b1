#!/usr/bin/env bash
# Runs every streaming example (one per section of the seed's guide) on stories260K and checks
# what each one shows: text streamed, progress events, pause/resume/stop timing, filters,
# analyzer statistics, fallback loading and retries.
set -u
BUILD=${LLMR_BUILD:?}
. "$(dirname "$0")/../check.bash"
MODEL=$DEFAULT_MODEL
if [ ! -f "$MODEL" ]; then
    echo "skipped: $MODEL is absent"; exit 77
fi
export LLMR_THREADS=1 LLMR_SEED=7 LLMR_EXAMPLE_SCALE=${LLMR_EXAMPLE_SCALE:-0.1}
export LLMR_EXAMPLE_MAX_TOKENS=${LLMR_EXAMPLE_MAX_TOKENS:-120}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
num() { grep -o "$1 *[0-9]*" "$2" | head -1 | grep -o '[0-9]*$'; }

# Basic streaming: a story, then the summary with its length.
"$BUILD/example_basic_streaming" "$MODEL" "Once upon a time" > "$tmp/basic"; check "basic exit 0" $?
grep -q "✅ Story complete!" "$tmp/basic"; check "basic completes" $?
n=$(grep -o 'Total length: [0-9]*' "$tmp/basic" | grep -o '[0-9]*$')
[ "${n:-0}" -gt 50 ]; check "basic streamed text ($n chars)" $?
"$BUILD/example_basic_streaming" >/dev/null 2>&1; check "basic without a model -> 2" $([ $? = 2 ]; echo $?)

# Events: start, progress every 10 tokens with rates and an ETA, completion.
"$BUILD/example_event_streaming" "$MODEL" "Once upon a time" > "$tmp/events"; check "events exit 0" $?
grep -q "🎬 Starting generation: Once upon a time" "$tmp/events"; check "start event" $?
grep -o '📊 Progress: [0-9]* tokens' "$tmp/events" | grep -o '[0-9]*' > "$tmp/prog"
[ "$(head -3 "$tmp/prog" | tr '\n' ' ')" = "10 20 30 " ]; check "progress every 10 tokens" $?
grep -q "⏱️ ETA: [0-9]*ms" "$tmp/events"; check "ETA shown" $?
grep -q "✅ Complete: [0-9]* tokens in [0-9]*ms" "$tmp/events"; check "complete event" $?

# Control: pause at 3 s, resume at 6 s, stop at 15 s (scaled).
"$BUILD/example_controllable_stream" "$MODEL" "Once upon a time" > "$tmp/ctl"; check "control exit 0" $?
p=$(num "paused after" "$tmp/ctl"); r=$(num "resumed after" "$tmp/ctl")
s=$(num "stopped after" "$tmp/ctl"); f=$(num "Stream finished:" "$tmp/ctl")
[ -n "$p" ] && [ "$p" -gt 0 ]; check "pieces before the pause ($p)" $?
[ "$p" = "$r" ]; check "no piece while paused ($p then $r)" $?
[ "$s" -gt "$r" ]; check "pieces after resuming ($r then $s)" $?
[ $((f - s)) -le 1 ]; check "at most one piece after stop ($s then $f)" $?
grep -q "status paused" "$tmp/ctl"; check "status reports paused" $?
grep -q "finish reason cancelled" "$tmp/ctl"; check "stopped stream is cancelled" $?

# Filters: no bad word gets through, every '.' became '!'.
"$BUILD/example_filtered_stream" "$MODEL" > "$tmp/filt"; check "filters exit 0" $?
sed -n '3,$p' "$tmp/filt" | grep -v "✅" > "$tmp/filt_text"
! grep -qiE 'bad|evil|terrible' "$tmp/filt_text"; check "profanity filtered" $?
! grep -q '\.' "$tmp/filt_text"; check "no '.' left" $?
grep -q '!' "$tmp/filt_text"; check "'!' put in" $?

# Analyzer: periodic and final statistics that add up.
"$BUILD/example_stream_analyzer" "$MODEL" "Once upon a time" > "$tmp/an"; check "analyzer exit 0" $?
grep -q "📈 Stats at 50 tokens" "$tmp/an"; check "stats every 50 tokens" $?
sed -n '/Final Statistics/,$p' "$tmp/an" > "$tmp/final"
words=$(num "Words:" "$tmp/final"); uniq=$(num "Unique words:" "$tmp/final")
sent=$(num "Sentences:" "$tmp/final")
[ "${words:-0}" -gt 0 ] && [ "$uniq" -le "$words" ] && [ "$sent" -gt 0 ]
check "final stats consistent (words $words, unique $uniq, sentences $sent)" $?

# Robust: the might-fail model is missing, the backup loads; the busy model is retried.
(cd "$tmp" && "$BUILD/example_robust_streaming" "$MODEL" > "$tmp/rob"); check "robust exit 0" $?
grep -q "Loading backup model... (models/might-fail-model.gguf" "$tmp/rob"; check "backup loaded" $?
grep -qx "Loaded the backup model: $MODEL" "$tmp/rob"; check "labelled the backup, as in the usage line" $?
grep -q "Stream error (attempt 1), retrying in 100ms" "$tmp/rob"; check "retry with delay" $?
grep -q "✅ Streaming completed successfully" "$tmp/rob"; check "robust completes" $?
cp "$MODEL" "$tmp/primary.gguf"
"$BUILD/example_robust_streaming" "$MODEL" "$tmp/primary.gguf" > "$tmp/rob2"; check "robust, first loads" $?
! grep -q "Loading backup" "$tmp/rob2"; check "no fallback when the first loads" $?
grep -qx "Loaded the primary model: $tmp/primary.gguf" "$tmp/rob2"
check "the second argument is the primary, labelled so" $?

echo "$passes passed, $fails failed"
[ $fails = 0 ]
