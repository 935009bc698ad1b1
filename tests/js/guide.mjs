// guide.mjs - runs every JavaScript block of the seed's streaming guide
// (../shared/seed/streaming-examples.md) with Node on the llm-runner-router package, and checks
// what each one really does. A block's text is used as it is; what changes is only where its
// models/*.gguf files point (links in the folder it runs in) and, for the WebSocket server,
// its port. Blocks that use LLMRouter without importing it (they continue the guide's first
// block) get it as a global from `node --import llm-runner-router/global`; probe.mjs records
// each write to stdout with its time.
//   node guide.mjs GUIDE.md MODEL SLOW_MODEL
// SLOW_MODEL is a model slow enough that the ControllableStream example's 15 s are not enough
// for its 1000 tokens (a 1.1B one), so that its pause and stop land mid-stream.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { check, finish } from './check.mjs';

const [GUIDE, MODEL, SLOW_MODEL] = process.argv.slice(2);
const HERE = path.dirname(new URL(import.meta.url).pathname);
const WS_DIR = process.env.LLMR_WS_MODULE;   // tests/npm/node_modules/ws, when installed

const md = fs.readFileSync(GUIDE, 'utf8');
const blocks = [...md.matchAll(/```javascript\n([\s\S]*?)```/g)].map((m) => m[1]);
const KINDS = {
  basic: 'async function basicStreaming', events: 'class StreamingManager',
  control: 'class ControllableStream', filters: 'class FilteredStream',
  chat: 'class ChatInterface', websocket: 'class StreamingChatServer',
  analyzer: 'class StreamAnalyzer', robust: 'class RobustStreamer',
};
const byKind = {};
for (const code of blocks) {
  const kind = Object.keys(KINDS).find((k) => code.includes(KINDS[k]));
  check(`every block is one the test knows (${code.slice(0, 40).replace(/\n/g, ' ')})`, kind);
  if (kind) byKind[kind] = code;
}
check('the guide has its 8 JavaScript blocks', blocks.length === 8 && Object.keys(byKind).length === 8,
  `${blocks.length} blocks`);

let seq = 0;
// A folder for one run: node_modules links, models/ links, the example as example.mjs.
function workdir(code, models) {
  const dir = fs.mkdtempSync(path.join(process.env.TMPDIR || '/tmp', `guide-${seq++}-`));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(process.env.LLMR_JS_PKG, path.join(dir, 'node_modules', 'llm-runner-router'));
  if (WS_DIR) fs.symlinkSync(WS_DIR, path.join(dir, 'node_modules', 'ws'));
  fs.mkdirSync(path.join(dir, 'models'));
  fs.writeFileSync(path.join(dir, 'not-a-model.gguf'), 'this is a text file, not GGUF\n');
  const links = {
    'llama-7b.gguf': MODEL, 'chat-model.gguf': MODEL, 'backup-model.gguf': MODEL,
    'might-fail-model.gguf': path.join(dir, 'not-a-model.gguf'), ...models,
  };
  for (const [name, target] of Object.entries(links)) fs.symlinkSync(target, path.join(dir, 'models', name));
  fs.copyFileSync(path.join(HERE, 'probe.mjs'), path.join(dir, 'probe.mjs'));
  fs.writeFileSync(path.join(dir, 'example.mjs'), code);
  return dir;
}

// Runs example.mjs in dir; `interact(child, out)` may drive it. Resolves with its output, the
// probe's writes and its exit status; kills it after `limit` ms (a hang is a failure).
function run(dir, { interact, limit = 120000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'llm-runner-router/global', '--import',
      './probe.mjs', 'example.mjs'], { cwd: dir, env: { ...process.env, LLMR_PROBE_OUT: path.join(dir, 'probe.json') } });
    const out = { stdout: '', stderr: '' };
    child.stdout.on('data', (d) => { out.stdout += d; if (interact) interact(child, out); });
    child.stderr.on('data', (d) => { out.stderr += d; });
    const timer = setTimeout(() => { out.timedOut = true; child.kill('SIGKILL'); }, limit);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let writes = [];
      try { writes = JSON.parse(fs.readFileSync(path.join(dir, 'probe.json'), 'utf8')); } catch { /* killed */ }
      resolve({ ...out, code, signal, writes });
    });
    out.child = child;
  });
}

function report(name, r) {
  const ok = r.code === 0 && !r.timedOut;
  check(`${name}: exits 0`, ok, `status ${r.code} ${r.signal || ''}${r.timedOut ? ' (timed out)' : ''}`);
  if (!ok) console.log(`--- ${name} stdout:\n${r.stdout.slice(-2000)}\n--- stderr:\n${r.stderr.slice(-3000)}`);
}

// The writes between the one containing `from` and the one containing `to` (exclusive).
function between(writes, from, to) {
  const a = writes.findIndex(([, s]) => s.includes(from));
  const b = writes.findIndex(([, s], i) => i > a && s.includes(to));
  return a < 0 || b < 0 ? null : writes.slice(a + 1, b);
}

async function basic() {
  const r = await run(workdir(byKind.basic));
  report('basic', r);
  const toks = between(r.writes, '🎬 Starting story generation', '✅ Story complete!') || [];
  const text = toks.map(([, s]) => s).join('');
  const n = Number((/Total length: (\d+) characters/.exec(r.stdout) || [])[1]);
  check('basic: tokens stream, one write each', toks.length > 20, `${toks.length} writes`);
  check('basic: the reported length is the streamed text\'s', n === text.length && n > 0, `${n} vs ${text.length}`);
}

async function events() {
  const r = await run(workdir(byKind.events));
  report('events', r);
  check('events: start event', r.stdout.includes('🎬 Starting generation: Explain the theory of relativity in simple terms'));
  const prog = [...r.stdout.matchAll(/📊 Progress: (\d+) tokens, ([\d.]+) chars\/sec/g)];
  const done = /✅ Complete: (\d+) tokens in (\d+)ms/.exec(r.stdout);
  const n = done ? Number(done[1]) : -1;
  check('events: complete event with the token count', n > 0, r.stdout.slice(-300));
  check('events: progress every 10 tokens', prog.length === Math.floor(n / 10) &&
    prog.every((m, i) => Number(m[1]) === 10 * (i + 1) && Number(m[2]) > 0), prog.map((m) => m[1]).join());
  check('events: an ETA', /⏱️ ETA: \d+ms/.test(r.stdout));
  const toks = between(r.writes, '🎬 Starting generation', '✅ Complete') || [];
  check('events: token events written as they came', toks.filter(([, s]) => !s.includes('📊') && !s.includes('⏱️')).length === n);
}

async function control() {
  const code = byKind.control;
  // The guide's ControllableStream.start() uses `yield` in a method declared `async start`,
  // not `async *start`: a SyntaxError in every JavaScript engine (class bodies are strict).
  const verbatim = await run(workdir(code, { 'llama-7b.gguf': SLOW_MODEL }), { limit: 30000 });
  check('control: the verbatim block is a SyntaxError at its yield', verbatim.code !== 0 &&
    /SyntaxError/.test(verbatim.stderr) && /yield token/.test(verbatim.stderr), verbatim.stderr.slice(0, 300));
  const fixed = code.replace('  async start(prompt, options = {}) {', '  async *start(prompt, options = {}) {');
  check('control: the one fix applies', fixed !== code);
  const r = await run(workdir(fixed, { 'llama-7b.gguf': SLOW_MODEL }), { limit: 180000 });
  report('control', r);
  const w = r.writes;
  const at = (s) => w.findIndex(([, x]) => x.includes(s));
  const [p, res, st, fin] = [at('⏸️ Stream paused'), at('▶️ Stream resumed'), at('⏹️ Stream stopped'), at('🏁 Stream finished')];
  check('control: paused, resumed, stopped, finished in order', p > 0 && p < res && res < st && st < fin, [p, res, st, fin].join());
  const tokens = (a, b) => w.slice(a + 1, b).length;
  check('control: tokens before the pause', tokens(-1, p) > 0, `${tokens(-1, p)}`);
  check('control: no token while paused', tokens(p, res) === 0, `${tokens(p, res)}`);
  check('control: tokens after resuming', tokens(res, st) > 0, `${tokens(res, st)}`);
  check('control: no token after stop', tokens(st, fin) === 0, `${tokens(st, fin)}`);
  const all = tokens(-1, p) + tokens(res, st);
  console.log(`control: ${tokens(-1, p)} tokens before the pause, ${tokens(res, st)} between resume and stop`);
  check('control: stopped mid-stream (fewer than its 1000 tokens)', all < 1000,
    `${all} tokens: the model finished before the stop at 15 s; give a slower model`);
  if (p > 0 && res > 0) {
    const gap = w[res][0] - w[p][0];
    check('control: the pause lasted about 3 s', gap >= 2500, `${gap} ms`);
  }
}

async function filters() {
  const r = await run(workdir(byKind.filters));
  report('filters', r);
  const toks = (between(r.writes, '🎭 Streaming with filters', '✅ Filtered streaming complete') || []).map(([, s]) => s);
  check('filters: tokens stream', toks.length > 10, `${toks.length}`);
  check('filters: no bad word gets through', toks.every((s) => !/bad|evil|terrible/i.test(s)));
  check('filters: each token\'s first . became !', toks.every((s) => !s.includes('.') || s.indexOf('!') < s.indexOf('.')));
  check('filters: something was replaced', toks.some((s) => s.includes('!') || s.includes('***')));
}

async function chat() {
  const lines = ['Hello there', 'Tell me a story about a cat', 'exit'];
  let prompts = 0;
  const r = await run(workdir(byKind.chat), {
    interact: (child, out) => {
      const n = out.stdout.split('You: ').length - 1;
      while (prompts < n && lines.length) { prompts++; child.stdin.write(`${lines.shift()}\n`); }
    },
  });
  report('chat', r);
  check('chat: ready banner', r.stdout.includes('🤖 Chat assistant ready! Type "exit" to quit.'));
  check('chat: goodbye on exit', r.stdout.includes('👋 Goodbye!'));
  const turns = r.stdout.split('AI: \n').slice(1).map((t) => t.split('\n\nYou: ')[0]);
  check('chat: two replies', turns.length === 2, `${turns.length}`);
  check('chat: replies stream text', turns.some((t) => t.trim().length > 0));
  check('chat: a reply never runs into the next turn', turns.every((t) => !t.includes('\nHuman:') && !t.includes('\nUser:')));
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function websocket() {
  if (!WS_DIR) {
    console.log('websocket: skipped: the ws package is not installed (scripts/setup.sh: npm ci in tests/npm)');
    return;
  }
  const { default: WebSocket } = await import(path.join(WS_DIR, 'index.js'));
  const port = await freePort();
  const code = byKind.websocket.replaceAll('8080', String(port));
  check('websocket: only the port changed', code.split(String(port)).length === byKind.websocket.split('8080').length);
  let client = null;
  const got = [];
  const r = await run(workdir(code), {
    limit: 120000,
    interact: (child, out) => {
      if (client || !out.stdout.includes(`🚀 Chat server running on ws://localhost:${port}`)) return;
      client = new WebSocket(`ws://127.0.0.1:${port}`);
      client.on('message', (d) => {
        const m = JSON.parse(d.toString());
        got.push(m);
        if (m.type === 'welcome') client.send(JSON.stringify({ type: 'chat', content: 'Tell me about dragons' }));
        if (m.type === 'stream_end' || m.type === 'error') { client.close(); setTimeout(() => child.kill('SIGTERM'), 200); }
      });
      client.on('error', (e) => { got.push({ type: 'client-error', message: e.message }); child.kill('SIGTERM'); });
    },
  });
  check('websocket: the server ran until the test ended it', r.signal === 'SIGTERM', `${r.code} ${r.signal} ${r.stderr.slice(-500)}`);
  const types = got.map((m) => m.type);
  check('websocket: welcome, stream_start, tokens, stream_end', types[0] === 'welcome' && types[1] === 'stream_start' &&
    types.at(-1) === 'stream_end' && types.filter((t) => t === 'token').length > 5, types.join());
  const text = got.filter((m) => m.type === 'token').map((m) => m.content).join('');
  const end = got.find((m) => m.type === 'stream_end');
  check('websocket: fullResponse is the tokens the client got', end && end.fullResponse === text.trim() && text.trim().length > 0);
  check('websocket: the server saw the client come and go', /👤 Client \w+ connected/.test(r.stdout) && /👤 Client \w+ disconnected/.test(r.stdout));
}

async function analyzer() {
  const r = await run(workdir(byKind.analyzer));
  report('analyzer', r);
  const total = Number((/totalTokens: (\d+)/.exec(r.stdout) || [])[1]);
  const stats = [...r.stdout.matchAll(/📈 Stats at (\d+) tokens:/g)].map((m) => Number(m[1]));
  check('analyzer: final statistics', total > 0 && /uniqueWords: \d+/.test(r.stdout) && /sentenceCount: \d+/.test(r.stdout), r.stdout.slice(-400));
  check('analyzer: stats every 50 tokens', stats.length === Math.floor(total / 50) && stats.every((n, i) => n === 50 * (i + 1)), stats.join());
  const toks = between(r.writes, '📊 Starting analyzed streaming', '📊 Final Statistics') || [];
  const tokenWrites = toks.filter(([, s]) => !/📈|Unique words|Sentences:|Avg word length/.test(s) && s !== '\n\n\n' && s !== '\n');
  check('analyzer: every token written', tokenWrites.length >= total - stats.length * 2 && total > 50, `${tokenWrites.length} writes, ${total} tokens`);
}

async function robust() {
  const r = await run(workdir(byKind.robust));
  report('robust (first model fails)', r);
  check('robust: falls back to the backup model', r.stdout.includes('Loading backup model...'));
  const toks = between(r.writes, 'Loading backup model', '✅ Streaming completed successfully') || [];
  check('robust: the backup streams', toks.length > 10, `${toks.length}`);
  const ok = await run(workdir(byKind.robust, { 'might-fail-model.gguf': MODEL }));
  report('robust (first model loads)', ok);
  check('robust: no fallback when the first model loads', !ok.stdout.includes('Loading backup') &&
    ok.stdout.includes('✅ Streaming completed successfully'));
}

const only = process.env.LLMR_GUIDE_ONLY ? process.env.LLMR_GUIDE_ONLY.split(',') : null;
for (const [name, fn] of Object.entries({ basic, events, control, filters, chat, websocket, analyzer, robust })) {
  if (only && !only.includes(name)) continue;
  const t0 = Date.now();
  await fn();
  console.log(`${name}: ${Date.now() - t0} ms`);
}
finish();
