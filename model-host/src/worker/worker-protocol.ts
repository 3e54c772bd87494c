// Messages between WorkerEngine (the caller's process) and worker.ts (the model's child process).
import type { ContextReport, EngineOptions, InfillRequest, InfillResult, ModelInfo } from '../types';

export type ToWorker =
  | { type: 'load'; id: number; options: EngineOptions }
  | { type: 'infill'; id: number; request: InfillRequest }
  /** Only the context pass of `request` (engine.ts's prefill): warms the document's cache. */
  | { type: 'prefill'; id: number; request: InfillRequest }
  | { type: 'cancel'; id: number }
  /** No reply: drops a document's cached context. */
  | { type: 'forget'; document: string };

/** An error crosses the process boundary as plain data; `name` lets worker-engine.ts rebuild the classes of errors.ts. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
}

export type FromWorker =
  /** passMs: one full pass over a few hundred tokens, timed after loading (the parent's watchdog scales with it). */
  | { type: 'loaded'; id: number; info: ModelInfo; passMs?: number }
  | { type: 'result'; id: number; result: InfillResult }
  | { type: 'prefilled'; id: number; context: ContextReport }
  | { type: 'error'; id: number; error: WireError }
  /** While requests run: passes were finished since the last one (the parent's watchdog, watchdog.ts). */
  | { type: 'progress' };
