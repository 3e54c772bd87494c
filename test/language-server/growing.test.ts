// Ghost text under a time budget, through the compiled server and the real default model: an
// automatic request answers with the start of the line decided in time, the server writes the
// rest, tells the client (diffusionInfill/completionGrew), and asking again at the same cursor
// returns the whole line, which starts with what was shown.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { completionGrew, type CompletionGrewParams } from '../../language-server/src/protocol';
import { LspServerProcess, positionOf } from './lsp-harness';
import { modelsDir } from '../helpers/paths';

const uri = 'file:///work/stats.py';
const text = [
  'def mean(values):',
  '    total = 0',
  '    for v in values:',
  '        total += v',
  '    return total / len(values)',
  '',
  'def variance(values):',
  '    m = mean(values)',
  '    return sum((v - m) ** 2 for v in values) / len(values)',
  '',
  'def describe(values):',
  '    print("mean", mean(values))',
  '    print("variance", ',
  '',
].join('\n');

let server: LspServerProcess;
const grown: CompletionGrewParams[] = [];

before(async () => {
  server = LspServerProcess.start('stdio');
  server.connection.onNotification(completionGrew, (p) => {
    grown.push(p);
  });
  // A 1 ms budget runs out before the first block pass: the answer is the first token alone.
  await server.initialize({ modelPath: path.join(modelsDir, 'default'), device: 'cpu', debounceMs: 0, ghostTextBudgetMs: 1 });
  const ready = await server.waitForStatus((s) => s.state === 'ready' || s.state === 'error', 120_000);
  assert.equal(ready.state, 'ready', ready.message);
});

after(async () => {
  await server?.stop();
  assert.doesNotMatch(server.stderr, /Engine error/);
});

test('ghost text cut by the time budget grows to the whole line at the same cursor', async (t) => {
  await server.open(uri, 'python', text);
  const cursor = positionOf(text, 'print("variance", ');
  const first = await server.inline(uri, cursor, { trigger: 'automatic' });
  assert.equal(first.length, 1, 'an answer in time');
  const shown = first[0].insertText as string;
  assert.ok(shown.length > 0);

  const deadline = Date.now() + 60_000;
  while (grown.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(grown, [{ textDocument: { uri }, version: 1 }], 'the client is told once, for the version it asked about');

  // The client's answer to the notification: ask again (an explicit trigger), served from the cache.
  const again = await server.inline(uri, cursor);
  const whole = again[0]?.insertText as string;
  t.diagnostic(`shown ${JSON.stringify(shown)}, then ${JSON.stringify(whole)}`);
  assert.ok(whole.startsWith(shown) && whole.length > shown.length, `${JSON.stringify(whole)} continues ${JSON.stringify(shown)}`);
  assert.ok(!whole.includes('\n'), 'still one line');

  // Typing what was shown is answered from the same whole line.
  await server.change(uri, { start: cursor, end: cursor }, shown);
  const typed = await server.inline(uri, { line: cursor.line, character: cursor.character + shown.length }, { trigger: 'automatic' });
  assert.equal(typed[0]?.insertText, whole.slice(shown.length));
});
