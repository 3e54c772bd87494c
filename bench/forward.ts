// One model pass, timed: the full pass at several sequence lengths (the contract's P = 0 case) and
// the dual cache's block pass (8 tokens against the cached K/V of the rest). The CPU target for the
// default model is a full pass at 512 tokens under 60 ms on a 2-core laptop-class CPU.
//   node out/bench/forward.js [--model DIR] [--runs 30] [--threads 0]
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadManifest } from '../model-host/src/manifest';
import { blockPass, fullPass } from '../model-host/src/sampler';
import { ModelSession } from '../model-host/src/session';
import { machine, percentile, table, writeResults } from './report';

const repoRoot = path.resolve(__dirname, '../..');

async function main(): Promise<void> {
  const { values: a } = parseArgs({ options: { model: { type: 'string' }, runs: { type: 'string' }, threads: { type: 'string' }, out: { type: 'string' } } });
  const runs = Number(a.runs ?? 30);
  const files = loadManifest(a.model ?? path.join(repoRoot, 'models/default'));
  const { pad, mask } = files.manifest.special_tokens;
  const session = await ModelSession.open(files, 'cpu', Number(a.threads ?? 0));
  // Ordinary token ids (past the four specials), the same every run.
  const sequence = (n: number) => Array.from({ length: n }, (_, i) => 4 + ((i * 7919) % (files.manifest.vocab_size - 4)));
  const time = async (pass: () => Promise<unknown>) => {
    for (let i = 0; i < 3; i++) await pass(); // warm-up: first runs allocate
    const ms: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await pass();
      ms.push(performance.now() - t0);
    }
    return ms;
  };
  const rows: { pass: string; tokens: number; p50: number; p95: number }[] = [];
  for (const n of [128, 256, 512]) {
    const x = sequence(n);
    const ms = await time(() => fullPass(session, [x], pad));
    rows.push({ pass: 'full', tokens: n, p50: percentile(ms, 50), p95: percentile(ms, 95) });
  }
  const x = sequence(512);
  const lo = 300;
  for (let p = lo; p < lo + 8; p++) x[p] = mask;
  const cache = (await fullPass(session, [x], pad)).present;
  const ms = await time(() => blockPass(session, [x], lo, 8, cache, pad));
  rows.push({ pass: 'block of 8, 512 cached', tokens: 8, p50: percentile(ms, 50), p95: percentile(ms, 95) });
  await session.release();

  const md = `## One forward pass\n\nmodel ${files.manifest.name} (${files.manifest.parameters.toLocaleString()} parameters), onnxruntime-node CPU, `
    + `${a.threads && a.threads !== '0' ? `${a.threads} threads` : 'default threads'}, ${runs} runs each, ${machine()}\n\n`
    + table(['pass', 'tokens', 'p50 ms', 'p95 ms'], rows.map((r) => [r.pass, r.tokens, r.p50.toFixed(1), r.p95.toFixed(1)]));
  writeResults(a.out ?? path.join(repoRoot, 'bench/results'), 'forward', { model: files.manifest.name, machine: machine(), runs, rows }, md);
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
