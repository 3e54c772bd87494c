// The model's byte-level BPE tokenizer (@huggingface/tokenizers) behind a small interface.
//
// User text never produces special ids: the library would turn a literal "<|mask|>" typed in a
// document into the mask id (0), so the model would be asked to fill the user's text. encode()
// therefore cuts the text around every special-token string and encodes each such string in two
// ordinary pieces ("<|" and "mask|>"), which are plain byte-level tokens that decode back to the
// same characters. Everything between those strings is encoded exactly as the training side did.

import type { SpecialTokens } from './manifest';

// The package's type declarations are ESM-only; in this CommonJS build the runtime require works
// and the import type with resolution-mode gives it its real types.
const { Tokenizer } = require('@huggingface/tokenizers') as typeof import('@huggingface/tokenizers', { with: { 'resolution-mode': 'import' } });

type HfTokenizer = InstanceType<typeof Tokenizer>;

interface AddedToken {
  id: number;
  content: string;
  special?: boolean;
}

export class CodeTokenizer {
  private readonly hf: HfTokenizer;
  /** Strings the library would map to special ids, longest first so overlapping ones split correctly. */
  private readonly specialStrings: string[];
  private readonly specialIds: Set<number>;
  private lineBreaks: Set<number> | undefined;
  private newlines: Set<number> | undefined;
  /** Ids whose vocabulary string may decode to a line break: byte-level (Ċ, č), byte fallback
   *  (<0x0A>, <0x0D>) or literal; only these are decoded when the line-break sets are built. */
  private readonly newlineCandidates: number[];
  /** The vocabulary's strings, sorted, and their ids (for tokensStartingWith). */
  private readonly sortedStrings: string[];
  private readonly sortedIds: number[];
  /** Single tokens' texts, decoded once each (tokenText). */
  private readonly texts = new Map<number, string>();

  /** `tokenizerJson` is the parsed tokenizer.json; `special` the ids from model.json. */
  constructor(tokenizerJson: object, readonly special: SpecialTokens) {
    this.hf = new Tokenizer(tokenizerJson as never, {});
    const added = ((tokenizerJson as { added_tokens?: AddedToken[] }).added_tokens ?? []);
    this.specialStrings = added.map((t) => t.content).filter((s) => s.length > 1).sort((a, b) => b.length - a.length);
    this.specialIds = new Set([...Object.values(special), ...added.map((t) => t.id)]);
    const vocab = (tokenizerJson as { model?: { vocab?: Record<string, number> } }).model?.vocab;
    const table = vocab && typeof vocab === 'object' && !Array.isArray(vocab) ? vocab : {};
    this.newlineCandidates = Object.entries(table).filter(([s]) => /[\n\rĊč]|<0x0[AD]>/.test(s)).map(([, id]) => id);
    // The default sort (UTF-16 code units, as `<` compares) is about twice as fast as a comparator here.
    this.sortedStrings = Object.keys(table).filter((s) => !this.specialIds.has(table[s])).sort();
    this.sortedIds = this.sortedStrings.map((s) => table[s]);
  }

  /** Token ids of user text; never contains a special id (see the file comment). */
  encode(text: string): number[] {
    if (text === '') return [];
    const ids: number[] = [];
    let plainStart = 0;
    let i = 0;
    while (i < text.length) {
      const hit = this.specialStrings.find((s) => text.startsWith(s, i));
      if (!hit) {
        i++;
        continue;
      }
      this.encodePlain(text.slice(plainStart, i), ids);
      // "<|mask|>" → "<|" + "mask|>": neither piece is an added token.
      this.encodePlain(hit.slice(0, 2), ids);
      this.encodePlain(hit.slice(2), ids);
      i += hit.length;
      plainStart = i;
    }
    this.encodePlain(text.slice(plainStart), ids);
    return ids;
  }

  /** Text of ids, special tokens dropped. */
  decode(ids: readonly number[]): string {
    const kept = ids.filter((id) => !this.specialIds.has(id));
    // The library throws on an empty list.
    if (kept.length === 0) return '';
    return this.hf.decode(kept, { skip_special_tokens: true, clean_up_tokenization_spaces: false });
  }

  /**
   * The last `max` tokens of `text`, as encode(text).slice(-max) gives them, without encoding all
   * of a long text: the tokenizer's pre-tokenizer always starts a new piece after a run of line
   * breaks, so text cut right after such a run tokenizes exactly as the same text uncut.
   */
  encodeTail(text: string, max: number): { ids: number[]; total: number | undefined } {
    for (let chars = max * 8 + 256; chars < text.length; chars *= 2) {
      const cut = lineStartAfter(text, text.length - chars);
      if (cut < 0) break;
      const ids = this.encode(text.slice(cut));
      if (ids.length >= max) return { ids: ids.slice(ids.length - max), total: undefined };
    }
    const ids = this.encode(text);
    return { ids: max < ids.length ? ids.slice(ids.length - max) : ids, total: ids.length };
  }

  /** The first `max` tokens of `text` (encode(text).slice(0, max)), the same way. */
  encodeHead(text: string, max: number): { ids: number[]; total: number | undefined } {
    for (let chars = max * 8 + 256; chars < text.length; chars *= 2) {
      const cut = lineStartAfter(text, chars);
      if (cut < 0) break;
      const ids = this.encode(text.slice(0, cut));
      if (ids.length >= max) return { ids: ids.slice(0, max), total: undefined };
    }
    const ids = this.encode(text);
    return { ids: ids.slice(0, max), total: ids.length };
  }

  /** Ids whose text starts a new line (optionally after spaces or tabs); computed once. */
  lineBreakTokens(vocabSize: number): ReadonlySet<number> {
    if (!this.lineBreaks) this.lineBreaks = this.tokensMatching(vocabSize, /^[ \t]*[\r\n]/);
    return this.lineBreaks;
  }

  /** Ids whose text holds a line break anywhere; computed once. */
  newlineTokens(vocabSize: number): ReadonlySet<number> {
    if (!this.newlines) this.newlines = this.tokensMatching(vocabSize, /[\r\n]/);
    return this.newlines;
  }

  private tokensMatching(vocabSize: number, pattern: RegExp): Set<number> {
    // Decoding all 49k ids one by one takes about a second; the vocabulary narrows it to a few hundred.
    const ids = this.newlineCandidates.length ? this.newlineCandidates : Array.from({ length: vocabSize }, (_, i) => i);
    return new Set(ids.filter((id) => id < vocabSize && !this.specialIds.has(id) && pattern.test(this.decode([id]))));
  }

  /**
   * Ids whose text starts with `word` (letters, digits and _, after at most one space), for token
   * healing. Byte-level BPE writes those characters as themselves and the space as "Ġ", so the
   * vocabulary strings that start with the word's spelling are exactly those tokens.
   */
  tokensStartingWith(word: string): number[] {
    if (!/^ ?\w+$/.test(word)) throw new Error(`not a word: ${JSON.stringify(word)}`);
    const key = word.replace(/^ /, 'Ġ');
    const ids: number[] = [];
    for (let i = this.firstAtOrAfter(key); i < this.sortedStrings.length && this.sortedStrings[i].startsWith(key); i++) ids.push(this.sortedIds[i]);
    return ids;
  }

  /** One token's text (special tokens: ''), decoded once and kept. */
  tokenText(id: number): string {
    let text = this.texts.get(id);
    if (text === undefined) {
      text = this.decode([id]);
      this.texts.set(id, text);
    }
    return text;
  }

  /**
   * The id of the one token whose text is exactly `word` (letters, digits, _ and $, after at most
   * one space), or undefined: the pieces names.ts looks up to spell a name token by token.
   */
  wordPieceId(word: string): number | undefined {
    if (!/^ ?[\w$]+$/.test(word)) return undefined;
    const key = word.replace(/^ /, 'Ġ');
    const i = this.firstAtOrAfter(key);
    return this.sortedStrings[i] === key ? this.sortedIds[i] : undefined;
  }

  /** The index of the first vocabulary string not below `key` (binary search). */
  private firstAtOrAfter(key: string): number {
    const strings = this.sortedStrings;
    let lo = 0;
    let hi = strings.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (strings[mid] < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  private encodePlain(text: string, out: number[]): void {
    if (text === '') return;
    for (const id of this.hf.encode(text, { add_special_tokens: false }).ids) out.push(id);
  }
}

/** The first index at or after `from` that begins a line and is not itself a line break, or -1. */
function lineStartAfter(text: string, from: number): number {
  for (let i = Math.max(1, from); i < text.length; i++) {
    const prev = text.charCodeAt(i - 1);
    const here = text.charCodeAt(i);
    if ((prev === 10 || prev === 13) && here !== 10 && here !== 13) return i;
  }
  return -1;
}
