// The quality-versus-latency curve: single-line held-out holes (canvas 24) filled with a range of
// step counts, with and without threshold decoding (dual cache on), then drawn by plot_sweep.py.
//   node out/bench/sweep.js [--model DIR] [--n 40] && /usr/bin/python3 bench/plot_sweep.py
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { LocalEngine } from '../model-host/src/engine';
import { ENGINE_SETTINGS } from '../model-host/src/engine-settings';
import { editSimilarity } from './eval';
import { makeHoles } from './holes';
import { machine, percentile, progress, table, writeResults } from './report';

const repoRoot = path.resolve(__dirname, '../..');
const STEPS = [3, 6, 12, 24];
const THRESHOLDS = [0, 0.9];

async function main(): Promise<void> {
  const { values: a } = parseArgs({ options: { model: { type: 'string' }, n: { type: 'string' }, out: { type: 'string' } } });
  const n = Number(a.n ?? 40);
  const engine = new LocalEngine({ modelDir: a.model ?? path.join(repoRoot, 'models/default'), provider: 'cpu' });
  const info = await engine.load();
  const holes = makeHoles(path.join(repoRoot, 'language-server/src'), n * 4, 11).filter((h) => h.kind === 'line').slice(0, n);
  const points = [];
  for (const threshold of THRESHOLDS) {
    for (const steps of STEPS) {
      const tick = progress(`steps ${steps} threshold ${threshold}`, holes.length);
      const ms: number[] = [];
      let exact = 0;
      let sim = 0;
      for (const [i, h] of holes.entries()) {
        const r = await engine.infill({ prefix: h.prefix, suffix: h.suffix, canvasLengths: [24],
          sampler: { steps, blockLength: ENGINE_SETTINGS.blockLength.default, temperature: 0, threshold, singleLine: true } });
        const got = (r.candidates[0]?.text ?? '').split('\n')[0].trimEnd();
        ms.push(r.timings.totalMs);
        exact += got === h.middle.trimEnd() ? 1 : 0;
        sim += editSimilarity(got, h.middle.trimEnd());
        tick(i + 1);
      }
      points.push({ steps, threshold, p50: percentile(ms, 50), p95: percentile(ms, 95), exact: exact / holes.length, similarity: sim / holes.length,
        shipped: steps === ENGINE_SETTINGS.steps.default && threshold === ENGINE_SETTINGS.confidenceThreshold.default });
    }
  }
  await engine.dispose();
  const md = `## Steps versus latency (single-line, canvas 24, dual cache on)\n\nmodel ${info.name}, ${n} held-out holes, ${machine()}\n\n`
    + table(['steps', 'threshold', 'p50 ms', 'p95 ms', 'exact match', 'edit similarity', 'shipped default'],
      points.map((p) => [p.steps, p.threshold, p.p50.toFixed(0), p.p95.toFixed(0), (100 * p.exact).toFixed(1) + '%', p.similarity.toFixed(3), p.shipped ? 'yes' : '']));
  writeResults(a.out ?? path.join(repoRoot, 'bench/results'), 'bench-sweep', { model: info.name, machine: machine(), points }, md);
}

if (require.main === module) main().catch((e) => { process.stderr.write(`${e.stack ?? e}\n`); process.exit(1); });
