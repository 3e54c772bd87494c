// The canvas sampler (models/CONTRACT.md, format 2): LLaDA's semi-autoregressive low-confidence
// remasking, in blocks that are bidirectional inside and causal across (block diffusion)
//
//   <|suffix|> suffix <|prefix|> prefix | block 0 | block 1 | ...
//
// The completion is written block by block, left to right. A block starts as blockLength
// <|mask|> tokens after the context; each step is one pass over the block alone against the
// cached K/V (every block position reads the context and the whole block), and commits the most
// confident masked positions: an even share of the steps the block has left; <|pad|> only at the
// first masked position (the end is decided
// from the left). When a block is decided it joins the context, causally, exactly like text the
// user typed: its K/V are appended and the next block reads them. So a pass costs blockLength
// tokens whatever the canvas length, and the K/V of decided text is never recomputed.
//
// With the token shift, block position p is predicted by the logits at p - 1: the pass's own
// logits for p > 0, the context's last logits for p = 0. A decided block is appended inside the
// next block's first pass (its tokens as causal inputs ahead of the new masks), so joining the
// context costs no pass of its own.
//
// The row ends as soon as its text is final: a <|pad|> (only ever committed at the first masked
// position), or in single-line mode a token holding a line break with everything before it
// decided. Candidates run as one batch: row r starts with the r-th most likely first token (the
// most uncertain choice of a completion), and a finished row leaves the batch.
//
// training/sample.py's infill() is the reference, with the same passes in the same shapes;
// test/fixtures/sampler-reference.json holds its output on models/tiny (written by
// training/make_sampler_fixture.py through onnxruntime on the same graph), and
// test/model-host/sampler.test.ts holds this sampler to it token for token.

import { CancelledError } from '../errors';
import { drawTempered, pickToken, rankedAmong, rankedTokens, seededRandom, topK } from './logits';
import { appendKv, passMask, repeatKv, selectRows, truncateKv, type KvShape } from './kv-cache';
import type { NameBias } from './names';
import type { ForwardOutput, KvCache } from '../model/session';
import type { SamplerOptions } from '../types';
import type { SpecialTokens } from '../model/manifest';

/** What the sampler needs from the model: ModelSession.forward. */
export interface Model {
  forward(input: { batch: number; seq: number; inputIds: ArrayLike<number>; positionIds: ArrayLike<number>; attentionMask: ArrayLike<number>; past?: KvCache; logitsFrom?: number }): Promise<ForwardOutput>;
}

/** The context the completion follows, as the context pass left it (batch 1). */
export interface ContextState {
  /** N, the context's length (the completion starts at position N). */
  length: number;
  past: KvCache;
  /** Logits at the last context position [vocab]: the prediction for completion position 0. */
  lastLogits: Float32Array;
  /** Their log-normalizer, when the graph gives one. */
  lastLogZ?: number;
}

export interface SampleResult {
  /** `canvasLength` tokens: the completion, then <|pad|> from its end on. */
  canvas: number[];
  /** Per position, the log-probability of its token when it was committed (0 for the padding after the end). */
  logProbs: number[];
  /** Steps this row committed tokens in. */
  steps: number;
  /** Cut when the time budget ran out: the text goes on, but only its start was decided in time. */
  truncated: boolean;
}

export interface BatchResult {
  /** One per candidate, in row order (row 0 is the greedy one). */
  rows: SampleResult[];
  /** Model passes for the whole batch. */
  forwards: number;
}

export interface SampleContext {
  special: SpecialTokens;
  /** K/V layout, for appending decided blocks and dropping finished rows. */
  shape: KvShape;
  /** Tokens position 0 may not take in single-line mode (those that start a new line). */
  lineBreakTokens?: ReadonlySet<number>;
  /** Tokens with a line break anywhere: in single-line mode one ends the row. */
  newlineTokens?: ReadonlySet<number>;
  /** Token healing: the only tokens position 0 may take (those starting with the word the context was cut back by). */
  openingTokens?: readonly number[];
  /** Where the request's time budget ends (performance.now(), from InfillRequest.timeBudgetMs): no
   *  pass starts after it; each row ends where its first masked position is, and its result says
   *  `truncated`. Position 0 is decided before any pass, so every row keeps at least one token. */
  timeBudgetEndsAt?: number;
  signal?: AbortSignal;
  /** Names from other files (names.ts): the pick at a row's first undecided position favours
   *  tokens that spell more of one, after `textBefore` (the context's text, as healing left it). */
  names?: NameBias;
  textBefore?: string;
}

interface Row {
  /** Decided tokens of earlier blocks (already in the context, or pending). */
  done: number[];
  doneLogProbs: number[];
  /** The current block. */
  x: number[];
  logProbs: number[];
  steps: number;
  /** Where the completion ends (exclusive), once known. */
  end?: number;
  truncated?: boolean;
  random: () => number;
  lastLogits: Float32Array;
  lastLogZ?: number;
  /** Row index of the batch's K/V. */
  kvRow: number;
}

/** Writes up to `canvasLength` tokens after the context, `candidates` rows in one batch. */
export async function sample(
  model: Model, context: ContextState, canvasLength: number, candidates: number, options: SamplerOptions, ctx: SampleContext,
): Promise<BatchResult> {
  const { mask, pad } = ctx.special;
  const { blockLength } = options;
  if (context.past.batch !== 1) throw new Error(`the context must have one row, it has ${context.past.batch}`);
  if (!(canvasLength >= 1) || !(candidates >= 1)) throw new Error(`canvasLength and candidates must be at least 1 (got ${canvasLength}, ${candidates})`);
  // Steps are per block: a canvas is a ceiling the model may stop short of, so a share of a whole-canvas
  // count would make a roomy ceiling decode a short answer in fewer passes.
  const stepsPerBlock = Math.max(1, options.steps);
  const banned = bannedTokens(options, ctx);
  const openers = firstTokens(context, candidates, options, banned(0), ctx.openingTokens,
    ctx.names?.apply(context.lastLogits, 0, context.lastLogits.length, ctx.textBefore ?? '', '', ctx.openingTokens));
  const rows: Row[] = openers.map((_, r) => ({
    done: [], doneLogProbs: [], x: [], logProbs: [], steps: 0, random: seededRandom((options.seed ?? 0) + r),
    lastLogits: context.lastLogits, lastLogZ: context.lastLogZ, kvRow: r,
  }));
  let past = repeatKv(context.past, rows.length, ctx.shape);
  let live = rows.slice();
  // A finished row leaves the batch, and its K/V row with it.
  const dropFinished = (rs: Row[]) => {
    const kept = rs.filter((r) => r.end === undefined);
    if (kept.length < rs.length && kept.length > 0) {
      past = selectRows(past, kept.map((r) => r.kvRow), ctx.shape);
      kept.forEach((r, b) => { r.kvRow = b; });
    }
    return kept;
  };
  let pending = 0;
  let forwards = 0;

  for (let lo = 0; lo < canvasLength && live.length > 0; lo += blockLength) {
    const size = Math.min(blockLength, canvasLength - lo);
    for (const r of live) {
      r.x = new Array<number>(size).fill(mask);
      r.logProbs = new Array<number>(size).fill(0);
    }
    if (lo === 0) {
      openers.forEach((o, i) => commit(rows[i], 0, o.id, o.logProb));
      for (const r of rows) r.end = endOf(r, 0, options.singleLine ?? false, ctx);
      live = dropFinished(live);
    }
    for (let step = 0; live.length > 0; step++) {
      const todo = live.map((r) => maskedPositions(r.x, mask));
      if (todo.every((m) => m.length === 0)) break;
      await yieldToEventLoop(ctx.signal);
      if (ctx.timeBudgetEndsAt !== undefined && performance.now() >= ctx.timeBudgetEndsAt) {
        // Out of time: what is decided from the row's start is its answer.
        for (const r of live) {
          const open = r.x.indexOf(mask);
          r.end = lo + (open < 0 ? r.x.length : open);
          r.truncated = true;
        }
        live = [];
        break;
      }
      // A pass runs when a decided block waits to join the context or a position > 0 is masked;
      // position 0 alone needs only the logits the context already gave.
      let out: ForwardOutput | undefined;
      if (pending > 0 || todo.some((m) => m.some((p) => p > 0))) {
        out = await blockPass(model, live, past, pending);
        forwards++;
        if (pending > 0) {
          past = appendKv(past, truncateKv(out.present, pending), ctx.shape);
          live.forEach((r, b) => {
            r.lastLogits = out!.logits.slice(b * (size + 1) * out!.vocab, (b * (size + 1) + 1) * out!.vocab);
            r.lastLogZ = out!.logZ?.[b * (size + 1)];
          });
          pending = 0;
        }
      }
      // Rows of this pass's logits per batch row: with a block appended, row 0 is its last token.
      const rowsPerInput = out ? out.logits.length / out.vocab / live.length : 0;
      const lead = rowsPerInput - size;
      live.forEach((r, b) => {
        const masked = todo[b];
        if (masked.length === 0) return;
        r.steps++;
        const picks = masked.map((p, i) => {
          const at = b * rowsPerInput + lead + p - 1;
          const row = p === 0 ? { logits: r.lastLogits, offset: 0, vocab: r.lastLogits.length, logZ: r.lastLogZ }
            : { logits: out!.logits, offset: at * out!.vocab, vocab: out!.vocab, logZ: out!.logZ?.[at] };
          // Names: only where everything before the position is decided (its first masked one).
          const named = i === 0 && ctx.names
            ? ctx.names.apply(row.logits, row.offset, row.vocab, ctx.textBefore ?? '', ctx.names.textOf([...r.done, ...r.x.slice(0, p)])) : undefined;
          if (named) return pickToken(named, 0, row.vocab, options.temperature, r.random, banned(lo + p));
          return pickToken(row.logits, row.offset, row.vocab, options.temperature, r.random, banned(lo + p), row.logZ);
        });
        // The end is decided from the left: <|pad|> may be committed only at the first masked
        // position, so a confident guess that the middle is short cannot cut it before it is written.
        const eligible = picks.map((pk, i) => pk.id !== pad || i === 0);
        const scores = picks.map((pk, i) => (eligible[i] ? pk.prob : -Infinity));
        // Even schedule: spread what is still masked over the steps this block has left.
        const k = Math.ceil(masked.length / Math.max(1, stepsPerBlock - step));
        const chosen = topK(scores, Math.min(k, eligible.filter(Boolean).length));
        for (const i of chosen) commit(r, masked[i], picks[i].id, picks[i].logProb);
        r.end = endOf(r, lo, options.singleLine ?? false, ctx);
      });
      live = dropFinished(live);
    }
    // The block is decided and did not end its row: it joins the context in the next pass.
    for (const r of live) {
      r.done.push(...r.x);
      r.doneLogProbs.push(...r.logProbs);
    }
    pending = size;
  }
  return { rows: rows.map((r) => result(r, canvasLength, pad)), forwards };
}

/**
 * The first token of each row, committed before any pass: the context's last logits predict it
 * (nothing in the block can change them), and it is the choice that most separates candidates.
 * Row 0 takes the greedy (or, with a temperature, the sampled) token, row r the r-th most likely;
 * with token healing, among the `opening` tokens only; with names, from the `named` logits.
 */
function firstTokens(
  context: ContextState, candidates: number, options: SamplerOptions, banned: ReadonlySet<number>, opening?: readonly number[], named?: Float32Array,
) {
  const logits = named ?? context.lastLogits;
  const logZ = named ? undefined : context.lastLogZ;
  const random = seededRandom(options.seed ?? 0);
  if (opening) {
    const all = rankedAmong(logits, opening);
    const sampled = options.temperature === 0 ? all[0] : drawTempered(all, options.temperature, random);
    return [sampled, ...all.filter((t) => t.id !== sampled.id)].slice(0, candidates);
  }
  const ranked = rankedTokens(logits, 0, logits.length, banned, candidates, logZ);
  if (options.temperature === 0) return ranked;
  const sampled = pickToken(logits, 0, logits.length, options.temperature, random, banned);
  return [sampled, ...ranked.filter((t) => t.id !== sampled.id)].slice(0, candidates);
}

function commit(r: Row, p: number, id: number, logProb: number): void {
  r.x[p] = id;
  r.logProbs[p] = logProb;
}

function maskedPositions(x: readonly number[], mask: number): number[] {
  const out: number[] = [];
  for (let p = 0; p < x.length; p++) if (x[p] === mask) out.push(p);
  return out;
}

/** The completion's end (exclusive, from position 0 of the canvas) once everything before it is decided. */
function endOf(r: Row, lo: number, singleLine: boolean, ctx: SampleContext): number | undefined {
  const { mask, pad } = ctx.special;
  for (let p = 0; p < r.x.length; p++) {
    const t = r.x[p];
    if (t === mask) return undefined;
    if (t === pad) return lo + p;
    // Kept: the text is cut inside the token, at its line break.
    if (singleLine && ctx.newlineTokens?.has(t)) return lo + p + 1;
  }
  return undefined;
}

function result(r: Row, canvasLength: number, pad: number): SampleResult {
  const tokens = [...r.done, ...r.x];
  const logProbs = [...r.doneLogProbs, ...r.logProbs];
  const end = Math.min(r.end ?? canvasLength, canvasLength);
  const canvas = new Array<number>(canvasLength).fill(pad);
  const lps = new Array<number>(canvasLength).fill(0);
  for (let p = 0; p < end; p++) {
    canvas[p] = tokens[p];
    lps[p] = logProbs[p];
  }
  // The pad the model chose keeps its log-probability (it scores an empty completion).
  if (end < canvasLength && tokens[end] === pad) lps[end] = logProbs[end];
  return { canvas, logProbs: lps, steps: r.steps, truncated: r.truncated ?? false };
}

/**
 * One pass for every live row: the `pending` tokens of the block decided last (causal: each reads
 * the past and the pending tokens up to itself), then the current block (each position reads the
 * past, the pending tokens and the whole block). Inputs take the positions right after the past;
 * every row's block has the same length. Logits come back for the last pending token (it predicts
 * the block's position 0) and the block.
 */
export function blockPass(model: Model, rows: readonly { done: readonly number[]; x: readonly number[] }[], past: KvCache, pending: number): Promise<ForwardOutput> {
  const B = rows.length;
  const S = pending + rows[0].x.length;
  const P = past.length;
  const inputIds = new Array<number>(B * S);
  const positionIds = new Array<number>(B * S);
  rows.forEach((r, b) => {
    for (let i = 0; i < S; i++) {
      inputIds[b * S + i] = i < pending ? r.done[r.done.length - pending + i] : r.x[i - pending];
      positionIds[b * S + i] = P + i;
    }
  });
  const attentionMask = passMask(past, B, S, (i) => (i < pending ? i + 1 : S));
  return model.forward({ batch: B, seq: S, inputIds, positionIds, attentionMask, past, logitsFrom: Math.max(0, pending - 1) });
}

/**
 * Tokens completion position `p` may not take: mask and the sentinels always, <|pad|> before
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
