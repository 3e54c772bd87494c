// The quality-versus-latency curve: single-line held-out holes completed by the editor's pipeline
// (language-server/src/complete-at.ts, the server's settings) with a range of step counts, then
// drawn by plot_sweep.py. The context is warm, as while
// typing (the document's cache holds the text one character earlier, untimed), so the curve shows
// what steps cost per keystroke rather than the cold context pass that every point would share.
//   node out/bench/sweep.js [--model DIR] [--n 40] [--holes bench/holes-heldout.jsonl] && /usr/bin/python3 bench/plot_sweep.py
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { LocalEngine } from '../model-host/src/engine';
import { ENGINE_SETTINGS } from '../model-host/src/settings/engine-settings';
import { completeAt, engineRequest, requestAt } from '../language-server/src/complete-at';
import { editSimilarity } from './eval';
import type { Hole } from './holes';
import { defaultSettings } from '../language-server/src/settings';
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
  // The server's settings; candidates are rows of one batch.
  const server = defaultSettings(repoRoot);
  const canvasLength = server.maxTokensSingleLine;
  const candidates = server.candidates;
  const points = [];
  for (const steps of STEPS) {
    const tick = progress(`steps ${steps}`, holes.length);
    const ms: number[] = [];
    let exact = 0;
    let sim = 0;
    const settings = { ...server, steps };
    for (const [i, h] of holes.entries()) {
      const document = `hole-${i}`;
      const at = requestAt(h.prefix + h.suffix, h.prefix.length, settings);
      const before = requestAt(h.prefix.slice(0, -1) + h.suffix, h.prefix.length - 1, settings);
      if (!at || !before) throw new Error(`hole ${i} looks binary`);
      // Warm: the same document one character earlier, untimed.
      const warm = engineRequest(before.plan, { ...before.context, document }, settings);
      await engine.infill({ ...warm, canvasLength: 1, candidates: 1, sampler: { ...warm.sampler, steps: 1 } });
      const { completions, result: r } = await completeAt(at, settings, (request) => engine.infill(request), { document });
      const got = (completions[0]?.text ?? '').trimEnd();
      ms.push(r.timings.totalMs);
      exact += got === h.middle.trimEnd() ? 1 : 0;
      sim += editSimilarity(got, h.middle.trimEnd());
      tick(i + 1);
    }
    points.push({ steps, p50: percentile(ms, 50), p95: percentile(ms, 95), exact: exact / holes.length, similarity: sim / holes.length,
      shipped: steps === ENGINE_SETTINGS.steps.default });
  }
  await engine.dispose();
  const md = `## Steps versus latency (single-line holes, single-line ceiling ${canvasLength}, block ${server.blockLength}, ${candidates} candidate${candidates === 1 ? '' : 's'}, warm context)\n\nmodel ${info.name}, ${holes.length} held-out holes, ${machine()}, ${new Date().toISOString().slice(0, 10)}\n\n`
    + table(['steps', 'p50 ms', 'p95 ms', 'exact match', 'edit similarity', 'shipped default'],
      points.map((p) => [p.steps, p.p50.toFixed(0), p.p95.toFixed(0), (100 * p.exact).toFixed(1) + '%', p.similarity.toFixed(3), p.shipped ? 'yes' : '']));
  writeResults(a.out ?? path.join(repoRoot, 'bench/results'), 'bench-sweep', { model: info.name, machine: machine(), points }, md);
}

if (require.main === module) main().catch((e) => { process.stderr.write(`${e.stack ?? e}\n`); process.exit(1); });
