// Sanity checks of what `npm run build` produces and of what the extension contributes:
//   - the four bundles exist; the CLI has one shebang line and is executable;
//   - the client bundle loads (with a stand-in for the `vscode` module) and exports activate/deactivate,
//     and does not pull in onnxruntime;
//   - the server bundle, started over node IPC as VS Code starts it, finds its worker bundle and
//     loads a model; the CLI bundle prints a completion;
//   - package.json's contributed settings are exactly the protocol table's, the client's Config translates them
//     (nested maxTokens.*, modelPath under workspace trust), and every command is contributed;
//   - .vscodeignore, applied with vsce's rule, keeps exactly the files the extension runs.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, fork } from 'node:child_process';
import * as fs from 'node:fs';
import Module from 'node:module';
import * as path from 'node:path';
import {
  createProtocolConnection,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  InlineCompletionRequest,
  InlineCompletionTriggerKind,
  IPCMessageReader,
  IPCMessageWriter,
  DidOpenTextDocumentNotification,
  ShutdownRequest,
} from 'vscode-languageserver-protocol/node';
import { CLIENT_SETTINGS, serverStatus, SETTINGS, type ServerStatusParams } from '../language-server/src/protocol';
import { defaultSettings } from '../language-server/src/settings';

const repoRoot = path.resolve(__dirname, '../..');
const dist = (name: string): string => path.join(repoRoot, 'dist', name);
const tinyModel = path.join(repoRoot, 'models', 'tiny');

interface Manifest {
  main: string;
  activationEvents: string[];
  capabilities: { untrustedWorkspaces: { supported: string; restrictedConfigurations: string[] } };
  contributes: {
    configuration: { properties: Record<string, Record<string, unknown>> };
    commands: { command: string; title: string; category: string }[];
    keybindings: { command: string }[];
  };
}
const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as Manifest;

// ---- a stand-in for the `vscode` module -------------------------------------------------------

/** Anything: every property, call and construction gives another stand-in (enough to load a bundle). */
function anything(): unknown {
  const target = function stub(): void { /* stand-in */ };
  return new Proxy(target, {
    get: (t, key) => (key === 'prototype' ? t.prototype : typeof key === 'symbol' || key === 'then' ? undefined : anything()),
    apply: () => anything(),
    construct: () => anything() as object,
  });
}

/** Settings as VS Code layers them: folder over workspace over user over the contributed default. */
interface Layers { global?: unknown; workspace?: unknown; folder?: unknown }
const fake = {
  trusted: true,
  folder: '/work/project' as string | undefined,
  values: new Map<string, Layers>(),
};

function contributedDefault(key: string): unknown {
  return manifest.contributes.configuration.properties[`diffusionInfill.${key}`]?.default;
}

const fakeVscode = {
  workspace: {
    get isTrusted(): boolean { return fake.trusted; },
    get workspaceFolders() { return fake.folder ? [{ uri: { scheme: 'file', fsPath: fake.folder } }] : undefined; },
    workspaceFile: undefined,
    getConfiguration(section: string) {
      assert.equal(section, 'diffusionInfill');
      const layers = (key: string): Layers => fake.values.get(key) ?? {};
      return {
        get(key: string, fallback?: unknown): unknown {
          const l = layers(key);
          return l.folder ?? l.workspace ?? l.global ?? contributedDefault(key) ?? fallback;
        },
        inspect(key: string) {
          const l = layers(key);
          return { key, defaultValue: contributedDefault(key), globalValue: l.global, workspaceValue: l.workspace, workspaceFolderValue: l.folder };
        },
        async update(key: string, value: unknown): Promise<void> {
          fake.values.set(key, { ...layers(key), global: value });
        },
      };
    },
  },
  ConfigurationTarget: { Global: 1, Workspace: 2, WorkspaceFolder: 3 },
};

/** Loads a module whose `require('vscode')` gets `stand`. */
function requireWithVscode<T>(file: string, stand: unknown): T {
  const M = Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown };
  const original = M._load;
  M._load = function load(this: unknown, request: string, parent: unknown, isMain: boolean): unknown {
    return request === 'vscode' ? stand : original.call(this, request, parent, isMain);
  };
  try {
    return require(file) as T;
  } finally {
    M._load = original;
  }
}

interface ConfigModule {
  Config: new (bundledModel: string) => { serverSettings(): Record<string, unknown>; modelPath: string; toggleEnable(): Promise<{ enabled: boolean; overridden: boolean }> };
}
const bundled = '/ext/models/default';
const configModule = (): ConfigModule => requireWithVscode<ConfigModule>(path.join(repoRoot, 'out/extension/src/config.js'), fakeVscode);

// ---- bundles ----------------------------------------------------------------------------------

test('npm run build wrote all four bundles with sourcemaps', () => {
  for (const name of ['extension.js', 'server.js', 'worker.js', 'cli.js']) {
    assert.ok(fs.existsSync(dist(name)), `dist/${name} is missing (is its entry point there? see esbuild.mjs)`);
    assert.ok(fs.existsSync(dist(`${name}.map`)), `dist/${name}.map is missing`);
  }
  assert.equal(manifest.main, './dist/extension.js');
});

test('the CLI bundle has exactly one shebang line and is executable', () => {
  const lines = fs.readFileSync(dist('cli.js'), 'utf8').split('\n', 3);
  assert.equal(lines[0], '#!/usr/bin/env node');
  assert.ok(!lines[1]!.startsWith('#!'), 'a second shebang line is a syntax error');
  if (process.platform !== 'win32') assert.ok((fs.statSync(dist('cli.js')).mode & 0o111) !== 0, 'dist/cli.js is not executable');
});

test('the client bundle loads, exports activate/deactivate, and leaves vscode and onnxruntime out', () => {
  const source = fs.readFileSync(dist('extension.js'), 'utf8');
  assert.match(source, /require\("vscode"\)/, 'vscode must stay external');
  // The settings' descriptions name onnxruntime-node; loading it is what must not happen.
  assert.doesNotMatch(source, /require\("onnxruntime/, 'the client must not load the model runtime');
  const ext = requireWithVscode<{ activate?: unknown; deactivate?: unknown }>(dist('extension.js'), anything());
  assert.equal(typeof ext.activate, 'function');
  assert.equal(typeof ext.deactivate, 'function');
});

test('the server bundle, started over node IPC like VS Code does, loads a model through its worker bundle', async () => {
  const child = fork(dist('server.js'), ['--node-ipc'], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => { stderr += c.toString(); });
  const connection = createProtocolConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
  const statuses: ServerStatusParams[] = [];
  const settled = new Promise<ServerStatusParams>((resolve) => {
    connection.onNotification(serverStatus, (s) => {
      statuses.push(s);
      if (s.state === 'ready' || s.state === 'error') resolve(s);
    });
  });
  connection.onRequest('client/registerCapability', () => null);
  connection.onNotification('window/logMessage', () => undefined);
  connection.listen();
  try {
    const init = await connection.sendRequest(InitializeRequest.type, {
      processId: process.pid, rootUri: null, workspaceFolders: null, capabilities: {},
      initializationOptions: { modelPath: tinyModel, device: 'cpu' },
    });
    assert.ok(init.capabilities.inlineCompletionProvider, 'the server advertises inline completion');
    await connection.sendNotification(InitializedNotification.type, {});
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no ready status in 60 s; stderr: ${stderr}`)), 60_000).unref());
    const status = await Promise.race([settled, timeout]);
    assert.equal(status.state, 'ready', `model load failed: ${status.message ?? ''}\n${stderr}`);
    assert.equal(status.model, 'tiny');

    const uri = 'untitled:build-test.ts';
    await connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId: 'typescript', version: 1, text: 'function add(a: number, b: number): number {\n  \n}\n' },
    });
    const result = await connection.sendRequest(InlineCompletionRequest.type, {
      textDocument: { uri }, position: { line: 1, character: 2 },
      context: { triggerKind: InlineCompletionTriggerKind.Invoked },
    });
    // The tiny model's text is not the point; an answer of the right shape is.
    const items = Array.isArray(result) ? result : result?.items ?? [];
    assert.ok(Array.isArray(items));
    await connection.sendRequest(ShutdownRequest.type);
    await connection.sendNotification(ExitNotification.type);
  } finally {
    connection.dispose();
    if (child.exitCode === null) child.kill();
  }
});

test('the CLI bundle fills the demo sample and prints JSON with timings', () => {
  const out = execFileSync(process.execPath, [dist('cli.js'), '--model', tinyModel, '--file', path.join(repoRoot, 'examples/sample.py'),
    '--line', '13', '--col', '4', '--canvas', '8', '--steps', '8', '--threads', '1'], { encoding: 'utf8', timeout: 60_000 });
  const r = JSON.parse(out) as { completion: unknown; timings: { totalMs: unknown }; model: string };
  assert.equal(typeof r.completion, 'string');
  assert.equal(typeof r.timings.totalMs, 'number');
  assert.equal(r.model, 'tiny');
});

// ---- contributions and settings ---------------------------------------------------------------

test('package.json contributes exactly the settings of the protocol table, field for field', () => {
  // What VS Code should show for each table entry with a key, in the table's order.
  const expected: Record<string, Record<string, unknown>> = {};
  CLIENT_SETTINGS.forEach((name, order) => {
    const { key, flag: _flag, ...fields } = SETTINGS[name] as Record<string, unknown>;
    const property: Record<string, unknown> = { ...fields, order };
    if (Array.isArray(property.enum)) property.enum = [...property.enum];
    expected[`diffusionInfill.${key as string}`] = property;
  });
  const contributed = manifest.contributes.configuration.properties;
  assert.deepEqual(Object.keys(contributed), Object.keys(expected), 'the same settings in the same order');
  for (const [name, property] of Object.entries(expected)) assert.deepEqual(contributed[name], property, name);
  assert.deepEqual(manifest.capabilities.untrustedWorkspaces, {
    ...manifest.capabilities.untrustedWorkspaces, supported: 'limited', restrictedConfigurations: ['diffusionInfill.modelPath'],
  });
  assert.ok(manifest.activationEvents.includes('onStartupFinished'));
});

test('Config sends the defaults, and maps nested keys onto the server fields', () => {
  const { Config } = configModule();
  fake.values.clear();
  fake.trusted = true;
  const { maxPrefixTokens: _p, maxSuffixTokens: _s, ...expected } = defaultSettings(repoRoot);
  assert.deepEqual(new Config(bundled).serverSettings(), { ...expected, modelPath: bundled }, 'no modelPath set: the bundled model, by name');
  fake.values.set('maxTokens.singleLine', { global: 40 });
  fake.values.set('steps', { global: 8, workspace: 12 });
  fake.values.set('device', { global: 'cpu' });
  fake.values.set('temperature', { global: 'high' });
  const s = new Config(bundled).serverSettings();
  assert.equal(s.maxTokensSingleLine, 40);
  assert.equal(s.steps, 12);
  assert.equal(s.device, 'cpu');
  assert.equal(s.temperature, SETTINGS.temperature.default, 'a value of the wrong type falls back');
  fake.values.clear();
});

test('modelPath: only the user value in an untrusted workspace; a relative workspace value is taken from the workspace', () => {
  const { Config } = configModule();
  fake.values.clear();
  fake.values.set('modelPath', { global: '/home/me/models/mine', workspace: 'models/evil' });
  fake.trusted = false;
  assert.equal(new Config(bundled).modelPath, '/home/me/models/mine');
  assert.equal(new Config(bundled).serverSettings().modelPath, '/home/me/models/mine');
  fake.values.set('modelPath', { workspace: '/tmp/evil' });
  assert.equal(new Config(bundled).serverSettings().modelPath, bundled, 'untrusted and no user value: the bundled model');
  fake.trusted = true;
  assert.equal(new Config(bundled).modelPath, '/tmp/evil');
  fake.values.set('modelPath', { workspace: 'models/mine' });
  assert.equal(new Config(bundled).modelPath, path.resolve('/work/project', 'models/mine'));
  fake.values.set('modelPath', { global: 'models/tiny' });
  assert.equal(new Config(bundled).modelPath, 'models/tiny', 'a relative user value is left to the server (extension folder)');
  fake.values.clear();
});

test('toggle flips the user setting and says when a workspace value wins', async () => {
  const { Config } = configModule();
  fake.values.clear();
  assert.deepEqual(await new Config(bundled).toggleEnable(), { enabled: false, overridden: false });
  assert.equal(fake.values.get('enable')?.global, false);
  fake.values.set('enable', { global: false, workspace: true });
  assert.deepEqual(await new Config(bundled).toggleEnable(), { enabled: true, overridden: true });
  assert.equal(fake.values.get('enable')?.global, false);
  fake.values.clear();
});

test('every registered command is contributed (and the other way round)', () => {
  const source = fs.readFileSync(path.join(repoRoot, 'extension/src/commands.ts'), 'utf8');
  const registered = [...source.matchAll(/registerCommand\('([^']+)'/g)].map((m) => m[1]).sort();
  const contributed = manifest.contributes.commands.map((c) => c.command).sort();
  assert.deepEqual(registered, contributed);
  for (const c of manifest.contributes.commands) assert.equal(c.category, 'Diffusion Infill');
  for (const k of manifest.contributes.keybindings) assert.ok(contributed.includes(k.command), k.command);
});

// ---- packaging ---------------------------------------------------------------------------------

/** A glob as vsce's minimatch reads these patterns (dot files included): `**`, `*`, literals. */
function globRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      re += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}(?:/.*)?$`);
}

/** The ignore file `npm run package` hands vsce for linux-x64: .vscodeignore plus that platform's runtime. */
let linuxIgnore: string | undefined;
function packageIgnore(): string {
  linuxIgnore ??= execFileSync(process.execPath, ['--input-type=module', '-e',
    `import { ignoreFor } from ${JSON.stringify(path.join(repoRoot, 'scripts/package.mjs'))}; process.stdout.write(ignoreFor('linux-x64'));`],
  { encoding: 'utf8' });
  return linuxIgnore;
}

/** vsce's rule: kept unless a plain pattern matches, but any "!" pattern that matches keeps it. */
function vsixKeeps(file: string): boolean {
  const lines = packageIgnore().split(/\r?\n/).map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const ignore = lines.filter((l) => !l.startsWith('!')).map(globRegExp);
  const negate = lines.filter((l) => l.startsWith('!')).map((l) => globRegExp(l.slice(1)));
  return !ignore.some((r) => r.test(file)) || negate.some((r) => r.test(file));
}

test('the linux-x64 package keeps the bundles, the default model and the linux-x64 runtime, and nothing else', () => {
  const kept = [
    'dist/extension.js', 'dist/server.js', 'dist/worker.js', 'package.json', 'README.md', 'LICENSE',
    'models/default/model.json', 'models/default/model.onnx', 'models/default/tokenizer.json',
    'node_modules/onnxruntime-node/package.json', 'node_modules/onnxruntime-node/dist/index.js',
    'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node',
    'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1',
    'node_modules/onnxruntime-common/package.json', 'node_modules/onnxruntime-common/dist/cjs/index.js',
    'node_modules/onnxruntime-common/dist/cjs/package.json',
  ];
  const dropped = [
    'dist/extension.js.map', 'dist/cli.js', 'extension/src/main.ts', 'language-server/src/main.ts', 'out/test/build.test.js',
    'models/tiny/model.onnx', 'training/README.md', 'test/run-all.sh', 'package-lock.json', 'tsconfig.json', 'esbuild.mjs',
    'node_modules/onnxruntime-node/bin/napi-v6/win32/x64/onnxruntime_binding.node',
    'node_modules/onnxruntime-node/bin/napi-v6/darwin/arm64/onnxruntime_binding.node',
    'node_modules/onnxruntime-node/lib/index.ts', 'node_modules/onnxruntime-node/script/install.js',
    'node_modules/onnxruntime-common/dist/esm/index.js', 'node_modules/vscode-languageclient/lib/node/main.js',
    'node_modules/adm-zip/adm-zip.js',
  ];
  for (const f of kept) assert.ok(vsixKeeps(f), `${f} should be packaged`);
  for (const f of dropped) assert.ok(!vsixKeeps(f), `${f} should not be packaged`);
});

test('every file onnxruntime-node needs at run time on linux-x64 is packaged', () => {
  const root = path.join(repoRoot, 'node_modules');
  const walk = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
  const needed = [
    ...walk(path.join(root, 'onnxruntime-node/dist')).filter((f) => f.endsWith('.js')),
    ...walk(path.join(root, 'onnxruntime-node/bin')).filter((f) => f.includes(`${path.sep}linux${path.sep}x64${path.sep}`)),
    ...walk(path.join(root, 'onnxruntime-common/dist/cjs')).filter((f) => f.endsWith('.js') || f.endsWith('package.json')),
  ].map((f) => path.relative(repoRoot, f).split(path.sep).join('/'));
  assert.ok(needed.some((f) => f.endsWith('onnxruntime_binding.node')));
  for (const f of needed) assert.ok(vsixKeeps(f), `${f} should be packaged`);
});
