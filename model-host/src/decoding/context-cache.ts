// Reuse of the context's keys and values across requests. The context runs causally
// (CONTRACT.md), so the K/V of its first k tokens depend on those tokens only: a request whose
// context shares its first k token ids with the last one for the same document keeps those k
// positions and computes only the rest. With the suffix first, typing at the cursor only changes
// the end of the context, so a keystroke costs a pass over a few tokens.
//
// One entry per document (the key a request carries), least recently used first out, under a
// bound on documents and bytes.

import { CancelledError } from '../errors';
import { collectAll } from './collect';
import { appendKv, emptyKv, KV_HEADROOM, kvBytes, kvBytesPerPosition, passMask, truncateKv, type KvCache, type KvShape } from './kv-cache';
import type { ContextState, Model } from './sampler';
import type { ForwardOutput } from '../model/session';

export interface ContextStats {
  /** Context tokens in this request. */
  tokens: number;
  /** Of those, computed by this request's context pass. */
  computed: number;
  /** Taken from the cache (tokens - computed). */
  reused: number;
}

interface Entry {
  ids: number[];
  kv: KvCache;
  lastLogits: Float32Array;
  lastLogZ?: number;
}

export interface ContextCacheLimits {
  maxDocuments: number;
  maxBytes: number;
}

/** Up to four documents, under a bytes bound of about three full contexts of the default model with
 *  the server's default windows (layers x K/V heads x head size x (positions + room, kv-cache.ts) x
 *  4 bytes x 2 each): four fit when some of them are short files. The bound is what keeps the
 *  worker within its memory (docs/measurements.md, "Memory"): the cache is the part of the
 *  worker's memory that grows with use, and each further full context adds one to the peak. Larger windows or models
 *  keep fewer documents. */
export const DEFAULT_CONTEXT_CACHE: ContextCacheLimits = { maxDocuments: 4, maxBytes: 60 * 1024 * 1024 };

/**
 * A causal pass over `ids` at positions start.. after `past` (start = past.length): each input
 * reads every past key and the inputs up to itself. Only the last position's logits come back
 * (they predict canvas position 0) unless `allLogits` is set.
 */
export function contextPass(model: Model, ids: readonly number[], past: KvCache, allLogits = false) {
  const n = ids.length;
  const P = past.length;
  return model.forward({
    batch: 1, seq: n, inputIds: ids, positionIds: ids.map((_, i) => P + i), attentionMask: passMask(past, 1, n, (i) => i + 1),
    past, logitsFrom: allLogits ? 0 : n - 1,
  });
}

/**
 * Most tokens one context pass computes; a longer context runs in several passes, each after the
 * K/V of the ones before. A pass's working memory grows with its length, and onnxruntime's CPU
 * arena, where it is on (in process; the worker turns it off), keeps what the largest pass needed
 * for the life of the process, so a long context pass would leave the process larger for good. The
 * split costs no time at these lengths (one long pass and two or three shorter ones took the same
 * within the machine's noise): the attention part grows with the square of the pass, and the
 * weights are read once per pass either way. Much shorter passes do cost time.
 */
export const CONTEXT_CHUNK = 160;

/**
 * `past` followed by the K/V of `ids`, computed CONTEXT_CHUNK tokens at a time into one buffer
 * sized for all of them. `last` is the final pass's output: its last logits row predicts canvas
 * position 0.
 */
async function extendContext(
  model: Model, ids: readonly number[], past: KvCache, shape: KvShape, signal?: AbortSignal,
  keepPartial?: (kv: KvCache, last: ForwardOutput, computed: number) => void,
) {
  let kv = past;
  let last: ForwardOutput | undefined;
  for (let at = 0; at < ids.length; at += CONTEXT_CHUNK) {
    // Aborted between chunks (a keystroke came while a warm-up ran): what is computed stays usable.
    if (signal?.aborted) {
      if (last) keepPartial?.(kv, last, at);
      throw new CancelledError();
    }
    last = await contextPass(model, ids.slice(at, at + CONTEXT_CHUNK), kv);
    kv = appendKv(kv, last.present, shape, past.length + ids.length);
  }
  if (!last) throw new Error('no context tokens to compute');
  return { kv, last };
}

export class ContextCache {
  private readonly entries = new Map<string, Entry>();

  /**
   * `upcoming`: the documents of the requests queued behind the running one, in the order they
   * will run (the engine's queue). Room is made from the documents that nothing queued needs
   * first (least recently used first), then from the one whose turn comes last: the queue is the
   * future, and with more documents typed at once than contexts fit, least recently used evicts
   * exactly the document whose request runs next, so every request computed its whole context.
   */
  constructor(readonly shape: KvShape, readonly limits: ContextCacheLimits = DEFAULT_CONTEXT_CACHE,
    private readonly upcoming: () => readonly string[] = () => []) {}

  /**
   * The context state for `ids` (batch 1), computing only what the document's cached entry lacks.
   * With `reuse` false the cache is neither read nor written (a cold run).
   */
  async prepare(
    model: Model, document: string, ids: readonly number[], reuse = true, signal?: AbortSignal,
  ): Promise<{ state: ContextState; stats: ContextStats }> {
    if (ids.length === 0) throw new Error('the context is empty (it holds at least the two sentinels)');
    const entry = reuse ? this.entries.get(document) : undefined;
    let common = 0;
    if (entry) while (common < entry.ids.length && common < ids.length && entry.ids[common] === ids[common]) common++;
    let state: ContextState;
    let computed: number;
    if (entry && common === ids.length && common === entry.ids.length) {
      state = { length: ids.length, past: entry.kv, lastLogits: entry.lastLogits, lastLogZ: entry.lastLogZ };
      computed = 0;
    } else {
      // At least the last token runs: its logits predict canvas position 0. The entry leaves the
      // cache first: the new positions are written over its own from `keep` on (kv-cache.ts).
      const keep = Math.min(common, ids.length - 1);
      if (entry) this.entries.delete(document);
      if (reuse) this.makeRoom((ids.length + KV_HEADROOM) * kvBytesPerPosition(this.shape));
      const past = entry && keep > 0 ? truncateKv(entry.kv, keep) : emptyKv();
      const fresh = ids.slice(keep);
      // Cancelled part way (only warm-ups pass a signal): the document keeps the start computed so far.
      const keepPartial = (kv: KvCache, last: ForwardOutput, computed: number) => {
        if (reuse) this.remember(document, { ids: ids.slice(0, keep + computed), kv, lastLogits: last.logits.slice(last.logits.length - last.vocab), lastLogZ: last.logZ?.[last.logZ.length - 1] });
      };
      const { kv, last } = await extendContext(model, fresh, past, this.shape, signal, keepPartial);
      const lastLogits = last.logits.slice(last.logits.length - last.vocab);
      state = { length: ids.length, past: kv, lastLogits, lastLogZ: last.logZ?.[last.logZ.length - 1] };
      computed = fresh.length;
    }
    if (reuse) this.remember(document, { ids: [...ids], kv: state.past, lastLogits: state.lastLogits, lastLogZ: state.lastLogZ });
    return { state, stats: { tokens: ids.length, computed, reused: ids.length - computed } };
  }

  /** Whether the document's cached context starts with the first `n` of `ids` (their K/V are computed). */
  holdsStart(document: string, ids: readonly number[], n: number): boolean {
    const entry = this.entries.get(document);
    if (!entry || entry.ids.length < n || ids.length < n) return false;
    for (let i = 0; i < n; i++) if (entry.ids[i] !== ids[i]) return false;
    return true;
  }

  /** Bytes held by every entry's K/V. */
  get bytes(): number {
    let total = 0;
    for (const e of this.entries.values()) total += kvBytes(e.kv);
    return total;
  }

  get documents(): string[] {
    return [...this.entries.keys()];
  }

  forget(document: string): void {
    if (this.entries.delete(document)) collectAll();
  }

  clear(): void {
    this.entries.clear();
  }

  /**
   * Drops least recently used entries until one more of `bytes` fits the bounds. Called before a
   * new context is computed, so memory peaks at the bound, not at the bound plus the entry being
   * built; an entry larger than the whole bound empties the cache and is then not kept either.
   */
  private makeRoom(bytes: number): void {
    const before = this.entries.size;
    for (const key of this.evictionOrder()) {
      if (this.entries.size < this.limits.maxDocuments && this.bytes + bytes <= this.limits.maxBytes) break;
      this.entries.delete(key);
    }
    // A dropped entry's K/V is long-lived (old generation) and large: free it before the new one grows.
    if (this.entries.size < before) collectAll();
  }

  /** Entries no queued request needs, least recently used first; then the queued ones, latest turn first. */
  private evictionOrder(): string[] {
    const turn = new Map<string, number>();
    this.upcoming().forEach((document, i) => { if (!turn.has(document)) turn.set(document, i); });
    const idle = [...this.entries.keys()].filter((key) => !turn.has(key));
    const queued = [...this.entries.keys()].filter((key) => turn.has(key)).sort((a, b) => turn.get(b)! - turn.get(a)!);
    return [...idle, ...queued];
  }

  private remember(document: string, entry: Entry): void {
    // Re-inserting moves the document to the end: the map's order is least recently used first.
    this.entries.delete(document);
    const bytes = kvBytes(entry.kv);
    this.makeRoom(bytes);
    if (bytes <= this.limits.maxBytes) this.entries.set(document, entry);
  }
}
