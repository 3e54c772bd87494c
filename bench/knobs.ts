// Cheap engine knobs for single-line ghost text, each with its quality beside its speed, so that no
// speed-up costs quality silently. Every variant runs on the same held-out single-line holes with
// a warm context, as while typing: the document's cache holds the text one character earlier
// (untimed), so the timed request computes a token or two of context and then its block passes.
// Each hole is completed by the editor's pipeline (language-server/src/complete-at.ts: its windows,
// its plan for the cursor, its post-processing) under the server's settings changed by one knob at
// a time; threads are an engine option, so those variants load their own engine.
//   node out/bench/knobs.js [--holes bench/holes-heldout.jsonl,...] [--n 40] [--model DIR] [--out DIR]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { LocalEngine } from '../model-host/src/engine';
import { completeAt, engineRequest, requestAt } from '../language-server/src/complete-at';
import { defaultSettings, mergeSettings } from '../language-server/src/settings';
import { editSimilarity } from './eval';
import type { Hole } from './holes';
import { machine, percentile, progress, table, writeResults } from './report';

const repoRoot = path.resolve(__dirname, '../..');

/** One knob changed from the shipped defaults per row (threads 0 = onnxruntime's default). */
const VARIANTS: { label: string; settings: Record<string, unknown>; threads?: number }[] = [
  { label: 'shipped defaults', settings: {} },
  { label: 'intra-op threads 1', settings: {}, threads: 1 },
  { label: 'intra-op threads 2', settings: {}, threads: 2 },
  { label: 'candidates 2 (two first tokens, one batch)', settings: { candidates: 2 } },
  { label: 'single-line canvas 16 (maxTokens.singleLine 16)', settings: { maxTokensSingleLine: 16 } },
  { label: 'steps 4 (two tokens a pass)', settings: { steps: 4 } },
  { label: 'canvas 16, steps 4', settings: { maxTokensSingleLine: 16, steps: 4 } },
];

/** Every n-th item (bench/peer.ts and the peer take the same). */
function subsample<T>(items: T[], limit: number): T[] {
  if (!limit || limit >= items.length) return items;
  const step = items.length / limit;
  return Array.from({ length: limit }, (_, i) => items[Math.floor(i * step)]);
}

async function main(): Promise<void> {
  const { values: a } = parseArgs({ options: { holes: { type: 'string' }, n: { type: 'string' }, model: { type: 'string' }, out: { type: 'string' } } });
  const modelDir = a.model ?? path.join(repoRoot, 'models/default');
  const files = (a.holes ?? path.join(repoRoot, 'bench/holes-heldout.jsonl')).split(',');
  const all: Hole[] = files.flatMap((f) => fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Hole));
  const holes = subsample(all.filter((h) => h.middle.trim().length > 0 && !h.middle.replace(/\n+$/, '').includes('\n')), Number(a.n ?? 40));
  const engines = new Map<number, LocalEngine>();
  const rows: (string | number)[][] = [];
  const results = [];
  for (const v of VARIANTS) {
    const threads = v.threads ?? 0;
    if (!engines.has(threads)) {
      // One engine at a time: the previous one's memory and threads are released first.
      for (const e of engines.values()) await e.dispose();
      engines.clear();
      const e = new LocalEngine({ modelDir, provider: 'cpu', threads });
      await e.load();
      engines.set(threads, e);
    }
    const engine = engines.get(threads)!;
    const s = mergeSettings(defaultSettings(repoRoot), v.settings);
    const ms: number[] = [];
    let exact = 0, similarity = 0, passes = 0, computed = 0, modelMs = 0, totalMs = 0, multiLine = 0;
    const tick = progress(v.label, holes.length);
    for (const [i, h] of holes.entries()) {
      const document = `hole-${i}`;
      const at = requestAt(h.prefix + h.suffix, h.prefix.length, s);
      const before = requestAt(h.prefix.slice(0, -1) + h.suffix, h.prefix.length - 1, s);
      if (!at || !before) throw new Error(`hole ${i} looks binary`);
      // Warm: the same document one character earlier, untimed (what the previous keystroke left).
      const warm = engineRequest(before.plan, { ...before.context, document }, s);
      await engine.infill({ ...warm, canvasLength: 1, candidates: 1, sampler: { ...warm.sampler, steps: 1 } });
      const { completions, result: r } = await completeAt(at, s, (request) => engine.infill(request), { document });
      const got = (completions[0]?.text ?? '').trimEnd();
      exact += got === h.middle.trimEnd() ? 1 : 0;
      similarity += editSimilarity(got, h.middle.trimEnd());
      multiLine += at.plan.mode === 'multi-line' ? 1 : 0;
      ms.push(r.timings.totalMs);
      passes += r.canvasPasses;
      computed += r.context.computed;
      modelMs += r.timings.modelMs;
      totalMs += r.timings.totalMs;
      tick(i + 1);
    }
    engine.contextCache?.clear();
    const row = { label: v.label, threads, singleLineCeiling: s.maxTokensSingleLine, candidates: s.candidates, multiLinePlans: multiLine, p50: percentile(ms, 50), p95: percentile(ms, 95),
      exact: exact / holes.length, similarity: similarity / holes.length, canvasPasses: passes / holes.length,
      contextComputed: computed / holes.length, modelShare: modelMs / totalMs };
    results.push(row);
    rows.push([row.label, row.singleLineCeiling, row.candidates, row.multiLinePlans, row.p50.toFixed(0), row.p95.toFixed(0), row.canvasPasses.toFixed(1),
      row.contextComputed.toFixed(1), `${(100 * row.modelShare).toFixed(0)}%`, `${(100 * row.exact).toFixed(1)}%`, row.similarity.toFixed(3)]);
  }
  for (const e of engines.values()) await e.dispose();
  const md = `## Engine knobs for single-line ghost text (warm context, engine in process)\n\nmodel ${path.basename(modelDir)}; ${holes.length} single-line held-out holes `
    + `(${files.map((f) => path.basename(f)).join(', ')}); ${machine()}; ${new Date().toISOString().slice(0, 10)}. One knob changed from the shipped defaults per row; `
    + 'latency is the engine\'s (no server, no debounce); quality on the same holes, of the text the editor would show.\n\n'
    + table(['variant', 'single-line ceiling', 'candidates', 'planned multi-line', 'p50 ms', 'p95 ms', 'block passes (mean)', 'context tokens computed (mean)', 'in the model', 'exact match', 'edit similarity'], rows);
  writeResults(a.out ?? path.join(repoRoot, 'bench/results'), 'bench-knobs', { model: path.basename(modelDir), machine: machine(), date: new Date().toISOString(), holes: holes.length, results }, md);
}

if (require.main === module) main().catch((e) => { process.stderr.write(`${e.stack ?? e}\n`); process.exit(1); });
