// Typed access to the diffusionInfill.* settings, and their translation into the server's settings.
import * as vscode from 'vscode';
import { defaultServerSettings, type ServerSettings } from '../../language-server/src/lsp_ext';
import type { ExecutionProviderSetting } from '../../model-host/src/types';

export const SECTION = 'diffusionInfill';

export class Config {
  private get cfg(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(SECTION);
  }

  private get<T>(key: string, fallback: T): T {
    return this.cfg.get<T>(key, fallback);
  }

  get enable(): boolean { return this.get('enable', defaultServerSettings.enable); }

  /**
   * The model folder. In an untrusted workspace only the user's own (global) value counts: a
   * workspace must not be able to point the extension at a model file of its choosing.
   */
  get modelPath(): string {
    if (!vscode.workspace.isTrusted) return this.cfg.inspect<string>('modelPath')?.globalValue ?? '';
    return this.get('modelPath', '');
  }

  /** Everything the server needs, in its shape. An empty modelPath means the bundled model, which is
   *  named explicitly so that clearing the setting switches back to it. */
  serverSettings(bundledModel: string): Partial<ServerSettings> {
    const d = defaultServerSettings;
    const s: Partial<ServerSettings> = {
      enable: this.enable,
      disabledLanguages: this.get<string[]>('disabledLanguages', []),
      device: this.get<ExecutionProviderSetting>('device', d.device),
      steps: this.get('steps', d.steps),
      blockLength: this.get('blockLength', d.blockLength),
      maxTokensSingleLine: this.get('maxTokens.singleLine', d.maxTokensSingleLine),
      maxTokensMultiLine: this.get('maxTokens.multiLine', d.maxTokensMultiLine),
      temperature: this.get('temperature', d.temperature),
      confidenceThreshold: this.get('confidenceThreshold', d.confidenceThreshold),
      cache: this.get('cache', d.cache),
      candidates: this.get('candidates', d.candidates),
      debounceMs: this.get('debounceMs', d.debounceMs),
    };
    s.modelPath = this.modelPath.trim() || bundledModel;
    return s;
  }

  async setEnable(value: boolean): Promise<void> {
    await this.cfg.update('enable', value, vscode.ConfigurationTarget.Global);
  }
}
