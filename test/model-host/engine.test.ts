// LocalEngine end to end on the tiny model: what load reports, ranking, token budgets, timings,
// cancellation.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { LocalEngine } from '../../model-host/src/engine';
import { CancelledError } from '../../model-host/src/sampler';
import type { InfillRequest, SamplerOptions } from '../../model-host/src/types';
import { modelsDir } from '../helpers/paths';

const greedy: SamplerOptions = { steps: 16, blockLength: 8, temperature: 0, threshold: 0.9 };
const request = (sampler: Partial<SamplerOptions> = {}, canvasLengths = [16]): InfillRequest => ({
  prefix: 'import os\n\n\ndef list_files(root):\n    result = []\n    for name in os.listdir(root):\n        ',
  suffix: '\n    return result\n',
  canvasLengths,
  sampler: { ...greedy, ...sampler },
});

const engine = new LocalEngine({ modelDir: path.join(modelsDir, 'tiny'), provider: 'cpu', threads: 1 });
before(async () => {
  const info = await engine.load();
  assert.equal(info.name, 'tiny');
  assert.equal(info.provider, 'cpu');
  assert.equal(info.path, path.join(modelsDir, 'tiny'));
  assert.equal(info.parameters, 282784);
  assert.ok(info.loadMs > 0);
  assert.deepEqual(info.providerNotes, [], 'cpu was asked for, so nothing was skipped');
});
after(() => engine.dispose());

test('load is idempotent', async () => {
  assert.equal(await engine.load(), await engine.load());
});

test('one candidate per canvas length, ranked by confidence, with consistent counts', async () => {
  const r = await engine.infill(request({ temperature: 1, seed: 5 }, [8, 16, 24]));
  assert.equal(r.candidates.length, 3);
  assert.deepEqual(r.candidates.map((c) => c.canvasLength).sort((a, b) => a - b), [8, 16, 24]);
  for (let i = 1; i < r.candidates.length; i++) assert.ok(r.candidates[i - 1].confidence >= r.candidates[i].confidence);
  for (const c of r.candidates) {
    assert.ok(Number.isFinite(c.confidence) && c.confidence <= 0);
    assert.ok(c.tokens >= 1 && c.tokens <= c.canvasLength, 'minTokens defaults to 1');
    assert.ok(!/<\|(mask|pad|bos|eos)\|>/.test(c.text));
    assert.ok(c.steps >= 1 && c.steps <= r.forwards, 'a candidate takes part in some of the batch\'s passes');
  }
  assert.equal(r.forwards, Math.max(...r.candidates.map((c) => c.steps)), 'the candidates share their passes');
  assert.ok(r.timings.totalMs >= r.timings.sampleMs && r.timings.sampleMs > 0 && r.timings.tokenizeMs >= 0);
});

test('greedy requests are deterministic', async () => {
  const a = await engine.infill(request({}, [8, 16]));
  const b = await engine.infill(request({}, [8, 16]));
  assert.deepEqual(a.candidates, b.candidates);
});

test('budgets keep the end of the prefix and the start of the suffix', async () => {
  const long = { ...request(), prefix: 'x = 1\n'.repeat(3000), suffix: 'y = 2\n'.repeat(3000) };
  const r = await engine.infill({ ...long, maxPrefixTokens: 100, maxSuffixTokens: 40 });
  assert.equal(r.prefixTokens, 100);
  assert.equal(r.suffixTokens, 40);
  // Without budgets both sides are cut to fit max_positions (1024) with the canvas and bos/eos.
  const fit = await engine.infill(long);
  assert.equal(fit.prefixTokens + fit.suffixTokens + 16 + 2, 1024);
  assert.ok(fit.suffixTokens >= Math.floor((1024 - 18) / 4));
  // Short text is kept whole.
  const short = await engine.infill({ ...request(), maxPrefixTokens: 10000, maxSuffixTokens: 10000 });
  assert.ok(short.prefixTokens > 10 && short.suffixTokens > 3);
});

test('a canvas longer than the model\'s positions is refused', async () => {
  await assert.rejects(engine.infill(request({}, [2000])), /does not fit the model's 1024 positions/);
  await assert.rejects(engine.infill(request({}, [])), /canvasLengths must be positive integers/);
});

test('cancellation rejects with CancelledError and the engine keeps serving', async () => {
  const ac = new AbortController();
  const running = engine.infill(request({ steps: 64, threshold: 0 }, [64]), ac.signal);
  setImmediate(() => ac.abort());
  await assert.rejects(running, CancelledError);
  const r = await engine.infill(request({}, [8]));
  assert.equal(r.candidates.length, 1);
});

test('an infill before load says so', async () => {
  const fresh = new LocalEngine({ modelDir: path.join(modelsDir, 'tiny'), provider: 'cpu' });
  await assert.rejects(fresh.infill(request()), /not loaded/);
  await fresh.dispose();
});
