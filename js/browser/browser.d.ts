// Type declarations of llm-runner-router/dist/browser.js: the LLMRouter API in a web page,
// on libllmr compiled to WebAssembly in a Web Worker. No Node.js types: a page has none.

/** Error codes: libllmr's result codes by name. */
export type LLMRErrorCode =
  | 'LLMR_ERR' | 'LLMR_ERR_NOMEM' | 'LLMR_ERR_IO' | 'LLMR_ERR_FORMAT' | 'LLMR_ERR_UNSUPPORTED'
  | 'LLMR_ERR_ARG' | 'LLMR_ERR_CONTEXT' | 'LLMR_ERR_STATE' | 'LLMR_ERR_CANCELLED'
  | 'LLMR_ERR_TEMPLATE' | 'LLMR_ERR_NETWORK' | 'LLMR_ERR_BUSY' | 'LLMR_ERR_NOT_FOUND'
  | 'LLMR_ERR_TOO_BIG' | 'LLMR_ERR_DENIED';

/** Every error the package throws or rejects with is an Error with one of these codes. */
export interface LLMRError extends Error {
  code: LLMRErrorCode;
}

export interface BrowserRouterOptions {
  /** What the package logs on the console (default 'warn'). */
  logLevel?: 'silent' | 'error' | 'warn' | 'info' | 'debug';
  /** 'webgpu' falls back to WebAssembly with a logged notice (llmr has no WebGPU engine). */
  preferredEngine?: 'auto' | 'wasm' | 'webgpu';
  /** Compute threads, 1..64. Default: navigator.hardwareConcurrency (at most 8) on a
   * cross-origin isolated page, else 1; more than 1 runs the threads build, which needs an
   * isolated page (COOP same-origin, COEP require-corp; `llmr serve` sends them). */
  threads?: number;
  /** The worker script's URL (default: llmr-worker.js beside browser.js). */
  workerUrl?: string;
}

/** What initialize() resolves to, and the 'initialized' event carries. */
export interface EngineInfo {
  /** libllmr's version. */
  version: string;
  /** Compute threads the engine was started for. */
  threads: number;
  /** 'threads' (the pthreads build) or 'single'. */
  build: 'threads' | 'single';
  /** Whether the worker is cross-origin isolated (SharedArrayBuffer available). */
  isolated: boolean;
  simd: boolean;
}

export interface BrowserLoadOptions {
  /** The model's name in logs and in stream.model (default: the URL or the File's name). */
  name?: string;
  /** KV positions (0: the model's default). */
  nCtx?: number;
  onProgress?: (p: LoadProgress) => void;
}

export interface LoadProgress {
  loaded: number;
  /** null when the server sent no length. */
  total: number | null;
  percent: number | null;
}

/** What load() resolves to, and the 'loaded' event carries. */
export interface LoadedModel {
  name: string;
  /** The file's bytes. */
  size: number;
  /** Compute threads the model runs (at most the cores the browser reports). */
  threads: number;
  build: 'threads' | 'single';
}

/** Options of one request: llmr_gen_opts in camelCase. */
export interface BrowserStreamOptions {
  /** Tokens to generate at most, or 0: until the context is full (default 256). */
  maxTokens?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  typicalP?: number;
  repeatPenalty?: number;
  repetitionPenalty?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  penaltyLastN?: number;
  seed?: number;
  addBos?: boolean;
  parseSpecial?: boolean;
  ignoreEos?: boolean;
  jsonObject?: boolean;
  grammar?: string;
  jsonSchema?: string | Record<string, unknown>;
  stopSequences?: string[] | string;
  stop?: string[] | string;
  /** A 'progress' event every this many pieces (default 10; 0: none). */
  progressEvery?: number;
}

export interface Usage {
  finishReason: 'stop' | 'length' | 'cancelled' | 'error' | string;
  pieces: number;
  promptTokens: number;
  generatedTokens: number;
  totalSeconds: number;
  tokensPerSecond: number;
  [key: string]: unknown;
}

export interface StreamResult {
  text: string;
  model: string | null;
  finishReason: string | null;
  usage: Usage | null;
}

export interface TokenInfo {
  index: number;
  /** Seconds since the stream was opened. */
  elapsed: number;
}

export interface StreamProgress {
  tokens: number;
  elapsed: number;
  tokensPerSecond: number;
  charactersPerSecond: number;
  /** Milliseconds, or null when maxTokens is 0. */
  estimatedTimeRemaining: number | null;
}

export interface CompleteEvent {
  text: string;
  fullText: string;
  model: string | null;
  finishReason: string | null;
  tokenCount: number;
  /** Milliseconds. */
  totalTime: number;
  usage: Usage;
}

/** The EventEmitter methods of Node's, without Node. */
export declare class Emitter {
  on(name: string, fn: (...args: any[]) => void): this;
  addListener(name: string, fn: (...args: any[]) => void): this;
  once(name: string, fn: (...args: any[]) => void): this;
  off(name: string, fn: (...args: any[]) => void): this;
  removeListener(name: string, fn: (...args: any[]) => void): this;
  removeAllListeners(name?: string): this;
  listenerCount(name: string): number;
  emit(name: string, ...args: any[]): boolean;
}

/** A stream of text pieces: an async iterator (read once) with controls and events
 * (start, token, progress, complete, error, end). */
export declare class LLMRStream extends Emitter implements AsyncIterable<string> {
  readonly router: LLMRouter;
  readonly prompt: string;
  model: string | null;
  text: string;
  usage: Usage | null;
  finishReason: string | null;
  error: LLMRError | null;
  readonly paused: boolean;
  readonly ended: boolean;
  [Symbol.asyncIterator](): AsyncIterator<string>;
  /** Ends generation; pieces already on their way are dropped. Idempotent. */
  stop(): void;
  /** No piece is generated while paused. */
  pause(): void;
  resume(): void;
  /** The whole reply. */
  result(): Promise<StreamResult>;
  on(name: 'start', fn: (e: { prompt: string; model: string }) => void): this;
  on(name: 'token', fn: (text: string, info: TokenInfo) => void): this;
  on(name: 'progress', fn: (p: StreamProgress) => void): this;
  on(name: 'complete', fn: (e: CompleteEvent) => void): this;
  on(name: 'error', fn: (e: LLMRError) => void): this;
  on(name: 'end', fn: () => void): this;
  on(name: string, fn: (...args: any[]) => void): this;
}

export declare class LLMRouter extends Emitter {
  constructor(options?: BrowserRouterOptions);
  readonly options: BrowserRouterOptions;
  /** The loaded model's name, null when none. */
  model: string | null;
  engine: 'wasm';
  /** Compute threads, once initialized (then the loaded model's). */
  threads: number | null;
  build: 'threads' | 'single' | null;
  workerUrl: string;
  /** Starts the worker and the WebAssembly engine. Idempotent. */
  initialize(): Promise<EngineInfo>;
  /** Loads a GGUF model: a URL (relative to the page), a File, a Blob or an ArrayBuffer /
   * typed array. A load that fails leaves the model loaded before. */
  load(source: string | Blob | ArrayBuffer | ArrayBufferView, options?: BrowserLoadOptions): Promise<LoadedModel>;
  unload(): Promise<void>;
  stream(prompt: string, options?: BrowserStreamOptions): LLMRStream;
  /** A conversation through the model's chat template, streamed. */
  chat(messages: { role: string; content: string }[], options?: BrowserStreamOptions): LLMRStream;
  generate(prompt: string, options?: BrowserStreamOptions): Promise<StreamResult>;
  quick(prompt: string, options?: BrowserStreamOptions): Promise<string>;
  /** Stops every stream and ends the worker. */
  cleanup(): Promise<void>;
  on(name: 'initialized', fn: (info: EngineInfo) => void): this;
  on(name: 'loaded', fn: (info: LoadedModel) => void): this;
  on(name: 'progress', fn: (p: LoadProgress) => void): this;
  on(name: 'error', fn: (e: LLMRError) => void): this;
  on(name: string, fn: (...args: any[]) => void): this;
}

export default LLMRouter;
