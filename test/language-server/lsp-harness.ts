// A real LSP client for the tests: spawns the compiled server (stdio or node IPC) and talks
// JSON-RPC to it through vscode-languageserver-protocol, the same library the VS Code
// client is built on. Every process started here is killed by stop().

import { spawn, fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import {
  CancellationTokenSource,
  createProtocolConnection,
  DidChangeConfigurationNotification,
  DidChangeTextDocumentNotification,
  DidCloseTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  InlineCompletionRequest,
  InlineCompletionTriggerKind,
  IPCMessageReader,
  IPCMessageWriter,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  type InitializeResult,
  type InlineCompletionItem,
  type InlineCompletionList,
  type Position,
  type ProtocolConnection,
  type Range,
} from 'vscode-languageserver-protocol/node';
import { fillSelection, serverStatus, type FillSelectionResult, type ServerStatusParams } from '../../language-server/src/protocol';

export const repoRoot = path.resolve(__dirname, '../../..');
export const serverMain = path.join(repoRoot, 'out', 'language-server', 'src', 'main.js');
export { tinyModel } from '../helpers/paths';

export type Transport = 'stdio' | 'ipc';

export interface InlineOptions {
  /** Explicit requests skip the server's debounce. */
  trigger?: 'invoked' | 'automatic';
  token?: CancellationTokenSource;
}

export class LspServerProcess {
  readonly statuses: ServerStatusParams[] = [];
  stderr = '';
  private readonly statusWaiters: Array<() => void> = [];
  private versions = new Map<string, number>();

  private constructor(readonly child: ChildProcess, readonly connection: ProtocolConnection) {
    connection.onNotification(serverStatus, (status) => {
      this.statuses.push(status);
      for (const wake of this.statusWaiters.splice(0)) wake();
    });
    // Log messages from the server are useful when a test fails; keep them with stderr.
    connection.onNotification('window/logMessage', (p: { message: string }) => {
      this.stderr += `[log] ${p.message}\n`;
    });
    connection.onRequest('client/registerCapability', () => null);
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
  }

  static start(transport: Transport = 'stdio'): LspServerProcess {
    if (transport === 'ipc') {
      const child = fork(serverMain, ['--node-ipc'], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
      const connection = createProtocolConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
      connection.listen();
      return new LspServerProcess(child, connection);
    }
    const child = spawn(process.execPath, [serverMain, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const connection = createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    connection.listen();
    return new LspServerProcess(child, connection);
  }

  async initialize(initializationOptions: unknown): Promise<InitializeResult> {
    const result = await this.connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: null,
      capabilities: {
        textDocument: { inlineCompletion: { dynamicRegistration: false } },
        workspace: { configuration: false, didChangeConfiguration: { dynamicRegistration: false } },
      },
      initializationOptions,
    });
    await this.connection.sendNotification(InitializedNotification.type, {});
    return result;
  }

  /** Resolves with the first status (seen so far or arriving) that matches, after `from`. */
  async waitForStatus(match: (s: ServerStatusParams) => boolean, timeoutMs: number, from = 0): Promise<ServerStatusParams> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.statuses.slice(from).find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`no matching status in ${timeoutMs} ms; got ${JSON.stringify(this.statuses)}\n${this.stderr}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.statusWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async open(uri: string, languageId: string, text: string): Promise<void> {
    this.versions.set(uri, 1);
    await this.connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId, version: 1, text } });
  }

  /** One incremental edit, as an editor sends it while the user types. */
  async change(uri: string, range: Range, text: string): Promise<void> {
    const version = (this.versions.get(uri) ?? 1) + 1;
    this.versions.set(uri, version);
    await this.connection.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri, version },
      contentChanges: [{ range, text }],
    });
  }

  async close(uri: string): Promise<void> {
    await this.connection.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri } });
  }

  async configure(settings: Record<string, unknown>): Promise<void> {
    await this.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: { diffusionInfill: settings } });
  }

  async inline(uri: string, position: Position, options: InlineOptions = {}): Promise<InlineCompletionItem[]> {
    const triggerKind = options.trigger === 'automatic' ? InlineCompletionTriggerKind.Automatic : InlineCompletionTriggerKind.Invoked;
    const result: InlineCompletionList | InlineCompletionItem[] | null = await this.connection.sendRequest(
      InlineCompletionRequest.type,
      { textDocument: { uri }, position, context: { triggerKind, selectedCompletionInfo: undefined } },
      options.token?.token,
    );
    if (result === null) return [];
    return Array.isArray(result) ? result : result.items;
  }

  fill(uri: string, range: Range, token?: CancellationTokenSource): Promise<FillSelectionResult> {
    return this.connection.sendRequest(fillSelection, { textDocument: { uri }, range }, token?.token);
  }

  /** Polite shutdown first; whatever happens, the process is gone when this resolves. */
  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) resolve();
      else this.child.once('exit', () => resolve());
    });
    const timeout = <T>(p: Promise<T>, ms: number): Promise<T | undefined> =>
      Promise.race([p, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms).unref())]);
    try {
      await timeout(this.connection.sendRequest(ShutdownRequest.type), 3000);
      await timeout(this.connection.sendNotification(ExitNotification.type), 500);
    } catch {
      // The connection may already be gone; killing below still applies.
    }
    if (!(await timeout(exited.then(() => true), 3000))) this.child.kill('SIGKILL');
    await exited;
    this.connection.dispose();
  }
}

/** Position of the first occurrence of `marker` in `text` (UTF-16 units, as LSP counts). */
export function positionOf(text: string, marker: string, after = true): Position {
  const at = text.indexOf(marker);
  if (at === -1) throw new Error(`marker ${marker} not found`);
  const offset = after ? at + marker.length : at;
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const line = text.slice(0, offset).split('\n').length - 1;
  return { line, character: offset - lineStart };
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - started };
}
