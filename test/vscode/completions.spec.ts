// Inline completions from the real model, in a Python and a TypeScript file: asked of the
// provider the language client registered with VS Code, and shown and accepted by VS Code itself.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { api, closeAll, insertText, isReady, openAtTypedStatement, provideInline, samples, sleep, waitForStatus } from './helpers';

describe('inline completions', () => {
  afterEach(closeAll);

  for (const sample of [samples.python, samples.typescript]) {
    it(`the provider returns completions for ${sample.file} (${sample.languageId})`, async () => {
      const a = await api();
      await waitForStatus(a, 'ready', isReady);
      const { editor, position } = await openAtTypedStatement(sample);
      assert.equal(editor.document.languageId, sample.languageId);

      const items = await provideInline(a, editor.document, position);
      const texts = items.map(insertText);
      assert.ok(items.length >= 1, 'at least one completion');
      // One item per candidate at most; the server ranks them best first and drops duplicates.
      assert.ok(items.length <= a.client.config.get('candidates'), `at most diffusionInfill.candidates items, got ${items.length}`);
      assert.equal(new Set(texts).size, texts.length, `no duplicates: ${JSON.stringify(texts)}`);
      for (const [i, item] of items.entries()) {
        assert.ok(insertText(item).trim().length > 0, `item ${i} is not blank: ${JSON.stringify(insertText(item))}`);
        // Inserted at the cursor (the range may start earlier on the same line, never elsewhere).
        if (item.range) {
          assert.equal(item.range.end.line, position.line, `item ${i} ends on the cursor's line`);
          assert.ok(item.range.end.isEqual(position), `item ${i} ends at the cursor`);
        }
      }
    });
  }

  it('VS Code shows the suggestion and accepting it inserts the text', async () => {
    const a = await api();
    await waitForStatus(a, 'ready', isReady);
    const { editor, position } = await openAtTypedStatement(samples.python);
    const before = editor.document.getText();
    const cursor = editor.document.offsetAt(position);
    const lineStart = editor.document.offsetAt(position.with({ character: 0 }));
    // VS Code's own commands: "Trigger Inline Suggestion" asks every registered provider, and
    // "commit" accepts what is shown (what Tab does). While nothing is shown commit does nothing,
    // so retry until the model has answered.
    await vscode.commands.executeCommand('diffusionInfill.triggerCompletion');
    const deadline = Date.now() + 60_000;
    while (editor.document.getText() === before && Date.now() < deadline) {
      await sleep(250);
      await vscode.commands.executeCommand('editor.action.inlineSuggest.commit');
    }
    const after = editor.document.getText();
    assert.notEqual(after, before, 'no suggestion was shown and accepted within 60 s');
    assert.ok(after.length > before.length, 'accepting inserts text');
    // Inserted at the cursor: the lines above and the text after the cursor are untouched.
    assert.ok(after.startsWith(before.slice(0, lineStart)), 'the text above the cursor is kept');
    assert.ok(after.endsWith(before.slice(cursor)), 'the text after the cursor is kept');
  });
});
