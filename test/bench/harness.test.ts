// The measurement harness: generated programs are judged correctly, cannot hang the run or reach
// the network, and hole sets are reproducible from their seed.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { editSimilarity, runPython } from '../../bench/eval';
import { makeHoles } from '../../bench/holes';
import { repoRoot } from '../helpers/paths';

test('a correct program passes, a failing assertion fails', async () => {
  assert.equal(await runPython('def f(x):\n    return x + 1\nassert f(1) == 2\n'), true);
  assert.equal(await runPython('def f(x):\n    return x\nassert f(1) == 2\n'), false);
});

test('a program that never ends is killed by the timeout', async () => {
  const t0 = Date.now();
  assert.equal(await runPython('while True:\n    pass\n', 2), false);
  assert.ok(Date.now() - t0 < 8000);
});

test('a generated program cannot reach the network', async () => {
  const src = 'import socket\ns = socket.socket()\ns.settimeout(2)\ns.connect(("127.0.0.1", 9))\n';
  assert.equal(await runPython(src, 5), false);
});

test('hole sets are reproducible and well-formed', () => {
  const src = path.join(repoRoot, 'language-server/src');
  const a = makeHoles(src, 12, 3);
  const b = makeHoles(src, 12, 3);
  assert.deepEqual(a, b);
  assert.equal(a.length, 12);
  for (const h of a) {
    assert.ok(h.middle.length > 0);
    assert.equal(h.language, 'typescript');
  }
  assert.deepEqual(new Set(a.map((h) => h.kind)), new Set(['line', 'block', 'span']));
});

test('edit similarity', () => {
  assert.equal(editSimilarity('abc', 'abc'), 1);
  assert.equal(editSimilarity('abc', 'abd'), 1 - 1 / 3);
  assert.equal(editSimilarity('', 'abc'), 0);
});
