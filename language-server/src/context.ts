// Turns a document and a cursor (or a selection) into the prefix and suffix the model sees.
//
// Everything here works on string offsets (UTF-16 code units, the same unit LSP positions
// use) and slices around them: the document is never split into lines, so a 5 MB file
// with a single line costs a couple of slices, not a copy per line.
//
// The windows are sized in characters from a token budget with a generous chars-per-token
// ratio; the engine then truncates exactly by tokens (keeping the end of the prefix and the
// start of the suffix), so erring on the long side only costs a little tokenizing.
//
// The model sees LF line endings only: the windows go through line-endings.ts's toLf here, and
// the handlers convert the finished completion back to the document's EOL (`eol`).

import { detectEol, toLf, type Eol } from './line-endings';

/** Characters per token used to turn token budgets into character windows; code BPE
 *  averages roughly 3-4, and a window a bit too long is harmless (the engine trims it). */
export const CHARS_PER_TOKEN = 4;

/** How far a window may shrink to start (or end) on a line boundary. Whole lines read
 *  better to the model, but on very long lines cutting mid-line beats dropping context. */
const LINE_SNAP_FRACTION = 0.5;

/** Git's heuristic: a NUL in the first 8000 bytes means binary. */
const BINARY_SNIFF_CHARS = 8000;

/** Token budgets of the two windows (the settings' maxPrefixTokens/maxSuffixTokens). */
export interface WindowTokens {
  maxPrefixTokens: number;
  maxSuffixTokens: number;
}

export interface CursorContext {
  kind: 'ok';
  /** Text before the cursor, LF line endings, fitted to the budget. */
  prefix: string;
  /** Text after the cursor, LF line endings, fitted to the budget. */
  suffix: string;
  /** The cursor as a UTF-16 offset in the document, moved off any \r\n or surrogate pair. */
  offset: number;
  /** The cursor line up to the cursor (within the window). */
  linePrefix: string;
  /** The cursor line after the cursor, without its line ending (within the window). */
  lineSuffix: string;
  /** The document's line ending, used to write multi-line completions back. */
  eol: Eol;
  /** The suffix window runs to the document's end (it was not cut to the budget). */
  suffixToEnd: boolean;
}

export interface SelectionContext {
  kind: 'ok';
  prefix: string;
  suffix: string;
  /** Start and end of the selection as UTF-16 offsets, adjusted like CursorContext.offset. */
  start: number;
  end: number;
  /** The selected text (LF line endings). */
  selected: string;
  eol: Eol;
}

export interface NoContext {
  kind: 'skip';
  reason: 'binary';
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/**
 * Moves an offset so it never falls between the halves of a surrogate pair or between
 * \r and \n; in both cases the offset goes back to the start of the unit.
 */
export function snapOffset(text: string, offset: number): number {
  let o = Math.max(0, Math.min(text.length, Math.floor(offset)));
  if (o > 0 && o < text.length) {
    const before = text.charCodeAt(o - 1);
    const after = text.charCodeAt(o);
    if (isHighSurrogate(before) && isLowSurrogate(after)) o -= 1;
    else if (before === 13 && after === 10) o -= 1;
  }
  return o;
}

/** True when the text looks binary: a NUL near the start of the document or in the windows. */
function looksBinary(text: string, ...windows: string[]): boolean {
  if (text.lastIndexOf('\0', BINARY_SNIFF_CHARS) !== -1) return true;
  return windows.some((w) => w.includes('\0'));
}

/** The prefix window's start moves in steps of this many characters (see prefixWindow). */
export const PREFIX_START_STEP_CHARS = 2048;

/** The text before `end`, at least `maxChars` long (when there is that much) and at most
 *  PREFIX_START_STEP_CHARS more, starting on a whole code point and, when that does not lose too
 *  much, at the start of a line. The start is rounded down to a multiple of the step so that it
 *  stays put while the user types: the engine reuses the context's keys and values only up to
 *  the first token that changed, and then cuts the prefix by tokens in whole steps of lines
 *  counted from this start (model-host/src/decoding/prompt.ts). */
function prefixWindow(text: string, end: number, maxChars: number): string {
  if (maxChars <= 0) return '';
  let start = Math.max(0, end - maxChars);
  start -= start % PREFIX_START_STEP_CHARS;
  if (start > 0) {
    const nl = text.indexOf('\n', start);
    if (nl !== -1 && nl < end && nl + 1 - start <= maxChars * LINE_SNAP_FRACTION) start = nl + 1;
    else start = snapForward(text, start);
  }
  return text.slice(start, end);
}

/** The text from `start`, at most `maxChars` long, ending on a whole code point and,
 *  when that does not lose too much, at the end of a line (the line break included). */
function suffixWindow(text: string, start: number, maxChars: number): string {
  let end = Math.min(text.length, start + maxChars);
  if (end < text.length) {
    const nl = text.lastIndexOf('\n', end - 1);
    if (nl >= start && end - (nl + 1) <= maxChars * LINE_SNAP_FRACTION) end = nl + 1;
    else end = snapOffset(text, end);
  }
  return text.slice(start, end);
}

/** Moves a window start forward past the low half of a split surrogate pair or the \n of a
 *  split \r\n (both units are two code units long, starting at the snapped offset). */
function snapForward(text: string, start: number): number {
  const snapped = snapOffset(text, start);
  return snapped === start ? start : snapped + 2;
}

/** The part of the prefix window on the cursor line. */
function lastLine(window: string): string {
  const nl = window.lastIndexOf('\n');
  return nl === -1 ? window : window.slice(nl + 1);
}

/** The part of the suffix window on the cursor line, without the line ending. */
function firstLine(window: string): string {
  const nl = window.indexOf('\n');
  const line = nl === -1 ? window : window.slice(0, nl);
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/** Prefix and suffix windows around a cursor. */
export function buildCursorContext(text: string, cursorOffset: number, windows: WindowTokens): CursorContext | NoContext {
  const offset = snapOffset(text, cursorOffset);
  const rawPrefix = prefixWindow(text, offset, windows.maxPrefixTokens * CHARS_PER_TOKEN);
  const rawSuffix = suffixWindow(text, offset, windows.maxSuffixTokens * CHARS_PER_TOKEN);
  if (looksBinary(text, rawPrefix, rawSuffix)) return { kind: 'skip', reason: 'binary' };
  const prefix = toLf(rawPrefix);
  const suffix = toLf(rawSuffix);
  return {
    kind: 'ok',
    prefix,
    suffix,
    offset,
    linePrefix: lastLine(prefix),
    lineSuffix: firstLine(suffix),
    eol: detectEol(text, offset),
    suffixToEnd: offset + rawSuffix.length === text.length,
  };
}

/** Prefix and suffix windows around a selection, which becomes the span the model fills. */
export function buildSelectionContext(
  text: string,
  startOffset: number,
  endOffset: number,
  windows: WindowTokens,
): SelectionContext | NoContext {
  const start = snapOffset(text, Math.min(startOffset, endOffset));
  const end = snapOffset(text, Math.max(startOffset, endOffset));
  const rawPrefix = prefixWindow(text, start, windows.maxPrefixTokens * CHARS_PER_TOKEN);
  const rawSuffix = suffixWindow(text, end, windows.maxSuffixTokens * CHARS_PER_TOKEN);
  const selected = text.slice(start, end);
  if (looksBinary(text, rawPrefix, rawSuffix, selected)) return { kind: 'skip', reason: 'binary' };
  return {
    kind: 'ok',
    prefix: toLf(rawPrefix),
    suffix: toLf(rawSuffix),
    start,
    end,
    selected: toLf(selected),
    eol: detectEol(text, start),
  };
}
