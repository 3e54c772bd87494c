// The in-process engine: model.json + tokenizer + ONNX session, and one infill request end to end
// (the context's ids within budgets, the context pass reusing the document's cached K/V, one
// batched sampler run for all candidate canvases, decoding, ranking).

import * as fs from 'node:fs';
import { ContextCache } from './decoding/context-cache';
import { CancelledError, errorText, ModelLoadError } from './errors';
import { loadManifest, windowTokens, type ModelFiles } from './model/manifest';
import { mean } from './decoding/logits';
import { NameBias } from './decoding/names';
import { buildContext, type PromptIds } from './decoding/prompt';
import { sample, type SampleResult } from './decoding/sampler';
import { ModelSession } from './model/session';
import { SharedLoad } from './model/shared-load';
import { CodeTokenizer } from './model/tokenizer';
import type { ContextReport, EngineOptions, InfillCandidate, InfillEngine, InfillRequest, InfillResult, ModelInfo } from './types';

/** The context's end kept as text for the names' bias: longer than any name it completes. */
const MAX_WORD_CHARS = 128;

export class LocalEngine implements InfillEngine {
  private files: ModelFiles | undefined;
  private tokenizer: CodeTokenizer | undefined;
  private session: ModelSession | undefined;
  private info: ModelInfo | undefined;
  private contexts: ContextCache | undefined;
  private lastNames: { key: string; bias: NameBias } | undefined;
  private readonly loading = new SharedLoad(() => this.open());
  /** Requests run one at a time: a session runs one pass at a time anyway. */
  private queue: Promise<unknown> = Promise.resolve();
  /** The documents of the requests waiting in the queue, in turn order (the context cache keeps
   *  the contexts they will need: context-cache.ts). */
  private readonly waiting: Array<{ document: string }> = [];

  constructor(private readonly options: EngineOptions) {}

  /** Loads once; concurrent calls share the load, and a failed load may be retried. */
  load(): Promise<ModelInfo> {
    return this.loading.get();
  }

  private async open(): Promise<ModelInfo> {
    const t0 = performance.now();
    const files = loadManifest(this.options.modelDir);
    let tokenizerJson: object;
    try {
      tokenizerJson = JSON.parse(fs.readFileSync(files.tokenizerPath, 'utf8'));
    } catch (error) {
      throw new ModelLoadError(`${files.tokenizerPath} is not valid JSON: ${errorText(error)}`, files.tokenizerPath);
    }
    let tokenizer: CodeTokenizer;
    try {
      tokenizer = new CodeTokenizer(tokenizerJson, files.manifest.special_tokens);
    } catch (error) {
      throw new ModelLoadError(`${files.tokenizerPath} is not a tokenizer this host can load: ${errorText(error)}`, files.tokenizerPath);
    }
    const session = await ModelSession.open(files, this.options.provider, this.options.threads ?? 0, this.options.cpuArena ?? true);
    this.files = files;
    this.tokenizer = tokenizer;
    this.lastNames = undefined;
    this.session = session;
    const m = files.manifest;
    this.contexts = new ContextCache({ layers: m.n_layer, kvHeads: m.n_kv_head, headDim: m.head_dim }, undefined,
      () => this.waiting.map((w) => w.document));
    this.info = {
      name: files.manifest.name,
      path: files.dir,
      parameters: files.manifest.parameters,
      window: windowTokens(files.manifest),
      provider: session.provider,
      providerNotes: session.notes,
      deviceReason: session.reason,
      loadMs: performance.now() - t0,
    };
    return this.info;
  }

  infill(request: InfillRequest, signal?: AbortSignal): Promise<InfillResult> {
    return this.enqueue(request, signal, () => this.run(request, signal));
  }

  /** Runs `work` after the requests before it; while it waits its document counts as upcoming. */
  private enqueue<T>(request: InfillRequest, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    const place = { document: request.document ?? '' };
    this.waiting.push(place);
    const leave = () => {
      const i = this.waiting.indexOf(place);
      if (i !== -1) this.waiting.splice(i, 1);
    };
    // A request cancelled while it waits will not need its context.
    signal?.addEventListener('abort', leave, { once: true });
    const run = this.queue.then(() => {
      leave();
      signal?.removeEventListener('abort', leave);
      return work();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  forget(document: string): void {
    this.contexts?.forget(document);
  }

  /** Grows with every forward pass finished (the session's model time): the worker reports that
   *  passes are being finished, and the parent's watchdog bounds the time between them. */
  get progress(): number {
    return this.session?.modelMs ?? 0;
  }

  /** The loaded model's vocabulary size (the worker's load-time probe checks its output against it). */
  get vocabSize(): number | undefined {
    return this.files?.manifest.vocab_size;
  }

  /** The per-document context cache (tests and benches look at what it holds). */
  get contextCache(): ContextCache | undefined {
    return this.contexts;
  }

  async dispose(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    this.contexts?.clear();
    this.info = undefined;
    this.loading.reset();
    await this.queue;
    if (session) await session.release();
  }

  /**
   * Computes (or tops up) the document's context K/V for this request without sampling: the
   * language server sends one when a file is opened or the cursor moves, so that the next
   * completion there finds its context cached and computes only what was typed since.
   */
  prefill(request: InfillRequest, signal?: AbortSignal): Promise<ContextReport> {
    return this.enqueue(request, signal, async () => {
      const { session, contexts } = this.loaded();
      if (signal?.aborted) throw new CancelledError();
      const { prompt } = this.prompt(request);
      return (await contexts.prepare(session, request.document ?? '', prompt.ids, true, signal)).stats;
    });
  }

  private loaded() {
    const { files, tokenizer, session, contexts } = this;
    if (!files || !tokenizer || !session || !contexts) throw new Error('The model is not loaded (call load() first)');
    return { files, tokenizer, session, contexts };
  }

  /** The context's ids within budgets; infill and prefill share it, so a prefill builds exactly the ids the next infill will. */
  private prompt(request: InfillRequest) {
    const { files, tokenizer } = this.loaded();
    const { manifest } = files;
    const canvas = request.canvasLength;
    if (!Number.isInteger(canvas) || canvas < 1) throw new Error(`canvasLength must be a positive integer (got ${JSON.stringify(canvas)})`);
    const candidates = request.candidates ?? 1;
    if (!Number.isInteger(candidates) || candidates < 1) throw new Error(`candidates must be a positive integer (got ${JSON.stringify(candidates)})`);
    // Budgets: the two sentinels, prefix, suffix and the canvas must fit in max_positions.
    const room = manifest.max_positions - 2 - canvas;
    if (room < 0) throw new Error(`A canvas of ${canvas} tokens does not fit the model's ${manifest.max_positions} positions`);
    for (const field of ['maxPrefixTokens', 'maxSuffixTokens'] as const) {
      const n = request[field];
      if (!Number.isInteger(n) || n < 0) throw new Error(`${field} must be a non-negative integer (got ${JSON.stringify(n)})`);
    }
    const maxSuffix = Math.min(request.maxSuffixTokens, Math.floor(room / 4));
    const maxPrefix = Math.min(request.maxPrefixTokens, room - maxSuffix);
    // Token healing: spaces and tabs that end the prefix are written by the model as the start of
    // the middle (the base's tokens join a space to the word after it, and training cut holes this
    // way too), then taken off the completion again (see healedText).
    const blanks = trailingBlanks(request.prefix);
    const prefix = request.prefix.slice(0, request.prefix.length - blanks.length);
    // Extra context takes what the window leaves after prefix and suffix, never their room.
    const maxExtra = Math.max(0, Math.min(request.maxExtraTokens ?? 0, room - maxSuffix - maxPrefix));
    const prompt = buildContext(tokenizer, manifest.special_tokens, prefix, request.suffix, maxPrefix, maxSuffix, request.extraContext, maxExtra);
    const word = blanks ? undefined : healWord(tokenizer, prompt, prefix);
    // The text the completion follows, as the model sees its end (names.ts reads its last word).
    const textBefore = word ? prefix.slice(0, prefix.length - word.text.length) : prefix;
    return { prompt, healed: word?.text ?? blanks, openingTokens: word?.ids, textBefore: textBefore.slice(-MAX_WORD_CHARS) };
  }

  private async run(request: InfillRequest, signal?: AbortSignal): Promise<InfillResult> {
    const { files, tokenizer, session, contexts } = this.loaded();
    const t0 = performance.now();
    const model0 = session.modelMs;
    const { manifest } = files;
    let built = this.prompt(request);
    // Extra context only once warm: a cold request computes what it would without it (types.ts).
    const extraSkipped = request.extraContextWhenWarm === true && built.prompt.extraTokens > 0 && request.reuseContext !== false
      && !contexts.holdsStart(request.document ?? '', built.prompt.ids, built.prompt.extraTokens + 1);
    if (extraSkipped) built = this.prompt({ ...request, extraContext: undefined });
    const { prompt, healed, openingTokens, textBefore } = built;
    const names = this.nameBias(request);
    const singleLine = request.sampler.singleLine ?? false;
    const lineBreaks = singleLine ? tokenizer.lineBreakTokens(manifest.vocab_size) : undefined;
    const newlines = singleLine ? tokenizer.newlineTokens(manifest.vocab_size) : undefined;
    const tokenizeMs = performance.now() - t0;

    if (signal?.aborted) throw new CancelledError();
    const { state, stats } = await contexts.prepare(session, request.document ?? '', prompt.ids, request.reuseContext ?? true, signal);
    const contextMs = performance.now() - t0 - tokenizeMs;
    // All candidates in one batched run: every pass serves each row still writing.
    const { rows, forwards } = await sample(session, state, request.canvasLength, request.candidates ?? 1, request.sampler, {
      special: manifest.special_tokens, shape: contexts.shape, lineBreakTokens: lineBreaks, newlineTokens: newlines, openingTokens, signal, names, textBefore,
      timeBudgetEndsAt: request.timeBudgetMs === undefined ? undefined : t0 + request.timeBudgetMs,
    });
    const candidates = rows.map((r) => this.candidate(r, request.canvasLength, singleLine, healed));
    candidates.sort((a, b) => b.confidence - a.confidence);
    const totalMs = performance.now() - t0;
    return {
      candidates,
      timings: { tokenizeMs, sampleMs: totalMs - tokenizeMs, totalMs, modelMs: session.modelMs - model0, contextMs },
      device: { provider: session.provider, reason: session.reason, notes: [...session.notes] },
      forwards: forwards + (stats.computed > 0 ? 1 : 0),
      canvasPasses: forwards,
      context: stats,
      prefixTokens: prompt.prefixTokens,
      suffixTokens: prompt.suffixTokens,
      extraTokens: prompt.extraTokens,
      extraSkipped,
    };
  }

  /** The request's names as a NameBias; the last one is kept, since the language server sends the
   *  same names for every keystroke in a region and spelling them costs a tokenizer call each. */
  private nameBias(request: InfillRequest): NameBias | undefined {
    const bonus = request.sampler.nameBias ?? 0;
    if (bonus === 0 || (!request.names?.length && Object.keys(request.members ?? {}).length === 0)) return undefined;
    const key = JSON.stringify([bonus, request.names ?? [], request.members ?? {}]);
    if (this.lastNames?.key !== key) this.lastNames = { key, bias: new NameBias(request.names ?? [], bonus, this.tokenizer!, request.members) };
    return this.lastNames.bias;
  }

  /** The completion is the canvas up to its first <|pad|>; its confidence the mean log-probability of those tokens. */
  private candidate(r: SampleResult, canvasLength: number, singleLine: boolean, healed: string): InfillCandidate {
    const pad = this.files!.manifest.special_tokens.pad;
    const firstPad = r.canvas.indexOf(pad);
    const n = firstPad < 0 ? r.canvas.length : firstPad;
    // An empty completion (possible only with minTokens 0) is scored by the pad the model chose.
    const confidence = n > 0 ? mean(r.logProbs.slice(0, n)) : r.logProbs[0];
    let text = this.tokenizer!.decode(r.canvas.slice(0, n));
    // A single-line completion ends at its line break (the sampler stopped at the token holding it).
    if (singleLine) text = text.split(/[\r\n]/, 1)[0];
    return {
      text: healedText(text, healed),
      confidence,
      canvasLength,
      tokens: n,
      steps: r.steps,
      truncated: r.truncated,
    };
  }
}

/**
 * Token healing of a word cut by the cursor: when the prefix's last token is (part of) a word, it
 * leaves the context and the completion's first token must start with its text. Typed alone, "h"
 * of "http" is a token the base rarely saw before "ttp"; healed, the model writes "http" whole.
 * The context then changes only when the word ends, so typing inside a word reuses it entirely.
 */
function healWord(tokenizer: CodeTokenizer, prompt: PromptIds, prefix: string): { text: string; ids: number[] } | undefined {
  if (prompt.prefixTokens === 0) return undefined;
  const text = tokenizer.decode([prompt.ids[prompt.ids.length - 1]]);
  if (!/^ ?\w+$/.test(text) || !prefix.endsWith(text)) return undefined;
  // A token missing from the vocabulary's strings (an added token) cannot be healed.
  const ids = tokenizer.tokensStartingWith(text);
  if (ids.length === 0) return undefined;
  prompt.ids.pop();
  prompt.prefixTokens--;
  return { text, ids };
}

/** The spaces and tabs at the end of `prefix` (none when it ends in anything else). */
export function trailingBlanks(prefix: string): string {
  return prefix.slice(prefix.replace(/[ \t]+$/, '').length);
}

/** The completion after what healing took off the prefix (blanks, or a word's start): taken off when the model wrote it, else its own leading blanks go. */
export function healedText(text: string, healed: string): string {
  if (!healed) return text;
  return text.startsWith(healed) ? text.slice(healed.length) : text.replace(/^[ \t]+/, '');
}
