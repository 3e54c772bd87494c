// Context from other files through the real server and the real default model (issue 24): a
// completion that needs a name defined only in another open file of the workspace gets it once
// the cursor rests (the first ghost text at a cold cursor leaves the extra context out, so it
// costs what it did; the warm-up after it computes it); typing after it still reuses the cached
// context (the extra text is pinned); the status reports the tokens used; off means never. The
// names the sources send (crossFile.nameBias, off for the first test so that it shows the model
// reading the code) need no context pass: with them the cold completion already writes the name.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { InitializedNotification, InitializeRequest } from 'vscode-languageserver-protocol/node';
import { LspServerProcess, repoRoot } from './lsp-harness';

interface Trace { kind: string; document: string; extraTokens?: number; extraSkipped?: boolean; context: { tokens: number; computed: number; reused: number } }

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'di-cross-file-'));
const uri = (rel: string) => pathToFileURL(path.join(root, rel)).href;
const widgets = [
  "'use strict'",
  '',
  'function makeFrobnicatedWidget (name, sizeInPixels) {',
  '  return { name, sizeInPixels, frobnicated: true }',
  '}',
  '',
  'module.exports = { makeFrobnicatedWidget }',
  '',
].join('\n');
const typedSoFar = "const widgets = require('./widgets')\n\nfunction build (name) {\n  return widgets.";
const main = `${typedSoFar}\n}\n`;

function traces(server: LspServerProcess, document: string, kind = 'infill'): Trace[] {
  return server.stderr.split('\n').filter((l) => l.includes('[trace] ')).map((l) => JSON.parse(l.slice(l.indexOf('[trace] ') + 8)) as Trace)
    .filter((t) => t.kind === kind && t.document === document);
}

async function until(what: string, done: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('context from other files, real model', () => {
  let server: LspServerProcess;

  before(async () => {
    process.env.DIFFUSION_INFILL_TRACE = '1';
    server = LspServerProcess.start('stdio');
    delete process.env.DIFFUSION_INFILL_TRACE;
    await server.connection.sendRequest(InitializeRequest.type, {
      processId: process.pid, rootUri: pathToFileURL(root).href, workspaceFolders: [{ uri: pathToFileURL(root).href, name: 'ws' }],
      capabilities: { textDocument: { inlineCompletion: { dynamicRegistration: false } } },
      initializationOptions: { modelPath: path.join(repoRoot, 'models/default'), debounceMs: 0, ghostTextBudgetMs: 0, cache: true, crossFile: true, crossFileTokens: 256, crossFileNameBias: 0 },
    });
    await server.connection.sendNotification(InitializedNotification.type, {});
    await server.waitForStatus((s) => s.state === 'ready', 180_000);
  });

  after(async () => {
    await server?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test('a name from another open file: left out while cold, read once warm, typing reuses the context, status tells', async () => {
    await server.open(uri('widgets.js'), 'javascript', widgets);
    await server.open(uri('main.js'), 'javascript', main);
    const lines = typedSoFar.split('\n');
    const cursor = { line: lines.length - 1, character: lines[lines.length - 1].length };
    // Right after the open, before any warm-up: the context is cold, so the ghost text leaves the extra context out.
    await server.inline(uri('main.js'), cursor, { trigger: 'automatic' });
    const [cold] = traces(server, uri('main.js'));
    assert.equal(cold.extraTokens, 0);
    assert.equal(cold.extraSkipped, true);
    // The cursor rests: the warm-up computes the context with the code from widgets.js.
    await until('the warm-up after the cold completion', () => traces(server, uri('main.js'), 'prefill').length > 0);

    // Typing on reads it: the name from the other file, and only the typed characters computed.
    const typedText = 'make';
    await server.change(uri('main.js'), { start: cursor, end: cursor }, typedText);
    const typedAt = { line: cursor.line, character: cursor.character + typedText.length };
    const withIt = await server.inline(uri('main.js'), typedAt, { trigger: 'automatic' });
    assert.match(withIt[0]?.insertText as string ?? '', /^(make)?FrobnicatedWidget/, JSON.stringify([withIt, traces(server, uri('main.js'))]));
    const warm = traces(server, uri('main.js')).at(-1)!;
    assert.ok((warm.extraTokens ?? 0) > 20 && !warm.extraSkipped, `extra context in the request (${JSON.stringify(warm)})`);
    assert.ok(warm.context.computed <= typedText.length && warm.context.reused >= warm.context.tokens - typedText.length,
      `typing reused the warmed context (${JSON.stringify(warm.context)})`);
    const status = await server.waitForStatus((s) => (s.crossFileTokens ?? 0) > 0, 10_000);
    assert.equal(status.crossFileTokens, warm.extraTokens);
    assert.equal(status.crossFileChunks, 1);
    await server.change(uri('main.js'), { start: cursor, end: typedAt }, '');

    // Off: the same hole without it.
    await server.configure({ crossFile: false });
    const without = await server.inline(uri('main.js'), cursor);
    assert.doesNotMatch(without[0]?.insertText as string ?? '', /^makeFrobnicatedWidget/, JSON.stringify(without));
    assert.equal(traces(server, uri('main.js')).at(-1)?.extraTokens, 0);
  });

  test('the names: a cold cursor after `module.` gets the module\'s name before any warm-up', async () => {
    await server.configure({ crossFile: true, crossFileNameBias: 8 });
    await server.open(uri('other.js'), 'javascript', main);
    const lines = typedSoFar.split('\n');
    const items = await server.inline(uri('other.js'), { line: lines.length - 1, character: lines[lines.length - 1].length }, { trigger: 'automatic' });
    const [cold] = traces(server, uri('other.js'));
    assert.equal(cold.extraSkipped, true, 'no extra context read');
    assert.match(items[0]?.insertText as string ?? '', /^makeFrobnicatedWidget\(/, JSON.stringify(items));
    // The status bar's line says the names were there though no code was.
    const status = await server.waitForStatus((s) => (s.crossFileNames ?? 0) > 0, 10_000);
    assert.equal(status.crossFileTokens, 0);
  });
});
