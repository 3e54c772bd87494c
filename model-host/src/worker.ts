// The model's process: one LocalEngine, driven by messages from WorkerEngine (worker-client.ts)
// over the IPC channel that child_process.fork opens. Requests carry ids; a cancel message aborts
// its request between sampler steps (the sampler yields to the event loop after every step, which
// is when this process reads its messages). When the parent goes away, so does this process.
// First: onnxruntime's telemetry is forced off before the engine loads the runtime.
import './telemetry-off';
import { LocalEngine } from './engine';
import type { FromWorker, ToWorker, WireError } from './worker-protocol';

if (!process.send) throw new Error('worker.ts runs as a child process with an IPC channel (WorkerEngine forks it)');

let engine: LocalEngine | undefined;
const running = new Map<number, AbortController>();

const send = (message: FromWorker) => {
  // The parent may be gone already; nothing is listening then.
  if (process.connected) process.send?.(message);
};

function wire(error: unknown): WireError {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: 'Error', message: String(error) };
}

/**
 * One full pass over about 250 tokens of context, right after loading: the parent sizes its
 * watchdog from it (see watchdog.ts), and the session's first-run allocations are done before the
 * first real request. A failure here is left for that request to report.
 */
async function timeOnePass(local: LocalEngine): Promise<number | undefined> {
  try {
    const r = await local.infill({
      prefix: 'value = compute(value, 1)\n'.repeat(40), suffix: '', canvasLengths: [8],
      sampler: { steps: 1, blockLength: 8, temperature: 0, dualCache: false, remasking: 'low_confidence' },
      maxPrefixTokens: 256,
    });
    return r.forwards > 0 ? r.timings.sampleMs / r.forwards : undefined;
  } catch {
    return undefined;
  }
}

process.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'load': {
      const local = new LocalEngine(message.options);
      local.load().then(
        async (info) => {
          engine = local;
          send({ type: 'loaded', id: message.id, info, passMs: await timeOnePass(local) });
        },
        (error) => send({ type: 'error', id: message.id, error: wire(error) }),
      );
      break;
    }
    case 'infill': {
      if (!engine) {
        send({ type: 'error', id: message.id, error: { name: 'Error', message: 'The model worker has no model loaded' } });
        break;
      }
      const controller = new AbortController();
      running.set(message.id, controller);
      engine.infill(message.request, controller.signal).then(
        (result) => send({ type: 'result', id: message.id, result }),
        (error) => send({ type: 'error', id: message.id, error: wire(error) }),
      ).finally(() => running.delete(message.id));
      break;
    }
    case 'cancel':
      running.get(message.id)?.abort();
      break;
  }
});

// An orphaned model process would hold its memory for nothing.
process.on('disconnect', () => process.exit(0));
