// The quality-versus-latency curve: single-line held-out holes (the server's canvas and candidates) filled with a range of
// step counts, then drawn by plot_sweep.py. The context is warm, as while
// typing (the document's cache holds the text one character earlier, untimed), so the curve shows
// what steps cost per keystroke rather than the cold context pass that every point would share.
//   node out/bench/sweep.js [--model DIR] [--n 40] [--holes bench/holes-heldout.jsonl] && /usr/bin/python3 bench/plot_sweep.py
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { LocalEngine } from '../model-host/src/engine';
import { ENGINE_SETTINGS } from '../model-host/src/engine-settings';
import { editSimilarity } from './eval';
import type { Hole } from './holes';
import { defaultSettings } from '../language-server/src/settings';
import { planCursorSpan } from '../language-server/src/span-policy';
import { machine, percentile, progress, table, writeResults } from './report';

const repoRoot = path.resolve(__dirname, '../..');
const STEPS = [1, 2, 4, 8]; // per block of 8: 8, 4, 2 and 1 tokens a pass

async function main(): Promise<void> {
  const { values: a } = parseArgs({ options: { model: { type: 'string' }, n: { type: 'string' }, out: { type: 'string' }, holes: { type: 'string' } } });
  const n = Number(a.n ?? 40);
  const engine = new LocalEngine({ modelDir: a.model ?? path.join(repoRoot, 'models/default'), provider: 'cpu' });
  const info = await engine.load();
  // Single-line holes, every k-th one of the file (the other benches take the same ones).
  const all = fs.readFileSync(a.holes ?? path.join(repoRoot, 'bench/holes-heldout.jsonl'), 'utf8').trim().split('\n')
    .map((l) => JSON.parse(l) as Hole).filter((h) => h.middle.trim().length > 0 && !h.middle.replace(/\n+$/, '').includes('\n'));
  const holes = all.length <= n ? all : Array.from({ length: n }, (_, i) => all[Math.floor((i * all.length) / n)]);
  // The canvas and candidates the server asks for mid-line (candidates are rows of one batch).
  const server = defaultSettings(repoRoot);
  const { canvasLength, candidates } = planCursorSpan('x', '', server);
  const budgets = { maxPrefixTokens: server.maxPrefixTokens, maxSuffixTokens: server.maxSuffixTokens };
  const points = [];
  for (const steps of STEPS) {
    const tick = progress(`steps ${steps}`, holes.length);
    const ms: number[] = [];
    let exact = 0;
    let sim = 0;
    for (const [i, h] of holes.entries()) {
      const sampler = { steps, blockLength: ENGINE_SETTINGS.blockLength.default, temperature: 0, singleLine: true };
      // Warm: the same document one character earlier, untimed.
      await engine.infill({ prefix: h.prefix.slice(0, -1), suffix: h.suffix, canvasLength: 1, sampler: { ...sampler, steps: 1 }, document: `hole-${i}`, ...budgets });
      const r = await engine.infill({ prefix: h.prefix, suffix: h.suffix, canvasLength, candidates, sampler, document: `hole-${i}`, ...budgets });
      const got = (r.candidates[0]?.text ?? '').split('\n')[0].trimEnd();
      ms.push(r.timings.totalMs);
      exact += got === h.middle.trimEnd() ? 1 : 0;
      sim += editSimilarity(got, h.middle.trimEnd());
      tick(i + 1);
    }
    points.push({ steps, p50: percentile(ms, 50), p95: percentile(ms, 95), exact: exact / holes.length, similarity: sim / holes.length,
      shipped: steps === ENGINE_SETTINGS.steps.default });
  }
  await engine.dispose();
  const md = `## Steps versus latency (single-line, canvas ${canvasLength}, ${candidates} candidate${candidates === 1 ? '' : 's'}, warm context)\n\nmodel ${info.name}, ${holes.length} held-out holes, ${machine()}, ${new Date().toISOString().slice(0, 10)}\n\n`
    + table(['steps', 'p50 ms', 'p95 ms', 'exact match', 'edit similarity', 'shipped default'],
      points.map((p) => [p.steps, p.p50.toFixed(0), p.p95.toFixed(0), (100 * p.exact).toFixed(1) + '%', p.similarity.toFixed(3), p.shipped ? 'yes' : '']));
  writeResults(a.out ?? path.join(repoRoot, 'bench/results'), 'bench-sweep', { model: info.name, machine: machine(), points }, md);
}

if (require.main === module) main().catch((e) => { process.stderr.write(`${e.stack ?? e}\n`); process.exit(1); });
