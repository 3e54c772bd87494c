// A whole completion through the compiled language server (and its model worker) with
// `device: webgpu`, on the default model through SwiftShader (test/helpers/swiftshader.ts): the
// status says webgpu and why, and the completion is the one the CPU writes for the same hole.
// Software rendering is slow (a pass over 40 tokens takes seconds), so the file is short, the
// canvas small, and the model is the default's graph, weights and tokenizer (hard-linked) under a
// model.json that declares a 32-token window: the worker runs two passes over the whole window
// when it loads (worker.ts, probeWindow), 290 tokens of the real manifest took 90 s here.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LspServerProcess, positionOf } from '../language-server/lsp-harness';
import { modelsDir, repoRoot } from '../helpers/paths';
import { useSwiftShader } from '../helpers/swiftshader';

const uri = 'file:///work/stats.py';
const text = 'def mean(values):\n    total = sum(values)\n    return total / \n';
const WINDOW = 32;

/** The default model with a smaller declared window, in a temporary folder. */
function defaultModelWithWindow(window: number): string {
  const src = path.join(modelsDir, 'default');
  // Hard links (the engine refuses files that resolve outside the model folder), so on the same
  // file system as the model: under out/, the compiled tests' folder.
  const dir = fs.mkdtempSync(path.join(repoRoot, 'out', 'di-webgpu-'));
  const manifest = JSON.parse(fs.readFileSync(path.join(src, 'model.json'), 'utf8'));
  for (const f of [manifest.files.onnx, manifest.files.tokenizer, ...manifest.files.weights]) fs.linkSync(path.join(src, f), path.join(dir, f));
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ ...manifest, train_seq_len: window }));
  return dir;
}

let modelPath: string;
let settings: Record<string, unknown>;

let gpu: LspServerProcess;
let cpu: LspServerProcess;

before(() => {
  useSwiftShader();
  modelPath = defaultModelWithWindow(WINDOW);
  settings = { modelPath, debounceMs: 0, ghostTextBudgetMs: 0, maxTokensSingleLine: 8, maxTokensMultiLine: 8 };
});

after(async () => {
  await gpu?.stop();
  await cpu?.stop();
  if (modelPath) fs.rmSync(modelPath, { recursive: true, force: true });
});

test('a completion through the server on webgpu equals the CPU\'s', { timeout: 240_000 }, async (t) => {
  gpu = LspServerProcess.start('stdio');
  let t0 = performance.now();
  await gpu.initialize({ ...settings, device: 'webgpu' });
  const ready = await gpu.waitForStatus((s) => s.state === 'ready' || s.state === 'error', 200_000);
  assert.equal(ready.state, 'ready', ready.message);
  assert.equal(ready.device, 'webgpu', gpu.stderr);
  assert.equal(ready.deviceReason, 'set to webgpu');
  t.diagnostic(`webgpu server ready in ${Math.round(performance.now() - t0)} ms`);
  await gpu.open(uri, 'python', text);
  const cursor = positionOf(text, 'total / ', true);
  t0 = performance.now();
  const onGpu = await gpu.inline(uri, cursor);
  t.diagnostic(`webgpu completion in ${Math.round(performance.now() - t0)} ms: ${JSON.stringify(onGpu.map((i) => i.insertText))}`);
  assert.equal(onGpu.length, 1);
  assert.doesNotMatch(gpu.stderr, /Engine error|failed during a pass/);

  cpu = LspServerProcess.start('stdio');
  await cpu.initialize({ ...settings, device: 'cpu' });
  const cpuReady = await cpu.waitForStatus((s) => s.state === 'ready' || s.state === 'error', 120_000);
  assert.equal(cpuReady.device, 'cpu');
  await cpu.open(uri, 'python', text);
  const onCpu = await cpu.inline(uri, cursor);
  t.diagnostic(`cpu: ${JSON.stringify(onCpu.map((i) => i.insertText))}`);
  assert.equal(onGpu[0].insertText, onCpu[0].insertText);
  assert.ok(String(onGpu[0].insertText).length > 0);
});
