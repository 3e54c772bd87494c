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
// Candidates are sampled one after another (the engine loops); each forward here has batch 1.

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
  forwards: number;
  steps: number;
}

export interface SampleContext {
  special: SpecialTokens;
  /** Tokens the first canvas position may not take when `singleLine` is set (those that start a new line). */
  lineBreakTokens?: ReadonlySet<number>;
  signal?: AbortSignal;
}

/** Fills one canvas of `canvasLength` masks between `prefix` and `suffix` (token ids, no specials). */
export async function sample(
  model: Model, prefix: readonly number[], suffix: readonly number[], canvasLength: number,
  options: SamplerOptions, ctx: SampleContext,
): Promise<SampleResult> {
  const { mask, pad, bos, eos } = ctx.special;
  const { blockLength, temperature, dualCache, remasking } = options;
  const threshold = options.threshold ?? 0;
  const random = seededRandom(options.seed ?? 0);
  const x = [bos, ...prefix, ...new Array<number>(canvasLength).fill(mask), ...suffix, eos];
  const start = 1 + prefix.length;
  const end = start + canvasLength;
  const logProbs = new Array<number>(canvasLength).fill(0);
  const numBlocks = Math.ceil(canvasLength / blockLength);
  const stepsPerBlock = Math.max(1, Math.round(options.steps / numBlocks));
  let forwards = 0;

  for (let lo = start; lo < end; lo += blockLength) {
    const hi = Math.min(lo + blockLength, end);
    let cache: KvCache | undefined;
    for (let step = 0; x.slice(lo, hi).includes(mask); step++) {
      await yieldToEventLoop(ctx.signal);
      // Logits of the block's positions lo .. hi-1: a full pass, or a block pass against the cache.
      let out: ForwardOutput;
      let firstRow: number;
      if (dualCache && cache) {
        out = await blockPass(model, x, lo, hi, cache);
        firstRow = 0;
      } else {
        out = await fullPass(model, x);
        firstRow = lo;
        if (dualCache) cache = out.present;
      }
      forwards++;

      const masked: number[] = [];
      for (let p = lo; p < hi; p++) if (x[p] === mask) masked.push(p);
      const picks = masked.map((p) => pickToken(out.logits, (firstRow + p - lo) * out.vocab, out.vocab, temperature, random, banned(p - start, options, ctx)));
      const scores = picks.map((pk) => (remasking === 'random' ? random() : pk.prob));
      // Even schedule: spread what is still masked over the steps this block has left.
      const stepsLeft = Math.max(1, stepsPerBlock - step);
      let k = Math.ceil(masked.length / stepsLeft);
      if (threshold > 0) k = Math.max(k, 1, picks.filter((pk) => pk.prob > threshold).length);
      const chosen = new Set(topK(scores, k));
      if (threshold > 0) picks.forEach((pk, i) => pk.prob > threshold && chosen.add(i));
      for (const i of chosen) {
        x[masked[i]] = picks[i].id;
        logProbs[masked[i] - start] = picks[i].logProb;
      }
    }
    // The model pads the canvas to its end once the middle is complete: stop at the first <|pad|>.
    if (x.slice(lo, hi).includes(pad)) {
      for (let p = hi; p < end; p++) x[p] = pad;
      break;
    }
  }
  return { canvas: x.slice(start, end), logProbs, forwards, steps: forwards };
}

/** One pass over the whole sequence (P = 0); its present K/V cover every position. */
export function fullPass(model: Model, x: readonly number[]): Promise<ForwardOutput> {
  const n = x.length;
  return model.forward({ batch: 1, seq: n, inputIds: x, positionIds: range(0, n), attentionMask: new Array<number>(n).fill(1) });
}

/**
 * A dual-cache step: only the block's tokens run, at their own positions, against the cached K/V
 * of the whole sequence. The cache's entries for the block itself are stale (computed when the
 * block was still masked), so the mask hides them; the S fresh block entries come last.
 */
export function blockPass(model: Model, x: readonly number[], lo: number, hi: number, cache: KvCache): Promise<ForwardOutput> {
  const s = hi - lo;
  const attentionMask = new Array<number>(cache.length + s).fill(1);
  for (let p = lo; p < hi; p++) attentionMask[p] = 0;
  return model.forward({ batch: 1, seq: s, inputIds: x.slice(lo, hi), positionIds: range(lo, s), attentionMask, past: cache });
}

/** Tokens canvas position `i` may not take: the other specials always, <|pad|> before minTokens, line breaks first in single-line mode. */
function banned(i: number, options: SamplerOptions, ctx: SampleContext): ReadonlySet<number> {
  const { mask, pad, bos, eos } = ctx.special;
  const set = new Set([mask, bos, eos]);
  if (i < (options.minTokens ?? 1)) set.add(pad);
  if (i === 0 && options.singleLine && ctx.lineBreakTokens) for (const t of ctx.lineBreakTokens) set.add(t);
  return set;
}

function range(from: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => from + i);
}

/** Lets the event loop run (a worker then sees a cancel message) and stops if the request was cancelled. */
async function yieldToEventLoop(signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) throw new CancelledError();
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (signal?.aborted) throw new CancelledError();
}
