// Cache warming through the real server and model worker (issue 11, prefill.ts): after the
// client reports the cursor, the next completion there computes only the tokens typed since,
// while a completion asked for with no warm-up computes its whole context. The per-request
// breakdown comes from the server's trace lines (DIFFUSION_INFILL_TRACE=1). Closing a document
// drops its cached context.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cursorMoved } from '../../language-server/src/protocol';
import { LspServerProcess, positionOf, tinyModel } from './lsp-harness';

interface Trace { kind: 'infill' | 'prefill'; document: string; context: { tokens: number; computed: number; reused: number } }

function traces(server: LspServerProcess, kind: Trace['kind'], document: string): Trace[] {
  return server.stderr.split('\n').filter((l) => l.includes('[trace] ')).map((l) => JSON.parse(l.slice(l.indexOf('[trace] ') + 8)) as Trace)
    .filter((t) => t.kind === kind && t.document === document);
}

async function until<T>(what: string, get: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = get();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const text = [
  'import os',
  '',
  'def read_file(path):',
  '    with open(path) as f:',
  '        return f.read()',
  '',
  'def add(a, b):',
  '    total = a',
  '    return total',
  '',
  'print(add(1, 2))',
  '',
].join('\n');

describe('prefill: warming the context where the cursor is', () => {
  let server: LspServerProcess;

  before(async () => {
    process.env.DIFFUSION_INFILL_TRACE = '1';
    server = LspServerProcess.start('stdio');
    delete process.env.DIFFUSION_INFILL_TRACE;
    await server.initialize({ modelPath: tinyModel, steps: 8, blockLength: 8, candidates: 2, cache: true, debounceMs: 0 });
    await server.waitForStatus((s) => s.state === 'ready', 120_000);
  });

  after(async () => {
    await server?.stop();
  });

  test('after a cursor move, the next completion computes only the typed token(s)', async () => {
    const uri = 'file:///prefill/warm.py';
    await server.open(uri, 'python', text);
    const cursor = positionOf(text, '    total = a');
    await server.connection.sendNotification(cursorMoved, { textDocument: { uri }, position: cursor });
    const warmed = await until('the prefill', () => traces(server, 'prefill', uri)[0]);
    assert.ok(warmed.context.computed > 20, `the warm-up computed the context (${JSON.stringify(warmed.context)})`);

    // The user types one character there and a completion is asked for.
    await server.change(uri, { start: cursor, end: cursor }, ' ');
    await server.inline(uri, { line: cursor.line, character: cursor.character + 1 });
    const first = await until('the completion', () => traces(server, 'infill', uri)[0]);
    assert.ok(first.context.computed <= 3, `few context tokens computed after the warm-up (${JSON.stringify(first.context)})`);
    assert.ok(first.context.reused >= warmed.context.tokens - 3, `the warmed context was reused (${JSON.stringify(first.context)})`);
  });

  test('without a warm-up the first completion computes its whole context', async () => {
    const uri = 'file:///prefill/cold.py';
    await server.open(uri, 'python', text);
    const cursor = positionOf(text, '    total = a');
    // Asked for at once: the completion cancels the open's pending warm-up and computes everything.
    await server.inline(uri, cursor);
    const first = await until('the completion', () => traces(server, 'infill', uri)[0]);
    assert.equal(first.context.reused, 0, JSON.stringify(first.context));
    assert.equal(first.context.computed, first.context.tokens);
    assert.equal(traces(server, 'prefill', uri).length, 0, 'the pending warm-up was dropped');
  });

  test('an edit before the warm-up starts drops it (its offset is stale)', async () => {
    const uri = 'file:///prefill/stale.py';
    await server.open(uri, 'python', text);
    const cursor = positionOf(text, '    total = a');
    await server.connection.sendNotification(cursorMoved, { textDocument: { uri }, position: cursor });
    await server.change(uri, { start: cursor, end: cursor }, 'x');
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(traces(server, 'prefill', uri).length, 0);
  });

  test('closing a document drops its cached context in the worker', async () => {
    const uri = 'file:///prefill/closed.py';
    const cursor = positionOf(text, '    total = a');
    await server.open(uri, 'python', text);
    await server.inline(uri, cursor);
    await until('the first completion', () => traces(server, 'infill', uri)[0]);
    await server.close(uri);
    // The same text again: with the old entry kept, all of it would be reused.
    await server.open(uri, 'python', text);
    await server.inline(uri, cursor);
    const again = await until('the second completion', () => traces(server, 'infill', uri)[1]);
    assert.equal(again.context.reused, 0, JSON.stringify(again.context));
  });

  test('a malformed cursor notification is ignored', async () => {
    await server.connection.sendNotification(cursorMoved, { textDocument: { uri: 'file:///prefill/warm.py' }, position: { line: 'x', character: -1 } } as never);
    await server.connection.sendNotification(cursorMoved, {} as never);
    const items = await server.inline('file:///prefill/warm.py', { line: 0, character: 3 });
    assert.ok(Array.isArray(items));
  });
});
