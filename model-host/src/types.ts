// The engine's public shapes, shared by the model host, its worker, the CLI and the language server.

/** Knobs of the block sampler. Every field is a user setting or derived from one. */
export interface SamplerOptions {
  /** Denoising steps for the whole canvas, spread evenly over its blocks (LLaDA's `steps`). */
  steps: number;
  /** Tokens per semi-autoregressive block (LLaDA's `block_length`). */
  blockLength: number;
  /** 0 = greedy (argmax); above 0 samples from softmax(logits / temperature). */
  temperature: number;
  /** Confidence-threshold parallel decoding: commit every masked position whose confidence exceeds it
   *  (at least one per step). 0 or undefined = off, i.e. exactly steps-per-block commits per block. */
  threshold?: number;
  /** Dual cache: one full pass per block, then block-only passes against cached K/V. */
  dualCache: boolean;
  /** Which predictions to keep each step (LLaDA's `remasking`). */
  remasking: 'low_confidence' | 'random';
  /** The first this-many canvas tokens may not be <|pad|> (default 1): an empty completion is useless. */
  minTokens?: number;
  /** The completion continues the cursor's line: its first token may not begin a new line. */
  singleLine?: boolean;
  /** Seed for temperature sampling and random remasking; same seed, same output. */
  seed?: number;
}

export interface InfillRequest {
  prefix: string;
  suffix: string;
  /** One candidate per canvas length (in tokens); candidates are ranked by confidence. */
  canvasLengths: number[];
  sampler: SamplerOptions;
  /** Token budgets; the host keeps the end of the prefix and the start of the suffix. */
  maxPrefixTokens?: number;
  maxSuffixTokens?: number;
}

export interface InfillCandidate {
  /** The canvas decoded up to its first <|pad|>, special tokens removed. */
  text: string;
  /** Mean log-probability of the committed (non-pad) tokens; higher is better. */
  confidence: number;
  canvasLength: number;
  /** Tokens before the first <|pad|>. */
  tokens: number;
  /** Denoising steps this candidate took part in (each one a pass of the batch). */
  steps: number;
}

export interface InfillTimings {
  tokenizeMs: number;
  sampleMs: number;
  totalMs: number;
}

export interface InfillResult {
  /** Sorted by confidence, best first. */
  candidates: InfillCandidate[];
  timings: InfillTimings;
  /** Model forward passes for the whole request (candidates share them: they run as one batch). */
  forwards: number;
  prefixTokens: number;
  suffixTokens: number;
}

export type ExecutionProviderSetting = 'auto' | 'cpu' | 'webgpu' | 'cuda' | 'dml' | 'coreml';

export interface ModelInfo {
  name: string;
  path: string;
  parameters: number;
  /** The execution provider actually in use, e.g. 'cpu'. */
  provider: string;
  /** Why other providers were not used (for logs). */
  providerNotes: string[];
  loadMs: number;
}

export interface EngineOptions {
  modelDir: string;
  provider: ExecutionProviderSetting;
  /** CPU threads for onnxruntime; 0 = its default. */
  threads?: number;
}

/** What the language server and CLI talk to: in-process or behind a worker thread. */
export interface InfillEngine {
  load(): Promise<ModelInfo>;
  infill(request: InfillRequest, signal?: AbortSignal): Promise<InfillResult>;
  dispose(): Promise<void>;
}
