// Loading a model folder: each way it can be broken gives a ModelLoadError that names the file and
// the problem. Uses copies of models/tiny in temporary folders.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalEngine } from '../../model-host/src/engine';
import { ModelLoadError } from '../../model-host/src/errors';
import { checkGraph, loadManifest } from '../../model-host/src/model/manifest';
import { modelsDir } from '../helpers/paths';

const tiny = path.join(modelsDir, 'tiny');
const tinyManifest = () => JSON.parse(fs.readFileSync(path.join(tiny, 'model.json'), 'utf8'));

/** A temporary copy of the tiny model, removed after `body`. */
async function withCopy(body: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'di-manifest-'));
  try {
    for (const f of ['model.json', 'model.onnx', 'model.onnx.0.weights', 'tokenizer.json']) fs.copyFileSync(path.join(tiny, f), path.join(dir, f));
    await body(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function loadError(dir: string): Promise<ModelLoadError> {
  const engine = new LocalEngine({ modelDir: dir, provider: 'cpu', threads: 1 });
  try {
    await engine.load();
  } catch (error) {
    assert.ok(error instanceof ModelLoadError, `expected a ModelLoadError, got ${error}`);
    assert.equal(error.name, 'ModelLoadError');
    return error;
  } finally {
    await engine.dispose();
  }
  assert.fail('the model loaded');
}

const writeManifest = (dir: string, m: unknown) => fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(m));

test('the tiny model\'s manifest is valid', () => {
  const files = loadManifest(tiny);
  assert.equal(files.manifest.name, 'tiny');
  assert.equal(files.onnxPath, path.join(tiny, 'model.onnx'));
  assert.deepEqual(files.manifest.special_tokens, { mask: 12, pad: 13, suffix: 14, prefix: 15, eos: 0 });
  assert.deepEqual(files.manifest.files.weights, ['model.onnx.0.weights']);
  assert.equal(files.manifest.n_kv_head, 2);
});

test('a missing folder or a folder without model.json says where it looked', async () => {
  assert.match((await loadError('/nonexistent/model')).message, /Model folder not found: \/nonexistent\/model/);
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'di-empty-'));
  try {
    const e = await loadError(empty);
    assert.match(e.message, /Model manifest not found: .*model\.json/);
    assert.equal(e.file, path.join(empty, 'model.json'));
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
});

test('corrupt JSON, a wrong format and missing fields are each named', () => withCopy(async (dir) => {
  fs.writeFileSync(path.join(dir, 'model.json'), '{ "format": ');
  assert.match((await loadError(dir)).message, /model\.json is not valid JSON/);

  writeManifest(dir, { ...tinyManifest(), format: 'something-else/2' });
  assert.match((await loadError(dir)).message, /format is "something-else\/2", expected "diffusion-infill-model\/2"/);

  // A model of the retired format 1 (bidirectional, bos/eos around prefix-canvas-suffix) says so.
  writeManifest(dir, { ...tinyManifest(), format: 'diffusion-infill-model/1', special_tokens: { mask: 0, pad: 1, bos: 2, eos: 3 } });
  assert.match((await loadError(dir)).message, /format "diffusion-infill-model\/1" is no longer supported: this version runs "diffusion-infill-model\/2" models/);

  writeManifest(dir, { ...tinyManifest(), n_kv_head: 3 });
  assert.match((await loadError(dir)).message, /n_head \(4\) is not a multiple of n_kv_head \(3\)/);
  writeManifest(dir, { ...tinyManifest(), files: { ...tinyManifest().files, weights: 'model.onnx.0.weights' } });
  assert.match((await loadError(dir)).message, /files\.weights is not a list of file names/);

  writeManifest(dir, [1, 2]);
  assert.match((await loadError(dir)).message, /not a JSON object/);

  const m = tinyManifest();
  delete m.special_tokens.pad;
  delete m.n_layer;
  m.head_dim = -4;
  writeManifest(dir, m);
  const e = await loadError(dir);
  // Every problem at once, so one edit can fix them all.
  assert.match(e.message, /special_tokens\.pad is missing/);
  assert.match(e.message, /n_layer is missing/);
  assert.match(e.message, /head_dim is not a positive integer \(-4\)/);
  assert.match(e.message, new RegExp(`^${path.join(dir, 'model.json').replace(/[.\\/]/g, '\\$&')}`));

  writeManifest(dir, { ...tinyManifest(), special_tokens: { mask: 12, pad: 13, prefix: 15, eos: 90000 } });
  const special = (await loadError(dir)).message;
  assert.match(special, /special_tokens\.eos \(90000\) is outside the vocabulary/);
  assert.match(special, /special_tokens\.suffix is missing/);
}));

test('files named by the manifest must exist', () => withCopy(async (dir) => {
  writeManifest(dir, { ...tinyManifest(), files: { onnx: 'weights.onnx', tokenizer: 'tokenizer.json' } });
  assert.match((await loadError(dir)).message, /The ONNX model named in .*model\.json is missing: .*weights\.onnx/);
  // The graph's external weights too: without them onnxruntime would fail with a less useful message.
  fs.rmSync(path.join(dir, 'model.onnx.0.weights'));
  writeManifest(dir, tinyManifest());
  assert.match((await loadError(dir)).message, /model\.onnx\.0\.weights/);
}));

test('garbage bytes as model.onnx are a load error naming the file, not a crash', () => withCopy(async (dir) => {
  fs.writeFileSync(path.join(dir, 'model.onnx'), Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02, 0x03, 0x42]));
  // Without onnx_bytes (optional), so that the runtime itself reads the garbage: the size check would refuse it first.
  const { onnx_bytes: _declared, ...manifest } = tinyManifest() as Record<string, unknown>;
  writeManifest(dir, manifest);
  const e = await loadError(dir);
  assert.match(e.message, /Could not load the ONNX model .*model\.onnx: /);
}));

test('a manifest that disagrees with the graph says which dimension and field', () => withCopy(async (dir) => {
  writeManifest(dir, { ...tinyManifest(), n_layer: 3, head_dim: 8 });
  let e = await loadError(dir);
  assert.match(e.message, /does not match .*model\.json/);
  assert.match(e.message, /past_key has 2 in dimension 0 but model\.json says n_layer = 3/);
  assert.match(e.message, /present_key has 16 in dimension 4 but model\.json says head_dim = 8/);
  assert.match(e.message, /past_value has 16 in dimension 4 but model\.json says head_dim = 8/);

  writeManifest(dir, { ...tinyManifest(), vocab_size: 50000 });
  e = await loadError(dir);
  assert.match(e.message, /logits has 49152 in dimension 2 but model\.json says vocab_size = 50000/);

  // The cache's heads are the key/value heads (grouped-query attention), not the query heads.
  writeManifest(dir, { ...tinyManifest(), n_head: 4, n_kv_head: 4 });
  e = await loadError(dir);
  assert.match(e.message, /past_key has 2 in dimension 2 but model\.json says n_kv_head = 4/);
}));

test('graph inputs and outputs are compared with the contract by name', () => {
  const files = loadManifest(tiny);
  assert.doesNotThrow(() => checkGraph(files, {
    inputNames: ['input_ids', 'position_ids', 'attention_mask', 'past_key', 'past_value', 'logits_from'],
    outputNames: ['logits', 'present_key', 'present_value'],
  }));
  // The cache per layer (tiny has 2): all of them, and no stacked input beside them.
  const perLayer = ['past_key.0', 'past_key.1', 'past_value.0', 'past_value.1'];
  assert.doesNotThrow(() => checkGraph(files, {
    inputNames: ['input_ids', 'position_ids', 'attention_mask', 'logits_from', ...perLayer],
    outputNames: ['logits', 'present_key', 'present_value', 'log_z'],
  }));
  assert.throws(() => checkGraph(files, {
    inputNames: ['input_ids', 'position_ids', 'attention_mask', 'logits_from', 'past_key.0', 'past_value.0', 'past_value.1', 'past_key'],
    outputNames: ['logits', 'present_key', 'present_value'],
  }), /inputs past_key\.1 are missing.*inputs past_key are not part of the contract/);
  assert.throws(() => checkGraph(files, {
    inputNames: ['input_ids', 'attention_mask', 'past_key', 'past_value', 'logits_from', 'token_type_ids'],
    outputNames: ['logits'],
  }), (e: Error) => e instanceof ModelLoadError
    && /inputs position_ids are missing/.test(e.message)
    && /inputs token_type_ids are not part of the contract/.test(e.message)
    && /outputs present_key, present_value are missing/.test(e.message));
});
