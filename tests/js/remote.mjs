// remote.mjs - a router config with a remote OpenAI-compatible backend (tests/router/oai_mock.py
// on loopback) and a local model, given to new LLMRouter({ config }): the remote model streams
// its reply, a failing remote fails over to the local model before any text, and a config
// error is a coded Error naming the key.
//   node remote.mjs PORT MODEL
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import LLMRouter from 'llm-runner-router';
import { check, finish, rejects } from './check.mjs';

const [port, MODEL] = process.argv.slice(2);
const config = {
  strategy: 'quality-first',
  backends: { mock: { url: `http://127.0.0.1:${port}` } },
  models: [
    { id: 'remote', backend: 'mock', remote_model: 'ok', quality: 0.9 },
    { id: 'broken', backend: 'mock', remote_model: '500', quality: 0.95 },
    { id: 'local', source: MODEL, quality: 0.1 },
  ],
};
const router = new LLMRouter({ config, logLevel: 'silent' });
await router.initialize();

const s = router.stream('hello from javascript', { maxTokens: 20, model: 'remote', strict: true });
const pieces = [];
for await (const t of s) pieces.push(t);
check('remote: the backend\'s reply streams in pieces', pieces.join('') === '[mock] hello from javascript' && pieces.length >= 3,
  JSON.stringify(pieces));
check('remote: served by the remote model', s.model === 'remote', s.model);

const f = router.stream('fail over please', { maxTokens: 5, model: 'broken' });
const fr = await f.result();
check('failover: the next candidate answers', f.model === 'remote' && fr.text === '[mock] fail over please', `${f.model}: ${fr.text}`);

const l = await router.generate('Once upon a time', { maxTokens: 5, model: 'local', strict: true });
check('local model of the same config', l.model === 'local' && l.usage.generatedTokens === 5);

const c = await router.chat([{ role: 'user', content: 'chat to the backend' }], { model: 'remote', strict: true }).result();
check('chat() goes to a chat backend as messages', c.text === '[mock] chat to the backend', c.text);

// load() by URL: downloaded into the cache (LLMR_CACHE_DIR), then loaded like a file.
{
  const url = `http://127.0.0.1:${process.env.LLMR_WWW_PORT}/web-model.gguf`;
  const m = await router.load(url);
  check('load(URL): the model downloads and loads', m.id === 'web-model' && m.source === url, JSON.stringify(m));
  const w = await router.generate('Once upon a time', { maxTokens: 6, model: 'web-model', strict: true, temperature: 0 });
  const local = await router.generate('Once upon a time', { maxTokens: 6, model: 'local', strict: true, temperature: 0 });
  check('load(URL): it is the same model as the file', w.text === local.text && w.text.length > 0, `${w.text} | ${local.text}`);
  check('load(URL): the file is in the cache', fs.readdirSync(process.env.LLMR_CACHE_DIR, { recursive: true }).some((f) => String(f).endsWith('.gguf')));
}

const file = path.join(os.tmpdir(), `router-${process.pid}.json`);
fs.writeFileSync(file, JSON.stringify({ models: [{ id: 'x', source: MODEL, quality: 2 }] }));
await rejects('a config error names the key', () => new LLMRouter({ config: file }).initialize(), 'LLMR_ERR_ARG', /models\[0\]\.quality/);
fs.rmSync(file);
await router.cleanup();
finish();
