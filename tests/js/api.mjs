// api.mjs - the llm-runner-router package's API on a real model (stories260K): the text it
// streams is the engine's (the same as `llmr run` at temperature 0), events, stop sequences,
// stop / pause / resume, slots freed by break and by garbage collection, several models and
// strategies, generate / quick / chat, and an event loop that keeps running while it works.
// Run by api.sh with --expose-gc.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import LLMRouter from 'llm-runner-router';
import { check, finish, until } from './check.mjs';

const MODEL = process.env.LLMR_MODEL_ABS;
const F16 = MODEL.replace(/\.gguf$/, '-f16.gguf');
const BIN = process.env.LLMR_BIN;
const PROMPT = 'Once upon a time';

const router = new LLMRouter({ logLevel: 'silent' });
await router.initialize();
const info = await router.load(MODEL);
check('load resolves to the model id', info.id === 'stories260K', JSON.stringify(info));

// The text is the engine's: `llmr run` at temperature 0 gives the same.
{
  const cli = execFileSync(BIN, ['run', '-m', MODEL, '-n', '40', '--temp', '0', '-t', '1', PROMPT],
    // without the ASan runtime node may have been given: an ASan llmr has its own
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, LD_PRELOAD: '' } });
  const s = router.stream(PROMPT, { maxTokens: 40, temperature: 0 });
  let text = '', n = 0;
  for await (const t of s) { text += t; n++; }
  check('for await gives the text of llmr run', text === cli, JSON.stringify([text, cli]));
  check('one piece per token or more', n > 5 && n <= 40, `${n} pieces`);
  check('finish reason length', s.finishReason === 'length', s.finishReason);
  check('usage counts 40 tokens', s.usage.generatedTokens === 40, JSON.stringify(s.usage));
  check('model named', s.model === 'stories260K', s.model);
  check('stream.text is the whole text', s.text === text);
}

// Events: start, token (the same pieces), progress every 10 tokens, complete.
{
  const s = router.stream(PROMPT, { maxTokens: 50, temperature: 0.7, seed: 3 });
  const ev = { start: 0, tokens: [], progress: [], complete: null, end: 0 };
  s.on('start', (d) => { ev.start++; ev.startPrompt = d.prompt; });
  s.on('token', (t) => ev.tokens.push(t));
  s.on('progress', (p) => ev.progress.push(p));
  s.on('complete', (c) => { ev.complete = c; });
  s.on('end', () => ev.end++);
  const pieces = [];
  for await (const t of s) pieces.push(t);
  check('start event once, with the prompt', ev.start === 1 && ev.startPrompt === PROMPT);
  check('token events are the pieces', ev.tokens.join('|') === pieces.join('|'));
  check('progress every 10 tokens', ev.progress.map((p) => p.tokens).join() === '10,20,30,40,50',
    ev.progress.map((p) => p.tokens).join());
  const p = ev.progress[0] || {};
  check('progress has rates and an ETA', p.charactersPerSecond > 0 && p.tokensPerSecond > 0 &&
    Number.isInteger(p.estimatedTimeRemaining) && p.maxTokens === 50, JSON.stringify(p));
  check('complete has the text and counts', ev.complete && ev.complete.text === pieces.join('') &&
    ev.complete.tokenCount === 50 && ev.complete.finishReason === 'length');
  check('end event once', ev.end === 1);
}

// Log-probabilities: each piece's tokens with their log-probability and the top 3; at
// temperature 0 the chosen token is the most likely, and the bytes make up the text.
{
  const s = router.stream(PROMPT, { maxTokens: 12, temperature: 0, logprobs: true, topLogprobs: 3 });
  const infos = [];
  s.on('token', (t, i) => infos.push([t, i]));
  await s.result();
  const lps = infos.flatMap(([, i]) => i.logprobs || []);
  check('logprobs: one per token', lps.length === 12, `${lps.length}`);
  check('logprobs: <= 0, top 3 sorted, the chosen token first', lps.every((l) => l.logprob <= 0 &&
    l.top.length === 3 && l.top[0].token === l.token && l.top[0].logprob === l.logprob &&
    l.top[0].logprob >= l.top[1].logprob && l.top[1].logprob >= l.top[2].logprob),
    JSON.stringify(lps[0]));
  check('logprobs: probabilities of the top sum to at most 1',
    lps.every((l) => l.top.reduce((a, x) => a + Math.exp(x.logprob), 0) <= 1 + 1e-6));
  const bytes = Buffer.from(lps.flatMap((l) => l.bytes)).toString('utf8');
  check('logprobs: the bytes make up the text', bytes === s.text, JSON.stringify([bytes, s.text]));
  check('pieces say they are not reasoning', infos.every(([, i]) => i.reasoning === false));
  const plain = [];
  const p = router.stream(PROMPT, { maxTokens: 3, temperature: 0 });
  p.on('token', (t, i) => plain.push(i));
  await p.result();
  check('no logprobs unless asked', plain.every((i) => i.logprobs === undefined));
  let code = null;
  try { router.stream(PROMPT, { logprobs: true, topLogprobs: 21 }); } catch (e) { code = e.code; }
  check('topLogprobs 21 is refused', code === 'LLMR_ERR_ARG', code);
}

// Stop sequences are never emitted.
{
  const full = await router.quick(PROMPT, { maxTokens: 60, temperature: 0 });
  const cut = full.indexOf(' She');
  const s = router.stream(PROMPT, { maxTokens: 60, temperature: 0, stopSequences: [' She'] });
  let text = '';
  for await (const t of s) text += t;
  check('stop sequence ends the text before it', cut > 0 && text === full.slice(0, cut),
    JSON.stringify([text, full]));
  check('finish reason stop', s.finishReason === 'stop');
}

// stop(): no piece arrives after it (those the worker made ahead are dropped); the stream ends
// cancelled.
{
  const s = router.stream(PROMPT, { maxTokens: 400, temperature: 0.8, seed: 1 });
  let n = 0, after = 0, stopped = false;
  for await (const t of s) {
    if (stopped) after++;
    if (++n === 3) { s.stop(); stopped = true; }
  }
  check('stop(): cancelled', s.finishReason === 'cancelled', s.finishReason);
  check('stop(): no piece after it', after === 0 && s.text.length > 0 && s.usage.generatedTokens < 400, `${after} after, ${s.usage.generatedTokens} made`);
}

// pause(): nothing arrives while paused, by construction (paused before its first token).
{
  const s = router.stream(PROMPT, { maxTokens: 30, temperature: 0, cache: false });
  s.pause();
  let got = 0;
  s.on('token', () => got++);
  await until(() => s.status === 'paused', 60000, 'status paused').catch((e) => {
    console.log(`FAIL: pause(): status ${s.status}, ended ${s.ended}, ${got} tokens, ${JSON.stringify(s.usage)}`);
    throw e;
  });
  await new Promise((r) => setTimeout(r, 300));
  check('pause(): no token while paused', got === 0 && !s.ended, `${got} tokens`);
  s.resume();
  const r = await s.result();
  check('resume(): the stream goes on to the end', r.finishReason === 'length' && got > 0 &&
    r.usage.generatedTokens === 30);
}

// Breaking out of for await frees the slot: 4 streams (the model's 4 slots) held paused, a
// fifth waits for a slot; breaking out of one lets it run.
async function slotFreedBy(label, free) {
  const held = [];
  for (let i = 0; i < 4; i++) {
    const s = router.stream(PROMPT, { maxTokens: 200 });
    s.pause();
    held.push(s);
  }
  await until(() => held.every((s) => s.status === 'paused'), 120000, 'four paused streams').catch((e) => {
    console.log(`FAIL: ${label}: statuses ${held.map((s) => s.status).join()}; ${JSON.stringify(router.status().models)}`);
    throw e;
  });
  const fifth = router.stream(PROMPT, { maxTokens: 5, temperature: 0 });
  await until(() => fifth.status === 'queued' || fifth.ended, 30000, 'the fifth queued');
  check(`${label}: the fifth stream waits for a slot`, fifth.status === 'queued', fifth.status);
  await free(held, fifth);
  let ok = false, timer;
  try {
    const r = await Promise.race([fifth.result(),
      new Promise((_, rej) => { timer = setTimeout(() => rej(new Error('the fifth never ran')), 60000); })]);
    ok = r.usage.generatedTokens === 5;
  } catch (e) { console.log(e.message); }
  clearTimeout(timer);
  check(`${label}: the freed slot runs the fifth`, ok);
  // wait until their slots are free again, for the next test
  await Promise.all(held.filter(Boolean).map((s) => { s.stop(); return s.result().catch(() => {}); }));
}
await slotFreedBy('break', async (held) => {
  const s = held.shift();
  s.resume();
  for await (const t of s) { void t; break; }
});
await slotFreedBy('gc', async (held, fifth) => {
  held[0] = null;   // abandoned: nobody can read it any more
  for (let i = 0; i < 100 && fifth.status === 'queued'; i++) {
    globalThis.gc();
    await new Promise((r) => setTimeout(r, 20));
  }
});

// The event loop keeps running while 8 streams generate: a 10 ms timer's longest gap stays
// short next to the time the streams take (a blocking binding would stall it for all of it).
{
  let last = Date.now(), maxGap = 0, ticks = 0;
  const iv = setInterval(() => { const now = Date.now(); maxGap = Math.max(maxGap, now - last); last = now; ticks++; }, 10);
  const t0 = Date.now();
  const streams = Array.from({ length: 8 }, (_, i) => router.stream(PROMPT, { maxTokens: 400, seed: i, ignoreEos: true }));
  const counts = await Promise.all(streams.map(async (s) => { let n = 0; for await (const t of s) { void t; n++; } return s.usage.generatedTokens; }));
  const total = Date.now() - t0;
  clearInterval(iv);
  check('8 concurrent streams complete', counts.every((c) => c === 400), counts.join());
  check('the timer kept firing', ticks >= 3 && maxGap < Math.max(250, total / 2), `max gap ${maxGap} ms of ${total} ms, ${ticks} ticks`);
}

// Several models; a request picks one by id, a strategy ranks them.
{
  const f16 = await router.load(F16, { id: 'tiny-f16', quality: 0.9 });
  check('second model loads with its id', f16.id === 'tiny-f16');
  const s = router.stream(PROMPT, { maxTokens: 5, model: 'tiny-f16' });
  await s.result();
  check('model option picks the model', s.model === 'tiny-f16', s.model);
  const q = router.stream(PROMPT, { maxTokens: 5, strategy: 'quality-first' });
  await q.result();
  check('quality-first picks the better model', q.model === 'tiny-f16', q.model);
  const seen = new Set();
  for (let i = 0; i < 4; i++) {
    const r = router.stream(PROMPT, { maxTokens: 2, strategy: 'round-robin' });
    await r.result();
    seen.add(r.model);
  }
  check('round-robin uses both models', seen.size === 2, [...seen].join());
  check('models lists both', router.models.map((m) => m.id).sort().join() === 'stories260K,tiny-f16');
}

// generate / quick / chat.
{
  const g = await router.generate(PROMPT, { maxTokens: 12, temperature: 0, model: 'stories260K' });
  check('generate(): text, model, usage', typeof g.text === 'string' && g.text.length > 0 &&
    g.model === 'stories260K' && g.usage.generatedTokens === 12);
  const q = await router.quick(PROMPT, { maxTokens: 12, temperature: 0, model: 'stories260K' });
  check('quick(): the same text', q === g.text);
  const c = router.chat([{ role: 'user', content: 'Hello' }], { maxTokens: 8, model: 'stories260K' });
  let ct = '';
  for await (const t of c) ct += t;
  check('chat(): a reply streams', c.usage.generatedTokens > 0 && c.usage.promptTokens > 2, JSON.stringify(c.usage));
  const conv = [{ role: 'system', content: 'You tell stories.' }, { role: 'user', content: 'Hello' },
    { role: 'assistant', content: 'Hi! What story?' }, { role: 'user', content: 'One about a cat' }];
  const c2 = await router.chat(conv, { maxTokens: 8, model: 'stories260K' }).result();
  check('chat(): the whole conversation is the prompt', c2.usage.promptTokens > c.usage.promptTokens + 10,
    `${c2.usage.promptTokens} vs ${c.usage.promptTokens}`);
}

// parallel: the streams a model generates at once (here 6 held paused, none queued).
{
  const r6 = new LLMRouter({ logLevel: 'silent', parallel: 6, threads: 1 });
  await r6.load(MODEL);
  const held = Array.from({ length: 6 }, () => { const s = r6.stream(PROMPT, { maxTokens: 50 }); s.pause(); return s; });
  await until(() => held.every((s) => s.status === 'paused'), 60000, 'six paused streams').catch((e) => {
    console.log(`FAIL: parallel: statuses ${held.map((s) => s.status).join()}; ${JSON.stringify(r6.status().models)}`);
    throw e;
  });
  check('parallel: 6 slots', held.every((s) => s.status === 'paused'));
  held.forEach((s) => s.stop());
  await r6.cleanup();
}

// CommonJS require gives the same class.
{
  const require = createRequire(import.meta.url);
  const C = require('llm-runner-router');
  check('require() gives LLMRouter', C === LLMRouter && typeof C.LLMRStream === 'function');
}

await router.cleanup();
finish();
