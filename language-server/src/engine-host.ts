// Owns the inference engine: loads it for the configured model and device, reloads it when
// those settings change, reports every state change to the client as a serverStatus
// notification, and never lets a missing or broken model take the server down: until a
// model is ready, `current()` is undefined and the handlers answer with nothing.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EngineOptions, InfillEngine, ModelInfo } from '../../model-host/src/types';
import type { ServerSettings, ServerState, ServerStatusParams } from './lsp_ext';
import { engineKey, resolveModelPath } from './settings';

export type EngineFactory = (options: EngineOptions) => InfillEngine;
export type StatusSink = (status: ServerStatusParams) => void;
export type Logger = (message: string) => void;

/** A message a user can act on, or undefined when the folder looks like a model. */
export function checkModelFolder(modelDir: string): string | undefined {
  const manifest = path.join(modelDir, 'model.json');
  if (!fs.existsSync(manifest)) {
    return `Model not found at ${modelDir}: set diffusionInfill.modelPath to a folder containing model.json.`;
  }
  try {
    JSON.parse(fs.readFileSync(manifest, 'utf8'));
  } catch (error) {
    return `The model manifest ${manifest} is not valid JSON (${errorText(error)}): fix it or set diffusionInfill.modelPath to another model.`;
  }
  return undefined;
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
  private lastSettings: ServerSettings | undefined;

  constructor(
    private readonly createEngine: EngineFactory,
    private readonly packageRoot: string,
    private readonly report: StatusSink,
    private readonly log: Logger,
  ) {}

  /** Applies settings: reloads the engine when the model path or device changed. */
  configure(settings: ServerSettings): void {
    this.lastSettings = settings;
    const wasEnabled = this.enabled;
    this.enabled = settings.enable;
    const key = engineKey(settings, this.packageRoot);
    if (key !== this.key) {
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
   * An infill call failed for a reason other than cancellation. The engine (or its worker)
   * may be dead, so load it afresh once; if that fails too the status says why and the
   * server waits for a settings change.
   */
  engineFailed(error: unknown): void {
    this.log(`Engine error: ${errorText(error)}`);
    if (this.loading || !this.lastSettings) return;
    this.startLoad(this.lastSettings);
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
    const problem = checkModelFolder(modelDir);
    if (problem) {
      this.log(problem);
      this.setState('error', problem);
      return;
    }
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
