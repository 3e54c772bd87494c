// The model's process: one LocalEngine, driven by messages from WorkerEngine (worker-engine.ts)
// over the IPC channel that child_process.fork opens. Requests carry ids; a cancel message aborts
// its request between sampler steps (the sampler yields to the event loop after every step, which
// is when this process reads its messages). When the parent goes away, so does this process.
// First: onnxruntime's telemetry is forced off before the engine loads the runtime.
import '../model/telemetry-off';
import * as path from 'node:path';
import { collectAll, collectYoung } from '../decoding/collect';
import { LocalEngine } from '../engine';
import { errorText, ModelLoadError } from '../errors';
import type { InfillResult, ModelInfo } from '../types';
import { HEARTBEAT_MS } from './watchdog';
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

/** One cancellable engine call: answered with its reply, or an error; refused when no model is loaded. */
function run(id: number, call: (signal: AbortSignal) => Promise<FromWorker>): void {
  if (!engine) {
    send({ type: 'error', id, error: { name: 'Error', message: 'The model worker has no model loaded' } });
    return;
  }
  const controller = new AbortController();
  running.set(id, controller);
  heartbeat();
  call(controller.signal).then(send, (error) => send({ type: 'error', id, error: wire(error) })).finally(() => {
    running.delete(id);
    // After the reply is posted: the collection delays no answer, at most the next request's start.
    if (running.size === 0) collectYoung();
  });
}

/**
 * While requests run: a 'progress' message whenever passes were finished since the last tick, so the
 * parent bounds the time between passes, not a whole request (watchdog.ts). A tick falls between
 * passes (the sampler yields after each), and a stopped or stuck process sends nothing.
 */
let ticker: NodeJS.Timeout | undefined;
let lastProgress = 0;
function heartbeat(): void {
  if (ticker) return;
  ticker = setInterval(() => {
    if (running.size === 0) {
      clearInterval(ticker);
      ticker = undefined;
    }
    const now = engine?.progress ?? 0;
    if (now !== lastProgress) {
      lastProgress = now;
      send({ type: 'progress' });
    }
  }, HEARTBEAT_MS);
}

/**
 * One full pass over the model's whole window (ModelInfo.window: model.json's train_seq_len and
 * max_positions, capped), right after loading. It checks the window against the graph: a window
 * larger than the graph's position range fails here, as a load error, instead of in every
 * request. Its time sizes the parent's watchdog (see watchdog.ts), and the session's first-run
 * allocations are done before the first real request.
 */
async function probeWindow(local: LocalEngine, info: ModelInfo): Promise<number | undefined> {
  const window = info.window;
  const canvas = Math.min(8, Math.max(1, window - 2));
  let r: InfillResult | undefined;
  try {
    // Twice: the first pass pays the session's one-time allocations, the second is the one timed.
    for (let i = 0; i < 2; i++) r = await local.infill({
      // Every line is several tokens, so this fills the prefix budget.
      prefix: 'value = compute(value, 1)\n'.repeat(window), suffix: '', canvasLength: canvas,
      sampler: { steps: 1, blockLength: canvas, temperature: 0 },
      // reuseContext false: both runs compute the whole context (a cached one would time a canvas pass only).
      maxPrefixTokens: Math.max(0, window - 2 - canvas), maxSuffixTokens: 0, reuseContext: false,
    });
  } catch (error) {
    const manifestPath = path.join(info.path, 'model.json');
    throw new ModelLoadError(`${manifestPath} declares a window of ${window} tokens, but a pass over it fails: ${errorText(error)}`,
      manifestPath);
  }
  checkProbeOutput(r, local.vocabSize, info);
  return r && r.forwards > 0 ? r.timings.sampleMs / r.forwards : undefined;
}

/**
 * Weights that the graph can run but that are not a model (a zero-filled or foreign file of the
 * right size) give logits that are all equal or not numbers: every token then has probability
 * 1/vocab and the model writes nothing useful, forever. The probe's text is a line repeated
 * hundreds of times, which any trained model continues with confidence; only such weights give a
 * non-finite score or exactly the uniform one, and they fail the load with a clear error.
 */
function checkProbeOutput(r: InfillResult | undefined, vocab: number | undefined, info: ModelInfo): void {
  const confidence = r?.candidates[0]?.confidence;
  const uniform = vocab ? -Math.log(vocab) : undefined;
  const degenerate = confidence === undefined || !Number.isFinite(confidence)
    || (uniform !== undefined && Math.abs(confidence - uniform) < 0.01);
  if (!degenerate) return;
  const manifestPath = path.join(info.path, 'model.json');
  throw new ModelLoadError(`The model in ${info.path} loads, but its output is ${confidence === undefined || !Number.isFinite(confidence)
    ? 'not a number' : 'the same for every token'}: its weights files are empty (zero-filled), damaged or not the ones this graph was exported with`,
  manifestPath);
}

process.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'load': {
      const local = new LocalEngine(message.options);
      local.load().then(async (info) => {
        const passMs = await probeWindow(local, info);
        // The tokenizer's parsed JSON and the probe's full-window K/V are garbage now: tens of MB
        // that V8 would otherwise keep until its next full collection.
        collectAll();
        engine = local;
        send({ type: 'loaded', id: message.id, info, passMs });
      }).catch((error) => send({ type: 'error', id: message.id, error: wire(error) }));
      break;
    }
    case 'infill':
      run(message.id, (signal) => engine!.infill(message.request, signal).then((result) => ({ type: 'result', id: message.id, result })));
      break;
    case 'prefill':
      run(message.id, (signal) => engine!.prefill(message.request, signal).then((context) => ({ type: 'prefilled', id: message.id, context })));
      break;
    case 'cancel':
      running.get(message.id)?.abort();
      break;
    case 'forget':
      engine?.forget(message.document);
      break;
  }
});

// An orphaned model process would hold its memory for nothing.
process.on('disconnect', () => process.exit(0));
