// Log-probabilities through real clients (argv[2] = base URL): the `openai` package's chat
// completions (streamed and not), completions and responses.create; the `ollama` package's
// chat; the `ws` package on the WebSocket protocol.
import OpenAI from 'openai';
import { Ollama } from 'ollama';
import WebSocket from 'ws';
import assert from 'node:assert/strict';

const base = process.argv[2];
const client = new OpenAI({ baseURL: base + '/v1', apiKey: 'test-key' });
const messages = [{ role: 'user', content: 'Tell me a story about a cat.' }];

// What every OpenAI-shaped list of tokens must satisfy; returns the bytes' text.
function checkEntries(entries, nTop, greedy = true) {
  assert.ok(entries.length > 0, 'no entries');
  const bytes = [];
  for (const e of entries) {
    assert.ok(e.logprob <= 0, JSON.stringify(e));
    assert.equal(e.top_logprobs.length, nTop);
    for (let k = 1; k < e.top_logprobs.length; k++)
      assert.ok(e.top_logprobs[k].logprob <= e.top_logprobs[k - 1].logprob);
    const mass = e.top_logprobs.reduce((s, t) => s + Math.exp(t.logprob), 0);
    assert.ok(mass <= 1 + 1e-6, `mass ${mass}`);
    if (greedy && nTop) assert.deepEqual(e.top_logprobs[0].bytes, e.bytes);
    bytes.push(...e.bytes);
  }
  return Buffer.from(bytes).toString('utf8');
}

const whole = await client.chat.completions.create({
  model: 'stories260K', messages, max_tokens: 24, temperature: 0, logprobs: true, top_logprobs: 4,
});
const wc = whole.choices[0];
assert.equal(checkEntries(wc.logprobs.content, 4), wc.message.content);

const stream = await client.chat.completions.create({
  model: 'stories260K', messages, max_tokens: 24, temperature: 0, logprobs: true, top_logprobs: 4,
  stream: true,
});
let text = '', n = 0;
for await (const chunk of stream) {
  const c = chunk.choices[0];
  if (!c || !c.delta.content) continue;
  assert.equal(checkEntries(c.logprobs.content, 4), c.delta.content);
  text += c.delta.content;
  n += c.logprobs.content.length;
}
assert.equal(text, wc.message.content);
assert.equal(n, wc.logprobs.content.length);

const cmpl = await client.completions.create({
  model: 'stories260K', prompt: 'Once upon a time', max_tokens: 12, temperature: 0, logprobs: 2,
});
const lp = cmpl.choices[0].logprobs;
assert.equal(lp.tokens.join(''), cmpl.choices[0].text);
assert.ok(lp.token_logprobs.every((x) => x <= 0));
lp.top_logprobs.forEach((top, i) => assert.equal(top[lp.tokens[i]], lp.token_logprobs[i]));

const resp = await client.responses.create({
  model: 'stories260K', input: 'Tell me a story.', max_output_tokens: 12, temperature: 0,
  top_logprobs: 3, include: ['message.output_text.logprobs'],
});
const part = resp.output[0].content[0];
assert.equal(checkEntries(part.logprobs, 3), part.text);

const ollama = new Ollama({ host: base });
const oc = await ollama.chat({
  model: 'stories260K', messages, stream: false, logprobs: true, top_logprobs: 2,
  options: { num_predict: 12, temperature: 0 },
});
assert.equal(checkEntries(oc.logprobs, 2), oc.message.content);

// 400s reach the client as typed errors naming the field
await assert.rejects(
  client.chat.completions.create({ model: 'stories260K', messages, logprobs: true, top_logprobs: 21 }),
  (e) => e.status === 400 && e.param === 'top_logprobs');

// the WebSocket: each token message carries its tokens
const ws = new WebSocket(base.replace('http', 'ws') + '/ws', { origin: base });
const wsText = await new Promise((resolve, reject) => {
  let t = '';
  ws.on('message', (m) => {
    const o = JSON.parse(m.toString());
    if (o.type === 'welcome')
      ws.send(JSON.stringify({ type: 'chat', content: 'Tell me a story.', max_tokens: 10,
                               temperature: 0, logprobs: true, top_logprobs: 1 }));
    else if (o.type === 'token') {
      assert.equal(checkEntries(o.logprobs, 1), o.content);
      t += o.content;
    } else if (o.type === 'stream_end') resolve(t);
    else if (o.type === 'error') reject(new Error(o.message || JSON.stringify(o)));
  });
  ws.on('error', reject);
});
ws.close();
assert.ok(wsText.length > 0);
console.log(`logprobs: ${wc.logprobs.content.length} tokens, e.g. ${JSON.stringify(wc.logprobs.content[0])}`);
