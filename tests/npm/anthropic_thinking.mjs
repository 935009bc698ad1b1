// Anthropic's extended thinking with `@anthropic-ai/sdk` (argv[2] = base URL, argv[3] = a
// model whose reply is "<think>I reason.</think>\n\nThe answer."): with thinking enabled the
// reasoning is a thinking block (thinking_delta events when streamed) before the text block;
// without it the text is as the model wrote it.
import Anthropic from '@anthropic-ai/sdk';
import assert from 'node:assert/strict';

const client = new Anthropic({ baseURL: process.argv[2], apiKey: 'test-key' });
const model = process.argv[3];
const req = { model, max_tokens: 2048, messages: [{ role: 'user', content: 'q' }],
              thinking: { type: 'enabled', budget_tokens: 1024 } };

const whole = await client.messages.create(req);
assert.deepEqual(whole.content.map((b) => b.type), ['thinking', 'text']);
assert.equal(whole.content[0].thinking, 'I reason.');
assert.equal(typeof whole.content[0].signature, 'string');
assert.equal(whole.content[1].text, 'The answer.');

const events = [];
let thinking = '', text = '';
const stream = client.messages.stream(req);
stream.on('streamEvent', (e) => {
  if (e.type === 'content_block_delta') events.push(`${e.index}:${e.delta.type}`);
  if (e.type === 'content_block_start') events.push(`${e.index}:start:${e.content_block.type}`);
});
stream.on('thinking', (d) => { thinking += d; });
stream.on('text', (d) => { text += d; });
const final = await stream.finalMessage();
assert.equal(thinking, 'I reason.');
assert.equal(text, 'The answer.');
assert.deepEqual(final.content.map((b) => b.type), ['thinking', 'text']);
assert.equal(final.content[0].thinking, 'I reason.');
assert.equal(events[0], '0:start:thinking');
assert.ok(events.includes('0:thinking_delta') && events.includes('0:signature_delta'), events);
assert.ok(events.includes('1:start:text') && events.includes('1:text_delta'), events);

const plain = await client.messages.create({ ...req, thinking: undefined });
assert.deepEqual(plain.content.map((b) => b.type), ['text']);
assert.ok(plain.content[0].text.startsWith('<think>'));

await assert.rejects(client.messages.create({ ...req, thinking: { type: 'enabled', budget_tokens: 10 } }),
  (e) => e.status === 400);
console.log(`anthropic thinking: ${events.length} delta events`);
