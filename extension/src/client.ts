// The language client's lifecycle: start the bundled server (dist/server.js) over node IPC, keep
// its settings in step with the configuration, relay its status to the status bar, show progress
// while the model loads, and report a broken model or a dead server once, not per keystroke.
// Whatever fails here, the editor keeps working: completions just stop coming.
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import {
  CloseAction,
  DidChangeConfigurationNotification,
  ErrorAction,
  LanguageClient,
  ResponseError,
  RevealOutputChannelOn,
  State,
  TransportKind,
  type CloseHandlerResult,
  type ErrorHandler,
  type ErrorHandlerResult,
  type LanguageClientOptions,
  type Message,
  type ServerOptions,
} from 'vscode-languageclient/node';
import { errorText } from '../../model-host/src/errors';
import { completionGrew, serverStatus, SETTINGS, SETTINGS_SECTION, type CompletionGrewParams, type ServerStatusParams } from '../../language-server/src/protocol';
import { Config } from './config';
import { StatusBar } from './status';

/** Server crashes tolerated within three minutes before the client gives up (the library's rule). */
const MAX_RESTARTS = 4;
/** Loads shorter than this show only the status bar spinner, not a notification that flashes. */
const PROGRESS_DELAY_MS = 500;

export class Client implements vscode.Disposable {
  readonly config: Config;
  readonly output = vscode.window.createOutputChannel('Diffusion Infill', { log: true });
  readonly status = new StatusBar();
  private readonly progress = new LoadingProgress();
  private readonly disposables: vscode.Disposable[] = [];
  private clientDisposables: vscode.Disposable[] = [];
  private current: LanguageClient | undefined;
  /** start/stop/restart run one after another, never interleaved. */
  private lifecycle: Promise<void> = Promise.resolve();
  /** The error message last shown, so the same failure is not announced again. */
  private shownError: string | undefined;
  /** Set while we stop the server ourselves, so the stop is not reported as a crash. */
  private stopping = false;

  constructor(private readonly extension: vscode.ExtensionContext) {
    this.config = new Config(extension.asAbsolutePath('models/default'));
    this.disposables.push(this.output, this.status, this.progress,
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!this.config.affectedBy(e)) return;
        this.status.setClientDisabled(!this.config.get('enable'));
        this.sendSettings();
      }),
      // Trust changes which modelPath values count.
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.sendSettings()));
    this.status.setClientDisabled(!this.config.get('enable'));
  }

  get extensionId(): string {
    return this.extension.extension.id;
  }

  /** The language client, while it is starting or running. */
  get languageClient(): LanguageClient | undefined {
    const c = this.current;
    return c && c.state !== State.Stopped ? c : undefined;
  }

  start(): Promise<void> {
    return this.enqueue(() => this.doStart());
  }

  stop(): Promise<void> {
    return this.enqueue(() => this.doStop());
  }

  restart(): Promise<void> {
    return this.enqueue(async () => {
      await this.doStop();
      this.shownError = undefined;
      this.output.info('Restarting the language server.');
      await this.doStart();
    });
  }

  /**
   * Sends the whole settings section in the server's shape. steps, device and the rest take effect
   * without a reload: the server reads sampler settings per request and reloads the model itself
   * when modelPath or device change.
   */
  sendSettings(): void {
    const c = this.languageClient;
    if (!c) return;
    c.sendNotification(DidChangeConfigurationNotification.type, { settings: { [SETTINGS_SECTION]: this.config.serverSettings() } })
      .catch((e: unknown) => this.output.warn(`Sending settings failed: ${errorText(e)}`));
  }

  private enqueue(op: () => Promise<void>): Promise<void> {
    const run = this.lifecycle.then(op, op);
    this.lifecycle = run.catch(() => undefined);
    return run;
  }

  private async doStart(): Promise<void> {
    const module = this.extension.asAbsolutePath('dist/server.js');
    if (!fs.existsSync(module)) {
      this.fail(`The language server is missing (${module}). Build the extension with "npm run build".`);
      return;
    }
    const serverOptions: ServerOptions = {
      run: { module, transport: TransportKind.ipc },
      debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6019'] } },
    };
    const clientOptions: LanguageClientOptions = {
      // Inline completions for every language; the server skips diffusionInfill.disabledLanguages.
      documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
      // A function, so that a restart after a crash sends the settings of that moment.
      initializationOptions: () => this.config.serverSettings(),
      outputChannel: this.output,
      // Errors reach the user through fail() once; the log must not pop open on its own.
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      errorHandler: this.errorHandler(),
      // No retry: start() then rejects, and doStart reports it.
      initializationFailedHandler: () => false,
      middleware: {
        workspace: {
          // The server registers for configuration changes, and the library would then forward
          // the raw section (nested maxTokens, a workspace modelPath whatever the trust). The
          // listener in the constructor sends the translated settings instead, so drop these.
          didChangeConfiguration: async () => undefined,
          // Should the server pull its section, answer in its shape too.
          configuration: async (params, token, next) => {
            const answers = await next(params, token);
            if (answers instanceof ResponseError || !Array.isArray(answers)) return answers;
            return params.items.map((item, i) => {
              if (item.section === SETTINGS_SECTION) return this.config.serverSettings();
              if (item.section === `${SETTINGS_SECTION}.${SETTINGS.modelPath.key}`) return this.config.serverSettings().modelPath;
              return answers[i];
            });
          },
        },
      },
    };
    const client = new LanguageClient('diffusionInfill', 'Diffusion Infill', serverOptions, clientOptions);
    this.current = client;
    this.clientDisposables.push(
      client.onNotification(serverStatus, (s) => this.onStatus(s)),
      client.onNotification(completionGrew, (p) => this.onGrew(p)),
      client.onDidChangeState((e) => {
        if (e.newState === State.Stopped && !this.stopping) this.progress.done();
      }),
    );
    this.status.update({ state: 'loading' });
    if (this.config.get('enable')) this.progress.show();
    try {
      await client.start();
      this.output.info(`Language server started (${module}).`);
    } catch (e) {
      this.fail(`The language server did not start: ${errorText(e)}`);
    }
  }

  private async doStop(): Promise<void> {
    const client = this.current;
    this.current = undefined;
    for (const d of this.clientDisposables) d.dispose();
    this.clientDisposables = [];
    this.progress.done();
    if (!client) return;
    this.stopping = true;
    try {
      if (client.needsStop()) await client.stop();
    } catch (e) {
      this.output.warn(`Stopping the language server: ${errorText(e)}`);
    } finally {
      this.stopping = false;
    }
  }

  /** Ghost text the time budget cut short is whole now: ask again, if the user is still where it was shown. */
  private onGrew(p: CompletionGrewParams): void {
    const editor = vscode.window.activeTextEditor;
    const c = this.current;
    if (!editor || !c || c.code2ProtocolConverter.asUri(editor.document.uri) !== p.textDocument.uri) return;
    if (editor.document.version !== p.version) return;
    // VS Code keeps showing a suggestion it already has even when a new request returns a longer
    // one, so the short one is hidden first and the new request shows the whole line.
    void (async () => {
      await vscode.commands.executeCommand('editor.action.inlineSuggest.hide');
      await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
    })();
  }

  private onStatus(s: ServerStatusParams): void {
    this.status.update(s);
    if (s.state === 'loading') {
      if (this.config.get('enable')) this.progress.show();
      return;
    }
    this.progress.done();
    if (s.state === 'ready') {
      this.shownError = undefined;
    } else if (s.state === 'error') {
      this.fail(s.message ?? 'The model could not be loaded.');
    }
  }

  /** Error state in the status bar, a line in the log, and (once per distinct message) a notification. */
  private fail(message: string): void {
    this.progress.done();
    this.status.setError(message);
    this.output.error(message);
    if (message === this.shownError) return;
    this.shownError = message;
    const openSettings = 'Open Settings';
    const showLogs = 'Show Logs';
    void vscode.window.showErrorMessage(`Diffusion Infill: ${message}`, openSettings, showLogs).then((choice) => {
      if (choice === openSettings) {
        void vscode.commands.executeCommand('workbench.action.openSettings', `@ext:${this.extensionId}`);
      } else if (choice === showLogs) {
        this.output.show();
      }
    });
  }

  /** The library's restart policy, with the final "will not be restarted" reported through fail(). */
  private errorHandler(): ErrorHandler {
    const restarts: number[] = [];
    return {
      error: (_error: Error, _message: Message | undefined, count: number | undefined): ErrorHandlerResult =>
        ({ action: count !== undefined && count <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown }),
      closed: (): CloseHandlerResult => {
        if (this.stopping) return { action: CloseAction.DoNotRestart, handled: true };
        const now = Date.now();
        restarts.push(now);
        while (restarts.length > 0 && now - restarts[0]! > 3 * 60 * 1000) restarts.shift();
        if (restarts.length <= MAX_RESTARTS) {
          this.output.warn('The language server stopped unexpectedly; restarting it.');
          return { action: CloseAction.Restart, handled: true };
        }
        this.fail(`The language server stopped ${restarts.length} times in three minutes and was not restarted. `
          + 'See the logs, then run "Diffusion Infill: Restart Server".');
        return { action: CloseAction.DoNotRestart, handled: true };
      },
    };
  }

  dispose(): void {
    for (const d of this.clientDisposables) d.dispose();
    for (const d of this.disposables) d.dispose();
    const client = this.current;
    this.current = undefined;
    if (client?.needsStop()) void client.stop().catch(() => undefined);
  }
}

/** One "loading the model" notification at a time, shown only if the load takes a while. */
class LoadingProgress implements vscode.Disposable {
  private loading = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private finish: (() => void) | undefined;

  show(): void {
    if (this.loading) return;
    this.loading = true;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.loading) return;
      void vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Diffusion Infill: loading the model…' },
        // The load may have ended before this callback runs; then close at once.
        () => new Promise<void>((resolve) => {
          if (this.loading) this.finish = resolve;
          else resolve();
        }),
      );
    }, PROGRESS_DELAY_MS);
  }

  done(): void {
    this.loading = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.finish?.();
    this.finish = undefined;
  }

  dispose(): void {
    this.done();
  }
}
