// auto's choice without a GPU: the probe's timing rules (warm-up not counted, best run counts, an
// early stop for a provider that cannot win) and the verdict both ways, including the GPU-wins
// branch that no hardware here can take; and which providers each setting tries.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { timePass, verdict, wantedProviders } from '../../model-host/src/model/device';

/** A pass that takes the next of `ms` (busy-waiting keeps the timing honest). */
function passes(ms: number[]): () => Promise<void> {
  return async () => {
    const end = performance.now() + (ms.shift() ?? 0);
    while (performance.now() < end) { /* wait */ }
  };
}

test('the warm-up is not counted and the best timed run is', async () => {
  const t = await timePass(passes([80, 60, 5]), 2);
  assert.ok(t.warmupMs >= 80 && t.ms >= 5 && t.ms < 60, JSON.stringify(t));
  assert.equal(t.gaveUp, undefined);
});

test('a warm-up past the bound ends the probe; so does one clearly slower run', async () => {
  const slowStart = await timePass(passes([50, 1, 1]), 2, 20);
  assert.equal(slowStart.gaveUp, true);
  assert.ok(slowStart.ms >= 50);
  const pending = [5, 40, 1];
  const clearlySlower = await timePass(passes(pending), 2, Infinity, 30);
  assert.ok(clearlySlower.ms >= 40);
  assert.deepEqual(pending, [1], 'no second timed run');
});

test('the verdict keeps a GPU only when its probe beats the CPU\'s, and says why', () => {
  const cpu = { ms: 40, warmupMs: 50 };
  assert.deepEqual(verdict('webgpu', { ms: 12, warmupMs: 900 }, cpu),
    { faster: true, reason: 'webgpu: probe pass 12.0 ms on webgpu vs 40.0 ms on the CPU, so webgpu' });
  assert.deepEqual(verdict('dml', { ms: 55, warmupMs: 90 }, cpu),
    { faster: false, reason: 'dml: probe pass 55.0 ms on dml vs 40.0 ms on the CPU, so the CPU' });
  assert.match(verdict('webgpu', { ms: 7000, warmupMs: 7000, gaveUp: true }, cpu).reason, /7000 ms on webgpu \(its warm-up; not timed further\)/);
});

test('each setting tries its providers', () => {
  assert.deepEqual(wantedProviders('auto', 'linux'), ['cuda', 'webgpu']);
  assert.deepEqual(wantedProviders('auto', 'win32'), ['dml', 'webgpu']);
  assert.deepEqual(wantedProviders('auto', 'darwin'), ['coreml']);
  assert.deepEqual(wantedProviders('cpu', 'linux'), []);
  assert.deepEqual(wantedProviders('webgpu', 'darwin'), ['webgpu']);
});
