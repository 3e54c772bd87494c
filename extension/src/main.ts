// Extension entry: wires the client context and the commands; everything else lives in the server.
import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { Ctx } from './ctx';

let ctx: Ctx | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<{ ctx: Ctx }> {
  ctx = new Ctx(context);
  context.subscriptions.push(ctx, ...registerCommands(ctx));
  await ctx.start();
  return { ctx };
}

export async function deactivate(): Promise<void> {
  await ctx?.stop();
  ctx = undefined;
}
