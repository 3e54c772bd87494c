// One model pass, timed, for each kind of pass the format-2 engine runs: a cold context pass
// (causal) at 256 and 512 tokens; a block pass of 8, 16 or 24 masks against 512 cached context
// positions (every denoising step runs one block of blockLength; the canvas length does not
// change its cost); the next block's first pass, which appends the 8 tokens decided before it
// causally ahead of 8 new masks; two candidates (diffusionInfill.candidates 2) as a batch of 2
// rows; and a 3-token incremental context pass against 509 cached positions (a keystroke with the
// context cache warm).
//   node out/bench/forward.js [--model DIR] [--runs 30] [--threads 0]
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { contextPass } from '../model-host/src/decoding/context-cache';
import { emptyKv, repeatKv, truncateKv } from '../model-host/src/decoding/kv-cache';
import { loadManifest } from '../model-host/src/model/manifest';
import { blockPass } from '../model-host/src/decoding/sampler';
import { ModelSession } from '../model-host/src/model/session';
import { machine, percentile, table, writeResults } from './report';

const repoRoot = path.resolve(__dirname, '../..');

async function main(): Promise<void> {
  const { values: a } = parseArgs({ options: { model: { type: 'string' }, runs: { type: 'string' }, threads: { type: 'string' }, out: { type: 'string' } } });
  const runs = Number(a.runs ?? 30);
  const files = loadManifest(a.model ?? path.join(repoRoot, 'models/default'));
  const { mask, suffix } = files.manifest.special_tokens;
  const m = files.manifest;
  const shape = { layers: m.n_layer, kvHeads: m.n_kv_head, headDim: m.head_dim };
  const session = await ModelSession.open(files, 'cpu', Number(a.threads ?? 0));
  // Ordinary token ids (past the added tokens), the same every run, after the suffix sentinel.
  const sequence = (n: number) => [suffix, ...Array.from({ length: n - 1 }, (_, i) => 100 + ((i * 7919) % (m.vocab_size - 100)))];
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
  const add = (pass: string, tokens: number, ms: number[]) => rows.push({ pass, tokens, p50: percentile(ms, 50), p95: percentile(ms, 95) });
  for (const n of [256, 512]) {
    const x = sequence(n);
    add(`context, cold (P = 0)`, n, await time(() => contextPass(session, x, emptyKv())));
  }
  const x = sequence(512);
  const full = await contextPass(session, x, emptyKv());
  const past = full.present;
  const masks = (n: number) => new Array<number>(n).fill(mask);
  for (const c of [8, 16, 24]) {
    const input = [{ done: [], x: masks(c) }];
    add(`block of ${c} against 512 cached`, c, await time(() => blockPass(session, input, past, 0)));
  }
  // From the second block on, a block's first pass also appends the block decided before it.
  const decided = sequence(9).slice(1);
  add('block of 8 after the 8 decided before it, against 512 cached', 16,
    await time(() => blockPass(session, [{ done: decided, x: masks(8) }], past, 8)));
  // Two candidates (rows with different first tokens) as one batch: every pass runs both rows.
  const pair = repeatKv(past, 2, shape);
  add('block of 8 as a batch of 2 rows against 512 cached', 16,
    await time(() => blockPass(session, [{ done: [], x: masks(8) }, { done: [], x: masks(8) }], pair, 0)));
  const kept = truncateKv(full.present, 509);
  add('context, 3 new tokens against 509 cached', 3, await time(() => contextPass(session, x.slice(509), kept)));
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
