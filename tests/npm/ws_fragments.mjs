// The `ws` package sends one chat message as three fragments (send with fin: false, then the
// last with fin: true); llmr serve must answer it as one message (argv[2] = base URL).
import WebSocket from 'ws';
import assert from 'node:assert/strict';

const url = process.argv[2].replace(/^http/, 'ws') + '/ws';
const ws = new WebSocket(url);
const msgs = [];
let wake = null;
ws.on('message', (d) => { msgs.push(JSON.parse(d.toString())); if (wake) wake(); });
const next = async () => {
  while (!msgs.length) await new Promise((r, j) => { wake = r; setTimeout(() => j(new Error('no message in 10 s')), 10000); });
  return msgs.shift();
};
await new Promise((r, j) => { ws.on('open', r); ws.on('error', j); });
assert.equal((await next()).type, 'welcome');
const body = JSON.stringify({ type: 'chat', content: 'Once upon a time', max_tokens: 6 });
ws.send(body.slice(0, 5), { fin: false });
ws.send(body.slice(5, 20), { fin: false });
ws.send(body.slice(20), { fin: true });
assert.equal((await next()).type, 'stream_start');
let m;
while ((m = await next()).type === 'token');
assert.equal(m.type, 'stream_end', JSON.stringify(m));
assert.ok(m.tokens >= 1);
ws.close(1000);
await new Promise((r) => ws.on('close', (code) => { assert.equal(code, 1000); r(); }));
console.log(`ws fragments: ${JSON.stringify(m.fullResponse)}`);
