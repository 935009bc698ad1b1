'use strict';
// llm-runner-router: the LLMRouter API on libllmr. This file gives the API its shape; the
// native addon (src/*.c, built as llmr.node) runs everything on libllmr's and its own threads,
// so nothing here ever blocks the event loop.

const path = require('node:path');
const fs = require('node:fs');
const { EventEmitter } = require('node:events');

function llmrError(code, message) {
  const e = new Error(message);
  e.code = code;
  return e;
}

function loadAddon() {
  const tried = [];
  const candidates = [process.env.LLMR_NODE_ADDON, path.join(__dirname, '..', 'build', 'llmr.node')];
  for (const file of candidates) {
    if (!file) continue;
    tried.push(file);
    if (fs.existsSync(file)) return require(path.resolve(file));
  }
  throw llmrError('LLMR_ERR_ADDON',
    `llm-runner-router: the native addon is not built (looked for ${tried.join(', ')}); ` +
    'run `npm install` in the package folder, or scripts/setup.sh in the llmr repository');
}

const native = loadAddon();

// Streams someone is waiting on (a pending next(), result(), or event listeners): held here so
// that the garbage collector leaves them alone. Any other stream may be collected, and
// collecting one stops it and frees its KV slot.
const live = new Set();

// One function for every stream's events: it holds no stream, so that the native side can
// hold streams weakly.
function dispatch(target, kind, text, a, b, c, d, e) {
  target._event(kind, text, a, b, c, d, e);
}

const EV_MODEL = 0, EV_START = 1, EV_TOKEN = 2, EV_PROGRESS = 3, EV_RETRY = 4, EV_END = 5,
  EV_LOGPROBS = 6;

// One token's log-probability as the addon sends it ({id, logprob, bytes, top}), with its text.
function logprobEntry(x) {
  const e = { token: x.id, logprob: x.logprob, bytes: x.bytes,
    text: Buffer.from(x.bytes).toString('utf8') };
  if (x.top) e.top = x.top.map(logprobEntry);
  return e;
}

// camelCase option names the native side reads (src/addon.c, js_opts_read).
const GEN_KEYS = new Set(['maxTokens', 'temperature', 'topK', 'topP', 'minP', 'typicalP',
  'repeatPenalty', 'presencePenalty', 'frequencyPenalty', 'penaltyLastN', 'minKeep', 'seed',
  'progressEvery', 'maxRetries', 'retryDelayMs', 'backoff', 'jsonObject', 'addBos',
  'parseSpecial', 'ignoreEos', 'noCache', 'splitReasoning', 'logprobs', 'topLogprobs',
  'grammar', 'jsonSchema', 'stopSequences', 'logitBias']);
const ROUTE_KEYS = new Set(['model', 'strategy', 'strict', 'json', 'minContext', 'cache']);
const ALIASES = { stop: 'stopSequences', repetitionPenalty: 'repeatPenalty' };

function splitOptions(options, where) {
  if (options === undefined || options === null) return [{}, {}];
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw llmrError('LLMR_ERR_ARG', `${where}: options must be an object`);
  }
  const gen = {}, route = {};
  for (const [k0, v] of Object.entries(options)) {
    if (v === undefined) continue;
    const k = ALIASES[k0] || k0;
    if (GEN_KEYS.has(k)) gen[k] = v;
    else if (ROUTE_KEYS.has(k)) route[k] = v;
    else {
      throw llmrError('LLMR_ERR_ARG', `${where}: unknown option '${k0}' (known: ` +
        `${[...GEN_KEYS, ...ROUTE_KEYS].join(', ')})`);
    }
  }
  if (typeof gen.stopSequences === 'string') gen.stopSequences = [gen.stopSequences];
  if (gen.jsonSchema !== undefined && typeof gen.jsonSchema === 'object') {
    gen.jsonSchema = JSON.stringify(gen.jsonSchema);
  }
  if (gen.seed !== undefined && typeof gen.seed === 'bigint') {
    if (gen.seed < 0n || gen.seed > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw llmrError('LLMR_ERR_ARG', `seed: ${gen.seed} is out of range: expected 0..2^53-1`);
    }
    gen.seed = Number(gen.seed);
  }
  if (gen.logitBias && typeof gen.logitBias === 'object' && !Array.isArray(gen.logitBias)) {
    gen.logitBias = Object.entries(gen.logitBias).map(([t, b]) => [Number(t), b]);
  }
  if (route.cache === true) route.cache = 1;
  if (route.cache === false) route.cache = -1;
  return [gen, route];
}

// JavaScript strings are UTF-16; a lone surrogate has no UTF-8 form, and converting it would
// silently change the prompt, so it is refused.
function checkText(s, what) {
  if (typeof s !== 'string') {
    throw llmrError('LLMR_ERR_ARG', `${what}: expected a string, got ${s === null ? 'null' : typeof s}`);
  }
  if (typeof s.isWellFormed === 'function' ? !s.isWellFormed() : /[\uD800-\uDFFF]/.test(s)) {
    const m = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.exec(s);
    if (m) {
      throw llmrError('LLMR_ERR_ARG', `${what}: lone surrogate U+${m[0].charCodeAt(0)
        .toString(16).toUpperCase()} at index ${m.index}: not valid Unicode text`);
    }
  }
  if (s.includes('\0')) throw llmrError('LLMR_ERR_ARG', `${what}: contains a NUL character`);
}

class LLMRStream extends EventEmitter {
  constructor(router, prompt, gen, route) {
    super();
    this.router = router;
    this.prompt = prompt;
    this.model = null;
    this.text = '';
    this.usage = null;
    this.finishReason = null;
    this.error = null;
    this._buf = [];          // pieces for the iterator, already emitted as 'token'
    this._held = [];         // pieces that arrived while paused
    this._waiters = [];      // pending next() calls
    this._ended = false;
    this._errorTaken = false;
    this._iterated = false;
    this._closed = false;    // the iterator was returned: pieces are dropped
    this._paused = false;
    this._stopped = false;
    this._result = null;
    this.on('newListener', (name) => {
      if (!this._ended && name !== 'newListener' && name !== 'removeListener') live.add(this);
    });
    native.streamOpen(router._handle, this, dispatch, prompt, gen, route);
    if (router._streams.size >= 1024) {
      for (const ref of router._streams) {
        const s = ref.deref();
        if (!s || s._ended) router._streams.delete(ref);
      }
    }
    router._streams.add(new WeakRef(this));
  }

  _event(kind, text, a, b, c, d, e) {
    switch (kind) {
      case EV_LOGPROBS:   // the tokens behind the next piece
        this._logprobs = JSON.parse(text).map(logprobEntry);
        break;
      case EV_MODEL:
        this.model = text;
        this.emit('model', text);
        break;
      case EV_START:
        this.emit('start', { prompt: this.prompt, model: this.model });
        break;
      case EV_TOKEN: {
        if (this._stopped) break;   // made before the stop reached the worker: dropped
        const info = { index: a, nTokens: b, token: c, elapsed: d, reasoning: e === 1 };
        if (this._logprobs) { info.logprobs = this._logprobs; this._logprobs = null; }
        if (this._paused) this._held.push([text, info]);
        else this._deliver(text, info);
        break;
      }
      case EV_PROGRESS: {
        const eta = a.etaSeconds;
        this.emit('progress', {
          ...a, charactersPerSecond: a.charactersPerSecond,
          estimatedTimeRemaining: eta >= 0 ? Math.round(eta * 1000) : null,
        });
        break;
      }
      case EV_RETRY:
        this.emit('retry', { attempt: a.attempt, delayMs: a.delayMs, code: a.errorCode, message: text });
        break;
      case EV_END:
        this._finish(text, a);
        break;
    }
  }

  _deliver(text, info) {
    this.text += text;
    this.emit('token', text, info);
    if (!this._closed) this._buf.push(text);
    this._settle();
  }

  _finish(text, u) {
    for (const [t, i] of this._held) this._deliver(t, i);
    this._held = [];
    this._ended = true;
    this.finishReason = u.finishReason;
    const { finishReason, code, errorCode, ...usage } = u;
    this.usage = usage;
    if (errorCode) {
      this.error = llmrError(errorCode, text || errorCode);
      if (this.listenerCount('error') > 0) this.emit('error', this.error);
    } else {
      this.emit('complete', {
        text: this.text, fullText: this.text, model: this.model, finishReason,
        tokenCount: usage.generatedTokens, totalTime: Math.round(usage.totalSeconds * 1000), usage,
      });
    }
    this.emit('end');
    this._settle();
    if (this._result) {
      const r = this._result;
      this._result = null;
      if (this.error) r.reject(this.error);
      else r.resolve({ text: this.text, model: this.model, finishReason, usage });
    }
    live.delete(this);
  }

  // Resolves what can be resolved: pieces to waiting next() calls, or the end.
  _settle() {
    while (this._waiters.length) {
      if (this._buf.length && !this._paused) {
        this._waiters.shift().resolve({ value: this._buf.shift(), done: false });
      } else if (this._ended && !this._buf.length) {
        const w = this._waiters.shift();
        if (this.error && !this._errorTaken && !this._closed) {
          this._errorTaken = true;
          w.reject(this.error);
        } else {
          w.resolve({ value: undefined, done: true });
        }
      } else {
        return;
      }
    }
    if (!this._result && (this._ended || this.listenerCount('token') + this.listenerCount('end') +
        this.listenerCount('complete') + this.listenerCount('error') === 0)) {
      live.delete(this);
    }
  }

  [Symbol.asyncIterator]() {
    if (this._iterated) {
      throw llmrError('LLMR_ERR_STATE', 'this stream is already being iterated: a stream ' +
        'gives its tokens once (open another with router.stream())');
    }
    this._iterated = true;
    return this;
  }

  next() {
    return new Promise((resolve, reject) => {
      this._waiters.push({ resolve, reject });
      live.add(this);
      this._settle();
    });
  }

  // Breaking out of `for await` lands here: the stream stops and its slot is freed.
  return(value) {
    this._closed = true;
    this._buf = [];
    if (!this._ended) this.stop();
    for (const w of this._waiters.splice(0)) w.resolve({ value: undefined, done: true });
    return Promise.resolve({ value, done: true });
  }

  throw(err) {
    this.return();
    return Promise.reject(err);
  }

  // Nothing arrives after stop(): the worker generates ahead of the consumer, and the pieces
  // it made before the stop reached it are dropped, not delivered.
  stop() {
    if (!this._ended) {
      this._stopped = true;
      this._buf = [];
      this._held = [];
      native.streamControl(this, 'stop');
    }
    this.resume();
  }

  pause() {
    if (this._ended || this._paused) return;
    this._paused = true;
    native.streamControl(this, 'pause');
  }

  resume() {
    if (!this._paused) return;
    this._paused = false;
    if (!this._ended) native.streamControl(this, 'resume');
    const held = this._held;
    this._held = [];
    for (const [t, i] of held) this._deliver(t, i);
    this._settle();
  }

  get paused() { return this._paused; }
  get ended() { return this._ended; }

  // 'queued', 'running', 'paused' or 'finished'.
  get status() { return this._ended ? 'finished' : native.streamControl(this, 'status'); }

  // The whole reply: { text, model, finishReason, usage }; rejects with the stream's error.
  result() {
    if (this._ended) {
      return this.error ? Promise.reject(this.error) : Promise.resolve({
        text: this.text, model: this.model, finishReason: this.finishReason, usage: this.usage });
    }
    return new Promise((resolve, reject) => {
      this._result = { resolve, reject };
      live.add(this);
    });
  }
}

const UNSUPPORTED_FORMATS = /\.(onnx|safetensors|bin|pt|pth|ckpt|h5|tflite|mlmodel|pb)(\?.*)?$/i;
const LOG_LEVELS = ['silent', 'error', 'warn', 'info', 'debug'];
// Engines of the original JavaScript library (WebGPU, WASM, ONNX ...) do not exist here:
// llmr has one engine, its own CPU engine. preferredEngine is accepted and ignored.
const ENGINES = new Set(['auto', 'cpu', 'llmr', 'gguf']);

function modelEntryKeys(options) {
  const map = { id: 'id', aliases: 'aliases', quality: 'quality', cost: 'cost', speed: 'speed',
    context: 'context', chat: 'chat', json: 'json', sha256: 'sha256', sizeMb: 'size_mb',
    keepAliveS: 'keep_alive_s', threads: 'threads', nCtx: 'n_ctx' };
  const out = {};
  for (const [k, v] of Object.entries(options)) {
    if (v === undefined) continue;
    if (!(k in map)) {
      throw llmrError('LLMR_ERR_ARG', `load(): unknown option '${k}' (known: ${Object.keys(map).join(', ')})`);
    }
    out[map[k]] = v;
  }
  return out;
}

class LLMRouter extends EventEmitter {
  constructor(options = {}) {
    super();
    if (options === null || typeof options !== 'object') {
      throw llmrError('LLMR_ERR_ARG', 'new LLMRouter(options): options must be an object');
    }
    const { logLevel = 'warn', preferredEngine, config, strategy, threads, ctxSize, parallel,
      maxQueued, ...rest } = options;
    if (!LOG_LEVELS.includes(logLevel)) {
      throw llmrError('LLMR_ERR_ARG', `logLevel: '${logLevel}' is not one of ${LOG_LEVELS.join(', ')}`);
    }
    this.logLevel = logLevel;
    if (preferredEngine !== undefined) {
      if (typeof preferredEngine !== 'string') {
        throw llmrError('LLMR_ERR_ARG', 'preferredEngine: expected a string');
      }
      if (!ENGINES.has(preferredEngine)) {
        this._log('warn', `preferredEngine '${preferredEngine}' is ignored: llmr runs GGUF ` +
          'models on its own CPU engine');
      }
    }
    this.preferredEngine = preferredEngine || 'auto';
    if (config !== undefined && typeof config !== 'string' && (typeof config !== 'object' || config === null)) {
      throw llmrError('LLMR_ERR_ARG', 'config: expected a router config object or the path of a JSON file');
    }
    const unknown = Object.keys(rest);
    if (unknown.length) {
      throw llmrError('LLMR_ERR_ARG', `new LLMRouter(): unknown option '${unknown[0]}' ` +
        '(known: logLevel, preferredEngine, config, strategy, threads, ctxSize, parallel, maxQueued)');
    }
    // How local models load (llmr_router_set_model_defaults): compute threads, positions of
    // each batching slot, streams generated at once, streams that may wait for a slot.
    this._modelDefaults = Object.fromEntries(Object.entries({ threads, ctxSize, parallel, maxQueued })
      .filter(([, v]) => v !== undefined));
    this._config = config;
    this._strategy = strategy;
    this._handle = null;
    this._opening = null;
    this._streams = new Set();
    this._models = new Map();  // id -> source, the models load() added
    this._closed = false;
  }

  _log(level, msg) {
    if (LOG_LEVELS.indexOf(level) <= LOG_LEVELS.indexOf(this.logLevel)) {
      console.error(`[llm-runner-router] ${msg}`);
    }
  }

  _applyDefaults(h) {
    if (Object.keys(this._modelDefaults).length) native.routerCall(h, 'defaults', this._modelDefaults);
  }

  _checkOpen() {
    if (this._closed) throw llmrError('LLMR_ERR_STATE', 'the router was cleaned up (cleanup() was called)');
  }

  // Opens the native router from the config given to the constructor (if any).
  async initialize() {
    this._checkOpen();
    if (this._handle || this._opening) return this._opening;
    if (this._config === undefined) return undefined;
    let cfg = this._config;
    let name = 'config';
    if (typeof cfg === 'string') {
      name = cfg;
      cfg = JSON.parse(await fs.promises.readFile(cfg, 'utf8'));
    }
    if (this._strategy && !cfg.strategy) cfg = { ...cfg, strategy: this._strategy };
    this._opening = native.routerOpen(JSON.stringify(cfg), name).then((h) => {
      this._applyDefaults(h);
      this._handle = h;
      for (const m of cfg.models || []) this._models.set(m.id, m.source || m.backend);
    });
    try {
      await this._opening;
    } finally {
      this._opening = null;
    }
    return undefined;
  }

  // Loads a GGUF model: a path, an http(s) URL or hf:ORG/REPO/FILE.gguf. Resolves to
  // { id, source } once it is in memory; the id names it in stream({ model }).
  async load(source, options = {}) {
    this._checkOpen();
    if (typeof source !== 'string' || !source) {
      throw llmrError('LLMR_ERR_ARG', 'load(source): expected a path, URL or hf: reference');
    }
    checkText(source, 'load(source)');
    if (options === null || typeof options !== 'object') {
      throw llmrError('LLMR_ERR_ARG', 'load(source, options): options must be an object');
    }
    if (UNSUPPORTED_FORMATS.test(source)) {
      throw llmrError('LLMR_ERR_UNSUPPORTED', `${source}: this format is not supported: llmr ` +
        'runs GGUF models (a .gguf file, an http(s) URL of one, or hf:ORG/REPO/FILE.gguf)');
    }
    await this.initialize();
    while (this._opening) await this._opening.catch(() => {});
    const remote = /^(https?:|hf:)/i.test(source);
    const src = remote ? source : path.resolve(source);
    const entry = modelEntryKeys(options);
    let id = entry.id;
    if (!id) {
      for (const [k, v] of this._models) if (v === src) id = k;
    }
    if (!id) {
      const base = path.basename(src.replace(/[?#].*$/, '')).replace(/\.gguf$/i, '')
        .replace(/[^A-Za-z0-9._:-]/g, '_').slice(0, 100) || 'model';
      id = base;
      for (let n = 2; this._models.has(id); n++) id = `${base}-${n}`;
    }
    const known = this._models.get(id) === src;
    entry.id = id;
    entry.source = src;
    if (!known) {
      if (this._handle) {
        native.routerCall(this._handle, 'add', JSON.stringify(entry));
      } else {
        const cfg = { models: [entry] };
        if (this._strategy) cfg.strategy = this._strategy;
        this._opening = native.routerOpen(JSON.stringify(cfg), 'LLMRouter');
        try {
          const h = await this._opening;
          this._applyDefaults(h);
          this._handle = h;
        } finally {
          this._opening = null;
        }
      }
      this._models.set(id, src);
    }
    this._log('info', `loading ${id} from ${src}`);
    try {
      await native.routerLoad(this._handle, id);
    } catch (e) {
      if (!known) {
        try { native.routerCall(this._handle, 'remove', id); } catch { /* in use: leave it */ }
        this._models.delete(id);
      }
      throw e;
    }
    this._log('info', `loaded ${id}`);
    return { id, source: src };
  }

  async unload(id) {
    this._checkOpen();
    if (!this._handle) throw llmrError('LLMR_ERR_NOT_FOUND', `no model '${id}'`);
    native.routerCall(this._handle, 'unload', String(id));
  }

  // Every model with its state, as the router reports it (llmr_router_status_json).
  status() {
    if (!this._handle) return { models: [] };
    return JSON.parse(native.routerCall(this._handle, 'status'));
  }

  get models() { return this.status().models; }

  // Streams a completion: an async iterator of text pieces, with stop(), pause(), resume()
  // and events (start, token, progress, complete, error, end).
  stream(prompt, options = {}) {
    this._checkOpen();
    checkText(prompt, 'stream(prompt)');
    const [gen, route] = splitOptions(options, 'stream()');
    return this._open(prompt, gen, route);
  }

  _open(prompt, gen, route) {
    if (!this._handle || this._models.size === 0) {
      throw llmrError('LLMR_ERR_STATE', 'no model is loaded: call `await router.load(source)` ' +
        '(or give the constructor a config) before stream()');
    }
    return new LLMRStream(this, prompt, gen, route);
  }

  // The whole completion: { text, model, finishReason, usage }.
  async generate(prompt, options = {}) {
    return this.stream(prompt, options).result();
  }

  // Just the text.
  async quick(prompt, options = {}) {
    return (await this.generate(prompt, options)).text;
  }

  // A conversation, rendered with the serving model's chat template. Returns a stream, as
  // stream() does; `await router.chat(...).result()` gives the whole reply.
  chat(messages, options = {}) {
    this._checkOpen();
    if (!Array.isArray(messages) || messages.length === 0) {
      throw llmrError('LLMR_ERR_ARG', 'chat(messages): expected a non-empty array of { role, content }');
    }
    messages.forEach((m, i) => {
      if (!m || typeof m !== 'object' || typeof m.role !== 'string' || !m.role) {
        throw llmrError('LLMR_ERR_ARG', `chat(messages): messages[${i}].role: expected a string`);
      }
      checkText(m.role, `messages[${i}].role`);
      if (m.content !== undefined && m.content !== null) checkText(m.content, `messages[${i}].content`);
    });
    const [gen, route] = splitOptions(options, 'chat()');
    return this._open(messages.map((m) => ({ role: m.role, content: m.content ?? null })), gen, route);
  }

  // Stops every stream, waits for them to end, and frees the models.
  async cleanup() {
    if (this._closed) return;
    this._closed = true;
    while (this._opening) await this._opening.catch(() => {});
    const ends = [];
    for (const ref of this._streams) {
      const s = ref.deref();
      if (s && !s._ended) {
        ends.push(new Promise((resolve) => s.once('end', resolve)));
        s.stop();
      }
    }
    this._streams.clear();
    await Promise.all(ends);
    if (this._handle) {
      const h = this._handle;
      this._handle = null;
      await native.routerClose(h);
    }
  }
}

LLMRouter.LLMRouter = LLMRouter;
LLMRouter.LLMRStream = LLMRStream;
LLMRouter.default = LLMRouter;
LLMRouter.version = native.version();

module.exports = LLMRouter;
