#!/usr/bin/env bash
# The package's TypeScript declarations (js/index.d.ts) with tsc from tests/npm: a program using
# the whole API compiles, and each line of types_bad.ts is the type error it should be.
set -u
. "$(dirname "$0")/tsc.bash"
mkdir -p "$TMP/node_modules/@types"
ln -s "$SRC/js" "$TMP/node_modules/llm-runner-router"
ln -s "$NPM_DIR/node_modules/@types/node" "$TMP/node_modules/@types/node"
cp "$SRC/tests/js/types_ok.ts" "$SRC/tests/js/types_bad.ts" "$TMP/"
echo '{"type": "module"}' > "$TMP/package.json"
for f in types_ok types_bad; do
    printf '{"compilerOptions": {"module": "nodenext", "moduleResolution": "nodenext", "target": "es2022",
      "strict": true, "noEmit": true, "types": ["node"]}, "files": ["%s.ts"]}\n' "$f" > "$TMP/$f.json"
done
(cd "$TMP" && node "$TSC" -p types_ok.json) > "$TMP/ok.out" 2>&1
check "a program using the whole API type-checks" $?
cat "$TMP/ok.out"
(cd "$TMP" && node "$TSC" -p types_bad.json) > "$TMP/bad.out" 2>&1
for line in 3 4 5 6 7 8; do
    grep -q "^types_bad.ts($line," "$TMP/bad.out"; check "types_bad.ts line $line is a type error" $?
done
grep -q "^types_ok.ts\|^types_bad.ts(1,\|^types_bad.ts(2," "$TMP/bad.out"; check "no other error" $([ $? = 1 ]; echo $?)
echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
