// Faults found by probing the real server (issue 22), while typing, with the real default model:
// an edit inside what the model reads must not be answered from the result cache (its key covered
// 256 characters before and 128 after the cursor, the model reads 320 tokens before and 64 after);
// an edit must stop a background run that grows a cut-short completion, so completionGrew never
// names a version that is gone.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { completionGrew, type CompletionGrewParams } from '../../language-server/src/protocol';
import { LspServerProcess, positionOf } from './lsp-harness';
import { modelsDir } from '../helpers/paths';

// One [trace] line per request that reached the model: a cache hit writes none.
process.env.DIFFUSION_INFILL_TRACE = '1';

const defaultModel = path.join(modelsDir, 'default');
const base = { modelPath: defaultModel, device: 'cpu', candidates: 1 };

function modelRuns(server: LspServerProcess): number {
  return (server.stderr.match(/\[trace\] \{"kind":"infill"/g) ?? []).length;
}

/** A document with the cursor after `total = compute` (the model finishes the name), filler lines around it. */
function document(before: number, afterLines: number): string {
  const filler = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `${tag}_${i} = ${i} * 2  # padding`);
  return [
    'def compute_total(values):', '    return sum(values)', '',
    ...filler('head', before), '',
    'def main(data):', '    total = compute', '    print(total)', '',
    ...filler('tail', afterLines), '',
    'def render_total(values):', '    return str(compute_total(values))', '',
  ].join('\n');
}

/** The range of the first `needle` after (or before) the cursor, `distance` characters away at most. */
function rangeOf(text: string, needle: string, from = 0) {
  const at = text.indexOf(needle, from);
  const pos = (offset: number) => {
    const line = text.slice(0, offset).split('\n').length - 1;
    return { line, character: offset - (text.lastIndexOf('\n', offset - 1) + 1) };
  };
  return { offset: at, range: { start: pos(at), end: pos(at + needle.length) } };
}

describe('the result cache and edits inside what the model reads', () => {
  let server: LspServerProcess;

  before(async () => {
    server = LspServerProcess.start('stdio');
    await server.initialize({ ...base, debounceMs: 0, ghostTextBudgetMs: 0 });
    const ready = await server.waitForStatus((s) => s.state === 'ready' || s.state === 'error', 120_000);
    assert.equal(ready.state, 'ready', ready.message);
  });

  after(async () => {
    await server?.stop();
  });

  for (const [name, where] of [['150-260 characters after the cursor', 'after'], ['500 characters before the cursor', 'before']] as const) {
    test(`an edit ${name} reaches the model again; typing through the ghost text does not`, async (t) => {
      // 'after': the tail filler puts the last function ~200 characters after the cursor;
      // 'before': the head filler puts the first one ~500 characters before it.
      const text = where === 'after' ? document(0, 4) : document(16, 0);
      const uri = `file:///typing/${where}.py`;
      await server.open(uri, 'python', text);
      const cursorOffset = text.indexOf('    total = compute') + '    total = compute'.length;
      const cursor = positionOf(text, '    total = compute');
      const first = await server.inline(uri, cursor);
      t.diagnostic(`completion ${JSON.stringify(first[0]?.insertText)}`);
      assert.ok((first[0]?.insertText as string)?.length > 1, 'a completion of two characters or more');
      const runs = modelRuns(server);

      // Typing the first character of the ghost text is served from the cache.
      const shown = first[0].insertText as string;
      await server.change(uri, { start: cursor, end: cursor }, shown[0]);
      const typed = await server.inline(uri, { line: cursor.line, character: cursor.character + 1 });
      assert.equal(modelRuns(server), runs, 'typing through the ghost text is answered from the cache');
      assert.equal(typed[0]?.insertText, shown.slice(1));
      await server.change(uri, { start: cursor, end: { line: cursor.line, character: cursor.character + 1 } }, '');

      // A rename of a same-length name inside the window: the cursor's offset stays, the text the model reads does not.
      const target = where === 'after' ? rangeOf(text, 'compute_total', cursorOffset) : rangeOf(text, 'compute_total');
      const distance = Math.abs(target.offset - cursorOffset);
      assert.ok(where === 'after' ? distance >= 150 && distance <= 260 : distance >= 450 && distance <= 600, `distance ${distance}`);
      await server.change(uri, target.range, 'summed_totals');
      await server.inline(uri, cursor);
      assert.equal(modelRuns(server), runs + 1, `the edit ${distance} characters away reached the model`);
    });
  }
});

describe('an edit during a background run', () => {
  let server: LspServerProcess;
  const grown: CompletionGrewParams[] = [];

  before(async () => {
    server = LspServerProcess.start('stdio');
    server.connection.onNotification(completionGrew, (p) => { grown.push(p); });
    await server.initialize({ ...base, debounceMs: 0, ghostTextBudgetMs: 1 });
    const ready = await server.waitForStatus((s) => s.state === 'ready' || s.state === 'error', 120_000);
    assert.equal(ready.state, 'ready', ready.message);
  });

  after(async () => {
    await server?.stop();
  });

  test('stops it: no completionGrew for the version before the edit', async () => {
    const text = 'def describe(values):\n    print("mean", sum(values) / len(values))\n    print("variance", \n';
    const uri = 'file:///typing/grow.py';
    await server.open(uri, 'python', text);
    const first = await server.inline(uri, positionOf(text, 'print("variance", '), { trigger: 'automatic' });
    assert.equal(first.length, 1, 'an answer cut short');
    // An edit that brings no new request (a change elsewhere, a paste from another tool).
    await server.change(uri, { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, '# stats\n');
    await new Promise((resolve) => setTimeout(resolve, 8000));
    assert.deepEqual(grown.filter((g) => g.version !== 2), [], 'no notification for a version that is gone');
  });
});
