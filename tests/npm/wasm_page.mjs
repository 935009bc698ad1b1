// wasm_page.mjs BASE SHOTS - the guide's "Browser Streaming Example" (served at BASE by
// tests/wasm/browser.sh: index.html loads stories260K, slow.html a larger model, both the
// guide's HTML but for the model URL) in Debian's Chromium through playwright-core, with
// libllmr compiled to WebAssembly in the page's worker (dist/browser.js):
//   1. type a prompt, click Generate: tokens grow in #output, and the stream completes;
//   2. on the slower model, click Stop while tokens arrive: the stream ends cancelled, and
//      #output no longer changes after the end;
//   3. hostile loads (404, an HTML page, a truncated GGUF, 5 GiB, an ONNX URL): each a clear
//      error, and the same worker then loads a model and generates.
// Screenshots go to SHOTS. Nothing here waits on time: every wait is for an event.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const base = process.argv[2];
const shots = process.argv[3];
mkdirSync(shots, { recursive: true });
const profile = mkdtempSync(join(tmpdir(), 'llmr-chromium-'));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let passed = 0;
function ok(what) { passed++; console.log(`ok - ${what}`); }

// Opens url and returns {page, logs, waitLog(re)}: console lines, and a promise of the first
// console line (past or future) matching re.
async function open(url) {
  const page = browser.pages()[0] || await browser.newPage();
  const logs = [];
  const waiters = [];
  page.removeAllListeners('console');
  page.removeAllListeners('pageerror');
  page.on('console', (m) => {
    const t = m.text();
    logs.push(t);
    for (const w of [...waiters]) if (w.re.test(t)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(t); }
  });
  page.on('pageerror', (e) => logs.push('pageerror: ' + e));
  const waitLog = (re, ms = 120000) => {
    const hit = logs.find((t) => re.test(t));
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const w = { re, resolve };
      waiters.push(w);
      setTimeout(() => reject(new Error(`no console line matching ${re} within ${ms / 1000} s; ` +
        `console: ${logs.slice(-15).join(' | ')}`)), ms).unref();
    });
  };
  await page.goto(url);
  return { page, logs, waitLog };
}

// Records every change of #output's text length (one per token the page appends).
async function watchOutput(page) {
  await page.evaluate(() => {
    const out = document.getElementById('output');
    window.__lengths = [];
    new MutationObserver(() => window.__lengths.push(out.textContent.length))
      .observe(out, { childList: true, characterData: true, subtree: true });
  });
}
const lengths = (page) => page.evaluate(() => window.__lengths.slice());

try {
  // ---- 1. the guide's page: tokens grow, the reply completes ---------------------------
  {
    const { page, waitLog } = await open(base + 'index.html');
    await waitLog(/^Router ready!$/);
    await waitLog(/\[llmr\] preferredEngine 'webgpu'.*falling back to WebAssembly/);
    ok('the page initializes the router and loads models/stories260K.gguf; webgpu falls back to WebAssembly with a notice');
    await watchOutput(page);
    await page.fill('#prompt', 'Once upon a time');
    await page.click('text=Generate');
    const end = await waitLog(/\[llmr\] stream \d+ ended/);
    assert.match(end, /ended \((stop|length)\)/, end);
    await page.evaluate(() => new Promise((r) => setTimeout(r, 0)));   // the for-await loop drains
    const seen = await lengths(page);
    const text = await page.$eval('#output', (e) => e.textContent);
    assert.ok(text.length > 0 && !/Error:/.test(text), `output: ${JSON.stringify(text)}`);
    const grew = seen.filter((n, i) => n > 0 && (i === 0 || n > seen[i - 1]));
    assert.ok(grew.length >= 3, `#output grew ${grew.length} times: ${seen.join(',')}`);
    assert.equal(seen[seen.length - 1], text.length);
    ok(`tokens grow in #output (${grew.length} steps) and the stream completes: ${end.replace(/^\[llmr\] /, '')}`);
    await page.screenshot({ path: join(shots, 'wasm-generate.png') });
  }

  // ---- 2. Stop while tokens arrive ---------------------------------------------------------
  {
    const { page, waitLog } = await open(base + 'slow.html');
    await waitLog(/^Router ready!$/);
    await watchOutput(page);
    await page.fill('#prompt', 'Once upon a time');
    await page.click('text=Generate');
    await page.waitForFunction(() => window.__lengths.length >= 5, null, { timeout: 120000 });
    await page.click('text=Stop');
    const end = await waitLog(/\[llmr\] stream \d+ ended/);
    assert.match(end, /ended \(cancelled\) after (\d+) pieces/, end);
    const pieces = Number(/after (\d+) pieces/.exec(end)[1]);
    assert.ok(pieces < 200, `the stream ran to maxTokens before Stop: ${end}`);
    // The stream has ended in the worker; one more task lets the page's loop finish, after
    // which no piece can arrive. The length then must stay what it is, whatever comes later.
    await page.evaluate(() => new Promise((r) => setTimeout(r, 0)));
    const atEnd = (await lengths(page)).length;
    const text = await page.$eval('#output', (e) => e.textContent);
    await page.evaluate(() => new Promise((r) => setTimeout(r, 0)));
    // a round trip through the worker (a new router's init reply comes after any queued piece)
    await page.evaluate(async () => {
      const { default: LLMRouter } = await import('./node_modules/llm-runner-router/dist/browser.js');
      const r = new LLMRouter();
      await r.initialize();
      await r.cleanup();
    });
    assert.equal((await lengths(page)).length, atEnd, 'tokens arrived after the stream ended');
    assert.equal(await page.$eval('#output', (e) => e.textContent), text);
    assert.ok(text.length > 0);
    ok(`Stop ends the stream (${end.replace(/^\[llmr\] /, '')}) and #output stops changing`);
    await page.screenshot({ path: join(shots, 'wasm-stop.png') });
  }

  // ---- 3. hostile loads: clear errors, then the same worker loads a model -------------------
  {
    const { page } = await open(base + 'index.html');
    const results = await page.evaluate(async () => {
      const { default: LLMRouter } = await import('./node_modules/llm-runner-router/dist/browser.js');
      const r = new LLMRouter({ logLevel: 'silent' });
      await r.initialize();
      const out = {};
      for (const url of ['missing.gguf', 'html.gguf', 'truncated.gguf', 'huge.gguf',
        'https://example.com/models/web-model.onnx']) {
        try {
          await r.load(url);
          out[url] = 'loaded?!';
        } catch (e) {
          out[url] = `${e.code}: ${e.message}`;
        }
      }
      const pre = document.createElement('pre');
      pre.id = 'errors';
      pre.textContent = Object.entries(out).map(([k, v]) => `${k}\n  ${v}`).join('\n');
      document.body.appendChild(pre);
      await r.load('models/stories260K.gguf');
      out.after = await r.quick('Once upon a time', { maxTokens: 20, temperature: 0 });
      // a conversation through the model's template (stories260K has none: the fallback)
      out.chat = (await r.chat([{ role: 'user', content: 'Tell me a story' }],
        { maxTokens: 20, temperature: 0 }).result()).text;
      // Four streams at once (the worker's slots), paused before they start: none gets a
      // token while paused, a fifth is refused, two resumed ones both stream, and stop
      // ends each as cancelled.
      const ss = [0, 1, 2, 3].map(() => {
        const s = r.stream('Once upon a time', { maxTokens: 0 });
        s.pause();
        return s;
      });
      try {
        for await (const t of r.stream('Once upon a time', { maxTokens: 5 })) void t;
        out.fifth = 'streamed?!';
      } catch (e) {
        out.fifth = `${e.code}: ${e.message}`;
      }
      const firstToken = (s) => new Promise((res) => s.once('token', res));
      const got = [firstToken(ss[0]), firstToken(ss[1])];
      ss[0].resume();
      ss[1].resume();
      await Promise.all(got);
      for (const s of ss) s.stop();
      const ends = await Promise.all(ss.map((s) => s.result()));
      out.finish = ends.map((e) => e.finishReason).join(',');
      out.texts = ends.map((e) => e.text.length > 0);
      await r.cleanup();
      return out;
    });
    assert.match(results['missing.gguf'], /^LLMR_ERR_NOT_FOUND: .*missing\.gguf: HTTP 404/);
    assert.match(results['html.gguf'], /^LLMR_ERR_FORMAT: .*html\.gguf: the server sent an HTML page/);
    assert.match(results['truncated.gguf'], /^LLMR_ERR_FORMAT: .*truncated\.gguf.*(past the end|truncated|end of the file)/);
    assert.match(results['huge.gguf'], /^LLMR_ERR_TOO_BIG: the model is 5\.00 GiB: over the WebAssembly \(wasm32\) memory limit of 4 GiB/);
    assert.match(results['https://example.com/models/web-model.onnx'], /^LLMR_ERR_UNSUPPORTED: .*ONNX models are not supported: llmr runs GGUF/);
    assert.ok(results.after.length > 0, 'no text after the failed loads');
    assert.ok(results.chat.length > 0, 'chat() gave no text');
    assert.match(results.fifth, /^LLMR_ERR_BUSY: /);
    assert.equal(results.finish, 'cancelled,cancelled,cancelled,cancelled');
    assert.deepEqual(results.texts, [true, true, false, false]);   // paused ones got nothing
    for (const [k, v] of Object.entries(results)) console.log(`   ${k}: ${v}`);
    ok('404, HTML, truncated, 5 GiB and ONNX loads fail clearly; the worker then loads, generates and chats');
    ok('4 streams at once: paused ones get no token, a fifth is BUSY, resumed ones stream, stop cancels each');
    await page.screenshot({ path: join(shots, 'wasm-hostile.png'), fullPage: true });
  }
  console.log(`${passed} passed, 0 failed`);
} catch (e) {
  console.log(`FAIL: ${e.stack || e}`);
  console.log(`${passed} passed, 1 failed`);
  process.exitCode = 1;
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
