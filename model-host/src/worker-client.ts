// WorkerEngine: the LocalEngine in a child process, so that model passes never block the caller's
// event loop, and a crash in the native runtime (or a kill) takes down only that process, never
// the language server. (A worker thread shares the process: terminating one during an
// onnxruntime run aborts everything.) Each request has an id; aborting its signal sends a cancel
// message, which takes effect at the sampler's next step. If the worker dies, every request in
// flight is rejected with an error saying so, and the next request starts a new worker (and
// reloads the model), with a growing delay and a limit on crashes in a row.

import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { ModelLoadError } from './manifest';
import { CancelledError } from './sampler';
import type { EngineOptions, InfillEngine, InfillRequest, InfillResult, ModelInfo } from './types';
import type { FromWorker, ToWorker, WireError } from './worker-protocol';

/** Crashes in a row (without a successful request between them) after which the engine gives up. */
const MAX_CRASHES_IN_A_ROW = 5;
const RESTART_DELAY_MS = [0, 100, 500, 1000, 2000];

interface Pending {
  resolve: (value: never) => void;
  reject: (error: Error) => void;
}

export class WorkerEngine implements InfillEngine {
  private worker: ChildProcess | undefined;
  private ready: Promise<ModelInfo> | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private crashes = 0;
  private disposed = false;

  /** `workerScript` defaults to worker.js next to this file (out/model-host/src/ or dist/). */
  constructor(
    private readonly options: EngineOptions,
    private readonly workerScript = path.join(__dirname, 'worker.js'),
  ) {}

  /** Starts the worker and loads the model in it; a model error rejects with ModelLoadError. */
  load(): Promise<ModelInfo> {
    if (this.disposed) return Promise.reject(new Error('The engine was disposed'));
    if (!this.ready) {
      const ready = this.start();
      this.ready = ready;
      // A failed load is not kept: the next call tries again.
      ready.catch(() => {
        if (this.ready === ready) this.ready = undefined;
      });
    }
    return this.ready;
  }

  async infill(request: InfillRequest, signal?: AbortSignal): Promise<InfillResult> {
    if (signal?.aborted) throw new CancelledError();
    await this.load();
    if (signal?.aborted) throw new CancelledError();
    const id = this.nextId++;
    const onAbort = () => this.post({ type: 'cancel', id });
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await this.request<InfillResult>({ type: 'infill', id, request });
      this.crashes = 0;
      return result;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.ready = undefined;
    this.failAll(new Error('The engine was disposed'));
    if (worker) await stop(worker);
  }

  /** Kills the worker as a crash would (tests only). */
  crashForTest(): void {
    this.worker?.kill('SIGKILL');
  }

  private async start(): Promise<ModelInfo> {
    if (this.crashes >= MAX_CRASHES_IN_A_ROW) {
      throw new Error(`The model worker crashed ${this.crashes} times in a row; not starting it again`);
    }
    const delay = RESTART_DELAY_MS[Math.min(this.crashes, RESTART_DELAY_MS.length - 1)];
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    if (this.disposed) throw new Error('The engine was disposed');
    // No inherited execArgv (an --inspect port, test runner flags), and the worker's output goes to
    // our stderr: under `--stdio` our stdout is the protocol channel.
    const worker = fork(this.workerScript, [], { execArgv: [], stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'advanced' });
    this.worker = worker;
    for (const stream of [worker.stdout, worker.stderr]) {
      if (stream) readline.createInterface({ input: stream }).on('line', (line) => process.stderr.write(`[model worker] ${line}\n`));
    }
    worker.on('message', (message: FromWorker) => this.receive(message));
    worker.on('error', (error) => this.lost(worker, `error: ${error.message}`));
    worker.on('exit', (code, signal) => this.lost(worker, signal ? `signal ${signal}` : `exit code ${code}`));
    try {
      return await this.request<ModelInfo>({ type: 'load', id: this.nextId++, options: this.options });
    } catch (error) {
      // A worker without a model is of no use; a later load() starts a fresh one.
      if (this.worker === worker) {
        this.worker = undefined;
        void stop(worker);
      }
      throw error;
    }
  }

  private request<T>(message: ToWorker): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.set(message.id, { resolve: resolve as (value: never) => void, reject });
      this.post(message);
    });
  }

  private post(message: ToWorker): void {
    const worker = this.worker;
    // A worker that is exiting drops the message; its 'exit' event fails what it had.
    if (worker?.connected) worker.send(message, (error) => error && this.lost(worker, `send failed: ${error.message}`));
  }

  private receive(message: FromWorker): void {
    const p = this.pending.get(message.id);
    if (!p) return;
    this.pending.delete(message.id);
    if (message.type === 'error') p.reject(revive(message.error));
    else p.resolve((message.type === 'loaded' ? message.info : message.result) as never);
  }

  /** The worker is gone: fail what it had, and let the next request start another. */
  private lost(worker: ChildProcess, reason: string): void {
    if (worker !== this.worker) return;
    this.worker = undefined;
    this.ready = undefined;
    if (this.disposed) return;
    this.crashes++;
    this.failAll(new Error(`The model worker stopped (${reason}); the next request starts a new one`));
  }

  private failAll(error: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(error);
  }
}

/** Ends a worker: closing the channel lets it exit by itself; a kill follows if it does not. */
function stop(worker: ChildProcess): Promise<void> {
  if (worker.exitCode !== null || worker.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => worker.kill('SIGKILL'), 2000);
    worker.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    if (worker.connected) worker.disconnect();
    else worker.kill('SIGKILL');
  });
}

/** Rebuilds an error from the worker as the class the caller checks for. */
function revive(e: WireError): Error {
  if (e.name === 'CancelledError') return new CancelledError();
  const error = e.name === 'ModelLoadError' ? new ModelLoadError(e.message) : new Error(e.message);
  if (e.stack) error.stack = e.stack;
  return error;
}
