// The ONNX Runtime session: choosing an execution provider, and one forward pass with int64
// inputs (see models/CONTRACT.md for the graph's inputs and outputs).

import * as fs from 'node:fs';
import * as path from 'node:path';
// Before onnxruntime-node loads: its telemetry stays off in every process that opens a session.
import './telemetry-off';
import * as ort from 'onnxruntime-node';
import type { ExecutionProviderSetting } from './types';
import { errorText, ModelLoadError } from './errors';
import { checkGraph, type ModelFiles } from './manifest';
import type { KvCache } from './kv-cache';

export type { KvCache } from './kv-cache';

/** GPU providers `auto` tries on each platform, best first; the CPU always comes last. */
const AUTO_ORDER: Record<string, string[]> = {
  linux: ['cuda', 'webgpu'],
  win32: ['dml', 'webgpu'],
  darwin: ['coreml'],
};

export interface ForwardInput {
  batch: number;
  /** Input tokens per sequence (S). */
  seq: number;
  /** [batch * seq], row-major. */
  inputIds: ArrayLike<number>;
  positionIds: ArrayLike<number>;
  /** [batch * seq * (past capacity + seq)], per query row: 1 = this input may read that key. The
   *  first keys of a row are the past's buffer (its room included: kv-cache.ts), the last S the
   *  inputs' own (CONTRACT.md). */
  attentionMask: ArrayLike<number>;
  /** K/V of earlier positions, with the same batch; none means P = 0. */
  past?: KvCache;
  /** Logits only for input positions logitsFrom..S-1 (a context pass needs the last one); default 0 = all. */
  logitsFrom?: number;
}

export interface ForwardOutput {
  /** [batch, seq - logitsFrom, vocab] */
  logits: Float32Array;
  vocab: number;
  /** The K/V of this pass's S input positions, usable as `past` of a later pass. */
  present: KvCache;
  /** [batch, seq - logitsFrom]: each logits row's log-normalizer, from graphs that have the optional `log_z` output. */
  logZ?: Float32Array;
}

function int64(values: ArrayLike<number>, dims: number[]): ort.Tensor {
  const data = new BigInt64Array(values.length);
  // The attention mask is most of the entries (B x S x (P+S)): 0 and 1 skip the BigInt() call.
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    data[i] = v === 1 ? 1n : v === 0 ? 0n : BigInt(v);
  }
  return new ort.Tensor('int64', data, dims);
}

export class ModelSession {
  /** Milliseconds spent inside session.run (inputs built, outputs read), summed over all passes. */
  modelMs = 0;

  /** Whether the graph takes the cache one layer per input (past_key.0 ...) rather than stacked. */
  private readonly perLayer: boolean;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly files: ModelFiles,
    /** The provider in use, e.g. 'cpu'. */
    readonly provider: string,
    /** Why each provider tried before it was not used. */
    readonly notes: string[],
  ) {
    this.perLayer = session.inputNames.includes('past_key.0');
  }

  /**
   * Opens the model on the first provider that works: `auto` tries this platform's GPU providers
   * and then the CPU; a named provider falls back to the CPU. Each skipped provider leaves a note.
   */
  static async open(files: ModelFiles, setting: ExecutionProviderSetting, threads = 0, cpuArena = true): Promise<ModelSession> {
    const wanted = setting === 'auto' ? (AUTO_ORDER[process.platform] ?? []) : setting === 'cpu' ? [] : [setting];
    const bundled = new Set(ort.listSupportedBackends().map((b) => b.name));
    const notes: string[] = [];
    for (const provider of wanted) {
      if (!bundled.has(provider)) {
        notes.push(`${provider}: not available in this onnxruntime-node install (it has ${[...bundled].join(', ')})`);
        continue;
      }
      const missing = missingProviderLibrary(provider);
      if (missing) {
        notes.push(`${provider}: onnxruntime-node's ${provider} provider files are not installed (${missing} is missing)`);
        continue;
      }
      try {
        const s = new ModelSession(await ort.InferenceSession.create(files.onnxPath, sessionOptions(provider, threads, cpuArena)), files, provider, notes);
        s.check();
        // Some providers only fail on the first run: prove this one with a two-token causal pass.
        const { suffix, prefix } = files.manifest.special_tokens;
        await s.forward({ batch: 1, seq: 2, inputIds: [suffix, prefix], positionIds: [0, 1], attentionMask: [1, 0, 1, 1] });
        s.modelMs = 0;
        return s;
      } catch (error) {
        if (error instanceof ModelLoadError) throw error;
        notes.push(`${provider}: ${firstLine(error)}`);
      }
    }
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(files.onnxPath, sessionOptions('cpu', threads, cpuArena));
    } catch (error) {
      throw new ModelLoadError(`Could not load the ONNX model ${files.onnxPath}: ${firstLine(error)}`, files.onnxPath);
    }
    const s = new ModelSession(session, files, 'cpu', notes);
    s.check();
    return s;
  }

  /** One pass of the graph. */
  async forward(input: ForwardInput): Promise<ForwardOutput> {
    const t0 = performance.now();
    const { n_layer: L, n_kv_head: H, head_dim: D } = this.files.manifest;
    const { batch: B, seq: S } = input;
    // The graph reads the past's whole buffer; the mask hides the room past its length.
    const P = input.past?.capacity ?? 0;
    if (input.past && input.past.batch !== B) throw new Error(`the past has batch ${input.past.batch}, the inputs ${B}`);
    if (input.attentionMask.length !== B * S * (P + S)) {
      throw new Error(`attention_mask has ${input.attentionMask.length} entries, expected ${B * S * (P + S)} (B ${B} x S ${S} x P+S ${P + S})`);
    }
    const feeds: Record<string, ort.Tensor> = {
      input_ids: int64(input.inputIds, [B, S]),
      position_ids: int64(input.positionIds, [B, S]),
      attention_mask: int64(input.attentionMask, [B, S, P + S]),
      logits_from: int64([input.logitsFrom ?? 0], [1]),
    };
    const empty = new Float32Array(0);
    if (this.perLayer) {
      // Views of each layer's part of the buffer ([layers, B, H, P, D] is layer-major): no copy.
      const per = B * H * P * D;
      for (let l = 0; l < L; l++) {
        feeds[`past_key.${l}`] = new ort.Tensor('float32', input.past ? input.past.key.subarray(l * per, (l + 1) * per) : empty, [B, H, P, D]);
        feeds[`past_value.${l}`] = new ort.Tensor('float32', input.past ? input.past.value.subarray(l * per, (l + 1) * per) : empty, [B, H, P, D]);
      }
    } else {
      feeds.past_key = new ort.Tensor('float32', input.past?.key ?? empty, [L, B, H, P, D]);
      feeds.past_value = new ort.Tensor('float32', input.past?.value ?? empty, [L, B, H, P, D]);
    }
    const out = await this.session.run(feeds);
    const logits = out.logits;
    const result = {
      logits: logits.data as Float32Array,
      vocab: logits.dims[2],
      present: { key: out.present_key.data as Float32Array, value: out.present_value.data as Float32Array, batch: B, length: S, capacity: S },
      logZ: out.log_z?.data as Float32Array | undefined,
    };
    this.modelMs += performance.now() - t0;
    return result;
  }

  async release(): Promise<void> {
    await this.session.release();
  }

  private check(): void {
    const shapes = new Map<string, ReadonlyArray<number | string>>();
    const meta = [...(this.session.inputMetadata ?? []), ...(this.session.outputMetadata ?? [])];
    for (const m of meta) if (m.isTensor) shapes.set(m.name, m.shape);
    checkGraph(this.files, { inputNames: this.session.inputNames, outputNames: this.session.outputNames, shapes });
  }
}

/** CUDA needs provider libraries that onnxruntime-node downloads only on request; checking first avoids a native error log. */
function missingProviderLibrary(provider: string): string | undefined {
  if (provider !== 'cuda' || (process.platform !== 'linux' && process.platform !== 'win32')) return undefined;
  const file = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  try {
    const bin = path.join(path.dirname(require.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
    return fs.existsSync(path.join(bin, file)) ? undefined : path.join(bin, file);
  } catch {
    return undefined;
  }
}

function sessionOptions(provider: string, threads: number, cpuArena: boolean): ort.InferenceSession.SessionOptions {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    interOpNumThreads: 1,
    enableCpuMemArena: cpuArena,
  };
  // A GPU provider that cannot start is expected and reported in the notes; keep its native log quiet.
  if (provider !== 'cpu') options.logSeverityLevel = 4;
  if (threads > 0) options.intraOpNumThreads = threads;
  return options;
}

/** The useful part of a runtime error: its first line, from the last "Failed to" when there is one. */
function firstLine(error: unknown): string {
  const text = errorText(error).split('\n')[0].trim();
  const failed = text.lastIndexOf('Failed to');
  const concise = failed > 0 ? text.slice(failed) : text;
  return concise.length > 240 ? `${concise.slice(0, 240)}…` : concise;
}
