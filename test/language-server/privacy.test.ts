// Nothing leaves the machine: a real completion through the real server and its model worker,
// under strace (every process, network and file syscalls), with a fresh HOME and TMPDIR and the
// user's environment asking onnxruntime for telemetry (ORT_DISABLE_TELEMETRY=0). Without the
// override, onnxruntime-node 1.30 writes ~/.cache/Microsoft/DeveloperTools/.onnxruntime/ (an event
// database, a device id), leaves $TMPDIR/mat-debug-<pid>.log and looks up an events host.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createProtocolConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-languageserver-protocol/node';
import { serverMain, tinyModel } from './lsp-harness';

/** Every file below `dir`, relative. */
function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => !e.isDirectory())
    .map((e) => path.relative(dir, path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)));
}

test('a completion under strace: no network socket, no DNS, no file written, telemetry off though the environment asks for it', async () => {
  // strace comes from Debian's package (test/setup.sh installs it); missing, the test fails.
  execFileSync('strace', ['-V']);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'di-privacy-'));
  const home = path.join(root, 'home');
  const tmp = path.join(root, 'tmp');
  fs.mkdirSync(home);
  fs.mkdirSync(tmp);
  const log = path.join(root, 'strace.log');
  const env = { ...process.env, HOME: home, TMPDIR: tmp, XDG_CACHE_HOME: path.join(home, '.cache'), ORT_DISABLE_TELEMETRY: '0' };
  const child = spawn('strace', ['-f', '-qq', '-e', 'trace=network,%file', '-o', log, process.execPath, serverMain, '--stdio'],
    { stdio: ['pipe', 'pipe', 'pipe'], env });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const connection = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  connection.listen();
  try {
    const ready = new Promise<{ state: string; message?: string }>((resolve) => {
      connection.onNotification('diffusionInfill/serverStatus', (s: { state: string; message?: string }) => {
        if (s.state === 'ready' || s.state === 'error') resolve(s);
      });
    });
    await connection.sendRequest('initialize', {
      processId: process.pid, rootUri: null, capabilities: {},
      initializationOptions: { modelPath: tinyModel, device: 'cpu', candidates: 1, steps: 8 },
    });
    await connection.sendNotification('initialized', {});
    const status = await ready;
    assert.equal(status.state, 'ready', `${status.message}\n${stderr}`);
    const uri = 'file:///privacy/a.py';
    await connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'python', version: 1, text: 'def add(a, b):\n    return a + \n' } });
    const items = await connection.sendRequest('textDocument/inlineCompletion', {
      textDocument: { uri }, position: { line: 1, character: 15 }, context: { triggerKind: 1 },
    }) as unknown[];
    assert.ok(items.length > 0, `a real completion ran:\n${stderr}`);
    await connection.sendRequest('shutdown');
    await connection.sendNotification('exit');
    await exited;
  } finally {
    child.kill('SIGKILL');
    connection.dispose();
  }

  const trace = fs.readFileSync(log, 'utf8');
  assert.ok(/\bsocketpair\(AF_UNIX/.test(trace) || /\bsocket\(AF_UNIX/.test(trace), 'the IPC channel to the worker shows in the trace (strace saw the worker)');
  const network = trace.split('\n').filter((l) => /\b(socket|connect|sendto|sendmsg|bind)\(/.test(l) && /AF_INET6?|sin6?_port|htons\(53\)/.test(l));
  assert.deepEqual(network, [], 'no IP socket, no DNS lookup');
  const telemetry = trace.split('\n').filter((l) => /mat-debug|onnxruntime\.db|DeveloperTools|events\.data\.microsoft/.test(l));
  assert.deepEqual(telemetry, [], 'the telemetry SDK never touched its files');
  // Files opened for writing: only devices and the process's own /proc entries.
  const writes = trace.split('\n')
    .filter((l) => /\bopen(at)?\(/.test(l) && /O_(WRONLY|RDWR|CREAT)/.test(l) && !/= -1 /.test(l))
    .map((l) => /"([^"]*)"/.exec(l)?.[1] ?? l)
    .filter((p) => !/^\/(dev|proc)\//.test(p));
  assert.deepEqual(writes, [], 'no file written');
  assert.deepEqual(filesUnder(home), [], 'nothing in the fresh HOME');
  assert.deepEqual(filesUnder(tmp), [], 'nothing in the fresh TMPDIR');
  fs.rmSync(root, { recursive: true, force: true });
});
