// Sampler speed, side by side on the same holes and the same model: LLaDA's schedule with a cold
// context (computed afresh) and with a warm one (the context cache holds the hole's text as it was three characters earlier:
// the request after a few keystrokes). Per request it reports the context tokens computed and
// reused, the block passes, and the time in the model versus elsewhere. Quality (exact match) is
// printed next to speed so that speed is never bought with silent quality loss.
//   node out/bench/speed.js [--model DIR] [--n 30] [--src language-server/src]
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { LocalEngine } from '../model-host/src/engine';
import { ENGINE_SETTINGS } from '../model-host/src/settings/engine-settings';
import type { InfillRequest, SamplerOptions } from '../model-host/src/types';
import { makeHoles, type Hole } from './holes';
import { machine, percentile, progress, table, writeResults } from './report';

const repoRoot = path.resolve(__dirname, '../..');

export const VARIANTS: Record<string, { sampler: Partial<SamplerOptions>; warm: boolean }> = {
  'cold context': { sampler: {}, warm: false },
  'warm context': { sampler: {}, warm: true },
};

interface Row {
  variant: string; kind: string; p50: number; p95: number; tokensPerSecond: number; canvasPassesPerToken: number;
  contextComputed: number; contextReused: number; modelShare: number; exact: number; rssMiB: number;
}

async function main(): Promise<void> {
  const { values: a } = parseArgs({ options: { model: { type: 'string' }, n: { type: 'string' }, src: { type: 'string' }, out: { type: 'string' } } });
  const n = Number(a.n ?? 30);
  const engine = new LocalEngine({ modelDir: a.model ?? path.join(repoRoot, 'models/default'), provider: 'cpu' });
  const info = await engine.load();
  // Held-out code: the project's own sources were never in the training corpus.
  const all = makeHoles(a.src ?? path.join(repoRoot, 'language-server/src'), n * 4, 7);
  const sets: Record<string, { holes: Hole[]; canvas: number; singleLine: boolean }> = {
    'single-line (canvas 24)': { holes: all.filter((h) => h.kind === 'line').slice(0, n), canvas: 24, singleLine: true },
    'multi-line (canvas 96)': { holes: all.filter((h) => h.kind === 'block').slice(0, n), canvas: 96, singleLine: false },
  };
  const rows: Row[] = [];
  for (const [kind, { holes, canvas, singleLine }] of Object.entries(sets)) {
    for (const [variant, { sampler: knobs, warm }] of Object.entries(VARIANTS)) {
      const sampler: SamplerOptions = { steps: canvas, blockLength: 8, temperature: 0, singleLine, ...knobs };
      const tick = progress(`${kind} ${variant}`, holes.length);
      const ms: number[] = [];
      let tokens = 0, canvasPasses = 0, exact = 0, computed = 0, reused = 0, modelMs = 0, totalMs = 0;
      for (const [i, h] of holes.entries()) {
        const request: InfillRequest = { prefix: h.prefix, suffix: h.suffix, canvasLength: canvas, sampler, document: `hole-${i}`, reuseContext: warm,
          maxPrefixTokens: ENGINE_SETTINGS.maxPrefixTokens.default, maxSuffixTokens: ENGINE_SETTINGS.maxSuffixTokens.default };
        // Warm: the same document a few keystrokes earlier, untimed.
        if (warm) await engine.infill({ ...request, prefix: h.prefix.slice(0, Math.max(0, h.prefix.length - 3)), sampler: { ...sampler, steps: 1 }, canvasLength: 1 });
        const r = await engine.infill(request);
        ms.push(r.timings.totalMs);
        tokens += r.candidates[0].tokens;
        canvasPasses += r.canvasPasses;
        computed += r.context.computed;
        reused += r.context.reused;
        modelMs += r.timings.modelMs;
        totalMs += r.timings.totalMs;
        exact += (r.candidates[0].text.trimEnd() === h.middle.trimEnd()) ? 1 : 0;
        tick(i + 1);
      }
      engine.contextCache?.clear();
      rows.push({ variant, kind, p50: percentile(ms, 50), p95: percentile(ms, 95), tokensPerSecond: (1000 * tokens) / totalMs,
        canvasPassesPerToken: canvasPasses / Math.max(1, tokens), contextComputed: computed / holes.length, contextReused: reused / holes.length,
        modelShare: modelMs / totalMs, exact: exact / holes.length, rssMiB: process.resourceUsage().maxRSS / 1024 });
    }
  }
  await engine.dispose();
  const md = `## Sampler speed\n\nmodel ${info.name} (${info.parameters.toLocaleString()} parameters) on ${info.provider}, ${machine()}; `
    + `${n} held-out holes per kind from this repository's own sources; greedy, block 8, steps = canvas; `
    + 'warm = the context cache holds the text from three characters earlier.\n\n'
    + table(['holes', 'sampler', 'p50 ms', 'p95 ms', 'context tokens computed / reused (mean)', 'block passes/token', 'in the model', 'tokens/s', 'exact match', 'peak RSS MiB'],
      rows.map((r) => [r.kind, r.variant, r.p50.toFixed(0), r.p95.toFixed(0), `${r.contextComputed.toFixed(1)} / ${r.contextReused.toFixed(1)}`,
        r.canvasPassesPerToken.toFixed(2), `${(100 * r.modelShare).toFixed(0)}%`, r.tokensPerSecond.toFixed(0), (100 * r.exact).toFixed(1) + '%', r.rssMiB.toFixed(0)]));
  writeResults(a.out ?? path.join(repoRoot, 'bench/results'), 'bench-speed', { model: info.name, machine: machine(), rows }, md);
}

if (require.main === module) main().catch((e) => { process.stderr.write(`${e.stack ?? e}\n`); process.exit(1); });
