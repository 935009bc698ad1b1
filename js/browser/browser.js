// browser.js - llm-runner-router in the browser: the LLMRouter API of the Node package
// (js/lib/llmr.cjs) on libllmr compiled to WebAssembly, which runs in a Web Worker
// (llmr-worker.js) so that the page never waits on it. The model is a GGUF file, loaded by URL
// (streamed from fetch into the WebAssembly heap, with progress events), or from a File, a
// Blob or an ArrayBuffer.
//
//   import LLMRouter from 'llm-runner-router/dist/browser.js';
//   const router = new LLMRouter({ logLevel: 'info' });
//   await router.initialize();
//   await router.load('/models/stories260K.gguf');
//   for await (const token of router.stream('Once upon a time', { maxTokens: 100 })) ...
//
// Threads: on a cross-origin isolated page (served with COOP same-origin and COEP
// require-corp, as `llmr serve` serves /browser/), the worker runs the threads build with
// navigator.hardwareConcurrency threads (at most MAX_THREADS; options.threads overrides);
// elsewhere the one-thread build.

const LEVELS = { silent: 0, error: 1, warn: 2, info: 3, debug: 4 };
const ENGINES = ['auto', 'wasm', 'webgpu'];
const MAX_THREADS = 8;           // past this, a step's wake-ups cost more than they bring

function llmrError(code, message) {
  const e = new Error(message);
  e.code = code;
  return e;
}

// The EventEmitter methods the guide uses (on, once, off, emit), without Node's module.
class Emitter {
  constructor() { this._ev = new Map(); }
  on(name, fn) {
    if (!this._ev.has(name)) this._ev.set(name, []);
    this._ev.get(name).push(fn);
    return this;
  }
  addListener(name, fn) { return this.on(name, fn); }
  once(name, fn) {
    const w = (...a) => { this.off(name, w); fn.apply(this, a); };
    w.listener = fn;
    return this.on(name, w);
  }
  off(name, fn) {
    const l = this._ev.get(name);
    if (l) this._ev.set(name, l.filter((f) => f !== fn && f.listener !== fn));
    return this;
  }
  removeListener(name, fn) { return this.off(name, fn); }
  removeAllListeners(name) {
    if (name === undefined) this._ev.clear(); else this._ev.delete(name);
    return this;
  }
  listenerCount(name) { return (this._ev.get(name) || []).length; }
  emit(name, ...args) {
    const l = this._ev.get(name);
    if (!l || !l.length) return false;
    for (const fn of [...l]) fn.apply(this, args);
    return true;
  }
}

// The option names the worker's C side reads (src/bindings/wasm/llmr_wasm.c).
const GEN_KEYS = new Set(['maxTokens', 'temperature', 'topK', 'topP', 'minP', 'typicalP',
  'repeatPenalty', 'presencePenalty', 'frequencyPenalty', 'penaltyLastN', 'seed', 'addBos',
  'parseSpecial', 'ignoreEos', 'jsonObject', 'grammar', 'jsonSchema', 'stopSequences']);
const ALIASES = { stop: 'stopSequences', repetitionPenalty: 'repeatPenalty' };
const JS_KEYS = new Set(['model', 'strategy', 'progressEvery']);

function genOptions(options, where) {
  if (options === undefined || options === null) return [{}, {}];
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw llmrError('LLMR_ERR_ARG', `${where}: options must be an object`);
  }
  const gen = {}, js = {};
  for (const [k0, v] of Object.entries(options)) {
    if (v === undefined) continue;
    const k = ALIASES[k0] || k0;
    if (GEN_KEYS.has(k)) gen[k] = v;
    else if (JS_KEYS.has(k)) js[k] = v;
    else {
      throw llmrError('LLMR_ERR_ARG', `${where}: unknown option '${k0}' (known: ` +
        `${[...GEN_KEYS, ...JS_KEYS].join(', ')})`);
    }
  }
  if (typeof gen.stopSequences === 'string') gen.stopSequences = [gen.stopSequences];
  if (gen.jsonSchema !== undefined && typeof gen.jsonSchema === 'object') {
    gen.jsonSchema = JSON.stringify(gen.jsonSchema);
  }
  if (gen.maxTokens !== undefined && (!Number.isInteger(gen.maxTokens) || gen.maxTokens < 0)) {
    throw llmrError('LLMR_ERR_ARG', `maxTokens: expected an integer of 0 or more, got ${String(gen.maxTokens)}`);
  }
  return [gen, js];
}

// A JavaScript string with a lone surrogate has no UTF-8 form: refused, as by the Node package.
function checkText(s, what) {
  if (typeof s !== 'string') {
    throw llmrError('LLMR_ERR_ARG', `${what}: expected a string, got ${s === null ? 'null' : typeof s}`);
  }
  if (typeof s.isWellFormed === 'function' && !s.isWellFormed()) {
    throw llmrError('LLMR_ERR_ARG', `${what}: contains a lone surrogate: not valid Unicode text`);
  }
  if (s.includes('\0')) throw llmrError('LLMR_ERR_ARG', `${what}: contains a NUL character`);
}

function isOnnx(url) {
  return /\.onnx(?:$|[?#])/i.test(url);
}

class LLMRStream extends Emitter {
  constructor(router, prompt, chat, gen, js) {
    super();
    this.router = router;
    this.prompt = prompt;
    this.model = null;
    this.text = '';
    this.usage = null;
    this.finishReason = null;
    this.error = null;
    this._sid = ++router._sids;
    this._buf = [];
    this._waiters = [];
    this._ended = false;
    this._iterated = false;
    this._paused = false;
    this._stopped = false;
    this._t0 = performance.now();
    this._progressEvery = js.progressEvery ?? 10;
    this._maxTokens = gen.maxTokens ?? 256;
    this._result = null;
    router._streams.set(this._sid, this);
    // Opened once the load in flight (if any) is done, so that stream() right after load()
    // without await works; errors arrive through the iterator and the 'error' event.
    router._ready().then(() => router._call({ type: 'stream', sid: this._sid, prompt, chat, opts: gen }))
      .then((r) => {
        this.model = r.model;
        this.emit('start', { prompt, model: r.model });
        router._log('debug', `stream ${this._sid} started on ${r.model}`);
      })
      .catch((e) => this._finish({ finishReason: 'error' }, e));
  }

  _piece(m) {
    if (this._ended || this._stopped) return;
    this.text += m.text;
    const n = m.index + 1;
    const info = { index: m.index, elapsed: (performance.now() - this._t0) / 1000 };
    this.emit('token', m.text, info);
    this._buf.push(m.text);
    if (this._progressEvery && n % this._progressEvery === 0) {
      const s = info.elapsed;
      const rate = n / s;
      this.emit('progress', {
        tokens: n, elapsed: s, tokensPerSecond: rate,
        charactersPerSecond: [...this.text].length / s,
        estimatedTimeRemaining: this._maxTokens ? Math.max(0, Math.round((this._maxTokens - n) / rate * 1000)) : null,
      });
    }
    this._settle();
  }

  _finish(usage, error) {
    if (this._ended) return;
    this._ended = true;
    this.router._streams.delete(this._sid);
    this.finishReason = error ? 'error' : usage.finishReason;
    this.usage = usage;
    if (error) {
      this.error = error;
      this.router._log('error', `stream ${this._sid}: ${error.message}`);
      if (this.listenerCount('error') > 0) this.emit('error', error);
    } else {
      this.router._log('info', `stream ${this._sid} ended (${this.finishReason}) after ` +
        `${usage.pieces} pieces, ${usage.generatedTokens} tokens, ` +
        `${(usage.tokensPerSecond || 0).toFixed(1)} tokens/s`);
      this.emit('complete', {
        text: this.text, fullText: this.text, model: this.model, finishReason: this.finishReason,
        tokenCount: usage.generatedTokens, totalTime: Math.round((usage.totalSeconds || 0) * 1000),
        usage,
      });
    }
    this.emit('end');
    this._settle();
    if (this._result) {
      const r = this._result;
      this._result = null;
      if (this.error) r.reject(this.error);
      else r.resolve({ text: this.text, model: this.model, finishReason: this.finishReason, usage });
    }
  }

  _settle() {
    while (this._waiters.length && this._buf.length) {
      this._waiters.shift().resolve({ value: this._buf.shift(), done: false });
    }
    if (this._ended && !this._buf.length) {
      for (const w of this._waiters.splice(0)) {
        if (this.error && !this._errorTaken) {
          this._errorTaken = true;
          w.reject(this.error);
        } else {
          w.resolve({ value: undefined, done: true });
        }
      }
    }
  }

  [Symbol.asyncIterator]() {
    if (this._iterated) {
      throw llmrError('LLMR_ERR_STATE', 'this stream is already being iterated: a stream is read once');
    }
    this._iterated = true;
    return {
      next: () => new Promise((resolve, reject) => {
        this._waiters.push({ resolve, reject });
        this._settle();
      }),
      return: async () => {
        this.stop();
        this._buf = [];
        return { value: undefined, done: true };
      },
    };
  }

  // Ends generation; pieces already on their way are dropped. Idempotent.
  stop() {
    if (this._ended || this._stopped) return;
    this._stopped = true;
    this.router._log('info', `stream ${this._sid}: stop requested`);
    this.router._post({ type: 'stop', sid: this._sid });
  }

  // No piece is generated while paused (the worker stops pulling the stream).
  pause() {
    if (this._ended || this._paused) return;
    this._paused = true;
    this.router._post({ type: 'pause', sid: this._sid });
  }

  resume() {
    if (this._ended || !this._paused) return;
    this._paused = false;
    this.router._post({ type: 'resume', sid: this._sid });
  }

  get paused() { return this._paused; }
  get ended() { return this._ended; }

  // The whole reply: {text, model, finishReason, usage}.
  result() {
    if (this._ended) {
      return this.error ? Promise.reject(this.error)
        : Promise.resolve({ text: this.text, model: this.model, finishReason: this.finishReason, usage: this.usage });
    }
    return new Promise((resolve, reject) => { this._result = { resolve, reject }; });
  }
}

export class LLMRouter extends Emitter {
  constructor(options = {}) {
    super();
    if (options === null || typeof options !== 'object') {
      throw llmrError('LLMR_ERR_ARG', 'LLMRouter: options must be an object');
    }
    const level = options.logLevel ?? 'warn';
    if (!(level in LEVELS)) {
      throw llmrError('LLMR_ERR_ARG', `logLevel: '${level}' is not one of ${Object.keys(LEVELS).join(', ')}`);
    }
    const engine = options.preferredEngine ?? 'auto';
    if (!ENGINES.includes(engine)) {
      throw llmrError('LLMR_ERR_ARG', `preferredEngine: '${engine}' is not one of ${ENGINES.join(', ')}`);
    }
    this.options = { ...options };
    this._level = LEVELS[level];
    this._engine = engine;
    this._worker = null;
    this._calls = new Map();
    this._ids = 0;
    this._sids = 0;
    this._streams = new Map();
    this._loading = null;
    this._initPromise = null;
    const th = options.threads;
    if (th !== undefined && (!Number.isInteger(th) || th < 1 || th > 64)) {
      throw llmrError('LLMR_ERR_ARG', `threads: expected an integer from 1 to 64, got ${String(th)}`);
    }
    this._threads = th;
    this.model = null;
    this.engine = 'wasm';
    this.threads = null;         // compute threads, once initialized
    this.build = null;           // 'threads' or 'single', once initialized
    this.workerUrl = options.workerUrl || new URL('./llmr-worker.js', import.meta.url).href;
  }

  _log(level, msg) {
    if (LEVELS[level] > this._level) return;
    const fn = level === 'error' ? console.error : level === 'warn' ? console.warn
      : level === 'debug' ? console.debug : console.info;
    fn.call(console, `[llmr] ${msg}`);
  }

  _post(msg) {
    this._worker?.postMessage(msg);
  }

  _call(msg, onProgress) {
    if (!this._worker) return Promise.reject(llmrError('LLMR_ERR_STATE', 'the router is not initialized: call initialize()'));
    const id = ++this._ids;
    return new Promise((resolve, reject) => {
      this._calls.set(id, { resolve, reject, onProgress });
      this._worker.postMessage({ ...msg, id });
    });
  }

  _onMessage(m) {
    switch (m.type) {
      case 'reply': {
        const c = this._calls.get(m.id);
        if (!c) return;
        this._calls.delete(m.id);
        if (m.ok) c.resolve(m.result);
        else c.reject(llmrError(m.error.code, m.error.message));
        break;
      }
      case 'loadProgress': {
        const c = this._calls.get(m.id);
        c?.onProgress?.(m);
        break;
      }
      case 'piece':
        this._streams.get(m.sid)?._piece(m);
        break;
      case 'end': {
        const s = this._streams.get(m.sid);
        s?._finish(m.usage, m.error ? llmrError(m.error.code, m.error.message) : null);
        break;
      }
      case 'log':
        this._log(m.level, m.message);
        break;
    }
  }

  // Starts the worker and the WebAssembly engine. Idempotent.
  initialize() {
    if (this._initPromise) return this._initPromise;
    if (this._engine === 'webgpu') {
      this._log('info', "preferredEngine 'webgpu': llmr has no WebGPU engine; falling back to " +
        'WebAssembly (SIMD128)');
    }
    this._worker = new Worker(this.workerUrl);
    this._worker.onmessage = (ev) => this._onMessage(ev.data);
    this._worker.onerror = (ev) => {
      const e = llmrError('LLMR_ERR', `the engine's worker failed: ${ev.message || 'unknown error'}`);
      for (const c of this._calls.values()) c.reject(e);
      this._calls.clear();
      this.emit('error', e);
    };
    const isolated = globalThis.crossOriginIsolated === true;
    const threads = this._threads ?? (isolated
      ? Math.max(1, Math.min(MAX_THREADS, globalThis.navigator?.hardwareConcurrency || 1)) : 1);
    if (threads > 1 && !isolated) {
      this._log('warn', `threads: ${threads} asked for, but the page is not cross-origin ` +
        'isolated (it needs the headers Cross-Origin-Opener-Policy: same-origin and ' +
        'Cross-Origin-Embedder-Policy: require-corp): one thread');
    }
    this._initPromise = this._call({ type: 'init', threads }).then((info) => {
      this.engine = 'wasm';
      this.threads = info.threads;
      this.build = info.build;
      this._log('info', `engine ready: libllmr ${info.version} (WebAssembly, SIMD128, ` +
        `${info.threads} thread${info.threads > 1 ? 's' : ''}, ${info.build} build)`);
      this.emit('initialized', info);
      return info;
    });
    return this._initPromise;
  }

  // A load in flight, if any, then nothing: what stream() waits for.
  _ready() {
    return (this._loading || this._initPromise || this.initialize()).catch(() => {});
  }

  // Loads a GGUF model: a URL (absolute or relative to the page), a File, a Blob or an
  // ArrayBuffer / typed array. Replaces the model loaded before once the new one has opened:
  // a load that fails leaves that model loaded. Progress: the 'progress' event of the router
  // and options.onProgress get {loaded, total, percent}.
  async load(source, options = {}) {
    await this.initialize();
    let src, name = options.name;
    if (typeof source === 'string') {
      const url = new URL(source, globalThis.location?.href).href;
      if (isOnnx(url)) {
        throw llmrError('LLMR_ERR_UNSUPPORTED', `${source}: ONNX models are not supported: llmr ` +
          'runs GGUF models (llama.cpp\'s format; e.g. stories260K.gguf or a Hugging Face *.gguf file)');
      }
      src = { url };
      name = name || url;
    } else if (typeof Blob !== 'undefined' && source instanceof Blob) {
      src = { blob: source };
    } else if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
      const b = source instanceof ArrayBuffer ? source
        : source.buffer.slice(source.byteOffset, source.byteOffset + source.byteLength);
      src = { buffer: b };
    } else {
      throw llmrError('LLMR_ERR_ARG', 'load: expected a URL, a File, a Blob or an ArrayBuffer');
    }
    this._log('info', `loading ${name || (src.blob ? src.blob.name || 'a Blob' : 'an ArrayBuffer')}`);
    const onProgress = (m) => {
      const p = { loaded: m.loaded, total: m.total, percent: m.total ? Math.round(m.loaded * 100 / m.total) : null };
      this.emit('progress', p);
      options.onProgress?.(p);
    };
    const job = this._call({ type: 'load', source: src, name, nCtx: options.nCtx || 0 }, onProgress);
    this._loading = job;
    try {
      const info = await job;
      this.model = info.name;
      this.threads = info.threads;
      this._log('info', `loaded ${info.name} (${(info.size / 1024 ** 2).toFixed(1)} MiB, ` +
        `${info.threads} thread${info.threads > 1 ? 's' : ''})`);
      this.emit('loaded', info);
      return info;
    } catch (e) {
      this._log('error', `load failed: ${e.message}`);
      throw e;
    } finally {
      if (this._loading === job) this._loading = null;
    }
  }

  async unload() {
    await this._call({ type: 'unload' });
    this.model = null;
  }

  // Streams a continuation of prompt: an async iterator of text pieces with stop(), pause(),
  // resume(), result() and events (start, token, progress, complete, error, end).
  stream(prompt, options) {
    checkText(prompt, 'prompt');
    const [gen, js] = genOptions(options, 'stream');
    if (!this._worker) this.initialize();
    return new LLMRStream(this, prompt, false, gen, js);
  }

  // A conversation ([{role, content}]) through the model's chat template, streamed.
  chat(messages, options) {
    if (!Array.isArray(messages) || !messages.length) {
      throw llmrError('LLMR_ERR_ARG', 'chat: expected a non-empty array of {role, content}');
    }
    messages.forEach((m, i) => { checkText(m?.role, `messages[${i}].role`); checkText(m?.content, `messages[${i}].content`); });
    const [gen, js] = genOptions(options, 'chat');
    if (!this._worker) this.initialize();
    return new LLMRStream(this, JSON.stringify(messages.map(({ role, content }) => ({ role, content }))), true, gen, js);
  }

  // The whole reply of a prompt: {text, model, finishReason, usage}.
  generate(prompt, options) {
    return this.stream(prompt, options).result();
  }

  async quick(prompt, options) {
    return (await this.generate(prompt, options)).text;
  }

  // Stops every stream and ends the worker.
  async cleanup() {
    for (const s of this._streams.values()) s.stop();
    this._worker?.terminate();
    this._worker = null;
    this._initPromise = null;
    for (const c of this._calls.values()) c.reject(llmrError('LLMR_ERR_STATE', 'the router was cleaned up'));
    this._calls.clear();
  }
}

export default LLMRouter;
