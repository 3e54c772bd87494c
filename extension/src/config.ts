// Typed access to the diffusionInfill.* settings, and their translation into the server's
// ServerSettings. This is the only module that reads the configuration; which settings exist,
// their keys, types and defaults come from the table in language-server/src/protocol.ts.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { acceptSetting } from '../../model-host/src/settings/setting-spec';
import { CLIENT_SETTINGS, SETTINGS, SETTINGS_SECTION, type ClientSettingName, type ServerSettings } from '../../language-server/src/protocol';

/** The settings as the client sends them: every contributed one. The context-window budgets are
 *  not contributed; they keep the server's defaults. */
export type ClientServerSettings = Pick<ServerSettings, ClientSettingName>;

export class Config {
  /** @param bundledModel the extension's models/default folder, sent when modelPath is empty. */
  constructor(readonly bundledModel: string) {}

  private get cfg(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(SETTINGS_SECTION);
  }

  /**
   * One setting, under the server's rules (a value of the wrong type, from a hand-edited
   * settings.json, falls back to the default; a number out of range is clamped). modelPath is
   * read by its own getter: where it may come from depends on workspace trust.
   */
  get<K extends Exclude<ClientSettingName, 'modelPath'>>(name: K): ServerSettings[K] {
    const spec = SETTINGS[name];
    const value = acceptSetting(spec, this.cfg.get<unknown>(spec.key));
    const fallback: unknown = spec.default;
    return (value ?? (Array.isArray(fallback) ? [...fallback] : fallback)) as ServerSettings[K];
  }

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
    const info = this.cfg.inspect<string>(SETTINGS.modelPath.key);
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
    const s: Record<string, unknown> = { modelPath: this.modelPath || this.bundledModel };
    for (const name of CLIENT_SETTINGS) if (name !== 'modelPath') s[name] = this.get(name);
    return s as ClientServerSettings;
  }

  /**
   * Flips `enable` in the user's settings. Returns the state now in effect, and whether a workspace
   * value overrides the user value (then the flip changes nothing here, and the caller says so).
   */
  async toggleEnable(): Promise<{ enabled: boolean; overridden: boolean }> {
    const want = !this.get('enable');
    await this.cfg.update(SETTINGS.enable.key, want, vscode.ConfigurationTarget.Global);
    const info = this.cfg.inspect<boolean>(SETTINGS.enable.key);
    const overridden = info?.workspaceFolderValue !== undefined || info?.workspaceValue !== undefined;
    const enabled = this.get('enable');
    return { enabled, overridden: overridden && enabled !== want };
  }

  affectedBy(e: vscode.ConfigurationChangeEvent): boolean {
    return e.affectsConfiguration(SETTINGS_SECTION);
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
