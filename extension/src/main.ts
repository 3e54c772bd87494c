// Extension entry: wiring only. The Client owns the language client, the status bar and the log;
// the commands act on it. Inline completions come from the server through the language client's
// built-in LSP 3.18 inline completion feature (registered when the server advertises the capability).
import * as vscode from 'vscode';
import { Client } from './client';
import { registerCommands } from './commands';
import { watchCursor } from './cursor';
import { watchDefinitions } from './definitions';

/** What activate() returns; tests running in the extension host reach the client through it. */
export interface DiffusionInfillApi {
  client: Client;
}

let active: Client | undefined;

export async function activate(extension: vscode.ExtensionContext): Promise<DiffusionInfillApi> {
  const client = new Client(extension);
  active = client;
  extension.subscriptions.push(client, ...registerCommands(client), watchCursor(() => client.languageClient),
    watchDefinitions(() => client.languageClient));
  // start() reports its own failures (status bar, one message); activation succeeds regardless,
  // so the commands (Restart Server, Show Logs) stay available.
  await client.start();
  return { client };
}

export async function deactivate(): Promise<void> {
  const client = active;
  active = undefined;
  await client?.stop();
}
