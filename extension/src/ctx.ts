// The language client's lifecycle: start the bundled server, forward settings, relay its status
// to the status bar, show load progress, and report a broken model once rather than per keystroke.
import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import { serverStatus, type ServerStatusParams } from '../../language-server/src/lsp_ext';
import { Config, SECTION } from './config';
import { StatusBar } from './status';

export class Ctx implements vscode.Disposable {
  client: LanguageClient | undefined;
  readonly config = new Config();
  readonly output = vscode.window.createOutputChannel('Diffusion Infill', { log: true });
  readonly status = new StatusBar();
  private readonly subscriptions: vscode.Disposable[] = [];
  private loadingDone: (() => void) | undefined;
  private lastError: string | undefined;

  constructor(private readonly extension: vscode.ExtensionContext) {
    this.subscriptions.push(this.output, this.status,
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(SECTION)) this.sendSettings();
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.sendSettings()));
  }

  async start(): Promise<void> {
    const module = this.extension.asAbsolutePath('dist/server.js');
    const serverOptions: ServerOptions = {
      run: { module, transport: TransportKind.ipc },
      debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6019'] } },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
      initializationOptions: this.config.serverSettings(this.extension.asAbsolutePath('models/default')),
      outputChannel: this.output,
    };
    this.client = new LanguageClient('diffusionInfill', 'Diffusion Infill', serverOptions, clientOptions);
    this.client.onNotification(serverStatus, (s) => this.onStatus(s));
    this.showLoading();
    await this.client.start();
  }

  async restart(): Promise<void> {
    await this.stop();
    this.lastError = undefined;
    await this.start();
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c) await c.stop().catch((e) => this.output.appendLine(`stopping the server: ${e}`));
  }

  /** Settings changes take effect on the next request; a new model path or device reloads the model. */
  sendSettings(): void {
    void this.client?.sendNotification('workspace/didChangeConfiguration', { settings: { [SECTION]: this.config.serverSettings(this.extension.asAbsolutePath('models/default')) } });
  }

  private onStatus(s: ServerStatusParams): void {
    this.status.update(s);
    if (s.state === 'loading') this.showLoading();
    else {
      this.loadingDone?.();
      this.loadingDone = undefined;
    }
    if (s.state === 'error' && s.message && s.message !== this.lastError) {
      this.lastError = s.message;
      this.output.error(s.message);
      void vscode.window.showErrorMessage(`Diffusion Infill: ${s.message}`, 'Open Settings', 'Show Logs').then((choice) => {
        if (choice === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.modelPath`);
        if (choice === 'Show Logs') this.output.show();
      });
    }
    if (s.state === 'ready') this.lastError = undefined;
  }

  private showLoading(): void {
    if (this.loadingDone) return;
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Diffusion Infill: loading the model…' },
      () => new Promise<void>((resolve) => { this.loadingDone = resolve; }),
    );
  }

  dispose(): void {
    this.loadingDone?.();
    for (const d of this.subscriptions) d.dispose();
  }
}
