// The extension's commands. Fill Selection applies the server's edit only if the document has not
// changed since the request, so a slow answer can never overwrite what the user typed meanwhile.
import * as vscode from 'vscode';
import { fillSelection } from '../../language-server/src/lsp_ext';
import type { Ctx } from './ctx';

export function registerCommands(ctx: Ctx): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('diffusionInfill.fillSelection', () => fillSelectionCommand(ctx)),
    vscode.commands.registerCommand('diffusionInfill.triggerCompletion', () => vscode.commands.executeCommand('editor.action.inlineSuggest.trigger')),
    vscode.commands.registerCommand('diffusionInfill.toggle', () => ctx.config.setEnable(!ctx.config.enable)),
    vscode.commands.registerCommand('diffusionInfill.restartServer', () => ctx.restart()),
    vscode.commands.registerCommand('diffusionInfill.showLogs', () => ctx.output.show()),
    vscode.commands.registerCommand('diffusionInfill.menu', async () => {
      const pick = await vscode.window.showQuickPick([
        { label: ctx.config.enable ? 'Turn completions off' : 'Turn completions on', command: 'diffusionInfill.toggle' },
        { label: 'Restart server', command: 'diffusionInfill.restartServer' },
        { label: 'Show logs', command: 'diffusionInfill.showLogs' },
        { label: 'Settings', command: 'workbench.action.openSettings', args: ['diffusionInfill'] },
      ], { placeHolder: ctx.status.last.message ?? 'Diffusion Infill' });
      if (pick) await vscode.commands.executeCommand(pick.command, ...(pick.args ?? []));
    }),
  ];
}

/** Returns true when an edit was applied (the tests use the result). */
async function fillSelectionCommand(ctx: Ctx): Promise<boolean> {
  const editor = vscode.window.activeTextEditor;
  const client = ctx.client;
  if (!editor || !client) return false;
  if (editor.selection.isEmpty) {
    void vscode.window.showInformationMessage('Diffusion Infill: select the code to regenerate first.');
    return false;
  }
  const doc = editor.document;
  const version = doc.version;
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Window, title: 'Filling selection…' },
    () => client.sendRequest(fillSelection, {
      textDocument: { uri: doc.uri.toString() },
      range: client.code2ProtocolConverter.asRange(editor.selection),
    }),
  );
  if (!result.edit) {
    void vscode.window.showInformationMessage('Diffusion Infill: the model had nothing to put there.');
    return false;
  }
  if (doc.version !== version) {
    void vscode.window.showWarningMessage('Diffusion Infill: the document changed while filling; nothing was replaced.');
    return false;
  }
  const range = client.protocol2CodeConverter.asRange(result.edit.range);
  return editor.edit((b) => b.replace(range, result.edit!.newText));
}
