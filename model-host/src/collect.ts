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
