// The block sampler: LLaDA's semi-autoregressive low-confidence remasking, on the infill layout
//
//   [bos] prefix canvas suffix [eos]      positions 0 .. N-1
//
// The canvas starts as <|mask|> tokens and is filled block by block, left to right. Each step
// predicts the current block's masked positions and commits the most confident ones; the block
// gets round(steps / blocks) steps (at least one), and the number committed per step follows an
// even schedule. With a threshold, every prediction above it is committed too, so a block can
// finish early. With the dual cache, a block's first step is a full pass whose keys and values
// serve the block's later steps, which run the block's tokens alone (see blockPass).
//
// Several canvases (the candidates: same prefix and suffix, different canvas lengths) are decoded
// in lockstep as one batch: every pass runs the rows that are still decoding, right-padded to the
// longest, with the padding hidden by the attention mask. A row that has stopped (its canvas
// reached <|pad|>) leaves the batch at the next block.

import { pickToken, seededRandom, topK } from './logits';
import type { ForwardOutput, KvCache } from './session';
import type { SamplerOptions } from './types';
import type { SpecialTokens } from './manifest';

export class CancelledError extends Error {
  override readonly name = 'CancelledError';
  constructor() {
    super('The infill request was cancelled');
  }
}

/** What the sampler needs from the model: ModelSession.forward. */
export interface Model {
  forward(input: { batch: number; seq: number; inputIds: ArrayLike<number>; positionIds: ArrayLike<number>; attentionMask: ArrayLike<number>; past?: KvCache }): Promise<ForwardOutput>;
}

export interface SampleResult {
  /** The canvas's final tokens; everything after the first <|pad|> is <|pad|>. */
  canvas: number[];
  /** Per canvas position, the log-probability of its token when it was committed (0 for the padding filled in after an early stop). */
  logProbs: number[];
  /** Passes this canvas took part in (one denoising step each). */
  steps: number;
}

export interface BatchResult {
  /** One per canvas length, in the order asked for. */
  rows: SampleResult[];
  /** Model passes for the whole batch. */
  forwards: number;
}

export interface SampleContext {
  special: SpecialTokens;
  /** Tokens the first canvas position may not take when `singleLine` is set (those that start a new line). */
  lineBreakTokens?: ReadonlySet<number>;
  signal?: AbortSignal;
}

/** One canvas being decoded: its whole sequence, where its canvas ends, and what it committed. */
interface Row {
  x: number[];
  end: number;
  logProbs: number[];
  numBlocks: number;
  stepsPerBlock: number;
  steps: number;
  done: boolean;
  random: () => number;
}

/** Fills one canvas per entry of `canvasLengths` between `prefix` and `suffix` (token ids, no specials). */
export async function sample(
  model: Model, prefix: readonly number[], suffix: readonly number[], canvasLengths: readonly number[],
  options: SamplerOptions, ctx: SampleContext,
): Promise<BatchResult> {
  const { mask, pad, bos, eos } = ctx.special;
  const { blockLength, dualCache } = options;
  const start = 1 + prefix.length;
  const rows: Row[] = canvasLengths.map((canvasLength, i) => {
    const numBlocks = Math.ceil(canvasLength / blockLength);
    return {
      x: [bos, ...prefix, ...new Array<number>(canvasLength).fill(mask), ...suffix, eos],
      end: start + canvasLength,
      logProbs: new Array<number>(canvasLength).fill(0),
      numBlocks,
      stepsPerBlock: Math.max(1, Math.round(options.steps / numBlocks)),
      steps: 0,
      done: false,
      random: seededRandom((options.seed ?? 0) + i),
    };
  });
  const banned = bannedTokens(options, ctx);
  let forwards = 0;

  for (let lo = start; ; lo += blockLength) {
    const active = rows.filter((r) => !r.done && lo < r.end);
    if (active.length === 0) break;
    const his = active.map((r) => Math.min(lo + blockLength, r.end));
    let cache: KvCache | undefined;
    for (let step = 0; active.some((r, b) => r.x.slice(lo, his[b]).includes(mask)); step++) {
      await yieldToEventLoop(ctx.signal);
      // Logits of each row's block: a full pass, or a block pass against the cache.
      let out: ForwardOutput;
      let rowOffset: (b: number) => number;
      if (dualCache && cache) {
        out = await blockPass(model, active.map((r) => r.x), lo, blockLength, cache, pad);
        rowOffset = (b) => b * blockLength - lo;
      } else {
        out = await fullPass(model, active.map((r) => r.x), pad);
        const n = Math.max(...active.map((r) => r.x.length));
        rowOffset = (b) => b * n;
        if (dualCache) cache = out.present;
      }
      forwards++;
      active.forEach((r, b) => {
        if (!r.x.slice(lo, his[b]).includes(mask)) return; // this row's block is done; it waits for the others
        r.steps++;
        commitStep(r, out, rowOffset(b), lo, his[b], step, start, options, ctx.special.mask, banned);
      });
    }
    // The model pads the canvas to its end once the middle is complete: stop at the first <|pad|>.
    // Whatever the block committed after that pad is dropped with the rest.
    active.forEach((r, b) => {
      const first = r.x.slice(lo, his[b]).indexOf(pad);
      if (first < 0) return;
      for (let p = lo + first; p < r.end; p++) r.x[p] = pad;
      r.done = true;
    });
  }
  return { rows: rows.map((r) => ({ canvas: r.x.slice(start, r.end), logProbs: r.logProbs, steps: r.steps })), forwards };
}

/**
 * One denoising step of one row's block [lo, hi): predict every masked position, commit the most
 * confident (the even schedule's share, or everything above the threshold), leave the rest masked.
 * `offset` locates position p's logits at (offset + p) * vocab.
 */
function commitStep(
  r: Row, out: ForwardOutput, offset: number, lo: number, hi: number, step: number, start: number,
  options: SamplerOptions, mask: number, banned: (i: number) => ReadonlySet<number>,
): void {
  const threshold = options.threshold ?? 0;
  const masked: number[] = [];
  for (let p = lo; p < hi; p++) if (r.x[p] === mask) masked.push(p);
  const picks = masked.map((p) => pickToken(out.logits, (offset + p) * out.vocab, out.vocab, options.temperature, r.random, banned(p - start)));
  const scores = picks.map((pk) => (options.remasking === 'random' ? r.random() : pk.prob));
  // Even schedule: spread what is still masked over the steps this block has left.
  const stepsLeft = Math.max(1, r.stepsPerBlock - step);
  let k = Math.ceil(masked.length / stepsLeft);
  if (threshold > 0) k = Math.max(k, 1, picks.filter((pk) => pk.prob > threshold).length);
  const chosen = new Set(topK(scores, k));
  if (threshold > 0) picks.forEach((pk, i) => pk.prob > threshold && chosen.add(i));
  for (const i of chosen) {
    r.x[masked[i]] = picks[i].id;
    r.logProbs[masked[i] - start] = picks[i].logProb;
  }
}

/**
 * One pass over whole sequences (P = 0); its present K/V cover every position. Rows shorter than
 * the longest are right-padded, and their padding is hidden from every query.
 */
export function fullPass(model: Model, xs: readonly (readonly number[])[], pad: number): Promise<ForwardOutput> {
  const n = Math.max(...xs.map((x) => x.length));
  const inputIds: number[] = [];
  const positionIds: number[] = [];
  const attentionMask: number[] = [];
  for (const x of xs) {
    for (let p = 0; p < n; p++) {
      inputIds.push(p < x.length ? x[p] : pad);
      positionIds.push(Math.min(p, x.length - 1));
      attentionMask.push(p < x.length ? 1 : 0);
    }
  }
  return model.forward({ batch: xs.length, seq: n, inputIds, positionIds, attentionMask });
}

/**
 * A dual-cache step: only the block's tokens run, at their own positions, against the cached K/V
 * of the whole sequences (a fullPass of the same rows). The cache's entries for the block itself
 * are stale (computed when the block was still masked), so the mask hides them; the fresh block
 * entries come last. A row whose sequence ends inside the block pads its block input, hidden too.
 */
export function blockPass(
  model: Model, xs: readonly (readonly number[])[], lo: number, blockLength: number, cache: KvCache, pad: number,
): Promise<ForwardOutput> {
  const inputIds: number[] = [];
  const positionIds: number[] = [];
  const attentionMask: number[] = [];
  for (const x of xs) {
    // Rows share the prefix, so the block starts at `lo` in each. Where a canvas ends inside the
    // block, the suffix tokens after it run fresh too (the same K/V as cached), up to the row's end.
    const hi = Math.min(lo + blockLength, x.length);
    for (let j = 0; j < blockLength; j++) {
      inputIds.push(lo + j < hi ? x[lo + j] : pad);
      positionIds.push(lo + j < hi ? lo + j : lo);
    }
    for (let p = 0; p < cache.length; p++) attentionMask.push(p < x.length && (p < lo || p >= hi) ? 1 : 0);
    for (let j = 0; j < blockLength; j++) attentionMask.push(lo + j < hi ? 1 : 0);
  }
  return model.forward({ batch: xs.length, seq: blockLength, inputIds, positionIds, attentionMask, past: cache });
}

/**
 * Tokens canvas position `i` may not take: the other specials always, <|pad|> before minTokens,
 * line breaks first in single-line mode. Built once per run: the sampler asks for every masked
 * position at every step, and the line-break set can hold hundreds of ids.
 */
function bannedTokens(options: SamplerOptions, ctx: SampleContext): (i: number) => ReadonlySet<number> {
  const { mask, pad, bos, eos } = ctx.special;
  const minTokens = options.minTokens ?? 1;
  const always = new Set([mask, bos, eos]);
  const early = new Set([...always, pad]);
  const atStart = new Set([...(minTokens > 0 ? early : always), ...(options.singleLine ? ctx.lineBreakTokens ?? [] : [])]);
  return (i) => (i === 0 ? atStart : i < minTokens ? early : always);
}

/** Lets the event loop run (a worker then sees a cancel message) and stops if the request was cancelled. */
async function yieldToEventLoop(signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) throw new CancelledError();
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (signal?.aborted) throw new CancelledError();
}
