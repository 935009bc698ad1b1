// js_stream.mjs - tokens/s through the llm-runner-router package (js/), measured as a
// JavaScript consumer sees them (see bench/README.md, "The Node.js package"). Not a test.
//   node bench/js_stream.mjs single MODEL TOKENS THREADS CTX
//       one stream, `for await`: decode tokens/s from the first piece to the last, as
//       `llmr run --verbose` reports its generation speed (same prompt, temperature 0)
//   node bench/js_stream.mjs parallel MODEL STREAMS TOKENS THREADS CTX [ROUNDS]
//       STREAMS streams at once, distinct prompts, ignoreEos: aggregate tokens/s (all tokens /
//       time from the opens to the last piece) and decode tokens/s (all tokens / time from the
//       first piece of any stream to the last), per round and their medians, as
//       bench/server_load.py reports them for `llmr serve --parallel STREAMS`
// Prints one JSON line. LLMR_NODE_ADDON picks the addon (default: js/build/llmr.node).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const { default: LLMRouter } = await import(path.join(here, '..', 'js', 'index.mjs'));
const [mode, model, ...rest] = process.argv.slice(2);
const PROMPT = 'Once upon a time';
const SERVER_PROMPT = 'Once upon a time, in a small village by the sea, there lived';   // server_load.py's

if (mode === 'single') {
  const [tokens, threads, ctx] = rest.map(Number);
  const router = new LLMRouter({ logLevel: 'silent', threads, ctxSize: ctx, parallel: 1 });
  await router.load(model);
  const s = router.stream(PROMPT, { maxTokens: tokens, temperature: 0 });
  const t0 = performance.now();
  let first = 0, last = 0, n = 0;
  for await (const piece of s) {
    last = performance.now();
    if (n++ === 0) first = last;
    void piece;
  }
  const gen = s.usage.generatedTokens;
  console.log(JSON.stringify({
    mode, tokens: gen, ttft_s: (first - t0) / 1000,
    // tokens after the first piece over the time they took, as the consumer saw them
    decode_tps: (gen - 1) / ((last - first) / 1000),
    library_gen_tps: s.usage.tokensPerSecond,
  }));
  await router.cleanup();
} else if (mode === 'parallel') {
  const [streams, tokens, threads, ctx, rounds = 3] = rest.map(Number);
  const router = new LLMRouter({ logLevel: 'silent', threads, ctxSize: ctx, parallel: streams });
  await router.load(model);
  const results = [];
  for (let round = 0; round < rounds; round++) {
    const t0 = performance.now();
    const runs = await Promise.all(Array.from({ length: streams }, async (_, i) => {
      // as server_load.py --distinct --ignore-eos: a prompt of its own (no shared prefix),
      // temperature 0.8, its own seed
      const seed = 1000 * round + i;
      const s = router.stream(`${seed}: ${SERVER_PROMPT}`, { maxTokens: tokens, ignoreEos: true, seed, temperature: 0.8 });
      let first = 0, last = 0, n = 0;
      for await (const piece of s) {
        last = performance.now();
        if (n++ === 0) first = last;
        void piece;
      }
      return { first, last, tokens: s.usage.generatedTokens };
    }));
    const end = Math.max(...runs.map((r) => r.last));
    const firstAll = Math.min(...runs.map((r) => r.first));
    const total = runs.reduce((a, r) => a + r.tokens, 0);
    const ttft = runs.map((r) => (r.first - t0) / 1000).sort((a, b) => a - b);
    results.push({ tokens: total, aggregate_tps: total / ((end - t0) / 1000),
      decode_tps: total / ((end - firstAll) / 1000), ttft_p50_s: ttft[Math.floor(ttft.length / 2)] });
  }
  const median = (k) => results.map((r) => r[k]).sort((a, b) => a - b)[Math.floor(results.length / 2)];
  console.log(JSON.stringify({ mode, streams, rounds: results, aggregate_tps_median: median('aggregate_tps'),
    decode_tps_median: median('decode_tps') }));
  await router.cleanup();
} else {
  console.error('usage: js_stream.mjs single MODEL TOKENS THREADS CTX | parallel MODEL STREAMS TOKENS THREADS CTX');
  process.exit(2);
}
