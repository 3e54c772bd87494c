// Early garbage collection in the model worker, which runs with --expose-gc (worker-engine.ts).
// Where the collector is not exposed (tests, the CLI in process) this does nothing.

const gc = (globalThis as { gc?: (options?: { type: 'minor' | 'major' }) => void }).gc;

/**
 * Frees every dead object now. For a dropped context's K/V (up to ~20 MB per document): it lives
 * outside V8's heap behind a long-lived object, so V8 would free it only at its next full
 * collection, which buffers outside the heap trigger after tens of MB of them: a user going through
 * files one after another could hold several dropped contexts at once.
 */
export function collectAll(): void {
  gc?.({ type: 'major' });
}

/**
 * Frees the young generation's dead objects now (a scavenge of the worker's small semi-spaces
 * takes about a millisecond). Each pass's outputs (megabytes of logits and K/V per block pass, copied out of the runtime into new buffers) live outside the JS heap behind
 * small young objects, and V8 collects those only when the heap itself fills or the buffers
 * outside it pass tens of MB: after a request its outputs are dead, so the worker frees them then.
 */
export function collectYoung(): void {
  gc?.({ type: 'minor' });
}
