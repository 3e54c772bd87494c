// Positions from the client, made safe before anything is computed from them. LSP positions are
// non-negative integers, but a client may send 10^9, -1, 2.5 or "3": TextDocument.offsetAt does
// arithmetic on whatever it gets (a negative character reaches into the line before, a fraction
// gives NaN), and a range built from the raw value is echoed back. So numbers are floored and
// clamped to the document, anything else is refused, and a position never splits a surrogate
// pair or a \r\n.

import { ErrorCodes, ResponseError } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { snapOffset } from './context';

function coordinate(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ResponseError(ErrorCodes.InvalidParams, `${what} must be a number (got ${JSON.stringify(value) ?? String(value)})`);
  }
  return Math.max(0, Math.floor(value));
}

/** The document offset a client position stands for: clamped, and off any surrogate pair or \r\n. */
export function safeOffset(document: TextDocument, position: unknown, what = 'position'): number {
  if (typeof position !== 'object' || position === null) throw new ResponseError(ErrorCodes.InvalidParams, `${what} is missing`);
  const p = position as Record<string, unknown>;
  const line = Math.min(coordinate(p.line, `${what}.line`), document.lineCount - 1);
  const character = coordinate(p.character, `${what}.character`);
  // offsetAt clamps a character past the end of its line to the line's end.
  return snapOffset(document.getText(), document.offsetAt({ line, character }));
}
