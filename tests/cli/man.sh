#!/usr/bin/env bash
# The manual page: llmr.1 is written at build time from the text of --help and `llmr help
# CMD` (`llmr help --man`), names every command with its whole usage, is valid roff, and
# `cmake --install` installs it (share/man/man1) with the default model, which the installed
# llmr then finds on its own.
set -u
BIN=${LLMR_BIN:?}
BUILD=${LLMR_BUILD:?}
. "$(dirname "$0")/../check.bash"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

"$BIN" help --man > "$tmp/llmr.1"; check "help --man exits 0" $?
cmp -s "$tmp/llmr.1" "$BUILD/llmr.1"; check "the built llmr.1 is that text" $?
head -1 "$tmp/llmr.1" | grep -q "^\.TH LLMR 1 \"\" \"llmr $("$BIN" --version | cut -d' ' -f2)\""
check "title names the version" $?
cmds=$("$BIN" --help | awk '/^commands:/ {on = 1; next} on && /^  [a-z]/ {print $1}')
[ "$(echo "$cmds" | wc -l)" -ge 20 ]; check "the help lists the commands ($(echo $cmds))" $?
missing=""
for c in $cmds; do
    grep -q "^\.SS \"llmr $c\"$" "$tmp/llmr.1" || missing="$missing $c"
done
[ -z "$missing" ]; check "every command has a section (missing:$missing)" $?
if command -v groff >/dev/null; then
    groff -man -Tutf8 -ww -z "$tmp/llmr.1" 2>"$tmp/warn"; st=$?
    [ $st = 0 ] && [ ! -s "$tmp/warn" ]; st=$?; check "valid roff, no warnings ($(head -3 "$tmp/warn"))" $st
    groff -man -Tascii "$tmp/llmr.1" 2>/dev/null | col -bx > "$tmp/page" 2>/dev/null ||
        groff -man -Tascii "$tmp/llmr.1" 2>/dev/null | sed 's/.\x08//g' > "$tmp/page"
    bad=""
    for c in $cmds; do      # each usage text, whole, on the rendered page
        "$BIN" help "$c" | sed 's/^ *//; s/ *$//' | grep -v '^$' | while IFS= read -r line; do
            grep -qF -- "$line" "$tmp/page" || { echo "$c: $line"; break; }
        done
    done > "$tmp/bad"
    [ ! -s "$tmp/bad" ]; st=$?; check "every usage line is on the page ($(head -2 "$tmp/bad"))" $st
fi

# cmake --install: the page, the default model, and an installed llmr that finds it
cmake --install "$BUILD" --prefix "$tmp/prefix" >/dev/null 2>&1; check "cmake --install" $?
cmp -s "$tmp/prefix/share/man/man1/llmr.1" "$tmp/llmr.1"; check "llmr.1 installed in man1" $?
[ -f "$tmp/prefix/share/llmr/models/stories260K.gguf" ] && [ -f "$tmp/prefix/share/llmr/models/README.md" ]
check "the default model and its licence installed" $?
(unset LLMR_DEFAULT_MODEL; "$tmp/prefix/bin/llmr" run -n 4 --temp 0 -t 1 "Once upon a time" >"$tmp/o" 2>"$tmp/e")
grep -q "using the default model stories260K ($tmp/prefix/share/llmr/models/stories260K.gguf)" "$tmp/e" && [ -s "$tmp/o" ]
st=$?; check "the installed llmr runs its installed default model ($(cat "$tmp/e"))" $st

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
