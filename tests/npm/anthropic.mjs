// Anthropic's Messages API with the official `@anthropic-ai/sdk` package against llmr serve
// (argv[2] = base URL): a whole reply and a stream of its events, with a system prompt and
// stop sequences (stop_reason "stop_sequence" naming the one that cut the reply); count_tokens; a tool the model must call (tool_choice "tool"), whole and
// streamed, and a history holding a tool_use and its tool_result; errors in Anthropic's shape.
import Anthropic from '@anthropic-ai/sdk';
import assert from 'node:assert/strict';

const client = new Anthropic({ baseURL: process.argv[2], apiKey: 'test-key' });
const model = 'stories260K';

const msg = await client.messages.create({
  model, max_tokens: 16, temperature: 0, system: 'You tell stories.',
  messages: [{ role: 'user', content: 'Once upon a time' }] });
assert.equal(msg.type, 'message');
assert.equal(msg.role, 'assistant');
assert.match(msg.id, /^msg_/);
assert.equal(msg.content[0].type, 'text');
assert.ok(msg.content[0].text.length > 0);
assert.equal(msg.stop_reason, 'max_tokens');
assert.equal(msg.usage.output_tokens, 16);
assert.ok(msg.usage.input_tokens > 4);

// streamed: the same text at temperature 0, through the SDK's event stream
const events = [];
let text = '';
const stream = client.messages.stream({
  model, max_tokens: 16, temperature: 0, system: 'You tell stories.',
  messages: [{ role: 'user', content: 'Once upon a time' }] });
stream.on('streamEvent', (e) => events.push(e.type));
stream.on('text', (t) => { text += t; });
const final = await stream.finalMessage();
assert.equal(text, msg.content[0].text);
assert.deepEqual([events[0], events.at(-1)], ['message_start', 'message_stop']);
for (const t of ['content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta'])
  assert.ok(events.includes(t), t);
assert.equal(final.stop_reason, 'max_tokens');
assert.equal(final.usage.output_tokens, 16);
assert.equal(final.usage.input_tokens, msg.usage.input_tokens);

// stop sequences end the reply before them
const stopped = await client.messages.create({
  model, max_tokens: 64, temperature: 0, stop_sequences: ['.'],
  messages: [{ role: 'user', content: 'Once upon a time' }] });
assert.ok(!stopped.content[0].text.includes('.'));
assert.equal(stopped.stop_reason, 'stop_sequence');
assert.equal(stopped.stop_sequence, '.');
// the same streamed: message_delta says which stop sequence, as Anthropic's API does
const sstream = client.messages.stream({
  model, max_tokens: 64, temperature: 0, stop_sequences: ['zzz', '.'],
  messages: [{ role: 'user', content: 'Once upon a time' }] });
const sfinal = await sstream.finalMessage();
assert.equal(sfinal.content[0].text, stopped.content[0].text);
assert.equal(sfinal.stop_reason, 'stop_sequence');
assert.equal(sfinal.stop_sequence, '.');
// a reply that ends otherwise has none
assert.equal(msg.stop_sequence, null);

const count = await client.messages.countTokens({
  model, system: 'You tell stories.', messages: [{ role: 'user', content: 'Once upon a time' }] });
assert.equal(count.input_tokens, msg.usage.input_tokens);

// tools
const tools = [{ name: 'get_weather', description: 'The weather of a city',
  input_schema: { type: 'object', properties: { city: { type: 'string', maxLength: 12 } },
                  required: ['city'] } }];
const t1 = await client.messages.create({
  model, max_tokens: 300, tools, tool_choice: { type: 'tool', name: 'get_weather' },
  messages: [{ role: 'user', content: 'Weather in Paris?' }] });
assert.equal(t1.stop_reason, 'tool_use');
const use = t1.content.find((b) => b.type === 'tool_use');
assert.equal(use.name, 'get_weather');
assert.match(use.id, /^toolu_/);
assert.equal(typeof use.input.city, 'string');

const ts = client.messages.stream({
  model, max_tokens: 300, tools, tool_choice: { type: 'any' },
  messages: [{ role: 'user', content: 'Weather in Paris?' }] });
const tfinal = await ts.finalMessage();
assert.equal(tfinal.stop_reason, 'tool_use');
const suse = tfinal.content.find((b) => b.type === 'tool_use');
assert.equal(suse.name, 'get_weather');
assert.equal(typeof suse.input.city, 'string');

const t2 = await client.messages.create({
  model, max_tokens: 8, tools,
  messages: [{ role: 'user', content: 'Weather in Paris?' },
             { role: 'assistant', content: [{ type: 'tool_use', id: use.id, name: 'get_weather',
                                              input: { city: 'Paris' } }] },
             { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id,
                                         content: '21 degrees' }] }] });
assert.ok(['end_turn', 'max_tokens', 'tool_use'].includes(t2.stop_reason));

// errors are Anthropic's shape: a missing max_tokens, an unknown model
await assert.rejects(client.messages.create({ model, messages: [{ role: 'user', content: 'x' }] }),
                     (e) => e.status === 400 && e.error?.type === 'error' &&
                            e.error.error.type === 'invalid_request_error');
await assert.rejects(client.messages.create({ model: 'claude-9', max_tokens: 4,
                                              messages: [{ role: 'user', content: 'x' }] }),
                     (e) => e.status === 404 && e.error.error.type === 'not_found_error');
console.log(`anthropic: ok ("${text.trim()}"; ${count.input_tokens} input tokens; ${JSON.stringify(use.input)})`);
