// The in-process engine: model.json + tokenizer + ONNX session, and one infill request end to end
// (token budgets, one batched sampler run for all candidate canvases, decoding, ranking).

import * as fs from 'node:fs';
import { loadManifest, ModelLoadError, windowTokens, type ModelFiles } from './manifest';
import { mean } from './logits';
import { sample, type SampleResult } from './sampler';
import { ModelSession } from './session';
import { CodeTokenizer } from './tokenizer';
import type { EngineOptions, InfillCandidate, InfillEngine, InfillRequest, InfillResult, ModelInfo } from './types';

export class LocalEngine implements InfillEngine {
  private files: ModelFiles | undefined;
  private tokenizer: CodeTokenizer | undefined;
  private session: ModelSession | undefined;
  private info: ModelInfo | undefined;
  private loading: Promise<ModelInfo> | undefined;
  /** Requests run one at a time: a session runs one pass at a time anyway. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: EngineOptions) {}

  /** Loads once; concurrent calls share the load, and a failed load may be retried. */
  load(): Promise<ModelInfo> {
    if (!this.loading) {
      const loading = this.open();
      this.loading = loading;
      loading.catch(() => {
        if (this.loading === loading) this.loading = undefined;
      });
    }
    return this.loading;
  }

  private async open(): Promise<ModelInfo> {
    const t0 = performance.now();
    const files = loadManifest(this.options.modelDir);
    let tokenizerJson: object;
    try {
      tokenizerJson = JSON.parse(fs.readFileSync(files.tokenizerPath, 'utf8'));
    } catch (error) {
      throw new ModelLoadError(`${files.tokenizerPath} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`, files.tokenizerPath);
    }
    let tokenizer: CodeTokenizer;
    try {
      tokenizer = new CodeTokenizer(tokenizerJson, files.manifest.special_tokens);
    } catch (error) {
      throw new ModelLoadError(`${files.tokenizerPath} is not a tokenizer this host can load: ${error instanceof Error ? error.message : String(error)}`, files.tokenizerPath);
    }
    const session = await ModelSession.open(files, this.options.provider, this.options.threads ?? 0);
    this.files = files;
    this.tokenizer = tokenizer;
    this.session = session;
    this.info = {
      name: files.manifest.name,
      path: files.dir,
      parameters: files.manifest.parameters,
      provider: session.provider,
      providerNotes: session.notes,
      loadMs: performance.now() - t0,
    };
    return this.info;
  }

  infill(request: InfillRequest, signal?: AbortSignal): Promise<InfillResult> {
    const run = this.queue.then(() => this.run(request, signal));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async dispose(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    this.info = undefined;
    this.loading = undefined;
    await this.queue;
    if (session) await session.release();
  }

  private async run(request: InfillRequest, signal?: AbortSignal): Promise<InfillResult> {
    const { files, tokenizer, session } = this;
    if (!files || !tokenizer || !session) throw new Error('The model is not loaded (call load() first)');
    const t0 = performance.now();
    const { manifest } = files;
    const lengths = request.canvasLengths;
    if (lengths.length === 0 || lengths.some((c) => !Number.isInteger(c) || c < 1)) {
      throw new Error(`canvasLengths must be positive integers (got ${JSON.stringify(lengths)})`);
    }
    // Budgets: bos + prefix + canvas + suffix + eos must fit in max_positions.
    const room = manifest.max_positions - 2 - Math.max(...lengths);
    if (room < 0) throw new Error(`A canvas of ${Math.max(...lengths)} tokens does not fit the model's ${manifest.max_positions} positions`);
    let prefix = tokenizer.encodeTail(request.prefix, Math.min(request.maxPrefixTokens ?? Infinity, room)).ids;
    let suffix = tokenizer.encodeHead(request.suffix, Math.min(request.maxSuffixTokens ?? Infinity, room)).ids;
    if (prefix.length + suffix.length > room) {
      // Too long together: the suffix keeps at least a quarter of the room, the prefix the rest.
      const keepSuffix = Math.min(suffix.length, Math.max(room - prefix.length, Math.floor(room / 4)));
      suffix = suffix.slice(0, keepSuffix);
      prefix = prefix.slice(Math.max(0, prefix.length - (room - keepSuffix)));
    }
    const tokenizeMs = performance.now() - t0;
    const lineBreaks = request.sampler.singleLine ? tokenizer.lineBreakTokens(manifest.vocab_size) : undefined;

    // All candidates in one batched run: every pass serves each canvas still being decoded.
    const { rows, forwards } = await sample(session, prefix, suffix, lengths, request.sampler, {
      special: manifest.special_tokens, lineBreakTokens: lineBreaks, signal,
    });
    const candidates = rows.map((r, i) => this.candidate(r, lengths[i]));
    candidates.sort((a, b) => b.confidence - a.confidence);
    const totalMs = performance.now() - t0;
    return {
      candidates,
      timings: { tokenizeMs, sampleMs: totalMs - tokenizeMs, totalMs },
      forwards,
      prefixTokens: prefix.length,
      suffixTokens: suffix.length,
    };
  }

  /** The completion is the canvas up to its first <|pad|>; its confidence the mean log-probability of those tokens. */
  private candidate(r: SampleResult, canvasLength: number): InfillCandidate {
    const pad = this.files!.manifest.special_tokens.pad;
    const firstPad = r.canvas.indexOf(pad);
    const n = firstPad < 0 ? r.canvas.length : firstPad;
    // An empty completion (possible only with minTokens 0) is scored by the pad the model chose.
    const confidence = n > 0 ? mean(r.logProbs.slice(0, n)) : r.logProbs[0];
    return {
      text: this.tokenizer!.decode(r.canvas.slice(0, n)),
      confidence,
      canvasLength,
      tokens: n,
      steps: r.steps,
    };
  }
}
