// The pretrained base as we convert it is the model in the GGUF file: checked against llama.cpp and
// transformers (their outputs on real code are stored in training/fixtures/base-reference.json by
// `base_parity.py reference`), and its tokenizer.json gives llama.cpp's ids in JS too.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../helpers/paths';

const { Tokenizer } = require('@huggingface/tokenizers') as typeof import('@huggingface/tokenizers', { with: { 'resolution-mode': 'import' } });

interface Agreement { argmax_agree: number; max_abs_diff: number; mean_abs_diff: number }
interface Report { texts: { tokens: number; round_trip: boolean; ids_equal_llama_cpp: boolean; llama_cpp: Agreement; transformers: Agreement }[] }

const fixture = JSON.parse(fs.readFileSync(path.join(repoRoot, 'training/fixtures/base-reference.json'), 'utf8'));

test('converted base: same tokens as llama.cpp, same logits as transformers, llama.cpp within its 8-bit activations', { timeout: 600_000 }, () => {
  const out = execFileSync(path.join(repoRoot, 'training/.venv/bin/python'), ['training/base_parity.py', 'check'],
    { cwd: repoRoot, env: { ...process.env, PYTHONPATH: 'training' }, encoding: 'utf8', maxBuffer: 16 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
  const report: Report = JSON.parse(out.trim().split('\n').pop()!);
  assert.equal(report.texts.length, fixture.texts.length);
  for (const [i, t] of report.texts.entries()) {
    assert.ok(t.round_trip, `text ${i} decodes back to itself`);
    assert.ok(t.ids_equal_llama_cpp, `text ${i}: token ids equal llama.cpp's`);
    // transformers runs the same float32 weights through its own LLaMA code: equal up to float error.
    assert.ok(t.transformers.max_abs_diff < 1e-3, `text ${i}: transformers max |diff| ${t.transformers.max_abs_diff}`);
    assert.equal(t.transformers.argmax_agree, 1);
    // llama.cpp quantizes activations to 8 bits inside its Q4 matmuls: close, not equal.
    assert.ok(t.llama_cpp.argmax_agree >= 0.9, `text ${i}: llama.cpp argmax agreement ${t.llama_cpp.argmax_agree}`);
    assert.ok(t.llama_cpp.mean_abs_diff < 0.5, `text ${i}: llama.cpp mean |diff| ${t.llama_cpp.mean_abs_diff}`);
  }
});

test('tokenizer.json in @huggingface/tokenizers (JS): llama.cpp ids on CRLF, tabs, non-ASCII, emoji; exact round trip', () => {
  const tj = JSON.parse(fs.readFileSync(path.join(repoRoot, 'models/tiny/tokenizer.json'), 'utf8'));
  const tok = new Tokenizer(tj, {});
  fixture.texts.forEach((text: string, i: number) => {
    const ids = tok.encode(text, { add_special_tokens: false }).ids;
    assert.deepEqual(ids, fixture.llama_cpp.runs[i].ids, `text ${i}`);
    assert.equal(tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false }), text);
  });
});
