// The training pipeline end to end on a small corpus: it gathers files, trains a tokenizer and a
// model for a few steps (the loss must fall), exports ONNX, and onnxruntime-node agrees with PyTorch.
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

test('smoke run: corpus -> tokenizer -> training -> export -> parity', { timeout: 600_000 }, async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'di-smoke-'));
  try {
    execFileSync('bash', [path.join(repoRoot, 'training/smoke.sh'), out], { stdio: 'pipe', maxBuffer: 64 << 20 });

    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'corpus/manifest.json'), 'utf8'));
    assert.ok(manifest.stats.train_files > 0 && manifest.stats.val_files >= 0, 'corpus has training files');

    const evals = fs.readFileSync(path.join(out, 'run/log.jsonl'), 'utf8').trim().split('\n')
      .map((l) => JSON.parse(l)).filter((r) => 'val_loss' in r);
    assert.ok(evals.length >= 2, 'validation ran more than once');
    assert.ok(evals[evals.length - 1].val_loss < evals[0].val_loss - 0.5,
      `validation loss falls: ${evals[0].val_loss} -> ${evals[evals.length - 1].val_loss}`);
    assert.ok(fs.existsSync(path.join(out, 'run/val_loss.png')), 'loss curve saved');
    assert.ok(fs.existsSync(path.join(out, 'run/config.json')), 'run config saved');

    const diff = await parity(path.join(out, 'model'));
    assert.ok(diff.context.maxDiff < 1e-3, `context pass parity ${diff.context.maxDiff}`);
    assert.ok(diff.canvas.maxDiff < 1e-3, `canvas pass parity ${diff.canvas.maxDiff}`);

    // The tokenizer the pipeline wrote loads in JS with the same ids as in Python.
    const tj = JSON.parse(fs.readFileSync(path.join(out, 'model/tokenizer.json'), 'utf8'));
    const tok = new Tokenizer(tj, {});
    for (const { text, ids } of JSON.parse(fs.readFileSync(path.join(out, 'model/tokenizer-fixture.json'), 'utf8'))) {
      assert.deepEqual(tok.encode(text, { add_special_tokens: false }).ids, ids, JSON.stringify(text));
    }
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
