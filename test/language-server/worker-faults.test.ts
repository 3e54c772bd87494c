// Faults found by probing the real server (issue 22), the model worker under real signals with the
// real default model: a worker killed while it loads, with a second request arriving at once, must
// not leave two workers loading (one of them never used and never stopped); and a stopped worker
// must be found out within seconds whatever the request's settings (a watchdog scaled by steps let
// it block completions for minutes).

import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LspServerProcess } from './lsp-harness';
import { modelsDir } from '../helpers/paths';

process.env.DIFFUSION_INFILL_WATCHDOG_FLOOR_MS = '2000';

const defaultModel = path.join(modelsDir, 'default');
const text = 'def add(a, b):\n    return a + \n\nprint(add(1, 2))\n';
const cursor = { line: 1, character: 15 };

function workerPids(server: LspServerProcess): number[] {
  return [...server.stderr.matchAll(/\[model worker\] started, pid (\d+)/g)].map((m) => Number(m[1]));
}

/** The server's live child processes, from /proc (a zombie is not live). */
function liveChildren(parent: number): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces, so split after its closing parenthesis.
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === parent && state !== 'Z') out.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

async function until<T>(get: () => T | undefined | false, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = get();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe('the model worker under real signals, default model', () => {
  const servers: LspServerProcess[] = [];
  const stopped: number[] = [];

  afterEach(() => {
    for (const pid of stopped.splice(0)) signal(pid, 'SIGCONT');
  });

  after(async () => {
    for (const s of servers) await s.stop();
  });

  async function readyServer(settings: Record<string, unknown>): Promise<LspServerProcess> {
    const server = LspServerProcess.start('stdio');
    servers.push(server);
    await server.initialize({ modelPath: defaultModel, device: 'cpu', candidates: 1, debounceMs: 0, ...settings });
    const ready = await server.waitForStatus((s) => s.state === 'ready' || s.state === 'error', 120_000);
    assert.equal(ready.state, 'ready', ready.message);
    return server;
  }

  test('a worker killed while it loads, with a second request at once: one worker loads, none is left over', async () => {
    const server = await readyServer({});
    await server.open('file:///w/a.py', 'python', text);
    await server.open('file:///w/b.py', 'python', text);
    const [idle] = workerPids(server);
    signal(idle, 'SIGKILL');
    await until(() => !liveChildren(server.child.pid!).includes(idle), 'the idle worker to be gone', 5000);
    // A request: a load starts in a new worker.
    const first = server.inline('file:///w/a.py', cursor);
    const loading = await until(() => workerPids(server)[1], 'a second worker');
    await new Promise((resolve) => setTimeout(resolve, 400));
    signal(loading, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 10));
    const second = server.inline('file:///w/b.py', cursor);
    const answers = await Promise.all([first, second]);
    assert.ok(answers.some((a) => a.length > 0), `served after the reload:\n${server.stderr}`);
    // Whatever was started meanwhile: one worker lives on.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const live = liveChildren(server.child.pid!);
    assert.equal(live.length, 1, `live workers ${JSON.stringify(live)} of started ${JSON.stringify(workerPids(server))}`);
  });

  test('a stopped worker is found out within seconds even with steps 256, block length 1 and the cache off', async () => {
    const server = await readyServer({ steps: 256, blockLength: 1, cache: false, ghostTextBudgetMs: 0 });
    await server.open('file:///w/c.py', 'python', text);
    const [pid] = workerPids(server);
    signal(pid, 'SIGSTOP');
    stopped.push(pid);
    const t0 = Date.now();
    const answer = await Promise.race([
      server.inline('file:///w/c.py', cursor),
      new Promise<'still waiting'>((resolve) => setTimeout(() => resolve('still waiting'), 20_000).unref()),
    ]);
    const waited = Date.now() - t0;
    assert.deepEqual(answer, [], `answered within 20 s (waited ${waited} ms)`);
    assert.ok(waited < 15_000, `answered after ${waited} ms`);
    assert.match(server.stderr, new RegExp(`pid ${pid} did not answer infill request \\d+ within \\d+ ms; killing it`));
  });
});
