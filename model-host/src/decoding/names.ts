// Names from other files of the workspace (InfillRequest.names and .members), favoured while the
// completion spells an identifier: a copy bias decided at decode time, separable from the sampler.
//
// The model reads a sibling's outline in the extra context, yet on the repository-level holes it
// wrote the name it needed there only a few points more often than without it (docs/quality.md):
// a 135M model mostly guesses a plausible local word instead. So at the pick of a position whose
// text before is decided, the tokens that spell more of a name get `bonus` added to their logits:
// - after `module.`, where the file binds `module` to a workspace file, that file's names
//   (members), at any word of the completion: the monitor an editor's member completion is;
// - otherwise the names, at the completion's first word only (favoured at every word start, a
//   name's common first piece comes back after each bracket and loops);
// - inside a word that already is a name's start, twice the bonus (a half-written name names
//   nothing), and nothing once the word is no name's start.
// A name is spelled in the tokenizer's own pieces where the word so far ends on one of its token
// boundaries (the model continues its usual pieces well), else in any piece that goes on with it.
// The model still decides: a few nats change a pick only among tokens it already found plausible.

/** Names shorter than this are left alone: they are prefixes of too many ordinary words. */
export const MIN_NAME_LENGTH = 3;
/** The bonus's factor once a word has started as a name. */
export const INSIDE_A_NAME = 2;
/** At most this many names count (the server sends far fewer). */
export const MAX_NAMES = 512;

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const WORD_END = /[\w$]*$/;
/** `module.` and the start of its member's name at the end of the text. */
const MEMBER_END = /([A-Za-z_$][\w$]*)\s*\.\s*[\w$]*$/;

/** Words that are never a name in the languages served (JS/TS, Python, Go, Rust, Java, C-likes). */
const KEYWORDS = new Set([
  'return', 'if', 'else', 'elif', 'for', 'while', 'do', 'switch', 'case', 'default', 'break', 'continue', 'const', 'let',
  'var', 'function', 'class', 'def', 'lambda', 'import', 'from', 'export', 'new', 'delete', 'this', 'self', 'super', 'await',
  'async', 'yield', 'try', 'catch', 'finally', 'throw', 'raise', 'except', 'with', 'as', 'in', 'is', 'not', 'and', 'or',
  'of', 'typeof', 'instanceof', 'void', 'true', 'false', 'null', 'undefined', 'None', 'True', 'False', 'pass', 'del',
  'global', 'nonlocal', 'assert', 'static', 'public', 'private', 'protected', 'readonly', 'abstract', 'interface', 'type',
  'enum', 'extends', 'implements', 'package', 'func', 'go', 'defer', 'fn', 'pub', 'mut', 'impl', 'struct', 'use', 'mod',
  'match', 'loop', 'where', 'int', 'float', 'double', 'char', 'bool', 'boolean', 'string', 'number', 'any', 'unknown',
  'goto', 'sizeof', 'template', 'typename', 'namespace', 'using', 'auto', 'extern', 'volatile', 'register', 'unsigned',
]);

/** Identifiers long enough to count, each once, at most MAX_NAMES. */
function usable(names: readonly string[]): string[] {
  const kept = new Set<string>();
  for (const n of names) {
    if (kept.size >= MAX_NAMES) break;
    if (n.length >= MIN_NAME_LENGTH && IDENTIFIER.test(n)) kept.add(n);
  }
  return [...kept];
}

/** Spellings kept per vocabulary, across requests: a name costs two tokenizer calls (~0.1 ms) once,
 *  not at every keystroke (350 names: 20-60 ms). */
const spellingCaches = new WeakMap<Vocabulary, Map<string, number[][]>>();
const MAX_SPELLINGS = 20_000;

function spellingsOf(vocabulary: Vocabulary): Map<string, number[][]> {
  let cache = spellingCaches.get(vocabulary);
  if (!cache) {
    cache = new Map();
    spellingCaches.set(vocabulary, cache);
  }
  return cache;
}

export interface Vocabulary {
  /** The id of the token that is exactly this word (letters, digits, _ and $, after at most one space). */
  wordPieceId(word: string): number | undefined;
  /** A token's text (what the sampler has written so far is spelled from these). */
  tokenText(id: number): string;
  encode(text: string): number[];
}

export class NameBias {
  private readonly names: string[];
  private readonly members = new Map<string, string[]>();
  /** Token ids that spell more of a name, per scope and word start already written. */
  private readonly pieces = new Map<string, Int32Array>();
  private readonly spelled: Map<string, number[][]>;

  /** `members`: per module name the file binds, the names that module defines (after `module.`
   *  only those count, at any word of the completion). */
  constructor(names: readonly string[], readonly bonus: number, private readonly vocabulary: Vocabulary, members: Readonly<Record<string, readonly string[]>> = {}) {
    this.names = usable(names);
    this.spelled = spellingsOf(vocabulary);
    for (const [module, list] of Object.entries(members)) if (IDENTIFIER.test(module)) this.members.set(module, usable(list));
  }

  get size(): number {
    return this.names.length;
  }

  /** The text of the tokens a completion has written. */
  textOf(ids: readonly number[]): string {
    let text = '';
    for (const id of ids) text += this.vocabulary.tokenText(id);
    return text;
  }

  /** The module whose member `before` is writing (`reply.` or `reply.se`), when its names are known. */
  private memberOf(before: string): string | undefined {
    const m = MEMBER_END.exec(before);
    return m && this.members.has(m[1]) ? m[1] : undefined;
  }

  /** The ids that write more of some name after `before` (the text the position follows);
   *  `module`: the one whose member `before` is writing (memberOf). */
  tokensAfter(before: string, module = this.memberOf(before)): Int32Array {
    const partial = WORD_END.exec(before)![0];
    const key = `${module ?? ''}.${partial}`;
    let ids = this.pieces.get(key);
    if (!ids) {
      const found = new Set<number>();
      for (const name of module ? this.members.get(module)! : this.names) {
        if (name.length <= partial.length || !name.startsWith(partial)) continue;
        // The tokenizer's own spelling when the word so far ends on one of its token boundaries:
        // the model continues its usual pieces well, and loses the name after an odd piece
        // ("createWid" then " registry").
        if (this.canonicalNext(name, partial, partial === '' && !module, found)) continue;
        const rest = name.slice(partial.length);
        for (let k = 1; k <= rest.length; k++) {
          const piece = rest.slice(0, k);
          const id = this.vocabulary.wordPieceId(piece);
          if (id !== undefined) found.add(id);
          // A new word may bring the space before it in the same token.
          if (partial === '' && !module) {
            const spaced = this.vocabulary.wordPieceId(` ${piece}`);
            if (spaced !== undefined) found.add(spaced);
          }
        }
      }
      ids = Int32Array.from(found);
      this.pieces.set(key, ids);
    }
    return ids;
  }

  /** Whether the row's most likely token (among `allowed`, when given) starts or goes on with a
   *  word that is no keyword. */
  private wantsAName(logits: Float32Array, offset: number, vocab: number, allowed?: readonly number[]): boolean {
    let best = -1;
    if (allowed) {
      for (const id of allowed) if (best < 0 || logits[offset + id] > logits[offset + best]) best = id;
    } else {
      for (let t = 0; t < vocab; t++) if (best < 0 || logits[offset + t] > logits[offset + best]) best = t;
    }
    if (best < 0) return false;
    const word = /^ ?([A-Za-z_$][\w$]*)/.exec(this.vocabulary.tokenText(best))?.[1];
    return word !== undefined && !KEYWORDS.has(word);
  }

  /** Adds to `found` the token of `name`'s spelling (alone, or after a space when `spaced`) that
   *  follows `partial`, when `partial` ends on a token boundary of it; says whether one did. */
  private canonicalNext(name: string, partial: string, spaced: boolean, found: Set<number>): boolean {
    let aligned = false;
    for (const ids of this.spellings(name, spaced)) {
      let text = '';
      for (const id of ids) {
        if (text === partial) {
          found.add(id);
          aligned = true;
          break;
        }
        text += this.vocabulary.tokenText(id).trimStart();
        if (text.length > partial.length) break;
      }
    }
    return aligned;
  }

  /** How the tokenizer writes `name` alone and, when `spaced`, after a space. */
  private spellings(name: string, spaced: boolean): number[][] {
    let both = this.spelled.get(name);
    if (!both) {
      both = [this.vocabulary.encode(name), this.vocabulary.encode(` ${name}`)];
      if (this.spelled.size >= MAX_SPELLINGS) this.spelled.clear();
      this.spelled.set(name, both);
    }
    return spaced ? both : both.slice(0, 1);
  }

  /**
   * The row `logits[offset .. offset + vocab)` with the bonus added to the tokens that write more
   * of a name after `before`: a copy, or undefined when no token qualifies (the caller then keeps
   * the row, and its log-normalizer, as they are).
   */
  apply(logits: Float32Array, offset: number, vocab: number, before: string, written = '', allowed?: readonly number[]): Float32Array | undefined {
    // A new word only as the completion's first or a module's member (on the development holes at
    // +8, favouring every word start lost edit similarity: 28.9% against 34.7%).
    const text = before + written;
    const module = this.memberOf(text);
    if (this.bonus === 0 || (!module && /[\w$]/.test(written) && !/[\w$]$/.test(written))) return undefined;
    const ids = this.tokensAfter(text, module);
    if (ids.length === 0) return undefined;
    // At a new word outside a module's members, the model decides that a name comes, the names
    // only which one: where its own best token is punctuation or a keyword (a statement's
    // `return`, `if`, `const`), nothing is added. A word already started as a name goes on.
    const partial = WORD_END.exec(text)![0];
    if (partial === '' && !module && !this.wantsAName(logits, offset, vocab, allowed)) return undefined;
    // A name left half-written ("makeFrobnam") names nothing; one not started may still be right.
    const bonus = partial === '' ? this.bonus : INSIDE_A_NAME * this.bonus;
    const row = logits.slice(offset, offset + vocab);
    for (const id of ids) if (id < vocab) row[id] += bonus;
    return row;
  }
}
