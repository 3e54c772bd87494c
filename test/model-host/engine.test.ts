// The model host on the real runtime and the real tiny model: loading errors, the tokenizer,
// the sampler's variants, ranking and cancellation.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalEngine } from '../../model-host/src/engine';
import { ModelLoadError } from '../../model-host/src/manifest';
import { CancelledError } from '../../model-host/src/sampler';
import { CodeTokenizer } from '../../model-host/src/tokenizer';
import type { InfillRequest, SamplerOptions } from '../../model-host/src/types';
import { modelsDir } from '../helpers/paths';

const tiny = path.join(modelsDir, 'tiny');
const reference: SamplerOptions = { steps: 16, blockLength: 8, temperature: 0, dualCache: false, remasking: 'low_confidence' };
const PY = 'import os\n\ndef read_lines(path):\n    with open(path) as f:\n        return [line.rstrip() for line in f]\n\n\ndef main():\n    ';
const PY_SUFFIX = '\n\nif __name__ == "__main__":\n    main()\n';
const request = (sampler: Partial<SamplerOptions> = {}, canvasLengths = [16]): InfillRequest =>
  ({ prefix: PY, suffix: PY_SUFFIX, canvasLengths, sampler: { ...reference, ...sampler } });

function copyModel(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'di-model-'));
  for (const f of fs.readdirSync(tiny)) fs.copyFileSync(path.join(tiny, f), path.join(dir, f));
  return dir;
}

async function loadError(dir: string): Promise<ModelLoadError> {
  const engine = new LocalEngine({ modelDir: dir, provider: 'cpu' });
  try {
    await engine.load();
  } catch (e) {
    assert.ok(e instanceof ModelLoadError, `expected ModelLoadError, got ${e}`);
    return e;
  }
  assert.fail('model loaded');
}

test('a missing model folder says where it looked', async () => {
  const e = await loadError('/nonexistent/model');
  assert.match(e.message, /not found: \/nonexistent\/model/);
});

test('corrupt model.json, a garbage ONNX file and an incomplete manifest each give a clear error', async () => {
  const dir = copyModel();
  try {
    fs.writeFileSync(path.join(dir, 'model.json'), '{ not json');
    assert.match((await loadError(dir)).message, /model\.json is not valid JSON/);

    fs.copyFileSync(path.join(tiny, 'model.json'), path.join(dir, 'model.json'));
    fs.writeFileSync(path.join(dir, 'model.onnx'), Buffer.from('this is not an onnx file'));
    assert.match((await loadError(dir)).message, /Could not load .*model\.onnx/);

    // A manifest without one of the special tokens the sampler needs.
    fs.copyFileSync(path.join(tiny, 'model.onnx'), path.join(dir, 'model.onnx'));
    const m = JSON.parse(fs.readFileSync(path.join(tiny, 'model.json'), 'utf8'));
    delete m.special_tokens.pad;
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(m));
    assert.match((await loadError(dir)).message, /special_tokens\.pad is missing/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('tokenizer: ids identical to the Python side, exact round trips, literal special strings stay text', () => {
  const m = JSON.parse(fs.readFileSync(path.join(tiny, 'model.json'), 'utf8'));
  const tok = new CodeTokenizer(JSON.parse(fs.readFileSync(path.join(tiny, 'tokenizer.json'), 'utf8')), m.special_tokens);
  const fixture: { text: string; ids: number[] }[] = JSON.parse(fs.readFileSync(path.join(tiny, 'tokenizer-fixture.json'), 'utf8'));
  assert.ok(fixture.length >= 5);
  for (const { text, ids } of fixture) {
    assert.deepEqual(tok.encode(text), ids, JSON.stringify(text));
    assert.equal(tok.decode(ids), text);
  }
  const tricky = 'x = "<|mask|>" + "<|pad|>"\r\n\tπ 🎉';
  const ids = tok.encode(tricky);
  assert.ok(!ids.some((i) => Object.values(m.special_tokens).includes(i)), 'no special ids from user text');
  assert.equal(tok.decode(ids), tricky);
  assert.equal(tok.decode([]), '');
});

test('sampler: greedy is deterministic; cache and threshold variants run and count forwards', async () => {
  const engine = new LocalEngine({ modelDir: tiny, provider: 'cpu', threads: 1 });
  const info = await engine.load();
  assert.equal(info.provider, 'cpu');
  try {
    const a = await engine.infill(request());
    const b = await engine.infill(request());
    assert.deepEqual(a.candidates.map((c) => [c.text, c.confidence]), b.candidates.map((c) => [c.text, c.confidence]));
    assert.ok(a.forwards >= 1 && a.forwards <= 16);
    assert.ok(Number.isFinite(a.candidates[0].confidence) && a.candidates[0].confidence <= 0);

    // One step per block: the dual cache only ever does the block's opening full pass, so it is the reference exactly.
    const oneStep = { steps: 2 };
    const ref1 = await engine.infill(request(oneStep));
    const cached1 = await engine.infill(request({ ...oneStep, dualCache: true }));
    assert.deepEqual(cached1.candidates.map((c) => c.text), ref1.candidates.map((c) => c.text));

    // A threshold never needs more forwards than the reference: it only adds commits.
    const thr = await engine.infill(request({ threshold: 0.5 }));
    assert.ok(thr.forwards <= a.forwards, `${thr.forwards} <= ${a.forwards}`);
    // Threshold 0 commits nothing early: an almost-zero threshold commits every masked token in one pass per block.
    const eager = await engine.infill(request({ threshold: 1e-9 }));
    assert.ok(eager.forwards <= 2, `eager threshold used ${eager.forwards} forwards`);
  } finally {
    await engine.dispose();
  }
});

test('candidates come back ranked by confidence, one per canvas length', async () => {
  const engine = new LocalEngine({ modelDir: tiny, provider: 'cpu', threads: 1 });
  await engine.load();
  try {
    const r = await engine.infill(request({ temperature: 1, seed: 3 }, [8, 16, 24]));
    assert.equal(r.candidates.length, 3);
    assert.deepEqual(new Set(r.candidates.map((c) => c.canvasLength)), new Set([8, 16, 24]));
    for (let i = 1; i < r.candidates.length; i++) assert.ok(r.candidates[i - 1].confidence >= r.candidates[i].confidence);
  } finally {
    await engine.dispose();
  }
});

test('an aborted signal cancels between steps', async () => {
  const engine = new LocalEngine({ modelDir: tiny, provider: 'cpu', threads: 1 });
  await engine.load();
  try {
    const ac = new AbortController();
    const run = engine.infill(request({ steps: 64 }, [64]), ac.signal);
    setImmediate(() => ac.abort());
    await assert.rejects(run, CancelledError);
  } finally {
    await engine.dispose();
  }
});

test('the window is kept within the model: long prefixes keep their end, suffixes their start', async () => {
  const engine = new LocalEngine({ modelDir: tiny, provider: 'cpu', threads: 1 });
  await engine.load();
  try {
    const r = await engine.infill({ ...request(), prefix: 'x = 1\n'.repeat(5000), suffix: 'y = 2\n'.repeat(5000), maxPrefixTokens: 100, maxSuffixTokens: 40 });
    assert.equal(r.prefixTokens, 100);
    assert.equal(r.suffixTokens, 40);
  } finally {
    await engine.dispose();
  }
});
