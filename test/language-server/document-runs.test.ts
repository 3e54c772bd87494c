// One inline run per document (document-runs.ts): typing at the run's cursor leaves it going and
// the next request waits for it; text that does not continue it aborts it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { continues, DocumentRuns, type RunKey } from '../../language-server/src/document-runs';
import { CancelledError } from '../../model-host/src/errors';

const key = (prefix: string, suffix = '\nnext()\n'): RunKey => ({ offset: prefix.length, prefix, suffix });

/** A run that ends when told, or rejects when its signal aborts. */
function controllable() {
  let finish!: (value: string) => void;
  let signal!: AbortSignal;
  const work = (s: AbortSignal) => {
    signal = s;
    return new Promise<string>((resolve, reject) => {
      finish = resolve;
      s.addEventListener('abort', () => reject(new CancelledError()), { once: true });
    });
  };
  return { work, finish: (v: string) => finish(v), signal: () => signal };
}

test('continues: characters typed at the cursor, and only those', () => {
  assert.ok(continues(key('total = '), key('total = su')));
  assert.ok(!continues(key('total = '), key('total =')), 'a deletion');
  assert.ok(!continues(key('total = '), key('count = su')), 'an edit before the cursor');
  assert.ok(!continues(key('total = '), key('total = su', '\nother()\n')), 'an edit after it');
  const grow = { ...key('total = '), expects: 'sum(' };
  assert.ok(continues(grow, key('total = su')), 'typing the text shown');
  assert.ok(continues(grow, key('total = sum(v')), 'and past it');
  assert.ok(!continues(grow, key('total = x')), 'typing something else');
});

test('a continuing request waits for the run, which its own request\'s cancellation does not stop', async () => {
  const runs = new DocumentRuns();
  const run = controllable();
  const first = new AbortController();
  const answer = runs.start('a', key('x = '), first.signal, run.work);
  first.abort();
  await assert.rejects(answer, CancelledError);
  assert.equal(run.signal().aborted, false, 'the run goes on');
  runs.supersede('a', key('x = 1'));
  assert.equal(run.signal().aborted, false);
  const next = new AbortController();
  let idle = false;
  const waiting = runs.idle('a', next.signal).then((v) => { idle = v; });
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(idle, false, 'waits while the run goes');
  run.finish('done');
  await waiting;
  assert.equal(idle, true);
  // Another document is not held up by this one's run.
  const other = controllable();
  void runs.start('a', key('x = 1'), new AbortController().signal, other.work).catch(() => undefined);
  assert.equal(await runs.idle('b', new AbortController().signal), true);
  runs.cancelAll();
});

test('a request whose text does not continue the run, an edit elsewhere, a tied request or closing aborts it', async () => {
  const runs = new DocumentRuns();
  const a = controllable();
  void runs.start('a', key('x = '), new AbortController().signal, a.work).catch(() => undefined);
  runs.supersede('a', key('y = '));
  assert.equal(a.signal().aborted, true);
  const b = controllable();
  void runs.start('b', key('x = ', '\ny()\n'), new AbortController().signal, b.work).catch(() => undefined);
  runs.edited('b', 'x = 12\ny()\n');
  assert.equal(b.signal().aborted, false, 'typing at the cursor');
  runs.edited('b', '# note\nx = 12\ny()\n');
  assert.equal(b.signal().aborted, true, 'an edit before the cursor');
  const c = controllable();
  const request = new AbortController();
  void runs.start('c', key('x = '), request.signal, c.work, true).catch(() => undefined);
  request.abort();
  assert.equal(c.signal().aborted, true, 'tied to its request');
  const d = controllable();
  void runs.start('d', key('x = '), new AbortController().signal, d.work).catch(() => undefined);
  runs.cancel('d');
  assert.equal(d.signal().aborted, true);
  assert.equal(runs.active, 0);
});
