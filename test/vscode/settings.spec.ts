// Settings take effect without reloading the window: `steps` on the next completion, `device` by
// reloading the model in the running server.
import * as assert from 'node:assert/strict';
import type { DiffusionInfillApi } from '../../extension/src/main';
import { api, closeAll, isReady, modelName, openAtEmptyLine, provideInline, setUserSettings, waitForStatus } from './helpers';

/** Runs one completion on the empty line of sample.py and returns the latency the server reported. */
async function measuredLatency(a: DiffusionInfillApi): Promise<number> {
  const { editor, position } = await openAtEmptyLine('sample.py', 13);
  const previous = a.ctx.status.current.lastLatencyMs;
  // The server reports a request's latency in a status notification sent before the answer,
  // on the same connection; wait briefly in case the status bar has not taken it yet.
  const reported = waitForStatus(a, 'latency reported', (s) => s.lastLatencyMs !== undefined && s.lastLatencyMs !== previous, 10_000);
  await provideInline(a, editor.document, position);
  return (await reported).lastLatencyMs!;
}

describe('settings apply without a reload', () => {
  let restore: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await restore?.();
    restore = undefined;
    await closeAll();
  });

  it('steps: more denoising steps, more model passes, a slower completion', async () => {
    const a = await api();
    await waitForStatus(a, 'ready', isReady);
    // Make the pass count follow `steps` exactly: no early commits above a confidence threshold,
    // no cheap cached passes, one candidate, a long multi-line canvas (8 blocks of 8 tokens).
    // steps 8 = one pass per block (8 passes); steps 64 = one token per pass (64 passes).
    // A settings change also empties the server's result cache, so each measurement runs the model.
    restore = await setUserSettings({
      confidenceThreshold: 0, cache: false, candidates: 1, blockLength: 8, 'maxTokens.multiLine': 64, steps: 8,
    });
    const few = await measuredLatency(a);
    await setUserSettings({ steps: 64 });
    const many = await measuredLatency(a);
    await setUserSettings({ steps: 8 });
    const fewAgain = await measuredLatency(a);
    const fast = Math.max(few, fewAgain);
    assert.ok(many > 2 * fast,
      `64 steps should take well over twice as long as 8 (8x the passes): 8 steps ${few.toFixed(0)} / ${fewAgain.toFixed(0)} ms, 64 steps ${many.toFixed(0)} ms`);
  });

  it('device: the model is reloaded on the new device in the running server', async () => {
    const a = await api();
    await waitForStatus(a, 'ready', isReady);
    const client = a.ctx.client;
    const current = a.ctx.config.device;
    // 'cpu' never needs a fallback, so the device the status bar shows is known; from 'cpu', go to 'auto'.
    const next = current === 'cpu' ? 'auto' : 'cpu';
    const states: string[] = [];
    const sub = a.ctx.status.onDidChange((s) => states.push(s.state));
    try {
      restore = await setUserSettings({ device: next });
      await waitForStatus(a, 'loading', (s) => s.state === 'loading' || states.includes('loading'), 30_000);
      const status = await waitForStatus(a, 'ready again', isReady);
      if (next === 'cpu') assert.equal(status.device, 'cpu');
      else assert.ok(status.device, 'a device is shown');
      assert.equal(status.model, modelName(a));
    } finally {
      sub.dispose();
    }
    assert.equal(a.ctx.client, client, 'the same language client: no restart, no reload');
    // And it completes on the new device.
    const { editor, position } = await openAtEmptyLine('sample.py', 13);
    const items = await provideInline(a, editor.document, position);
    assert.ok(items.length >= 1, 'completions after the device change');
  });
});
