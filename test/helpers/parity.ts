// Checks an exported model against the PyTorch reference logits that training/export.py
// stored in parity.json: one full pass (P = 0) and one cached block pass.
import * as fs from 'node:fs';
import * as path from 'node:path';
import '../../model-host/src/telemetry-off';
import * as ort from 'onnxruntime-node';

interface ParityFixture {
  stride: number;
  full: { input_ids: number[]; rows: number[]; logits: number[][] };
  block: { start: number; input_ids: number[]; attention_mask: number[]; logits: number[][] };
  full_argmax: number[];
}

const int64 = (values: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);
const range = (start: number, n: number) => Array.from({ length: n }, (_, i) => start + i);

/** Largest absolute logit difference between onnxruntime and PyTorch, for each pass. */
export async function parityMaxDiff(modelDir: string): Promise<{ full: number; block: number; argmaxAgree: number }> {
  const manifest = JSON.parse(fs.readFileSync(path.join(modelDir, 'model.json'), 'utf8'));
  const fx: ParityFixture = JSON.parse(fs.readFileSync(path.join(modelDir, 'parity.json'), 'utf8'));
  const session = await ort.InferenceSession.create(path.join(modelDir, manifest.files.onnx), { intraOpNumThreads: 1 });
  try {
    const { n_layer: L, n_head: H, head_dim: D, vocab_size: V } = manifest;
    const n = fx.full.input_ids.length;
    const empty = new ort.Tensor('float32', new Float32Array(0), [L, 1, H, 0, D]);
    const full = await session.run({
      input_ids: int64(fx.full.input_ids, [1, n]), position_ids: int64(range(0, n), [1, n]),
      attention_mask: int64(new Array(n).fill(1), [1, n]), past_key: empty, past_value: empty,
    });
    const logits = full.logits.data as Float32Array;
    let fullDiff = 0;
    fx.full.rows.forEach((row, j) => fx.full.logits[j].forEach((v, k) => {
      fullDiff = Math.max(fullDiff, Math.abs(v - logits[row * V + k * fx.stride]));
    }));
    let agree = 0;
    fx.full_argmax.forEach((want, row) => {
      let best = 0;
      for (let t = 1; t < V; t++) if (logits[row * V + t] > logits[row * V + best]) best = t;
      if (best === want) agree++;
    });
    const b = fx.block;
    const s = b.input_ids.length;
    const block = await session.run({
      input_ids: int64(b.input_ids, [1, s]), position_ids: int64(range(b.start, s), [1, s]),
      attention_mask: int64(b.attention_mask, [1, b.attention_mask.length]),
      past_key: full.present_key, past_value: full.present_value,
    });
    const blogits = block.logits.data as Float32Array;
    let blockDiff = 0;
    b.logits.forEach((row, j) => row.forEach((v, k) => {
      blockDiff = Math.max(blockDiff, Math.abs(v - blogits[j * V + k * fx.stride]));
    }));
    return { full: fullDiff, block: blockDiff, argmaxAgree: agree / fx.full_argmax.length };
  } finally {
    await session.release();
  }
}
