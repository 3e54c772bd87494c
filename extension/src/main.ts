// Extension entry: wiring only. The client context owns the language client, the status bar and the
// log; the commands act on it. Inline completions come from the server through the language client's
// built-in LSP 3.18 inline completion feature (registered when the server advertises the capability).
import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { Ctx } from './ctx';

/** What activate() returns; tests running in the extension host reach the context through it. */
export interface DiffusionInfillApi {
  ctx: Ctx;
}

let ctx: Ctx | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<DiffusionInfillApi> {
  const c = new Ctx(context);
  ctx = c;
  context.subscriptions.push(c, ...registerCommands(c));
  // start() reports its own failures (status bar, one message); activation succeeds regardless,
  // so the commands (Restart Server, Show Logs) stay available.
  await c.start();
  return { ctx: c };
}

export async function deactivate(): Promise<void> {
  const c = ctx;
  ctx = undefined;
  await c?.stop();
}
