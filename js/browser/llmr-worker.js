'use strict';
// llmr-worker.js - the engine of dist/browser.js: libllmr compiled to WebAssembly
// (src/bindings/wasm/llmr_wasm.c), run in a Web Worker so that the page never waits on it.
//
// Messages in:  {type: 'init'|'load'|'unload'|'stream'|'stop'|'pause'|'resume', id?, sid?, ...}
// Messages out: {type: 'reply', id, ok, result | error}, {type: 'loadProgress', id, loaded,
//               total}, {type: 'piece', sid, text, index, elapsed}, {type: 'end', sid, usage,
//               error}, {type: 'log', level, message}
//
// Two builds of the engine: llmr-wasm.js (one thread) and llmr-wasm-mt.js (threads: a pool
// of pthreads, Web Workers of their own sharing the WebAssembly memory, which needs a page
// that is cross-origin isolated). init picks: threads when asked for more than one and the
// page is isolated, else one thread. Either way the worker is the one caller: streams are
// pulled in turn, one piece each (a pass runs on the model's threads), and it yields to its
// message queue between pieces (a MessageChannel task, which browsers do not clamp as they clamp
// timers), so stop, pause and resume take effect before the next piece. Pause is the worker
// not pulling: a pulled stream that blocked would block the worker.
/* global importScripts, createLlmrModule */

const LLMR_PIECE = 100;          // include/llmr.h
const LLMR_DONE = 101;
const CODE_NAMES = ['LLMR_OK', 'LLMR_ERR', 'LLMR_ERR_NOMEM', 'LLMR_ERR_IO', 'LLMR_ERR_FORMAT',
  'LLMR_ERR_UNSUPPORTED', 'LLMR_ERR_ARG', 'LLMR_ERR_CONTEXT', 'LLMR_ERR_STATE',
  'LLMR_ERR_CANCELLED', 'LLMR_ERR_TEMPLATE', 'LLMR_ERR_NETWORK', 'LLMR_ERR_BUSY',
  'LLMR_ERR_NOT_FOUND', 'LLMR_ERR_TOO_BIG', 'LLMR_ERR_DENIED'];
// wasm32 addresses 4 GiB; the model file lives in that memory with the KV cache, the work
// area and the module itself, for which 256 MiB are kept.
const WASM32_LIMIT = 4 * 1024 ** 3;
const MODEL_LIMIT = WASM32_LIMIT - 256 * 1024 ** 2;
const CHUNK_MIN = 1 << 20;

let M = null;                    // the Emscripten module
let engineInfo = null;           // what init found: {version, threads, build, isolated}
let heapView = null;             // a view of the memory when M.HEAPU8 is stale (threads)
let model = 0;                   // wmodel* of the loaded model, 0 when none
let modelName = null;
const streams = new Map();       // sid -> {ws, paused, stopped, index}
// Pause or stop sent before the stream's open reached the worker (sids only grow): applied
// when it opens.
const early = new Map();
let lastSid = 0;
let pumping = false;

function fail(code, message) {
  const e = new Error(message);
  e.code = code;
  return e;
}

function codeName(rc) {
  return CODE_NAMES[rc] || `LLMR_ERR_${rc}`;
}

function gib(n) {
  return n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(2)} GiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

function cstr(s) {               // a NUL-terminated copy of s in the heap (free with _free)
  const n = M.lengthBytesUTF8(s) + 1;
  const p = M._malloc(n);
  if (!p) throw fail('LLMR_ERR_NOMEM', 'out of memory in the WebAssembly heap');
  M.stringToUTF8(s, p, n);
  return p;
}

// The heap as bytes. In the threads build another thread may grow the memory, which leaves
// M.HEAPU8 a view of the old, shorter buffer until this thread grows it: a fresh view then.
function heap() {
  const mem = M.wasmMemory;
  if (!mem || M.HEAPU8.length === mem.buffer.byteLength) return M.HEAPU8;
  if (!heapView || heapView.length !== mem.buffer.byteLength) heapView = new Uint8Array(mem.buffer);
  return heapView;
}

// threads: what the page asks for (browser.js: navigator.hardwareConcurrency, capped); more
// than one needs a cross-origin isolated page (SharedArrayBuffer), else one thread runs.
async function init(msg) {
  if (M) return engineInfo;
  const want = Math.max(1, Math.min(64, Math.floor(Number(msg?.threads) || 1)));
  const isolated = self.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function';
  const threaded = want > 1 && isolated;
  const script = new URL(threaded ? 'llmr-wasm-mt.js' : 'llmr-wasm.js', self.location.href).href;
  importScripts(script);
  M = await createLlmrModule({
    locateFile: (f) => new URL(f, self.location.href).href,
    print: (s) => post({ type: 'log', level: 'info', message: s }),
    printErr: (s) => post({ type: 'log', level: 'warn', message: s }),
    // threads build: the pthreads load the module from this URL (a worker has no
    // document.currentScript to find it by) and are made before it starts: the compute
    // threads but this one, and one for the chat template renderer's deep-stack thread
    mainScriptUrlOrBlob: script,
    llmrPoolSize: threaded ? want : 0,
  });
  engineInfo = { version: M.UTF8ToString(M._llmrw_version()), threads: threaded ? want : 1,
    build: threaded ? 'threads' : 'single', isolated, simd: true };
  return engineInfo;
}

function post(msg) {
  self.postMessage(msg);
}

// ---- loading: the file goes from the network (or a Blob) straight into the heap -----------

// A growable region of the WebAssembly heap; bytes are copied in once, from each chunk.
class HeapFile {
  constructor(size) {
    this.cap = Math.max(size, CHUNK_MIN);
    this.ptr = M._llmrw_alloc(this.cap) >>> 0;
    this.len = 0;
    if (!this.ptr) throw this.noMemory(this.cap);
  }

  noMemory(n) {
    return fail('LLMR_ERR_NOMEM', `cannot allocate ${gib(n)} for the model in WebAssembly ` +
      `memory (wasm32 limit: 4 GiB, shared with the KV cache; the browser may allow less)`);
  }

  append(chunk) {
    const need = this.len + chunk.length;
    if (need > MODEL_LIMIT) throw tooBig(need, true);
    if (need > this.cap) {        // unknown length: double, moving the bytes inside the heap
      const cap = Math.min(Math.max(need, this.cap * 2), MODEL_LIMIT);
      const p = M._llmrw_alloc(cap) >>> 0;
      if (!p) throw this.noMemory(cap);
      heap().copyWithin(p, this.ptr, this.ptr + this.len);
      M._llmrw_free(this.ptr);
      this.ptr = p;
      this.cap = cap;
    }
    heap().set(chunk, this.ptr + this.len);   // re-read: memory may have grown
    this.len = need;
  }

  free() {
    if (this.ptr) M._llmrw_free(this.ptr);
    this.ptr = 0;
  }
}

function tooBig(n, atLeast) {
  return fail('LLMR_ERR_TOO_BIG', `the model is ${atLeast ? 'at least ' : ''}${gib(n)}: over ` +
    `the WebAssembly (wasm32) memory limit of 4 GiB, which must also hold the KV cache ` +
    `(models up to ${gib(MODEL_LIMIT)} load)`);
}

function describeStart(bytes, ctype) {
  const head = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, 64));
  if (/^\s*</.test(head) || /html/i.test(ctype || '')) {
    return 'the server sent an HTML page (Content-Type ' + (ctype || 'none') + '), not a GGUF ' +
      'model: check the URL';
  }
  const hex = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return `not a GGUF file: it starts with bytes ${hex}, not "GGUF"`;
}

async function readInto(reader, file, total, id, name, ctype) {
  let checked = false;
  let lastPost = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!checked && file.len + value.length >= 4) {
      const first = new Uint8Array(4);
      const have = Math.min(file.len, 4);
      first.set(heap().subarray(file.ptr, file.ptr + have));
      first.set(value.subarray(0, 4 - have), have);
      if (String.fromCharCode(...first) !== 'GGUF') {
        reader.cancel().catch(() => {});
        throw fail('LLMR_ERR_FORMAT', `${name}: ${describeStart(value, ctype)}`);
      }
      checked = true;
    }
    if (total && file.len + value.length > total) {
      reader.cancel().catch(() => {});
      throw fail('LLMR_ERR_FORMAT', `${name}: more bytes than its Content-Length (${total})`);
    }
    file.append(value);
    if (file.len - lastPost >= CHUNK_MIN || file.len === total) {
      lastPost = file.len;
      post({ type: 'loadProgress', id, loaded: file.len, total: total || null });
    }
  }
  if (total && file.len < total) {
    throw fail('LLMR_ERR_NETWORK', `${name}: the download ended after ${file.len} of ${total} bytes`);
  }
  if (!checked) throw fail('LLMR_ERR_FORMAT', `${name}: not a GGUF file (${file.len} bytes)`);
  post({ type: 'loadProgress', id, loaded: file.len, total: total || file.len });
}

async function load(msg) {
  if (!M) await init({ threads: 1 });
  const src = msg.source;
  let name = msg.name;
  let file = null;
  try {
    if (src.url) {
      name = name || src.url;
      let res;
      try {
        res = await fetch(src.url);
      } catch (e) {
        throw fail('LLMR_ERR_NETWORK', `${name}: download failed: ${e.message}`);
      }
      if (!res.ok) {
        res.body?.cancel().catch(() => {});
        throw fail(res.status === 404 ? 'LLMR_ERR_NOT_FOUND' : 'LLMR_ERR_NETWORK',
          `${name}: HTTP ${res.status} ${res.statusText}`.trim());
      }
      const ctype = res.headers.get('content-type');
      // Content-Length counts encoded bytes when the response is compressed.
      const enc = res.headers.get('content-encoding');
      const total = !enc || enc === 'identity' ? Number(res.headers.get('content-length')) || 0 : 0;
      if (total > MODEL_LIMIT) {
        res.body?.cancel().catch(() => {});
        throw tooBig(total, false);
      }
      file = new HeapFile(total);
      await readInto(res.body.getReader(), file, total, msg.id, name, ctype);
    } else if (src.blob) {
      name = name || src.blob.name || 'blob';
      if (src.blob.size > MODEL_LIMIT) throw tooBig(src.blob.size, false);
      file = new HeapFile(src.blob.size);
      await readInto(src.blob.stream().getReader(), file, src.blob.size, msg.id, name, src.blob.type);
    } else if (src.buffer) {
      name = name || 'ArrayBuffer';
      const bytes = new Uint8Array(src.buffer);
      if (bytes.length > MODEL_LIMIT) throw tooBig(bytes.length, false);
      file = new HeapFile(bytes.length);
      const one = { read: async () => (one.done ? { done: true } : (one.done = true, { value: bytes })), cancel: async () => {} };
      await readInto(one, file, bytes.length, msg.id, name, '');
    } else {
      throw fail('LLMR_ERR_ARG', 'load: expected a URL, a File, a Blob or an ArrayBuffer');
    }
  } catch (e) {
    file?.free();
    throw e;
  }
  // The new model replaces the old one once it has opened: a file that does not open leaves
  // the model loaded before as it was (the bytes of both are in memory meanwhile anyway).
  let pname;
  try {
    pname = cstr(name);
  } catch (e) {
    file.free();
    throw e;
  }
  const size = file.len;
  const w = M._llmrw_model_open(file.ptr, size, pname, msg.nCtx || 0, engineInfo.threads);
  M._free(pname);
  file.ptr = 0;                                      // the model owns it now, even on failure
  const rc = M._llmrw_model_rc(w);
  if (rc !== 0) {
    const text = M.UTF8ToString(M._llmrw_model_errmsg(w));
    M._llmrw_model_close(w);
    throw fail(codeName(rc), text);
  }
  unload();
  model = w;
  modelName = name;
  return { name, size, threads: M._llmrw_model_threads(w), build: engineInfo.build };
}

function unload() {
  for (const [sid, s] of streams) endStream(sid, s, null);
  if (model) M._llmrw_model_close(model);
  model = 0;
  modelName = null;
}

// ---- streams ---------------------------------------------------------------------------

function openStream(msg) {
  if (!model) {
    throw fail('LLMR_ERR_STATE', 'no model is loaded: call router.load() first');
  }
  lastSid = Math.max(lastSid, msg.sid);
  const pre = early.get(msg.sid);
  early.delete(msg.sid);
  const p = cstr(msg.prompt);
  const o = cstr(JSON.stringify(msg.opts || {}));
  const ws = M._llmrw_stream_open(model, p, o, msg.chat ? 1 : 0);
  M._free(p);
  M._free(o);
  const rc = M._llmrw_stream_rc(ws);
  if (rc !== 0) {
    const text = M.UTF8ToString(M._llmrw_stream_errmsg(ws));
    M._llmrw_stream_close(ws);
    throw fail(codeName(rc), text);
  }
  const s = { ws, paused: pre === 'pause', stopped: pre === 'stop', index: 0 };
  streams.set(msg.sid, s);
  if (s.stopped) M._llmrw_stream_stop(ws);
  pump();
  return { model: modelName };
}

function endStream(sid, s, error) {
  const usage = JSON.parse(M.UTF8ToString(M._llmrw_stream_usage(s.ws)));
  M._llmrw_stream_close(s.ws);
  streams.delete(sid);
  post({ type: 'end', sid, usage, error });
}

const yieldChannel = new MessageChannel();
const yieldWaiters = [];
yieldChannel.port1.onmessage = () => yieldWaiters.shift()?.();
function yieldTask() {
  return new Promise((r) => { yieldWaiters.push(r); yieldChannel.port2.postMessage(0); });
}

// Pulls every running stream one piece at a time until none is left to pull.
async function pump() {
  if (pumping) return;
  pumping = true;
  try {
    for (;;) {
      let pulled = false;
      for (const [sid, s] of [...streams]) {
        if (!streams.has(sid) || s.paused) continue;
        pulled = true;
        if (s.stopped) {
          // The stop is seen before the next token: next() ends the stream as cancelled
          // (a piece it still returns is dropped: the page asked for no more).
          let rc;
          for (let i = 0; i < 4 && (rc = M._llmrw_stream_next(s.ws)) === LLMR_PIECE; i++);
          endStream(sid, s, rc === LLMR_PIECE || rc === LLMR_DONE ? null
            : { code: codeName(rc), message: M.UTF8ToString(M._llmrw_stream_errmsg(s.ws)) });
          continue;
        }
        const rc = M._llmrw_stream_next(s.ws);
        if (rc === LLMR_PIECE) {
          const text = M.UTF8ToString(M._llmrw_piece_text(s.ws), M._llmrw_piece_len(s.ws));
          post({ type: 'piece', sid, text, index: s.index++ });
        } else if (rc === LLMR_DONE) {
          endStream(sid, s, null);
        } else {
          endStream(sid, s, { code: codeName(rc), message: M.UTF8ToString(M._llmrw_stream_errmsg(s.ws)) });
        }
      }
      if (!pulled) break;
      await yieldTask();            // let stop, pause and resume in
    }
  } finally {
    pumping = false;
  }
}

function control(msg) {
  const s = streams.get(msg.sid);
  if (!s) {
    if (msg.sid > lastSid && early.get(msg.sid) !== 'stop') {
      if (msg.type === 'resume') early.delete(msg.sid);
      else early.set(msg.sid, msg.type);
    }
    return false;
  }
  if (msg.type === 'stop') {
    s.stopped = true;
    s.paused = false;
    M._llmrw_stream_stop(s.ws);
  } else {
    s.paused = msg.type === 'pause';
  }
  pump();
  return true;
}

self.onmessage = async (ev) => {
  const msg = ev.data;
  if (msg.type === 'stop' || msg.type === 'pause' || msg.type === 'resume') {
    control(msg);
    return;
  }
  try {
    let result;
    if (msg.type === 'init') result = await init(msg);
    else if (msg.type === 'load') result = await load(msg);
    else if (msg.type === 'unload') result = unload();
    else if (msg.type === 'stream') result = openStream(msg);
    else throw fail('LLMR_ERR_ARG', `unknown message ${msg.type}`);
    post({ type: 'reply', id: msg.id, ok: true, result });
  } catch (e) {
    post({ type: 'reply', id: msg.id, ok: false,
      error: { code: e.code || 'LLMR_ERR', message: e.message || String(e) } });
  }
};
