// The block sampler on the real tiny model (format 2): greedy output against the Python reference
// sampler's on the same graph (test/fixtures/sampler-reference.json), the folded block append
// against two separate passes, step and pass counts, early ends, the bans,
// single-line ends, candidates, cancellation.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { contextPass } from '../../model-host/src/decoding/context-cache';
import { appendKv, emptyKv } from '../../model-host/src/decoding/kv-cache';
import { loadManifest, type ModelFiles } from '../../model-host/src/model/manifest';
import { CancelledError } from '../../model-host/src/errors';
import { blockPass, sample, type ContextState, type SampleContext } from '../../model-host/src/decoding/sampler';
import { ModelSession } from '../../model-host/src/model/session';
import { CodeTokenizer } from '../../model-host/src/model/tokenizer';
import type { SamplerOptions } from '../../model-host/src/types';
import { modelsDir, repoRoot } from '../helpers/paths';

const referencePath = path.join(repoRoot, 'test', 'fixtures', 'sampler-reference.json');
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
  const m = files.manifest;
  ctx = { special: m.special_tokens, shape: { layers: m.n_layer, kvHeads: m.n_kv_head, headDim: m.head_dim } };
  const { suffix, prefix } = m.special_tokens;
  // The reference's context: the suffix '\n\n\nprint(mean([1, 2, 3]))\n' and the prefix 'def mean(values): ... return '.
  const fx: { prefix_ids: number[]; suffix_ids: number[] } = JSON.parse(fs.readFileSync(referencePath, 'utf8'));
  contextIds = [suffix, ...fx.suffix_ids, prefix, ...fx.prefix_ids];
  const out = await contextPass(session, contextIds, emptyKv());
  context = { length: contextIds.length, past: out.present, lastLogits: out.logits.slice(out.logits.length - out.vocab) };
});
after(() => session.release());

async function run(options: Partial<SamplerOptions>, canvas = 16, extra: Partial<SampleContext> = {}, candidates = 1) {
  const { rows, forwards } = await sample(session, context, canvas, candidates, { ...reference, ...options }, { ...ctx, ...extra });
  return { ...rows[0], forwards, rows };
}

/** The completion: the canvas up to its first <|pad|>. */
function text(canvas: number[]): number[] {
  const end = canvas.indexOf(files.manifest.special_tokens.pad);
  return end < 0 ? canvas : canvas.slice(0, end);
}

/** test/fixtures/sampler-reference.json: training/sample.py's infill() on the same graph (training/make_sampler_fixture.py). */
interface ReferenceCase { canvas: number; steps: number; blockLength: number; singleLine: boolean; minTokens: number; tokens: number[]; passes: number }

test('greedy output equals the Python reference sampler\'s, token for token, in as many passes', async () => {
  const fx: { onnx_sha256: string; cases: ReferenceCase[] } = JSON.parse(fs.readFileSync(referencePath, 'utf8'));
  assert.equal(fx.onnx_sha256, files.manifest.onnx_sha256, 'the fixture was made on this graph (run training/make_sampler_fixture.py again)');
  const lines = { newlineTokens: tok.newlineTokens(files.manifest.vocab_size), lineBreakTokens: tok.lineBreakTokens(files.manifest.vocab_size) };
  for (const c of fx.cases) {
    const { canvas, steps, blockLength, singleLine, minTokens } = c;
    const r = await run({ steps, blockLength, singleLine, minTokens }, canvas, singleLine ? lines : {});
    const at = `canvas ${canvas} steps ${steps} block ${blockLength} singleLine ${singleLine} minTokens ${minTokens}`;
    assert.deepEqual(text(r.canvas), c.tokens, at);
    assert.equal(r.forwards, c.passes, `${at}: passes`);
  }
});

test('greedy decoding is deterministic and fills the canvas up to its end with padding', async () => {
  const a = await run({});
  const b = await run({});
  assert.deepEqual(a, b);
  assert.equal(a.canvas.length, 16);
  assert.ok(!a.canvas.includes(files.manifest.special_tokens.mask), 'no mask left');
  const pad = files.manifest.special_tokens.pad;
  const first = a.canvas.indexOf(pad);
  if (first >= 0) assert.ok(a.canvas.slice(first).every((t) => t === pad));
  for (const lp of a.logProbs) assert.ok(Number.isFinite(lp) && lp <= 0);
});

test('appending a decided block inside the next block\'s pass equals appending it with a pass of its own', async () => {
  const { mask } = files.manifest.special_tokens;
  const decided = tok.encode('total / len(').slice(0, 4);
  const block = [mask, mask, mask, mask];
  // Folded: the decided tokens (causal) and the new block in one pass.
  const folded = await blockPass(session, [{ done: decided, x: block }], context.past, decided.length);
  // Separate: the decided tokens as a causal context pass, then the block against the longer cache.
  const appended = await contextPass(session, decided, context.past, true);
  const past = appendKv(context.past, appended.present, ctx.shape);
  const alone = await blockPass(session, [{ done: [], x: block }], past, 0);
  const V = folded.vocab;
  assert.equal(folded.logits.length, (block.length + 1) * V, 'the last decided token and the block');
  let diff = 0;
  let scale = 0;
  for (let t = 0; t < V; t++) {
    diff = Math.max(diff, Math.abs(folded.logits[t] - appended.logits[(decided.length - 1) * V + t]));
    for (let j = 0; j < block.length; j++) {
      diff = Math.max(diff, Math.abs(folded.logits[(j + 1) * V + t] - alone.logits[j * V + t]));
      scale = Math.max(scale, Math.abs(alone.logits[j * V + t]));
    }
  }
  // int8 graphs quantize each matmul's activations with one scale per pass, so passes over
  // different token sets differ slightly; 3% of the largest logit is far below what a wrong mask,
  // position or token shift does.
  assert.ok(diff < 0.03 * scale, `folded vs separate: max |diff| ${diff} (logits up to ${scale})`);
});

test('a block takes its steps, one block-sized pass each', async () => {
  const sizes: number[] = [];
  const counting = { forward: (input: Parameters<typeof session.forward>[0]) => {
    sizes.push(input.seq);
    return session.forward(input);
  } };
  for (const [steps, blockLength, canvas] of [[16, 8, 16], [6, 4, 12], [24, 8, 24], [4, 8, 16]]) {
    sizes.length = 0;
    const { rows, forwards } = await sample(counting, context, canvas, 1, { ...reference, steps, blockLength }, ctx);
    const r = rows[0];
    const perBlock = Math.max(1, steps);
    const tokens = text(r.canvas).length;
    const blocks = Math.max(1, Math.ceil(Math.min(canvas, tokens + 1) / blockLength));
    const at = `steps ${steps} block ${blockLength} canvas ${canvas}: ${r.steps} steps, ${forwards} passes, ${tokens} tokens`;
    assert.ok(r.steps <= blocks * Math.max(perBlock, blockLength), at);
    assert.ok(forwards <= r.steps, at);
    // A pass is one block, or a block with the decided block before it folded in.
    assert.ok(sizes.every((n) => n === blockLength || n === 2 * blockLength || n <= canvas % blockLength * 2), `${at}: pass sizes ${sizes}`);
  }
});

test('the completion ends at the first <|pad|>, as soon as everything before it is decided', async () => {
  const pad = files.manifest.special_tokens.pad;
  for (const canvas of [8, 24, 40]) {
    const r = await run({ steps: canvas }, canvas);
    const first = r.canvas.indexOf(pad);
    if (first >= 0) {
      assert.ok(r.canvas.slice(first).every((t) => t === pad), `canvas ${canvas}: ${r.canvas}`);
      assert.ok(r.steps <= first + 1, `canvas ${canvas}: ${r.steps} steps for ${first} tokens`);
    }
  }
});

test('a block written out in full takes one pass per token', async () => {
  // No <|pad|> anywhere (minTokens = canvas): the canvas is written out in full, one token per step.
  const r = await run({ steps: 24, minTokens: 24 }, 24);
  // The first token is free, then one pass per token, except a step whose only masked position
  // is a block's first (the logits before the block predict it).
  assert.ok(r.forwards >= 21 && r.forwards <= 23, `${r.forwards} passes for 24 tokens`);
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

test('single-line mode: a token with a line break ends the completion at once, without a pass', async () => {
  // Every token counts as a line break here, so the first token (from the context's logits) ends it.
  const all = new Set(Array.from({ length: files.manifest.vocab_size }, (_, i) => i));
  const r = await run({ singleLine: true, steps: 16 }, 16, { newlineTokens: all });
  const pad = files.manifest.special_tokens.pad;
  assert.notEqual(r.canvas[0], pad);
  assert.ok(r.canvas.slice(1).every((t) => t === pad), `${r.canvas}`);
  assert.ok(r.logProbs.slice(1).every((lp) => lp === 0));
  assert.equal(r.forwards, 0);
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
  await assert.rejects(sample(counting, context, 64, 1, { ...reference, steps: 64 }, { ...ctx, signal: late.signal }), CancelledError);
  assert.equal(forwards, 2, 'stopped at the next step');
});

test('candidates open with the most likely first tokens, in order, and share their passes', async () => {
  for (const options of [{ steps: 16 }, { steps: 3 }]) {
    const batch = await run(options, 24, {}, 3);
    const alone = await run(options, 24);
    assert.equal(batch.rows.length, 3);
    const firsts = batch.rows.map((r) => r.canvas[0]);
    assert.equal(new Set(firsts).size, 3, `distinct first tokens: ${firsts}`);
    const lps = batch.rows.map((r) => r.logProbs[0]);
    assert.ok(lps[0] >= lps[1] && lps[1] >= lps[2], `first tokens by probability: ${lps}`);
    // Row 0 is the greedy completion. In exact arithmetic it does not depend on the batch; the int8
    // graph quantizes activations with one scale per pass, and this model's random weights give
    // near-ties, so most positions must agree and the first exactly.
    assert.equal(batch.rows[0].canvas[0], alone.canvas[0]);
    const same = batch.rows[0].canvas.filter((t, j) => t === alone.canvas[j]).length;
    assert.ok(same / 24 >= 0.75, `batch row 0 and the solo run agree on ${same} of 24 positions`);
    for (const r of batch.rows) assert.ok(!r.canvas.includes(files.manifest.special_tokens.mask));
  }
  await assert.rejects(sample(session, { ...context, past: { ...context.past, batch: 2 } }, 8, 1, reference, ctx), /one row/);
});
