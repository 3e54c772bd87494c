// Faults found by probing the real server (issue 22), protocol and model files: a $/cancelRequest
// without params must not end the server; malformed inlineCompletion params are the client's
// error (-32602), a second initialize is refused; a tokenizer.json of gigabytes, a weights file of
// the wrong size and a zero-filled one of the right size each fail the load with a clear error
// (instead of a worker reading 2 GB into memory, or a model that loads and writes nothing).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InitializeRequest, ResponseError } from 'vscode-languageserver-protocol/node';
import { LspServerProcess, serverMain, tinyModel } from './lsp-harness';

const frame = (message: object) => {
  const body = JSON.stringify({ jsonrpc: '2.0', ...message });
  return `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
};

test('a $/cancelRequest with null or missing params is ignored; the server keeps answering', async () => {
  const child = spawn(process.execPath, [serverMain, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => { out += chunk.toString(); });
  child.stderr!.on('data', (chunk: Buffer) => { err += chunk.toString(); });
  let exitCode: number | null | undefined;
  child.once('exit', (code) => { exitCode = code; });
  try {
    child.stdin!.write(frame({ id: 1, method: 'initialize', params: { processId: null, rootUri: null, capabilities: {} } }));
    child.stdin!.write(frame({ method: '$/cancelRequest', params: null }));
    child.stdin!.write(frame({ method: '$/cancelRequest' }));
    child.stdin!.write(frame({ method: '$/cancelRequest', params: {} }));
    child.stdin!.write(frame({ id: 2, method: 'shutdown' }));
    const deadline = Date.now() + 10_000;
    while (!/"id":2/.test(out) && exitCode === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(exitCode, undefined, `the server exited (${exitCode}):\n${err}`);
    assert.match(out, /"id":2,"result":null/, `shutdown answered:\n${err}`);
  } finally {
    child.kill('SIGKILL');
  }
});

describe('requests the server must refuse as the client\'s error', () => {
  let server: LspServerProcess;

  before(async () => {
    server = LspServerProcess.start('stdio');
    await server.initialize({ modelPath: tinyModel, device: 'cpu', candidates: 1 });
  });

  after(async () => {
    await server?.stop();
  });

  for (const [name, params] of [
    ['null params', null],
    ['no textDocument', { position: { line: 0, character: 0 }, context: { triggerKind: 1 } }],
    ['a textDocument without a uri', { textDocument: {}, position: { line: 0, character: 0 }, context: { triggerKind: 1 } }],
    ['a uri that is not a string', { textDocument: { uri: 7 }, position: { line: 0, character: 0 }, context: { triggerKind: 1 } }],
  ] as const) {
    test(`inlineCompletion with ${name} is InvalidParams (-32602)`, async () => {
      await assert.rejects(server.connection.sendRequest('textDocument/inlineCompletion', params),
        (e: ResponseError<unknown>) => e.code === -32602);
    });
  }

  test('a second initialize is refused (InvalidRequest, -32600), and the server keeps its settings', async () => {
    await assert.rejects(server.connection.sendRequest(InitializeRequest.type, {
      processId: null, rootUri: null, capabilities: {}, initializationOptions: { modelPath: '/nowhere' },
    }), (e: ResponseError<unknown>) => e.code === -32600);
    const ready = await server.waitForStatus((s) => s.state === 'ready' || s.state === 'error', 60_000);
    assert.equal(ready.state, 'ready', ready.message);
  });
});

describe('model files that are not what model.json says fail the load with a clear error', () => {
  let server: LspServerProcess;
  const dirs: string[] = [];

  /** A copy of the tiny model (the loader refuses symlinks out of the folder) with one file changed. */
  function brokenCopy(change: (dir: string) => void): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'di-broken-model-'));
    dirs.push(dir);
    for (const name of fs.readdirSync(tinyModel)) fs.copyFileSync(path.join(tinyModel, name), path.join(dir, name));
    change(dir);
    return dir;
  }

  const weightsName = () => (JSON.parse(fs.readFileSync(path.join(tinyModel, 'model.json'), 'utf8')) as { files: { weights: string[] } }).files.weights[0];
  /** A sparse file of zeros: gigabytes long, no disk used. */
  const zeros = (file: string, bytes: number) => {
    fs.rmSync(file, { force: true });
    fs.closeSync(fs.openSync(file, 'w'));
    fs.truncateSync(file, bytes);
  };

  before(async () => {
    server = LspServerProcess.start('stdio');
    await server.initialize({ modelPath: tinyModel, device: 'cpu', candidates: 1 });
    const ready = await server.waitForStatus((s) => s.state === 'ready' || s.state === 'error', 60_000);
    assert.equal(ready.state, 'ready', ready.message);
  });

  after(async () => {
    await server?.stop();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function loadError(modelPath: string): Promise<{ message: string; ms: number }> {
    const from = server.statuses.length;
    const t0 = Date.now();
    await server.configure({ modelPath, device: 'cpu', candidates: 1 });
    const status = await server.waitForStatus((s) => s.state === 'ready' || s.state === 'error', 60_000, from);
    assert.equal(status.state, 'error', `the model loaded: ${JSON.stringify(status)}`);
    return { message: status.message ?? '', ms: Date.now() - t0 };
  }

  test('a 2 GB tokenizer.json is refused by its size, before it is read', async () => {
    const dir = brokenCopy((d) => zeros(path.join(d, 'tokenizer.json'), 2 * 1024 ** 3));
    const { message, ms } = await loadError(dir);
    assert.match(message, /tokenizer\.json is \d+ bytes; a tokenizer is at most \d+/);
    assert.ok(ms < 5000, `refused after ${ms} ms`);
  });

  test('a 2 GB zero-filled weights file is refused: its size is not the one model.json declares', async () => {
    const dir = brokenCopy((d) => zeros(path.join(d, weightsName()), 2 * 1024 ** 3));
    const { message } = await loadError(dir);
    assert.match(message, /declares onnx_bytes \d+, but .* hold \d+ bytes/);
  });

  test('a zero-filled weights file of the right size is refused: the model writes the same for every token', async () => {
    const dir = brokenCopy((d) => zeros(path.join(d, weightsName()), fs.statSync(path.join(tinyModel, weightsName())).size));
    const { message } = await loadError(dir);
    assert.match(message, /weights files are empty \(zero-filled\), damaged or not the ones this graph was exported with/);
  });
});
