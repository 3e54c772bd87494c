// Cache warming: when a file is opened or the cursor moves, compute the context's keys
// and values for that cursor before the user types there, so that the first completion computes
// only the characters typed since instead of the whole window (a cold context pass over a few
// hundred tokens is most of a first completion's time with a 100M-class model).
//
// The context is suffix first (models/CONTRACT.md): moving the cursor changes the suffix and so
// the whole context, while typing at the cursor only appends to it. So a warm-up is worth it after
// a move, not after a keystroke (the completion request computes those few tokens itself).
// Moves are debounced per document, because arrow keys and clicks come in bursts and each
// warm-up is a full context pass in the model worker; a completion request for the document
// cancels a pending warm-up (it computes the context anyway).

import type { TextDocuments } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { requestAt } from './complete-at';
import { completionsAllowed } from './inline-completion';
import type { ModelService } from './model-service';
import type { ServerSettings } from './protocol';

/** Wait after the last cursor move before warming: longer than key repeat, shorter than a pause before typing. */
const PREFILL_DEBOUNCE_MS = 120;

/** Wait after a completion that left the code from other files out (cold) before warming it: a
 *  pause in typing, longer than the gap between keystrokes, since the warm-up is a whole context
 *  pass (a keystroke during it cancels it between chunks, keeping what it computed). */
export const TYPING_REST_MS = 400;

export interface PrefillDeps {
  documents: TextDocuments<TextDocument>;
  model: ModelService;
  settings: () => ServerSettings;
  log?: (message: string) => void;
}

export class Prefiller {
  /** Per document: the pending warm-up's timer and the abort of the one running. */
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Map<string, AbortController>();

  constructor(private readonly deps: PrefillDeps, private readonly delayMs = PREFILL_DEBOUNCE_MS) {}

  /** The cursor is at `offset` in `uri` (a move, an open, or a completion that found its extra
   *  context cold): warm that context once the cursor rests `delayMs`. */
  schedule(uri: string, offset: number, delayMs = this.delayMs): void {
    this.cancel(uri);
    // The offset belongs to this version of the text; an edit before the timer fires makes it stale.
    const version = this.deps.documents.get(uri)?.version;
    const timer = setTimeout(() => {
      this.timers.delete(uri);
      void this.run(uri, offset, version);
    }, delayMs);
    // A pending warm-up never keeps the process alive.
    timer.unref?.();
    this.timers.set(uri, timer);
  }

  /** Drops the pending or running warm-up of a document (a completion came first, or it closed). */
  cancel(uri: string): void {
    clearTimeout(this.timers.get(uri));
    this.timers.delete(uri);
    this.running.get(uri)?.abort();
    this.running.delete(uri);
  }

  dispose(): void {
    for (const uri of [...this.timers.keys(), ...this.running.keys()]) this.cancel(uri);
  }

  private async run(uri: string, offset: number, version: number | undefined): Promise<void> {
    const document = this.deps.documents.get(uri);
    const settings = this.deps.settings();
    // Edited since the move (typing: the completion requests keep the context current, and a
    // stale offset would warm a context that is no longer anyone's, replacing the good one).
    if (!document || document.version !== version || !completionsAllowed(settings, document.languageId)) return;
    const text = document.getText();
    // The same context and plan as the completion that will follow (complete-at.ts).
    const at = requestAt(text, Math.max(0, Math.min(offset, text.length)), settings, this.deps.model.maxCanvas());
    if (!at) return;
    const { context, plan } = at;
    const controller = new AbortController();
    this.running.set(uri, controller);
    try {
      await this.deps.model.prefill(plan, { ...context, document: uri }, settings, controller.signal);
    } catch (error) {
      // Cancelled, or the engine failed: the next completion computes its context itself.
      if (!controller.signal.aborted) this.deps.log?.(`Prefill failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      if (this.running.get(uri) === controller) this.running.delete(uri);
    }
  }
}
