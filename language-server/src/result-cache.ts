// Remembers recent completions so that typing what the ghost text shows does not rerun the
// model: if the user types characters that start a cached completion, the rest of that
// completion is still the answer, so it is returned at once.
//
// An entry is keyed by the document, the tail of the prefix, the head of the suffix and a
// hash of the generation settings. A lookup after typing `t` characters at the cached
// cursor accepts an entry when the new prefix ends with the old prefix tail followed by
// those `t` characters, the suffix head is unchanged, and a completion starts with them.

export interface CachedCompletion {
  /** Post-processed text, LF line endings (converted to the document's EOL on the way out). */
  text: string;
  confidence: number;
}

interface Entry {
  uri: string;
  /** Cursor offset in the document when the entry was made; typing moves it forward. */
  offset: number;
  prefixTail: string;
  suffixHead: string;
  settingsHash: string;
  completions: CachedCompletion[];
}

export interface CacheQuery {
  uri: string;
  offset: number;
  prefix: string;
  suffix: string;
  settingsHash: string;
}

/** Enough prefix to tell two cursors apart, short enough to compare cheaply. */
const PREFIX_TAIL_CHARS = 256;
const SUFFIX_HEAD_CHARS = 128;

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
      prefixTail: query.prefix.slice(-PREFIX_TAIL_CHARS),
      suffixHead: query.suffix.slice(0, SUFFIX_HEAD_CHARS),
      settingsHash: query.settingsHash,
      completions: completions.map((c) => ({ ...c })),
    };
    const same = this.entries.findIndex(
      (e) => e.uri === entry.uri && e.offset === entry.offset && e.prefixTail === entry.prefixTail
        && e.suffixHead === entry.suffixHead && e.settingsHash === entry.settingsHash,
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
    const suffixHead = query.suffix.slice(0, SUFFIX_HEAD_CHARS);
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i];
      if (e.uri !== query.uri || e.settingsHash !== query.settingsHash || e.suffixHead !== suffixHead) continue;
      const typedLength = query.offset - e.offset;
      if (typedLength < 0) continue;
      const typed = typedLength === 0 ? '' : query.prefix.slice(-typedLength);
      if (typed.length !== typedLength || !query.prefix.endsWith(e.prefixTail + typed)) continue;
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
