// hostile.mjs - the package under hostile use: every misuse is an Error with a code, never a
// crash or a hang. Calls before load, files that are no GGUF, lone surrogates, bad option
// values, 1000 streams at once, a stream iterated twice, calls after cleanup, and process exit
// with streams running.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import LLMRouter from 'llm-runner-router';
import { check, finish, rejects } from './check.mjs';

const MODEL = process.env.LLMR_MODEL_ABS;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-'));
const P = 'Once upon a time';

await rejects('new LLMRouter(logLevel: loud)', () => new LLMRouter({ logLevel: 'loud' }), 'LLMR_ERR_ARG');
await rejects('new LLMRouter(preferredEngine: 42)', () => new LLMRouter({ preferredEngine: 42 }), 'LLMR_ERR_ARG');
await rejects('new LLMRouter(unknown option)', () => new LLMRouter({ gpu: true }), 'LLMR_ERR_ARG', /unknown option 'gpu'/);
check('preferredEngine webgpu is accepted (and ignored)', new LLMRouter({ preferredEngine: 'webgpu', logLevel: 'silent' }) instanceof LLMRouter);

const router = new LLMRouter({ logLevel: 'silent' });
await router.initialize();
await rejects('stream() before load()', () => router.stream(P), 'LLMR_ERR_STATE', /load/);
await rejects('generate() before load()', () => router.generate(P), 'LLMR_ERR_STATE');

const notGguf = path.join(tmp, 'notes.gguf');
fs.writeFileSync(notGguf, 'just some text, not a model\n'.repeat(20));
await rejects('load() of a text file', () => router.load(notGguf), 'LLMR_ERR_FORMAT', /notes\.gguf|magic/i);
await rejects('load() of a missing file', () => router.load(path.join(tmp, 'missing.gguf')), 'LLMR_ERR_NOT_FOUND', /missing\.gguf: No such file/);
await rejects('load() of an ONNX URL', () => router.load('https://example.com/models/web-model.onnx'),
  'LLMR_ERR_UNSUPPORTED', /GGUF/);
await rejects('load() of a number', () => router.load(42), 'LLMR_ERR_ARG');
await rejects('load() with an unknown option', () => router.load(MODEL, { gpuLayers: 3 }), 'LLMR_ERR_ARG');
await rejects('stream() after failed loads', () => router.stream(P), 'LLMR_ERR_STATE', /load/);

await router.load(MODEL);
check('load() works after the failures', (await router.quick(P, { maxTokens: 3 })).length > 0);
check('a failed load leaves no model behind', router.models.length === 1, router.models.map((m) => m.id).join());

// Prompts
await rejects('a lone high surrogate', () => router.stream('abc\uD800def'), 'LLMR_ERR_ARG', /lone surrogate U\+D800 at index 3/);
await rejects('a lone low surrogate', () => router.stream('\uDC00'), 'LLMR_ERR_ARG', /lone surrogate/);
await rejects('a reversed pair', () => router.stream('\uDE00\uD83D'), 'LLMR_ERR_ARG', /lone surrogate/);
check('a real pair is fine', (await router.generate('smile 😀', { maxTokens: 2 })).usage.promptTokens > 1);
await rejects('a NUL in the prompt', () => router.stream('a\0b'), 'LLMR_ERR_ARG', /NUL/);
for (const bad of [123, null, undefined, { text: 'x' }]) {
  await rejects(`prompt ${String(bad)}`, () => router.stream(bad), 'LLMR_ERR_ARG');
}
await rejects('chat() with no messages', () => router.chat([]), 'LLMR_ERR_ARG');
await rejects('chat() with a bad message', () => router.chat([{ content: 'hi' }]), 'LLMR_ERR_ARG');
await rejects('chat() with a lone surrogate', () => router.chat([{ role: 'user', content: '\uD800' }]), 'LLMR_ERR_ARG');

// Option values
for (const [opts, re] of [
  [{ maxTokens: -1 }, /maxTokens: -1 is out of range/], [{ maxTokens: NaN }, /maxTokens: NaN is not an integer/],
  [{ maxTokens: '100' }, /maxTokens: expected a number, got a string/], [{ maxTokens: 1.5 }, /not an integer/],
  [{ maxTokens: Infinity }, /not an integer/], [{ maxTokens: 2e6 }, /out of range/],
  [{ temperature: -1 }, /temperature/], [{ temperature: 'hot' }, /temperature: expected a number/],
  [{ topP: 2 }, /top_p/], [{ seed: -5 }, /seed/], [{ stopSequences: [1] }, /stopSequences/],
  [{ stopSequences: Array(17).fill('x') }, /at most 16/], [{ grammar: 'root ::= (' }, /line 1/],
  [{ maxTokens: 5, bogus: 1 }, /unknown option 'bogus'/], [{ strategy: 'fastest' }, /strategy/],
  [{ model: 'nope' }, /nope/], [{ logitBias: { 5: 'x' } }, /logitBias/], ['opts', /options must be an object/],
]) {
  const code = /grammar/.test(JSON.stringify(opts)) ? 'LLMR_ERR_FORMAT' : /nope/.test(JSON.stringify(opts)) ? 'LLMR_ERR_NOT_FOUND' : 'LLMR_ERR_ARG';
  // an option the router checks when it opens the stream ends the stream with the error
  await rejects(`option ${JSON.stringify(opts)}`, async () => { const s = router.stream(P, opts); await s.result(); }, code, re);
}
check('maxTokens 0 means until the context is full', (await router.generate(P, { maxTokens: 0, ignoreEos: true })).finishReason === 'length');

// A stream gives its tokens once.
{
  const s = router.stream(P, { maxTokens: 5 });
  for await (const t of s) void t;
  await rejects('a stream iterated twice', async () => { for await (const t of s) void t; }, 'LLMR_ERR_STATE', /once/);
  const s2 = router.stream(P, { maxTokens: 5 });
  s2[Symbol.asyncIterator]();
  await rejects('a stream iterated by two loops at once', () => s2[Symbol.asyncIterator](), 'LLMR_ERR_STATE');
  s2.stop();
  s2.stop();
  s2.pause();
  s2.resume();
  check('control calls after the end are harmless', (await s.result()).text.length > 0);
}

// 1000 streams at once: each ends with text or an Error with a code; none hangs.
{
  const t0 = Date.now();
  const streams = Array.from({ length: 1000 }, (_, i) => router.stream(P, { maxTokens: 4, seed: i }));
  let timer;
  const results = await Promise.race([
    Promise.allSettled(streams.map((s) => s.result())),
    new Promise((r) => { timer = setTimeout(() => r(null), 300000); }),
  ]);
  clearTimeout(timer);
  check('1000 streams: all end', results !== null, `after ${Date.now() - t0} ms`);
  if (results) {
    const ok = results.filter((r) => r.status === 'fulfilled' && r.value.usage.generatedTokens === 4).length;
    const coded = results.filter((r) => r.status === 'rejected' && r.reason instanceof Error && r.reason.code).length;
    check('1000 streams: each gives its tokens or a coded error', ok + coded === 1000, `${ok} ok, ${coded} errors`);
    console.log(`1000 streams: ${ok} complete, ${coded} coded errors, ${Date.now() - t0} ms`);
  }
}

// Error events: an 'error' listener gets the coded Error, and for await rejects with it.
{
  const s = router.stream(P, { maxTokens: 5, model: 'nope' });
  let evErr = null;
  s.on('error', (e) => { evErr = e; });
  await rejects('for await rejects with the stream error', async () => { for await (const t of s) void t; }, 'LLMR_ERR_NOT_FOUND');
  check('error event with the code', evErr && evErr.code === 'LLMR_ERR_NOT_FOUND');
}

await router.cleanup();
await rejects('stream() after cleanup()', () => router.stream(P), 'LLMR_ERR_STATE', /cleanup/);
await rejects('load() after cleanup()', () => router.load(MODEL), 'LLMR_ERR_STATE');
await router.cleanup();

// Process exit with streams open: clean, whatever they are doing.
function child(code) {
  fs.writeFileSync(path.join(process.cwd(), 'child.mjs'), code);
  return new Promise((resolve) => {
    const c = spawn(process.execPath, ['child.mjs'], { env: process.env });
    let out = '';
    c.stdout.on('data', (d) => { out += d; });
    c.stderr.on('data', (d) => { out += d; });
    const t = setTimeout(() => c.kill('SIGKILL'), 120000);
    c.on('close', (status, signal) => { clearTimeout(t); resolve({ status, signal, out }); });
  });
}
const head = `import LLMRouter from 'llm-runner-router';
const r = new LLMRouter({ logLevel: 'silent' });
await r.load(${JSON.stringify(MODEL)});
const streams = Array.from({ length: 6 }, (_, i) => r.stream('Once upon a time', { maxTokens: 0, ignoreEos: true, seed: i }));
`;
for (const [name, tail] of [
  ['process.exit() mid-stream', "for await (const t of streams[0]) { process.exit(0); }\n"],
  ['process.exit() with paused streams', "streams.forEach((s) => s.pause()); await new Promise((r) => setTimeout(r, 50)); process.exit(0);\n"],
  ['the script ends with streams never read', "console.log('done');\n"],
  ['an exception with streams running', "for await (const t of streams[1]) { throw new Error('boom'); }\n"],
]) {
  const t0 = Date.now();
  const r = await child(head + tail);
  console.log(`exit: ${name}: ${Date.now() - t0} ms`);
  const want = name.startsWith('an exception') ? 1 : 0;
  check(`exit: ${name}`, r.status === want && !r.signal && !/Segmentation|Aborted|FATAL|ERROR: AddressSanitizer/.test(r.out),
    `status ${r.status} ${r.signal || ''} ${r.out.slice(-500)}`);
}

fs.rmSync(tmp, { recursive: true, force: true });
finish();
