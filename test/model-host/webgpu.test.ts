// The GPU path without a GPU: the default model on onnxruntime's WebGPU provider through
// SwiftShader (test/helpers/swiftshader.ts), checked against the CPU and against the float
// PyTorch model (parity.json) on the passes the engine runs: a causal context pass over 40 tokens
// of real code, a 12-token canvas block against it, and the next block with that one decided
// (pending) ahead of 8 new masks. Then a GPU that fails in the middle of a session (the pass runs
// again on the CPU, nothing is lost) and `auto`'s probe (a software GPU is far slower than the
// CPU, so the CPU must win and the notes say why).
//
// Tolerances. Both sessions run the same int8 graph. On WebGPU the int8 matmuls
// (DynamicQuantizeLinear, MatMulInteger) fall back to the CPU's kernels (ORT's node placement),
// so what differs is the float work on the GPU (norms, attention, QuickGelu, the float matmuls
// and the head) in Dawn's float32 shaders, with another summation order and approximate exp.
// Each such difference passes through the next layer's run-time activation quantization, where a
// value near a rounding edge moves by a whole int8 step: the two int8 runs then differ by about
// as much as either differs from the float model. Measured here (parity.json's 40-token context):
// the CPU is 1.40 and WebGPU 1.44 from float PyTorch (largest logit 28), both with 92.5% top
// tokens; WebGPU vs CPU: context 2.41 of 39.6 (6.1%), blocks 2.4-2.5%, top tokens 92.5% /
// 100% / 100%, every top token the CPU leads by 1.5 logits or more unchanged (30/30), and every
// WebGPU top token within the CPU's top 5. So: against the float model the GPU may be at most
// 1.5x as far as the CPU and agree on at most 5 points fewer top tokens; against the CPU, 12%
// of the largest logit (two independent int8 errors of ~6%), no decisive top token changed,
// every top token in the CPU's top 5. A wrong mask, position or cache layout moves logits by
// whole units and changes most top tokens, far outside these bounds.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { contextPass } from '../../model-host/src/decoding/context-cache';
import { emptyKv } from '../../model-host/src/decoding/kv-cache';
import { loadManifest, type ModelFiles } from '../../model-host/src/model/manifest';
import { blockPass } from '../../model-host/src/decoding/sampler';
import { ModelSession, type ForwardOutput } from '../../model-host/src/model/session';
import { formatPlacement, placement } from '../../scripts/placement';
import { compare, type ParityFixture } from '../helpers/parity';
import { modelsDir } from '../helpers/paths';
import { useSwiftShader } from '../helpers/swiftshader';

/** Largest |webgpu - cpu| over every logit of a pass, as a fraction of the pass's largest |logit|. */
const MAX_RELATIVE_DIFF = 0.12;
/** A CPU top token leading the second by this many logits (e^1.5 = 4.5x as likely) must not change. */
const DECISIVE_MARGIN = 1.5;
/** The GPU's largest distance from the float model may exceed the CPU's by this factor. */
const FLOAT_ERROR_RATIO = 1.5;

useSwiftShader();
let files: ModelFiles;
let cpu: ModelSession;
let gpu: ModelSession;

before(async () => {
  files = loadManifest(path.join(modelsDir, 'default'));
  cpu = await ModelSession.open(files, 'cpu', 2);
  gpu = await ModelSession.open(files, 'webgpu', 2);
  assert.equal(gpu.provider, 'webgpu', `webgpu did not load: ${gpu.notes.join('; ')}`);
  assert.equal(gpu.reason, 'set to webgpu');
});

after(async () => {
  await cpu?.release();
  await gpu?.release();
});

interface Agreement { maxDiff: number; meanDiff: number; scale: number; top: number; decisive: number; decisiveTop: number; inTop5: number; rows: number }

function agreement(a: ForwardOutput, b: ForwardOutput): Agreement {
  assert.equal(a.vocab, b.vocab);
  assert.equal(a.logits.length, b.logits.length);
  const V = a.vocab;
  const rows = a.logits.length / V;
  let maxDiff = 0;
  let sumDiff = 0;
  let scale = 0;
  let top = 0;
  let decisive = 0;
  let decisiveTop = 0;
  let inTop5 = 0;
  for (let r = 0; r < rows; r++) {
    const ra = a.logits.subarray(r * V, (r + 1) * V);
    const rb = b.logits.subarray(r * V, (r + 1) * V);
    for (let v = 0; v < V; v++) {
      const d = Math.abs(ra[v] - rb[v]);
      maxDiff = Math.max(maxDiff, d);
      sumDiff += d;
      scale = Math.max(scale, Math.abs(ra[v]));
    }
    const order = Array.from(ra.keys()).sort((x, y) => ra[y] - ra[x]);
    const ib = argmaxOf(rb);
    if (order[0] === ib) top++;
    if (order.slice(0, 5).includes(ib)) inTop5++;
    if (ra[order[0]] - ra[order[1]] >= DECISIVE_MARGIN) {
      decisive++;
      if (order[0] === ib) decisiveTop++;
    }
  }
  return { maxDiff, meanDiff: sumDiff / a.logits.length, scale, top: top / rows, decisive, decisiveTop, inTop5: inTop5 / rows, rows };
}

function argmaxOf(row: Float32Array): number {
  let best = 0;
  for (let v = 1; v < row.length; v++) if (row[v] > row[best]) best = v;
  return best;
}

function argmaxRow(out: ForwardOutput, row: number): number {
  let best = 0;
  for (let v = 1; v < out.vocab; v++) if (out.logits[row * out.vocab + v] > out.logits[row * out.vocab + best]) best = v;
  return best;
}

test('webgpu (SwiftShader) agrees with the CPU on a context pass and two block passes', { timeout: 120_000 }, async (t) => {
  // 40 tokens of real code and a 12-token canvas (a few tokens decided among masks), with the
  // float PyTorch model's logits for both (parity.json, training/export.py).
  const fx: ParityFixture = JSON.parse(fs.readFileSync(path.join(files.dir, 'parity.json'), 'utf8'));
  const passes: Record<string, [ForwardOutput, ForwardOutput]> = {};
  let t0 = performance.now();
  const ctxCpu = await contextPass(cpu, fx.context.input_ids, emptyKv(), true);
  const cpuMs = performance.now() - t0;
  t0 = performance.now();
  const ctxGpu = await contextPass(gpu, fx.context.input_ids, emptyKv(), true);
  const gpuMs = performance.now() - t0;
  passes.context = [ctxCpu, ctxGpu];

  // Both providers get the same inputs, the CPU's K/V and the CPU's decided block, so each pass
  // is compared on its own (differences do not compound across passes).
  const b1Cpu = await blockPass(cpu, [{ done: [], x: fx.canvas.input_ids }], ctxCpu.present, 0);
  const b1Gpu = await blockPass(gpu, [{ done: [], x: fx.canvas.input_ids }], ctxCpu.present, 0);
  passes.block1 = [b1Cpu, b1Gpu];
  const decided = fx.canvas.input_ids.map((_, i) => argmaxRow(b1Cpu, i));
  const masks = new Array<number>(8).fill(files.manifest.special_tokens.mask);
  const b2Cpu = await blockPass(cpu, [{ done: decided, x: masks }], ctxCpu.present, decided.length);
  const b2Gpu = await blockPass(gpu, [{ done: decided, x: masks }], ctxCpu.present, decided.length);
  passes.block2 = [b2Cpu, b2Gpu];
  t.diagnostic(`context pass (40 tokens): cpu ${Math.round(cpuMs)} ms, webgpu ${Math.round(gpuMs)} ms`);

  // 1. Against the float model: the GPU's int8 run is as close to it as the CPU's.
  const rows = fx.canvas.input_ids.map((_, i) => i);
  const vsFloat = {
    context: [ctxCpu, ctxGpu].map((o) => compare(o.logits, o.vocab, fx.context.rows, fx.context.logits, fx.context.argmax, fx.stride)),
    block1: [b1Cpu, b1Gpu].map((o) => compare(o.logits, o.vocab, rows, fx.canvas.logits, fx.canvas.argmax, fx.stride)),
  };
  for (const [name, [c, g]] of Object.entries(vsFloat)) {
    t.diagnostic(`${name} vs float PyTorch: max |diff| cpu ${c.maxDiff.toFixed(3)}, webgpu ${g.maxDiff.toFixed(3)} of ${c.scale.toFixed(1)}; `
      + `top token cpu ${(100 * c.argmaxAgree).toFixed(1)}%, webgpu ${(100 * g.argmaxAgree).toFixed(1)}%`);
    assert.ok(g.maxDiff <= FLOAT_ERROR_RATIO * c.maxDiff, `${name}: webgpu is ${g.maxDiff} from the float model, the CPU ${c.maxDiff}`);
    assert.ok(g.argmaxAgree >= c.argmaxAgree - 0.05, `${name}: webgpu agrees with the float model on ${g.argmaxAgree}, the CPU on ${c.argmaxAgree}`);
  }

  // 2. Against the CPU, every logit of every row.
  for (const [name, [a, b]] of Object.entries(passes)) {
    const r = agreement(a, b);
    t.diagnostic(`${name} vs cpu: ${r.rows} rows, max |diff| ${r.maxDiff.toFixed(3)} of ${r.scale.toFixed(1)} (${(100 * r.maxDiff / r.scale).toFixed(1)}%), `
      + `mean ${r.meanDiff.toFixed(4)}; top token ${(100 * r.top).toFixed(1)}%, where the CPU's lead is >= ${DECISIVE_MARGIN}: ${r.decisiveTop}/${r.decisive}; `
      + `webgpu's top in the CPU's top 5: ${(100 * r.inTop5).toFixed(1)}%`);
    assert.ok(r.maxDiff <= MAX_RELATIVE_DIFF * r.scale, `${name}: max |diff| ${r.maxDiff} exceeds ${MAX_RELATIVE_DIFF} of ${r.scale}`);
    assert.equal(r.decisiveTop, r.decisive, `${name}: a top token the CPU is sure of changed`);
    assert.equal(r.inTop5, 1, `${name}: webgpu's top token is outside the CPU's top 5`);
  }
});

test('a GPU that fails mid-session moves to the CPU and the pass still answers', { timeout: 60_000 }, async () => {
  const s = await ModelSession.open(files, 'webgpu', 2);
  assert.equal(s.provider, 'webgpu');
  // What a lost device looks like from here: the provider's run rejects.
  const inner = s as unknown as { session: { run: () => Promise<never>; release: () => Promise<void> } };
  await (inner.session as unknown as { release: () => Promise<void> }).release();
  inner.session = { run: () => Promise.reject(new Error('Device lost (simulated)')), release: async () => undefined };
  const { suffix, prefix } = files.manifest.special_tokens;
  const out = await s.forward({ batch: 1, seq: 2, inputIds: [suffix, prefix], positionIds: [0, 1], attentionMask: [1, 0, 1, 1] });
  assert.equal(out.logits.length, 2 * out.vocab);
  assert.equal(s.provider, 'cpu');
  assert.match(s.reason, /webgpu failed during a pass, so the CPU/);
  assert.match(s.notes.at(-1) ?? '', /Device lost \(simulated\).*ran the pass again/);
  const ref = await cpu.forward({ batch: 1, seq: 2, inputIds: [suffix, prefix], positionIds: [0, 1], attentionMask: [1, 0, 1, 1] });
  assert.deepEqual(out.logits, ref.logits, 'the pass ran again on the CPU');
  await s.release();
});

test('auto keeps the CPU when the GPU\'s probe pass is slower, and says so', { timeout: 120_000 }, async (t) => {
  const t0 = performance.now();
  const s = await ModelSession.open(files, 'auto', 2);
  const ms = performance.now() - t0;
  t.diagnostic(`auto: ${s.provider} in ${Math.round(ms)} ms: ${s.reason}; ${s.notes.join('; ')}`);
  try {
    assert.equal(s.provider, 'cpu');
    assert.equal(s.reason, 'auto: no GPU provider was faster than the CPU');
    const probe = s.notes.find((n) => n.startsWith('webgpu: probe pass'));
    assert.ok(probe, `a note with webgpu's probe time: ${s.notes.join('; ')}`);
    assert.match(probe, /^webgpu: probe pass \d+(\.\d)? ms on webgpu( \(its warm-up; not timed further\))? vs \d+(\.\d)? ms on the CPU, so the CPU$/);
  } finally {
    await s.release();
  }
});

test('placement on webgpu: the float work on the GPU, the int8 matmuls on the CPU', { timeout: 60_000 }, (t) => {
  const report = placement(files.dir, 'webgpu');
  assert.equal(report.provider, 'webgpu');
  for (const line of formatPlacement(report.placement).split('\n')) t.diagnostic(line);
  const onGpu = report.placement.WebGpuExecutionProvider ?? {};
  const onCpu = report.placement.CPUExecutionProvider ?? {};
  // The float ops of every layer run on the GPU.
  for (const op of ['MatMul', 'Softmax', 'QuickGelu', 'ReduceMean']) assert.ok((onGpu[op] ?? 0) >= files.manifest.n_layer, `${op} on the GPU: ${onGpu[op]}`);
  // onnxruntime 1.30's WebGPU provider has no kernels for dynamic int8 quantization: every
  // DynamicQuantizeLinear and MatMulInteger falls back to the CPU, with host copies around them.
  // When a later onnxruntime moves them, this fails, and the README's placement table is due.
  assert.equal(onGpu.MatMulInteger ?? 0, 0);
  assert.equal(onGpu.DynamicQuantizeLinear ?? 0, 0);
  assert.ok((onCpu.MatMulInteger ?? 0) > 0 && (onCpu.DynamicQuantizeLinear ?? 0) > 0);
  assert.ok((onGpu.MemcpyFromHost ?? 0) > 0);
});
