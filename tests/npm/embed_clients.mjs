// The official `openai` and `ollama` packages ask llmr serve for embeddings (argv[2] = base URL,
// argv[3] = model name, argv[4] = the file `llmr embed` wrote for the same two texts).
// openai's embeddings.create asks for base64 unless told otherwise and decodes it itself, so
// both encodings are checked against llmr embed's vectors.
import OpenAI from 'openai';
import { Ollama } from 'ollama';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const [base, model, refFile] = process.argv.slice(2);
const texts = ['hello world', 'a second, longer text to embed'];
const ref = JSON.parse(readFileSync(refFile, 'utf8'));
const close = (got, want, what) => {
  assert.equal(got.length, want.length, `${what}: ${got.length} values`);
  const d = Math.max(...got.map((v, i) => Math.abs(v - want[i])));
  assert.ok(d < 1e-6, `${what}: differs from llmr embed by ${d}`);
};

const client = new OpenAI({ baseURL: base + '/v1', apiKey: 'test-key' });
for (const encoding_format of [undefined, 'float', 'base64']) {
  const r = await client.embeddings.create({ model, input: texts, encoding_format });
  const what = `openai ${encoding_format ?? 'default'}`;
  assert.equal(r.data.length, 2);
  // the client decodes base64 only when it chose it itself; asked for, it is left a string
  const vec = (e) => {
    if (typeof e !== 'string') return e;
    const b = Buffer.from(e, 'base64');
    return Array.from(new Float32Array(b.buffer, b.byteOffset, b.length / 4));
  };
  r.data.forEach((d, i) => { assert.equal(d.index, i); close(vec(d.embedding), ref.embeddings[i], what); });
  assert.equal(r.usage.prompt_tokens, ref.n_tokens[0] + ref.n_tokens[1]);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens);
}
await assert.rejects(client.embeddings.create({ model, input: '' }),
  (e) => e.status === 400 && /empty/.test(e.message));

const ollama = new Ollama({ host: base });
const r = await ollama.embed({ model, input: texts });
assert.equal(r.embeddings.length, 2);
r.embeddings.forEach((e, i) => close(e, ref.embeddings[i], 'ollama embed'));
assert.equal(r.prompt_eval_count, ref.n_tokens[0] + ref.n_tokens[1]);
const one = await ollama.embed({ model, input: texts[0] });
close(one.embeddings[0], ref.embeddings[0], 'ollama embed (one string)');
const legacy = await ollama.embeddings({ model, prompt: texts[0] });
assert.equal(legacy.embedding.length, ref.dim);
await assert.rejects(ollama.embed({ model, input: '' }), (e) => /empty/.test(e.message));
console.log('embeddings through the openai and ollama clients match llmr embed');
