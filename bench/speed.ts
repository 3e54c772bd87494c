// Sampler speed, side by side on the same holes and the same model: LLaDA's reference (one token per
// step, no cache), the dual cache alone, threshold parallel decoding alone, and both. Quality (exact
// match) is reported next to speed so that speed is never bought with silent quality loss.
//   node out/bench/speed.js [--model DIR] [--n 30] [--src language-server/src]
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { LocalEngine } from '../model-host/src/engine';
import type { SamplerOptions } from '../model-host/src/types';
import { makeHoles, type Hole } from './holes';
import { machine, percentile, progress, table, writeResults } from './report';

const repoRoot = path.resolve(__dirname, '../..');

export const VARIANTS: Record<string, Partial<SamplerOptions>> = {
  reference: { dualCache: false, threshold: 0 },
  'dual cache': { dualCache: true, threshold: 0 },
  threshold: { dualCache: false, threshold: 0.9 },
  'cache + threshold': { dualCache: true, threshold: 0.9 },
};

interface Row { variant: string; kind: string; p50: number; p95: number; tokensPerSecond: number; forwardsPerToken: number; exact: number; rssMiB: number }

async function main(): Promise<void> {
  const { values: a } = parseArgs({ options: { model: { type: 'string' }, n: { type: 'string' }, src: { type: 'string' }, out: { type: 'string' } } });
  const n = Number(a.n ?? 30);
  const engine = new LocalEngine({ modelDir: a.model ?? path.join(repoRoot, 'models/default'), provider: 'cpu' });
  const info = await engine.load();
  // Held-out code: the project's own sources were never in the training corpus.
  const all = makeHoles(a.src ?? path.join(repoRoot, 'language-server/src'), n * 4, 7);
  const sets: Record<string, { holes: Hole[]; canvas: number }> = {
    'single-line (canvas 24)': { holes: all.filter((h) => h.kind === 'line').slice(0, n), canvas: 24 },
    'multi-line (canvas 96)': { holes: all.filter((h) => h.kind === 'block').slice(0, n), canvas: 96 },
  };
  const rows: Row[] = [];
  for (const [kind, { holes, canvas }] of Object.entries(sets)) {
    for (const [variant, knobs] of Object.entries(VARIANTS)) {
      const sampler: SamplerOptions = { steps: canvas, blockLength: 8, temperature: 0, remasking: 'low_confidence', dualCache: false, ...knobs };
      const tick = progress(`${kind} ${variant}`, holes.length);
      const ms: number[] = [];
      let tokens = 0;
      let forwards = 0;
      let exact = 0;
      for (const [i, h] of holes.entries()) {
        const r = await engine.infill({ prefix: h.prefix, suffix: h.suffix, canvasLengths: [canvas], sampler });
        ms.push(r.timings.totalMs);
        tokens += r.candidates[0].tokens;
        forwards += r.forwards;
        exact += (r.candidates[0].text.trimEnd() === h.middle.trimEnd()) ? 1 : 0;
        tick(i + 1);
      }
      const total = ms.reduce((x, y) => x + y, 0);
      rows.push({ variant, kind, p50: percentile(ms, 50), p95: percentile(ms, 95), tokensPerSecond: (1000 * tokens) / total,
        forwardsPerToken: forwards / Math.max(1, tokens), exact: exact / holes.length, rssMiB: process.resourceUsage().maxRSS / 1024 });
    }
  }
  await engine.dispose();
  const ref = (kind: string) => rows.find((r) => r.kind === kind && r.variant === 'reference')!;
  const md = `## Sampler speed\n\nmodel ${info.name} (${info.parameters.toLocaleString()} parameters) on ${info.provider}, ${machine()}; `
    + `${n} held-out holes per kind from this repository's own sources; greedy, block 8, steps = canvas; threshold 0.9.\n\n`
    + table(['holes', 'sampler', 'p50 ms', 'p95 ms', 'speed-up (p50)', 'tokens/s', 'forwards/token', 'exact match', 'peak RSS MiB'],
      rows.map((r) => [r.kind, r.variant, r.p50.toFixed(0), r.p95.toFixed(0), (ref(r.kind).p50 / r.p50).toFixed(2) + 'x',
        r.tokensPerSecond.toFixed(0), r.forwardsPerToken.toFixed(2), (100 * r.exact).toFixed(1) + '%', r.rssMiB.toFixed(0)]));
  writeResults(a.out ?? path.join(repoRoot, 'bench/results'), 'bench-speed', { model: info.name, machine: machine(), rows }, md);
}

if (require.main === module) main().catch((e) => { process.stderr.write(`${e.stack ?? e}\n`); process.exit(1); });
