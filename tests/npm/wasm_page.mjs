// wasm_page.mjs BASE SHOTS SERVE - the guide's "Browser Streaming Example" (served at BASE by
// tests/wasm/static_server.mjs: index.html loads stories260K, slow.html a larger model, both
// the guide's HTML but for the model URL; and at SERVE + 'browser/' by `llmr serve`, which
// serves the package's example.html) in Debian's Chromium through playwright-core, with
// libllmr compiled to WebAssembly in the page's worker (dist/browser.js):
//   1. type a prompt, click Generate: tokens grow in #output, and the stream completes;
//   2. Stop, held by construction (no test here depends on speed): a stream paused before it
//      opens is stopped, then resumed: it ends cancelled with no token; a stream paused after
//      tokens arrived (every piece generated before the pause received: a round trip through
//      the worker) is stopped and resumed: no token arrives after Stop;
//   3. hostile loads (404, an HTML page, a truncated GGUF, 5 GiB, an ONNX URL): each a clear
//      error, the model loaded before stays loaded and generates, another loads;
//   4. under llmr serve, the example page is cross-origin isolated and runs the threads build
//      (more than one thread when the browser has more than one core), and generates;
//   5. greedy generation gives the same text on the threads build and the one-thread build;
//   6. llmr serve's own page: the "run" toggle generates in the page (the server generates
//      no token: its /metrics) and back on the server (it does).
// Screenshots go to SHOTS. Nothing here waits on time: every wait is for an event.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const base = process.argv[2];
const shots = process.argv[3];
const serve = process.argv[4];
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

// Opens url and returns {page, logs, waitLog(re, ms, from)}: console lines, and a promise of
// the first console line (past, from line `from` on, or future) matching re.
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
  const waitLog = (re, ms = 120000, from = 0) => {     // from: skip the first lines
    const hit = logs.slice(from).find((t) => re.test(t));
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

  // ---- 2. Stop, held by construction -------------------------------------------------------
  {
    const { page, waitLog } = await open(base + 'slow.html');
    await waitLog(/^Router ready!$/);
    await watchOutput(page);
    // The page's router is the module's (the same URL imports the same module): every stream
    // it opens is kept, paused before it opens (the worker applies a pause sent before the
    // open), and its tokens after Stop are counted.
    await page.evaluate(async () => {
      const { default: LLMRouter } = await import('./node_modules/llm-runner-router/dist/browser.js');
      const open = LLMRouter.prototype.stream;
      LLMRouter.prototype.stream = function (...a) {
        const s = open.apply(this, a);
        s.pause();
        window.__stream = s;
        window.__opened = (window.__opened || 0) + 1;
        window.__started = new Promise((r) => s.once('start', r));
        window.__stopped = false;
        window.__afterStop = 0;
        s.on('token', () => { if (window.__stopped) window.__afterStop++; });
        return s;
      };
      // Every piece the worker posted before it took the pause: a reply it sends after.
      window.__flush = () => window.__stream.router._call({ type: 'init' });
      window.__settle = () => new Promise((r) => setTimeout(r, 0));
    });
    const stopAndResume = async () => {
      const at = await page.evaluate(async () => {
        await window.__flush();
        await window.__settle();                     // the page's loop takes what arrived
        window.__stopped = true;
        return { len: document.getElementById('output').textContent.length,
          ended: window.__stream.ended, text: window.__stream.text.length };
      });
      await page.click('text=Stop');                 // the guide's stopStreaming()
      await page.evaluate(() => window.__stream.resume());
      const end = await page.evaluate(() => window.__stream.result().then((r) => r.finishReason));
      await page.evaluate(async () => { await window.__settle(); await window.__flush(); await window.__settle(); });
      const after = await page.evaluate(() => ({ n: window.__afterStop,
        len: document.getElementById('output').textContent.length, text: window.__stream.text.length }));
      return { at, end, after };
    };

    // a: paused before it opened; Stop; resume: cancelled, and not one token
    await page.fill('#prompt', 'Once upon a time');
    const opened = async (n) => {      // the n-th stream of the page has opened in the worker
      await page.waitForFunction((k) => window.__opened === k, n, { timeout: 120000 });
      await page.evaluate(() => window.__started);
    };
    await page.click('text=Generate');
    await opened(1);
    const a = await stopAndResume();
    assert.equal(a.end, 'cancelled');
    assert.equal(a.after.n, 0, 'a token arrived after Stop');
    assert.equal(a.after.text, 0, `text after a stop before any token: ${a.after.text} characters`);
    ok('a stream paused before it opens, stopped, resumed: cancelled, no token');

    // b: tokens arrive, then pause; every piece generated before the pause is in; Stop;
    // resume: no token after Stop, and #output stays as it was
    await page.click('text=Generate');
    await opened(2);
    await page.evaluate(() => new Promise((resolve) => {
      window.__stream.once('token', () => { window.__stream.pause(); resolve(); });
      window.__stream.resume();
    }));
    const b = await stopAndResume();
    assert.ok(b.at.text > 0, 'no token before the pause');
    assert.equal(b.after.n, 0, `${b.after.n} tokens arrived after Stop`);
    assert.equal(b.after.len, b.at.len, '#output changed after Stop');
    assert.equal(b.after.text, b.at.text, "the stream's text grew after Stop");
    // the model cannot have finished while paused: ended before Stop only if it finished
    // before the pause took effect, and then not cancelled
    assert.ok(b.end === 'cancelled' || b.at.ended, `finish ${b.end}`);
    ok(`tokens, pause, Stop, resume: ${b.at.len} characters, none after Stop (${b.end})`);
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
      await r.load('models/stories260K.gguf', { name: 'first' });
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
      // the model loaded before the failed loads is still loaded, and generates
      out.kept = r.model;
      out.keptText = await r.quick('Once upon a time', { maxTokens: 20, temperature: 0 });
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
    assert.equal(results.kept, 'first', 'the model loaded before the failed loads is gone');
    assert.ok(results.keptText.length > 0, 'the model loaded before the failed loads does not generate');
    assert.equal(results.after, results.keptText);
    assert.ok(results.after.length > 0, 'no text after the failed loads');
    assert.ok(results.chat.length > 0, 'chat() gave no text');
    assert.match(results.fifth, /^LLMR_ERR_BUSY: /);
    assert.equal(results.finish, 'cancelled,cancelled,cancelled,cancelled');
    assert.deepEqual(results.texts, [true, true, false, false]);   // paused ones got nothing
    for (const [k, v] of Object.entries(results)) console.log(`   ${k}: ${v}`);
    ok('404, HTML, truncated, 5 GiB and ONNX loads fail clearly; the model loaded before stays and generates; the worker then loads, generates and chats');
    ok('4 streams at once: paused ones get no token, a fifth is BUSY, resumed ones stream, stop cancels each');
    await page.screenshot({ path: join(shots, 'wasm-hostile.png'), fullPage: true });
  }
  // ---- 4. llmr serve: the example page, cross-origin isolated, on threads ------------------
  const cores = await browser.pages()[0].evaluate(() => navigator.hardwareConcurrency);
  {
    const { page, waitLog } = await open(serve + 'browser/');
    await waitLog(/^Router ready!$/);
    const iso = await page.evaluate(() => crossOriginIsolated);
    assert.equal(iso, true, 'the page llmr serve sends is not cross-origin isolated');
    const eng = await waitLog(/\[llmr\] engine ready: /);
    const m = /(\d+) threads?, (threads|single) build/.exec(eng);
    assert.ok(m, eng);
    const loaded = await waitLog(/\[llmr\] loaded .*model\.gguf/);
    if (cores > 1) {
      assert.equal(m[2], 'threads', eng);
      assert.ok(Number(m[1]) > 1, eng);
      assert.match(loaded, /, [2-9]\d* threads\)/, loaded);
    }
    await watchOutput(page);
    await page.fill('#prompt', 'Once upon a time');
    await page.click('text=Generate');
    const end = await waitLog(/\[llmr\] stream \d+ ended/);
    assert.match(end, /ended \((stop|length)\)/, end);
    await page.evaluate(() => new Promise((r) => setTimeout(r, 0)));
    const text = await page.$eval('#output', (e) => e.textContent);
    assert.ok(text.length > 0 && !/Error:/.test(text), `output: ${JSON.stringify(text)}`);
    ok(`llmr serve's /browser/: isolated, ${eng.replace(/^.*\(WebAssembly, /, '').replace(/\)$/, '')} ` +
       `(${cores} cores), generates`);
    await page.screenshot({ path: join(shots, 'wasm-serve-example.png') });
  }

  // ---- 5. greedy: the threads build and the one-thread build give the same text -----------
  {
    const { page } = await open(base + 'index.html');
    const runs = await page.evaluate(async () => {
      const { default: LLMRouter } = await import('./node_modules/llm-runner-router/dist/browser.js');
      const out = [];
      for (const [url, n] of [['models/stories260K.gguf', 60], ['models/slow.gguf', 8]]) {
        const one = new LLMRouter({ threads: 1, logLevel: 'silent' });
        const many = new LLMRouter({ logLevel: 'silent' });
        const texts = [];
        for (const r of [one, many]) {
          await r.initialize();
          await r.load(url);
          texts.push(await r.quick('Once upon a time', { maxTokens: n, temperature: 0 }));
        }
        out.push({ url, builds: [one.build, many.build], threads: [one.threads, many.threads], texts });
        await one.cleanup();
        await many.cleanup();
      }
      return out;
    });
    for (const r of runs) {
      assert.equal(r.builds[0], 'single');
      assert.equal(r.threads[0], 1);
      if (cores > 1) {
        assert.equal(r.builds[1], 'threads');
        assert.ok(r.threads[1] > 1, `threads: ${r.threads[1]}`);
      }
      assert.ok(r.texts[0].length > 0, `${r.url}: no text`);
      assert.equal(r.texts[1], r.texts[0], `${r.url}: the threads build's text differs`);
      ok(`${r.url}: greedy text identical on ${r.builds[0]} (1 thread) and ${r.builds[1]} ` +
         `(${r.threads[1]} threads) builds: ${JSON.stringify(r.texts[0].slice(0, 40))}...`);
    }
  }

  // ---- 6. llmr serve's page: generate on the server or in the page --------------------------
  {
    const generated = async () => {
      const m = /^llmr_generated_tokens_total (\d+)$/m.exec(await (await fetch(serve + 'metrics')).text());
      return Number(m[1]);
    };
    const { page } = await open(serve);
    await page.waitForFunction(() => document.getElementById('model').options.length > 0 &&
      document.getElementById('status').textContent === 'connected', null, { timeout: 120000 });
    const reply = async (engine, n) => {
      await page.fill('#prompt', 'Tell me a story');
      await page.click('#send');
      await page.waitForFunction(([e, k]) => {
        const all = document.querySelectorAll(`.msg.ai[data-engine=${e}]`);
        const meta = all.length === k && all[k - 1].querySelector('.meta');
        return meta && !/\.\.\.$/.test(meta.textContent) && !document.getElementById('send').disabled;
      }, [engine, n], { timeout: 120000 });
      return page.evaluate(([e, k]) => document.querySelectorAll(`.msg.ai[data-engine=${e}] .text`)[k - 1].textContent, [engine, n]);
    };
    const g0 = await generated();
    await page.selectOption('#where', 'page');
    await page.waitForFunction(() => /^in this page: /.test(document.getElementById('status').textContent),
      null, { timeout: 120000 });
    const status = await page.$eval('#status', (e) => e.textContent);
    if (cores > 1) assert.match(status, /[2-9]\d* threads \(WebAssembly, threads build\)/, status);
    const inPage = await reply('page', 1);
    assert.ok(inPage.length > 0, 'no text in the page');
    const g1 = await generated();
    assert.equal(g1, g0, 'the server generated tokens for the in-page reply');
    await page.selectOption('#where', 'server');
    const onServer = await reply('server', 1);
    assert.ok(onServer.length > 0, 'no text from the server');
    const g2 = await generated();
    assert.ok(g2 > g1, 'the server generated nothing for the server reply');
    assert.equal(await page.$$eval('.msg.error', (e) => e.length), 0);
    ok(`llmr serve's page: "in this page" (${status.replace(/^in this page: /, '')}) generates ` +
       `with the server idle (${g1 - g0} tokens there); "on the server" generates there (${g2 - g1})`);
    await page.screenshot({ path: join(shots, 'serve-page-toggle.png') });
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
