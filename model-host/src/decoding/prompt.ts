// The context's token ids: <|suffix|> suffix <|prefix|> prefix (CONTRACT.md), cut to budgets so
// that it stays the same from one keystroke to the next wherever possible, because the context
// cache (context-cache.ts) reuses only the ids a request shares with the previous one from the
// start:
// - the suffix keeps its first maxSuffixTokens tokens: typing before it never moves that cut;
// - the prefix is cut at its start, but only at line boundaries that are multiples of
//   PREFIX_STEP_LINES lines of the text given (the language server starts that text at a stable
//   place, see language-server/src/context.ts). Typing makes the prefix grow until it exceeds
//   the budget; then the start jumps forward a whole step, and stays there for many keystrokes.
// Prefix, suffix and middle are tokenized separately, exactly as training did.
// Extra context (code from other files, language-server/src/context-sources/) comes before
// <|suffix|>, as plain text the base reads like any file: it changes rarely, so it stays a shared
// start of the context from one keystroke to the next. It keeps its end when cut (its best chunk
// is last, next to the code).

import type { SpecialTokens } from '../model/manifest';
import type { CodeTokenizer } from '../model/tokenizer';

/** The prefix's start moves in steps of this many lines (about 100-200 tokens of code). */
const PREFIX_STEP_LINES = 16;

export interface PromptIds {
  /** The context, sentinels included. */
  ids: number[];
  prefixTokens: number;
  suffixTokens: number;
  /** Tokens of extra context before <|suffix|>. */
  extraTokens: number;
}

export function buildContext(
  tokenizer: CodeTokenizer, special: SpecialTokens, prefix: string, suffix: string, maxPrefix: number, maxSuffix: number,
  extra = '', maxExtra = 0,
): PromptIds {
  const s = maxSuffix > 0 ? tokenizer.encodeHead(suffix, maxSuffix).ids : [];
  const p = maxPrefix > 0 ? cutPrefix(tokenizer, prefix, maxPrefix) : [];
  const e = extra && maxExtra > 0 ? tokenizer.encodeTail(extra, maxExtra).ids : [];
  return { ids: [...e, special.suffix, ...s, special.prefix, ...p], prefixTokens: p.length, suffixTokens: s.length, extraTokens: e.length };
}

/** Offsets of the lines of `text` that begin a step (line 0, PREFIX_STEP_LINES, ...), in order. */
function stepStarts(text: string): number[] {
  const starts = [0];
  let line = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i + 1 < text.length; i = text.indexOf('\n', i + 1)) {
    if (++line % PREFIX_STEP_LINES === 0) starts.push(i + 1);
  }
  return starts;
}

/**
 * The prefix's ids from the earliest step start whose tail fits `max` tokens. Steps are counted
 * separately and summed from the cursor back (a boundary may merge a token or two differently
 * from the whole text, so the chosen tail is encoded and checked). When even the cursor's own
 * step is over the budget (very long lines), the last `max` tokens are kept: exact, but the cut
 * then moves with each keystroke.
 */
function cutPrefix(tokenizer: CodeTokenizer, text: string, max: number): number[] {
  const starts = stepStarts(text);
  let from = starts.length - 1;
  let total = 0;
  for (let k = starts.length - 1; k >= 0; k--) {
    const end = k + 1 < starts.length ? starts[k + 1] : text.length;
    total += tokenizer.encode(text.slice(starts[k], end)).length;
    if (total > max) break;
    from = k;
  }
  for (let k = from; k < starts.length; k++) {
    const ids = tokenizer.encode(text.slice(starts[k]));
    if (ids.length <= max) return ids;
  }
  return tokenizer.encodeTail(text, max).ids;
}
