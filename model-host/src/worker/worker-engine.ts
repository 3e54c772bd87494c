// WorkerEngine: the LocalEngine in a child process, so that model passes never block the caller's
// event loop, and a crash in the native runtime (or a kill) takes down only that process, never
// the language server. (A worker thread shares the process: terminating one during an
// onnxruntime run aborts everything.)
//
// Nothing waits on the worker without a bound. Each request has an id and a kill bound: a load has
// a fixed one, and a request must see the worker finish a pass (its replies and 'progress'
// messages) within WatchdogClock's bound of one pass, whatever its settings; a worker that misses
// one is killed with SIGKILL (a stopped process ignores everything else) and the next request
// starts a fresh one. A cancelled request is answered at once, whatever state the worker is in;
// its kill bound still runs, so a worker that never acknowledges the cancel is found out too.
//
// One load at a time: a worker that dies while loading is replaced by the load itself (it tries
// again), and callers meanwhile wait for that load instead of starting their own; a second load
// would start a second worker, and one of the two would never be used nor stopped.
//
// When the worker dies, requests that did not cause it (or may not have: a kill from outside, a
// request sent before its death was noticed) are retried once on a fresh worker, so the first
// request after a death is served, not failed. A request that hit its kill bound is not retried: it
// would hang again. A load that the worker's death interrupts is started again. Crashes in a row
// (with growing delays) are limited, so a model that kills the runtime every time gives up.

import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { CancelledError, ModelLoadError, WorkerLostError, WorkerTimeoutError } from '../errors';
import { SharedLoad } from '../model/shared-load';
import { withTelemetryOff } from '../model/telemetry-off';
import type { ContextReport, EngineOptions, InfillEngine, InfillRequest, InfillResult, ModelInfo } from '../types';
import { LOAD_KILL_BOUND_MS, WatchdogClock } from './watchdog';
import type { FromWorker, ToWorker, WireError } from './worker-protocol';

/** Crashes in a row (without a successful request between them) after which the engine gives up. */
const MAX_CRASHES_IN_A_ROW = 5;
const RESTART_DELAY_MS = [0, 100, 500, 1000, 2000];
/** Workers started for one load() when each dies before the model is loaded. */
const LOAD_ATTEMPTS = 3;

interface Pending {
  kind: ToWorker['type'];
  worker: ChildProcess;
  /** When the watchdog kills the worker unless it shows progress first (Date.now()). */
  killAt: number;
  killBoundMs: number;
  /** Infill and prefill: the kill time moves on with every sign of progress from the worker. */
  extendable: boolean;
  timer: NodeJS.Timeout;
  /** False once the caller has its answer (a cancel); the entry stays until the worker replies. */
  open: boolean;
  resolve: (value: never) => void;
  reject: (error: Error) => void;
}

/**
 * The worker's memory for a pass comes from the C allocator, not from onnxruntime's CPU arena
 * (cpuArena false): the arena keeps, for the life of the process, the most that any pass needed.
 * glibc in turn raises its mmap threshold each time a large block is freed, up to 32 MiB, after
 * which large short-lived blocks (logits, K/V, the runtime's scratch) come from heaps that never
 * shrink; a fixed threshold keeps them mapped and returned when freed. 512 KiB, not less: below
 * it lie the per-layer blocks of a block pass (a layer's keys with the cache), which the heap then
 * reuses instead of mapping fresh zeroed pages every pass; a lower threshold made cold requests
 * slower, and without the arena the peak is no higher and requests no slower (docs/measurements.md,
 * "Memory", for the measurements). Other C libraries ignore it; a user's value wins.
 */
const MALLOC_SETTINGS = { MALLOC_MMAP_THRESHOLD_: '524288' };

/**
 * V8's young generation defaults to 16 MiB semi-spaces; the worker's short-lived JS objects are
 * small (the big ones, logits and K/V, live outside the JS heap), so 4 MiB serves as well: a smaller
 * peak with the worker driven as the server drives it, and no slower.
 * --expose-gc lets the context cache free a dropped document's K/V at once (collect.ts).
 */
const WORKER_EXEC_ARGV = ['--max-semi-space-size=4', '--expose-gc'];

export class WorkerEngine implements InfillEngine {
  private worker: ChildProcess | undefined;
  /** The worker with the model loaded in it; a failed load is not kept: the next call tries again. */
  private readonly ready = new SharedLoad(() => this.startUntilLoaded());
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private crashes = 0;
  private disposed = false;
  /** startUntilLoaded is running: a worker lost now is replaced by it, not by a second load. */
  private loadRunning = false;
  private readonly clock: WatchdogClock;

  /** `workerScript` defaults to worker.js next to this file (out/model-host/src/worker/, or dist/ where esbuild bundles both). */
  constructor(
    private readonly options: EngineOptions,
    private readonly workerScript = path.join(__dirname, 'worker.js'),
    clock?: WatchdogClock,
  ) {
    this.clock = clock ?? new WatchdogClock();
  }

  /** Starts the worker and loads the model in it; a model error rejects with ModelLoadError. */
  load(): Promise<ModelInfo> {
    if (this.disposed) return Promise.reject(new Error('The engine was disposed'));
    return this.ready.get();
  }

  async infill(request: InfillRequest, signal?: AbortSignal): Promise<InfillResult> {
    try {
      return await this.attempt(request, signal);
    } catch (error) {
      if (!(error instanceof WorkerLostError) || this.disposed) throw error;
      return this.attempt(request, signal);
    }
  }

  /**
   * Warms the document's context in the worker. Not retried and not counted as a success or a
   * crash: a lost prefill only means the next completion computes its context itself.
   */
  async prefill(request: InfillRequest, signal?: AbortSignal): Promise<ContextReport> {
    if (signal?.aborted) throw new CancelledError();
    await untilAborted(this.load(), signal);
    const worker = this.worker;
    if (!worker) throw new WorkerLostError('The model worker stopped before the request reached it');
    const id = this.nextId++;
    const reply = this.request<ContextReport>(worker, { type: 'prefill', id, request }, this.clock.killBoundMs());
    const onAbort = () => {
      this.post(worker, { type: 'cancel', id });
      this.answer(id, new CancelledError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await reply;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  forget(document: string): void {
    if (this.worker) this.post(this.worker, { type: 'forget', document });
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.ready.reset();
    this.failAll(() => new Error('The engine was disposed'));
    if (worker) await stop(worker);
  }

  /** Kills the worker as a crash would (tests only). */
  crashForTest(): void {
    this.worker?.kill('SIGKILL');
  }

  /** The worker's process id, while one runs (tests send it signals). */
  get workerPid(): number | undefined {
    return this.worker?.pid;
  }

  private async attempt(request: InfillRequest, signal?: AbortSignal): Promise<InfillResult> {
    if (signal?.aborted) throw new CancelledError();
    await untilAborted(this.load(), signal);
    const worker = this.worker;
    if (!worker) throw new WorkerLostError('The model worker stopped before the request reached it');
    const id = this.nextId++;
    const reply = this.request<InfillResult>(worker, { type: 'infill', id, request }, this.clock.killBoundMs());
    const onAbort = () => {
      this.post(worker, { type: 'cancel', id });
      this.answer(id, new CancelledError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await reply;
      this.clock.observe(result);
      this.crashes = 0;
      return result;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private async startUntilLoaded(): Promise<ModelInfo> {
    this.loadRunning = true;
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.start();
        } catch (error) {
          // A worker killed while loading says nothing about the model: load again in a new one.
          // One that dies every time (a missing script, a model that crashes the runtime) is
          // reported after a few tries; the next load() tries again.
          if (!(error instanceof WorkerLostError) || this.disposed) throw error;
          if (attempt >= LOAD_ATTEMPTS) throw new Error(`${error.message} while loading the model, ${attempt} times in a row`);
        }
      }
    } finally {
      this.loadRunning = false;
    }
  }

  private async start(): Promise<ModelInfo> {
    if (this.crashes >= MAX_CRASHES_IN_A_ROW) {
      throw new Error(`The model worker crashed ${this.crashes} times in a row; not starting it again`);
    }
    const delay = RESTART_DELAY_MS[Math.min(this.crashes, RESTART_DELAY_MS.length - 1)];
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    if (this.disposed) throw new Error('The engine was disposed');
    // Only our execArgv (none inherited: an --inspect port, test runner flags); onnxruntime's telemetry off
    // whatever our environment says; the worker's output goes to our stderr: under `--stdio` our
    // stdout is the protocol channel.
    const worker = fork(this.workerScript, [], {
      execArgv: WORKER_EXEC_ARGV, env: { ...MALLOC_SETTINGS, ...withTelemetryOff(process.env) }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'advanced',
    });
    // One worker per engine: loads never overlap (see the top of the file), so there is none to
    // replace here; were there one, it is stopped rather than left running unreachable.
    if (this.worker) void stop(this.worker);
    this.worker = worker;
    process.stderr.write(`[model worker] started, pid ${worker.pid}\n`);
    for (const stream of [worker.stdout, worker.stderr]) {
      if (stream) readline.createInterface({ input: stream }).on('line', (line) => process.stderr.write(`[model worker] ${line}\n`));
    }
    worker.on('message', (message: FromWorker) => this.receive(worker, message));
    worker.on('error', (error) => this.lost(worker, `error: ${error.message}`));
    worker.on('exit', (code, signal) => this.lost(worker, signal ? `signal ${signal}` : `exit code ${code}`));
    try {
      const loaded = await this.request<{ info: ModelInfo; passMs?: number }>(worker, { type: 'load', id: this.nextId++, options: { cpuArena: false, ...this.options } }, LOAD_KILL_BOUND_MS);
      this.clock.measured(loaded.passMs);
      return loaded.info;
    } catch (error) {
      // A worker without a model is of no use; a later load() starts a fresh one.
      if (this.worker === worker) {
        this.worker = undefined;
        void stop(worker);
      }
      throw error;
    }
  }

  private request<T>(worker: ChildProcess, message: Exclude<ToWorker, { type: 'forget' }>, killBoundMs: number): Promise<T> {
    // The worker runs requests one at a time: this one's clock starts when those before it end.
    const ahead = [...this.pending.values()].filter((p) => p.worker === worker).map((p) => p.killAt);
    const killAt = Math.max(Date.now(), ...ahead) + killBoundMs;
    const extendable = message.type !== 'load' && message.type !== 'cancel';
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => this.timedOut(message.id, worker), killAt - Date.now());
      this.pending.set(message.id, { kind: message.type, worker, killAt, killBoundMs, extendable, timer, open: true, resolve: resolve as (value: never) => void, reject });
      this.post(worker, message);
    });
  }

  private post(worker: ChildProcess, message: ToWorker): void {
    // A worker that is exiting drops the message; its 'exit' event (or the kill bound) fails what it had.
    if (worker.connected) worker.send(message, (error) => error && this.lost(worker, `send failed: ${error.message}`));
  }

  /** Answers the caller now; the entry (and its kill time) stays until the worker replies. */
  private answer(id: number, error: Error): void {
    const p = this.pending.get(id);
    if (!p?.open) return;
    p.open = false;
    p.reject(error);
  }

  private receive(worker: ChildProcess, message: FromWorker): void {
    // Any message shows the worker finished a pass (or a request): the requests it holds get a
    // pass's time again, counted from now.
    this.progressed(worker);
    if (message.type === 'progress') return;
    const p = this.pending.get(message.id);
    if (!p) return;
    this.pending.delete(message.id);
    clearTimeout(p.timer);
    if (!p.open) return;
    if (message.type === 'error') p.reject(revive(message.error));
    else if (message.type === 'loaded') p.resolve({ info: message.info, passMs: message.passMs } as never);
    else if (message.type === 'prefilled') p.resolve(message.context as never);
    else p.resolve(message.result as never);
  }

  private progressed(worker: ChildProcess): void {
    const now = Date.now();
    for (const [id, p] of this.pending) {
      if (p.worker !== worker || !p.extendable) continue;
      clearTimeout(p.timer);
      p.killAt = now + p.killBoundMs;
      p.timer = setTimeout(() => this.timedOut(id, worker), p.killBoundMs);
    }
  }

  /** A kill bound passed: the worker is hung. Kill it, fail this request, retry the others elsewhere. */
  private timedOut(id: number, worker: ChildProcess): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (p.open) {
      p.reject(new WorkerTimeoutError('The model worker did not answer in time (it may be stopped or stuck); '
        + 'it was killed and the next request starts a new one'));
    }
    // For infill and prefill the bound is counted from the last pass the worker finished.
    process.stderr.write(`[model worker] pid ${worker.pid} did not answer ${p.kind} request ${id} within ${p.killBoundMs} ms; killing it\n`);
    worker.kill('SIGKILL');
    this.lost(worker, 'killed by the watchdog');
  }

  /** The worker is gone: fail what it had (as retryable), and let the next request start another. */
  private lost(worker: ChildProcess, reason: string): void {
    if (worker !== this.worker) return;
    this.worker = undefined;
    // While a load runs, it replaces the worker itself; forgetting it here would let the next
    // caller start a second load, and a second worker that nothing would use or stop.
    if (!this.loadRunning) this.ready.reset();
    if (this.disposed) return;
    this.crashes++;
    process.stderr.write(`[model worker] pid ${worker.pid} stopped (${reason})\n`);
    this.failAll(() => new WorkerLostError(`The model worker stopped (${reason})`), worker);
  }

  private failAll(error: () => Error, worker?: ChildProcess): void {
    for (const [id, p] of [...this.pending]) {
      if (worker && p.worker !== worker) continue;
      this.pending.delete(id);
      clearTimeout(p.timer);
      if (p.open) p.reject(error());
    }
  }
}

/** The promise, or CancelledError as soon as the signal aborts (the promise is left to settle alone). */
function untilAborted<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(new CancelledError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new CancelledError());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
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
