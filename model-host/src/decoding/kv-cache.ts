// Keys and values of cached positions, kept in JS memory as [layers, batch, kv_heads, capacity,
// head_dim] (the graph's past_key/past_value layout). Only the first `length` positions of each run
// hold K/V; the rest is room to grow into. The graph reads the whole buffer and the attention mask
// hides the room (CONTRACT.md), so a cache shrinks to a common prefix by lowering its length and
// grows by writing a pass's few new positions in place: a keystroke or a decided block no longer
// copies the whole context's K/V (~12 MB at 260 positions of the default model).

export interface KvShape {
  layers: number;
  kvHeads: number;
  headDim: number;
}

export interface KvCache {
  key: Float32Array;
  value: Float32Array;
  /** Rows (B). */
  batch: number;
  /** Cached positions (P). */
  length: number;
  /** Positions each run has room for (>= length). */
  capacity: number;
}

/** Room left after the positions a new buffer must hold: a few keystrokes and a 24-token canvas fit without a copy. */
export const KV_HEADROOM = 64;

export function emptyKv(batch = 1): KvCache {
  return { key: new Float32Array(0), value: new Float32Array(0), batch, length: 0, capacity: 0 };
}

/** Bytes of one cached position of one row (keys and values of every layer). */
export function kvBytesPerPosition(shape: KvShape): number {
  return 2 * shape.layers * shape.kvHeads * shape.headDim * Float32Array.BYTES_PER_ELEMENT;
}

/** Bytes held by a cache (both tensors, room included). */
export function kvBytes(kv: KvCache): number {
  return kv.key.byteLength + kv.value.byteLength;
}

/** Copies positions [0, count) of each of `runs` runs (`srcCap` apart in `src`) to position `at` of runs `dstCap` apart in `dst`. */
function copyRuns(src: Float32Array, srcCap: number, dst: Float32Array, dstCap: number, at: number, count: number, runs: number, d: number): void {
  for (let r = 0; r < runs; r++) {
    dst.set(src.subarray(r * srcCap * d, (r * srcCap + count) * d), (r * dstCap + at) * d);
  }
}

/** The first `keep` positions: the same buffers, with the positions from `keep` on turned into room (no copy). */
export function truncateKv(kv: KvCache, keep: number): KvCache {
  return keep >= kv.length ? kv : { ...kv, length: Math.max(0, keep) };
}

/**
 * `kv` followed by the positions of `added` (same batch). When they fit in kv's room they are
 * written there and the result shares kv's buffers: whatever else holds those buffers sees its room
 * overwritten, never its own positions. Otherwise both are copied into new buffers with headroom
 * past `reserve` positions (a context computed in several passes asks for its whole length once).
 */
export function appendKv(kv: KvCache, added: KvCache, shape: KvShape, reserve = 0): KvCache {
  if (added.length === 0) return kv;
  if (kv.length > 0 && kv.batch !== added.batch) throw new Error(`cannot append a cache of batch ${added.batch} to one of batch ${kv.batch}`);
  const runs = shape.layers * added.batch * shape.kvHeads;
  const d = shape.headDim;
  const length = kv.length + added.length;
  let out = kv;
  if (length > kv.capacity || kv.batch !== added.batch) {
    const capacity = Math.max(length, reserve) + KV_HEADROOM;
    out = { key: new Float32Array(runs * capacity * d), value: new Float32Array(runs * capacity * d), batch: added.batch, length: kv.length, capacity };
    copyRuns(kv.key, kv.capacity, out.key, capacity, 0, kv.length, runs, d);
    copyRuns(kv.value, kv.capacity, out.value, capacity, 0, kv.length, runs, d);
  }
  copyRuns(added.key, added.capacity, out.key, out.capacity, out.length, added.length, runs, d);
  copyRuns(added.value, added.capacity, out.value, out.capacity, out.length, added.length, runs, d);
  return { ...out, length };
}

/** A batch-1 cache repeated for `batch` rows (each row of a batched canvas pass reads the same context). */
export function repeatKv(kv: KvCache, batch: number, shape: KvShape): KvCache {
  if (kv.capacity === 0) return { ...kv, batch };
  if (batch === 1) return kv;
  if (kv.batch !== 1) throw new Error('only a batch-1 cache can be repeated');
  const per = shape.kvHeads * kv.capacity * shape.headDim;
  const repeat = (src: Float32Array) => {
    const out = new Float32Array(src.length * batch);
    for (let l = 0; l < shape.layers; l++) {
      const layer = src.subarray(l * per, (l + 1) * per);
      for (let b = 0; b < batch; b++) out.set(layer, (l * batch + b) * per);
    }
    return out;
  };
  return { key: repeat(kv.key), value: repeat(kv.value), batch, length: kv.length, capacity: kv.capacity };
}

/** Rows `rows` of a cache, in that order (the batch loses the rows that finished). */
export function selectRows(kv: KvCache, rows: readonly number[], shape: KvShape): KvCache {
  if (rows.length === kv.batch && rows.every((r, i) => r === i)) return kv;
  const per = shape.kvHeads * kv.capacity * shape.headDim;
  const pick = (src: Float32Array) => {
    const out = new Float32Array(shape.layers * rows.length * per);
    for (let l = 0; l < shape.layers; l++) {
      rows.forEach((r, b) => out.set(src.subarray((l * kv.batch + r) * per, (l * kv.batch + r + 1) * per), (l * rows.length + b) * per));
    }
    return out;
  };
  return { key: pick(kv.key), value: pick(kv.value), batch: rows.length, length: kv.length, capacity: kv.capacity };
}

/**
 * The attention mask of a pass after `past`: for each of the `seq` inputs of every row, 1 for the
 * past's positions, 0 for its room, then `own(i)` of the pass's own inputs readable. Shape
 * [batch, seq, capacity + seq], as the graph takes it.
 */
export function passMask(past: KvCache, batch: number, seq: number, own: (i: number) => number): Uint8Array {
  const width = past.capacity + seq;
  const mask = new Uint8Array(batch * seq * width);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < seq; i++) {
      const row = (b * seq + i) * width;
      mask.fill(1, row, row + past.length);
      mask.fill(1, row + past.capacity, row + past.capacity + own(i));
    }
  }
  return mask;
}
