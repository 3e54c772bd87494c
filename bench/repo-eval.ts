// Repository-level holes scored with and without code from other files (issue 24), side by side
// in one run: exact match, edit similarity, the first completion's latency (cold context), a
// keystroke's latency after it (the context cached, one character typed), context tokens and the
// K/V bytes a document keeps.
//   node out/bench/repo-eval.js [--holes bench/holes-repo.jsonl.gz] [--limit N] [--budgets 256,512] [--chunks 4]
// The context is built as the server builds it: its windows (context.ts, 320/64 tokens), and the
// context sources (context-sources/) fed with the hole's open files, the hole's own file last (the
// one being edited). Single-line completion at the cursor, greedy, the product's 24-token ceiling.

import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { buildCursorContext } from '../language-server/src/context';
import { WorkspaceFilter } from '../language-server/src/context-sources/exclusions';
import { ContextSources } from '../language-server/src/context-sources/sources';
import { SETTINGS } from '../language-server/src/protocol';
import { LocalEngine } from '../model-host/src/engine';
import { editSimilarity, greedy } from './eval';
import { machine, percentile, progress, table, writeResults } from './report';
import { loadRepoHoles } from './repo-holes';

const repoRoot = path.resolve(__dirname, '../..');
const WINDOWS = { maxPrefixTokens: SETTINGS.maxPrefixTokens.default, maxSuffixTokens: SETTINGS.maxSuffixTokens.default };
const CANVAS = SETTINGS.maxTokensSingleLine.default;
const ROOT = '/bench-workspace';
const uri = (file: string) => `file://${ROOT}/${file}`;

interface Mode { name: string; tokens: number; chunks: number }
interface Row { em: number; es: number; firstMs: number; typedMs: number; contextTokens: number; extraTokens: number; kvBytes: number }

async function main(): Promise<void> {
  const { values: a } = parseArgs({ options: {
    holes: { type: 'string', default: path.join(repoRoot, 'bench/holes-repo.jsonl.gz') }, limit: { type: 'string' },
    budgets: { type: 'string', default: String(SETTINGS.crossFileTokens.default) }, chunks: { type: 'string', default: String(SETTINGS.crossFileChunks.default) },
    model: { type: 'string' }, out: { type: 'string' }, threads: { type: 'string' },
  } });
  const { files, holes: all } = loadRepoHoles(a.holes!);
  const limit = Number(a.limit ?? 0);
  const holes = limit > 0 ? all.filter((_, i) => i % Math.ceil(all.length / limit) === 0).slice(0, limit) : all;
  const modes: Mode[] = [{ name: 'without', tokens: 0, chunks: 0 },
    ...a.budgets!.split(',').map((t) => ({ name: `with ${t} tokens`, tokens: Number(t), chunks: Number(a.chunks) }))];
  const engine = new LocalEngine({ modelDir: a.model ?? path.join(repoRoot, 'models/default'), provider: 'cpu', threads: Number(a.threads ?? 0) });
  const info = await engine.load();
  const rows = new Map<string, Row[]>(modes.map((m) => [m.name, []]));
  const tick = progress('repo holes', holes.length);
  for (const [i, h] of holes.entries()) {
    const full = files.get(h.file)!;
    const text = full.slice(0, h.offset) + full.slice(h.offset + h.middle.length);
    const ctx = buildCursorContext(text, h.offset, WINDOWS);
    if (ctx.kind !== 'ok') continue;
    const line = text.slice(0, h.offset).split('\n').length - 1;
    // The editor's state: the open files, then the file being edited (the most recent).
    const filter = new WorkspaceFilter();
    filter.setRoots([ROOT]);
    const sources = new ContextSources(filter);
    for (const f of h.open) sources.update(uri(f), files.get(f)!, 1);
    sources.update(uri(h.file), text, 1);
    // Modes take turns per hole so that the machine's load drifts over them alike.
    for (const m of modes) {
      const extra = m.tokens > 0 ? sources.extraFor(uri(h.file), line, 'javascript', ctx.prefix, ctx.suffix, { crossFile: true, crossFileTokens: m.tokens, crossFileChunks: m.chunks }) : undefined;
      const document = `hole-${i}-${m.name}`;
      const request = { prefix: ctx.prefix, suffix: ctx.suffix, canvasLength: CANVAS, sampler: { ...greedy(), singleLine: true }, ...WINDOWS,
        document, reuseContext: true, extraContext: extra?.text, maxExtraTokens: m.tokens };
      const first = await engine.infill(request);
      const kvBytes = engine.contextCache?.bytes ?? 0;
      // A keystroke after it: the middle's first character typed (the context cached).
      const typed = await engine.infill({ ...request, prefix: ctx.prefix + h.middle[0] });
      engine.forget(document);
      const got = first.candidates[0]?.text ?? '';
      rows.get(m.name)!.push({ em: got.trimEnd() === h.middle.trimEnd() ? 1 : 0, es: editSimilarity(got.trimEnd(), h.middle.trimEnd()),
        firstMs: first.timings.totalMs, typedMs: typed.timings.totalMs, contextTokens: first.context.tokens, extraTokens: first.extraTokens ?? 0, kvBytes });
    }
    tick(i + 1);
  }
  await engine.dispose();
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
  const summary = modes.map((m) => {
    const r = rows.get(m.name)!;
    return { mode: m.name, holes: r.length, exactMatch: mean(r.map((x) => x.em)), editSimilarity: mean(r.map((x) => x.es)),
      firstP50: percentile(r.map((x) => x.firstMs), 50), firstP95: percentile(r.map((x) => x.firstMs), 95),
      typedP50: percentile(r.map((x) => x.typedMs), 50), typedP95: percentile(r.map((x) => x.typedMs), 95),
      contextTokens: mean(r.map((x) => x.contextTokens)), extraTokens: mean(r.map((x) => x.extraTokens)), kvMiB: mean(r.map((x) => x.kvBytes)) / 2 ** 20 };
  });
  const md = `# Repository-level holes: with and without code from other files\n\n${holes.length} holes from ${a.holes ? path.basename(a.holes) : ''} `
    + `(${[...new Set(holes.map((h) => h.file.split('/')[0]))].join(', ')}), model ${info.name}, ${machine()}, ${new Date().toISOString().slice(0, 10)}. `
    + `Single-line, greedy, canvas ${CANVAS}, windows ${WINDOWS.maxPrefixTokens}/${WINDOWS.maxSuffixTokens}, ${a.chunks} chunks at most. `
    + 'First: a cold context (nothing cached). Typed: one character later, the context cached. KV: what the document keeps in the context cache.\n\n'
    + table(['mode', 'EM %', 'ES %', 'first p50 ms', 'first p95 ms', 'typed p50 ms', 'typed p95 ms', 'context tokens', 'extra tokens', 'KV MiB/doc'],
      summary.map((s) => [s.mode, (100 * s.exactMatch).toFixed(1), (100 * s.editSimilarity).toFixed(1), s.firstP50.toFixed(0), s.firstP95.toFixed(0),
        s.typedP50.toFixed(0), s.typedP95.toFixed(0), s.contextTokens.toFixed(0), s.extraTokens.toFixed(0), s.kvMiB.toFixed(1)]));
  writeResults(a.out ?? path.join(repoRoot, 'bench/results'), 'repo-holes', { summary, machine: machine() }, md);
}

if (require.main === module) main().catch((e) => { process.stderr.write(`${e.stack ?? e}\n`); process.exit(1); });
