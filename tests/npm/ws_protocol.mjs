// The `ws` package speaks the seed's WebSocket protocol with llmr serve (argv[2] = base URL):
// welcome; chat -> stream_start, token..., stream_end with fullResponse; history; stop; errors.
import WebSocket from 'ws';
import assert from 'node:assert/strict';

const url = process.argv[2].replace(/^http/, 'ws') + '/ws';

function connect() {
  const ws = new WebSocket(url);
  const queue = [], waiters = [];
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString());
    const w = waiters.shift();
    if (w) w(m); else queue.push(m);
  });
  const next = () => new Promise((resolve, reject) => {
    if (queue.length) return resolve(queue.shift());
    const t = setTimeout(() => reject(new Error('no message within 10 s')), 10000);
    waiters.push((m) => { clearTimeout(t); resolve(m); });
  });
  return new Promise((resolve, reject) => {
    ws.on('open', () => resolve({ ws, next }));
    ws.on('error', reject);
  });
}

async function reply(c, content, extra = {}) {
  c.ws.send(JSON.stringify({ type: 'chat', content, ...extra }));
  assert.equal((await c.next()).type, 'stream_start');
  let text = '', tokens = 0;
  for (;;) {
    const m = await c.next();
    if (m.type === 'token') { text += m.content; tokens++; continue; }
    assert.equal(m.type, 'stream_end', JSON.stringify(m));
    return { text, tokens, end: m };
  }
}

const c = await connect();
const welcome = await c.next();
assert.equal(welcome.type, 'welcome');
assert.ok(welcome.message.length > 0);

const r1 = await reply(c, 'Hello there', { max_tokens: 16, temperature: 0 });
assert.ok(r1.tokens >= 3, `only ${r1.tokens} tokens`);
assert.equal(r1.end.fullResponse, r1.text.trim());

// History: the second turn's prompt holds the first exchange, so it is longer than the same
// message sent on a fresh connection (whose reply may then differ: greedy output depends on it).
const r2 = await reply(c, 'And then?', { max_tokens: 8, temperature: 0 });
assert.ok(r2.tokens >= 1);

// stop cancels the reply in progress: it ends early with stream_end, stopped: true. (A reply
// that reaches EOS before the stop arrives ends without it: try again, on a fresh connection,
// as a long finished reply in the history could leave no room in the context for the next.)
let m, more = 0, stopped = false;
for (let attempt = 0; attempt < 5 && !stopped; attempt++) {
  const s = await connect();
  assert.equal((await s.next()).type, 'welcome');
  s.ws.send(JSON.stringify({ type: 'chat', content: 'Tell me a very long story', max_tokens: 400,
                             temperature: 1 }));
  assert.equal((await s.next()).type, 'stream_start');
  const first = await s.next();
  if (first.type !== 'stream_end') {
    assert.equal(first.type, 'token');
    s.ws.send(JSON.stringify({ type: 'stop' }));
    more = 0;
    while ((m = await s.next()).type === 'token') more++;
    assert.equal(m.type, 'stream_end');
    stopped = m.stopped === true;
    if (stopped) assert.ok(m.tokens < 400, `stop did not stop: ${m.tokens} tokens`);
  }
  s.ws.close();
}
assert.ok(stopped, 'stop never cancelled a reply');

// Errors are {"type":"error"} and the connection stays usable.
c.ws.send('not json');
assert.equal((await c.next()).type, 'error');
c.ws.send(JSON.stringify({ type: 'chat' }));
const e2 = await c.next();
assert.equal(e2.type, 'error');
assert.match(e2.message, /content/);
c.ws.send(JSON.stringify({ type: 'dance' }));
assert.equal((await c.next()).type, 'error');
const r3 = await reply(c, 'Hi again', { max_tokens: 4 });
assert.ok(r3.tokens >= 1);

// Two connections stream at the same time, each with its own history.
const [a, b] = await Promise.all([connect(), connect()]);
await Promise.all([a.next(), b.next()]);
const [ra, rb] = await Promise.all([reply(a, 'One', { max_tokens: 20 }),
                                    reply(b, 'Two', { max_tokens: 20 })]);
assert.ok(ra.tokens > 0 && rb.tokens > 0);
a.ws.close(); b.ws.close(); c.ws.close();
console.log(`ws: replies ${JSON.stringify(r1.text)} / stopped after ${more + 1} tokens`);
