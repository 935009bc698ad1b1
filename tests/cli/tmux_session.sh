#!/usr/bin/env bash
# A new user's terminal session, typed into a real terminal (tmux, from Debian): pull a model
# from a URL, list it, run it by name, show it, chat with it, and ask a running `llmr serve`
# what it has loaded. Each command's screen output is read back with capture-pane. Needs only
# models/stories260K.gguf; skips when tmux is absent (scripts/setup.sh installs it).
set -u
BIN=${LLMR_BIN:?}
SRC=${LLMR_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "$0")/../check.bash"
command -v tmux >/dev/null || { echo "skipped: tmux is not installed (scripts/setup.sh installs it)"; exit 77; }
command -v python3 >/dev/null || { echo "skipped: python3 is absent"; exit 77; }
tmp=$(mktemp -d)
SOCK="$tmp/tmux.sock"
T=(tmux -S "$SOCK" -f /dev/null)
pids=()
cleanup() {
    "${T[@]}" kill-server 2>/dev/null
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
M=$DEFAULT_MODEL

# the model on a loopback web server, as a download would be
mkdir -p "$tmp/www" "$tmp/bin" && cp "$M" "$tmp/www/tinystory.gguf"
python3 "$SRC/tests/router/httpd.py" --root "$tmp/www" --port-file "$tmp/http.port" \
    --log "$tmp/http.log" >/dev/null 2>&1 & pids+=($!)
for _ in $(seq 300); do [ -s "$tmp/http.port" ] && break; sleep 0.05; done
URL="http://127.0.0.1:$(cat "$tmp/http.port")/tinystory.gguf"
ln -s "$BIN" "$tmp/bin/llmr"

# a shell in a 160x50 terminal: llmr on PATH, its own cache, a plain prompt
cat > "$tmp/rc" <<RC
export PATH="$tmp/bin:\$PATH" LLMR_CACHE_DIR="$tmp/cache" TERM=xterm PS1='user\$ '
unset NO_COLOR LLMR_DEFAULT_MODEL LLMR_HOST
RC
"${T[@]}" new-session -d -s s -x 160 -y 50 "bash --rcfile $tmp/rc -i" || {
    echo "FAIL: tmux cannot start a session"; exit 1; }
"${T[@]}" new-window -d -t s:1 "bash --rcfile $tmp/rc -i"

screen() { "${T[@]}" capture-pane -p -J -S -1000 -t "$1"; }
# type WINDOW TEXT: types a command and Enter, then waits (60 s at most) for its end marker
n=0
type_cmd() {
    local w=$1 cmd=$2
    n=$((n + 1))
    "${T[@]}" send-keys -t "s:$w" -l "$cmd; echo \"@@end $n \$?@@\""
    "${T[@]}" send-keys -t "s:$w" Enter
    for _ in $(seq 600); do
        screen "s:$w" | grep -q "^@@end $n [0-9]*@@" && return 0
        sleep 0.1
    done
    echo "timed out on: $cmd"; screen "s:$w" | tail -20
    return 1
}
# out N: the screen between command N's line and its end marker
out() { screen "s:$1" | awk -v n="$2" '
    index($0, "echo \"@@end " n " $?@@\"") { on = 1; next }
    $0 ~ "^@@end " n " " { exit }
    on { print }'; }
status() { screen "s:$1" | sed -n "s/^@@end $2 \([0-9]*\)@@$/\1/p"; }

type_cmd 0 "llmr pull $URL"; check "pull typed" $?
out 0 $n | grep -qx "$tmp/cache/tinystory.gguf" && [ "$(status 0 $n)" = 0 ]
check "pull prints the cached path ($(out 0 $n | tail -2 | tr '\n' '|'))" $?
type_cmd 0 "llmr ls"
out 0 $n | grep -Eq "^tinystory +1\.1 MiB +F32 +llama +292\.80K "; st=$?
check "ls shows it by name with its type, architecture, parameters ($(out 0 $n | tail -1))" $st
type_cmd 0 "llmr run tinystory -n 24 --temp 0 -t 1 'Once upon a time'"
out 0 $n | grep -q "there was a little girl named Lily" && [ "$(status 0 $n)" = 0 ]
st=$?; check "run NAME streams a story ($(out 0 $n | head -2 | tr '\n' '|'))" $st
type_cmd 0 "llmr show tinystory"
out 0 $n | grep -Eq "^ +architecture +llama$" && out 0 $n | grep -Eq "^ +quantization +F32$"
check "show describes it" $?
type_cmd 0 "llmr run tinystroy 'x'"
out 0 $n | grep -q "close matches: tinystory" && [ "$(status 0 $n)" = 1 ]; check "a typo: close matches" $?

# chat: an interactive conversation on the terminal
"${T[@]}" send-keys -t s:0 -l "llmr chat tinystory -n 16 --temp 0 -t 1"
"${T[@]}" send-keys -t s:0 Enter
wait_screen() { for _ in $(seq 600); do screen "s:$1" | grep -q -- "$2" && return 0; sleep 0.1; done; return 1; }
wait_screen 0 "/help lists commands"; check "chat starts" $?
sleep 0.5      # libedit switches the terminal to its editing mode before reading a line
"${T[@]}" send-keys -t s:0 -l "Tell me a story"; "${T[@]}" send-keys -t s:0 Enter
wait_screen 0 ">>> Tell me a story"; check "chat echoes the message" $?
for _ in $(seq 600); do [ "$(screen s:0 | grep -c '^>>> ')" -ge 2 ] && break; sleep 0.1; done
reply=$(screen s:0 | awk '/^>>> Tell me a story/ {on = 1; next} on && /^>>> / {exit} on {print}')
[ -n "$(echo "$reply" | tr -d '[:space:]')" ]; st=$?; check "chat replies ($(echo "$reply" | head -1))" $st
sleep 0.3
"${T[@]}" send-keys -t s:0 -l "/bye"; "${T[@]}" send-keys -t s:0 Enter
last_line() { screen "s:$1" | grep -v '^ *$' | tail -1 | sed 's/ *$//'; }
for _ in $(seq 300); do [ "$(last_line 0)" = 'user$' ] && break; sleep 0.1; done
[ "$(last_line 0)" = 'user$' ]; st=$?; check "/bye returns to the shell ($(last_line 0))" $st

# ps against a running server (in the second window)
"${T[@]}" send-keys -t s:1 -l "llmr serve -m tinystory --port 0 -t 1 2>&1 | tee $tmp/srv.log"
"${T[@]}" send-keys -t s:1 Enter
port=""
for _ in $(seq 300); do
    port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$tmp/srv.log" 2>/dev/null)
    [ -n "$port" ] && break; sleep 0.1
done
[ -n "$port" ]; check "serve -m NAME listens" $?
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done
type_cmd 0 "llmr ps --port $port"
out 0 $n | grep -Eq "^tinystory:latest +3c4a7c3a8313 +1\.1 MiB +loaded"; st=$?
check "ps lists what the server has loaded ($(out 0 $n | tr '\n' '|'))" $st
"${T[@]}" send-keys -t s:1 C-c

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
