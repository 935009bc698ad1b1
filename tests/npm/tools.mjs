// Tool calling with the official `openai` and `ollama` packages against llmr serve
// (argv[2] = base URL): tool_choice "required" and a named function make a random-weight model
// write a valid call (a grammar enforces it), streamed as OpenAI's tool_calls deltas and whole;
// "none" gives text; a history with a call and its result is accepted; bad tools are a 400.
// Also ollama's show() (/api/show).
import OpenAI from 'openai';
import { Ollama } from 'ollama';
import assert from 'node:assert/strict';

const base = process.argv[2];
const client = new OpenAI({ baseURL: base + '/v1', apiKey: 'test-key' });
const tools = [
  { type: 'function', function: { name: 'get_weather', description: 'The weather of a city',
    parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 12 },
      unit: { enum: ['c', 'f'] } }, required: ['city', 'unit'] } } },
  { type: 'function', function: { name: 'get_time', description: 'The time in a zone',
    parameters: { type: 'object', properties: { zone: { type: 'integer', minimum: -12,
      maximum: 14 } }, required: ['zone'] } } },
];
const ask = { model: 'stories260K', messages: [{ role: 'user', content: 'Weather in Paris?' }],
              tools, max_tokens: 400 };
function checkWeather(call) {
  assert.equal(call.type, 'function');
  assert.match(call.id, /^call_/);
  assert.equal(call.function.name, 'get_weather');
  const a = JSON.parse(call.function.arguments);
  assert.equal(typeof a.city, 'string');
  assert.ok(a.city.length <= 12);
  assert.ok(['c', 'f'].includes(a.unit));
}

// required, whole reply
let r = await client.chat.completions.create({ ...ask, tool_choice: 'required', seed: 1 });
let c = r.choices[0];
assert.equal(c.finish_reason, 'tool_calls');
assert.equal(c.message.tool_calls.length, 1);
assert.ok(['get_weather', 'get_time'].includes(c.message.tool_calls[0].function.name));
JSON.parse(c.message.tool_calls[0].function.arguments);

// a named function, streamed: deltas carry index, id, name, then the arguments
const stream = await client.chat.completions.create({
  ...ask, tool_choice: { type: 'function', function: { name: 'get_weather' } }, stream: true });
const calls = [];
let finish = null, content = '';
for await (const chunk of stream) {
  const ch = chunk.choices[0];
  if (!ch) continue;
  if (ch.delta.content) content += ch.delta.content;
  for (const d of ch.delta.tool_calls ?? []) {
    calls[d.index] ??= { id: '', type: '', function: { name: '', arguments: '' } };
    const t = calls[d.index];
    if (d.id) t.id = d.id;
    if (d.type) t.type = d.type;
    if (d.function?.name) t.function.name += d.function.name;
    if (d.function?.arguments) t.function.arguments += d.function.arguments;
  }
  if (ch.finish_reason) finish = ch.finish_reason;
}
assert.equal(finish, 'tool_calls');
assert.equal(calls.length, 1);
checkWeather(calls[0]);
assert.equal(content, '');

// the integer range holds in a call to get_time
r = await client.chat.completions.create({
  ...ask, tool_choice: { type: 'function', function: { name: 'get_time' } }, seed: 7 });
const zone = JSON.parse(r.choices[0].message.tool_calls[0].function.arguments).zone;
assert.ok(Number.isInteger(zone) && zone >= -12 && zone <= 14, `zone ${zone}`);

// none: plain text
r = await client.chat.completions.create({ ...ask, tool_choice: 'none', max_tokens: 8 });
assert.equal(r.choices[0].finish_reason, 'length');
assert.equal(r.choices[0].message.tool_calls, undefined);
assert.ok(r.choices[0].message.content.length > 0);

// a history with a call and its result
r = await client.chat.completions.create({ model: 'stories260K', tools, max_tokens: 8,
  messages: [{ role: 'user', content: 'Weather in Paris?' },
             { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function',
               function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"c"}' } }] },
             { role: 'tool', tool_call_id: 'call_1', content: '21 degrees, sunny' }] });
assert.ok(['stop', 'length', 'tool_calls'].includes(r.choices[0].finish_reason));

// bad tools: a 400 naming the field
for (const [bad, field] of [[{ tools: 'nope' }, 'tools'], [{ tools: [{ type: 'function' }] }, 'tools'],
                            [{ tool_choice: { type: 'function', function: { name: 'nosuch' } } }, 'tool_choice']]) {
  await assert.rejects(client.chat.completions.create({ ...ask, ...bad }), (e) => {
    assert.equal(e.status, 400);
    assert.match(e.message, new RegExp(field));
    return true;
  });
}

// ollama: tools and a required call through /api/chat
const ollama = new Ollama({ host: base });
const o = await ollama.chat({ model: 'stories260K', messages: ask.messages, tools,
                              tool_choice: 'required', options: { num_predict: 400, seed: 3 } });
assert.equal(o.message.tool_calls.length, 1);
assert.equal(typeof o.message.tool_calls[0].function.arguments, 'object');
// ollama's show(): what the model's file says (it threw "[object Object]" on a 404 before)
const info = await ollama.show({ model: 'stories260K' });
assert.equal(info.details.family, 'llama');
assert.equal(info.details.format, 'gguf');
assert.equal(info.model_info['general.architecture'], 'llama');
assert.equal(info.model_info['llama.context_length'], 512);
assert.ok(info.capabilities.includes('completion'));
await assert.rejects(ollama.show({ model: 'nosuch' }), (e) => /not found/.test(e.message));
console.log(`tools: ok (${calls[0].function.arguments}; zone ${zone})`);
