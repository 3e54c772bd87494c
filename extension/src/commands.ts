// The extension's commands. Fill Selection applies the server's edit only if the document is
// unchanged since the request, so a slow answer never overwrites what the user typed meanwhile.
import * as vscode from 'vscode';
import { fillSelection, type FillSelectionResult } from '../../language-server/src/protocol';
import { errorText } from '../../model-host/src/errors';
import type { Client } from './client';

export function registerCommands(client: Client): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('diffusionInfill.fillSelection', () => fillSelectionCommand(client)),
    vscode.commands.registerCommand('diffusionInfill.triggerCompletion',
      () => vscode.commands.executeCommand('editor.action.inlineSuggest.trigger')),
    vscode.commands.registerCommand('diffusionInfill.toggle', () => toggle(client)),
    vscode.commands.registerCommand('diffusionInfill.restartServer', () => client.restart()),
    vscode.commands.registerCommand('diffusionInfill.showLogs', () => client.output.show()),
    vscode.commands.registerCommand('diffusionInfill.showMenu', () => showMenu(client)),
  ];
}

async function toggle(client: Client): Promise<void> {
  const { enabled, overridden } = await client.config.toggleEnable();
  if (overridden) {
    void vscode.window.showWarningMessage(
      `Diffusion Infill: completions stay ${enabled ? 'on' : 'off'} here: this workspace's settings set diffusionInfill.enable.`);
  }
}

interface MenuItem extends vscode.QuickPickItem {
  run: () => unknown;
}

async function showMenu(client: Client): Promise<void> {
  const s = client.status.current;
  const items: MenuItem[] = [
    {
      label: client.config.get('enable') ? '$(circle-slash) Turn completions off' : '$(check) Turn completions on',
      run: () => toggle(client),
    },
    { label: '$(debug-restart) Restart server', run: () => client.restart() },
    { label: '$(output) Show logs', run: () => client.output.show() },
    {
      label: '$(gear) Settings',
      run: () => vscode.commands.executeCommand('workbench.action.openSettings', `@ext:${client.extensionId}`),
    },
  ];
  const title = s.state === 'error' ? `Error: ${s.message ?? 'unknown'}`
    : s.model ? `${s.model}${s.device ? ` on ${s.device}` : ''}` : 'Diffusion Infill';
  const pick = await vscode.window.showQuickPick(items, { title, placeHolder: 'Diffusion Infill' });
  await pick?.run();
}

/** Returns true when an edit was applied (for tests driving the command). */
async function fillSelectionCommand(client: Client): Promise<boolean> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) return false;
  if (editor.selection.isEmpty) {
    void vscode.window.showInformationMessage('Diffusion Infill: select the code to regenerate first.');
    return false;
  }
  if (!client.config.get('enable')) {
    const turnOn = 'Turn On';
    if (await vscode.window.showInformationMessage('Diffusion Infill is turned off.', turnOn) === turnOn) await toggle(client);
    return false;
  }
  const languageClient = client.languageClient;
  if (!languageClient) {
    void vscode.window.showErrorMessage('Diffusion Infill: the language server is not running. Run "Diffusion Infill: Restart Server".');
    return false;
  }

  const doc = editor.document;
  const version = doc.version;
  const selection = editor.selection;
  let cancelled = false;
  let result: FillSelectionResult | undefined;
  try {
    result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Diffusion Infill: filling the selection…', cancellable: true },
      (_progress, token) => {
        token.onCancellationRequested(() => { cancelled = true; });
        return languageClient.sendRequest(fillSelection, {
          // The server refuses the request if its copy of the document is another version.
          textDocument: { uri: doc.uri.toString(), version },
          range: languageClient.code2ProtocolConverter.asRange(selection),
        }, token);
      },
    );
  } catch (e) {
    // A cancelled request may reject; the user asked for that, so say nothing.
    if (!cancelled && !(e instanceof vscode.CancellationError)) {
      void vscode.window.showErrorMessage(`Diffusion Infill: ${errorText(e)}`);
    }
    return false;
  }
  if (cancelled) return false;

  const edit = result?.edit;
  if (!edit) {
    void vscode.window.showInformationMessage('Diffusion Infill: the model proposed nothing for this selection.');
    return false;
  }
  // The reply names the version it was computed for; both must still be the document's.
  if (doc.isClosed || doc.version !== version || (typeof result?.version === 'number' && result.version !== version)) {
    void vscode.window.showWarningMessage('Diffusion Infill: the document changed while the model was working; nothing was replaced.');
    return false;
  }
  const range = languageClient.protocol2CodeConverter.asRange(edit.range);
  // No await between the version check and the edit: nothing can change the document in between.
  if (vscode.window.visibleTextEditors.includes(editor)) {
    return editor.edit((b) => b.replace(range, edit.newText));
  }
  // The editor was closed or hidden meanwhile; the document is still open and unchanged.
  const we = new vscode.WorkspaceEdit();
  we.replace(doc.uri, range, edit.newText);
  return vscode.workspace.applyEdit(we);
}
