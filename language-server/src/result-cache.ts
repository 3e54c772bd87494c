// Remembers recent completions so that typing what the ghost text shows does not rerun the
// model: if the user types characters that start a cached completion, the rest of that
// completion is still the answer, so it is returned at once.
//
// An entry is keyed by the document, the whole prefix and suffix windows the model was given
// (it reads a part of them, cut by tokens in the engine: any edit inside what it reads changes a
// window), and a hash of the generation settings. A lookup after typing `t` characters at the
// cached cursor accepts an entry when the new prefix window is the old one followed by those `t`
// characters, the text after the cursor is the same as far as both suffix windows reach (the
// suffix window's end moves with the cursor), and a completion starts with them.
//
// The prefix window (up to a few thousand characters) is kept as a hash: the strings are slices
// of the document, and V8 keeps a sliced string's whole parent alive. The suffix window (about
// 256 characters) is kept as a copy for the same reason.

import { createHash } from 'node:crypto';

export interface CachedCompletion {
  /** Post-processed text, LF line endings (converted to the document's EOL on the way out). */
  text: string;
  confidence: number;
}

interface Entry {
  uri: string;
  /** Cursor offset in the document when the entry was made; typing moves it forward. */
  offset: number;
  prefixHash: string;
  suffix: string;
  suffixToEnd: boolean;
  settingsHash: string;
  completions: CachedCompletion[];
}

export interface CacheQuery {
  uri: string;
  offset: number;
  prefix: string;
  suffix: string;
  /** The suffix window runs to the document's end: then nothing may follow it. */
  suffixToEnd?: boolean;
  settingsHash: string;
}

function hash(text: string): string {
  return createHash('sha1').update(text).digest('base64');
}

/** A copy that shares no memory with the document (see the top of the file). */
function detached(text: string): string {
  return Buffer.from(text, 'utf16le').toString('utf16le');
}

/** The same text after the cursor as far as both windows reach, and no text added after a window
 *  that ran to the document's end. */
function sameSuffix(e: Entry, query: CacheQuery): boolean {
  const a = e.suffix;
  const b = query.suffix;
  if (e.suffixToEnd || query.suffixToEnd) return a === b;
  return a.length <= b.length ? b.startsWith(a) : a.startsWith(b);
}

export class ResultCache {
  /** Insertion order is recency order: a hit is re-inserted at the end. */
  private readonly entries: Entry[] = [];

  constructor(private readonly capacity = 32) {}

  get size(): number {
    return this.entries.length;
  }

  store(query: CacheQuery, completions: CachedCompletion[]): void {
    if (completions.length === 0) return;
    const entry: Entry = {
      uri: query.uri,
      offset: query.offset,
      prefixHash: hash(query.prefix),
      suffix: detached(query.suffix),
      suffixToEnd: query.suffixToEnd ?? false,
      settingsHash: query.settingsHash,
      completions: completions.map((c) => ({ ...c })),
    };
    const same = this.entries.findIndex(
      (e) => e.uri === entry.uri && e.offset === entry.offset && e.prefixHash === entry.prefixHash
        && e.suffix === entry.suffix && e.suffixToEnd === entry.suffixToEnd && e.settingsHash === entry.settingsHash,
    );
    if (same !== -1) this.entries.splice(same, 1);
    this.entries.push(entry);
    while (this.entries.length > this.capacity) this.entries.shift();
  }

  /**
   * Completions still valid at the query's cursor, with what has been typed since removed;
   * undefined on a miss. Completions the user has typed out entirely are left out.
   */
  lookup(query: CacheQuery): CachedCompletion[] | undefined {
    // The hash of the prefix window less what was typed, per typed length.
    const before = new Map<number, string>();
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i];
      if (e.uri !== query.uri || e.settingsHash !== query.settingsHash || !sameSuffix(e, query)) continue;
      const typedLength = query.offset - e.offset;
      if (typedLength < 0 || typedLength > query.prefix.length) continue;
      const typed = query.prefix.slice(query.prefix.length - typedLength);
      let h = before.get(typedLength);
      if (h === undefined) before.set(typedLength, h = hash(query.prefix.slice(0, query.prefix.length - typedLength)));
      if (h !== e.prefixHash) continue;
      const rest = e.completions
        .filter((c) => c.text.startsWith(typed) && c.text.length > typed.length)
        .map((c) => ({ text: c.text.slice(typed.length), confidence: c.confidence }));
      if (rest.length === 0) continue;
      this.entries.splice(i, 1);
      this.entries.push(e);
      return rest;
    }
    return undefined;
  }

  /** Forgets a document's entries (closed, or its text replaced wholesale). */
  forget(uri: string): void {
    for (let i = this.entries.length - 1; i >= 0; i--) if (this.entries[i].uri === uri) this.entries.splice(i, 1);
  }

  clear(): void {
    this.entries.length = 0;
  }
}
