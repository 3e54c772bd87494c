// Settings take effect without reloading the window: `steps` on the next completion, `device` by
// reloading the model in the running server.
import * as assert from 'node:assert/strict';
import type { DiffusionInfillApi } from '../../extension/src/main';
import { api, closeAll, isReady, modelName, openAtTypedStatement, provideInline, samples, setUserSettings, waitForStatus } from './helpers';

/** Runs one completion in sample.py and returns the latency the server reported for it. */
async function measuredLatency(a: DiffusionInfillApi): Promise<number> {
  const { editor, position } = await openAtTypedStatement(samples.python);
  const previous = a.client.status.current.lastLatencyMs;
  // The server reports a request's latency in a status notification sent before the answer,
  // on the same connection; wait briefly in case the status bar has not taken it yet.
  const reported = waitForStatus(a, 'latency reported', (s) => s.lastLatencyMs !== undefined && s.lastLatencyMs !== previous, 10_000);
  await provideInline(a, editor.document, position);
  return (await reported).lastLatencyMs!;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)]!;
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
    // Make the pass count follow `steps`: one candidate on a canvas of one block (8 tokens), and sampled tokens (greedy, the model often ends
    // a line after a token or two, and then steps hardly matter). Then steps 1 commits the block in
    // about one pass, steps 8 one token per pass. The context is reused (computed once, below), so
    // the passes are most of each request and its noisy context pass is not.
    // Every settings change also empties the server's result cache, so each request runs the model.
    restore = await setUserSettings({
      candidates: 1, blockLength: 8, 'maxTokens.singleLine': 8, 'maxTokens.multiLine': 8, cache: true, temperature: 1.5,
    });
    await measuredLatency(a);
    const few: number[] = [];
    const many: number[] = [];
    // Alternating, three times: a busy machine slows single requests, not a whole series.
    for (let round = 0; round < 3; round++) {
      await setUserSettings({ steps: 1 });
      few.push(await measuredLatency(a));
      await setUserSettings({ steps: 8 });
      many.push(await measuredLatency(a));
    }
    const ms = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(', ');
    // The context pass is a fixed cost of each request and a completion may end before the block
    // does, so the extra passes show as a clear ratio, not 8x.
    assert.ok(median(many) > 1.3 * median(few),
      `8 passes should take clearly longer than 1: steps 1: ${ms(few)} ms; steps 8: ${ms(many)} ms`);
  });

  it('device: the model is reloaded on the new device in the running server', async () => {
    const a = await api();
    await waitForStatus(a, 'ready', isReady);
    const client = a.client.languageClient;
    const current = a.client.config.get('device');
    // 'cpu' never needs a fallback, so the device the status bar shows is known; from 'cpu', go to 'auto'.
    const next = current === 'cpu' ? 'auto' : 'cpu';
    const states: string[] = [];
    const sub = a.client.status.onDidChange((s) => states.push(s.state));
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
    assert.equal(a.client.languageClient, client, 'the same language client: no restart, no reload');
    // And it completes on the new device.
    const { editor, position } = await openAtTypedStatement(samples.python);
    const items = await provideInline(a, editor.document, position);
    assert.ok(items.length >= 1, 'completions after the device change');
  });
});
