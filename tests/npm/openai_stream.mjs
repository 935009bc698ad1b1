// The official `openai` package streams a chat completion from llmr serve (argv[2] = base URL).
import OpenAI from 'openai';
import assert from 'node:assert/strict';

const client = new OpenAI({ baseURL: process.argv[2] + '/v1', apiKey: 'test-key' });

const models = await client.models.list();
assert.equal(models.data[0].id, 'stories260K');

const stream = await client.chat.completions.create({
  model: 'stories260K',
  messages: [{ role: 'user', content: 'Tell me a story about a cat.' }],
  max_tokens: 24,
  temperature: 0,
  stream: true,
  stream_options: { include_usage: true },
});
let text = '', pieces = 0, role = null, finish = null, usage = null;
for await (const chunk of stream) {
  if (chunk.usage) usage = chunk.usage;
  const c = chunk.choices[0];
  if (!c) continue;
  if (c.delta.role) role = c.delta.role;
  if (c.delta.content) { text += c.delta.content; pieces++; }
  if (c.finish_reason) finish = c.finish_reason;
}
assert.equal(role, 'assistant');
assert.ok(pieces >= 5, `only ${pieces} pieces`);
assert.equal(finish, 'length');
assert.equal(usage.completion_tokens, 24);

// The same request without streaming gives the same text (greedy).
const whole = await client.chat.completions.create({
  model: 'stories260K',
  messages: [{ role: 'user', content: 'Tell me a story about a cat.' }],
  max_tokens: 24,
  temperature: 0,
});
assert.equal(whole.choices[0].message.content, text);

// Errors surface as the SDK's typed errors, with the status.
await assert.rejects(
  client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }),
  (e) => e.status === 404 && e.code === 'model_not_found');
console.log(`openai: ${pieces} pieces streamed: ${JSON.stringify(text)}`);
