// The one line-ending rule. The model sees LF only (its training text was LF), so text goes in
// through toLf (the context windows, the selection, the model's own output) and a completion
// goes out through toEol, once, where the reply to the editor is built.

export type Eol = '\n' | '\r\n';

/** Every line break LSP knows (\r\n, \r, \n) becomes \n. */
export function toLf(s: string): string {
  return s.includes('\r') ? s.replace(/\r\n?/g, '\n') : s;
}

/** LF text in the document's line ending. */
export function toEol(s: string, eol: Eol): string {
  return eol === '\n' ? s : s.replace(/\n/g, '\r\n');
}

/** Which line ending the document uses, judged by the first line break near `near` (cheap on
 *  huge files), else by its first line break. */
export function detectEol(text: string, near = 0): Eol {
  let i = text.indexOf('\n', Math.max(0, near - 4096));
  if (i === -1) i = text.indexOf('\n');
  return i > 0 && text.charCodeAt(i - 1) === 13 ? '\r\n' : '\n';
}
