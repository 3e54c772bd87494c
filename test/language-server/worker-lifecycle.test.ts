// The model worker under real signals, through the real server over stdio: a stopped worker
// (SIGSTOP) must not hang anything (cancels answered at once, a request answered when the watchdog
// kills the worker, the next one served by a fresh worker); a worker killed while loading is
// replaced; the first request after a worker's death is served, not failed.

import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CancellationTokenSource } from 'vscode-languageserver-protocol/node';
import { LspServerProcess, tinyModel } from './lsp-harness';

// The watchdog's floor for these servers (10 s by default); the bound still scales with pass time.
process.env.DIFFUSION_INFILL_WATCHDOG_FLOOR_MS = '2000';

const settings = { modelPath: tinyModel, device: 'cpu', steps: 8, maxTokensSingleLine: 8, maxTokensMultiLine: 16, candidates: 1, debounceMs: 0 };
const text = 'def add(a, b):\n    return a + \n\nprint(add(1, 2))\n';
const cursor = { line: 1, character: 15 };

/** Worker pids the server has logged, oldest first. */
function workerPids(server: LspServerProcess): number[] {
  return [...server.stderr.matchAll(/\[model worker\] started, pid (\d+)/g)].map((m) => Number(m[1]));
}

async function until<T>(get: () => T | undefined | false, what: string, timeoutMs = 30_000, stepMs = 2): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = get();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

describe('the model worker under real signals', () => {
  const servers: LspServerProcess[] = [];
  const stopped: number[] = [];

  afterEach(() => {
    // A stopped process left behind would hold its memory until the machine restarts.
    for (const pid of stopped.splice(0)) signal(pid, 'SIGCONT');
  });

  after(async () => {
    for (const s of servers) await s.stop();
  });

  async function readyServer(): Promise<LspServerProcess> {
    const server = LspServerProcess.start('stdio');
    servers.push(server);
    await server.initialize(settings);
    const ready = await server.waitForStatus((s) => s.state === 'ready' || s.state === 'error', 60_000);
    assert.equal(ready.state, 'ready', ready.message);
    return server;
  }

  test('a stopped worker: a cancel is answered at once, a request is answered when the watchdog kills it, the next is served', async () => {
    const server = await readyServer();
    await server.open('file:///w/a.py', 'python', text);
    await server.open('file:///w/b.py', 'python', text);
    assert.ok((await server.inline('file:///w/a.py', cursor)).length > 0, 'a completion before the stop');
    const [pid] = workerPids(server);
    signal(pid, 'SIGSTOP');
    stopped.push(pid);

    const cts = new CancellationTokenSource();
    const cancelled = server.inline('file:///w/a.py', cursor, { token: cts });
    setTimeout(() => cts.cancel(), 300);
    const t0 = Date.now();
    // vscode-jsonrpc answers a cancelled request with an error or an empty result; either is an answer.
    await cancelled.catch(() => []);
    assert.ok(Date.now() - t0 < 2000, `the cancelled request was answered in ${Date.now() - t0} ms`);

    const t1 = Date.now();
    const items = await server.inline('file:///w/b.py', cursor);
    const waited = Date.now() - t1;
    // The hung request is answered: empty, or written by the fresh worker that replaced the stopped one.
    assert.ok(items.length === 0 || workerPids(server).some((p) => p !== pid), `the hung request is answered: ${JSON.stringify(items)}`);
    assert.ok(waited < 15_000, `answered after ${waited} ms`);
    assert.match(server.stderr, new RegExp(`pid ${pid} did not answer infill request \\d+ within \\d+ ms; killing it`));

    const again = await server.inline('file:///w/b.py', { line: 1, character: 14 });
    assert.ok(again.length > 0, `served by a new worker:\n${server.stderr}`);
    assert.equal(workerPids(server).length, 2, 'one new worker');
  });

  test('a worker killed while it loads the model is replaced, and the model loads', async () => {
    const server = LspServerProcess.start('stdio');
    servers.push(server);
    await server.initialize(settings);
    const pid = await until(() => workerPids(server)[0], 'the first worker', 30_000, 1);
    signal(pid, 'SIGKILL');
    assert.ok(!server.statuses.some((s) => s.state === 'ready'), 'killed before the model was ready');
    const ready = await server.waitForStatus((s) => s.state === 'ready' || s.state === 'error', 60_000);
    assert.equal(ready.state, 'ready', ready.message);
    assert.ok(workerPids(server).length >= 2, 'a second worker loaded the model');
    await server.open('file:///w/c.py', 'python', text);
    assert.ok((await server.inline('file:///w/c.py', cursor)).length > 0);
  });

  test('the first request after an idle worker is killed is served by a fresh worker', async () => {
    const server = await readyServer();
    await server.open('file:///w/d.py', 'python', text);
    assert.ok((await server.inline('file:///w/d.py', cursor)).length > 0);
    for (let round = 0; round < 3; round++) {
      const pids = workerPids(server);
      signal(pids[pids.length - 1], 'SIGKILL');
      // Settings pushed again clear the server's result cache, so the request reaches the model.
      await server.configure(settings);
      // At once: the server may not have noticed the death yet.
      const items = await server.inline('file:///w/d.py', cursor);
      assert.ok(items.length > 0, `round ${round}: served, not failed:\n${server.stderr}`);
    }
    assert.doesNotMatch(server.stderr, /Engine error/);
  });
});
