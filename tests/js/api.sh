#!/usr/bin/env bash
# The llm-runner-router package (js/) on a real model: api.mjs (see there).
set -u
. "$(dirname "$0")/lib.bash"
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/node_modules"
ln -s "$SRC/js" "$TMP/node_modules/llm-runner-router"
cp "$SRC/tests/js/"*.mjs "$TMP/"
(cd "$TMP" && LLMR_BIN=${LLMR_BIN:-$BUILD/llmr} timeout 600 "${NODE[@]}" --expose-gc api.mjs)
rc=$?
# The README's five-line example, as written, from the repository's folder.
. "$SRC/tests/check.bash"
sed -n '/^## From JavaScript/,/^## [^F]/p' "$SRC/README.md" | sed -n '/^```js$/,/^```$/p' | sed '1d;$d' > "$TMP/readme.mjs"
[ "$(wc -l < "$TMP/readme.mjs")" = 5 ]; check "README: a five-line example" $?
out=$(cd "$SRC" && timeout 120 "${NODE[@]}" "$TMP/readme.mjs" 2>/dev/null); check "README example runs" $?
[ "${#out}" -gt 100 ]; check "README example streams a story (${#out} characters)" $?
echo "$passes passed, $fails failed"
[ $rc = 0 ] && [ $fails = 0 ]
