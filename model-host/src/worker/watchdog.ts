// The kill bound: how long the model worker may go without a sign of progress before it is presumed
// hung (stopped, deadlocked in native code, swapping) and is killed. (Not the ghost text's time
// budget, InfillRequest.timeBudgetMs, which cuts a completion short and kills nothing.) While it
// runs a request the worker reports every forward pass it finishes (worker.ts, at most every
// HEARTBEAT_MS), so the bound is one pass, not one request: a request's length follows the user's
// settings (steps, block length, canvas, cache off), and a bound scaled by them would let a
// stopped worker block completions for as long as the longest request. The bound scales with the
// model's measured pass time, so a big model on a slow CPU is not killed for being slow, and has a
// floor, so a tiny model is not killed for one scheduling hiccup.

import type { InfillResult } from '../types';

/** No request is presumed hung sooner than this (tests lower it with DIFFUSION_INFILL_WATCHDOG_FLOOR_MS). */
const DEFAULT_FLOOR_MS = 10_000;
/** Slack over the expected time: a busy machine's bursts make passes several times slower than usual. */
const FACTOR = 4;
/** Before any pass was timed (the worker times one while loading), assume a slow one. */
const UNMEASURED_PASS_MS = 500;
/** How often a busy worker reports that it has finished passes since its last report. */
export const HEARTBEAT_MS = 250;
/** Opening a session: reading the file, optimizing the graph, a GPU provider's start-up. */
export const LOAD_KILL_BOUND_MS = 180_000;

function floorFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.DIFFUSION_INFILL_WATCHDOG_FLOOR_MS);
  return Number.isFinite(n) && n > 0 ? n : DEFAULT_FLOOR_MS;
}

export class WatchdogClock {
  /** The slowest pass seen lately, in ms; full passes and cheaper block passes alike count as this. */
  private passMs: number | undefined;
  /** The full-window pass timed at load: no pass of a request is longer by much, so the bound never
   *  drops below it however cheap the recent (block) passes were. */
  private fullPassMs = 0;

  constructor(readonly floorMs = floorFromEnv()) {}

  /** The worker timed a full pass while loading. */
  measured(passMs: number | undefined): void {
    if (passMs !== undefined && Number.isFinite(passMs) && passMs > 0) {
      this.passMs = Math.max(passMs, this.passMs ?? 0);
      this.fullPassMs = Math.max(this.fullPassMs, passMs);
    }
  }

  /** A finished request: its mean pass time. The estimate follows a slower machine at once and a
   *  faster one slowly, so one quick request does not make the next slow one look hung. */
  observe(result: InfillResult): void {
    if (result.forwards <= 0) return;
    const per = result.timings.sampleMs / result.forwards;
    this.passMs = Math.max(per, (this.passMs ?? per) * 0.9);
  }

  /** Milliseconds a worker running requests may go without finishing a pass (the slowest pass
   *  seen, a full-window one at load, with slack), whatever the request's settings. */
  killBoundMs(): number {
    const pass = Math.max(this.passMs ?? UNMEASURED_PASS_MS, this.fullPassMs);
    return Math.round(Math.max(this.floorMs, FACTOR * pass) + HEARTBEAT_MS);
  }
}
