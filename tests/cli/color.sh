#!/usr/bin/env bash
# Color and progress bars where a person looks: `llmr run --verbose`, `bench`, `pull` and
# `quantize` color their stderr and draw progress on a terminal (a pseudo-terminal here,
# tests/cli/on_tty.py), never on a pipe, and NO_COLOR (any non-empty value) or TERM=dumb
# turns the color off but keeps the progress. Needs only models/stories260K.gguf.
set -u
BIN=${LLMR_BIN:?}
SRC=${LLMR_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$0")/../check.bash"
command -v python3 >/dev/null || { echo "skipped: python3 is absent"; exit 77; }
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
export LLMR_CACHE_DIR="$tmp/cache" TERM=xterm
unset NO_COLOR
M=$DEFAULT_MODEL
ESC=$'\033'
has_color() { grep -q "$ESC\[[0-9;]*m" "$1"; }       # an SGR sequence: color or bold
has_bar() { grep -qP '\r(?!\n)' "$1"; }   # a redrawn line (a terminal's newline is \r\n)

# tty NAME CMD...: on a terminal with color allowed, with NO_COLOR=1, with TERM=dumb
tty3() {
    local name=$1; shift
    python3 "$HERE/on_tty.py" "$tmp/$name.tty" "$@"; local rc=$?
    NO_COLOR=1 python3 "$HERE/on_tty.py" "$tmp/$name.nocolor" "$@"
    TERM=dumb python3 "$HERE/on_tty.py" "$tmp/$name.dumb" "$@"
    "$@" >"$tmp/$name.pipe" 2>&1
    return $rc
}
verdict() { # name, want_bar
    local n=$1
    has_color "$tmp/$n.tty"; check "$n: color on a terminal" $?
    ! has_color "$tmp/$n.nocolor"; check "$n: NO_COLOR turns it off" $?
    ! has_color "$tmp/$n.dumb"; check "$n: TERM=dumb turns it off" $?
    ! grep -q "$ESC" "$tmp/$n.pipe" && ! has_bar "$tmp/$n.pipe"; check "$n: nothing of it on a pipe" $?
    if [ "$2" = 1 ]; then
        has_bar "$tmp/$n.tty" && has_bar "$tmp/$n.nocolor"; check "$n: a progress bar on a terminal, NO_COLOR or not" $?
    fi
}

tty3 run "$BIN" run -m "$M" -n 4 --temp 0 -t 1 --verbose "Once"; check "run --verbose exits 0" $?
grep -q "generation:" "$tmp/run.tty" && grep -q "generation:" "$tmp/run.pipe"; check "run: timings in both" $?
verdict run 0
tty3 bench "$BIN" bench -m "$M" -p 16 -n 4 -r 3 -t 1; check "bench exits 0" $?
verdict bench 1
grep -q "pp16, 1 threads" "$tmp/bench.nocolor"; check "bench: the bar names the test" $?
tty3 quantize "$BIN" quantize "$M" "$tmp/q.gguf" Q4_0; check "quantize exits 0" $?
verdict quantize 1
mkdir -p "$tmp/www" && cp "$M" "$tmp/www/m.gguf"
python3 "$SRC/tests/router/httpd.py" --root "$tmp/www" --port-file "$tmp/port" --log "$tmp/http.log" \
    >/dev/null 2>&1 & pids+=($!)
for _ in $(seq 300); do [ -s "$tmp/port" ] && break; sleep 0.05; done
URL="http://127.0.0.1:$(cat "$tmp/port")/m.gguf"
pull() { "$BIN" rm m >/dev/null 2>&1; "$BIN" pull "$URL"; }
export -f pull; export BIN URL
tty3 pull bash -c pull; check "pull exits 0" $?
verdict pull 1

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
