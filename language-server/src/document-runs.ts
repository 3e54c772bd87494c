// At most one inline model run per document, and a run that outlives the request that started it
// while typing goes on at its cursor (issue 22: fair service across documents).
//
// Before, a keystroke aborted its document's running request, and the next request started from
// scratch. Once model time per request (a queue behind other documents' runs, a context pass for
// a document whose cached context another document's pushed out) exceeds the gap between
// keystrokes, nothing finished for that document, ever: with several documents typed at once some
// got no ghost text at all. Here a keystroke that continues the text a run was started for leaves
// the run going: its answer lands in the result cache, and the document's newest request waits
// for it and is answered from there when the characters typed since start the completion
// (type-through), or else starts the next run. With one run per document in the worker's
// first-come queue, documents are served in turn: one document's typing cannot queue runs ahead
// of another's, and every run that starts finishes.
//
// A run that can serve no one is aborted: a request in the same document whose text does not
// continue the run's (the cursor moved, text was deleted), the document closing, shutdown.

import { CancelledError } from '../../model-host/src/errors';

/** The text a run was started for: the cursor and the windows around it. */
export interface RunKey {
  offset: number;
  prefix: string;
  suffix: string;
  /** Text known to start the run's completion (a run growing a cut-short one: what was shown). */
  expects?: string;
}

interface Run {
  key: RunKey;
  controller: AbortController;
  finished: Promise<unknown>;
}

/** Whether the text of `now` is that of `run` with characters typed at its cursor. The prefix
 *  window's start moves in large steps only (context.ts), so typing keeps it a continuation. */
export function continues(run: RunKey, now: RunKey): boolean {
  if (now.offset < run.offset || !now.prefix.startsWith(run.prefix)) return false;
  if (now.prefix.length - run.prefix.length !== now.offset - run.offset) return false;
  // Typing that leaves the text the run continues from can be served by nothing it writes.
  const typed = now.prefix.slice(run.prefix.length);
  if (run.expects !== undefined && !run.expects.startsWith(typed) && !typed.startsWith(run.expects)) return false;
  // The suffix window starts at the cursor; its end may be cut at a different place.
  return run.suffix.length <= now.suffix.length ? now.suffix.startsWith(run.suffix) : run.suffix.startsWith(now.suffix);
}

/** How far after the run's cursor its suffix may have moved by typing, for `edited`. */
const TYPED_REACH = 256;

/** Whether `text` has the run's prefix window before its cursor and the start of its suffix
 *  window a little after it. Windows are LF only (context.ts): a CRLF document's run ends. */
function stillContinues(run: RunKey, text: string): boolean {
  const start = run.offset - run.prefix.length;
  if (start < 0 || text.slice(start, run.offset) !== run.prefix) return false;
  const head = run.suffix.slice(0, 64);
  const at = text.indexOf(head, run.offset);
  return at !== -1 && at - run.offset <= TYPED_REACH;
}

export class DocumentRuns {
  private readonly runs = new Map<string, Run>();

  /** A request for `key` arrived: the document's run is aborted unless the text continues it. */
  supersede(uri: string, key: RunKey): void {
    const run = this.runs.get(uri);
    if (run && !continues(run.key, key)) this.abort(uri, run, 'the text no longer continues the run');
  }

  /**
   * The document's text changed (an edit may bring no request: a paste, another tool): its run
   * goes on only while the text still reads as the run's with characters inserted at its cursor.
   */
  edited(uri: string, text: string): void {
    const run = this.runs.get(uri);
    if (run && !stillContinues(run.key, text)) this.abort(uri, run, 'the document changed');
  }

  /** Resolves when the document has no run going (true), or when `signal` aborts first (false). */
  async idle(uri: string, signal: AbortSignal): Promise<boolean> {
    let waited: Run | undefined;
    for (;;) {
      if (signal.aborted) return false;
      const run = this.runs.get(uri);
      // A run waited for is over even if its entry is not removed yet (that happens a tick later).
      if (!run || run === waited) return true;
      await untilAborted(run.finished.catch(() => undefined), signal).catch(() => undefined);
      waited = run;
    }
  }

  /**
   * Starts the document's run. `work` gets the run's own signal; the caller gets its result, or
   * CancelledError as soon as `request` aborts, while the run goes on. With `tied`, aborting the
   * request aborts the run too (an explicit request, whose run has no time budget).
   */
  start<T>(uri: string, key: RunKey, request: AbortSignal, work: (signal: AbortSignal) => Promise<T>, tied = false): Promise<T> {
    const previous = this.runs.get(uri);
    if (previous) this.abort(uri, previous, 'a newer run started');
    const controller = new AbortController();
    const finished = work(controller.signal);
    const run: Run = { key, controller, finished };
    this.runs.set(uri, run);
    void finished.catch(() => undefined).finally(() => {
      if (this.runs.get(uri) === run) this.runs.delete(uri);
    });
    if (tied) request.addEventListener('abort', () => this.abort(uri, run, 'the request was cancelled'), { once: true });
    return untilAborted(finished, request);
  }

  /** Aborts the document's run (closed). */
  cancel(uri: string, reason = 'document closed'): void {
    const run = this.runs.get(uri);
    if (run) this.abort(uri, run, reason);
  }

  cancelAll(): void {
    for (const [uri, run] of [...this.runs]) this.abort(uri, run, 'server shutting down');
  }

  /** Runs going, for tests and logs. */
  get active(): number {
    return this.runs.size;
  }

  private abort(uri: string, run: Run, reason: string): void {
    run.controller.abort(new Error(reason));
    if (this.runs.get(uri) === run) this.runs.delete(uri);
  }
}

/** The promise, or CancelledError as soon as the signal aborts (the promise is left to settle alone). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new CancelledError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new CancelledError());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
