// The committed models: manifests carry provenance, and onnxruntime-node reproduces the
// PyTorch logits stored at export time (full pass and cached block pass, within 1e-3).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { modelsDir } from '../helpers/paths';
import { parity } from '../helpers/parity';

for (const name of ['tiny', 'default']) {
  const dir = path.join(modelsDir, name);
  test(`models/${name}: manifest provenance`, () => {
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    assert.equal(m.format, 'diffusion-infill-model/2');
    assert.equal(m.name, name);
    assert.ok(m.parameters > 0 && m.training.tokens > 0 && m.training.steps > 0);
    assert.equal(typeof m.training.val_loss, 'number');
    assert.match(m.training.corpus_manifest, /^[0-9a-f]{16}$/);
    assert.equal(fs.statSync(path.join(dir, m.files.onnx)).size, m.onnx_bytes);
  });
  test(`models/${name}: onnxruntime-node agrees with PyTorch`, async () => {
    // int8 graphs quantize activations at run time, so their logits move a little more than fp32's.
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    const tolerance = m.weights_dtype === 'int8' ? 0.05 : 1e-3;
    const p = await parity(dir);
    for (const [pass, r] of Object.entries(p)) {
      assert.ok(r.maxDiff < tolerance, `${pass} pass max |diff| ${r.maxDiff} (tolerance ${tolerance})`);
      assert.ok(r.argmaxAgree > 0.97, `${pass} pass argmax agreement ${r.argmaxAgree}`);
    }
  });
}
