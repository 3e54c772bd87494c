// The engine's passes reproduce the PyTorch reference stored with models/tiny (parity.json from
// training/export.py): a causal context pass of 40 tokens, then a 12-token canvas pass against
// its cache. The reference is the float32 PyTorch model; the shipped graph has int8 weights with
// activations quantized at run time, so logits move by about 0.01 here (the logits span about
// 1.2): 0.05 leaves room for other CPUs' kernels while a wrong mask, position or cache layout
// moves them by far more (and flips argmaxes). Every position's argmax must agree.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { parity } from '../helpers/parity';
import { tinyModel } from '../helpers/paths';

test('models/tiny: context and canvas passes agree with PyTorch', async () => {
  const p = await parity(tinyModel);
  for (const [pass, r] of Object.entries(p)) {
    assert.ok(r.maxDiff < 0.05, `${pass} pass: max |diff| ${r.maxDiff} (largest logit ${r.scale})`);
    assert.equal(r.argmaxAgree, 1, `${pass} pass: argmax agreement ${r.argmaxAgree}`);
  }
});
