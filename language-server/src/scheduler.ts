// Debouncing and cancellation for model requests.
//
// The model is the scarce resource: a request the user no longer needs must stop using it
// as soon as possible. Every request gets an AbortController whose signal goes to the
// engine; it is aborted when
//   - a newer request of the same kind arrives for the same document (typing moved on),
//   - the client cancels it ($/cancelRequest, surfaced as the LSP cancellation token),
//   - the document is edited (inline only: its answer would belong to text that is gone),
//   - the document is closed.
// Debouncing waits `debounceMs` before touching the model, so a burst of keystrokes costs
// one model run (the last), not one per key.

import type { CancellationToken, Disposable } from 'vscode-languageserver';

export type RequestKind = 'inline' | 'fill';

export interface Ticket {
  readonly signal: AbortSignal;
  /** Call when the request is over; releases the slot and the token listener. */
  done(): void;
}

interface Slot {
  uri: string;
  kind: RequestKind;
  controller: AbortController;
}

export class RequestScheduler {
  private readonly slots = new Map<string, Slot>();

  /** Starts a request, aborting the previous one of the same kind for the same document. */
  begin(uri: string, kind: RequestKind, token?: CancellationToken): Ticket {
    const key = `${kind}\u0000${uri}`;
    this.slots.get(key)?.controller.abort(new Error('superseded by a newer request'));
    const controller = new AbortController();
    const slot: Slot = { uri, kind, controller };
    this.slots.set(key, slot);
    let listener: Disposable | undefined;
    if (token) {
      if (token.isCancellationRequested) controller.abort(new Error('cancelled by the client'));
      else listener = token.onCancellationRequested(() => controller.abort(new Error('cancelled by the client')));
    }
    return {
      signal: controller.signal,
      done: () => {
        listener?.dispose();
        listener = undefined;
        if (this.slots.get(key) === slot) this.slots.delete(key);
      },
    };
  }

  /** Aborts a document's requests (of one kind, or all: it was closed). */
  cancelDocument(uri: string, kind?: RequestKind, reason = 'document closed'): void {
    for (const [key, slot] of this.slots) {
      if (slot.uri !== uri || (kind && slot.kind !== kind)) continue;
      slot.controller.abort(new Error(reason));
      this.slots.delete(key);
    }
  }

  cancelAll(): void {
    for (const slot of this.slots.values()) slot.controller.abort(new Error('server shutting down'));
    this.slots.clear();
  }

  /** Requests still running, for tests and logs. */
  get active(): number {
    return this.slots.size;
  }
}

/** Waits `ms`, or less if the signal aborts first. Resolves true when the wait ran out,
 *  false when it was aborted (the caller then gives up without touching the model). */
export function debounce(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

