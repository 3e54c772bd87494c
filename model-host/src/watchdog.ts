// How long the model worker may take to answer before it is presumed hung (stopped, deadlocked in
// native code, swapping) and is killed. The bound scales with the model's measured pass time, so a
// big model on a slow CPU is not killed for being slow, and has a floor, so a tiny model is not
// killed for one scheduling hiccup.

import type { InfillRequest, InfillResult } from './types';

/** No request is presumed hung sooner than this (tests lower it with DIFFUSION_INFILL_WATCHDOG_FLOOR_MS). */
export const DEFAULT_FLOOR_MS = 10_000;
/** Slack over the expected time: bursts of a busy machine are 2-3x (see the notes on this VM). */
const FACTOR = 4;
/** Before any pass was timed (the worker times one while loading), assume a slow one. */
const UNMEASURED_PASS_MS = 500;
/** Opening a session: reading the file, optimizing the graph, a GPU provider's start-up. */
export const LOAD_BOUND_MS = 180_000;

export function floorFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.DIFFUSION_INFILL_WATCHDOG_FLOOR_MS);
  return Number.isFinite(n) && n > 0 ? n : DEFAULT_FLOOR_MS;
}

/** Forward passes a request may take: its steps, at least one per block, and at most one per
 *  token (a block waiting for <|pad|> takes one per position). Candidates run as one batch. */
export function estimatePasses(request: InfillRequest): number {
  const canvas = Number.isFinite(request.canvasLength) ? Math.max(1, request.canvasLength) : 1;
  const blocks = Math.ceil(canvas / Math.max(1, request.sampler.blockLength || 1));
  return Math.max(request.sampler.steps || 1, blocks, canvas) + 1;
}

export class WatchdogClock {
  /** The slowest pass seen lately, in ms; full passes and cheaper block passes alike count as this. */
  private passMs: number | undefined;

  constructor(readonly floorMs = floorFromEnv()) {}

  /** The worker timed a full pass while loading. */
  measured(passMs: number | undefined): void {
    if (passMs !== undefined && Number.isFinite(passMs) && passMs > 0) this.passMs = Math.max(passMs, this.passMs ?? 0);
  }

  /** A finished request: its mean pass time. The estimate follows a slower machine at once and a
   *  faster one slowly, so one quick request does not make the next slow one look hung. */
  observe(result: InfillResult): void {
    if (result.forwards <= 0) return;
    const per = result.timings.sampleMs / result.forwards;
    this.passMs = Math.max(per, (this.passMs ?? per) * 0.9);
  }

  /** Milliseconds this request may take once the worker starts it. */
  forRequest(request: InfillRequest): number {
    const pass = this.passMs ?? UNMEASURED_PASS_MS;
    return Math.round(Math.max(this.floorMs, FACTOR * pass * estimatePasses(request)));
  }
}
