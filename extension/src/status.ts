// The status bar item: model, device, last latency and speed; a spinner while loading; the error state.
import * as vscode from 'vscode';
import type { ServerStatusParams } from '../../language-server/src/lsp_ext';

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  last: ServerStatusParams = { state: 'loading' };

  constructor() {
    this.item.name = 'Diffusion Infill';
    this.item.command = 'diffusionInfill.menu';
    this.update(this.last);
    this.item.show();
  }

  update(s: ServerStatusParams): void {
    // Latency updates carry no model/device: keep what an earlier message said.
    this.last = { ...this.last, ...s, message: s.message };
    const l = this.last;
    const model = l.model ? `${l.model}` : 'model';
    const speed = l.lastLatencyMs !== undefined
      ? ` ${Math.round(l.lastLatencyMs)} ms${l.tokensPerSecond ? ` · ${Math.round(l.tokensPerSecond)} tok/s` : ''}` : '';
    this.item.backgroundColor = undefined;
    switch (l.state) {
      case 'loading':
        this.item.text = '$(loading~spin) Infill';
        this.item.tooltip = 'Diffusion Infill: loading the model…';
        break;
      case 'ready':
        this.item.text = `$(sparkle) Infill${speed}`;
        this.item.tooltip = `Diffusion Infill: ${model} on ${l.device ?? 'cpu'}${speed ? `\nlast completion:${speed}` : ''}`;
        break;
      case 'disabled':
        this.item.text = '$(circle-slash) Infill';
        this.item.tooltip = 'Diffusion Infill is turned off (click to turn it on)';
        break;
      case 'error':
        this.item.text = '$(error) Infill';
        this.item.tooltip = `Diffusion Infill: ${l.message ?? 'error'}`;
        this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
        break;
    }
  }

  dispose(): void {
    this.item.dispose();
  }
}
