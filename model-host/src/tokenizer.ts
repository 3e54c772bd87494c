// The model's tokenizer in JS: byte-level BPE from tokenizer.json, with exact round trips of code.
import type { SpecialTokens } from './manifest';

// The package's types are ESM-only; node loads its CommonJS build here.
const { Tokenizer } = require('@huggingface/tokenizers') as typeof import('@huggingface/tokenizers', { with: { 'resolution-mode': 'import' } });

// The JS tokenizer turns the literal text "<|mask|>" into the special token. User code may contain
// such strings; they must stay plain text, so they are encoded in two pieces that never match.
const SPECIAL_TEXT = /<\|(?:mask|pad|bos|eos)\|>/g;

export class CodeTokenizer {
  private readonly tok: InstanceType<typeof Tokenizer>;
  private readonly specialIds: Set<number>;

  constructor(tokenizerJson: object, readonly specials: SpecialTokens) {
    this.tok = new Tokenizer(tokenizerJson, {});
    this.specialIds = new Set(Object.values(specials));
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    let last = 0;
    for (const m of text.matchAll(SPECIAL_TEXT)) {
      this.encodePlain(text.slice(last, m.index), ids);
      this.encodePlain('<|', ids);
      this.encodePlain(m[0].slice(2), ids);
      last = m.index! + m[0].length;
    }
    this.encodePlain(text.slice(last), ids);
    return ids;
  }

  /** Text of the ids with special tokens left out; no clean-up, so whitespace is exact. */
  decode(ids: number[]): string {
    const plain = ids.filter((id) => !this.specialIds.has(id));
    if (plain.length === 0) return ''; // the library throws on an empty list
    return this.tok.decode(plain, { skip_special_tokens: true, clean_up_tokenization_spaces: false });
  }

  /** Tokens whose text begins a new line (optionally after blanks). */
  lineBreakTokens(vocabSize: number): number[] {
    const out: number[] = [];
    for (let id = 0; id < vocabSize; id++) {
      if (!this.specialIds.has(id) && /^[ \t]*[\r\n]/.test(this.decode([id]))) out.push(id);
    }
    return out;
  }

  private encodePlain(text: string, out: number[]): void {
    if (text.length === 0) return;
    for (const id of this.tok.encode(text, { add_special_tokens: false }).ids) out.push(id);
  }
}
