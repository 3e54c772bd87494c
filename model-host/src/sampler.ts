// The canvas sampler (models/CONTRACT.md, format 2): LLaDA's semi-autoregressive low-confidence
// remasking on a canvas that follows a cached, causal context
//
//   <|suffix|> suffix <|prefix|> prefix | canvas        context: positions 0..N-1, canvas N..N+C-1
//
// The canvas starts as C <|mask|> tokens and is decided in blocks of blockLength, left to right.
// Each step is one pass over the whole canvas against the context's K/V (every canvas position
// reads the context and the whole canvas). With the token shift, canvas position p is predicted
// by the logits at p - 1: the pass's own logits for p > 0, the context pass's last logits for
// p = 0. Each step commits the most confident masked positions of the current block: the even
// schedule's share (steps spread over the blocks), or with a threshold everything above it;
// <|pad|> only at the first masked position (the end is decided from the left). A
// block holding <|pad|> ends the row (pad from the first one on); in single-line mode so does a
// token with a line break (the completion is cut at it). training/ has the same algorithm in
// PyTorch; keep both identical.
//
// Several canvas lengths can be decoded as one batch: rows right-padded to the longest, the
// padding hidden by the attention mask. Each pass runs every row, so a finished row costs a
// little compute until the batch ends, and never a copy of the context.

import { CancelledError } from './errors';
import { pickToken, seededRandom, topK } from './logits';
import type { ForwardOutput, KvCache } from './session';
import type { SamplerOptions } from './types';
import type { SpecialTokens } from './manifest';

/** What the sampler needs from the model: ModelSession.forward. */
export interface Model {
  forward(input: { batch: number; seq: number; inputIds: ArrayLike<number>; positionIds: ArrayLike<number>; attentionMask: ArrayLike<number>; past?: KvCache; logitsFrom?: number }): Promise<ForwardOutput>;
}

/** The context the canvas follows, as the context pass left it. */
export interface ContextState {
  /** N, the context's length (the canvas starts at position N). */
  length: number;
  /** The context's K/V, with as many rows as the batch (see repeatKv). */
  past: KvCache;
  /** Logits at the last context position [vocab]: the prediction for canvas position 0. */
  lastLogits: Float32Array;
}

export interface SampleResult {
  /** The canvas's final tokens; after the row ended (pad or, single-line, a line break) all <|pad|>. */
  canvas: number[];
  /** Per canvas position, the log-probability of its token when it was committed (0 for the padding filled in after an early stop). */
  logProbs: number[];
  /** Steps this canvas committed tokens in. */
  steps: number;
}

export interface BatchResult {
  /** One per canvas length, in the order asked for. */
  rows: SampleResult[];
  /** Canvas passes for the whole batch. */
  forwards: number;
}

export interface SampleContext {
  special: SpecialTokens;
  /** Tokens canvas position 0 may not take in single-line mode (those that start a new line). */
  lineBreakTokens?: ReadonlySet<number>;
  /** Tokens with a line break anywhere: in single-line mode one ends the row. */
  newlineTokens?: ReadonlySet<number>;
  signal?: AbortSignal;
}

interface Row {
  x: number[];
  logProbs: number[];
  stepsPerBlock: number;
  steps: number;
  done: boolean;
  random: () => number;
}

/** Fills one canvas per entry of `canvasLengths` after the context. */
export async function sample(
  model: Model, context: ContextState, canvasLengths: readonly number[], options: SamplerOptions, ctx: SampleContext,
): Promise<BatchResult> {
  const { mask, pad } = ctx.special;
  const { blockLength } = options;
  const threshold = options.threshold ?? 0;
  if (context.past.batch !== canvasLengths.length) throw new Error(`the context has ${context.past.batch} rows, the batch ${canvasLengths.length}`);
  const rows: Row[] = canvasLengths.map((c, i) => ({
    x: new Array<number>(c).fill(mask),
    logProbs: new Array<number>(c).fill(0),
    stepsPerBlock: Math.max(1, Math.round(options.steps / Math.ceil(c / blockLength))),
    steps: 0,
    done: false,
    random: seededRandom((options.seed ?? 0) + i),
  }));
  const banned = bannedTokens(options, ctx);
  const width = Math.max(...canvasLengths);
  let forwards = 0;

  for (let lo = 0; lo < width; lo += blockLength) {
    const maskedIn = (r: Row) => {
      const out: number[] = [];
      for (let p = lo; p < Math.min(lo + blockLength, r.x.length); p++) if (r.x[p] === mask) out.push(p);
      return out;
    };
    for (let step = 0; ; step++) {
      const todo = rows.map((r) => (r.done ? [] : maskedIn(r)));
      if (todo.every((m) => m.length === 0)) break;
      await yieldToEventLoop(ctx.signal);
      // Position 0 needs only the context's logits; any other needs this canvas's pass.
      let out: ForwardOutput | undefined;
      if (todo.some((m) => m.some((p) => p > 0))) {
        out = await canvasPass(model, rows.map((r) => r.x), context, mask);
        forwards++;
      }
      rows.forEach((r, b) => {
        const masked = todo[b];
        if (masked.length === 0) return;
        r.steps++;
        const picks = masked.map((p) => (p === 0
          ? pickToken(context.lastLogits, 0, context.lastLogits.length, options.temperature, r.random, banned(0))
          : pickToken(out!.logits, (b * width + p - 1) * out!.vocab, out!.vocab, options.temperature, r.random, banned(p))));
        // The end is decided from the left: <|pad|> may be committed only at the first masked
        // position (masked[0]; earlier blocks are full), so a confident guess that the middle is
        // short cannot cut it before it is written.
        const eligible = picks.map((pk, i) => pk.id !== pad || i === 0);
        const scores = picks.map((pk, i) => (eligible[i] ? pk.prob : -Infinity));
        // Even schedule: spread what is still masked over the steps this block has left.
        let k = Math.ceil(masked.length / Math.max(1, r.stepsPerBlock - step));
        if (threshold > 0) k = Math.max(k, 1, picks.filter((pk, i) => eligible[i] && pk.prob > threshold).length);
        const chosen = new Set(topK(scores, Math.min(k, eligible.filter(Boolean).length)));
        if (threshold > 0) picks.forEach((pk, i) => eligible[i] && pk.prob > threshold && chosen.add(i));
        for (const i of chosen) {
          r.x[masked[i]] = picks[i].id;
          r.logProbs[masked[i]] = picks[i].logProb;
        }
      });
    }
    // The block is decided: a <|pad|> ends the row there (whatever came after it is dropped), and
    // in single-line mode so does a token with a line break (kept; the text is cut inside it).
    for (const r of rows) {
      if (r.done) continue;
      for (let p = lo; p < Math.min(lo + blockLength, r.x.length); p++) {
        const end = r.x[p] === pad ? p : options.singleLine && ctx.newlineTokens?.has(r.x[p]) ? p + 1 : -1;
        if (end < 0) continue;
        for (let q = end; q < r.x.length; q++) {
          // The pad the model chose keeps its log-probability (it scores an empty completion).
          if (q !== p) r.logProbs[q] = 0;
          r.x[q] = pad;
        }
        r.done = true;
        break;
      }
      if (lo + blockLength >= r.x.length) r.done = true;
    }
  }
  return { rows: rows.map((r) => ({ canvas: r.x, logProbs: r.logProbs, steps: r.steps })), forwards };
}

/**
 * One pass over canvases (row b: canvas xs[b] at positions N.., right-padded with <|mask|> to the
 * longest) against the context's K/V. Every input reads the whole context and its row's real
 * canvas positions; padding positions are read by no one.
 */
export function canvasPass(model: Model, xs: readonly (readonly number[])[], context: ContextState, filler: number): Promise<ForwardOutput> {
  const B = xs.length;
  const S = Math.max(...xs.map((x) => x.length));
  const P = context.length;
  const inputIds = new Array<number>(B * S);
  const positionIds = new Array<number>(B * S);
  const attentionMask = new Uint8Array(B * S * (P + S));
  xs.forEach((x, b) => {
    for (let i = 0; i < S; i++) {
      inputIds[b * S + i] = i < x.length ? x[i] : filler;
      positionIds[b * S + i] = P + i;
      const row = (b * S + i) * (P + S);
      attentionMask.fill(1, row, row + P + x.length);
    }
  });
  return model.forward({ batch: B, seq: S, inputIds, positionIds, attentionMask, past: context.past });
}

/**
 * Tokens canvas position `p` may not take: mask and the sentinels always, <|pad|> before
 * minTokens, line breaks at position 0 in single-line mode. Built once per run: the sampler asks
 * for every masked position at every step, and the line-break set can hold thousands of ids.
 */
function bannedTokens(options: SamplerOptions, ctx: SampleContext): (p: number) => ReadonlySet<number> {
  const { mask, pad, suffix, prefix, eos } = ctx.special;
  const minTokens = options.minTokens ?? 1;
  const always = new Set([mask, suffix, prefix, eos]);
  const early = new Set([...always, pad]);
  const atStart = new Set([...(minTokens > 0 ? early : always), ...(options.singleLine ? ctx.lineBreakTokens ?? [] : [])]);
  return (p) => (p === 0 ? atStart : p < minTokens ? early : always);
}

/** Lets the event loop run (a worker then sees a cancel message) and stops if the request was cancelled. */
async function yieldToEventLoop(signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) throw new CancelledError();
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (signal?.aborted) throw new CancelledError();
}
