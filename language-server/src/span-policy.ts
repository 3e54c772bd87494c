// Decides what kind of completion to ask for at a cursor (one line or several) and how long
// the model's canvas of <|mask|> tokens should be.
//
// Why canvas lengths are a small ladder rather than one number: the model ends a completion
// by filling the rest of the canvas with <|pad|>, so a canvas only has to be at least as long
// as the middle it should produce; a longer one costs more compute per step and gives a weak
// model more room to ramble. Different lengths also produce genuinely different candidates
// (length conditions what the model writes), which the engine ranks by confidence. So:
//   - the longest rung is the setting's max tokens: longer completions are not wanted, and a
//     middle that fills the canvas to the brim simply runs to its end;
//   - shorter rungs split the range evenly, so a short answer has a cheap canvas that fits it;
//   - every rung is rounded up to a whole number of blocks, since the sampler spreads its
//     steps evenly over blocks of `blockLength` tokens;
//   - `candidates` picks that many rungs spread over the ladder, always keeping the longest;
//   - no rung exceeds what the loaded model's window can hold next to some context
//     (`maxCanvas`, from the model service), whatever the settings ask for.

import type { ServerSettings } from './protocol';

export type SpanMode = 'single-line' | 'multi-line';

export interface SpanPlan {
  mode: SpanMode;
  maxTokens: number;
  /** Canvas lengths in tokens, shortest first; one candidate each. */
  canvasLengths: number[];
}

type SpanSettings = Pick<ServerSettings, 'maxTokensSingleLine' | 'maxTokensMultiLine' | 'blockLength' | 'candidates'>;

/** Rungs per ladder: single-line answers range from one token to a line, so three sizes;
 *  multi-line answers are longer and fewer sizes keep the cost of each request bounded. */
const SINGLE_LINE_RUNGS = 3;
const MULTI_LINE_RUNGS = 2;

/** Selections: tokens are estimated from characters (code BPE averages 3-4 chars a token;
 *  3 over-estimates, which only adds slack), then 1.5x + 8 leaves room for a longer fill. */
const SELECTION_CHARS_PER_TOKEN = 3;
const SELECTION_CANVAS_CAP = 256;

/** A line ending in one of these opens a block, so the next thing to write is a body. */
const BLOCK_OPENERS = [':', '{', '(', '[', '=>', '->'];
const BLOCK_OPENER_WORDS = /(?:^|\W)(?:do|then|else|begin)$/;

/** Text editors auto-close these; after the cursor they do not mean "mid-line text". */
const AUTO_CLOSED = /^[)\]}>"'`;,]*$/;

export function opensBlock(linePrefix: string): boolean {
  const t = linePrefix.trimEnd();
  return BLOCK_OPENERS.some((o) => t.endsWith(o)) || BLOCK_OPENER_WORDS.test(t);
}

/**
 * Single-line when there is text after the cursor on its line, or at the end of an ordinary
 * line; multi-line on a blank line, at the end of a line that opens a block, or between an
 * opening brace and its auto-inserted closer (`{║}`).
 */
export function decideMode(linePrefix: string, lineSuffix: string): SpanMode {
  const after = lineSuffix.trim();
  if (after === '') {
    if (linePrefix.trim() === '' || opensBlock(linePrefix)) return 'multi-line';
    return 'single-line';
  }
  if (AUTO_CLOSED.test(after) && linePrefix.trimEnd().endsWith('{') && after.startsWith('}')) return 'multi-line';
  return 'single-line';
}

function roundUpTo(n: number, step: number): number {
  return Math.ceil(n / step) * step;
}

/** The longest canvas allowed: `maxCanvas` rounded down to whole blocks (or kept as is when
 *  it is shorter than one block). */
function canvasLimit(maxCanvas: number, blockLength: number): number {
  const block = Math.max(1, blockLength);
  const whole = Math.floor(maxCanvas / block) * block;
  return whole >= block ? whole : Math.max(1, Math.floor(maxCanvas));
}

function capLengths(lengths: number[], maxCanvas: number, blockLength: number): number[] {
  const limit = canvasLimit(maxCanvas, blockLength);
  return [...new Set(lengths.map((n) => Math.min(n, limit)))].sort((a, b) => a - b);
}

/** Evenly spaced canvas lengths up to `maxTokens`, each a whole number of blocks. */
export function canvasLadder(maxTokens: number, rungs: number, blockLength: number): number[] {
  const block = Math.max(1, blockLength);
  const out = new Set<number>();
  for (let i = 1; i <= rungs; i++) out.add(roundUpTo(Math.max(1, Math.ceil((maxTokens * i) / rungs)), block));
  return [...out].sort((a, b) => a - b);
}

/** `count` rungs spread over the ladder: the longest always, then the shortest, then between. */
export function pickRungs(ladder: number[], count: number): number[] {
  const n = Math.max(1, Math.floor(count));
  if (n >= ladder.length) return [...ladder];
  if (n === 1) return [ladder[ladder.length - 1]];
  const picked = new Set<number>();
  for (let i = 0; i < n; i++) picked.add(ladder[Math.round((i * (ladder.length - 1)) / (n - 1))]);
  return [...picked].sort((a, b) => a - b);
}

export function planCursorSpan(linePrefix: string, lineSuffix: string, settings: SpanSettings, maxCanvas = Infinity): SpanPlan {
  const mode = decideMode(linePrefix, lineSuffix);
  const maxTokens = mode === 'single-line' ? settings.maxTokensSingleLine : settings.maxTokensMultiLine;
  const rungs = mode === 'single-line' ? SINGLE_LINE_RUNGS : MULTI_LINE_RUNGS;
  const ladder = canvasLadder(maxTokens, rungs, settings.blockLength);
  return { mode, maxTokens, canvasLengths: capLengths(pickRungs(ladder, settings.candidates), maxCanvas, settings.blockLength) };
}

/**
 * A selection is replaced wholesale, so the canvas is sized from the selection itself:
 * ceil(tokens * 1.5) + 8, capped; a second candidate, when asked for, is a tighter canvas
 * (about 0.75x + 8) that pushes the model toward a shorter replacement. An empty selection
 * is treated like a cursor on a blank line.
 */
export function planSelectionSpan(selected: string, settings: SpanSettings, maxCanvas = Infinity): SpanPlan {
  if (selected.trim() === '') return planCursorSpan('', '', settings, maxCanvas);
  const block = Math.max(1, settings.blockLength);
  const tokens = Math.ceil(selected.length / SELECTION_CHARS_PER_TOKEN);
  const cap = roundUpTo(SELECTION_CANVAS_CAP, block);
  const main = Math.min(cap, roundUpTo(Math.ceil(tokens * 1.5) + 8, block));
  const lengths = new Set<number>([main]);
  if (settings.candidates > 1) lengths.add(Math.min(cap, roundUpTo(Math.ceil(tokens * 0.75) + 8, block)));
  const mode: SpanMode = selected.includes('\n') ? 'multi-line' : 'single-line';
  const canvasLengths = capLengths([...lengths], maxCanvas, block);
  return { mode, maxTokens: canvasLengths[canvasLengths.length - 1], canvasLengths };
}
