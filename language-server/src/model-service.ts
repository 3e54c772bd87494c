// The server's one way to the model. It loads the engine for the configured model and device,
// reloads it when those settings change, and reports every state change to the client as a
// serverStatus notification; a missing or broken model never takes the server down. And it runs
// each request: `run` waits for a load in progress, adds the code from other files, times it,
// reports the latency and keeps the failure streak, so the handlers only build the request
// (complete-at.ts at a cursor; `infill` from a span plan) and post-process.

import { CancelledError, errorText } from '../../model-host/src/errors';
import type { EngineOptions, InfillCandidate, InfillEngine, InfillRequest, InfillResult, ModelInfo } from '../../model-host/src/types';
import type { ServerSettings, ServerState, ServerStatusParams } from './protocol';
import { engineRequest } from './complete-at';
import { engineKey, resolveModelPath } from './settings';
import type { ExtraContext } from './context-sources/sources';
import type { SpanPlan } from './span-policy';

const MAX_FAILURES_IN_A_ROW = 3;

export type EngineFactory = (options: EngineOptions) => InfillEngine;
export type StatusSink = (status: ServerStatusParams) => void;
export type Logger = (message: string) => void;

/** What the model fills: the windows around the span and the document they come from (the
 *  engine keeps each document's context keys and values between requests). */
export interface InfillContext {
  prefix: string;
  suffix: string;
  document: string;
  /** The cursor (a completion) or the selection's start (Fill Selection), as a UTF-16 offset in the
   *  document: where the extra context from other files is chosen for (context-sources/). */
  offset?: number;
  start?: number;
}

/** Code from other files for a request (context-sources/sources.ts), or none. */
export type ExtraContextProvider = (context: InfillContext, settings: ServerSettings) => ExtraContext | undefined;

export interface Completion {
  /** Best confidence first, as the engine ranks them. */
  candidates: InfillCandidate[];
  latencyMs: number;
}

/** No model to run: loading failed, or completions are off. The message says which. */
export class ModelNotReadyError extends Error {
  override readonly name = 'ModelNotReadyError';
}

export class ModelService {
  private engine: InfillEngine | undefined;
  private info: ModelInfo | undefined;
  private key: string | undefined;
  private state: ServerState = 'loading';
  private message: string | undefined;
  private enabled = true;
  /** Bumped on every (re)load; a load that finishes under an old generation is discarded. */
  private generation = 0;
  private loading: Promise<void> | undefined;
  /** Infill failures in a row; the worker restarts itself after a crash, so only a streak
   *  means the model is unusable. */
  private failures = 0;
  /** Where requests get their code from other files (main.ts sets it; none: no extra context). */
  private extraContext: ExtraContextProvider | undefined;

  constructor(
    private readonly createEngine: EngineFactory,
    private readonly packageRoot: string,
    private readonly report: StatusSink,
    private readonly log: Logger,
  ) {}

  /** Every later request (completions, Fill Selection, warm-ups alike) gets its extra context from `provider`. */
  useExtraContext(provider: ExtraContextProvider | undefined): void {
    this.extraContext = provider;
  }

  /** Applies settings: reloads the engine when the model path or device changed. */
  configure(settings: ServerSettings): void {
    const wasEnabled = this.enabled;
    this.enabled = settings.enable;
    const key = engineKey(settings, this.packageRoot);
    // Any settings change while in the error state is a chance that the user fixed it.
    if (key !== this.key || this.state === 'error') {
      this.key = key;
      this.startLoad(settings);
    } else if (wasEnabled !== this.enabled) {
      this.report(this.status());
    }
  }

  status(): ServerStatusParams {
    if (!this.enabled) return { state: 'disabled', model: this.info?.name, device: this.info?.provider };
    const s: ServerStatusParams = { state: this.state };
    if (this.info && this.state === 'ready') {
      s.model = this.info.name;
      s.device = this.info.provider;
      s.deviceReason = this.info.deviceReason;
    }
    if (this.message) s.message = this.message;
    return s;
  }

  /**
   * The longest canvas the loaded model can take while leaving at least half of its window for
   * context. Unknown (unbounded) until a model has loaded; the engine then rejects a canvas that
   * does not fit at all, and nothing is replaced.
   */
  maxCanvas(): number {
    return this.info ? Math.floor((this.info.window - 2) / 2) : Infinity;
  }

  /**
   * One request for a span plan (Fill Selection, and writing the rest of a cut completion); the
   * completion at a cursor builds its request in complete-at.ts and comes through `run`.
   * `timeBudgetMs`: answer within about that long, possibly with the decided start of each
   * completion (`truncated`). `grow`: this run writes the rest of such an answer (only the trace
   * tells them apart).
   */
  async infill(
    plan: SpanPlan, context: InfillContext, settings: ServerSettings, signal: AbortSignal, timeBudgetMs?: number, grow = false,
  ): Promise<Completion> {
    // The rest of a cut completion reads the extra context only if its start could (inline-completion.ts).
    const result = await this.run({ ...engineRequest(plan, context, settings), timeBudgetMs, extraContextWhenWarm: grow }, context, settings, signal, grow);
    return { candidates: result.candidates, latencyMs: result.latencyMs };
  }

  /**
   * Runs one engine request: waits for a load in progress, adds the code from other files for
   * `context`, times the run and reports its latency. Throws CancelledError when the signal
   * aborted (whatever the engine threw then), ModelNotReadyError when there is no model to run, or
   * the engine's error, which counts towards the failure streak.
   */
  async run(
    request: InfillRequest, context: InfillContext, settings: ServerSettings, signal: AbortSignal | undefined, grow = false,
  ): Promise<InfillResult & { latencyMs: number }> {
    if (this.loading) await this.loading;
    if (signal?.aborted) throw new CancelledError();
    const engine = this.engine;
    if (!engine || !this.enabled || this.state !== 'ready') {
      const status = this.status();
      throw new ModelNotReadyError(status.message ?? `The model is not ready (${status.state}).`);
    }
    const started = performance.now();
    try {
      const extra = this.extraFor(context, settings);
      const result = await engine.infill({ ...request, extraContext: extra?.text, maxExtraTokens: extra?.maxTokens, names: extra?.names, members: extra?.members }, signal);
      const latencyMs = performance.now() - started;
      this.failures = 0;
      this.noteDevice(result.device);
      this.reportLatency(latencyMs, result.candidates.reduce((sum, c) => sum + c.tokens, 0),
        { crossFileTokens: result.extraTokens ?? 0, crossFileChunks: result.extraTokens ? extra?.chunks ?? 0 : 0, crossFileNames: namesOffered(extra, request) });
      if (TRACE) {
        // One line per answered request (DIFFUSION_INFILL_TRACE=1): the benches read the breakdown from it.
        const mode = request.sampler.singleLine ? 'single-line' : 'multi-line';
        this.log(`[trace] ${JSON.stringify({ kind: 'infill', document: context.document, mode, latencyMs,
          modelMs: result.timings.modelMs, engineMs: result.timings.totalMs, contextMs: result.timings.contextMs,
          context: result.context, extraTokens: result.extraTokens, extraSkipped: result.extraSkipped, canvasPasses: result.canvasPasses, truncated: result.candidates.some((c) => c.truncated), grow })}`);
      }
      return { ...result, latencyMs };
    } catch (error) {
      if (signal?.aborted || error instanceof CancelledError) throw new CancelledError();
      this.failed(error, engine);
      throw error;
    }
  }

  /**
   * Warms the engine's context cache for a cursor position (prefill.ts decides when): the same
   * request infill would send, context pass only. Failures are not counted: a missed warm-up
   * only makes the next completion compute its context itself.
   */
  async prefill(plan: SpanPlan, context: InfillContext, settings: ServerSettings, signal: AbortSignal): Promise<void> {
    if (this.loading) await this.loading;
    const engine = this.engine;
    if (signal.aborted || !engine?.prefill || !this.enabled || this.state !== 'ready' || !settings.cache) return;
    const started = performance.now();
    const stats = await engine.prefill(engineRequest(plan, context, settings, this.extraFor(context, settings)), signal);
    if (TRACE) this.log(`[trace] ${JSON.stringify({ kind: 'prefill', document: context.document, ms: performance.now() - started, context: stats })}`);
  }

  /** The document was closed: its cached context in the engine is of no more use. */
  forget(document: string): void {
    this.engine?.forget?.(document);
  }

  async dispose(): Promise<void> {
    this.generation++;
    const engine = this.engine;
    this.engine = undefined;
    if (engine) await engine.dispose().catch(() => undefined);
  }

  /** A GPU that failed mid-session moved the engine to the CPU: the log and the status bar say so. */
  private noteDevice(device: InfillResult['device']): void {
    if (!device || !this.info || device.provider === this.info.provider) return;
    this.info = { ...this.info, provider: device.provider, deviceReason: device.reason, providerNotes: device.notes };
    this.log(`Now on ${device.provider}: ${device.reason} (${device.notes[device.notes.length - 1] ?? ''})`);
    this.report(this.status());
  }

  /** The request's code from other files; a failing provider costs the request only that. */
  private extraFor(context: InfillContext, settings: ServerSettings) {
    try {
      return this.extraContext?.(context, settings);
    } catch (error) {
      this.log(`Context from other files failed: ${errorText(error)}`);
      return undefined;
    }
  }

  /** After each completion: the latency and speed the status bar shows, and how much code from other files it read. */
  private reportLatency(latencyMs: number, tokens: number, crossFile: { crossFileTokens: number; crossFileChunks: number; crossFileNames: number }): void {
    if (this.state !== 'ready') return;
    const tokensPerSecond = latencyMs > 0 ? Math.round((tokens / latencyMs) * 1000 * 10) / 10 : 0;
    this.report({ ...this.status(), lastLatencyMs: Math.round(latencyMs), tokensPerSecond, ...crossFile });
  }

  /**
   * A request failed for a reason other than cancellation. One failure may be a worker crash
   * (the worker engine starts a new worker on the next request), so it is only logged; a streak
   * of them puts the server in the error state until the settings change.
   */
  private failed(error: unknown, engine: InfillEngine): void {
    // An engine replaced by a reload fails its in-flight requests on purpose.
    if (engine !== this.engine) return;
    this.log(`Engine error: ${errorText(error)}`);
    this.failures++;
    if (this.failures >= MAX_FAILURES_IN_A_ROW && this.state === 'ready') {
      this.setState('error', `Completions failed ${this.failures} times in a row (${errorText(error)}). `
        + 'Check diffusionInfill.modelPath and diffusionInfill.device, or restart the language server.');
    }
  }

  private setState(state: ServerState, message?: string): void {
    this.state = state;
    this.message = message;
    this.report(this.status());
  }

  private startLoad(settings: ServerSettings): void {
    const generation = ++this.generation;
    const old = this.engine;
    this.engine = undefined;
    this.info = undefined;
    // The old engine (and its worker) is released in the background; nothing waits on it.
    if (old) void old.dispose().catch((error) => this.log(`Disposing the old engine failed: ${errorText(error)}`));
    const load = this.load(settings, generation).finally(() => {
      if (this.loading === load) this.loading = undefined;
    });
    this.loading = load;
  }

  private async load(settings: ServerSettings, generation: number): Promise<void> {
    const modelDir = resolveModelPath(settings.modelPath, this.packageRoot);
    this.setState('loading');
    this.failures = 0;
    let engine: InfillEngine | undefined;
    try {
      // The engine checks the folder and model.json (model-host/src/model/manifest.ts); its messages
      // name the file and what is wrong.
      engine = this.createEngine({ modelDir, provider: settings.device });
      const info = await engine.load();
      if (generation !== this.generation) {
        await engine.dispose().catch(() => undefined);
        return;
      }
      this.engine = engine;
      this.info = info;
      this.log(`Loaded ${info.name} from ${info.path} on ${info.provider} in ${Math.round(info.loadMs)} ms: ${info.deviceReason}`
        + (info.providerNotes.length ? ` (${info.providerNotes.join('; ')})` : ''));
      this.setState('ready');
    } catch (error) {
      if (engine) await engine.dispose().catch(() => undefined);
      if (generation !== this.generation) return;
      const message = `Could not load the model at ${modelDir} on device '${settings.device}': ${errorText(error)}. `
        + 'Check diffusionInfill.modelPath and diffusionInfill.device.';
      this.log(message);
      this.setState('error', message);
    }
  }
}

/** Per-request breakdown lines in the log, for benches, tests and bug reports (off unless set). */
export const TRACE = process.env.DIFFUSION_INFILL_TRACE === '1';

/** How many names from other files the request's sampler favoured (none when the bias is off). */
function namesOffered(extra: ExtraContext | undefined, request: InfillRequest): number {
  if (!extra || !request.sampler.nameBias) return 0;
  return extra.names.length + Object.values(extra.members).reduce((sum, list) => sum + list.length, 0);
}
