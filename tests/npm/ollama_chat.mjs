// The `ollama` package streams /api/chat from llmr serve (argv[2] = base URL).
import { Ollama } from 'ollama';
import assert from 'node:assert/strict';

const ollama = new Ollama({ host: process.argv[2] });
const tags = await ollama.list();
assert.equal(tags.models[0].name, 'stories260K:latest');

const stream = await ollama.chat({
  model: 'stories260K',
  messages: [{ role: 'user', content: 'Tell me a story.' }],
  stream: true,
  options: { num_predict: 20, temperature: 0 },
});
let text = '', parts = 0, last = null;
for await (const part of stream) {
  text += part.message.content;
  if (part.message.content) parts++;
  last = part;
}
assert.ok(parts >= 5, `only ${parts} parts`);
assert.equal(last.done, true);
assert.equal(last.done_reason, 'length');
assert.equal(last.eval_count, 20);
assert.ok(last.prompt_eval_count > 0 && last.total_duration > 0);

const gen = await ollama.generate({
  model: 'stories260K', prompt: 'Once upon a time', raw: true, stream: false,
  options: { num_predict: 12, temperature: 0 },
});
assert.ok(gen.response.startsWith(', there was a little girl'), gen.response);
const ps = await ollama.ps();
assert.equal(ps.models[0].name, 'stories260K:latest');
console.log(`ollama: ${parts} parts streamed: ${JSON.stringify(text)}`);
