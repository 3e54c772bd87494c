// The worker thread: owns a LocalEngine and serves load/infill/cancel messages from worker-client.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { LocalEngine } from './engine';
import { ModelLoadError } from './manifest';
import { CancelledError } from './sampler';
import type { EngineOptions } from './types';
import type { ToWorker, FromWorker } from './worker-protocol';

const port = parentPort!;
const engine = new LocalEngine(workerData as EngineOptions);
const running = new Map<number, AbortController>();
const send = (msg: FromWorker) => port.postMessage(msg);

port.on('message', async (msg: ToWorker) => {
  switch (msg.type) {
    case 'load':
      try {
        send({ type: 'result', id: msg.id, value: await engine.load() });
      } catch (e) {
        send({ type: 'error', id: msg.id, error: describe(e) });
      }
      break;
    case 'infill': {
      const ac = new AbortController();
      running.set(msg.id, ac);
      try {
        send({ type: 'result', id: msg.id, value: await engine.infill(msg.request, ac.signal) });
      } catch (e) {
        send({ type: 'error', id: msg.id, error: describe(e) });
      } finally {
        running.delete(msg.id);
      }
      break;
    }
    case 'cancel':
      running.get(msg.id)?.abort();
      break;
    case 'crash': // for tests: a worker that dies mid-flight must not take the server with it
      process.exit(70);
  }
});

function describe(e: unknown): { name: string; message: string } {
  if (e instanceof CancelledError || e instanceof ModelLoadError) return { name: e.name, message: e.message };
  return { name: 'Error', message: e instanceof Error ? e.message : String(e) };
}
