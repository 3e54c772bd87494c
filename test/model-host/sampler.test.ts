// The canvas sampler on the real tiny model (format 2): greedy output against a direct
// reimplementation of the algorithm, the cached canvas pass against a full block-causal pass, step
// and pass counts, the threshold, early stopping, the bans, single-line ends, batches, cancellation.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { contextPass } from '../../model-host/src/context-cache';
import { emptyKv, repeatKv } from '../../model-host/src/kv-cache';
import { loadManifest, type ModelFiles } from '../../model-host/src/manifest';
import { CancelledError } from '../../model-host/src/errors';
import { canvasPass, sample, type ContextState, type SampleContext } from '../../model-host/src/sampler';
import { ModelSession } from '../../model-host/src/session';
import { CodeTokenizer } from '../../model-host/src/tokenizer';
import type { SamplerOptions } from '../../model-host/src/types';
import { modelsDir } from '../helpers/paths';

const reference: SamplerOptions = { steps: 16, blockLength: 8, temperature: 0 };
let files: ModelFiles;
let session: ModelSession;
let tok: CodeTokenizer;
let ctx: SampleContext;
let contextIds: number[];
let context: ContextState;

before(async () => {
  files = loadManifest(path.join(modelsDir, 'tiny'));
  session = await ModelSession.open(files, 'cpu', 1);
  tok = new CodeTokenizer(JSON.parse(fs.readFileSync(files.tokenizerPath, 'utf8')), files.manifest.special_tokens);
  ctx = { special: files.manifest.special_tokens };
  const { suffix, prefix } = files.manifest.special_tokens;
  contextIds = [suffix, ...tok.encode('\n\n\nprint(mean([1, 2, 3]))\n'), prefix,
    ...tok.encode('def mean(values):\n    total = 0\n    for v in values:\n        total += v\n    return ')];
  const out = await contextPass(session, contextIds, emptyKv());
  context = { length: contextIds.length, past: out.present, lastLogits: out.logits.slice(out.logits.length - out.vocab) };
});
after(() => session.release());

const shape = () => ({ layers: files.manifest.n_layer, kvHeads: files.manifest.n_kv_head, headDim: files.manifest.head_dim });
const batchOf = (n: number): ContextState => ({ ...context, past: repeatKv(context.past, n, shape()) });

async function run(options: Partial<SamplerOptions>, canvas = 16, extra: Partial<SampleContext> = {}) {
  const { rows, forwards } = await sample(session, context, [canvas], { ...reference, ...options }, { ...ctx, ...extra });
  return { ...rows[0], forwards };
}

/** Blocks the sampler decoded: up to and including the one holding the first <|pad|>. */
function blocksDecoded(canvas: number[], blockLength: number): number {
  const firstPad = canvas.indexOf(files.manifest.special_tokens.pad);
  return firstPad < 0 ? Math.ceil(canvas.length / blockLength) : Math.floor(firstPad / blockLength) + 1;
}

/**
 * The algorithm written out directly from the brief, sharing nothing with sampler.ts but the
 * model: one canvas pass per step with its own mask and positions, float64 softmax over the
 * allowed tokens, a plain sort for the top k.
 */
async function directGreedy(canvas: number, steps: number, blockLength: number, threshold: number): Promise<number[]> {
  const { mask, pad, suffix, prefix, eos } = files.manifest.special_tokens;
  const banned = (p: number) => (p === 0 ? [mask, suffix, prefix, eos, pad] : [mask, suffix, prefix, eos]);
  const N = context.length;
  const x = new Array<number>(canvas).fill(mask);
  const numBlocks = Math.ceil(canvas / blockLength);
  const stepsPerBlock = Math.max(1, Math.round(steps / numBlocks));
  for (let lo = 0; lo < canvas; lo += blockLength) {
    const hi = Math.min(lo + blockLength, canvas);
    for (let s = 0; x.slice(lo, hi).includes(mask); s++) {
      const out = await session.forward({
        batch: 1, seq: canvas, inputIds: x, positionIds: x.map((_, i) => N + i),
        attentionMask: new Array<number>(canvas * (N + canvas)).fill(1), past: context.past,
      });
      const V = out.vocab;
      const cands: { p: number; id: number; prob: number }[] = [];
      for (let p = lo; p < hi; p++) {
        if (x[p] !== mask) continue;
        const row = p === 0 ? Array.from(context.lastLogits) : Array.from(out.logits.subarray((p - 1) * V, p * V));
        for (const b of banned(p)) row[b] = -Infinity;
        const max = Math.max(...row);
        const z = row.reduce((acc, v) => acc + Math.exp(v - max), 0);
        const id = row.indexOf(max);
        cands.push({ p, id, prob: 1 / z });
      }
      // <|pad|> only at the first masked position of the canvas (earlier blocks are full).
      const firstMasked = x.indexOf(mask);
      const open = cands.filter((c) => c.id !== pad || c.p === firstMasked);
      cands.length = 0;
      cands.push(...open);
      let k = Math.min(cands.length, Math.ceil(x.slice(lo, hi).filter((t) => t === mask).length / Math.max(1, stepsPerBlock - s)));
      const above = cands.filter((c) => c.prob > threshold).length;
      if (threshold > 0) k = Math.max(k, 1, above);
      const order = cands.map((_, i) => i).sort((a, b) => cands[b].prob - cands[a].prob || a - b);
      for (const i of order.slice(0, k)) x[cands[i].p] = cands[i].id;
    }
    const firstPad = x.slice(lo, hi).indexOf(pad);
    if (firstPad >= 0) return x.map((t, i) => (i >= lo + firstPad ? pad : t));
  }
  return x;
}

test('greedy output equals a direct reimplementation of the algorithm', async () => {
  for (const [canvas, steps, blockLength, threshold] of [[16, 16, 8, 0], [24, 6, 8, 0], [12, 12, 4, 0.02], [20, 24, 8, 0]]) {
    const r = await run({ steps, blockLength, threshold }, canvas);
    assert.deepEqual(r.canvas, await directGreedy(canvas, steps, blockLength, threshold), `canvas ${canvas} steps ${steps} block ${blockLength} threshold ${threshold}`);
  }
});

test('greedy decoding is deterministic and fills the canvas', async () => {
  const a = await run({});
  const b = await run({});
  assert.deepEqual(a, b);
  assert.equal(a.canvas.length, 16);
  assert.ok(!a.canvas.includes(files.manifest.special_tokens.mask), 'no mask left');
  for (const lp of a.logProbs) assert.ok(Number.isFinite(lp) && lp <= 0);
});

test('the cached canvas pass equals one block-causal pass over context and canvas (token shift included)', async () => {
  // The same sequence in one pass (P = 0): the context causal, the canvas reading everything. The
  // canvas rows must match the cached pass, and the last context row the context pass's logits.
  const { mask } = files.manifest.special_tokens;
  const canvas = [...tok.encode('total / len('), mask, mask, mask, mask];
  const N = context.length;
  const n = N + canvas.length;
  const attentionMask: number[] = [];
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) attentionMask.push(i >= N || j <= i ? 1 : 0);
  const whole = await session.forward({ batch: 1, seq: n, inputIds: [...contextIds, ...canvas], positionIds: [...Array(n).keys()], attentionMask });
  const cached = await canvasPass(session, [canvas], context, mask);
  const V = whole.vocab;
  let diff = 0;
  let scale = 0;
  for (let t = 0; t < V; t++) {
    diff = Math.max(diff, Math.abs(whole.logits[(N - 1) * V + t] - context.lastLogits[t]));
    for (let j = 0; j < canvas.length; j++) {
      diff = Math.max(diff, Math.abs(whole.logits[(N + j) * V + t] - cached.logits[j * V + t]));
      scale = Math.max(scale, Math.abs(cached.logits[j * V + t]));
    }
  }
  // int8 graphs quantize each matmul's activations with one scale per pass, so passes over
  // different token sets differ slightly; 3% of the largest logit is far below what a wrong mask,
  // position or token shift does.
  assert.ok(diff < 0.03 * scale, `cached vs whole: max |diff| ${diff} (logits up to ${scale})`);
});

test('without a threshold a block takes its share of steps (more while <|pad|> waits its turn), one canvas pass each', async () => {
  for (const [steps, blockLength, canvas] of [[16, 8, 16], [6, 4, 12], [24, 8, 24], [4, 8, 16]]) {
    const r = await run({ steps, blockLength }, canvas);
    const perBlock = Math.max(1, Math.round(steps / Math.ceil(canvas / blockLength)));
    const blocks = blocksDecoded(r.canvas, blockLength);
    const at = `steps ${steps} block ${blockLength} canvas ${canvas}`;
    assert.ok(r.steps >= blocks * Math.min(perBlock, blockLength) - (blockLength - 1) && r.steps <= blocks * blockLength, `${at}: ${r.steps}`);
    // Position 0 needs no pass (the context's logits predict it), so a step deciding only it is free.
    assert.ok(r.forwards <= r.steps && r.forwards >= r.steps - 1);
  }
});

test('after the first <|pad|> the canvas is all padding (early stop)', async () => {
  const pad = files.manifest.special_tokens.pad;
  for (const canvas of [8, 24, 40]) {
    const r = await run({ steps: canvas }, canvas);
    const first = r.canvas.indexOf(pad);
    if (first >= 0) assert.ok(r.canvas.slice(first).every((t) => t === pad), `canvas ${canvas}: ${r.canvas}`);
  }
});

test('threshold decoding commits more per step: never more passes, one step per block when everything clears it', async () => {
  const ref = await run({ steps: 24 }, 24);
  for (const threshold of [0.9, 0.5, 0.01]) {
    const thr = await run({ steps: 24, threshold }, 24);
    assert.ok(thr.forwards <= ref.forwards, `threshold ${threshold}: ${thr.forwards} > ${ref.forwards}`);
  }
  const eager = await run({ steps: 24, threshold: 1e-9 }, 24);
  assert.ok(eager.forwards < ref.forwards);
});

test('bans: sentinels never, <|pad|> not before minTokens, no line break first in single-line mode', async () => {
  const { pad, mask, suffix, prefix, eos } = files.manifest.special_tokens;
  const r = await run({ minTokens: 3, steps: 8 }, 8);
  assert.ok(r.canvas.slice(0, 3).every((t) => t !== pad), `${r.canvas}`);
  const breaks = tok.lineBreakTokens(files.manifest.vocab_size);
  const single = await run({ singleLine: true }, 16, { lineBreakTokens: breaks });
  assert.ok(!breaks.has(single.canvas[0]), `first token ${JSON.stringify(tok.decode([single.canvas[0]]))} starts a line`);
  for (const c of [r.canvas, single.canvas]) assert.ok(!c.some((t) => [mask, suffix, prefix, eos].includes(t)));
});

test('single-line mode: a token with a line break ends the row after its block', async () => {
  // Every token counts as a line break here, so the row ends after the first token of block 0.
  const all = new Set(Array.from({ length: files.manifest.vocab_size }, (_, i) => i));
  const r = await run({ singleLine: true, steps: 16 }, 16, { newlineTokens: all });
  const pad = files.manifest.special_tokens.pad;
  assert.notEqual(r.canvas[0], pad);
  assert.ok(r.canvas.slice(1).every((t) => t === pad), `${r.canvas}`);
  assert.ok(r.logProbs.slice(1).every((lp) => lp === 0));
  assert.equal(r.steps, Math.round(16 / 2), 'only the first block was decoded');
});

test('sampling is reproducible from the seed', async () => {
  const a = await run({ temperature: 1, seed: 7 });
  const b = await run({ temperature: 1, seed: 7 });
  assert.deepEqual(a, b);
  const others = await Promise.all([1, 2, 3].map((seed) => run({ temperature: 1, seed })));
  assert.ok(others.some((o) => o.canvas.join() !== a.canvas.join()), 'different seeds give different samples');
});

test('an aborted signal rejects with CancelledError, before or between steps', async () => {
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(run({}, 16, { signal: ac.signal }), CancelledError);
  const late = new AbortController();
  let forwards = 0;
  const counting = { forward: (input: Parameters<typeof session.forward>[0]) => {
    if (++forwards === 2) late.abort();
    return session.forward(input);
  } };
  await assert.rejects(sample(counting, context, [64], { ...reference, steps: 64 }, { ...ctx, signal: late.signal }), CancelledError);
  assert.equal(forwards, 2, 'stopped at the next step');
});

test('a batch of canvases shares its passes and gives each row what it gives alone', async () => {
  // Rows of different lengths are right-padded and the padding is masked, so in exact arithmetic
  // a row's logits do not depend on its batch. The int8 graph quantizes each matmul's activations
  // with one scale for the whole pass, so they move slightly with the batch, and this model's
  // random weights give near-ties (its logits span about 1) that such a move can flip: the rows
  // must agree with their solo runs on most positions, and on the first committed token exactly.
  for (const options of [{ steps: 16 }, { steps: 24, threshold: 0.02 }]) {
    const lengths = [8, 16, 24];
    const batch = await sample(session, batchOf(3), lengths, { ...reference, ...options }, ctx);
    const alone = await Promise.all(lengths.map((c) => run(options, c)));
    assert.equal(batch.rows.length, 3);
    let same = 0;
    batch.rows.forEach((row, i) => {
      assert.equal(row.canvas.length, lengths[i]);
      assert.ok(!row.canvas.includes(files.manifest.special_tokens.mask));
      assert.equal(row.canvas[0], alone[i].canvas[0], `canvas ${lengths[i]}: position 0 comes from the shared context logits`);
      same += row.canvas.filter((t, j) => t === alone[i].canvas[j]).length;
    });
    const total = lengths.reduce((a, b) => a + b, 0);
    assert.ok(same / total >= 0.75, `batch and solo runs agree on ${same} of ${total} positions`);
    assert.ok(batch.forwards < alone.reduce((s, a) => s + a.forwards, 0), 'fewer passes than one run per canvas');
  }
  await assert.rejects(sample(session, context, [8, 16], reference, ctx), /the context has 1 rows, the batch 2/);
});
