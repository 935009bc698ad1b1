// Type declarations of llm-runner-router (the LLMRouter API on libllmr).
import { EventEmitter } from 'node:events';

/** Error codes: libllmr's result codes by name, plus LLMR_ERR_ADDON (addon not built). */
export type LLMRErrorCode =
  | 'LLMR_ERR' | 'LLMR_ERR_NOMEM' | 'LLMR_ERR_IO' | 'LLMR_ERR_FORMAT' | 'LLMR_ERR_UNSUPPORTED'
  | 'LLMR_ERR_ARG' | 'LLMR_ERR_CONTEXT' | 'LLMR_ERR_STATE' | 'LLMR_ERR_CANCELLED'
  | 'LLMR_ERR_TEMPLATE' | 'LLMR_ERR_NETWORK' | 'LLMR_ERR_BUSY' | 'LLMR_ERR_NOT_FOUND'
  | 'LLMR_ERR_TOO_BIG' | 'LLMR_ERR_ADDON';

/** Every error the package throws or rejects with is an Error with one of these codes. */
export interface LLMRError extends Error {
  code: LLMRErrorCode;
}

export type Strategy =
  | 'quality-first' | 'cost-optimized' | 'speed-priority' | 'balanced' | 'round-robin'
  | 'least-loaded' | 'capability-match' | 'random';

export interface RouterOptions {
  /** 'silent' | 'error' | 'warn' (default) | 'info' | 'debug': what the package logs on stderr. */
  logLevel?: 'silent' | 'error' | 'warn' | 'info' | 'debug';
  /** Accepted for compatibility and ignored: llmr runs GGUF models on its own CPU engine. */
  preferredEngine?: string;
  /** A router config (the format of `llmr serve --config`: models, backends, strategy, ...),
   * as an object or the path of a JSON file; opened by initialize(). */
  config?: string | Record<string, unknown>;
  /** The default strategy. */
  strategy?: Strategy;
  /** Compute threads of local models (0: the physical cores). */
  threads?: number;
  /** KV positions of each batching slot (0: the model's training context, at most 4096). */
  ctxSize?: number;
  /** Streams each local model generates at once, batched (1..64; default 4). */
  parallel?: number;
  /** Streams that may wait for a slot (0: no limit; -1: none may wait). */
  maxQueued?: number;
}

export interface LoadOptions {
  /** The model's id (default: the file name without .gguf). */
  id?: string;
  aliases?: string[];
  quality?: number;
  cost?: number;
  speed?: number;
  context?: number;
  chat?: boolean;
  json?: boolean;
  sha256?: string;
  sizeMb?: number;
  keepAliveS?: number;
  threads?: number;
  nCtx?: number;
}

export interface ModelInfo {
  id: string;
  source: string;
}

/** Options of one request: llmr_gen_opts in camelCase, and how it is routed. */
export interface StreamOptions {
  /** Tokens to generate at most, 1..1048576, or 0: until the context is full (default 256). */
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
  minKeep?: number;
  /** 0..2^53-1; the same seed and settings give the same text. Default: random. */
  seed?: number | bigint;
  /** Stop sequences (at most 16); never part of the text. */
  stopSequences?: string[] | string;
  stop?: string[] | string;
  /** {tokenId: bias} or [tokenId, bias] pairs; -Infinity bans a token. */
  logitBias?: Record<number, number> | Array<[number, number]>;
  /** A GBNF grammar (start rule `root`). */
  grammar?: string;
  /** A JSON schema the output must match. */
  jsonSchema?: string | Record<string, unknown>;
  /** Any JSON object. */
  jsonObject?: boolean;
  addBos?: boolean;
  parseSpecial?: boolean;
  ignoreEos?: boolean;
  noCache?: boolean;
  /** A reasoning model's <think> ... </think> comes as pieces whose TokenInfo.reasoning is
   * true, without the tags. */
  splitReasoning?: boolean;
  /** Each piece's TokenInfo.logprobs: the log-probabilities of its tokens (local models). */
  logprobs?: boolean;
  /** With logprobs: this many most likely alternatives per token, 0..20. */
  topLogprobs?: number;
  /** 'progress' events every this many tokens (default 10; 0: none). */
  progressEvery?: number;
  maxRetries?: number;
  retryDelayMs?: number;
  backoff?: number;
  /** A model id or alias. */
  model?: string;
  /** With `model`: that model only, no failover. */
  strict?: boolean;
  strategy?: Strategy;
  /** The request needs JSON mode. */
  json?: boolean;
  minContext?: number;
  /** Result cache: true / 1 on, false / -1 off, 0 the router's rule. */
  cache?: boolean | -1 | 0 | 1;
}

export interface Usage {
  promptTokens: number;
  cachedTokens: number;
  generatedTokens: number;
  pieces: number;
  textBytes: number;
  promptSeconds: number;
  genSeconds: number;
  ttftSeconds: number;
  totalSeconds: number;
  promptTokensPerSecond: number;
  tokensPerSecond: number;
  attempts: number;
}

export type FinishReason = 'stop' | 'length' | 'cancelled' | 'error' | 'none';

export interface Result {
  text: string;
  model: string | null;
  finishReason: FinishReason;
  usage: Usage;
}

export interface TokenLogprob {
  token: number;
  /** The log-softmax of the model's raw logits at its position, <= 0. */
  logprob: number;
  /** The token's output bytes (a byte token may be part of a UTF-8 character). */
  bytes: number[];
  text: string;
  /** The most likely tokens at that position (topLogprobs of them), most likely first. */
  top?: TokenLogprob[];
}

export interface TokenInfo {
  index: number;
  nTokens: number;
  token: number;
  /** Seconds since the stream opened. */
  elapsed: number;
  /** With splitReasoning: the piece is the model's reasoning, not its answer. */
  reasoning: boolean;
  /** With logprobs: the tokens behind this piece. */
  logprobs?: TokenLogprob[];
}

export interface Progress {
  tokens: number;
  maxTokens: number;
  elapsed: number;
  tokensPerSecond: number;
  charactersPerSecond: number;
  etaSeconds: number;
  /** Milliseconds, or null when unknown. */
  estimatedTimeRemaining: number | null;
}

export interface Complete extends Result {
  fullText: string;
  tokenCount: number;
  totalTime: number;
}

/** A request in flight: an async iterator of text pieces (once), with controls and events. */
export declare class LLMRStream extends EventEmitter implements AsyncIterableIterator<string> {
  readonly router: LLMRouter;
  readonly prompt: string;
  /** The model serving it (known from its first event). */
  model: string | null;
  /** Everything delivered so far. */
  text: string;
  usage: Usage | null;
  finishReason: FinishReason | null;
  error: LLMRError | null;
  readonly paused: boolean;
  readonly ended: boolean;
  /** 'queued' | 'running' | 'paused' | 'finished' */
  readonly status: 'queued' | 'running' | 'paused' | 'finished';
  [Symbol.asyncIterator](): this;
  next(): Promise<IteratorResult<string, undefined>>;
  return(value?: unknown): Promise<IteratorResult<string, undefined>>;
  throw(err?: unknown): Promise<IteratorResult<string, undefined>>;
  /** Ends the stream (finish reason 'cancelled'; no piece arrives after it); frees its slot. */
  stop(): void;
  /** Holds generation: no piece arrives until resume(). */
  pause(): void;
  resume(): void;
  /** The whole reply once it ends; rejects with the stream's error. */
  result(): Promise<Result>;

  on(event: 'model', listener: (id: string) => void): this;
  on(event: 'start', listener: (e: { prompt: string; model: string | null }) => void): this;
  on(event: 'token', listener: (text: string, info: TokenInfo) => void): this;
  on(event: 'progress', listener: (p: Progress) => void): this;
  on(event: 'retry', listener: (e: { attempt: number; delayMs: number; code: string; message: string }) => void): this;
  on(event: 'complete', listener: (c: Complete) => void): this;
  on(event: 'error', listener: (e: LLMRError) => void): this;
  on(event: 'end', listener: () => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

export interface ChatMessage {
  role: string;
  content?: string | null;
}

export declare class LLMRouter extends EventEmitter {
  constructor(options?: RouterOptions);
  readonly logLevel: string;
  readonly preferredEngine: string;
  /** Opens the router of options.config, if given. */
  initialize(): Promise<void>;
  /** Loads a GGUF model: a path, an http(s) URL of one, or hf:ORG/REPO/FILE.gguf. */
  load(source: string, options?: LoadOptions): Promise<ModelInfo>;
  unload(id: string): Promise<void>;
  /** The router's models and their state. */
  status(): { models: Array<Record<string, unknown>>; [k: string]: unknown };
  readonly models: Array<Record<string, unknown>>;
  stream(prompt: string, options?: StreamOptions): LLMRStream;
  generate(prompt: string, options?: StreamOptions): Promise<Result>;
  quick(prompt: string, options?: StreamOptions): Promise<string>;
  /** A conversation in the serving model's chat template; a stream like stream()'s. */
  chat(messages: ChatMessage[], options?: StreamOptions): LLMRStream;
  /** Stops every stream, waits for them, frees the models. */
  cleanup(): Promise<void>;

  static readonly LLMRouter: typeof LLMRouter;
  static readonly LLMRStream: typeof LLMRStream;
  /** libllmr's version. */
  static readonly version: string;
}

export declare const version: string;
export default LLMRouter;
