#!/usr/bin/env bash
# dist/browser.js's TypeScript declarations (js/browser/browser.d.ts, copied into dist/ by
# scripts/build-wasm.sh) with tsc from tests/npm and the DOM's types, no Node's: a page using
# the whole browser API compiles, and each line of the bad program is the type error it
# should be.
set -u
. "$(dirname "$0")/tsc.bash"
cp "$SRC/js/browser/browser.d.ts" "$TMP/browser.d.ts"
cat > "$TMP/ok.ts" <<'TS'
import LLMRouter, { type EngineInfo, type LoadedModel, type LLMRError } from './browser.js';
const router = new LLMRouter({ logLevel: 'info', preferredEngine: 'webgpu', threads: 2 });
const info: EngineInfo = await router.initialize();
const build: 'threads' | 'single' = info.build;
const m: LoadedModel = await router.load('models/stories260K.gguf', {
  nCtx: 512, onProgress: (p) => console.log(p.loaded, p.total, p.percent) });
await router.load(new Blob([]));
await router.load(new ArrayBuffer(8), { name: 'x' });
const threads: number | null = router.threads;
const stream = router.stream('Once upon a time', { maxTokens: 20, temperature: 0, stop: '\n' });
stream.on('token', (text, i) => console.log(text.length, i.index, i.elapsed));
stream.on('complete', (e) => console.log(e.tokenCount, e.usage.tokensPerSecond));
stream.on('error', (e: LLMRError) => console.log(e.code));
stream.pause(); stream.resume();
for await (const piece of stream) console.log(piece.toUpperCase());
stream.stop();
const r = await router.chat([{ role: 'user', content: 'hi' }]).result();
const text: string = r.text + (await router.quick('hi'));
console.log(build, m.threads, threads, text, (await router.generate('x')).finishReason);
await router.cleanup();
TS
cat > "$TMP/bad.ts" <<'TS'
import LLMRouter from './browser.js';
const router = new LLMRouter({ logLevel: 'loud' });
new LLMRouter({ threads: 'many' });
router.stream(42);
router.stream('hi', { maxTokens: '300' });
router.stream('hi', { strategy: 'fastest' });
const n: number = await router.quick('hi');
await router.load(42);
const b: 'gpu' = (await router.initialize()).build;
TS
echo '{"type": "module"}' > "$TMP/package.json"
for f in ok bad; do
    printf '{"compilerOptions": {"module": "es2022", "moduleResolution": "bundler", "target": "es2022",
      "lib": ["es2022", "dom", "dom.asynciterable"], "strict": true, "noEmit": true, "types": []},
      "files": ["%s.ts"]}\n' "$f" > "$TMP/$f.json"
done
(cd "$TMP" && node "$TSC" -p ok.json) > "$TMP/ok.out" 2>&1
check "a page using the whole browser API type-checks" $?
cat "$TMP/ok.out"
(cd "$TMP" && node "$TSC" -p bad.json) > "$TMP/bad.out" 2>&1
for line in 2 3 4 5 6 7 8 9; do
    grep -q "^bad.ts($line," "$TMP/bad.out"; check "bad.ts line $line is a type error" $?
done
grep -q "^ok.ts\|^bad.ts(1,\|^browser.d.ts" "$TMP/bad.out"; check "no other error" $([ $? = 1 ]; echo $?)
echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
