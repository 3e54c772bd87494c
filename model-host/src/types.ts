// The engine's public shapes, shared by the model host, its worker, the CLI and the language server.

import type { DEVICES } from './settings/engine-settings';

/** Knobs of the block sampler. Every field is a user setting or derived from one. */
export interface SamplerOptions {
  /** Denoising steps (passes) per block; blockLength or more commits one token per pass. */
  steps: number;
  /** Tokens per semi-autoregressive block (LLaDA's `block_length`). */
  blockLength: number;
  /** 0 = greedy (argmax); above 0 samples from softmax(logits / temperature). */
  temperature: number;
  /** The first this-many canvas tokens may not be <|pad|> (default 1): an empty completion is useless. */
  minTokens?: number;
  /** The completion continues the cursor's line: its first token may not begin a new line, and a
   *  token with a line break ends it (the text is cut at the break). */
  singleLine?: boolean;
  /** Seed for temperature sampling; same seed, same output. */
  seed?: number;
  /** Nats added to the tokens that spell more of one of the request's `names` (decoding/names.ts); 0 or unset: none. */
  nameBias?: number;
}

export interface InfillRequest {
  prefix: string;
  suffix: string;
  /** The longest completion, in tokens (the model ends it earlier by writing <|pad|>). */
  canvasLength: number;
  /** Completions to write (default 1), each opening with a different first token; ranked by confidence. */
  candidates?: number;
  sampler: SamplerOptions;
  /** Token budgets, required: the callers pass the settings' maxPrefixTokens/maxSuffixTokens
   *  (language-server/src/protocol.ts), the one home of their values. The host keeps the end of
   *  the prefix (cut at its start in coarse line steps, see prompt.ts) and the start of the suffix. */
  maxPrefixTokens: number;
  maxSuffixTokens: number;
  /** Whose context this is (the language server sends the document URI): the engine keeps the
   *  context's keys and values per document and computes only what changed since the last
   *  request. Requests without one share an anonymous slot. */
  document?: string;
  /** false: compute the whole context afresh and keep nothing (default true). */
  reuseContext?: boolean;
  /** Answer within about this many milliseconds of the request starting to run (one pass more at
   *  most): each completion is then the part decided from its start, marked `truncated`, and the
   *  caller may ask again with it typed to get the rest. Unset: no limit. */
  timeBudgetMs?: number;
  /** Code from other files of the workspace (the language server's context sources), placed before
   *  `<|suffix|>` as plain text; it should change rarely, since the context cache reuses only the
   *  ids shared with the previous request from the start. Cut to `maxExtraTokens` keeping its end. */
  extraContext?: string;
  maxExtraTokens?: number;
  /** Use extraContext only when the document's cached context already starts with it (a prefill
   *  or an earlier request computed it); else leave it out, so that a cold request costs what it
   *  costs without it (the result says `extraSkipped`, and a prefill can warm it for the next). */
  extraContextWhenWarm?: boolean;
  /** Identifiers other files of the workspace define (the language server's context sources):
   *  the sampler favours spelling them by `sampler.nameBias`. They need no context pass, so they
   *  count even when a cold request leaves extraContext out. */
  names?: string[];
  /** Per name the file binds to a whole workspace module, the names that module defines: after
   *  `name.` the sampler favours those (by the same `sampler.nameBias`). */
  members?: Record<string, string[]>;
}

export interface InfillCandidate {
  /** The canvas decoded up to its first <|pad|>, special tokens removed. */
  text: string;
  /** Mean log-probability of the committed (non-pad) tokens; higher is better. */
  confidence: number;
  canvasLength: number;
  /** Tokens before the first <|pad|>. */
  tokens: number;
  /** Denoising steps this candidate committed tokens in. */
  steps: number;
  /** Cut by the request's time budget: the text is the decided start of a longer completion. */
  truncated: boolean;
}

export interface InfillTimings {
  tokenizeMs: number;
  /** Everything after tokenizing: the context pass, the canvas passes, the sampler's own work. */
  sampleMs: number;
  totalMs: number;
  /** Of totalMs, time inside the model's passes (onnxruntime); the rest is tokenizer, sampler, copies. */
  modelMs: number;
  /** The context pass (with the cache's copies). */
  contextMs: number;
}

/** How much of the context this request computed (the per-request breakdown the trace and benches read). */
export interface ContextReport {
  /** Context tokens, sentinels included. */
  tokens: number;
  /** Computed by this request's context pass (0 when the document's cache had them all). */
  computed: number;
  /** Taken from the cache. */
  reused: number;
}

export interface InfillResult {
  /** Sorted by confidence, best first. */
  candidates: InfillCandidate[];
  /** The provider the request's last pass ran on: 'cpu' after a GPU failed mid-session (the
   *  failed pass ran again on the CPU), and why. */
  device?: { provider: string; reason: string; notes: string[] };
  timings: InfillTimings;
  /** Model forward passes for the whole request: the context pass (if any) and the block passes
   *  (candidates share them: they run as one batch). */
  forwards: number;
  canvasPasses: number;
  context: ContextReport;
  prefixTokens: number;
  suffixTokens: number;
  /** Tokens of the request's extraContext in the context (0 without one). */
  extraTokens?: number;
  /** The request's extraContext was left out because it was not warm (extraContextWhenWarm). */
  extraSkipped?: boolean;
}

export type ExecutionProviderSetting = (typeof DEVICES)[number];

export interface ModelInfo {
  name: string;
  path: string;
  parameters: number;
  /** The longest sequence (context + canvas) the model takes: model.json's window, capped. */
  window: number;
  /** The execution provider actually in use, e.g. 'cpu'. */
  provider: string;
  /** Why other providers were not used (for logs). */
  providerNotes: string[];
  /** Why the provider in use was chosen, e.g. `auto`'s probe times (status bar tooltip, logs). */
  deviceReason: string;
  loadMs: number;
}

export interface EngineOptions {
  modelDir: string;
  provider: ExecutionProviderSetting;
  /** CPU threads for onnxruntime; 0 = its default. */
  threads?: number;
  /** onnxruntime's CPU memory arena (default on). The model worker turns it off and tunes the C
   *  allocator instead (worker-engine.ts). */
  cpuArena?: boolean;
}

/** What the language server and CLI talk to: in-process (LocalEngine) or in a child process (WorkerEngine). */
export interface InfillEngine {
  load(): Promise<ModelInfo>;
  infill(request: InfillRequest, signal?: AbortSignal): Promise<InfillResult>;
  /** Caches the request's context (K/V) for its document without sampling; the next infill there
   *  computes only what changed since. Optional: an engine without it is simply never warmed. */
  prefill?(request: InfillRequest, signal?: AbortSignal): Promise<ContextReport>;
  /** Drops a document's cached context (it was closed): its K/V is tens of MB with a 100M-class model. */
  forget?(document: string): void;
  dispose(): Promise<void>;
}
