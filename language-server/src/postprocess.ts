// Turns the model's raw middle into the text the editor inserts. Pure functions: the same
// raw text and context always give the same result, which the golden tests pin down.
//
// Everything here is LF: the model's text comes in through toLf, and the handlers convert the
// result to the document's line ending where they build the reply (line-endings.ts).

import { toLf } from './line-endings';
import type { SpanMode } from './span-policy';

export interface PostprocessContext {
  mode: SpanMode;
  /** The cursor line up to the cursor. */
  linePrefix: string;
  /** The cursor line after the cursor, without its line ending. */
  lineSuffix: string;
  /** Everything after the cursor (LF), starting with lineSuffix. */
  suffix: string;
  /** The span replaces a selection: never add a line break the model did not write. */
  replacesSelection?: boolean;
}

function isBlank(s: string): boolean {
  return s.trim() === '';
}

function stopAtFirstNewline(s: string): string {
  const nl = s.indexOf('\n');
  return nl === -1 ? s : s.slice(0, nl);
}

function leadingWhitespace(s: string): string {
  return s.slice(0, s.length - s.trimStart().length);
}

/**
 * Removes the longest tail of `completion` that the text after the cursor already starts
 * with, e.g. `b)` before `)` becomes `b`: the model often writes the closer it can see, and
 * accepting it would double it. Trailing whitespace of the completion does not hide a match.
 */
function trimSuffixOverlap(completion: string, lineSuffix: string): string {
  const after = lineSuffix.trimEnd();
  if (after === '') return completion;
  for (const c of [completion, completion.trimEnd()]) {
    for (let k = Math.min(c.length, after.length); k > 0; k--) {
      if (c.endsWith(after.slice(0, k))) return c.slice(0, c.length - k);
    }
  }
  return completion;
}

/** Drops whitespace-only lines at the end of a multi-line text, and the final line's trailing blanks. */
function dropTrailingBlankLines(s: string): string {
  const lines = s.split('\n');
  while (lines.length > 1 && isBlank(lines[lines.length - 1])) lines.pop();
  lines[lines.length - 1] = lines[lines.length - 1].trimEnd();
  return lines.join('\n');
}

/**
 * The first line of the existing text after the cursor that matters: the rest of the cursor
 * line when it holds something (it will sit at the cursor line's indentation once the
 * completion pushes it down, or keep its own when the cursor is in front of it), else the
 * first non-blank line below.
 */
function firstSuffixLine(around: PostprocessContext): { line: string; onCursorLine: boolean } | null {
  if (!isBlank(around.lineSuffix)) {
    return { line: leadingWhitespace(around.linePrefix + around.lineSuffix) + around.lineSuffix.trim(), onCursorLine: true };
  }
  const lines = around.suffix.split('\n', 64);
  for (let i = 1; i < lines.length; i++) {
    if (!isBlank(lines[i])) return { line: lines[i].trimEnd(), onCursorLine: false };
  }
  return null;
}

/** How many of the lines after the first one below the cursor a completion may not rewrite. */
const LATER_SUFFIX_LINES = 2;

/** Lines shorter than this may repeat in real code (`break;`, `} else {`), so only longer ones count as a loop. */
const MIN_REPEATED_LINE = 8;

/** The next few non-blank lines below the one firstSuffixLine returns, for the looser repeat check. */
function laterSuffixLines(around: PostprocessContext, first: { onCursorLine: boolean }): Set<string> {
  const lines = around.suffix.split('\n', 64).slice(1).filter((l) => !isBlank(l)).map((l) => l.trimEnd());
  return new Set(lines.slice(first.onCursorLine ? 0 : 1, (first.onCursorLine ? 0 : 1) + LATER_SUFFIX_LINES)
    .filter((l) => l.trim().length >= MIN_REPEATED_LINE));
}

/**
 * Cuts a multi-line completion where one of its lines repeats the first line that already
 * follows the cursor: from there on the model is rewriting existing code. Lines compare
 * with their indentation, so a nested `}` does not match an outer one. A model that skipped
 * the rest of the hole writes the lines after that one instead, so a later line of the
 * completion repeating one of the next few (long enough not to recur by chance) also cuts.
 * Returns null when there is no repeat.
 */
function cutAtSuffixRepeat(completion: string, around: PostprocessContext): string | null {
  const target = firstSuffixLine(around);
  if (!target) return null;
  const later = laterSuffixLines(around, target);
  const lines = completion.split('\n');
  for (let i = 0; i < lines.length; i++) {
    // The first completion line continues the cursor line, so compare the whole line.
    const full = (i === 0 ? around.linePrefix + lines[0] : lines[i]).trimEnd();
    if (i > 0 && later.has(full)) return dropTrailingBlankLines(lines.slice(0, i).join('\n'));
    if (full !== target.line) continue;
    const kept = dropTrailingBlankLines(lines.slice(0, i).join('\n'));
    // When the repeated line is the cursor line's own closer (`{║}`), keep a line break and
    // the indentation in front of it so the closer lands on its own line.
    return target.onCursorLine && i > 0 && !around.replacesSelection ? kept + '\n' + leadingWhitespace(lines[i]) : kept;
  }
  return null;
}

/**
 * Cuts a multi-line completion before the first line that repeats one of its own earlier lines:
 * a small model that has lost its way writes the same line (or pair of lines) over and over, and
 * the first copy is the most that is worth offering.
 */
function cutAtSelfRepeat(completion: string): string {
  const lines = completion.split('\n');
  const seen = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line.length < MIN_REPEATED_LINE) continue;
    if (seen.has(line)) return dropTrailingBlankLines(lines.slice(0, i).join('\n'));
    seen.add(line);
  }
  return completion;
}

function postprocessSingleLine(raw: string, around: PostprocessContext): string {
  let text = stopAtFirstNewline(raw);
  if (isBlank(around.lineSuffix)) text = text.trimEnd();
  return trimSuffixOverlap(text, around.lineSuffix);
}

function postprocessMultiLine(raw: string, around: PostprocessContext): string {
  const text = cutAtSelfRepeat(dropTrailingBlankLines(raw));
  const cut = cutAtSuffixRepeat(text, around);
  if (cut !== null) return cut;
  // A closer after the cursor (`{║}`) and no repeat: end on a fresh line at the cursor
  // line's indentation, so the closer does not get glued to the last completed line.
  if (!around.replacesSelection && !isBlank(around.lineSuffix) && text.includes('\n')) return text + '\n' + leadingWhitespace(around.linePrefix);
  return text;
}

/**
 * The whole pipeline for one candidate, LF in and out. Returns null when nothing worth inserting is left
 * (empty, whitespace only, or only what already follows the cursor).
 */
export function postprocessCompletion(raw: string, around: PostprocessContext): string | null {
  const lf = toLf(raw);
  const text = around.mode === 'single-line' ? postprocessSingleLine(lf, around) : postprocessMultiLine(lf, around);
  return isBlank(text) ? null : text;
}
