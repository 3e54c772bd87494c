// LocalEngine end to end on the tiny model: what load reports, ranking, token budgets and the
// coarse prefix cut, context reuse per document, the per-request breakdown, cancellation.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { LocalEngine } from '../../model-host/src/engine';
import { CancelledError } from '../../model-host/src/errors';
import { ENGINE_SETTINGS } from '../../model-host/src/settings/engine-settings';
import type { InfillRequest, SamplerOptions } from '../../model-host/src/types';
import { modelsDir } from '../helpers/paths';

const greedy: SamplerOptions = { steps: 16, blockLength: 8, temperature: 0 };
const request = (sampler: Partial<SamplerOptions> = {}, canvasLength = 16, candidates?: number): InfillRequest => ({
  prefix: 'import os\n\n\ndef list_files(root):\n    result = []\n    for name in os.listdir(root):\n        ',
  suffix: '\n    return result\n',
  canvasLength,
  candidates,
  sampler: { ...greedy, ...sampler },
  maxPrefixTokens: ENGINE_SETTINGS.maxPrefixTokens.default,
  maxSuffixTokens: ENGINE_SETTINGS.maxSuffixTokens.default,
});

const engine = new LocalEngine({ modelDir: path.join(modelsDir, 'tiny'), provider: 'cpu', threads: 1 });
before(async () => {
  const info = await engine.load();
  assert.equal(info.name, 'tiny');
  assert.equal(info.provider, 'cpu');
  assert.equal(info.path, path.join(modelsDir, 'tiny'));
  assert.equal(info.parameters, 3219776);
  assert.ok(info.loadMs > 0);
  assert.deepEqual(info.providerNotes, [], 'cpu was asked for, so nothing was skipped');
});
after(() => engine.dispose());

test('load is idempotent', async () => {
  assert.equal(await engine.load(), await engine.load());
});

test('candidates share one canvas length and their passes, ranked by confidence, with consistent counts', async () => {
  const r = await engine.infill(request({ temperature: 1, seed: 5 }, 16, 2));
  assert.equal(r.candidates.length, 2);
  assert.deepEqual(r.candidates.map((c) => c.canvasLength), [16, 16]);
  for (let i = 1; i < r.candidates.length; i++) assert.ok(r.candidates[i - 1].confidence >= r.candidates[i].confidence);
  for (const c of r.candidates) {
    assert.ok(Number.isFinite(c.confidence) && c.confidence <= 0);
    assert.ok(c.tokens >= 1 && c.tokens <= c.canvasLength, 'minTokens defaults to 1');
    assert.ok(!/<\|(mask|pad|bos|eos)\|>/.test(c.text));
    assert.ok(c.steps >= 1 && c.steps <= r.canvasPasses + 1, 'a candidate commits in some of the batch\'s steps');
  }
  const steps = r.candidates.map((c) => c.steps);
  assert.ok(r.canvasPasses >= Math.max(...steps) - 1 && r.canvasPasses < steps.reduce((a, b) => a + b, 0), 'the candidates share their passes');
  assert.equal(r.forwards, r.canvasPasses + (r.context.computed > 0 ? 1 : 0));
  const t = r.timings;
  assert.ok(t.totalMs >= t.sampleMs && t.sampleMs > 0 && t.tokenizeMs >= 0);
  assert.ok(t.modelMs > 0 && t.modelMs <= t.totalMs && t.contextMs >= 0 && t.contextMs <= t.sampleMs);
});

test('greedy requests are deterministic', async () => {
  const a = await engine.infill(request({}, 16, 2));
  const b = await engine.infill(request({}, 16, 2));
  assert.deepEqual(a.candidates, b.candidates);
});

test('two candidates open with the two most likely first tokens, ranked by confidence', async () => {
  // No blanks end the prefix, so no token healing: a candidate's text starts with its first token's text.
  const base = { ...request(), prefix: 'import os\n\n\ndef list_files(root):\n    result = []\n    for name in os.listdir(root):\n        result.append(' };
  // A canvas of one token is the first token alone: the most likely, then the second most likely.
  const first = await engine.infill({ ...base, canvasLength: 1, candidates: 2 });
  assert.equal(first.canvasPasses, 0, 'the context\'s last logits give the first token: no block pass');
  assert.equal(first.candidates.length, 2);
  assert.deepEqual(first.candidates.map((c) => c.tokens), [1, 1]);
  const [top, second] = first.candidates.map((c) => c.text);
  assert.notEqual(top, second, 'different first tokens');
  assert.ok(first.candidates[0].confidence > first.candidates[1].confidence, 'the most likely first token ranks first');
  assert.equal((await engine.infill({ ...base, canvasLength: 1 })).candidates[0].text, top, 'one candidate is the greedy one');
  // Longer completions keep those openings, one each, and are ranked by their whole confidence.
  const r = await engine.infill({ ...base, candidates: 2 });
  assert.equal(r.candidates.length, 2);
  assert.ok(r.candidates[0].confidence >= r.candidates[1].confidence);
  const [a, b] = r.candidates.map((c) => c.text);
  assert.ok((a.startsWith(top) && b.startsWith(second)) || (a.startsWith(second) && b.startsWith(top)), JSON.stringify({ a, b, top, second }));
  // Every candidate has the request's one canvas length as its ceiling.
  assert.ok(r.candidates.every((c) => c.canvasLength === 16 && c.tokens <= 16));
});

test('budgets keep the start of the suffix and cut the prefix at its start, in whole steps of lines', async () => {
  const long = { ...request(), prefix: 'x = 1\n'.repeat(3000), suffix: 'y = 2\n'.repeat(3000) };
  const r = await engine.infill({ ...long, maxPrefixTokens: 100, maxSuffixTokens: 40 });
  assert.equal(r.suffixTokens, 40);
  // 'x = 1\n' is 5 tokens and steps start every 16 lines from the text's start: the 3000 lines
  // end with a step of 8 lines (40 tokens), and the 16 lines before it would pass 100.
  assert.equal(r.prefixTokens, 40);
  // The settings' budgets: 320 prefix (8 + 3 x 16 lines = 280 tokens here), 64 suffix.
  const fit = await engine.infill(long);
  assert.equal(fit.suffixTokens, 64);
  assert.equal(fit.prefixTokens, 280);
  assert.equal(fit.context.tokens, 2 + 280 + 64);
  // Short text is kept whole.
  const short = await engine.infill({ ...request(), maxPrefixTokens: 10000, maxSuffixTokens: 10000 });
  assert.ok(short.prefixTokens > 10 && short.suffixTokens > 3);
  // The engine has no budgets of its own: a request must bring them.
  const { maxPrefixTokens: _p, ...without } = request();
  await assert.rejects(engine.infill(without as InfillRequest), /maxPrefixTokens must be a non-negative integer/);
  await assert.rejects(engine.infill({ ...request(), maxSuffixTokens: -1 }), /maxSuffixTokens must be a non-negative integer/);
});

test('typing at the end of a long prefix reuses the context: a few tokens per keystroke, the start moves rarely', async () => {
  const e = new LocalEngine({ modelDir: path.join(modelsDir, 'tiny'), provider: 'cpu', threads: 1 });
  await e.load();
  try {
    let prefix = 'def f(values):\n    total = 0\n'.repeat(120);
    const suffix = '\n    return total\n';
    const computed: number[] = [];
    for (const ch of 'for v in values:\n        total += v\n') {
      prefix += ch;
      const r = await e.infill({ ...request({ steps: 2, blockLength: 8 }, 8), prefix, suffix, document: 'file:///a.py' });
      computed.push(r.context.computed);
      assert.equal(r.context.computed + r.context.reused, r.context.tokens);
    }
    assert.ok(computed[0] > 200, 'the first request computes the whole context');
    const later = computed.slice(1);
    const big = later.filter((n) => n > 8);
    assert.ok(big.length <= 1, `at most one cut of the prefix's start over two lines of typing: ${later}`);
    assert.ok(later.filter((n) => n <= 3).length >= later.length - 3, `a keystroke computes 1-3 tokens: ${later}`);
    // Another document has its own entry; the first one is still warm.
    const other = await e.infill({ ...request({ steps: 2 }, 8), prefix: 'import os\n', suffix: '', document: 'file:///b.py' });
    assert.equal(other.context.reused, 0);
    const back = await e.infill({ ...request({ steps: 2 }, 8), prefix, suffix, document: 'file:///a.py' });
    assert.equal(back.context.computed, 0);
    assert.deepEqual(e.contextCache?.documents, ['file:///b.py', 'file:///a.py']);
  } finally {
    await e.dispose();
  }
});

test('a warm request completes as a cold one does', async () => {
  const base = request({}, 16, 2);
  await engine.infill({ ...base, prefix: base.prefix.slice(0, -4), document: 'warm' });
  const warm = await engine.infill({ ...base, document: 'warm' });
  const cold = await engine.infill({ ...base, reuseContext: false });
  assert.ok(warm.context.reused > 0 && cold.context.reused === 0);
  assert.deepEqual(warm.candidates.map((c) => c.text), cold.candidates.map((c) => c.text));
});

test('single-line completions end at a line break', async () => {
  for (const canvas of [8, 16, 24]) {
    const r = await engine.infill(request({ singleLine: true, steps: canvas }, canvas, 2));
    for (const c of r.candidates) assert.ok(!/[\r\n]/.test(c.text), JSON.stringify(c.text));
  }
});

test('a time budget answers with the decided start of the completion, marked truncated', async () => {
  // Greedy decoding is deterministic, so the start decided in time is the start of the whole answer.
  const whole = await engine.infill(request({}, 16, 2));
  assert.ok(whole.candidates.every((c) => !c.truncated));
  assert.ok(whole.candidates[0].tokens > 1, 'the tiny model writes more than one token here');
  // Budget 0: out of time before the first pass, so only the first token (decided from the context) is left.
  const cut = await engine.infill({ ...request({}, 16, 2), timeBudgetMs: 0 });
  assert.equal(cut.canvasPasses, 0);
  for (const [i, c] of cut.candidates.entries()) {
    assert.ok(c.truncated);
    assert.equal(c.tokens, 1);
    const full = whole.candidates.find((w) => w.text.startsWith(c.text));
    assert.ok(full, `candidate ${i} ${JSON.stringify(c.text)} starts a whole candidate`);
  }
  // A budget larger than the work changes nothing.
  const roomy = await engine.infill({ ...request({}, 16, 2), timeBudgetMs: 60_000 });
  assert.deepEqual(roomy.candidates.map((c) => [c.text, c.truncated]), whole.candidates.map((c) => [c.text, false]));
});

test('a canvas longer than the model\'s positions, or a canvas or candidate count that is not a positive integer, is refused', async () => {
  await assert.rejects(engine.infill(request({}, 9000)), /does not fit the model's 8192 positions/);
  await assert.rejects(engine.infill(request({}, 0)), /canvasLength must be a positive integer/);
  await assert.rejects(engine.infill(request({}, 2.5)), /canvasLength must be a positive integer/);
  await assert.rejects(engine.infill(request({}, 16, 0)), /candidates must be a positive integer/);
});

test('cancellation rejects with CancelledError and the engine keeps serving', async () => {
  const ac = new AbortController();
  const running = engine.infill(request({ steps: 64 }, 64), ac.signal);
  setImmediate(() => ac.abort());
  await assert.rejects(running, CancelledError);
  const r = await engine.infill(request({}, 8));
  assert.equal(r.candidates.length, 1);
});

test('an infill before load says so', async () => {
  const fresh = new LocalEngine({ modelDir: path.join(modelsDir, 'tiny'), provider: 'cpu' });
  await assert.rejects(fresh.infill(request()), /not loaded/);
  await fresh.dispose();
});
