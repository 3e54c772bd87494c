// WorkerEngine: the model in a worker thread, cancelled between steps, restarted after a crash.
// Also the command-line entry, which runs the same engine in-process.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CancelledError } from '../../model-host/src/sampler';
import { WorkerEngine } from '../../model-host/src/worker-client';
import type { InfillRequest } from '../../model-host/src/types';
import { modelsDir, repoRoot } from '../helpers/paths';

const tiny = path.join(modelsDir, 'tiny');
const workerScript = path.join(repoRoot, 'out/model-host/src/worker.js');
const req = (canvas: number, steps: number): InfillRequest => ({
  prefix: 'function add(a: number, b: number): number {\n  ', suffix: '\n}\n', canvasLengths: [canvas],
  sampler: { steps, blockLength: 8, temperature: 0, dualCache: false, remasking: 'low_confidence' },
});

test('infill through the worker matches in shape, and the caller stays responsive', async () => {
  const engine = new WorkerEngine({ modelDir: tiny, provider: 'cpu', threads: 1 }, workerScript);
  try {
    const info = await engine.load();
    assert.equal(info.name, 'tiny');
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const r = await engine.infill(req(64, 64));
    clearInterval(timer);
    assert.equal(r.candidates.length, 1);
    assert.ok(r.forwards >= 1);
    assert.ok(ticks > 0, 'the event loop ran while the worker sampled');
  } finally {
    await engine.dispose();
  }
});

test('cancellation reaches the worker between steps', async () => {
  const engine = new WorkerEngine({ modelDir: tiny, provider: 'cpu', threads: 1 }, workerScript);
  try {
    await engine.load();
    const ac = new AbortController();
    const run = engine.infill(req(64, 64), ac.signal);
    setTimeout(() => ac.abort(), 1);
    await assert.rejects(run, CancelledError);
    const after = await engine.infill(req(8, 8));
    assert.equal(after.candidates.length, 1, 'the engine still serves after a cancel');
  } finally {
    await engine.dispose();
  }
});

test('a crashed worker fails its request clearly and the next request restarts it', async () => {
  const engine = new WorkerEngine({ modelDir: tiny, provider: 'cpu', threads: 1 }, workerScript);
  try {
    await engine.load();
    const run = engine.infill(req(64, 64));
    engine.crashForTest();
    await assert.rejects(run, /model worker stopped/);
    const r = await engine.infill(req(8, 8));
    assert.equal(r.candidates.length, 1);
  } finally {
    await engine.dispose();
  }
});

test('a missing model rejects load with the model error, not a crash', async () => {
  const engine = new WorkerEngine({ modelDir: '/nonexistent/model', provider: 'cpu' }, workerScript);
  try {
    await assert.rejects(engine.load(), (e: Error) => e.name === 'ModelLoadError' && /not found/.test(e.message));
  } finally {
    await engine.dispose();
  }
});

test('the CLI fills a hole in a file and prints JSON; bad arguments exit 2, a bad model exits 3', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'di-cli-'));
  try {
    const file = path.join(dir, 'a.py');
    fs.writeFileSync(file, 'def add(a, b):\n    \n');
    const cli = path.join(repoRoot, 'out/model-host/src/cli.js');
    const out = JSON.parse(execFileSync('node', [cli, '--model', tiny, '--file', file, '--line', '1', '--col', '4', '--canvas', '8,16'], { encoding: 'utf8' }));
    assert.equal(typeof out.completion, 'string');
    assert.equal(out.candidates.length, 2);
    assert.equal(out.provider, 'cpu');
    assert.ok(out.timings.totalMs > 0);
    const status = (args: string[]) => {
      try { execFileSync('node', [cli, ...args], { stdio: 'pipe' }); return 0; } catch (e) { return (e as { status: number }).status; }
    };
    assert.equal(status(['--file', file]), 2);
    assert.equal(status(['--model', dir, '--file', file, '--line', '0', '--col', '0']), 3);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
