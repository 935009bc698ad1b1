// bench.mjs BASE MODEL... - llmr's WebAssembly build (dist/browser.js) against @wllama/wllama
// (llama.cpp in WebAssembly) in the same headless Chromium, the same GGUF files and the same
// thread count (BENCH_THREADS, default 1; more runs each engine's threads build, which the
// page's COOP/COEP headers allow; the table says what each engine ran): prompt processing and generation, tokens per second, each as the engine itself times
// them (llmr: the stream's usage; wllama: llama.cpp's `timings`). Greedy, end-of-sequence
// ignored, so both generate the same number of tokens. Run by bench/wasm_bench.sh.
import { chromium } from 'playwright-core';

const [base, ...models] = process.argv.slice(2);
const NPROMPT = Number(process.env.BENCH_PROMPT || 64), NGEN = Number(process.env.BENCH_GEN || 16);
const THREADS = Number(process.env.BENCH_THREADS || 1);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
const page = await browser.newPage();
page.on('console', (m) => { if (process.env.BENCH_VERBOSE) console.error('page:', m.text()); });
await page.goto(base + 'index.html');
console.log(`crossOriginIsolated: ${await page.evaluate(() => crossOriginIsolated)}; ` +
  `prompt ${NPROMPT} tokens, ${NGEN} generated, ${THREADS} thread(s) asked, median of 3 runs; ` +
  `navigator.hardwareConcurrency ${await page.evaluate(() => navigator.hardwareConcurrency)}`);
// A prompt of about NPROMPT tokens for both (each counts its own).
const prompt = Array.from({ length: NPROMPT }, (_, i) => ['the', 'cat', 'sat', 'on', 'a', 'mat'][i % 6]).join(' ');
const median = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
const rows = [];
for (const model of models) {
  const tryRun = (p) => p.catch((e) => String(e.message || e).split('\n')[0]);
  const llmr = await tryRun(page.evaluate(async ({ model, prompt, NGEN, THREADS }) => {
    const { default: LLMRouter } = await import('./llmr/dist/browser.js');
    const r = new LLMRouter({ logLevel: 'error', threads: THREADS });
    await r.load('models/' + model, { nCtx: 512 });
    const ran = `${r.threads} (${r.build})`;
    const runs = [];
    for (let i = 0; i < 4; i++) {
      const { usage } = await r.generate(prompt, { maxTokens: NGEN, temperature: 0, ignoreEos: true });
      if (i) runs.push([usage.promptTokens, usage.promptTokensPerSecond, usage.generatedTokens, usage.tokensPerSecond]);
    }
    await r.cleanup();
    return { ran, runs };        // the first run warms up
  }, { model, prompt, NGEN, THREADS }));
  const wl = await tryRun(page.evaluate(async ({ model, prompt, NGEN, THREADS }) => {
    const { Wllama } = await import('./wllama/esm/index.js');
    const w = new Wllama({ default: './wllama/esm/wasm/wllama.wasm' }, { suppressNativeLog: true });
    await w.loadModelFromUrl(new URL('models/' + model, location.href).href,
      { n_threads: THREADS, n_ctx: 512, n_batch: 512, n_gpu_layers: 0, useCache: false });
    const ran = `${w.getNumThreads()} (${w.isMultithread() ? 'multi-thread' : 'single-thread'})`;
    const runs = [];
    for (let i = 0; i < 4; i++) {
      const res = await w.createCompletion({ prompt, max_tokens: NGEN, temperature: 0,
        ignore_eos: true, cache_prompt: false });
      const t = res.timings;
      if (i) runs.push([t.prompt_n, t.prompt_per_second, t.predicted_n, t.predicted_per_second]);
    }
    await w.exit();
    return { ran, runs };
  }, { model, prompt, NGEN, THREADS }));
  for (const [name, res] of [['llmr (WebAssembly)', llmr], ['wllama 3.8.1', wl]]) {
    if (typeof res === 'string') {
      rows.push({ model, name, failed: res });
      continue;
    }
    const { ran, runs } = res;
    rows.push({ model, name, ran, pn: runs[0][0], pp: median(runs.map((r) => r[1])),
      gn: runs[0][2], tg: median(runs.map((r) => r[3])) });
  }
}
console.log('\n| model | engine | threads (build) | prompt tokens | prompt t/s | generated | generation t/s |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  if (r.failed) {
    console.log(`| ${r.model} | ${r.name} | | failed: ${r.failed} | | | |`);
    continue;
  }
  console.log(`| ${r.model} | ${r.name} | ${r.ran} | ${r.pn} | ${r.pp.toFixed(2)} | ${r.gn} | ${r.tg.toFixed(2)} |`);
}
await browser.close();
