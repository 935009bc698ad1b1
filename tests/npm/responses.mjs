// OpenAI's Responses API with the official `openai` package against llmr serve (argv[2] = base
// URL): responses.create whole and streamed (the response.* events), instructions,
// previous_response_id continuing a stored conversation, a function tool the model must
// call and its output sent back, text.format json_schema, and errors.
import OpenAI from 'openai';
import assert from 'node:assert/strict';

const client = new OpenAI({ baseURL: process.argv[2] + '/v1', apiKey: 'test-key' });
const model = 'stories260K';

const r1 = await client.responses.create({ model, input: 'Once upon a time',
  instructions: 'You tell stories.', max_output_tokens: 16, temperature: 0 });
assert.equal(r1.object, 'response');
assert.match(r1.id, /^resp_/);
assert.equal(r1.status, 'incomplete');
assert.equal(r1.incomplete_details.reason, 'max_output_tokens');
assert.equal(r1.output[0].type, 'message');
assert.ok(r1.output_text.length > 0);
assert.equal(r1.usage.output_tokens, 16);

// streamed: the same text through the events
const stream = await client.responses.create({ model, input: 'Once upon a time', stream: true,
  instructions: 'You tell stories.', max_output_tokens: 16, temperature: 0 });
const types = [];
let text = '', done = null;
for await (const ev of stream) {
  types.push(ev.type);
  if (ev.type === 'response.output_text.delta') text += ev.delta;
  if (ev.type === 'response.output_text.done') done = ev.text;
}
assert.equal(text, r1.output_text);
assert.equal(done, text);
assert.equal(types[0], 'response.created');
assert.equal(types.at(-1), 'response.incomplete');
for (const t of ['response.output_item.added', 'response.content_part.added',
                 'response.content_part.done', 'response.output_item.done'])
  assert.ok(types.includes(t), t);

// previous_response_id: the stored conversation comes first (more prompt tokens)
const r2 = await client.responses.create({ model, input: 'And then?', previous_response_id: r1.id,
                                           max_output_tokens: 4 });
const r2alone = await client.responses.create({ model, input: 'And then?', max_output_tokens: 4 });
assert.ok(r2.usage.input_tokens > r2alone.usage.input_tokens + 16,
          `${r2.usage.input_tokens} vs ${r2alone.usage.input_tokens}`);
await assert.rejects(client.responses.create({ model, input: 'x', previous_response_id: 'resp_nope' }),
                     (e) => e.status === 404);

// a function tool the model must call, then its output sent back
const tools = [{ type: 'function', name: 'get_weather', description: 'Weather of a city',
  parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 12 } },
                required: ['city'] } }];
const t1 = await client.responses.create({ model, input: 'Weather in Paris?', tools,
  tool_choice: 'required', max_output_tokens: 300 });
const call = t1.output.find((o) => o.type === 'function_call');
assert.equal(call.name, 'get_weather');
assert.match(call.call_id, /^call_/);
assert.equal(typeof JSON.parse(call.arguments).city, 'string');
const t2 = await client.responses.create({ model, tools, previous_response_id: t1.id, max_output_tokens: 6,
  input: [{ type: 'function_call_output', call_id: call.call_id, output: '21 degrees' }] });
assert.ok(['completed', 'incomplete'].includes(t2.status));

// text.format json_schema: the output parses and follows the schema
const j = await client.responses.create({ model, input: 'A number', max_output_tokens: 60,
  text: { format: { type: 'json_schema', name: 'n', schema: { type: 'object',
    properties: { n: { type: 'integer', minimum: 1, maximum: 9 } }, required: ['n'] } } } });
const v = JSON.parse(j.output_text);
assert.ok(Number.isInteger(v.n) && v.n >= 1 && v.n <= 9, j.output_text);

await assert.rejects(client.responses.create({ model, input: 5 }), (e) => e.status === 400);
await assert.rejects(client.responses.create({ model, input: 'x', tools: [{ type: 'web_search' }] }),
                     (e) => e.status === 400);
console.log(`responses: ok ("${text.trim()}"; ${r2.usage.input_tokens} tokens with the stored conversation; ${call.arguments}; ${j.output_text})`);
