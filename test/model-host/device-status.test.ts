// What the language server tells the user about the device, with a fake engine: the status after
// loading names the device and why it was chosen (the status bar's tooltip shows it, the log
// line has it), and when a GPU fails mid-session the engine's result says it moved to the CPU:
// the status changes to cpu with that reason, the log says so, and the request is answered.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ModelService } from '../../language-server/src/model-service';
import type { ServerStatusParams } from '../../language-server/src/protocol';
import { defaultSettings } from '../../language-server/src/settings';
import type { InfillEngine, InfillResult, ModelInfo } from '../../model-host/src/types';
import { repoRoot } from '../helpers/paths';

const info: ModelInfo = {
  name: 'fake', path: '/fake', parameters: 1, window: 512, provider: 'webgpu', providerNotes: ['cuda: not installed'],
  deviceReason: 'auto: webgpu: probe pass 12 ms on webgpu vs 40 ms on the CPU, so webgpu', loadMs: 1,
};

function result(device?: InfillResult['device']): InfillResult {
  return {
    candidates: [{ text: 'x', confidence: -0.1, canvasLength: 8, tokens: 1, steps: 1, truncated: false }],
    timings: { tokenizeMs: 0, sampleMs: 1, totalMs: 1, modelMs: 1, contextMs: 0 },
    forwards: 1, canvasPasses: 1, context: { tokens: 4, computed: 4, reused: 0 }, prefixTokens: 2, suffixTokens: 1, device,
  };
}

test('the status and the log carry the device, its reason, and a fall back to the CPU', async () => {
  const statuses: ServerStatusParams[] = [];
  const logs: string[] = [];
  const answers = [result({ provider: 'webgpu', reason: info.deviceReason, notes: info.providerNotes }),
    result({ provider: 'cpu', reason: 'webgpu failed during a pass, so the CPU', notes: [...info.providerNotes, 'webgpu: failed during a pass (Device lost); moved to the CPU and ran the pass again'] })];
  const engine: InfillEngine = {
    load: async () => info,
    infill: async () => answers.shift()!,
    dispose: async () => undefined,
  };
  const service = new ModelService(() => engine, repoRoot, (s) => statuses.push(s), (m) => logs.push(m));
  const settings = { ...defaultSettings(repoRoot), device: 'auto' as const };
  service.configure(settings);
  const plan = { mode: 'single-line' as const, maxTokens: 8, canvasLength: 8, candidates: 1 };
  const context = { prefix: 'a', suffix: 'b', document: 'file:///a.py' };
  await service.infill(plan, context, settings, new AbortController().signal);
  const ready = statuses.find((s) => s.state === 'ready');
  assert.deepEqual([ready?.device, ready?.deviceReason], ['webgpu', info.deviceReason]);
  assert.ok(logs.some((l) => l.includes(`on webgpu in 1 ms: ${info.deviceReason} (cuda: not installed)`)), logs.join('\n'));

  const answered = await service.infill(plan, context, settings, new AbortController().signal);
  assert.equal(answered.candidates[0].text, 'x', 'the request is answered');
  const last = statuses.filter((s) => s.state === 'ready').at(-1);
  assert.equal(last?.device, 'cpu');
  assert.equal(last?.deviceReason, 'webgpu failed during a pass, so the CPU');
  assert.ok(logs.some((l) => l.startsWith('Now on cpu: webgpu failed during a pass, so the CPU (webgpu: failed during a pass (Device lost)')), logs.join('\n'));
  await service.dispose();
});
