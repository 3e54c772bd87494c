// Messages between WorkerEngine (the caller's thread) and worker.ts (the model's thread).
import type { InfillRequest } from './types';

export type ToWorker =
  | { type: 'load'; id: number }
  | { type: 'infill'; id: number; request: InfillRequest }
  | { type: 'cancel'; id: number }
  | { type: 'crash' };

export type FromWorker =
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; error: { name: string; message: string } };
