// Small numeric helpers over one row of logits, and a seeded random number generator.

/** A deterministic generator of floats in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Pick {
  id: number;
  /** Probability of `id` under softmax(logits) over the allowed tokens. */
  prob: number;
  logProb: number;
}

/**
 * Chooses a token from `logits[offset .. offset + vocab)`, never one in `banned`.
 * temperature 0: the argmax; above 0: a sample from softmax(logits / temperature).
 * The returned probability is always under the untempered softmax (as LLaDA's confidence is).
 * `logZ`, the row's log-normalizer over the whole vocabulary when the graph computed it, saves
 * the greedy pick its exp over every token.
 */
export function pickToken(
  logits: Float32Array, offset: number, vocab: number,
  temperature: number, random: () => number, banned: ReadonlySet<number>, logZ?: number,
): Pick {
  if (temperature === 0) {
    const fast = greedyPick(logits, offset, vocab, banned, logZ);
    if (fast) return fast;
  }
  const isBanned = bannedFlags(banned, vocab);
  let max = -Infinity;
  let argmax = -1;
  for (let t = 0; t < vocab; t++) {
    const v = logits[offset + t];
    if (v > max && isBanned[t] === 0) {
      max = v;
      argmax = t;
    }
  }
  if (argmax < 0) throw new Error('every token is banned');
  let sum = 0;
  for (let t = 0; t < vocab; t++) {
    const d = logits[offset + t] - max;
    if (d > NEGLIGIBLE && isBanned[t] === 0) sum += Math.exp(d);
  }
  const logAllowed = max + Math.log(sum);
  let id = argmax;
  if (temperature > 0) id = sampleTempered(logits, offset, vocab, temperature, max, random, banned);
  const logProb = logits[offset + id] - logAllowed;
  return { id, prob: Math.exp(logProb), logProb };
}

/** Per banned set, one flag per vocabulary entry: a typed-array read per token instead of a set
 *  lookup (the sampler builds its sets once per request and asks about 49k tokens per pick). */
const flagsOf = new WeakMap<ReadonlySet<number>, Uint8Array>();

function bannedFlags(banned: ReadonlySet<number>, vocab: number): Uint8Array {
  let flags = flagsOf.get(banned);
  if (!flags || flags.length !== vocab) {
    flags = new Uint8Array(vocab);
    for (const t of banned) if (t >= 0 && t < vocab) flags[t] = 1;
    flagsOf.set(banned, flags);
  }
  return flags;
}

/** exp(-40) is 4e-18: terms this far below the maximum do not change a float64 sum that holds 1. */
const NEGLIGIBLE = -40;

/**
 * The greedy pick without a set lookup per vocabulary entry (a 49k vocabulary, a dozen picks a
 * step): the argmax and the softmax sum over every token (from `logZ` when given), then the banned
 * tokens' terms taken out of the sum. Exact when the argmax is allowed (the sum then holds its
 * term, 1, so nothing cancels); otherwise undefined, and the caller takes the general path.
 */
function greedyPick(logits: Float32Array, offset: number, vocab: number, banned: ReadonlySet<number>, logZ?: number): Pick | undefined {
  let max = -Infinity;
  let argmax = -1;
  for (let t = 0; t < vocab; t++) {
    const v = logits[offset + t];
    if (v > max) {
      max = v;
      argmax = t;
    }
  }
  if (argmax < 0 || banned.has(argmax)) return undefined;
  let sum = 0;
  if (logZ !== undefined) sum = Math.exp(logZ - max);
  else {
    for (let t = 0; t < vocab; t++) {
      const d = logits[offset + t] - max;
      if (d > NEGLIGIBLE) sum += Math.exp(d);
    }
  }
  for (const t of banned) {
    if (t < 0 || t >= vocab) continue;
    const d = logits[offset + t] - max;
    if (d > NEGLIGIBLE) sum -= Math.exp(d);
  }
  const logProb = -Math.log(sum);
  return { id: argmax, prob: Math.exp(logProb), logProb };
}

function sampleTempered(
  logits: Float32Array, offset: number, vocab: number,
  temperature: number, max: number, random: () => number, banned: ReadonlySet<number>,
): number {
  const weights = new Float64Array(vocab);
  let total = 0;
  for (let t = 0; t < vocab; t++) {
    if (banned.has(t)) continue;
    weights[t] = Math.exp((logits[offset + t] - max) / temperature);
    total += weights[t];
  }
  let r = random() * total;
  let last = -1;
  for (let t = 0; t < vocab; t++) {
    if (weights[t] === 0) continue;
    last = t;
    r -= weights[t];
    if (r < 0) return t;
  }
  return last;
}

/** The `n` most likely allowed tokens, most likely first, each with its probability under the softmax over all allowed tokens. */
export function rankedTokens(logits: Float32Array, offset: number, vocab: number, banned: ReadonlySet<number>, n: number, logZ?: number): Pick[] {
  const first = pickToken(logits, offset, vocab, 0, () => 0, banned, logZ);
  const logAllowed = logits[offset + first.id] - first.logProb;
  const out = [first];
  const taken = new Set(banned);
  while (out.length < n) {
    taken.add(out[out.length - 1].id);
    let best = -1;
    for (let t = 0; t < vocab; t++) if (!taken.has(t) && (best < 0 || logits[offset + t] > logits[offset + best])) best = t;
    if (best < 0) break;
    const logProb = logits[offset + best] - logAllowed;
    out.push({ id: best, prob: Math.exp(logProb), logProb });
  }
  return out;
}

/**
 * The tokens `ids` (token healing's allowed openers), most likely first, each with its probability
 * under the softmax over those tokens alone. A few hundred ids: plain loops.
 */
export function rankedAmong(logits: Float32Array, ids: readonly number[]): Pick[] {
  if (ids.length === 0) throw new Error('no token is allowed');
  const sorted = [...ids].sort((a, b) => logits[b] - logits[a] || a - b);
  const max = logits[sorted[0]];
  let sum = 0;
  for (const id of ids) sum += Math.exp(logits[id] - max);
  const logAllowed = max + Math.log(sum);
  return sorted.map((id) => ({ id, logProb: logits[id] - logAllowed, prob: Math.exp(logits[id] - logAllowed) }));
}

/** One of `picks`, drawn from their softmax at `temperature` (> 0). */
export function drawTempered(picks: readonly Pick[], temperature: number, random: () => number): Pick {
  const top = Math.max(...picks.map((pk) => pk.logProb));
  const weights = picks.map((pk) => Math.exp((pk.logProb - top) / temperature));
  let r = random() * weights.reduce((t, w) => t + w, 0);
  return picks.find((_, i) => (r -= weights[i]) < 0) ?? picks[picks.length - 1];
}

/** Indices of the `k` largest scores, largest first (ties: lower index first). */
export function topK(scores: readonly number[], k: number): number[] {
  return scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b).slice(0, Math.max(0, k));
}

export function mean(values: readonly number[]): number {
  return values.length ? values.reduce((s, v) => s + v, 0) / values.length : NaN;
}
