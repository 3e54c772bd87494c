// Checks an exported model against the PyTorch reference logits that training/export.py stored in
// parity.json (parity_fixture): a causal pass over a context of ~170 tokens, then a 12-token canvas pass
// (all-ones mask) against its cache. Both run through the engine's own code: ModelSession.forward,
// contextPass (the causal mask) and blockPass (one block of 12 masks, nothing pending: the block's
// mask and positions).
import * as fs from 'node:fs';
import { contextPass } from '../../model-host/src/decoding/context-cache';
import { emptyKv } from '../../model-host/src/decoding/kv-cache';
import { loadManifest } from '../../model-host/src/model/manifest';
import { blockPass } from '../../model-host/src/decoding/sampler';
import { ModelSession } from '../../model-host/src/model/session';
import type { ExecutionProviderSetting } from '../../model-host/src/types';
import * as path from 'node:path';

export interface ParityFixture {
  stride: number;
  context: { input_ids: number[]; rows: number[]; logits: number[][]; argmax: number[]; top5?: number[][] };
  canvas: { input_ids: number[]; logits: number[][]; argmax: number[]; top5?: number[][] };
}

export interface PassParity {
  /** Largest |onnxruntime - PyTorch| over the stored logits (every stride-th vocabulary entry). */
  maxDiff: number;
  /** Largest |logit| in the reference, for scale. */
  scale: number;
  /** Fraction of positions whose argmax over the whole vocabulary matches PyTorch's. */
  argmaxAgree: number;
  /** Fraction whose argmax is among PyTorch's five top tokens (fixtures from before top5: undefined). */
  top5Agree?: number;
}

function argmax(logits: Float32Array, row: number, vocab: number): number {
  let best = 0;
  for (let t = 1; t < vocab; t++) if (logits[row * vocab + t] > logits[row * vocab + best]) best = t;
  return best;
}

export function compare(logits: Float32Array, vocab: number, rows: number[], ref: number[][], refArgmax: number[], stride: number,
  refTop5?: number[][]): PassParity {
  let maxDiff = 0;
  let scale = 0;
  rows.forEach((row, j) => ref[j].forEach((v, k) => {
    maxDiff = Math.max(maxDiff, Math.abs(v - logits[row * vocab + k * stride]));
    scale = Math.max(scale, Math.abs(v));
  }));
  const got = refArgmax.map((_, row) => argmax(logits, row, vocab));
  const share = (ok: (t: number, row: number) => boolean) => got.filter(ok).length / got.length;
  return {
    maxDiff, scale,
    argmaxAgree: share((t, row) => t === refArgmax[row]),
    top5Agree: refTop5 ? share((t, row) => refTop5[row].includes(t)) : undefined,
  };
}

/** Parity of both passes, on one CPU thread (or on `device`, e.g. webgpu; it must load). */
export async function parity(modelDir: string, device: ExecutionProviderSetting = 'cpu'): Promise<{ context: PassParity; canvas: PassParity }> {
  const files = loadManifest(modelDir);
  const fx: ParityFixture = JSON.parse(fs.readFileSync(path.join(files.dir, 'parity.json'), 'utf8'));
  const session = await ModelSession.open(files, device, 1);
  if (session.provider !== device) throw new Error(`${device} did not load: ${session.notes.join('; ')}`);
  try {
    const ids = fx.context.input_ids;
    const ctx = await contextPass(session, ids, emptyKv(), true);
    const context = compare(ctx.logits, ctx.vocab, fx.context.rows, fx.context.logits, fx.context.argmax, fx.stride, fx.context.top5);
    const block = fx.canvas.input_ids;
    const out = await blockPass(session, [{ done: [], x: block }], ctx.present, 0);
    const rows = fx.canvas.input_ids.map((_, i) => i);
    const canvas = compare(out.logits, out.vocab, rows, fx.canvas.logits, fx.canvas.argmax, fx.stride, fx.canvas.top5);
    return { context, canvas };
  } finally {
    await session.release();
  }
}
