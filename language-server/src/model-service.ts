// Owns the inference engine: loads it for the configured model and device, reloads it when
// those settings change, reports every state change to the client as a serverStatus
// notification, and never lets a missing or broken model take the server down: until a
// model is ready, `current()` is undefined and the handlers answer with nothing.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { cappedWindow, readManifestJson } from '../../model-host/src/model-paths';
import type { EngineOptions, InfillEngine, ModelInfo } from '../../model-host/src/types';
import type { ServerSettings, ServerState, ServerStatusParams } from './lsp_ext';
import { engineKey, resolveModelPath } from './settings';

const MAX_FAILURES_IN_A_ROW = 3;

export type EngineFactory = (options: EngineOptions) => InfillEngine;
export type StatusSink = (status: ServerStatusParams) => void;
export type Logger = (message: string) => void;

/** What the server needs from model.json before loading: the token window it was trained on. */
export interface ModelWindow {
  /** bos + prefix + canvas + suffix + eos must fit in this many tokens. */
  tokens: number;
}

/** Checks the model folder: a message a user can act on, or the model's window. */
export function checkModelFolder(modelDir: string): { problem: string } | { window: ModelWindow } {
  const manifest = path.join(modelDir, 'model.json');
  if (!fs.existsSync(manifest)) {
    return { problem: `Model not found at ${modelDir}: set diffusionInfill.modelPath to a folder containing model.json.` };
  }
  // model.json must lie inside the folder (no symlink out) and its parse errors never quote it.
  let parsed: { train_seq_len?: unknown; max_positions?: unknown };
  try {
    parsed = (readManifestJson(modelDir).raw ?? {}) as typeof parsed;
  } catch (error) {
    return { problem: `${errorText(error)}: fix it or set diffusionInfill.modelPath to another model.` };
  }
  // An inflated window (65,536) would make every canvas and context plan huge: capped.
  return { window: { tokens: cappedWindow(parsed.train_seq_len, parsed.max_positions) } };
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class EngineHost {
  private engine: InfillEngine | undefined;
  private info: ModelInfo | undefined;
  private key: string | undefined;
  private state: ServerState = 'loading';
  private message: string | undefined;
  private enabled = true;
  /** Bumped on every (re)load; a load that finishes under an old generation is discarded. */
  private generation = 0;
  private loading: Promise<void> | undefined;
  private window: ModelWindow = { tokens: Infinity };
  /** Infill failures in a row; the worker restarts itself after a crash, so only a streak
   *  means the model is unusable. */
  private failures = 0;

  constructor(
    private readonly createEngine: EngineFactory,
    private readonly packageRoot: string,
    private readonly report: StatusSink,
    private readonly log: Logger,
  ) {}

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

  /** The engine when a model is loaded and completions are enabled; waits for a load in progress. */
  async ready(): Promise<InfillEngine | undefined> {
    if (this.loading) await this.loading;
    return this.enabled && this.state === 'ready' ? this.engine : undefined;
  }

  status(): ServerStatusParams {
    if (!this.enabled) return { state: 'disabled', model: this.info?.name, device: this.info?.provider };
    const s: ServerStatusParams = { state: this.state };
    if (this.info && this.state === 'ready') {
      s.model = this.info.name;
      s.device = this.info.provider;
    }
    if (this.message) s.message = this.message;
    return s;
  }

  /** After each completion: the latency and speed the status bar shows. */
  reportRequest(latencyMs: number, tokens: number): void {
    if (this.state !== 'ready') return;
    const tokensPerSecond = latencyMs > 0 ? Math.round((tokens / latencyMs) * 1000 * 10) / 10 : 0;
    this.report({ ...this.status(), lastLatencyMs: Math.round(latencyMs), tokensPerSecond });
  }

  /**
   * The longest canvas the loaded model can take while leaving at least half of its window
   * for context (the engine rejects a canvas that does not fit at all).
   */
  maxCanvas(): number {
    return Math.floor((this.window.tokens - 2) / 2);
  }

  /** An infill call succeeded: the failure streak is over. */
  engineSucceeded(): void {
    this.failures = 0;
  }

  /**
   * An infill call failed for a reason other than cancellation. One failure may be a worker
   * crash (the worker engine starts a new worker on the next request), so it is only logged;
   * a streak of them puts the server in the error state until the settings change.
   */
  engineFailed(error: unknown, engine: InfillEngine): void {
    // An engine replaced by a reload fails its in-flight requests on purpose.
    if (engine !== this.engine) return;
    this.log(`Engine error: ${errorText(error)}`);
    this.failures++;
    if (this.failures >= MAX_FAILURES_IN_A_ROW && this.state === 'ready') {
      this.setState('error', `Completions failed ${this.failures} times in a row (${errorText(error)}). `
        + 'Check diffusionInfill.modelPath and diffusionInfill.device, or restart the language server.');
    }
  }

  async dispose(): Promise<void> {
    this.generation++;
    const engine = this.engine;
    this.engine = undefined;
    if (engine) await engine.dispose().catch(() => undefined);
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
    const checked = checkModelFolder(modelDir);
    if ('problem' in checked) {
      this.log(checked.problem);
      this.setState('error', checked.problem);
      return;
    }
    this.window = checked.window;
    let engine: InfillEngine | undefined;
    try {
      engine = this.createEngine({ modelDir, provider: settings.device });
      const info = await engine.load();
      if (generation !== this.generation) {
        await engine.dispose().catch(() => undefined);
        return;
      }
      this.engine = engine;
      this.info = info;
      this.log(`Loaded ${info.name} from ${info.path} on ${info.provider} in ${Math.round(info.loadMs)} ms`
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
