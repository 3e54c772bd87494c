// Peak memory of the language server and its model worker under request and cursorMoved storms
// (issue 22: 487-508 MiB against a target of 400). Prints numbers; asserts nothing.
//
//   node out/bench/storm-memory.js [--server A.js --server B.js ...] [--rounds 2] [--docs 8] [--requests 24]
//
// Each --server (default: this tree's out/language-server/src/main.js) runs the same storm with the
// default model, rounds interleaved (A B A B) so that the machine's drift falls on both alike.
// Memory is sampled every 100 ms: RSS summed over the two processes, and resident with pages
// shared between them counted once (bench/report.ts's residentMiB, what the target means).

import { spawn } from 'node:child_process';
import * as path from 'node:path';
import {
  createProtocolConnection, DidChangeTextDocumentNotification, DidOpenTextDocumentNotification, InitializedNotification,
  InitializeRequest, InlineCompletionRequest, ShutdownRequest, ExitNotification, StreamMessageReader, StreamMessageWriter,
} from 'vscode-languageserver-protocol/node';
import { residentMiB, rssMiB } from './report';

const root = path.resolve(__dirname, '..', '..');
const args = process.argv.slice(2);
const opt = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i === -1 ? fallback : Number(args[i + 1]);
};
const servers = args.flatMap((a, i) => (a === '--server' ? [path.resolve(args[i + 1])] : []));
if (servers.length === 0) servers.push(path.join(root, 'out', 'language-server', 'src', 'main.js'));
const rounds = opt('--rounds', 2);
const docs = opt('--docs', 8);
const requests = opt("--requests", 24);

function source(d: number): string {
  const fns = Array.from({ length: 40 }, (_, i) => `def f${d}_${i}(values, scale=${i}):\n    total = 0\n    for v in values:\n        total += v * scale\n    return total\n`);
  return fns.join('\n');
}

async function storm(serverMain: string): Promise<{ rss: number; resident: number; answered: number; asked: number; ms: number }> {
  const child = spawn(process.execPath, [serverMain, '--stdio'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const c = createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  c.listen();
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => { ready = resolve; });
  c.onNotification('diffusionInfill/serverStatus', (s: { state: string }) => { if (s.state === 'ready') ready(); });
  c.onNotification('window/logMessage', () => undefined);
  await c.sendRequest(InitializeRequest.type, {
    processId: process.pid, rootUri: null, capabilities: {},
    initializationOptions: { modelPath: path.join(root, 'models', 'default'), device: 'cpu' },
  });
  await c.sendNotification(InitializedNotification.type, {});
  await isReady;
  const peak = { rss: 0, resident: 0 };
  const sampler = setInterval(() => {
    peak.rss = Math.max(peak.rss, rssMiB(child.pid!));
    peak.resident = Math.max(peak.resident, residentMiB(child.pid!));
  }, 100);
  const t0 = Date.now();
  let asked = 0;
  let answered = 0;
  const texts = Array.from({ length: docs }, (_, d) => source(d));
  for (let d = 0; d < docs; d++) {
    await c.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri: `file:///storm/${d}.py`, languageId: 'python', version: 1, text: texts[d] } });
  }
  // cursorMoved storm: every document, a move every 10 ms for 3 s (warm-ups, each a context pass).
  for (let k = 0; k < 300; k++) {
    const d = k % docs;
    await c.sendNotification('diffusionInfill/cursorMoved', { textDocument: { uri: `file:///storm/${d}.py` }, position: { line: (k * 7) % 190, character: 4 } });
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  // Request storm: explicit requests at many cursors in every document, 4 in flight at a time.
  const versions = new Array<number>(docs).fill(1);
  const pending: Array<Promise<void>> = [];
  for (let k = 0; k < requests; k++) {
    const d = k % docs;
    const line = 1 + ((k * 13) % 180);
    if (k % 5 === 0) {
      versions[d]++;
      await c.sendNotification(DidChangeTextDocumentNotification.type, {
        textDocument: { uri: `file:///storm/${d}.py`, version: versions[d] }, contentChanges: [{ range: { start: { line, character: 4 }, end: { line, character: 4 } }, text: 'x' }],
      });
    }
    asked++;
    pending.push(c.sendRequest(InlineCompletionRequest.type, {
      textDocument: { uri: `file:///storm/${d}.py` }, position: { line, character: 8 }, context: { triggerKind: 1, selectedCompletionInfo: undefined },
    }).then((r) => { if (r && (Array.isArray(r) ? r : r.items).length > 0) answered++; }, () => undefined));
    if (pending.length >= 4) await pending.shift();
  }
  await Promise.all(pending);
  const ms = Date.now() - t0;
  clearInterval(sampler);
  await c.sendRequest(ShutdownRequest.type).catch(() => undefined);
  await c.sendNotification(ExitNotification.type).catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, 500));
  child.kill('SIGKILL');
  c.dispose();
  return { ...peak, answered, asked, ms };
}

async function main(): Promise<void> {
  for (let r = 0; r < rounds; r++) {
    for (const s of servers) {
      const m = await storm(s);
      console.log(`round ${r + 1} ${path.relative(process.cwd(), s) || s}: peak RSS summed ${m.rss.toFixed(0)} MiB, `
        + `shared pages once ${m.resident.toFixed(0)} MiB; answered ${m.answered}/${m.asked} in ${(m.ms / 1000).toFixed(1)} s`);
    }
  }
}

void main();
