// The five .vsix files from `npm run package`, opened and checked file by file: each carries what
// the installed extension runs (the three bundles, the default model, onnxruntime-node's
// JavaScript) and exactly its own platform's native runtime (the files the binding loads there),
// and nothing else (other platforms' binaries, sources, tests, training, the tiny model,
// sourcemaps, the CLI). Prints each package's size.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../../scripts/tools';
import { requireModelAt } from './fixture';
import { ensureVsix, TARGETS, type Target } from './vsix';
import { listZip, readZipEntry, type ZipEntry } from './zip';

/** Decimal megabytes, as the issue and the marketplace count them. */
const MB = 1_000_000;

/** Per target: onnxruntime-node's folder, and every file a package may hold there. */
const RUNTIME: Record<Target, { dir: string; files: string[] }> = {
  'linux-x64': { dir: 'linux/x64', files: ['libonnxruntime.so.1', 'onnxruntime_binding.node'] },
  'linux-arm64': { dir: 'linux/arm64', files: ['libonnxruntime.so.1', 'onnxruntime_binding.node'] },
  // Not libonnxruntime.1.30.0.dylib: an identical copy the binding does not load.
  'darwin-arm64': { dir: 'darwin/arm64', files: ['libonnxruntime.1.dylib', 'onnxruntime_binding.node'] },
  'win32-x64': { dir: 'win32/x64', files: ['DirectML.dll', 'dxcompiler.dll', 'dxil.dll', 'onnxruntime.dll', 'onnxruntime_binding.node'] },
  'win32-arm64': { dir: 'win32/arm64', files: ['DirectML.dll', 'dxcompiler.dll', 'dxil.dll', 'onnxruntime.dll', 'onnxruntime_binding.node'] },
};

const REQUIRED = [
  'extension/package.json',
  'extension/dist/extension.js',
  'extension/dist/server.js',
  'extension/dist/worker.js',
  'extension/node_modules/onnxruntime-node/package.json',
  'extension/node_modules/onnxruntime-node/dist/index.js',
  'extension/node_modules/onnxruntime-common/package.json',
  'extension/node_modules/onnxruntime-common/dist/cjs/index.js',
];

const FORBIDDEN: [RegExp, string][] = [
  [/(?<!\.d)\.ts$/, 'TypeScript sources'],
  [/\.map$/, 'sourcemaps'],
  [/^extension\/dist\/cli\.js$/, 'the command-line tool'],
  [/^extension\/models\/default\/adapter\./, 'the adapter the default model is built from'],
  [/^extension\/(extension|language-server|model-host|test|training|bench|scripts|examples|out)\//, 'sources, tests or build output'],
  [/^extension\/docs\/(?!ghost-text\.png$)/, 'documentation other than the README\'s screenshot'],
  [/^extension\/models\/(?!default\/)/, 'models other than the default'],
  [/^extension\/node_modules\/(?!onnxruntime-(node|common)\/)/, 'packages the bundles already contain'],
  [/^extension\/node_modules\/onnxruntime-node\/(script|lib)\//, 'onnxruntime-node\'s install script and sources'],
];

test('npm run package makes one .vsix per target, each with only its own runtime', { timeout: 30 * 60_000 }, async (t) => {
  // The packages must carry the real default model, whatever model the other e2e tests were pointed at.
  requireModelAt(path.join(repoRoot, 'models', 'default'));
  const vsixes = ensureVsix(...TARGETS);
  const modelDir = path.join(repoRoot, 'models', 'default');
  const modelManifest = JSON.parse(fs.readFileSync(path.join(modelDir, 'model.json'), 'utf8'));

  for (const [i, target] of TARGETS.entries()) {
    await t.test(target, () => {
      const vsix = vsixes[i];
      const entries = listZip(vsix);
      const byName = new Map(entries.map((e) => [e.name, e]));
      const names = [...byName.keys()];
      const size = fs.statSync(vsix).size;
      const unpacked = entries.reduce((sum, e) => sum + e.size, 0);

      for (const f of REQUIRED) assert.ok(byName.has(f), `${f} is missing from the ${target} package`);

      // The native runtime: exactly this target's files, in one napi folder, nothing of another platform.
      const native = names.filter((n) => n.startsWith('extension/node_modules/onnxruntime-node/bin/'));
      const { dir, files } = RUNTIME[target];
      const own = new RegExp(`^extension/node_modules/onnxruntime-node/bin/napi-v\\d+/${dir}/([^/]+)$`);
      const foreign = native.filter((n) => !own.test(n));
      assert.deepEqual(foreign, [], `the ${target} package must carry no other platform's runtime`);
      assert.deepEqual(native.map((n) => (own.exec(n) as RegExpExecArray)[1]).sort(), [...files].sort(), `the ${target} runtime files`);
      for (const n of native) {
        const local = path.join(repoRoot, n.slice('extension/'.length));
        assert.equal(byName.get(n)!.size, fs.statSync(local).size, `${n} differs in size from the installed one`);
      }

      // The default model as the engine loads it, byte for byte the size it has here.
      for (const f of ['model.json', modelManifest.files.onnx, modelManifest.files.tokenizer, ...modelManifest.files.weights]) {
        const entry = byName.get(`extension/models/default/${f}`);
        assert.ok(entry, `models/default/${f} is missing from the ${target} package`);
        assert.equal(entry.size, fs.statSync(path.join(modelDir, f)).size, `models/default/${f} differs in size`);
      }

      for (const [pattern, what] of FORBIDDEN) {
        assert.deepEqual(names.filter((n) => pattern.test(n)), [], `the ${target} package must not contain ${what}`);
      }

      // The manifest says which platform it is for, so VS Code installs it only there.
      const manifest = readZipEntry(vsix, byName.get('extension.vsixmanifest') as ZipEntry).toString('utf8');
      assert.match(manifest, new RegExp(`TargetPlatform="${target}"`));
      const pkg = JSON.parse(readZipEntry(vsix, byName.get('extension/package.json') as ZipEntry).toString('utf8')) as { main: string };
      assert.equal(pkg.main, './dist/extension.js');

      const nativeBytes = entries.filter((e) => e.name.includes('/bin/napi-v')).reduce((sum, e) => sum + e.size, 0);
      const model = entries.filter((e) => e.name.startsWith('extension/models/default/')).reduce((sum, e) => sum + e.size, 0);
      t.diagnostic(`${path.basename(vsix)}: ${(size / MB).toFixed(1)} MB (${(unpacked / MB).toFixed(1)} MB unpacked: `
        + `runtime ${(nativeBytes / MB).toFixed(1)}, model ${(model / MB).toFixed(1)}, the rest ${((unpacked - nativeBytes - model) / MB).toFixed(1)}; ${entries.length} files)`);
      assert.ok(unpacked - nativeBytes - model < 10 * MB, 'besides the runtime and the model, under 10 MB');
    });
  }
});
