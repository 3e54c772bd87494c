// One model pass, timed, for each kind of pass the format-2 engine runs: a cold context pass
// (causal) at 256 and 512 tokens, a canvas pass of 8, 16 or 24 tokens against 512 cached context
// positions (every denoising step; also the server's two candidates as one batch), and a 3-token incremental context pass against 509 cached
// positions (a keystroke with the context cache warm).
//   node out/bench/forward.js [--model DIR] [--runs 30] [--threads 0]
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { contextPass } from '../model-host/src/context-cache';
import { emptyKv, repeatKv, sliceKv } from '../model-host/src/kv-cache';
import { loadManifest } from '../model-host/src/manifest';
import { canvasPass } from '../model-host/src/sampler';
import { ModelSession } from '../model-host/src/session';
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
  const context = { length: 512, past: full.present, lastLogits: full.logits.slice(511 * full.vocab) };
  for (const c of [8, 16, 24]) {
    const canvas = new Array<number>(c).fill(mask);
    add(`canvas against 512 cached`, c, await time(() => canvasPass(session, [canvas], context, mask)));
  }
  // The server's single-line request: two candidates (canvases 8 and 24) as one batch, rows padded to 24.
  const batch = { ...context, past: repeatKv(full.present, 2, shape) };
  add('canvases 8 + 24 as a batch of 2 against 512 cached', 48,
    await time(() => canvasPass(session, [new Array<number>(8).fill(mask), new Array<number>(24).fill(mask)], batch, mask)));
  const kept = sliceKv(full.present, 509, shape);
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
