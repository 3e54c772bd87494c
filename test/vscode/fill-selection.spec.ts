// Fill Selection (diffusionInfill.fillSelection, Ctrl+Alt+F): the selected code is regenerated in
// place by the model, seeing the code on both sides; the rest of the document is untouched.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { api, closeAll, isReady, waitForStatus, workspaceFile } from './helpers';

describe('Fill Selection', () => {
  afterEach(closeAll);

  it('replaces the selection with the model\'s text and keeps everything around it', async () => {
    const a = await api();
    await waitForStatus(a, 'ready', isReady);
    const doc = await vscode.workspace.openTextDocument(workspaceFile('sample.py'));
    const editor = await vscode.window.showTextDocument(doc);
    // The right-hand side of `counts = Counter(words)`, overwritten with a placeholder and
    // selected. The model never sees the selected text (it fills the gap between the code on
    // both sides), so the placeholder shows the edit even if the model writes back the original.
    const placeholder = 'None  # fill me';
    const original = doc.getText();
    const at = original.indexOf('counts = Counter(words)');
    assert.ok(at >= 0, 'sample.py should contain "counts = Counter(words)"');
    const start = at + 'counts = '.length;
    const end = start + 'Counter(words)'.length;
    assert.ok(await editor.edit((b) => b.replace(new vscode.Range(doc.positionAt(start), doc.positionAt(end)), placeholder)));
    const before = doc.getText();
    editor.selection = new vscode.Selection(doc.positionAt(start), doc.positionAt(start + placeholder.length));

    const applied = await vscode.commands.executeCommand<boolean>('diffusionInfill.fillSelection');
    assert.equal(applied, true, 'the command applied an edit (false: no proposal, or the document changed)');
    const after = doc.getText();
    const tail = before.length - (start + placeholder.length);
    assert.ok(after.startsWith(before.slice(0, start)), 'the text before the selection is kept');
    assert.ok(after.endsWith(before.slice(before.length - tail)), 'the text after the selection is kept');
    const filled = after.slice(start, after.length - tail);
    assert.notEqual(filled, placeholder, 'the selection was replaced');
    assert.ok(filled.trim().length > 0, `the selection was replaced by code, not emptied: ${JSON.stringify(filled)}`);
  });

  it('does nothing without a selection', async () => {
    const doc = await vscode.workspace.openTextDocument(workspaceFile('sample.py'));
    const editor = await vscode.window.showTextDocument(doc);
    editor.selection = new vscode.Selection(0, 0, 0, 0);
    const applied = await vscode.commands.executeCommand<boolean>('diffusionInfill.fillSelection');
    assert.equal(applied, false);
    assert.equal(doc.isDirty, false);
  });
});
