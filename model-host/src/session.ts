// The ONNX session: picks an execution provider, and runs one forward pass of the contract's graph.
import * as os from 'node:os';
import * as ort from 'onnxruntime-node';
import { checkGraph, ModelLoadError, type ModelManifest } from './manifest';
import type { ExecutionProviderSetting } from './types';

/** GPU providers worth trying on each platform, best first; CPU always comes last. */
function gpuProviders(): string[] {
  switch (os.platform()) {
    case 'win32': return ['dml', 'webgpu'];
    case 'darwin': return ['coreml'];
    default: return ['cuda', 'webgpu'];
  }
}

export interface PastKV { key: ort.Tensor; value: ort.Tensor; length: number }

export interface ForwardResult {
  /** [S, vocab], row-major. */
  logits: Float32Array;
  present: PastKV;
}

export class ModelSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly manifest: ModelManifest,
    readonly provider: string,
    readonly providerNotes: string[],
  ) {}

  static async create(onnxPath: string, manifest: ModelManifest, setting: ExecutionProviderSetting, threads = 0): Promise<ModelSession> {
    const candidates = setting === 'auto' ? [...gpuProviders(), 'cpu'] : setting === 'cpu' ? ['cpu'] : [setting, 'cpu'];
    const notes: string[] = [];
    const bundled = new Set(ort.listSupportedBackends().map((b) => b.name));
    for (const provider of candidates) {
      if (provider !== 'cpu' && provider !== 'dml' && provider !== 'coreml' && !bundled.has(provider)) {
        notes.push(`${provider}: not available in this onnxruntime-node build`);
        continue;
      }
      try {
        const options: ort.InferenceSession.SessionOptions = { executionProviders: [provider], graphOptimizationLevel: 'all' };
        if (threads > 0) options.intraOpNumThreads = threads;
        const session = await ort.InferenceSession.create(onnxPath, options);
        checkGraph(manifest, session.inputNames, session.outputNames);
        return new ModelSession(session, manifest, provider, notes);
      } catch (e) {
        if (e instanceof ModelLoadError) throw e;
        const msg = (e as Error).message.split('\n')[0];
        if (provider === 'cpu') throw new ModelLoadError(`Could not load ${onnxPath}: ${msg}`);
        notes.push(`${provider}: ${msg}`);
      }
    }
    throw new ModelLoadError(`No execution provider could run ${onnxPath}`);
  }

  /** An empty cache (P = 0), for full passes. */
  emptyPast(): PastKV {
    const { n_layer, n_head, head_dim } = this.manifest;
    const t = new ort.Tensor('float32', new Float32Array(0), [n_layer, 1, n_head, 0, head_dim]);
    return { key: t, value: t, length: 0 };
  }

  /** One pass over `ids` at `positions`; `attend` covers past + ids (1 = attend). Batch size 1. */
  async forward(ids: number[], positions: number[], attend: number[], past: PastKV = this.emptyPast()): Promise<ForwardResult> {
    const s = ids.length;
    const out = await this.session.run({
      input_ids: int64(ids, [1, s]),
      position_ids: int64(positions, [1, s]),
      attention_mask: int64(attend, [1, attend.length]),
      past_key: past.key,
      past_value: past.value,
    });
    return {
      logits: out.logits.data as Float32Array,
      present: { key: out.present_key, value: out.present_value, length: s },
    };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function int64(values: number[], dims: number[]): ort.Tensor {
  const data = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = BigInt(values[i]);
  return new ort.Tensor('int64', data, dims);
}
