// LocalEngine: the model host in one object. Loads a model folder, fits the context to the
// model's window, runs the sampler once per candidate canvas, and ranks the results.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelLoadError, readManifest, type ModelManifest } from './manifest';
import { sampleCanvas } from './sampler';
import { ModelSession } from './session';
import { CodeTokenizer } from './tokenizer';
import type { EngineOptions, InfillCandidate, InfillEngine, InfillRequest, InfillResult, ModelInfo } from './types';

export class LocalEngine implements InfillEngine {
  private manifest: ModelManifest | undefined;
  private tokenizer: CodeTokenizer | undefined;
  private session: ModelSession | undefined;
  private lineBreakTokens: number[] = [];

  constructor(private readonly options: EngineOptions) {}

  async load(): Promise<ModelInfo> {
    const t0 = performance.now();
    const dir = path.resolve(this.options.modelDir);
    const manifest = readManifest(dir);
    let tokenizerJson: object;
    try {
      tokenizerJson = JSON.parse(fs.readFileSync(path.join(dir, manifest.files.tokenizer), 'utf8'));
    } catch (e) {
      throw new ModelLoadError(`${manifest.files.tokenizer} in ${dir} is not a valid tokenizer: ${(e as Error).message}`);
    }
    this.tokenizer = new CodeTokenizer(tokenizerJson, manifest.special_tokens);
    this.session = await ModelSession.create(path.join(dir, manifest.files.onnx), manifest, this.options.provider, this.options.threads);
    this.manifest = manifest;
    this.lineBreakTokens = this.tokenizer.lineBreakTokens(manifest.vocab_size);
    return {
      name: manifest.name, path: dir, parameters: manifest.parameters,
      provider: this.session.provider, providerNotes: this.session.providerNotes, loadMs: performance.now() - t0,
    };
  }

  async infill(req: InfillRequest, signal?: AbortSignal): Promise<InfillResult> {
    const { manifest, tokenizer, session } = this.loaded();
    const t0 = performance.now();
    const canvases = [...new Set(req.canvasLengths.filter((n) => n > 0))];
    if (canvases.length === 0) throw new Error('canvasLengths must hold at least one positive length');
    const { prefix, suffix } = fitWindow(tokenizer.encode(req.prefix), tokenizer.encode(req.suffix), Math.max(...canvases), manifest, req);
    const t1 = performance.now();
    const candidates: InfillCandidate[] = [];
    let forwards = 0;
    for (const canvasLength of canvases) {
      const r = await sampleCanvas(session, manifest.special_tokens, prefix, suffix, canvasLength, req.sampler, signal, this.lineBreakTokens);
      forwards += r.forwards;
      const confidence = r.logProbs.length ? r.logProbs.reduce((a, b) => a + b, 0) / r.logProbs.length : -1e9;
      candidates.push({ text: tokenizer.decode(r.ids), confidence, canvasLength, tokens: r.ids.length, steps: r.steps, forwards: r.forwards });
    }
    candidates.sort((a, b) => b.confidence - a.confidence);
    const t2 = performance.now();
    return {
      candidates, forwards, prefixTokens: prefix.length, suffixTokens: suffix.length,
      timings: { tokenizeMs: t1 - t0, sampleMs: t2 - t1, totalMs: t2 - t0 },
    };
  }

  async dispose(): Promise<void> {
    await this.session?.release();
    this.session = undefined;
  }

  private loaded() {
    if (!this.manifest || !this.tokenizer || !this.session) throw new Error('model not loaded: call load() first');
    return { manifest: this.manifest, tokenizer: this.tokenizer, session: this.session };
  }
}

/**
 * Keeps the end of the prefix and the start of the suffix so that bos + prefix + canvas + suffix + eos
 * fits the request's budgets and the window the model was trained on. The suffix gets at most a third.
 */
export function fitWindow(prefix: number[], suffix: number[], canvas: number, m: ModelManifest, req: Pick<InfillRequest, 'maxPrefixTokens' | 'maxSuffixTokens'>) {
  const window = Math.min(m.train_seq_len, m.max_positions) - 2 - canvas;
  if (window < 0) throw new Error(`a canvas of ${canvas} tokens does not fit the model's window of ${m.train_seq_len}`);
  let nSuffix = Math.min(suffix.length, req.maxSuffixTokens ?? Infinity, Math.floor(window / 3));
  const nPrefix = Math.min(prefix.length, req.maxPrefixTokens ?? Infinity, window - nSuffix);
  nSuffix = Math.min(suffix.length, req.maxSuffixTokens ?? Infinity, window - nPrefix);
  return { prefix: prefix.slice(prefix.length - nPrefix), suffix: suffix.slice(0, nSuffix) };
}
