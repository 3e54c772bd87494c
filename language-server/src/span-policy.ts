// Decides what kind of completion to ask for at a cursor (one line or several) and how long
// the model's canvas may grow.
//
// The canvas is a ceiling, not a length: the model writes it block by block and ends the
// completion by predicting <|pad|>, and a pass costs one block whatever the ceiling. So the
// ceiling is the setting's max tokens (longer completions are not wanted), never more than the
// loaded model's window can hold next to some context (`maxCanvas`, from the model service).
// Candidates differ in their first token (the sampler's batch), so they are just a count.

import type { ServerSettings } from './protocol';

export type SpanMode = 'single-line' | 'multi-line';

export interface SpanPlan {
  mode: SpanMode;
  maxTokens: number;
  /** The longest completion, in tokens. */
  canvasLength: number;
  candidates: number;
}

type SpanSettings = Pick<ServerSettings, 'maxTokensSingleLine' | 'maxTokensMultiLine' | 'candidates'>;

/** Selections: tokens are estimated from characters (code BPE averages 3-4 chars a token;
 *  3 over-estimates, which only adds slack). */
const SELECTION_CHARS_PER_TOKEN = 3;
const SELECTION_CANVAS_CAP = 256;

/** A line ending in one of these opens a block, so the next thing to write is a body. */
const BLOCK_OPENERS = [':', '{', '(', '[', '=>', '->'];
const BLOCK_OPENER_WORDS = /(?:^|\W)(?:do|then|else|begin)$/;

/** Text editors auto-close these; after the cursor they do not mean "mid-line text". */
const AUTO_CLOSED = /^[)\]}>"'`;,]*$/;

function opensBlock(linePrefix: string): boolean {
  const t = linePrefix.trimEnd();
  return BLOCK_OPENERS.some((o) => t.endsWith(o)) || BLOCK_OPENER_WORDS.test(t);
}

/**
 * Single-line when there is text after the cursor on its line, or at the end of an ordinary
 * line; multi-line at the end of a line that opens a block, between an opening brace and its
 * auto-inserted closer (`{║}`), and on a blank line whose nearest non-blank line above opens a
 * block (or that has none above: an empty file). Any other blank line gets one line: the next
 * statement is a line more often than a block, and a wrong block costs the user more to read
 * and reject than one line costs them to accept and ask again (docs/quality.md has the
 * two policies side by side on held-out holes).
 * `lineAbove`: the nearest non-blank line before the cursor's, '' when there is none.
 */
export function decideMode(linePrefix: string, lineSuffix: string, lineAbove = ''): SpanMode {
  const after = lineSuffix.trim();
  if (after === '') {
    if (opensBlock(linePrefix)) return 'multi-line';
    if (linePrefix.trim() === '') return lineAbove.trim() === '' || opensBlock(lineAbove) ? 'multi-line' : 'single-line';
    return 'single-line';
  }
  if (AUTO_CLOSED.test(after) && linePrefix.trimEnd().endsWith('{') && after.startsWith('}')) return 'multi-line';
  return 'single-line';
}

/** The nearest non-blank line of `prefix` before its last line (the cursor's), '' when none. */
export function lineAboveCursor(prefix: string): string {
  const before = prefix.slice(0, prefix.lastIndexOf('\n') + 1).trimEnd();
  return before.slice(before.lastIndexOf('\n') + 1);
}

/** Candidates as the settings ask (at least one, whole). */
function candidateCount(settings: SpanSettings): number {
  return Math.max(1, Math.floor(settings.candidates));
}

export function planCursorSpan(linePrefix: string, lineSuffix: string, settings: SpanSettings, maxCanvas = Infinity, lineAbove = ''): SpanPlan {
  const mode = decideMode(linePrefix, lineSuffix, lineAbove);
  const maxTokens = mode === 'single-line' ? settings.maxTokensSingleLine : settings.maxTokensMultiLine;
  const canvasLength = Math.max(1, Math.min(maxTokens, Math.floor(maxCanvas)));
  return { mode, maxTokens, canvasLength, candidates: candidateCount(settings) };
}

/**
 * A selection is replaced wholesale, so the canvas is sized from the selection itself:
 * ceil(tokens * 1.5) + 8, capped, leaving room for a longer fill. An empty selection is treated
 * like a cursor on a blank line.
 */
export function planSelectionSpan(selected: string, settings: SpanSettings, maxCanvas = Infinity): SpanPlan {
  if (selected.trim() === '') return planCursorSpan('', '', settings, maxCanvas);
  const tokens = Math.ceil(selected.length / SELECTION_CHARS_PER_TOKEN);
  const canvasLength = Math.max(1, Math.min(SELECTION_CANVAS_CAP, Math.ceil(tokens * 1.5) + 8, Math.floor(maxCanvas)));
  const mode: SpanMode = selected.includes('\n') ? 'multi-line' : 'single-line';
  return { mode, maxTokens: canvasLength, canvasLength, candidates: candidateCount(settings) };
}
