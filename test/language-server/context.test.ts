// Context windows: boundaries, line endings, surrogate pairs, budgets, huge and binary input.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildCursorContext,
  buildSelectionContext,
  CHARS_PER_TOKEN,
  PREFIX_START_STEP_CHARS,
  snapOffset,
  type CursorContext,
} from '../../language-server/src/context';
import { detectEol } from '../../language-server/src/line-endings';

const budget = { maxPrefixTokens: 320, maxSuffixTokens: 128 };

function ok(ctx: ReturnType<typeof buildCursorContext>): CursorContext {
  assert.equal(ctx.kind, 'ok');
  return ctx as CursorContext;
}

test('document start and end', () => {
  const text = 'a = 1\nb = 2\n';
  const start = ok(buildCursorContext(text, 0, budget));
  assert.equal(start.prefix, '');
  assert.equal(start.suffix, text);
  assert.equal(start.linePrefix, '');
  assert.equal(start.lineSuffix, 'a = 1');
  const end = ok(buildCursorContext(text, text.length, budget));
  assert.equal(end.prefix, text);
  assert.equal(end.suffix, '');
  assert.equal(end.linePrefix, '');
  assert.equal(end.lineSuffix, '');
  const empty = ok(buildCursorContext('', 0, budget));
  assert.deepEqual([empty.prefix, empty.suffix, empty.offset], ['', '', 0]);
  // Offsets outside the document are clamped rather than trusted.
  assert.equal(ok(buildCursorContext(text, 999, budget)).offset, text.length);
  assert.equal(ok(buildCursorContext(text, -5, budget)).offset, 0);
});

test('CRLF: normalized to LF for the model, EOL remembered, never split', () => {
  const text = 'if x:\r\n    y = 1\r\n    z = 2\r\n';
  const cursor = text.indexOf('y = 1') + 5; // end of the second line
  const ctx = ok(buildCursorContext(text, cursor, budget));
  assert.equal(ctx.eol, '\r\n');
  assert.equal(ctx.prefix, 'if x:\n    y = 1');
  assert.equal(ctx.suffix, '\n    z = 2\n');
  assert.equal(ctx.linePrefix, '    y = 1');
  assert.equal(ctx.lineSuffix, '');
  // A cursor between \r and \n moves before the \r.
  assert.equal(snapOffset(text, cursor + 1), cursor);
  assert.equal(ok(buildCursorContext(text, cursor + 1, budget)).offset, cursor);
  assert.equal(detectEol('a\nb\r\n'), '\n');
  assert.equal(detectEol('no line break'), '\n');
});

test('surrogate pairs are never split', () => {
  const text = 'x = "😀😀"';
  const inside = text.indexOf('😀') + 1; // between the halves of the first emoji
  assert.equal(snapOffset(text, inside), inside - 1);
  const ctx = ok(buildCursorContext(text, inside, budget));
  assert.equal(ctx.prefix, 'x = "');
  assert.equal(ctx.suffix, '😀😀"');
  // Window edges that fall inside a pair drop the half instead of keeping it: the 'a' shifts
  // the emoji after it by one code unit, so one of the two cursors puts an edge mid-pair.
  const long = '😀'.repeat(1000) + 'a' + '😀'.repeat(1000);
  const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
  for (const cursor of [2000, 2001]) {
    const mid = ok(buildCursorContext(long, cursor, { maxPrefixTokens: 3, maxSuffixTokens: 3 }));
    for (const s of [mid.prefix, mid.suffix]) assert.ok(!loneSurrogate.test(s), `lone surrogate at cursor ${cursor}`);
    assert.ok(mid.prefix.length >= 10 && mid.suffix.length >= 10);
  }
});

test('windows fit the budget and prefer line boundaries', () => {
  const lines = Array.from({ length: 400 }, (_, i) => `line_${i} = ${i}`);
  const text = lines.join('\n');
  const cursor = text.indexOf('line_200');
  const small = { maxPrefixTokens: 20, maxSuffixTokens: 10 };
  const ctx = ok(buildCursorContext(text, cursor, small));
  // The prefix's start is rounded down to a step (it stays put while typing), so it may be longer.
  assert.ok(ctx.prefix.length <= small.maxPrefixTokens * CHARS_PER_TOKEN + PREFIX_START_STEP_CHARS);
  assert.ok(ctx.suffix.length <= small.maxSuffixTokens * CHARS_PER_TOKEN);
  assert.ok(ctx.prefix.startsWith('line_'), `prefix starts mid-line: ${JSON.stringify(ctx.prefix.slice(0, 20))}`);
  assert.ok(ctx.suffix.endsWith('\n'), 'suffix ends on a line break');
  assert.ok(text.slice(0, cursor).endsWith(ctx.prefix));
  assert.ok(text.slice(cursor).startsWith(ctx.suffix));
  // Zero budgets give empty windows, not errors.
  const none = ok(buildCursorContext(text, cursor, { maxPrefixTokens: 0, maxSuffixTokens: 0 }));
  assert.deepEqual([none.prefix, none.suffix], ['', '']);
});

test('the prefix window starts at the same place while the user types (the engine reuses its context)', () => {
  let text = Array.from({ length: 2000 }, (_, i) => `value_${i} = compute(${i})`).join('\n') + '\n';
  const starts = new Set<number>();
  for (const ch of 'result = values.map((v) => v * 2)\nprint(result)\n') {
    text += ch;
    const ctx = ok(buildCursorContext(text, text.length, budget));
    assert.ok(ctx.prefix.length >= budget.maxPrefixTokens * CHARS_PER_TOKEN);
    starts.add(text.length - ctx.prefix.length);
  }
  assert.ok(starts.size <= 2, `the start moved ${starts.size - 1} times in 47 keystrokes`);
});

test('tabs are kept as they are', () => {
  const text = 'func f() {\n\t\tx := 1\n\t\t\n}';
  const cursor = text.indexOf('\t\t\n') + 2;
  const ctx = ok(buildCursorContext(text, cursor, budget));
  assert.equal(ctx.linePrefix, '\t\t');
  assert.equal(ctx.lineSuffix, '');
});

test('a 5 MB single-line document is cut quickly', () => {
  const text = 'x = [' + '1, '.repeat(5_000_000 / 3) + ']';
  const started = performance.now();
  for (const at of [0, text.length >> 1, text.length]) {
    const ctx = ok(buildCursorContext(text, at, budget));
    assert.ok(ctx.prefix.length <= budget.maxPrefixTokens * CHARS_PER_TOKEN + PREFIX_START_STEP_CHARS);
    assert.ok(ctx.suffix.length <= budget.maxSuffixTokens * CHARS_PER_TOKEN);
    assert.ok(ctx.linePrefix.length <= ctx.prefix.length);
  }
  const ms = performance.now() - started;
  assert.ok(ms < 500, `took ${ms.toFixed(1)} ms`);
});

test('NUL bytes mean binary: no context', () => {
  assert.deepEqual(buildCursorContext('abc\0def', 3, budget), { kind: 'skip', reason: 'binary' });
  // A NUL far away from the cursor and past the sniffed head does not block completion.
  const far = 'a'.repeat(20000) + '\0' + 'b'.repeat(100000);
  assert.equal(buildCursorContext(far, far.length - 10, budget).kind, 'ok');
  assert.equal(buildSelectionContext('ab\0', 0, 1, budget).kind, 'skip');
});

test('selection context: the selection is cut out, windows on either side', () => {
  const text = 'def f():\r\n    return 1\r\n\r\nprint(f())\r\n';
  const start = text.indexOf('return');
  const end = text.indexOf('1\r\n') + 1;
  const ctx = buildSelectionContext(text, end, start, budget); // reversed on purpose
  assert.equal(ctx.kind, 'ok');
  if (ctx.kind !== 'ok') return;
  assert.equal(ctx.selected, 'return 1');
  assert.equal(ctx.prefix, 'def f():\n    ');
  assert.equal(ctx.suffix, '\n\nprint(f())\n');
  assert.deepEqual([ctx.start, ctx.end, ctx.eol], [start, end, '\r\n']);
});
