// Tells the server where the cursor is, so that it can warm the model's context there before the
// user types (language-server/src/prefill.ts). LSP has no cursor notification, so this is the
// custom diffusionInfill/cursorMoved; the server debounces it, so every move is sent as it comes.
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { cursorMoved } from '../../language-server/src/protocol';

/** Only documents the language client syncs (its document selector: file and untitled). */
const SCHEMES = new Set(['file', 'untitled']);

export function watchCursor(client: () => LanguageClient | undefined): vscode.Disposable {
  const send = (editor: vscode.TextEditor | undefined) => {
    const c = client();
    if (!c || !editor || !SCHEMES.has(editor.document.uri.scheme)) return;
    const { active } = editor.selection;
    // A lost notification only costs the warm-up; the completion still works.
    c.sendNotification(cursorMoved, {
      textDocument: { uri: c.code2ProtocolConverter.asUri(editor.document.uri) },
      position: { line: active.line, character: active.character },
    }).catch(() => undefined);
  };
  return vscode.Disposable.from(
    vscode.window.onDidChangeTextEditorSelection((e) => send(e.textEditor)),
    vscode.window.onDidChangeActiveTextEditor((editor) => send(editor)),
  );
}
