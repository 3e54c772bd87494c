// The .vsix from `npm run package`, opened and checked file by file: what the installed extension
// runs is in it (the three bundles, the default model, onnxruntime-node's JavaScript and its
// linux-x64 native binaries), and nothing else is (other platforms' binaries, sources, tests,
// training, the tiny model, sourcemaps, the CLI). Prints its size.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../../scripts/tools';
import { requireModelAt } from './fixture';
import { ensureVsix } from './vsix';
import { listZip, readZipEntry, type ZipEntry } from './zip';

const MB = 1024 * 1024;

test('npm run package makes a .vsix with what the extension runs, for linux-x64 only', { timeout: 15 * 60_000 }, (t) => {
  // The package must carry the real default model, whatever model the other e2e tests were pointed at.
  requireModelAt(path.join(repoRoot, 'models', 'default'));
  const vsix = ensureVsix();
  const entries = listZip(vsix);
  const byName = new Map(entries.map((e) => [e.name, e]));
  const names = [...byName.keys()];
  const size = fs.statSync(vsix).size;
  const unpacked = entries.reduce((sum, e) => sum + e.size, 0);
  t.diagnostic(`${path.basename(vsix)}: ${(size / MB).toFixed(1)} MB (${(unpacked / MB).toFixed(1)} MB unpacked, ${entries.length} files)`);

  // What the installed extension runs.
  const required = [
    'extension/package.json',
    'extension/dist/extension.js',
    'extension/dist/server.js',
    'extension/dist/worker.js',
    'extension/node_modules/onnxruntime-node/package.json',
    'extension/node_modules/onnxruntime-node/dist/index.js',
    'extension/node_modules/onnxruntime-common/package.json',
    'extension/node_modules/onnxruntime-common/dist/cjs/index.js',
  ];
  for (const f of required) assert.ok(byName.has(f), `${f} is missing from the package`);
  for (const lib of ['onnxruntime_binding.node', 'libonnxruntime.so.1']) {
    assert.ok(names.some((n) => /^extension\/node_modules\/onnxruntime-node\/bin\/napi-v\d+\/linux\/x64\//.test(n) && n.endsWith(`/${lib}`)),
      `the linux-x64 ${lib} is missing`);
  }

  // The default model as the engine loads it (manifest, graph, weight pieces, tokenizer), byte for
  // byte the size it has here; not the adapter it was built from.
  const modelDir = path.join(repoRoot, 'models', 'default');
  const modelManifest = JSON.parse(fs.readFileSync(path.join(modelDir, 'model.json'), 'utf8'));
  for (const f of ['model.json', modelManifest.files.onnx, modelManifest.files.tokenizer, ...modelManifest.files.weights]) {
    const entry = byName.get(`extension/models/default/${f}`);
    assert.ok(entry, `models/default/${f} is missing from the package`);
    assert.equal(entry.size, fs.statSync(path.join(modelDir, f)).size, `models/default/${f} differs in size`);
  }

  // Nothing else.
  const forbidden: [RegExp, string][] = [
    [/\/bin\/napi-v\d+\/(?!linux\/x64\/)/, 'another platform\'s native runtime'],
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
  for (const [pattern, what] of forbidden) {
    const found = names.filter((n) => pattern.test(n));
    assert.deepEqual(found, [], `the package must not contain ${what}`);
  }

  // The manifest says which platform it is for, so VS Code installs it only there.
  const manifest = readZipEntry(vsix, byName.get('extension.vsixmanifest') as ZipEntry).toString('utf8');
  assert.match(manifest, /TargetPlatform="linux-x64"/);
  const pkg = JSON.parse(readZipEntry(vsix, byName.get('extension/package.json') as ZipEntry).toString('utf8')) as { main: string };
  assert.equal(pkg.main, './dist/extension.js');

  // The native runtime dominates; a package far larger than it means something slipped in.
  const native = entries.filter((e) => e.name.includes('/bin/napi-v')).reduce((sum, e) => sum + e.size, 0);
  const model = entries.filter((e) => e.name.startsWith('extension/models/default/')).reduce((sum, e) => sum + e.size, 0);
  t.diagnostic(`unpacked: native runtime ${(native / MB).toFixed(1)} MB, model ${(model / MB).toFixed(1)} MB, the rest ${((unpacked - native - model) / MB).toFixed(1)} MB`);
  assert.ok(unpacked - native - model < 10 * MB, 'besides the runtime and the model, under 10 MB');
});
