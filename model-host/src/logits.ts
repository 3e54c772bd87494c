// Small numeric helpers for the sampler: pick a token from one row of logits, and a seeded RNG.

export interface Pick { token: number; prob: number; logProb: number }

/** The chosen token of one vocabulary row and its probability under softmax(row).
 *  temperature 0 takes the argmax; above 0 it samples from softmax(row / temperature).
 *  `banned` tokens may not be chosen here. */
export function pickToken(logits: Float32Array, offset: number, vocab: number, temperature: number, rng: () => number,
  banned: readonly number[] = []): Pick {
  for (const t of banned) logits[offset + t] = -Infinity;
  let max = -Infinity;
  let arg = 0;
  for (let i = 0; i < vocab; i++) {
    const v = logits[offset + i];
    if (v > max) { max = v; arg = i; }
  }
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += Math.exp(logits[offset + i] - max);
  let token = arg;
  if (temperature > 0) {
    let tsum = 0;
    for (let i = 0; i < vocab; i++) tsum += Math.exp((logits[offset + i] - max) / temperature);
    let r = rng() * tsum;
    for (let i = 0; i < vocab; i++) {
      r -= Math.exp((logits[offset + i] - max) / temperature);
      if (r <= 0) { token = i; break; }
    }
  }
  const logProb = logits[offset + token] - max - Math.log(sum);
  return { token, prob: Math.exp(logProb), logProb };
}

/** mulberry32: a tiny deterministic generator, so a seed reproduces a sample. */
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
