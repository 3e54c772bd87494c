// The infill sampler: LLaDA's semi-autoregressive block sampling with low-confidence remasking,
// run on the canvas between prefix and suffix. `sampleCanvas` is the whole algorithm; the dual
// cache (`BlockCache`) and threshold parallel decoding are small, separable additions to it.
import type { SpecialTokens } from './manifest';
import { pickToken, seededRandom, type Pick } from './logits';
import type { ModelSession, PastKV } from './session';
import type { SamplerOptions } from './types';

export class CancelledError extends Error {
  override name = 'CancelledError';
  constructor() { super('infill request cancelled'); }
}

export interface CanvasResult {
  /** Committed canvas ids up to (not including) the first <|pad|>. */
  ids: number[];
  /** Log-probability of each of those ids when it was committed, plus that of the closing <|pad|>
   *  when there is one (deciding to stop is part of the completion's confidence). */
  logProbs: number[];
  steps: number;
  forwards: number;
}

/** Lets queued messages (a cancel, a new request) run between model passes. */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Fill `canvasLength` masked tokens between prefix and suffix.
 *   steps        denoising steps for the whole canvas, spread evenly over its blocks
 *   blockLength  tokens per block; blocks are decoded left to right
 *   temperature  0 = argmax
 *   threshold    > 0: commit every masked token whose confidence exceeds it (at least one per step)
 *   dualCache    one full pass per block, then block-only passes against cached keys/values
 *   remasking    'low_confidence' keeps the most confident predictions; 'random' keeps random ones
 *   minTokens    the completion's first tokens may not be <|pad|> (default 1)
 *   singleLine   the first token may not be one of lineBreakTokens
 */
export async function sampleCanvas(
  model: ModelSession, sp: SpecialTokens, prefix: number[], suffix: number[], canvasLength: number,
  opts: SamplerOptions, signal?: AbortSignal, lineBreakTokens: readonly number[] = [],
): Promise<CanvasResult> {
  const x = [sp.bos, ...prefix, ...new Array<number>(canvasLength).fill(sp.mask), ...suffix, sp.eos];
  const start = 1 + prefix.length;
  const end = start + canvasLength;
  const logProbs = new Array<number>(canvasLength).fill(0);
  const rng = seededRandom(opts.seed ?? 0);
  const numBlocks = Math.ceil(canvasLength / opts.blockLength);
  const stepsPerBlock = Math.max(1, Math.round(opts.steps / numBlocks));
  const minTokens = Math.min(canvasLength, opts.minTokens ?? 1);
  const firstBanned = [sp.pad, ...lineBreakTokens];
  let steps = 0;
  let forwards = 0;

  for (let lo = start; lo < end; lo += opts.blockLength) {
    const hi = Math.min(end, lo + opts.blockLength);
    const cache = opts.dualCache ? new BlockCache(model, lo, hi) : undefined;
    for (let step = 0; ; step++) {
      const masked = maskedPositions(x, lo, hi, sp.mask);
      if (masked.length === 0) break;
      await yieldToEventLoop();
      if (signal?.aborted) throw new CancelledError();

      // Predict every masked position of the block.
      const rowOf = cache ? await cache.logits(x) : await fullPass(model, x);
      forwards++;
      steps++;
      // An empty completion is never shown, so the first minTokens positions may not stop the canvas,
      // and a single-line completion may not open with a line break.
      const picks = masked.map((p) => pickToken(rowOf.logits, rowOf.row(p) * rowOf.vocab, rowOf.vocab, opts.temperature, rng,
        p === start && opts.singleLine ? firstBanned : p - start < minTokens ? [sp.pad] : []));
      const confidence = opts.remasking === 'random' ? picks.map(() => rng()) : picks.map((pk) => pk.prob);

      // Keep the most confident; the rest stay masked for the next step.
      const order = masked.map((_, i) => i).sort((a, b) => confidence[b] - confidence[a]);
      const remainingSteps = Math.max(1, stepsPerBlock - step);
      let k = Math.ceil(masked.length / remainingSteps);
      // Parallel decoding: also commit everything the model is already sure of.
      if (opts.threshold && opts.threshold > 0) k = Math.max(k, confidence.filter((c) => c > opts.threshold!).length);
      for (const i of order.slice(0, k)) commit(x, logProbs, masked[i] - start, masked[i], picks[i]);
    }
    // The model ends a completion with <|pad|>: once a block holds one, the rest of the canvas is padding.
    if (x.slice(lo, hi).includes(sp.pad)) break;
  }

  const canvas = x.slice(start, end);
  const n = usableLength(canvas, sp);
  const closed = canvas[n] === sp.pad ? 1 : 0;
  return { ids: canvas.slice(0, n), logProbs: logProbs.slice(0, n + closed), steps, forwards };
}

function commit(x: number[], logProbs: number[], canvasIndex: number, position: number, pick: Pick): void {
  x[position] = pick.token;
  logProbs[canvasIndex] = pick.logProb;
}

/** Length of the usable canvas: up to the first pad (or mask left after an early stop). */
function usableLength(canvas: number[], sp: SpecialTokens): number {
  const i = canvas.findIndex((t) => t === sp.pad || t === sp.mask);
  return i < 0 ? canvas.length : i;
}

function maskedPositions(x: number[], lo: number, hi: number, mask: number): number[] {
  const out: number[] = [];
  for (let p = lo; p < hi; p++) if (x[p] === mask) out.push(p);
  return out;
}

interface Rows { logits: Float32Array; vocab: number; row: (position: number) => number }

/** The reference: every step is a full pass over the whole sequence. */
async function fullPass(model: ModelSession, x: number[]): Promise<Rows> {
  const out = await model.forward(x, x.map((_, i) => i), x.map(() => 1));
  return { logits: out.logits, vocab: out.logits.length / x.length, row: (p) => p };
}

/**
 * Dual cache: the first step of a block is a full pass whose keys/values cover prefix, suffix and
 * every other block; later steps feed only the block's tokens and attend to that cache, with the
 * block's own (stale) cached entries masked out. Approximate by design: the cached keys/values of
 * the rest of the sequence are not refreshed within a block.
 */
class BlockCache {
  private past: PastKV | undefined;

  constructor(private readonly model: ModelSession, private readonly lo: number, private readonly hi: number) {}

  async logits(x: number[]): Promise<Rows> {
    if (!this.past) {
      const out = await this.model.forward(x, x.map((_, i) => i), x.map(() => 1));
      this.past = out.present;
      return { logits: out.logits, vocab: out.logits.length / x.length, row: (p) => p };
    }
    const positions: number[] = [];
    for (let p = this.lo; p < this.hi; p++) positions.push(p);
    const attend = x.map((_, i) => (i >= this.lo && i < this.hi ? 0 : 1)).concat(positions.map(() => 1));
    const out = await this.model.forward(x.slice(this.lo, this.hi), positions, attend, this.past);
    return { logits: out.logits, vocab: out.logits.length / positions.length, row: (p) => p - this.lo };
  }
}
