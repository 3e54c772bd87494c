// Context from other files through the real server and the real default model (issue 24): a
// completion that needs a name defined only in another open file of the workspace gets it with
// the feature on and not with it off; typing after it still reuses the cached context (the extra
// text is pinned); the status reports the tokens used.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { InitializedNotification, InitializeRequest } from 'vscode-languageserver-protocol/node';
import { LspServerProcess, repoRoot } from './lsp-harness';

interface Trace { kind: string; document: string; extraTokens?: number; context: { tokens: number; computed: number; reused: number } }

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

function traces(server: LspServerProcess, document: string): Trace[] {
  return server.stderr.split('\n').filter((l) => l.includes('[trace] ')).map((l) => JSON.parse(l.slice(l.indexOf('[trace] ') + 8)) as Trace)
    .filter((t) => t.kind === 'infill' && t.document === document);
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
      initializationOptions: { modelPath: path.join(repoRoot, 'models/default'), debounceMs: 0, ghostTextBudgetMs: 0, cache: true },
    });
    await server.connection.sendNotification(InitializedNotification.type, {});
    await server.waitForStatus((s) => s.state === 'ready', 180_000);
  });

  after(async () => {
    await server?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test('a name from another open file: used with the feature on, typing reuses the context, status tells', async () => {
    await server.open(uri('widgets.js'), 'javascript', widgets);
    await server.open(uri('main.js'), 'javascript', main);
    const lines = typedSoFar.split('\n');
    const cursor = { line: lines.length - 1, character: lines[lines.length - 1].length };
    const withIt = await server.inline(uri('main.js'), cursor);
    assert.match(withIt[0]?.insertText as string ?? '', /^makeFrobnicatedWidget/, JSON.stringify(withIt));
    const [first] = traces(server, uri('main.js'));
    assert.ok((first.extraTokens ?? 0) > 20, `extra context in the request (${first.extraTokens} tokens)`);
    const status = await server.waitForStatus((s) => (s.crossFileTokens ?? 0) > 0, 10_000);
    assert.equal(status.crossFileTokens, first.extraTokens);
    assert.equal(status.crossFileChunks, 1);

    // Typing on: the extra text stays, so only the typed token(s) are computed.
    // A character the ghost text does not start with, so that the model runs (not the result cache).
    await server.change(uri('main.js'), { start: cursor, end: cursor }, 'x');
    await server.inline(uri('main.js'), { line: cursor.line, character: cursor.character + 1 });
    const typed = traces(server, uri('main.js'))[1];
    assert.equal(typed.extraTokens, first.extraTokens);
    assert.ok(typed.context.computed <= 3 && typed.context.reused >= first.context.tokens - 3, `typing reused the context (${JSON.stringify(typed.context)})`);

    // Off: the same hole without it.
    await server.change(uri('main.js'), { start: cursor, end: { line: cursor.line, character: cursor.character + 1 } }, '');
    await server.configure({ crossFile: false });
    const without = await server.inline(uri('main.js'), cursor);
    assert.doesNotMatch(without[0]?.insertText as string ?? '', /^makeFrobnicatedWidget/, JSON.stringify(without));
    assert.equal(traces(server, uri('main.js')).at(-1)?.extraTokens, 0);
  });
});
