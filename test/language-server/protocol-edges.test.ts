// What a careless or hostile client can send the real server over stdio: malformed frames (the
// server must say why and exit, never stay alive and deaf), requests before initialize, positions
// outside the document or between the halves of a surrogate pair, and fillSelection requests the
// model cannot honour (too large a selection, a stale document version).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { ResponseError } from 'vscode-languageserver-protocol/node';
import { LspServerProcess, serverMain, tinyModel } from './lsp-harness';

/** The server with raw pipes: bytes in, exit code and stderr out. */
function rawServer(): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [serverMain, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => { err += chunk.toString(); });
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => err, exited };
}

const frame = (body: string, header = `Content-Length: ${Buffer.byteLength(body)}`) => `${header}\r\n\r\n${body}`;
const initialize = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { processId: null, rootUri: null, capabilities: {} } });

async function exitsWithin(ms: number, exited: Promise<number | null>, child: ChildProcess): Promise<number | null | 'alive'> {
  const timer = new Promise<'alive'>((resolve) => setTimeout(() => resolve('alive'), ms).unref());
  const result = await Promise.race([exited, timer]);
  if (result === 'alive') child.kill('SIGKILL');
  return result;
}

describe('malformed frames end the server with a clear log line', () => {
  const cases: Array<[string, string]> = [
    ['Content-Length: abc', frame('{}', 'Content-Length: abc')],
    ['no Content-Length', frame(initialize, 'Content-Type: application/vscode-jsonrpc; charset=utf-8')],
    ['a negative Content-Length', frame('{}', 'Content-Length: -5')],
    ['Content-Length: 1e3', frame(initialize, 'Content-Length: 1e3')],
    ['a Content-Length beyond the body, then a valid frame', frame(initialize, `Content-Length: ${initialize.length + 40}`) + frame(initialize)],
    ['a Content-Length beyond the body, then silence', frame(initialize, `Content-Length: ${initialize.length + 40}`)],
    ['a body that is not JSON', frame('{"jsonrpc": "2.0", "id": 1, ')],
  ];
  for (const [name, bytes] of cases) {
    test(name, async () => {
      const s = rawServer();
      s.child.stdin!.write(bytes);
      // A stalled frame is given 5 s; everything else ends at once.
      const code = await exitsWithin(15_000, s.exited, s.child);
      assert.notEqual(code, 'alive', `the server stayed alive (and deaf); stderr:\n${s.stderr()}`);
      assert.equal(code, 1);
      assert.match(s.stderr(), /diffusion-infill language server: (malformed message frame|unreadable message).*exiting so that the client restarts the server/);
    });
  }

  test('well-formed frames split across writes are still read', async () => {
    const s = rawServer();
    const bytes = frame(initialize);
    for (let i = 0; i < bytes.length; i += 7) {
      s.child.stdin!.write(bytes.slice(i, i + 7));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    let out = '';
    s.child.stdout!.on('data', (chunk: Buffer) => { out += chunk.toString(); });
    const deadline = Date.now() + 10_000;
    while (!out.includes('"result"') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    s.child.kill('SIGKILL');
    assert.match(out, /inlineCompletionProvider/);
  });
});

describe('the real server over stdio: requests it must refuse or clamp', () => {
  let server: LspServerProcess;
  const uri = 'file:///edges/sample.py';
  // An emoji (a surrogate pair) on line 1, a short last line.
  const text = 'def f(x):\n    s = "\u{1F600}" + x\n    return s\n';

  before(async () => {
    server = LspServerProcess.start('stdio');
  });

  after(async () => {
    await server?.stop();
  });

  test('a request before initialize is refused with ServerNotInitialized (-32002)', async () => {
    await assert.rejects(
      server.connection.sendRequest('textDocument/inlineCompletion', { textDocument: { uri }, position: { line: 0, character: 0 }, context: { triggerKind: 1 } }),
      (e: ResponseError<unknown>) => e.code === -32002,
    );
    await assert.rejects(server.connection.sendRequest('diffusionInfill/fillSelection', { textDocument: { uri }, range: { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } } }),
      (e: ResponseError<unknown>) => e.code === -32002);
    await assert.rejects(server.connection.sendRequest('workspace/anything', {}), (e: ResponseError<unknown>) => e.code === -32002);
    const init = await server.initialize({ modelPath: tinyModel, device: 'cpu', candidates: 1 });
    assert.ok(init.capabilities.inlineCompletionProvider);
    const ready = await server.waitForStatus((s) => s.state === 'ready' || s.state === 'error', 60_000);
    assert.equal(ready.state, 'ready', ready.message);
    await server.open(uri, 'python', text);
  });

  /** Every range in a reply lies inside the document and on a code point boundary. */
  function assertInside(range: { start: { line: number; character: number }; end: { line: number; character: number } }): void {
    const lines = text.split('\n');
    for (const p of [range.start, range.end]) {
      assert.ok(Number.isInteger(p.line) && p.line >= 0 && p.line < lines.length, `line ${p.line}`);
      assert.ok(Number.isInteger(p.character) && p.character >= 0 && p.character <= lines[p.line].length, `character ${p.character}`);
      const code = lines[p.line].charCodeAt(p.character - 1);
      assert.ok(!(code >= 0xd800 && code <= 0xdbff), `position ${JSON.stringify(p)} splits a surrogate pair`);
    }
  }

  for (const [name, position] of [
    ['character 10^9', { line: 0, character: 1e9 }],
    ['character -1', { line: 1, character: -1 }],
    ['line 10^9', { line: 1e9, character: 3 }],
    ['a fractional position', { line: 1.5, character: 2.7 }],
    ['the middle of an emoji', { line: 1, character: text.split('\n')[1].indexOf('\u{1F600}') + 1 }],
  ] as const) {
    test(`inline completion at ${name}: every range is clamped to the document`, async () => {
      const items = await server.inline(uri, position as { line: number; character: number });
      for (const item of items) assertInside(item.range!);
      const filled = await server.fill(uri, { start: { line: 0, character: 0 }, end: position as { line: number; character: number } });
      if (filled.edit) assertInside(filled.edit.range);
    });
  }

  test('a position that is not a number is refused as invalid params, not answered with null', async () => {
    await assert.rejects(server.inline(uri, { line: 0, character: '3' as unknown as number }), (e: ResponseError<unknown>) => e.code === -32602);
  });

  test('fillSelection refuses a selection the canvas cannot hold, and deletes nothing', async () => {
    const big = 'big.py';
    const bigUri = `file:///edges/${big}`;
    const lines = Array.from({ length: 50_000 }, (_, i) => `value_${i} = compute(${i})`);
    await server.open(bigUri, 'python', `${lines.join('\n')}\n`);
    await assert.rejects(server.fill(bigUri, { start: { line: 0, character: 0 }, end: { line: 50_000, character: 0 } }),
      (e: ResponseError<unknown>) => e.code === -32602 && /too large to fill at once/.test(e.message) && /nothing was changed/.test(e.message));
  });

  test('fillSelection names the version it computed for, and refuses a stale one', async () => {
    const range = { start: { line: 2, character: 4 }, end: { line: 2, character: 12 } };
    const result = await server.fill(uri, range);
    assert.equal(result.version, 1);
    await server.change(uri, { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, '# edited\n');
    await assert.rejects(
      server.connection.sendRequest('diffusionInfill/fillSelection', { textDocument: { uri, version: 1 }, range }),
      (e: ResponseError<unknown>) => e.code === -32801 && /version 1/.test(e.message),
    );
    const current = await server.connection.sendRequest('diffusionInfill/fillSelection', { textDocument: { uri, version: 2 }, range }) as { version: number };
    assert.equal(current.version, 2);
  });
});
