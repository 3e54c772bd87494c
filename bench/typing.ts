// Sustained typing through the real language server: a typist's keystrokes arrive every ~100 ms,
// each one edits the document and asks for an inline completion, superseding (cancelling) the one
// before, as VS Code does. Reports the latency of answered requests, answered versus cancelled, and
// the server's memory at start and end (it must not grow without bound).
//   node out/bench/typing.js [--chars 1500] [--interval 100] [--model DIR]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { CancellationTokenSource, DidChangeTextDocumentNotification } from 'vscode-languageserver-protocol/node';
import { LspServerProcess } from '../test/language-server/lsp-harness';
import { seeded } from './holes';
import { machine, percentile, progress, rssMiB, table, writeResults } from './report';

const repoRoot = path.resolve(__dirname, '../..');

async function main(): Promise<void> {
  const { values: a } = parseArgs({ options: { chars: { type: 'string' }, interval: { type: 'string' }, model: { type: 'string' }, out: { type: 'string' } } });
  const chars = Number(a.chars ?? 1500);
  const interval = Number(a.interval ?? 100);
  const modelPath = a.model ?? path.join(repoRoot, 'models/default');
  // What the typist types: this repository's sample file, again and again.
  const source = fs.readFileSync(path.join(repoRoot, 'examples/sample.py'), 'utf8');
  const server = LspServerProcess.start('stdio');
  const uri = 'file:///bench/typing.py';
  try {
    await server.initialize({ modelPath });
    await server.waitForStatus((s) => s.state === 'ready' || s.state === 'error', 120_000);
    let text = '';
    await server.open(uri, 'python', text);
    const pid = server.child.pid!;
    const rssStart = rssMiB(pid);
    let rssMax = rssStart;
    const latencies: number[] = [];
    let answered = 0;
    let withItems = 0;
    let cancelled = 0;
    let failed = 0;
    let previous: CancellationTokenSource | undefined;
    const inflight: Promise<void>[] = [];
    const tick = progress('typing', chars);
    const rnd = seeded(42);
    for (let i = 0; i < chars; i++) {
      const ch = source[i % source.length];
      const lines = text.split('\n');
      const pos = { line: lines.length - 1, character: lines[lines.length - 1].length };
      text += ch;
      await server.connection.sendNotification(DidChangeTextDocumentNotification.type, {
        textDocument: { uri, version: i + 2 },
        contentChanges: [{ range: { start: pos, end: pos }, text: ch }],
      });
      previous?.cancel();
      const token = new CancellationTokenSource();
      previous = token;
      const after = ch === '\n' ? { line: pos.line + 1, character: 0 } : { line: pos.line, character: pos.character + 1 };
      const t0 = performance.now();
      inflight.push(server.inline(uri, after, { trigger: 'automatic', token }).then(
        (items) => {
          if (token.token.isCancellationRequested) cancelled++;
          else {
            answered++;
            latencies.push(performance.now() - t0);
            if (items.length) withItems++;
          }
        },
        () => { if (token.token.isCancellationRequested) cancelled++; else failed++; },
      ));
      if (i % 50 === 0) rssMax = Math.max(rssMax, rssMiB(pid));
      tick(i + 1);
      // A fast typist: keystrokes ~interval apart with jitter, a short pause at some word and line ends.
      const pause = (ch === ' ' || ch === '\n') && rnd() < 0.3 ? 4 * interval : 0;
      await new Promise((r) => setTimeout(r, interval * (0.6 + 0.8 * rnd()) + pause));
    }
    await Promise.all(inflight);
    // Let the server settle, then read its memory once more.
    await new Promise((r) => setTimeout(r, 1000));
    const rssEnd = rssMiB(pid);
    const md = `## Sustained typing through the language server\n\n${chars} keystrokes about ${interval} ms apart (jittered, with pauses at some word and line ends), each edit followed by an automatic `
      + `inline completion request that cancels the one before; model ${path.basename(modelPath)}; ${machine()}\n\n`
      + table(['requests', 'answered', 'with items', 'cancelled', 'failed', 'p50 ms', 'p95 ms', 'p99 ms', 'server + worker RSS start / max / end MiB'],
        [[chars, answered, withItems, cancelled, failed, percentile(latencies, 50).toFixed(0), percentile(latencies, 95).toFixed(0),
          percentile(latencies, 99).toFixed(0), `${rssStart.toFixed(0)} / ${Math.max(rssMax, rssEnd).toFixed(0)} / ${rssEnd.toFixed(0)}`]]);
    writeResults(a.out ?? path.join(repoRoot, 'bench/results'), 'bench-typing',
      { chars, interval, answered, withItems, cancelled, failed, latencies, rssStart, rssMax, rssEnd, machine: machine() }, md);
  } finally {
    await server.stop();
  }
}

if (require.main === module) main().catch((e) => { process.stderr.write(`${e.stack ?? e}\n`); process.exit(1); });
