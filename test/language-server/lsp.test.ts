// End-to-end: the compiled server as a child process, the real tiny model, a real JSON-RPC
// client. The model is small and weak, so these tests check behaviour (shapes, ranges,
// states, timing bounds that are generous), never completion quality.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CancellationTokenSource, ResponseError, type InlineCompletionItem, type Position } from 'vscode-languageserver-protocol/node';
import { LspServerProcess, positionOf, repoRoot, timed, tinyModel } from './lsp-harness';

// models/tiny is committed: without it these tests must fail, not skip.
test('models/tiny is present', () => {
  assert.ok(fs.existsSync(path.join(tinyModel, 'model.json')), `${tinyModel}/model.json is missing`);
});

/** Settings that make one request take a while, so there is time to cancel it: sampled (greedy, the tiny model
 *  ends at once with <|pad|>), five rows, one token per pass, up to 256 tokens. */
const slowSettings = { steps: 256, maxTokensMultiLine: 256, blockLength: 8, candidates: 5, temperature: 1.5, cache: false };
const normalSettings = { steps: 24, maxTokensMultiLine: 64, blockLength: 8, candidates: 2, temperature: 0, cache: true };

const pythonText = [
  'import os',
  '',
  'def read_file(path):',
  '    with open(path) as f:',
  '        return f.read()',
  '',
  'def add(a, b):',
  '    ',
  '',
  'print(add(1, 2))',
  '',
].join('\n');

const typescriptText = [
  'export function greet(name: string): string {',
  '  const message = "Hello, " + ',
  '  return message;',
  '}',
  '',
  'const total = [1, 2, 3].reduce((a, b) => a + b, 0);',
  'console.log(greet("world"), );',
  '',
].join('\n');

function assertItemShapes(items: InlineCompletionItem[], cursor: Position): void {
  assert.ok(Array.isArray(items));
  for (const item of items) {
    assert.equal(typeof item.insertText, 'string', 'plain-string insertText');
    assert.ok((item.insertText as string).trim().length > 0, 'no blank items');
    assert.ok(item.range, 'every item has a range');
    assert.equal(item.range.start.line, cursor.line);
    assert.equal(item.range.end.line, cursor.line);
    assert.deepEqual(item.range.end, cursor);
    assert.ok(item.range.start.character <= cursor.character);
  }
  assert.equal(new Set(items.map((i) => i.insertText)).size, items.length, 'no duplicates');
}

describe('language server over stdio with models/tiny', () => {
  let server: LspServerProcess;

  before(async () => {
    server = LspServerProcess.start('stdio');
    const init = await server.initialize({ modelPath: tinyModel, device: 'cpu', ...normalSettings });
    assert.ok(init.capabilities.inlineCompletionProvider, 'inlineCompletionProvider');
    assert.equal(init.capabilities.textDocumentSync, 2, 'incremental sync');
    const ready = await server.waitForStatus((s) => s.state === 'ready' || s.state === 'error', 60_000);
    assert.equal(ready.state, 'ready', ready.message);
    assert.equal(ready.model, 'tiny');
    assert.equal(typeof ready.device, 'string');
  });

  after(async () => {
    await server?.stop();
    // Empty answers must come from cancellation or post-processing, never from engine errors.
    assert.doesNotMatch(server.stderr, /Engine error/);
  });

  test('python and typescript documents get well-formed inline completions', async (t) => {
    await server.open('file:///work/example.py', 'python', pythonText);
    await server.open('file:///work/example.ts', 'typescript', typescriptText);
    const cases: Array<[string, string, Position]> = [
      ['file:///work/example.py', 'python: body of a block', positionOf(pythonText, 'def add(a, b):\n    ')],
      ['file:///work/example.py', 'python: end of a block opener', positionOf(pythonText, 'def add(a, b):')],
      ['file:///work/example.py', 'python: mid-line', positionOf(pythonText, 'print(add(')],
      ['file:///work/example.ts', 'typescript: end of line', positionOf(typescriptText, '"Hello, " + ')],
      ['file:///work/example.ts', 'typescript: mid-line call', positionOf(typescriptText, 'greet("world"), ')],
      ['file:///work/example.ts', 'typescript: document end', { line: 7, character: 0 }],
    ];
    let nonEmpty = 0;
    for (const [uri, label, cursor] of cases) {
      const { value: items, ms } = await timed(() => server.inline(uri, cursor));
      assertItemShapes(items, cursor);
      if (items.length > 0) nonEmpty++;
      t.diagnostic(`${label}: ${items.length} items in ${ms.toFixed(0)} ms: ${JSON.stringify(items.map((i) => i.insertText))}`);
    }
    assert.ok(nonEmpty > 0, 'at least one position produced a completion');
    const status = await server.waitForStatus((s) => s.lastLatencyMs !== undefined, 5000);
    assert.equal(status.state, 'ready');
    assert.equal(typeof status.tokensPerSecond, 'number');
  });

  test('an automatic request waits for the debounce, an explicit one does not', async (t) => {
    const cursor = positionOf(pythonText, 'def add(a, b):\n    ');
    await server.configure({ debounceMs: 400 });
    const automatic = await timed(() => server.inline('file:///work/example.py', { ...cursor, character: 2 }, { trigger: 'automatic' }));
    assert.ok(automatic.ms >= 400, `automatic request answered in ${automatic.ms.toFixed(0)} ms`);
    await server.configure({ debounceMs: 75 });
    t.diagnostic(`automatic with 400 ms debounce: ${automatic.ms.toFixed(0)} ms`);
  });

  test('fillSelection returns an edit replacing the selection', async (t) => {
    const start = positionOf(pythonText, '        return ');
    const range = { start, end: { line: start.line, character: start.character + 'f.read()'.length } };
    const { value: result, ms } = await timed(() => server.fill('file:///work/example.py', range));
    t.diagnostic(`fillSelection in ${ms.toFixed(0)} ms: ${JSON.stringify(result)}`);
    assert.equal(typeof result.latencyMs, 'number');
    assert.equal(typeof result.confidence, 'number');
    assert.ok(result.edit, 'an edit');
    assert.deepEqual(result.edit.range, range);
    assert.equal(typeof result.edit.newText, 'string');
  });

  test('cancelling an in-flight request ($/cancelRequest) answers quickly', async (t) => {
    await server.configure(slowSettings);
    const uri = 'file:///work/example.py';
    const cursor = positionOf(pythonText, 'def add(a, b):\n    ');
    const full = await timed(() => server.inline(uri, cursor));
    const source = new CancellationTokenSource();
    const cancelled = timed(async () => {
      try {
        return await server.inline(uri, { ...cursor, character: 1 }, { token: source });
      } catch (error) {
        // A client may also see the standard RequestCancelled error; both are fine.
        assert.ok(error instanceof ResponseError, String(error));
        return [];
      }
    });
    setTimeout(() => source.cancel(), 30);
    const { value, ms } = await cancelled;
    await server.configure(normalSettings);
    t.diagnostic(`slow request: ${full.ms.toFixed(0)} ms; cancelled after 30 ms: answered in ${ms.toFixed(0)} ms`);
    assert.deepEqual(value, []);
    assert.ok(full.ms > 200, `the slow request only took ${full.ms.toFixed(0)} ms: nothing to cancel`);
    assert.ok(ms < Math.max(500, full.ms * 0.6), `cancelled request took ${ms.toFixed(0)} ms (uncancelled ${full.ms.toFixed(0)} ms)`);
  });

  test('a newer request for the same document supersedes the older one', async () => {
    await server.configure(slowSettings);
    const uri = 'file:///work/example.py';
    const cursor = positionOf(pythonText, 'def add(a, b):\n    ');
    const first = timed(() => server.inline(uri, { ...cursor, character: 2 }));
    await new Promise((resolve) => setTimeout(resolve, 30));
    const second = server.inline(uri, cursor);
    const { value: firstItems } = await first;
    await second;
    await server.configure(normalSettings);
    assert.deepEqual(firstItems, []);
  });

  test('a document closed mid-request gets an empty answer', async () => {
    const uri = 'file:///work/closing.py';
    await server.configure(slowSettings);
    await server.open(uri, 'python', pythonText);
    const pending = timed(() => server.inline(uri, positionOf(pythonText, 'def add(a, b):\n    ')));
    await new Promise((resolve) => setTimeout(resolve, 30));
    await server.close(uri);
    const { value } = await pending;
    await server.configure(normalSettings);
    assert.deepEqual(value, []);
    assert.deepEqual(await server.inline(uri, { line: 0, character: 0 }), [], 'unknown document');
  });

  test('a binary (NUL-containing) document gets no items', async () => {
    const uri = 'file:///work/blob.bin';
    const text = 'PK\u0003\u0004\u0000\u0000\u0000header\u0000\u0000data\n';
    await server.open(uri, 'plaintext', text);
    const { value, ms } = await timed(() => server.inline(uri, { line: 0, character: 10 }));
    assert.deepEqual(value, []);
    assert.ok(ms < 2000, `binary request took ${ms.toFixed(0)} ms`);
  });

  test('incremental edits reach the server (an inserted NUL turns completions off)', async () => {
    const uri = 'file:///work/edited.ts';
    await server.open(uri, 'typescript', typescriptText);
    const cursor = positionOf(typescriptText, '"Hello, " + ');
    const at = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
    await server.change(uri, at, '\u0000');
    assert.deepEqual(await server.inline(uri, cursor), []);
    await server.change(uri, { start: at.start, end: { line: 0, character: 1 } }, '');
    const items = await server.inline(uri, cursor);
    assertItemShapes(items, cursor);
    await server.close(uri);
  });

  test('a 5 MB single-line document gets an answer without hanging', async (t) => {
    const uri = 'file:///work/huge.json';
    const text = '[' + '{"id": 1, "name": "x"}, '.repeat(Math.ceil(5_000_000 / 24)) + ']';
    await server.open(uri, 'json', text);
    const cursor = { line: 0, character: Math.floor(text.length / 2) };
    const { value, ms } = await timed(() => server.inline(uri, cursor));
    t.diagnostic(`5 MB line (${text.length} chars): ${value.length} items in ${ms.toFixed(0)} ms`);
    assertItemShapes(value, cursor);
    assert.ok(ms < 20_000, `took ${ms.toFixed(0)} ms`);
    await server.close(uri);
  });

  test('disabled languages and enable=false turn completions off', async () => {
    const uri = 'file:///work/example.py';
    const cursor = positionOf(pythonText, 'def add(a, b):\n    ');
    await server.configure({ disabledLanguages: ['python'] });
    assert.deepEqual(await server.inline(uri, cursor), []);
    await server.configure({ disabledLanguages: [] });
    const seen = server.statuses.length;
    await server.configure({ enable: false });
    await server.waitForStatus((s) => s.state === 'disabled', 5000, seen);
    assert.deepEqual(await server.inline(uri, cursor), []);
    await server.configure({ enable: true });
    await server.waitForStatus((s) => s.state === 'ready', 5000, seen);
  });
});

describe('a missing model never crashes the server', () => {
  let server: LspServerProcess;
  const missing = path.join(repoRoot, 'models', 'does-not-exist');

  before(() => {
    server = LspServerProcess.start('stdio');
  });

  after(async () => {
    await server?.stop();
  });

  test('error status and empty completions, then fixing the setting recovers', async () => {
    await server.initialize({ modelPath: missing });
    const error = await server.waitForStatus((s) => s.state === 'error', 30_000);
    assert.match(error.message ?? '', /Model folder not found/);
    assert.ok(error.message?.includes(missing), 'the message names the path');
    assert.ok(error.message?.includes('diffusionInfill.modelPath'), 'the message names the setting');

    const uri = 'file:///work/recover.py';
    await server.open(uri, 'python', pythonText);
    const cursor = positionOf(pythonText, 'def add(a, b):\n    ');
    assert.deepEqual(await server.inline(uri, cursor), []);
    await assert.rejects(server.fill(uri, { start: cursor, end: cursor }), /Model folder not found/);

    const seen = server.statuses.length;
    await server.configure({ modelPath: tinyModel });
    const ready = await server.waitForStatus((s) => s.state === 'ready' || s.state === 'error', 60_000, seen);
    assert.equal(ready.state, 'ready', ready.message);
    const items = await server.inline(uri, cursor);
    assert.ok(Array.isArray(items));

    // A device change reloads the engine: loading, then ready again.
    const beforeDevice = server.statuses.length;
    await server.configure({ device: 'cpu' });
    await server.waitForStatus((s) => s.state === 'loading', 10_000, beforeDevice);
    const reloaded = await server.waitForStatus((s) => s.state === 'ready' || s.state === 'error', 60_000, beforeDevice);
    assert.equal(reloaded.state, 'ready', reloaded.message);
    assert.ok(Array.isArray(await server.inline(uri, cursor)));
    assert.equal(server.child.exitCode, null, 'still running');
  });
});

describe('language server over node IPC', () => {
  let server: LspServerProcess;

  before(() => {
    server = LspServerProcess.start('ipc');
  });

  after(async () => {
    await server?.stop();
  });

  test('initializes, loads the model and completes', async () => {
    const init = await server.initialize({ diffusionInfill: { modelPath: tinyModel } });
    assert.ok(init.capabilities.inlineCompletionProvider);
    const ready = await server.waitForStatus((s) => s.state === 'ready' || s.state === 'error', 60_000);
    assert.equal(ready.state, 'ready', ready.message);
    const uri = 'file:///work/ipc.ts';
    await server.open(uri, 'typescript', typescriptText);
    const cursor = positionOf(typescriptText, '"Hello, " + ');
    assertItemShapes(await server.inline(uri, cursor), cursor);
  });
});
