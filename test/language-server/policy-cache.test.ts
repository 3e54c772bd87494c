// Span policy (mode, canvas length, candidates), the result cache, the scheduler and settings merging.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResultCache } from '../../language-server/src/result-cache';
import { debounce, RequestScheduler } from '../../language-server/src/scheduler';
import { defaultSettings, engineKey, findPackageRoot, mergeSettings, resolveModelPath } from '../../language-server/src/settings';
import { decideMode, lineAboveCursor, planCursorSpan, planSelectionSpan } from '../../language-server/src/span-policy';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { buildCursorContext } from '../../language-server/src/context';
import { rankCandidates, requestAt } from '../../language-server/src/complete-at';
import { SETTINGS } from '../../language-server/src/protocol';

const repoRoot = path.resolve(__dirname, '../../..');
const defaults = defaultSettings(repoRoot);

test('span mode: mid-line, block openers, blank lines (by the line above), ordinary line ends', () => {
  assert.equal(decideMode('    x = foo(', 'a, b)'), 'single-line');
  assert.equal(decideMode('def f(x):', ''), 'multi-line');
  assert.equal(decideMode('if (ok) {', '  '), 'multi-line');
  assert.equal(decideMode('const f = () =>', ''), 'multi-line');
  assert.equal(decideMode('items = [', ''), 'multi-line');
  assert.equal(decideMode('    ', ''), 'multi-line');
  assert.equal(decideMode('', ''), 'multi-line');
  assert.equal(decideMode('x = 1', ''), 'single-line');
  assert.equal(decideMode('function f() {', '}'), 'multi-line');
  assert.equal(decideMode('print(', ')'), 'single-line');
  assert.equal(decideMode('while x do', ''), 'multi-line');
  assert.equal(decideMode('undo', ''), 'single-line');
  // A blank line: a body after a block opener, one statement after an ordinary line.
  assert.equal(decideMode('    ', '', 'def f(x):'), 'multi-line');
  assert.equal(decideMode('', '', 'function f() {'), 'multi-line');
  assert.equal(decideMode('    ', '', '    x = 1'), 'single-line');
  assert.equal(decideMode('', '', '}'), 'single-line');
  assert.equal(lineAboveCursor('a = 1\ndef f(x):\n\n   \n    '), 'def f(x):', 'blank lines between are skipped');
  assert.equal(lineAboveCursor('    x = 1\n    '), '    x = 1');
  assert.equal(lineAboveCursor('  '), '', 'nothing above');
  assert.equal(requestAt('import os\n\ndef f(x):\n    \n', 25, defaults)?.plan.mode, 'multi-line');
  assert.equal(requestAt('import os\n\nx = 1\n\n', 17, defaults)?.plan.mode, 'single-line');
});

test('cursor plans: one canvas of the mode\'s max tokens, capped by the model\'s window; candidates from the settings', () => {
  const s = { ...defaults };
  assert.equal(s.candidates, 1, 'one candidate by default');
  assert.deepEqual(planCursorSpan('x = ', '', s), { mode: 'single-line', maxTokens: 24, canvasLength: 24, candidates: 1 });
  assert.deepEqual(planCursorSpan('def f():', '', s), { mode: 'multi-line', maxTokens: 64, canvasLength: 64, candidates: 1 });
  assert.deepEqual(planCursorSpan('    x = foo(', 'a, b)', { ...s, maxTokensSingleLine: 40, candidates: 3 }),
    { mode: 'single-line', maxTokens: 40, canvasLength: 40, candidates: 3 });
  // The canvas is a ceiling, not rounded to blocks: any max tokens is taken as it is.
  assert.equal(planCursorSpan('def f():', '', { ...s, maxTokensMultiLine: 37 }).canvasLength, 37);
  // The model's window caps the canvas (not maxTokens), whatever the settings ask for.
  assert.deepEqual(planCursorSpan('x = ', '', s, 20), { mode: 'single-line', maxTokens: 24, canvasLength: 20, candidates: 1 });
  assert.equal(planCursorSpan('def f():', '', { ...s, maxTokensMultiLine: 512 }, 126).canvasLength, 126);
  assert.equal(planCursorSpan('x = ', '', s, 5.9).canvasLength, 5, 'a fractional window rounds down');
  assert.equal(planCursorSpan('x = ', '', s, 0).canvasLength, 1, 'never below one token');
  assert.equal(planCursorSpan('x = ', '', s, 1000).canvasLength, 24, 'a roomy window leaves max tokens');
  // Candidates: whole, at least one; the canvas does not depend on them.
  assert.equal(planCursorSpan('x = ', '', { ...s, candidates: 2 }).candidates, 2);
  assert.equal(planCursorSpan('x = ', '', { ...s, candidates: 2.7 }).candidates, 2);
  assert.equal(planCursorSpan('x = ', '', { ...s, candidates: 0 }).candidates, 1);
  assert.equal(planCursorSpan('x = ', '', { ...s, candidates: 5 }).canvasLength, 24);
});

test('selection plans: ceil(tokens*1.5)+8, capped at 256 and by the window; mode from line breaks', () => {
  const s = { ...defaults };
  // 12 chars ≈ 4 tokens → 6 + 8 = 14, not rounded to blocks.
  assert.deepEqual(planSelectionSpan('return a + b', s), { mode: 'single-line', maxTokens: 14, canvasLength: 14, candidates: 1 });
  // 60 chars ≈ 20 tokens → 38; candidates do not change the canvas.
  assert.deepEqual(planSelectionSpan('x'.repeat(60), { ...s, candidates: 2 }), { mode: 'single-line', maxTokens: 38, canvasLength: 38, candidates: 2 });
  // 61 chars ≈ 21 tokens → ceil(31.5) + 8 = 40.
  assert.equal(planSelectionSpan('x'.repeat(61), s).canvasLength, 40);
  assert.equal(planSelectionSpan('a\nb', s).mode, 'multi-line');
  assert.equal(planSelectionSpan('a\nb', s).canvasLength, 10);
  assert.equal(planSelectionSpan('x'.repeat(100000), s).canvasLength, 256);
  assert.equal(planSelectionSpan('x'.repeat(100000), s, 126).canvasLength, 126);
  assert.equal(planSelectionSpan('return a + b', s, 10).canvasLength, 10);
  // The settings' max tokens do not cap a selection: it is replaced wholesale.
  assert.equal(planSelectionSpan('x'.repeat(300), { ...s, maxTokensSingleLine: 8, maxTokensMultiLine: 8 }).canvasLength, 158);
  // An empty or blank selection is a cursor on a blank line.
  assert.deepEqual(planSelectionSpan('', s), planCursorSpan('', '', s));
  assert.deepEqual(planSelectionSpan('  \n\t', { ...s, candidates: 3 }, 50), { mode: 'multi-line', maxTokens: 64, canvasLength: 50, candidates: 3 });
});

test('result cache: typing through a completion returns the rest', () => {
  const cache = new ResultCache(4);
  const base = { uri: 'file:///a.py', offset: 10, prefix: 'def f(x):\n', suffix: '\n', settingsHash: 'h' };
  cache.store(base, [{ text: '    return x', confidence: -0.1 }, { text: '    pass', confidence: -0.5 }]);
  assert.deepEqual(cache.lookup(base)?.map((c) => c.text), ['    return x', '    pass']);
  const typed = { ...base, offset: 15, prefix: base.prefix + '    r' };
  assert.deepEqual(cache.lookup(typed), [{ text: 'eturn x', confidence: -0.1 }]);
  // Typing something else, editing the suffix, or other settings miss.
  assert.equal(cache.lookup({ ...base, offset: 11, prefix: base.prefix + 'z' }), undefined);
  assert.equal(cache.lookup({ ...typed, suffix: 'other' }), undefined);
  assert.equal(cache.lookup({ ...base, settingsHash: 'other' }), undefined);
  // Typing the whole completion leaves nothing to offer.
  assert.equal(cache.lookup({ ...base, offset: 18, prefix: base.prefix + '    pass' }), undefined);
  // Least recently used entries go first.
  for (let i = 0; i < 4; i++) cache.store({ ...base, uri: `file:///${i}` }, [{ text: 'x', confidence: 0 }]);
  assert.equal(cache.size, 4);
  assert.equal(cache.lookup(base), undefined);
  cache.forget('file:///0');
  assert.equal(cache.size, 3);
});

test('scheduler: a newer request aborts the older one; close aborts all', async () => {
  const scheduler = new RequestScheduler();
  const first = scheduler.begin('file:///a', 'inline');
  const fill = scheduler.begin('file:///a', 'fill');
  const second = scheduler.begin('file:///a', 'inline');
  assert.equal(first.signal.aborted, true);
  assert.equal(second.signal.aborted, false);
  assert.equal(fill.signal.aborted, false);
  first.done(); // a superseded ticket must not free its successor's slot
  assert.equal(scheduler.active, 2);
  scheduler.cancelDocument('file:///a');
  assert.equal(second.signal.aborted, true);
  assert.equal(fill.signal.aborted, true);
  assert.equal(scheduler.active, 0);

  const controller = new AbortController();
  const started = performance.now();
  setTimeout(() => controller.abort(), 10);
  assert.equal(await debounce(5000, controller.signal), false);
  assert.ok(performance.now() - started < 1000);
  assert.equal(await debounce(1, new AbortController().signal), true);
});

test('settings: partial and wrong-typed values merge safely', () => {
  const root = findPackageRoot(__dirname);
  assert.equal(root, repoRoot);
  const base = defaultSettings(root);
  assert.equal(base.modelPath, path.join(repoRoot, 'models', 'default'));
  assert.ok(fs.existsSync(path.join(root, 'package.json')));
  const merged = mergeSettings(base, { steps: 8, temperature: 'hot', candidates: 100, device: 'tpu', disabledLanguages: ['markdown', 3] });
  assert.equal(merged.steps, 8);
  assert.equal(merged.temperature, base.temperature);
  assert.equal(merged.candidates, SETTINGS.candidates.maximum, 'clamped to the table\'s range');
  assert.equal(merged.device, 'auto');
  assert.deepEqual(merged.disabledLanguages, ['markdown']);
  assert.deepEqual(mergeSettings(base, null), base);
  assert.equal(resolveModelPath('models/tiny', root), path.join(repoRoot, 'models', 'tiny'));
  assert.notEqual(engineKey(base, root), engineKey({ ...base, device: 'cpu' }, root));
  assert.equal(engineKey(base, root), engineKey({ ...base, steps: 3 }, root));
});

test('candidates: post-processed, deduplicated, blanks dropped, the engine\'s order kept', () => {
  const context = buildCursorContext('x = foo(\n', 8, defaults);
  assert.equal(context.kind, 'ok');
  if (context.kind !== 'ok') return;
  const plan = planCursorSpan(context.linePrefix, context.lineSuffix, defaults);
  const candidate = (text: string, confidence: number) => ({ text, confidence, canvasLength: 8, tokens: 2, steps: 8, truncated: false });
  // Best first, as the engine sorts them.
  const candidates = [candidate('  ', -0.1), candidate('b, c)', -0.5), candidate('a)', -1), candidate('a)\n', -2)];
  assert.deepEqual(rankCandidates(candidates, context, plan), [
    { text: 'b, c)', confidence: -0.5 },
    { text: 'a)', confidence: -1 },
  ]);
});
