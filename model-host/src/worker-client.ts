// WorkerEngine: the InfillEngine the language server uses. The model runs in a worker thread so the
// server's message loop never blocks; a cancel takes effect between sampler steps; a worker that
// crashes fails its in-flight requests with a clear error and is started again on the next request.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ModelLoadError } from './manifest';
import { CancelledError } from './sampler';
import type { EngineOptions, InfillEngine, InfillRequest, InfillResult, ModelInfo } from './types';
import type { FromWorker, ToWorker } from './worker-protocol';

interface Pending { resolve: (v: unknown) => void; reject: (e: Error) => void }

const MAX_RESTARTS = 5;          // within RESTART_WINDOW_MS; beyond that the model is considered broken
const RESTART_WINDOW_MS = 60_000;

export class WorkerEngine implements InfillEngine {
  private worker: Worker | undefined;
  private ready: Promise<ModelInfo> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private crashes: number[] = [];
  private disposed = false;

  constructor(private readonly options: EngineOptions, private readonly workerScript = path.join(__dirname, 'worker.js')) {}

  load(): Promise<ModelInfo> {
    if (this.disposed) return Promise.reject(new Error('engine disposed'));
    if (!this.ready) {
      try {
        this.worker = this.spawn();
      } catch (e) {
        return Promise.reject(e);
      }
      this.ready = this.call<ModelInfo>({ type: 'load', id: this.nextId++ });
      this.ready.catch(() => { this.ready = undefined; });
    }
    return this.ready;
  }

  async infill(request: InfillRequest, signal?: AbortSignal): Promise<InfillResult> {
    if (signal?.aborted) throw new CancelledError();
    await this.load();
    const id = this.nextId++;
    const onAbort = () => this.worker?.postMessage({ type: 'cancel', id } satisfies ToWorker);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.call<InfillResult>({ type: 'infill', id, request });
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Test hook: make the worker exit as a crash would. */
  crashForTest(): void {
    this.worker?.postMessage({ type: 'crash' } satisfies ToWorker);
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const w = this.worker;
    this.worker = undefined;
    this.ready = undefined;
    if (w) await w.terminate();
  }

  private call<T>(msg: ToWorker & { id: number }): Promise<T> {
    const worker = this.worker;
    if (!worker) return Promise.reject(new Error('model worker is not running'));
    return new Promise<T>((resolve, reject) => {
      this.pending.set(msg.id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage(msg);
    });
  }

  private spawn(): Worker {
    const now = Date.now();
    this.crashes = this.crashes.filter((t) => now - t < RESTART_WINDOW_MS);
    if (this.crashes.length >= MAX_RESTARTS) {
      throw new Error(`the model worker crashed ${this.crashes.length} times in a minute; not restarting it`);
    }
    const worker = new Worker(this.workerScript, { workerData: this.options });
    worker.on('message', (msg: FromWorker) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.type === 'result') p.resolve(msg.value);
      else p.reject(rebuild(msg.error));
    });
    const fail = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.ready = undefined; // the next request starts and loads a new worker
      if (!this.disposed) this.crashes.push(Date.now());
      for (const [, p] of this.pending) p.reject(new Error(`model worker stopped: ${why}`));
      this.pending.clear();
    };
    worker.on('error', (e) => fail(e.message));
    worker.on('exit', (code) => fail(`exit code ${code}`));
    return worker;
  }
}

function rebuild(e: { name: string; message: string }): Error {
  if (e.name === 'CancelledError') return new CancelledError();
  if (e.name === 'ModelLoadError') return new ModelLoadError(e.message);
  return new Error(e.message);
}
