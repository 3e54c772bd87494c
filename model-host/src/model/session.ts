// The ONNX Runtime session: opening it on the provider the setting asks for (device.ts says which
// providers a setting tries, and `auto` keeps a GPU only when its probe pass beats the CPU's), one
// forward pass with int64 inputs (see models/CONTRACT.md), and the fall back to the CPU when a GPU
// fails in the middle of a session: the pass is run again there, so no request is lost.

// Before onnxruntime-node loads: its telemetry stays off in every process that opens a session.
import './telemetry-off';
import * as ort from 'onnxruntime-node';
import type { ExecutionProviderSetting } from '../types';
import { errorText, ModelLoadError } from '../errors';
import { firstLine as conciseLine, sessionOptions, timePass, unavailable, verdict, wantedProviders, type ProbeTime, type SessionTuning } from './device';
import { checkGraph, type ModelFiles } from './manifest';
import type { KvCache } from '../decoding/kv-cache';

export type { KvCache } from '../decoding/kv-cache';

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


/** `auto`'s probe: a 32-token causal context pass, then a block of 8 masks against it. */
const PROBE_CONTEXT = 32;
const PROBE_BLOCK = 8;
/** A GPU whose warm-up (shader compilation included) exceeds this many times the CPU's probe, and
 *  at least PROBE_GIVE_UP_MS, is not timed further; one timed run PROBE_CLEARLY_SLOWER times the
 *  CPU's is enough to lose. On SwiftShader the warm-up takes ~7 s and a run ~6 s, vs ~0.2 s. */
const PROBE_GIVE_UP = 20;
const PROBE_GIVE_UP_MS = 10_000;
const PROBE_CLEARLY_SLOWER = 3;

export class ModelSession {
  /** Milliseconds spent inside session.run (inputs built, outputs read), summed over all passes. */
  modelMs = 0;
  /** Why this provider is the one in use (for the status bar and the log). */
  reason = '';

  /** Whether the graph takes the cache one layer per input (past_key.0 ...) rather than stacked. */
  private readonly perLayer: boolean;

  private constructor(
    private session: ort.InferenceSession,
    private readonly files: ModelFiles,
    /** The provider in use, e.g. 'cpu'; becomes 'cpu' when a GPU fails mid-session. */
    public provider: string,
    /** Why each provider tried before it was not used, and later events (a GPU that failed). */
    readonly notes: string[],
    private readonly tuning: SessionTuning,
  ) {
    this.perLayer = session.inputNames.includes('past_key.0');
  }

  /**
   * Opens the model on the provider the setting asks for. A named GPU provider is used when it
   * loads and runs a first pass, else the CPU. `auto` times the same probe pass on the CPU and on
   * each GPU provider of this platform that loads, and keeps the first GPU that is faster; else
   * the CPU. Each provider not used leaves a note; `reason` says why the one in use was chosen.
   */
  static async open(files: ModelFiles, setting: ExecutionProviderSetting, threads = 0, cpuArena = true, logSeverity?: SessionTuning['logSeverity']): Promise<ModelSession> {
    const tuning: SessionTuning = { threads, cpuArena, logSeverity };
    const notes: string[] = [];
    const tryable = wantedProviders(setting).filter((provider) => {
      const why = unavailable(provider);
      if (why) notes.push(`${provider}: ${why}`);
      return !why;
    });
    let cpu: ModelSession | undefined;
    let cpuTime: ProbeTime | undefined;
    if (setting === 'auto' && tryable.length > 0) {
      cpu = await ModelSession.openCpu(files, notes, tuning);
      cpuTime = await timePass(() => cpu!.probe());
    }
    for (const provider of tryable) {
      let s: ModelSession | undefined;
      try {
        s = new ModelSession(await ort.InferenceSession.create(files.onnxPath, sessionOptions(provider, tuning)), files, provider, notes, tuning);
        s.check();
        // Some providers only fail on the first run: prove this one with a two-token causal pass.
        const { suffix, prefix } = files.manifest.special_tokens;
        await s.run({ batch: 1, seq: 2, inputIds: [suffix, prefix], positionIds: [0, 1], attentionMask: [1, 0, 1, 1] });
        if (cpu && cpuTime) {
          const gpu = await timePass(() => s!.probe(), 2, Math.max(PROBE_GIVE_UP * cpuTime.ms, PROBE_GIVE_UP_MS), PROBE_CLEARLY_SLOWER * cpuTime.ms);
          const v = verdict(provider, gpu, cpuTime);
          if (!v.faster) {
            notes.push(v.reason);
            await s.release();
            continue;
          }
          await cpu.release();
          s.reason = `auto: ${v.reason}`;
        } else {
          s.reason = `set to ${provider}`;
        }
        s.modelMs = 0;
        return s;
      } catch (error) {
        await s?.release().catch(() => undefined);
        if (error instanceof ModelLoadError) {
          await cpu?.release();
          throw error;
        }
        notes.push(`${provider}: ${conciseLine(errorText(error))}`);
      }
    }
    const s = cpu ?? (await ModelSession.openCpu(files, notes, tuning));
    s.modelMs = 0;
    s.reason = setting === 'cpu' ? 'set to cpu'
      : tryable.length === 0 ? `${setting}: no GPU provider can be tried in this install, so the CPU`
      : setting === 'auto' && notes.some((n) => n.includes(' so the CPU')) ? 'auto: no GPU provider was faster than the CPU'
      : `${setting}: no GPU provider could be used, so the CPU`;
    return s;
  }

  private static async openCpu(files: ModelFiles, notes: string[], tuning: SessionTuning): Promise<ModelSession> {
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(files.onnxPath, sessionOptions('cpu', tuning));
    } catch (error) {
      throw new ModelLoadError(`Could not load the ONNX model ${files.onnxPath}: ${conciseLine(errorText(error))}`, files.onnxPath);
    }
    const s = new ModelSession(session, files, 'cpu', notes, tuning);
    s.check();
    return s;
  }

  /**
   * One pass of the graph. When a GPU provider fails during it, the session moves to the CPU (the
   * K/V live in the engine's buffers, not on the device) and runs the same pass there.
   */
  async forward(input: ForwardInput): Promise<ForwardOutput> {
    if (this.provider === 'cpu') return this.run(input);
    try {
      return await this.run(input);
    } catch (error) {
      if (error instanceof InputError) throw error;
      await this.fallBack(conciseLine(errorText(error)));
      return this.run(input);
    }
  }

  /** Replaces a failed GPU session by a CPU one, and says so in the notes and the reason. */
  private async fallBack(why: string): Promise<void> {
    const failed = this.provider;
    const old = this.session;
    this.session = await ort.InferenceSession.create(this.files.onnxPath, sessionOptions('cpu', { ...this.tuning, logSeverity: undefined }));
    this.provider = 'cpu';
    this.reason = `${failed} failed during a pass, so the CPU`;
    this.notes.push(`${failed}: failed during a pass (${why}); moved to the CPU and ran the pass again`);
    await old.release().catch(() => undefined);
  }

  private async run(input: ForwardInput): Promise<ForwardOutput> {
    const t0 = performance.now();
    const { n_layer: L, n_kv_head: H, head_dim: D } = this.files.manifest;
    const { batch: B, seq: S } = input;
    // The graph reads the past's whole buffer; the mask hides the room past its length.
    const P = input.past?.capacity ?? 0;
    if (input.past && input.past.batch !== B) throw new InputError(`the past has batch ${input.past.batch}, the inputs ${B}`);
    if (input.attentionMask.length !== B * S * (P + S)) {
      throw new InputError(`attention_mask has ${input.attentionMask.length} entries, expected ${B * S * (P + S)} (B ${B} x S ${S} x P+S ${P + S})`);
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

  /** `auto`'s probe: a context pass, then a block pass against its K/V (the shape of a completion). */
  private async probe(): Promise<void> {
    const { suffix, prefix, mask } = this.files.manifest.special_tokens;
    const n = PROBE_CONTEXT;
    // Ordinary vocabulary ids; what they spell does not matter for timing.
    const ids = Array.from({ length: n }, (_, i) => (i === 0 ? suffix : i === n - 1 ? prefix : 1000 + 37 * i));
    const causal = new Uint8Array(n * n);
    for (let i = 0; i < n; i++) causal.fill(1, i * n, i * n + i + 1);
    const ctx = await this.run({ batch: 1, seq: n, inputIds: ids, positionIds: ids.map((_, i) => i), attentionMask: causal, logitsFrom: n - 1 });
    const b = PROBE_BLOCK;
    await this.run({
      batch: 1, seq: b, inputIds: new Array<number>(b).fill(mask), positionIds: Array.from({ length: b }, (_, i) => n + i),
      attentionMask: new Uint8Array(b * (n + b)).fill(1), past: ctx.present,
    });
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

/** Inputs that do not fit the graph: the caller's mistake, not the provider's, so no fall back. */
class InputError extends Error {}
