// The block sampler on the real tiny model: determinism, the dual cache's block pass, the step and
// forward counts, the threshold, early stopping, the token bans and cancellation.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadManifest, type ModelFiles } from '../../model-host/src/manifest';
import { blockPass, CancelledError, fullPass, sample, type SampleContext } from '../../model-host/src/sampler';
import { ModelSession } from '../../model-host/src/session';
import { CodeTokenizer } from '../../model-host/src/tokenizer';
import type { SamplerOptions } from '../../model-host/src/types';
import { modelsDir } from '../helpers/paths';

const reference: SamplerOptions = { steps: 16, blockLength: 8, temperature: 0, dualCache: false, remasking: 'low_confidence' };
let files: ModelFiles;
let session: ModelSession;
let tok: CodeTokenizer;
let ctx: SampleContext;
let prefix: number[];
let suffix: number[];

before(async () => {
  files = loadManifest(path.join(modelsDir, 'tiny'));
  session = await ModelSession.open(files, 'cpu', 1);
  tok = new CodeTokenizer(JSON.parse(fs.readFileSync(files.tokenizerPath, 'utf8')), files.manifest.special_tokens);
  ctx = { special: files.manifest.special_tokens };
  prefix = tok.encode('def mean(values):\n    total = 0\n    for v in values:\n        total += v\n    return ');
  suffix = tok.encode('\n\n\nprint(mean([1, 2, 3]))\n');
});
after(() => session.release());

/** One canvas alone (a batch of one), with the batch's forward count. */
async function run(options: Partial<SamplerOptions>, canvas = 16, extra: Partial<SampleContext> = {}) {
  const { rows, forwards } = await sample(session, prefix, suffix, [canvas], { ...reference, ...options }, { ...ctx, ...extra });
  return { ...rows[0], forwards };
}

/** Blocks the sampler decoded: up to and including the one holding the first <|pad|>. */
function blocksDecoded(canvas: number[], blockLength: number): number {
  const firstPad = canvas.indexOf(files.manifest.special_tokens.pad);
  return firstPad < 0 ? Math.ceil(canvas.length / blockLength) : Math.floor(firstPad / blockLength) + 1;
}

test('greedy decoding is deterministic and fills the canvas', async () => {
  const a = await run({});
  const b = await run({});
  assert.deepEqual(a, b);
  assert.equal(a.canvas.length, 16);
  assert.ok(!a.canvas.includes(files.manifest.special_tokens.mask), 'no mask left');
  for (const lp of a.logProbs) assert.ok(Number.isFinite(lp) && lp <= 0);
});

test('the reference takes exactly its share of steps per block, one forward each', async () => {
  for (const [steps, blockLength, canvas] of [[16, 8, 16], [6, 4, 12], [24, 8, 24]]) {
    const r = await run({ steps, blockLength }, canvas);
    const perBlock = Math.max(1, Math.round(steps / Math.ceil(canvas / blockLength)));
    // A block never needs more steps than it has positions.
    assert.equal(r.forwards, blocksDecoded(r.canvas, blockLength) * Math.min(perBlock, blockLength), `steps ${steps} block ${blockLength} canvas ${canvas}`);
    assert.equal(r.steps, r.forwards);
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

test('a block pass against a cache of the same sequence reproduces the full pass', async () => {
  // With no stale entries, hiding the block's cached K/V and attending to its fresh K/V instead
  // changes nothing, so the block's logits must equal the full pass's rows: this checks the mask
  // layout (past entries first, block entries last) and the positions.
  const { mask } = files.manifest.special_tokens;
  const x = [files.manifest.special_tokens.bos, ...prefix, ...tok.encode('total / len('), mask, mask, mask, mask, ...suffix, files.manifest.special_tokens.eos];
  const pad = files.manifest.special_tokens.pad;
  const full = await fullPass(session, [x], pad);
  const lo = 1 + prefix.length + 2;
  const hi = lo + 8;
  const block = await blockPass(session, [x], lo, 8, full.present, pad);
  const V = full.vocab;
  let maxDiff = 0;
  for (let j = 0; j < hi - lo; j++) {
    for (let t = 0; t < V; t++) maxDiff = Math.max(maxDiff, Math.abs(block.logits[j * V + t] - full.logits[(lo + j) * V + t]));
  }
  assert.ok(maxDiff < 1e-3, `block pass differs from the full pass by ${maxDiff}`);
});

test('dual cache: with one step per block every step is a full pass, so it equals the reference', async () => {
  // What must hold: each block's first step is a full pass on the same sequence in both modes.
  // With one step per block that is every step, so the outputs agree exactly. With more steps
  // per block they need not: the cached K/V of positions outside the block are not refreshed
  // after the block's tokens change, so later steps see slightly different logits.
  for (const canvas of [8, 16, 24]) {
    const blocks = Math.ceil(canvas / 8);
    const ref = await run({ steps: blocks }, canvas);
    const cached = await run({ steps: blocks, dualCache: true }, canvas);
    assert.deepEqual(cached.canvas, ref.canvas);
    assert.deepEqual(cached.logProbs, ref.logProbs);
  }
  // With several steps per block the cache still does the same number of forwards and commits.
  const ref = await run({ steps: 16 });
  const cached = await run({ steps: 16, dualCache: true });
  assert.equal(cached.canvas.length, ref.canvas.length);
  assert.ok(!cached.canvas.includes(files.manifest.special_tokens.mask));
  assert.equal(cached.forwards, blocksDecoded(cached.canvas, 8) * 8);
});

test('threshold decoding commits more per step: never more forwards, fewer with a low threshold', async () => {
  const ref = await run({ steps: 24 }, 24);
  for (const threshold of [0.9, 0.5, 0.1]) {
    const thr = await run({ steps: 24, threshold }, 24);
    assert.ok(thr.forwards <= ref.forwards, `threshold ${threshold}: ${thr.forwards} > ${ref.forwards}`);
  }
  // Every prediction clears a tiny threshold: one forward per block.
  const eager = await run({ steps: 24, threshold: 1e-9 }, 24);
  assert.equal(eager.forwards, blocksDecoded(eager.canvas, 8));
  assert.ok(eager.forwards < ref.forwards);
  const eagerCached = await run({ steps: 24, threshold: 1e-9, dualCache: true }, 24);
  assert.deepEqual(eagerCached.canvas, eager.canvas, 'one pass per block is a full pass with or without the cache');
});

test('minTokens keeps <|pad|> out of the canvas start; singleLine keeps a line break out of the first token', async () => {
  const pad = files.manifest.special_tokens.pad;
  const r = await run({ minTokens: 3, steps: 8 }, 8);
  assert.ok(r.canvas.slice(0, 3).every((t) => t !== pad), `${r.canvas}`);
  const breaks = tok.lineBreakTokens(files.manifest.vocab_size);
  const single = await run({ singleLine: true }, 16, { lineBreakTokens: breaks });
  assert.ok(!breaks.has(single.canvas[0]), `first token ${JSON.stringify(tok.decode([single.canvas[0]]))} starts a line`);
  const specials = [files.manifest.special_tokens.mask, files.manifest.special_tokens.bos, files.manifest.special_tokens.eos];
  assert.ok(!r.canvas.some((t) => specials.includes(t)) && !single.canvas.some((t) => specials.includes(t)));
});

test('sampling and random remasking are reproducible from the seed', async () => {
  const a = await run({ temperature: 1, seed: 7, remasking: 'random' });
  const b = await run({ temperature: 1, seed: 7, remasking: 'random' });
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
  await assert.rejects(sample(counting, prefix, suffix, [64], { ...reference, steps: 64 }, { ...ctx, signal: late.signal }), CancelledError);
  assert.equal(forwards, 2, 'stopped at the next step');
});

test('a batch of canvases gives each row what it gives alone (no cache), and shares the passes', async () => {
  // Rows of different lengths are right-padded and the padding is masked, so each row's logits
  // are its own (up to float noise); greedy decoding then commits the same tokens.
  for (const options of [{ steps: 16 }, { steps: 24, threshold: 0.5 }]) {
    const lengths = [8, 16, 24];
    const batch = await sample(session, prefix, suffix, lengths, { ...reference, ...options }, ctx);
    const alone = await Promise.all(lengths.map((c) => run(options, c)));
    assert.equal(batch.rows.length, 3);
    batch.rows.forEach((row, i) => {
      assert.deepEqual(row.canvas, alone[i].canvas, `canvas ${lengths[i]}`);
      assert.equal(row.steps, alone[i].forwards, `canvas ${lengths[i]}: steps`);
      row.logProbs.forEach((lp, j) => assert.ok(Math.abs(lp - alone[i].logProbs[j]) < 1e-3));
    });
    assert.ok(batch.forwards < alone.reduce((s, a) => s + a.forwards, 0), 'fewer passes than one run per canvas');
    assert.equal(batch.forwards, Math.max(...alone.map((a) => a.forwards)));
  }
});

test('a batched block pass against a batched cache reproduces the batched full pass, row by row', async () => {
  const { mask, bos, eos, pad } = files.manifest.special_tokens;
  const short = [bos, ...prefix, mask, mask, mask, ...suffix, eos];
  const long = [bos, ...prefix, ...new Array<number>(12).fill(mask), ...suffix, eos];
  const n = long.length;
  const full = await fullPass(session, [short, long], pad);
  const lo = 1 + prefix.length;
  const block = await blockPass(session, [short, long], lo, 8, full.present, pad);
  const V = full.vocab;
  let maxDiff = 0;
  [short, long].forEach((x, b) => {
    for (let j = 0; j < 8 && lo + j < x.length; j++) {
      for (let t = 0; t < V; t++) maxDiff = Math.max(maxDiff, Math.abs(block.logits[(b * 8 + j) * V + t] - full.logits[(b * n + lo + j) * V + t]));
    }
  });
  assert.ok(maxDiff < 1e-3, `block pass differs from the full pass by ${maxDiff}`);
});

test('with the cache, a batch still fills every row and stops rows at their padding', async () => {
  const lengths = [8, 24, 40];
  const batch = await sample(session, prefix, suffix, lengths, { ...reference, steps: 24, dualCache: true, threshold: 0.9 }, ctx);
  const pad = files.manifest.special_tokens.pad;
  batch.rows.forEach((row, i) => {
    assert.equal(row.canvas.length, lengths[i]);
    assert.ok(!row.canvas.includes(files.manifest.special_tokens.mask));
    const first = row.canvas.indexOf(pad);
    if (first >= 0) assert.ok(row.canvas.slice(first).every((t) => t === pad));
  });
});
