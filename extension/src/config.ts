// Typed access to the diffusionInfill.* settings, and their translation into the server's
// ServerSettings. This is the only module that reads the configuration.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { defaultServerSettings, type ServerSettings } from '../../language-server/src/lsp_ext';

export const SECTION = 'diffusionInfill';

/** The settings as the client sends them: every user-facing field. The context-window budgets are
 *  not user settings; they keep the server's defaults. */
export type ClientServerSettings = Omit<ServerSettings, 'maxPrefixTokens' | 'maxSuffixTokens'>;

type Forwarded = Exclude<keyof ClientServerSettings, 'modelPath'>;

/**
 * Each ServerSettings field the client sends, and the contributed setting (its name under
 * `diffusionInfill.`) that feeds it.
 * modelPath is not here: where it may come from depends on workspace trust (see `Config.modelPath`).
 */
export const forwardedSettings: Readonly<Record<Forwarded, string>> = {
  enable: 'enable',
  disabledLanguages: 'disabledLanguages',
  device: 'device',
  steps: 'steps',
  blockLength: 'blockLength',
  maxTokensSingleLine: 'maxTokens.singleLine',
  maxTokensMultiLine: 'maxTokens.multiLine',
  temperature: 'temperature',
  confidenceThreshold: 'confidenceThreshold',
  cache: 'cache',
  candidates: 'candidates',
  debounceMs: 'debounceMs',
};

export class Config {
  /** @param bundledModel the extension's models/default folder, sent when modelPath is empty. */
  constructor(readonly bundledModel: string) {}

  private get cfg(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(SECTION);
  }

  /** One forwarded setting; a value of the wrong type (hand-edited settings.json) falls back to the default. */
  private value<K extends Forwarded>(field: K): ClientServerSettings[K] {
    const fallback = defaultServerSettings[field] as unknown as ClientServerSettings[K];
    const v = this.cfg.get<unknown>(forwardedSettings[field]);
    if (Array.isArray(fallback)) return (Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [...fallback]) as ClientServerSettings[K];
    return (typeof v === typeof fallback ? v : fallback) as ClientServerSettings[K];
  }

  get enable(): boolean { return this.value('enable'); }
  get disabledLanguages(): string[] { return this.value('disabledLanguages'); }
  get device(): ServerSettings['device'] { return this.value('device'); }
  get steps(): number { return this.value('steps'); }
  get blockLength(): number { return this.value('blockLength'); }
  get maxTokensSingleLine(): number { return this.value('maxTokensSingleLine'); }
  get maxTokensMultiLine(): number { return this.value('maxTokensMultiLine'); }
  get temperature(): number { return this.value('temperature'); }
  get confidenceThreshold(): number { return this.value('confidenceThreshold'); }
  get cache(): boolean { return this.value('cache'); }
  get candidates(): number { return this.value('candidates'); }
  get debounceMs(): number { return this.value('debounceMs'); }

  /**
   * The model folder the user chose, or '' for the bundled default.
   *
   * In an untrusted workspace only the user's own (global) value counts: a repository must not be
   * able to make the extension load a model file of its choosing. In a trusted workspace a
   * workspace value wins, and a relative one is taken from the workspace (its .code-workspace
   * file's folder, or its first folder) rather than from wherever the extension is installed.
   * A relative user value is left to the server, which takes it from the extension's folder
   * (so `models/tiny` picks a bundled model); `~` is expanded by the server.
   */
  get modelPath(): string {
    const info = this.cfg.inspect<string>('modelPath');
    const user = clean(info?.globalValue);
    if (!vscode.workspace.isTrusted) return user;
    const workspace = clean(info?.workspaceFolderValue) || clean(info?.workspaceValue);
    if (!workspace) return user;
    if (path.isAbsolute(workspace) || workspace.startsWith('~')) return workspace;
    const base = workspaceBase();
    return base ? path.resolve(base, workspace) : workspace;
  }

  /**
   * Everything the server needs, in its shape: sent as initializationOptions and on every change.
   * The server merges what it gets over its current settings, so an empty modelPath is sent as the
   * bundled model's folder: clearing the setting switches back to it.
   */
  serverSettings(): ClientServerSettings {
    const s: ClientServerSettings = {
      enable: this.enable,
      disabledLanguages: this.disabledLanguages,
      device: this.device,
      steps: this.steps,
      blockLength: this.blockLength,
      maxTokensSingleLine: this.maxTokensSingleLine,
      maxTokensMultiLine: this.maxTokensMultiLine,
      temperature: this.temperature,
      confidenceThreshold: this.confidenceThreshold,
      cache: this.cache,
      candidates: this.candidates,
      debounceMs: this.debounceMs,
      modelPath: this.modelPath || this.bundledModel,
    };
    return s;
  }

  /**
   * Flips `enable` in the user's settings. Returns the state now in effect, and whether a workspace
   * value overrides the user value (then the flip changes nothing here, and the caller says so).
   */
  async toggleEnable(): Promise<{ enabled: boolean; overridden: boolean }> {
    const want = !this.enable;
    await this.cfg.update('enable', want, vscode.ConfigurationTarget.Global);
    const info = this.cfg.inspect<boolean>('enable');
    const overridden = info?.workspaceFolderValue !== undefined || info?.workspaceValue !== undefined;
    return { enabled: this.enable, overridden: overridden && this.enable !== want };
  }

  affectedBy(e: vscode.ConfigurationChangeEvent): boolean {
    return e.affectsConfiguration(SECTION);
  }
}

function clean(v: unknown): string {
  return typeof v === 'string' ? v.trim() : '';
}

/** The folder a relative workspace setting is relative to. */
function workspaceBase(): string | undefined {
  const file = vscode.workspace.workspaceFile;
  if (file && file.scheme === 'file') return path.dirname(file.fsPath);
  const folder = vscode.workspace.workspaceFolders?.[0];
  return folder && folder.uri.scheme === 'file' ? folder.uri.fsPath : undefined;
}
