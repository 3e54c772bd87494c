// Context reuse across requests on the real tiny model: after appending tokens, editing in the
// middle, deleting at the end or switching documents, the warm state (kept K/V + a pass over the
// new tokens) must give what a cold pass over the whole context gives, computing only the tokens
// after the longest common prefix. Also the K/V copies themselves, and the memory bound.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONTEXT_CHUNK, ContextCache, contextPass } from '../../model-host/src/decoding/context-cache';
import { appendKv, emptyKv, KV_HEADROOM, repeatKv, truncateKv, type KvCache } from '../../model-host/src/decoding/kv-cache';
import { loadManifest, type ModelFiles } from '../../model-host/src/model/manifest';
import { blockPass, type ContextState, type Model } from '../../model-host/src/decoding/sampler';
import { ModelSession } from '../../model-host/src/model/session';
import { CodeTokenizer } from '../../model-host/src/model/tokenizer';
import { modelsDir } from '../helpers/paths';

let files: ModelFiles;
let session: ModelSession;
let tok: CodeTokenizer;
const shape = () => ({ layers: files.manifest.n_layer, kvHeads: files.manifest.n_kv_head, headDim: files.manifest.head_dim });

before(async () => {
  files = loadManifest(path.join(modelsDir, 'tiny'));
  session = await ModelSession.open(files, 'cpu', 1);
  tok = new CodeTokenizer(JSON.parse(fs.readFileSync(files.tokenizerPath, 'utf8')), files.manifest.special_tokens);
});
after(() => session.release());

const ids = (suffix: string, prefix: string) => {
  const s = files.manifest.special_tokens;
  return [s.suffix, ...tok.encode(suffix), s.prefix, ...tok.encode(prefix)];
};

/** The cached positions of every run, without the buffer's room (kv-cache.ts). */
function packed(kv: KvCache, t: 'key' | 'value', s = shape()): Float32Array {
  const runs = s.layers * kv.batch * s.kvHeads;
  const out = new Float32Array(runs * kv.length * s.headDim);
  for (let r = 0; r < runs; r++) out.set(kv[t].subarray(r * kv.capacity * s.headDim, (r * kv.capacity + kv.length) * s.headDim), r * kv.length * s.headDim);
  return out;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

function argmax(a: Float32Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

/**
 * Warm and cold states agree: the next-token logits, the K/V, and a block pass against each.
 * The int8 graph quantizes activations with one scale per pass, so K/V computed in two passes
 * differ slightly from one pass over everything: 3% of the largest value bounds that (a wrong
 * position or cache layout moves them by far more).
 */
function largest(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
async function assertSameState(warm: ContextState, cold: ContextState): Promise<void> {
  assert.equal(warm.length, cold.length);
  const d = maxDiff(warm.lastLogits, cold.lastLogits);
  assert.ok(d < 0.03 * largest(cold.lastLogits), `last logits differ by ${d} (largest ${largest(cold.lastLogits)})`);
  assert.equal(argmax(warm.lastLogits), argmax(cold.lastLogits));
  const [wk, ck] = [packed(warm.past, 'key'), packed(cold.past, 'key')];
  const [wv, cv] = [packed(warm.past, 'value'), packed(cold.past, 'value')];
  assert.ok(maxDiff(wk, ck) < 0.03 * largest(ck) && maxDiff(wv, cv) < 0.03 * largest(cv));
  const { mask } = files.manifest.special_tokens;
  const canvas = [...tok.encode(' x +'), mask, mask, mask];
  const pass = (state: ContextState) => blockPass(session, [{ done: [], x: canvas }], state.past, 0);
  const a = await pass(warm);
  const b = await pass(cold);
  assert.ok(maxDiff(a.logits, b.logits) < 0.03 * largest(b.logits), `block logits differ by ${maxDiff(a.logits, b.logits)}`);
}

const cold = async (context: number[]) => (await new ContextCache(shape()).prepare(session, 'cold', context, false)).state;

test('K/V buffers: truncating keeps the buffer, appending writes into its room or copies with headroom, repeat moves whole runs', () => {
  const s = { layers: 2, kvHeads: 3, headDim: 2 };
  // Entry value = 1000*run + 10*position + d, runs = layers x batch x heads; `length` positions, no room.
  const make = (length: number, from: number): KvCache => {
    const key = new Float32Array(6 * length * 2);
    for (let r = 0; r < 6; r++) for (let p = 0; p < length; p++) for (let d = 0; d < 2; d++) key[(r * length + p) * 2 + d] = 1000 * r + 10 * (from + p) + d;
    return { key, value: key.map((v) => -v), batch: 1, length, capacity: length };
  };
  const whole = make(5, 0);
  const cut = truncateKv(whole, 3);
  assert.equal(cut.key, whole.key, 'truncating is no copy');
  assert.equal(truncateKv(whole, 5), whole);
  const grown = appendKv(cut, make(3, 3), s);
  assert.notEqual(grown.key, whole.key, 'no room for 3 more: a new buffer');
  assert.equal(grown.capacity, 6 + KV_HEADROOM);
  assert.deepEqual(packed(grown, 'key', s), packed(make(6, 0), 'key', s));
  assert.deepEqual(packed(grown, 'value', s), packed(make(6, 0), 'value', s));
  // Into the room: the same buffer, the earlier positions untouched.
  const again = appendKv(truncateKv(grown, 4), make(3, 4), s);
  assert.equal(again.key, grown.key, 'room left: written in place');
  assert.deepEqual(packed(again, 'key', s), packed(make(7, 0), 'key', s));
  assert.equal(appendKv(emptyKv(), whole, s).length, 5);
  const twice = repeatKv(again, 2, s);
  assert.equal(twice.batch, 2);
  // Layer 0 holds both rows' heads (whole runs, room included) before layer 1 starts.
  const per = 3 * again.capacity * 2;
  assert.deepEqual(twice.key.subarray(0, per), again.key.subarray(0, per));
  assert.deepEqual(twice.key.subarray(per, 2 * per), again.key.subarray(0, per));
  assert.deepEqual(twice.key.subarray(2 * per, 3 * per), again.key.subarray(per, 2 * per));
});

test('typing at the cursor computes only the new tokens, and the warm state equals a cold one', async () => {
  const cache = new ContextCache(shape());
  const suffix = '\n    return total\n';
  let prefix = 'def total(values):\n    total = 0\n    for v in values:\n        total ';
  const first = await cache.prepare(session, 'doc', ids(suffix, prefix));
  assert.deepEqual({ computed: first.stats.computed, reused: first.stats.reused }, { computed: first.stats.tokens, reused: 0 });
  const computed: number[] = [];
  for (const typed of ['+', '=', ' v', '\n']) {
    prefix += typed;
    const context = ids(suffix, prefix);
    const r = await cache.prepare(session, 'doc', context);
    computed.push(r.stats.computed);
    assert.equal(r.stats.computed + r.stats.reused, context.length);
    await assertSameState(r.state, await cold(context));
  }
  assert.ok(computed.every((n) => n >= 1 && n <= 3), `tokens computed per keystroke: ${computed}`);
});

test('the same context again computes nothing; a shorter one recomputes its last token only', async () => {
  const cache = new ContextCache(shape());
  const context = ids('}\n', 'function f(a) {\n  return a * 2;');
  await cache.prepare(session, 'doc', context);
  const again = await cache.prepare(session, 'doc', context);
  assert.equal(again.stats.computed, 0);
  const shorter = context.slice(0, -2);
  const back = await cache.prepare(session, 'doc', shorter);
  assert.equal(back.stats.computed, 1, 'the last token runs again: its logits predict the canvas');
  await assertSameState(back.state, await cold(shorter));
});

test('an edit in the middle keeps the tokens before it and recomputes the rest', async () => {
  const cache = new ContextCache(shape());
  const suffix = '\nprint(area(2))\n';
  const a = ids(suffix, 'import math\n\ndef area(r):\n    return math.pi * r ');
  const b = ids(suffix, 'import math\n\ndef areas(r):\n    return math.pi * r ');
  await cache.prepare(session, 'doc', a);
  let common = 0;
  while (a[common] === b[common]) common++;
  const r = await cache.prepare(session, 'doc', b);
  assert.equal(r.stats.reused, common);
  assert.equal(r.stats.computed, b.length - common);
  await assertSameState(r.state, await cold(b));
  // An edit in the suffix (first in the layout) recomputes nearly everything.
  const c = ids('\nprint(area(3))\n', 'import math\n\ndef areas(r):\n    return math.pi * r ');
  const s = await cache.prepare(session, 'doc', c);
  assert.ok(s.stats.reused < 10, `reused ${s.stats.reused}`);
  await assertSameState(s.state, await cold(c));
});

test('documents have separate entries, least recently used first out, under a bound', async () => {
  const cache = new ContextCache(shape(), { maxDocuments: 2, maxBytes: 1 << 30 });
  const context = (n: number) => ids('', `x${n} = ${n}\n`.repeat(5));
  await cache.prepare(session, 'a', context(1));
  await cache.prepare(session, 'b', context(2));
  const other = await cache.prepare(session, 'a', context(1));
  assert.equal(other.stats.computed, 0, 'a was kept while b was used');
  await cache.prepare(session, 'c', context(3));
  assert.deepEqual(cache.documents, ['a', 'c'], 'b was the least recently used');
  const fresh = await cache.prepare(session, 'b', context(2));
  assert.equal(fresh.stats.computed, fresh.stats.tokens);
  // A byte bound smaller than one entry keeps nothing; reuse false neither reads nor writes.
  const small = new ContextCache(shape(), { maxDocuments: 4, maxBytes: 1000 });
  await small.prepare(session, 'a', context(1));
  assert.deepEqual(small.documents, []);
  const off = new ContextCache(shape());
  await off.prepare(session, 'a', context(1), false);
  assert.deepEqual(off.documents, []);
  const perToken = 2 * shape().layers * shape().kvHeads * shape().headDim * 4; // K and V, float32
  // Each entry's buffer holds its positions and the headroom a cold context pass leaves.
  assert.equal(cache.bytes, (context(1).length + context(3).length + 2 * KV_HEADROOM) * perToken);
});

test('with requests queued, room comes from documents none of them needs, then from the one whose turn comes last', async () => {
  // Three documents typed in turn through two places: least recently used would drop exactly the
  // next one each time, and every request would compute its whole context (issue 22).
  let queue: string[] = [];
  const cache = new ContextCache(shape(), { maxDocuments: 2, maxBytes: 1 << 30 }, () => queue);
  const context = (n: number) => ids('', `y${n} = ${n}\n`.repeat(5));
  await cache.prepare(session, 'a', context(1));
  await cache.prepare(session, 'b', context(2));
  queue = ['a', 'b'];
  await cache.prepare(session, 'c', context(3));
  assert.deepEqual(cache.documents.sort(), ['a', 'c'], 'b, whose turn comes after a, made room');
  queue = ['b', 'c'];
  assert.equal((await cache.prepare(session, 'a', context(1))).stats.computed, 0, 'a was kept for its turn');
  // Nothing queued needs a: it goes before c, which is.
  await cache.prepare(session, 'b', context(2));
  assert.deepEqual(cache.documents.sort(), ['b', 'c']);
});

test('a context longer than one pass runs in passes of CONTEXT_CHUNK tokens into one buffer, and equals a single pass', async () => {
  const context = ids('\nprint(total)\n', Array.from({ length: 60 }, (_, i) => `total += values[${i}] * ${i + 1}\n`).join(''));
  assert.ok(context.length > 2 * CONTEXT_CHUNK, `${context.length} tokens`);
  const passes: number[] = [];
  const counting: Model = { forward: (input) => { passes.push(input.seq); return session.forward(input); } };
  const chunked = await new ContextCache(shape()).prepare(counting, 'doc', context);
  const full = Math.floor(context.length / CONTEXT_CHUNK);
  assert.deepEqual(passes, [...Array(full).fill(CONTEXT_CHUNK), context.length - full * CONTEXT_CHUNK].filter((n) => n > 0));
  assert.equal(chunked.state.past.capacity, context.length + KV_HEADROOM, 'one buffer sized for the whole context');
  const whole = await contextPass(session, context, emptyKv());
  const single: ContextState = {
    length: context.length, past: appendKv(emptyKv(), whole.present, shape()), lastLogits: whole.logits.slice(whole.logits.length - whole.vocab),
  };
  await assertSameState(chunked.state, single);
});

test('a new entry makes room before its pass, so memory peaks at the bound', async () => {
  const cache = new ContextCache(shape(), { maxDocuments: 2, maxBytes: 1 << 30 });
  const seen: string[][] = [];
  const watching: Model = { forward: (input) => { seen.push(cache.documents); return session.forward(input); } };
  const context = (n: number) => ids('', `y${n} = ${n}\n`.repeat(4));
  await cache.prepare(watching, 'a', context(1));
  await cache.prepare(watching, 'b', context(2));
  await cache.prepare(watching, 'c', context(3));
  assert.deepEqual(seen.at(-1), ['b'], 'a left before c was computed');
  assert.deepEqual(cache.documents, ['b', 'c']);
});

test('a pass cancelled between chunks keeps the chunks it computed, and the next request computes only the rest', async () => {
  const context = ids('\nprint(total)\n', Array.from({ length: 60 }, (_, i) => `total += values[${i}] * ${i + 1}\n`).join(''));
  assert.ok(context.length > 2 * CONTEXT_CHUNK, `${context.length} tokens`);
  const cache = new ContextCache(shape());
  const controller = new AbortController();
  let passes = 0;
  // The abort arrives during the second pass, as a keystroke's request does while a warm-up runs.
  const aborting: Model = { forward: (input) => { if (++passes === 2) controller.abort(); return session.forward(input); } };
  await assert.rejects(cache.prepare(aborting, 'doc', context, true, controller.signal), { name: 'CancelledError' });
  assert.equal(passes, 2, 'no pass after the abort');
  assert.ok(cache.holdsStart('doc', context, 2 * CONTEXT_CHUNK), 'the two computed chunks are kept');
  assert.ok(!cache.holdsStart('doc', context, 2 * CONTEXT_CHUNK + 1));
  assert.ok(!cache.holdsStart('other', context, 1));
  const next = await cache.prepare(session, 'doc', context);
  assert.deepEqual(next.stats, { tokens: context.length, computed: context.length - 2 * CONTEXT_CHUNK, reused: 2 * CONTEXT_CHUNK });
  await assertSameState(next.state, await cold(context));
});
