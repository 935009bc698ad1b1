import LLMRouter, { LLMRStream, type StreamOptions, type LLMRError } from 'llm-runner-router';
const router = new LLMRouter({ logLevel: 'info', preferredEngine: 'cpu' });
await router.initialize();
const m = await router.load('models/x.gguf', { id: 'x', quality: 0.5 });
const opts: StreamOptions = { maxTokens: 10, temperature: 0.7, stopSequences: ['\n'], model: m.id, strategy: 'balanced' };
const s: LLMRStream = router.stream('hi', opts);
s.on('token', (t: string, i) => console.log(t, i.index));
s.on('progress', (p) => console.log(p.estimatedTimeRemaining));
s.on('error', (e: LLMRError) => console.log(e.code));
for await (const t of s) { const x: string = t; void x; }
s.pause(); s.resume(); s.stop();
const r = await router.generate('x'); const n: number = r.usage.generatedTokens; void n;
const q: string = await router.quick('x'); void q;
for await (const t of router.chat([{ role: 'user', content: 'hi' }])) void t;
await router.cleanup();
