// The status bar item: model and device, the last completion's latency and speed, a spinner while
// the model loads, the error state (message in the tooltip), and the disabled state. Clicking it
// opens the quick menu (diffusionInfill.showMenu).
import * as vscode from 'vscode';
import type { ServerStatusParams } from '../../language-server/src/protocol';

/** What the item shows: the server's last report, plus what only the client knows. */
export interface StatusView extends ServerStatusParams {
  /** The client turned completions off (the server says so too, but may not be running). */
  clientDisabled?: boolean;
}

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('diffusionInfill.status', vscode.StatusBarAlignment.Right, 100);
  private view: StatusView = { state: 'loading' };
  private readonly changed = new vscode.EventEmitter<Readonly<StatusView>>();
  /** Fires whenever what the item shows changes; tests in the extension host wait on it. */
  readonly onDidChange: vscode.Event<Readonly<StatusView>> = this.changed.event;

  constructor() {
    this.item.name = 'Diffusion Infill';
    this.item.command = 'diffusionInfill.showMenu';
    this.render();
    this.item.show();
  }

  get current(): Readonly<StatusView> {
    return this.view;
  }

  /**
   * A serverStatus notification. Latency reports repeat model and device, but a state change
   * clears the previous latency (it belonged to another model or device).
   */
  update(s: ServerStatusParams): void {
    const sameRun = s.state === this.view.state && (s.model ?? this.view.model) === this.view.model;
    this.view = {
      ...s,
      model: s.model ?? (sameRun ? this.view.model : undefined),
      device: s.device ?? (sameRun ? this.view.device : undefined),
      deviceReason: s.deviceReason ?? (sameRun ? this.view.deviceReason : undefined),
      lastLatencyMs: s.lastLatencyMs ?? (sameRun ? this.view.lastLatencyMs : undefined),
      tokensPerSecond: s.tokensPerSecond ?? (sameRun ? this.view.tokensPerSecond : undefined),
      crossFileTokens: s.crossFileTokens ?? (sameRun ? this.view.crossFileTokens : undefined),
      crossFileChunks: s.crossFileChunks ?? (sameRun ? this.view.crossFileChunks : undefined),
      crossFileNames: s.crossFileNames ?? (sameRun ? this.view.crossFileNames : undefined),
      clientDisabled: this.view.clientDisabled,
    };
    this.render();
  }

  /** The error state for failures the server cannot report itself (it did not start, or stopped). */
  setError(message: string): void {
    this.view = { state: 'error', message, clientDisabled: this.view.clientDisabled };
    this.render();
  }

  setClientDisabled(disabled: boolean): void {
    this.view = { ...this.view, clientDisabled: disabled };
    this.render();
  }

  private render(): void {
    const v = this.view;
    const item = this.item;
    item.backgroundColor = undefined;
    const where = v.model ? `${v.model}${v.device ? ` on ${v.device}` : ''}` : undefined;
    if (v.state === 'error') {
      // An error outranks "disabled": the user should learn that the model is broken.
      item.text = '$(error) Infill';
      item.tooltip = `Diffusion Infill: ${v.message ?? 'something went wrong'}\nClick for options.`;
      item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
    } else if (v.clientDisabled || v.state === 'disabled') {
      item.text = '$(circle-slash) Infill';
      item.tooltip = 'Diffusion Infill: completions are turned off.\nClick for options.';
    } else if (v.state === 'loading') {
      item.text = '$(loading~spin) Infill';
      item.tooltip = 'Diffusion Infill: loading the model…';
    } else {
      const latency = v.lastLatencyMs !== undefined ? ` ${Math.round(v.lastLatencyMs)} ms` : '';
      item.text = `$(sparkle) ${v.model ?? 'Infill'}${v.device ? ` · ${v.device}` : ''}${latency}`;
      const lines = [`Diffusion Infill: ${where ?? 'model loaded'}`];
      if (v.deviceReason) lines.push(`Device: ${v.deviceReason}`);
      if (v.lastLatencyMs !== undefined) {
        const speed = v.tokensPerSecond ? `, ${formatSpeed(v.tokensPerSecond)} tokens/s` : '';
        lines.push(`Last completion: ${Math.round(v.lastLatencyMs)} ms${speed}`);
      }
      // How much code from other files the last completion read (diffusionInfill.crossFile.*).
      if (v.crossFileTokens !== undefined) lines.push(`Context from other files: ${crossFileLine(v.crossFileTokens, v.crossFileChunks ?? 0, v.crossFileNames ?? 0)}`);
      lines.push('Click for options.');
      item.tooltip = lines.join('\n');
    }
    item.accessibilityInformation = { label: typeof item.tooltip === 'string' ? item.tooltip : item.text };
    this.changed.fire(v);
  }

  dispose(): void {
    this.item.dispose();
    this.changed.dispose();
  }
}

function formatSpeed(tps: number): string {
  return tps >= 10 ? String(Math.round(tps)) : tps.toFixed(1);
}

/** What the last completion read from other files: code, and the names its sampler favoured. */
function crossFileLine(tokens: number, chunks: number, names: number): string {
  const parts: string[] = [];
  if (tokens > 0) parts.push(`${tokens} tokens in ${chunks} chunk${chunks === 1 ? '' : 's'}`);
  if (names > 0) parts.push(`${names} name${names === 1 ? '' : 's'}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}
