// Keys and values of cached positions, kept in JS memory as [layers, batch, kv_heads, P, head_dim]
// (the graph's past_key/past_value layout). The context cache grows by appending a pass's present
// K/V and shrinks to a common prefix when the text changes; both are copies along the P axis,
// which is strided (one run of P * head_dim floats per layer, row and head).

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
}

export function emptyKv(batch = 1): KvCache {
  return { key: new Float32Array(0), value: new Float32Array(0), batch, length: 0 };
}

/** Bytes held by a cache (both tensors). */
export function kvBytes(kv: KvCache): number {
  return kv.key.byteLength + kv.value.byteLength;
}

/** Copies positions [0, keep) of every run of `from` (P positions) into runs of `toLength` positions at `at`. */
function copyRuns(src: Float32Array, srcLength: number, dst: Float32Array, dstLength: number, at: number, keep: number, runs: number, d: number): void {
  for (let r = 0; r < runs; r++) {
    dst.set(src.subarray(r * srcLength * d, (r * srcLength + keep) * d), (r * dstLength + at) * d);
  }
}

/** The first `keep` positions of a cache (a copy; `keep` = length returns the cache itself). */
export function sliceKv(kv: KvCache, keep: number, shape: KvShape): KvCache {
  if (keep >= kv.length) return kv;
  const runs = shape.layers * kv.batch * shape.kvHeads;
  const d = shape.headDim;
  const key = new Float32Array(runs * keep * d);
  const value = new Float32Array(runs * keep * d);
  copyRuns(kv.key, kv.length, key, keep, 0, keep, runs, d);
  copyRuns(kv.value, kv.length, value, keep, 0, keep, runs, d);
  return { key, value, batch: kv.batch, length: keep };
}

/** `a` followed by `b` along the position axis (same batch). */
export function concatKv(a: KvCache, b: KvCache, shape: KvShape): KvCache {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  if (a.batch !== b.batch) throw new Error(`cannot append a cache of batch ${b.batch} to one of batch ${a.batch}`);
  const runs = shape.layers * a.batch * shape.kvHeads;
  const d = shape.headDim;
  const n = a.length + b.length;
  const key = new Float32Array(runs * n * d);
  const value = new Float32Array(runs * n * d);
  copyRuns(a.key, a.length, key, n, 0, a.length, runs, d);
  copyRuns(b.key, b.length, key, n, a.length, b.length, runs, d);
  copyRuns(a.value, a.length, value, n, 0, a.length, runs, d);
  copyRuns(b.value, b.length, value, n, a.length, b.length, runs, d);
  return { key, value, batch: a.batch, length: n };
}

/** A batch-1 cache repeated for `batch` rows (each row of a batched canvas pass reads the same context). */
export function repeatKv(kv: KvCache, batch: number, shape: KvShape): KvCache {
  if (batch === 1 || kv.length === 0) return { ...kv, batch };
  if (kv.batch !== 1) throw new Error('only a batch-1 cache can be repeated');
  const per = shape.kvHeads * kv.length * shape.headDim;
  const repeat = (src: Float32Array) => {
    const out = new Float32Array(src.length * batch);
    for (let l = 0; l < shape.layers; l++) {
      const layer = src.subarray(l * per, (l + 1) * per);
      for (let b = 0; b < batch; b++) out.set(layer, (l * batch + b) * per);
    }
    return out;
  };
  return { key: repeat(kv.key), value: repeat(kv.value), batch, length: kv.length };
}

/** Rows `rows` of a cache, in that order (the batch loses the rows that finished). */
export function selectRows(kv: KvCache, rows: readonly number[], shape: KvShape): KvCache {
  if (rows.length === kv.batch && rows.every((r, i) => r === i)) return kv;
  const per = shape.kvHeads * kv.length * shape.headDim;
  const pick = (src: Float32Array) => {
    const out = new Float32Array(shape.layers * rows.length * per);
    for (let l = 0; l < shape.layers; l++) {
      rows.forEach((r, b) => out.set(src.subarray((l * kv.batch + r) * per, (l * kv.batch + r + 1) * per), (l * rows.length + b) * per));
    }
    return out;
  };
  return { key: pick(kv.key), value: pick(kv.value), batch: rows.length, length: kv.length };
}
