// WorkerEngine: the engine in a child process (the compiled out/model-host/src/worker/worker.js).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { CancelledError } from '../../model-host/src/errors';
import { WorkerEngine } from '../../model-host/src/worker/worker-engine';
import { ENGINE_SETTINGS } from '../../model-host/src/settings/engine-settings';
import type { InfillRequest } from '../../model-host/src/types';
import { repoRoot, tinyModel } from '../helpers/paths';

const tiny = tinyModel;
const workerScript = path.join(repoRoot, 'out/model-host/src/worker/worker.js');
const req = (canvas: number, steps: number): InfillRequest => ({
  prefix: 'function add(a: number, b: number): number {\n  return ', suffix: ';\n}\n', canvasLength: canvas,
  sampler: { steps, blockLength: 8, temperature: 0, minTokens: 64 },
  maxPrefixTokens: ENGINE_SETTINGS.maxPrefixTokens.default, maxSuffixTokens: ENGINE_SETTINGS.maxSuffixTokens.default,
});

test('the default worker script is worker.js next to the client', () => {
  // Compiled tests run the client from out/model-host/src/worker/, where tsc also puts worker.js.
  const engine = new WorkerEngine({ modelDir: tiny, provider: 'cpu' });
  assert.equal((engine as unknown as { workerScript: string }).workerScript, workerScript);
});

test('infill runs in the worker while the caller\'s event loop stays free', async () => {
  const engine = new WorkerEngine({ modelDir: tiny, provider: 'cpu', threads: 1 }, workerScript);
  try {
    const info = await engine.load();
    assert.equal(info.name, 'tiny');
    assert.equal(info.provider, 'cpu');
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const r = await engine.infill(req(64, 64));
    clearInterval(timer);
    assert.equal(r.candidates.length, 1);
    assert.equal(r.candidates[0].tokens, 64, 'minTokens 64 forbids padding');
    // Each step commits one token; the first comes from the context's logits.
    assert.equal(r.candidates[0].steps, 63);
    // A step whose only masked position is a block's first needs no pass (the pass that appended
    // the block before gave its logits): at most one such step in each of the 7 later blocks.
    assert.ok(r.canvasPasses >= 63 - 7 && r.canvasPasses <= 63, `block passes: ${r.canvasPasses}`);
    assert.equal(r.forwards, r.canvasPasses + 1, 'the context pass and the block passes');
    assert.ok(ticks > 0, 'the caller ran timers while the worker sampled');
  } finally {
    await engine.dispose();
  }
});

test('a cancel message stops the worker between steps', async () => {
  const engine = new WorkerEngine({ modelDir: tiny, provider: 'cpu', threads: 1 }, workerScript);
  try {
    await engine.load();
    const ac = new AbortController();
    const started = Date.now();
    const full = await engine.infill(req(64, 64));
    const fullMs = Date.now() - started;
    const run = engine.infill(req(64, 64), ac.signal);
    setTimeout(() => ac.abort(), 5);
    const t0 = Date.now();
    await assert.rejects(run, CancelledError);
    assert.ok(Date.now() - t0 < fullMs + 50, 'it did not run to the end');
    assert.equal(full.candidates.length, 1);
    const done = new AbortController();
    done.abort();
    await assert.rejects(engine.infill(req(8, 8), done.signal), CancelledError);
    assert.equal((await engine.infill(req(8, 8))).candidates.length, 1, 'still serving after cancels');
  } finally {
    await engine.dispose();
  }
});

/** Polls until `ready()` is true (tests of process deaths wait on the engine's own state). */
async function until(ready: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Infill requests the engine has sent to a worker and not had answered. */
const inFlight = (engine: WorkerEngine) =>
  [...(engine as unknown as { pending: Map<number, { kind: string }> }).pending.values()].filter((p) => p.kind === 'infill').length;

test('a crashed worker\'s requests are served again by a new worker, once; a second crash fails them', async () => {
  const engine = new WorkerEngine({ modelDir: tiny, provider: 'cpu', threads: 1 }, workerScript);
  try {
    await engine.load();
    const a = engine.infill(req(64, 64));
    const b = engine.infill(req(8, 8));
    await new Promise((resolve) => setTimeout(resolve, 5));
    engine.crashForTest();
    assert.equal((await a).candidates.length, 1, 'served by the new worker');
    assert.equal((await b).candidates.length, 1, 'served by the new worker');
    // The same request losing its worker twice is not tried a third time.
    const c = engine.infill(req(64, 64));
    const first = engine.workerPid;
    await until(() => inFlight(engine) > 0, 'the request in the worker');
    engine.crashForTest();
    await until(() => engine.workerPid !== undefined && engine.workerPid !== first && inFlight(engine) > 0, 'the retry on a new worker');
    engine.crashForTest();
    await assert.rejects(c, /The model worker stopped/);
    const r = await engine.infill(req(8, 8));
    assert.equal(r.candidates.length, 1);
    // And once more, past the first restart's delay.
    engine.crashForTest();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal((await engine.infill(req(8, 8))).candidates.length, 1);
  } finally {
    await engine.dispose();
  }
});

test('a model error reaches the caller as a ModelLoadError, and a missing script as a worker error', async () => {
  const engine = new WorkerEngine({ modelDir: '/nonexistent/model', provider: 'cpu' }, workerScript);
  try {
    await assert.rejects(engine.load(), (e: Error) => e.name === 'ModelLoadError' && /Model folder not found/.test(e.message));
    await assert.rejects(engine.infill(req(8, 8)), (e: Error) => e.name === 'ModelLoadError');
  } finally {
    await engine.dispose();
  }
  const broken = new WorkerEngine({ modelDir: tiny, provider: 'cpu' }, path.join(repoRoot, 'out/no-such-worker.js'));
  try {
    await assert.rejects(broken.load(), /The model worker stopped/);
  } finally {
    await broken.dispose();
  }
});

test('dispose rejects requests in flight and later calls', async () => {
  const engine = new WorkerEngine({ modelDir: tiny, provider: 'cpu', threads: 1 }, workerScript);
  await engine.load();
  const run = engine.infill(req(64, 64));
  await new Promise((resolve) => setTimeout(resolve, 5));
  const rejected = assert.rejects(run, /disposed/);
  await engine.dispose();
  await rejected;
  await assert.rejects(engine.load(), /disposed/);
});
