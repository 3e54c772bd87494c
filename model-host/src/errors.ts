// The errors that cross module and process boundaries, in one place with no dependencies, so that
// code running in the language server (worker-engine.ts, the model service) can recognize them
// without importing the sampler or the manifest reader, and the worker can send them by name
// (worker-protocol.ts's WireError) and have them rebuilt as the same class.

/** The request was cancelled (its signal aborted); not a failure. */
export class CancelledError extends Error {
  override readonly name = 'CancelledError';
  constructor() {
    super('The infill request was cancelled');
  }
}

/** A model that cannot be used, with a message a user can act on (it names the file). */
export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError';
  constructor(message: string, readonly file?: string) {
    super(message);
  }
}

/** The worker died while this request was with it; it may be retried on a new worker. */
export class WorkerLostError extends Error {
  override readonly name = 'WorkerLostError';
}

/** The worker did not answer within its bound and was killed. */
export class WorkerTimeoutError extends Error {
  override readonly name = 'WorkerTimeoutError';
}

/** An error's message, or the thrown value as text: what logs and user messages show. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
