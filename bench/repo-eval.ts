// Repository-level holes scored with and without code from other files (issue 24), side by side
// in one run, in the order the editor meets them at a new cursor:
//   first:  the first completion, the context cold (ghost text reads the extra context only once
//           its K/V is warm, so this one runs without it and costs what it did);
//   warm-up: the prefill the server runs when the cursor rests (it computes the extra context);
//   rested: the completion after it, which reads the extra context;
//   typed:  a keystroke later, the context cached.
// Exact match and edit similarity of the first and the rested completion, each step's latency,
// context tokens and the K/V bytes a document keeps.
//   node out/bench/repo-eval.js [--holes bench/holes-repo.jsonl.gz] [--limit N] [--budgets 256,512] [--chunks 4] [--name-bias 0,4]
//                               [--ordinary] [--dump F.jsonl]
// --name-bias: a mode per value and budget (sampler.nameBias, with the sources' names; a budget of 0
// sends the names without code); --ordinary: a random
// line of each hole's file instead of the hole, to see what the same context does where no other
// file's name is needed.
// --dump writes each hole's completions, a line per hole and mode, to read what the model wrote.
// The context is built as the server builds it: its windows (context.ts, 320/64 tokens), and the
// context sources (context-sources/) fed with the hole's open files, the hole's own file last (the
// one being edited). Single-line completion at the cursor, greedy, the product's 24-token ceiling.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { buildCursorContext } from '../language-server/src/context';
import { WorkspaceFilter } from '../language-server/src/context-sources/exclusions';
import { ContextSources } from '../language-server/src/context-sources/sources';
import { SETTINGS } from '../language-server/src/protocol';
import { LocalEngine } from '../model-host/src/engine';
import type { InfillResult } from '../model-host/src/types';
import { editSimilarity, greedy } from './eval';
import { cutHole, seeded } from './holes';
import { machine, percentile, progress, table, writeResults } from './report';
import { loadRepoHoles } from './repo-holes';

const repoRoot = path.resolve(__dirname, '../..');
const WINDOWS = { maxPrefixTokens: SETTINGS.maxPrefixTokens.default, maxSuffixTokens: SETTINGS.maxSuffixTokens.default };
const CANVAS = SETTINGS.maxTokensSingleLine.default;
const ROOT = '/bench-workspace';
const uri = (file: string) => `file://${ROOT}/${file}`;

interface Mode { name: string; crossFile: boolean; tokens: number; chunks: number; nameBias: number }
interface Row {
  firstEm: number; firstEs: number; em: number; es: number;
  /** The other file's name appears in the extra context (retrieval found it) / in the rested completion (the model used it). */
  nameInExtra: number; nameOffered: number; nameUsed: number;
  firstMs: number; warmMs: number; restedMs: number; typedMs: number; contextTokens: number; extraTokens: number; kvBytes: number;
}

async function main(): Promise<void> {
  const { values: a } = parseArgs({ options: {
    holes: { type: 'string', default: path.join(repoRoot, 'bench/holes-repo.jsonl.gz') }, limit: { type: 'string' },
    budgets: { type: 'string', default: String(SETTINGS.crossFileTokens.default) }, chunks: { type: 'string', default: String(SETTINGS.crossFileChunks.default) },
    model: { type: 'string' }, out: { type: 'string' }, threads: { type: 'string' }, dump: { type: 'string' }, ordinary: { type: 'boolean' }, 'name-bias': { type: 'string', default: '0' },
  } });
  const dump: string[] = [];
  const { files, holes: cut } = loadRepoHoles(a.holes!);
  // --ordinary: a random line of each hole's file instead, the same files open: what the extra
  // context and the names do to lines that need no other file.
  const rnd = seeded(1);
  const all = a.ordinary ? cut.flatMap((h) => {
    const line = cutHole(files.get(h.file)!, 'line', rnd);
    return line ? [{ ...h, offset: line.prefix.length, middle: line.middle, name: '' }] : [];
  }) : cut;
  const limit = Number(a.limit ?? 0);
  const holes = limit > 0 ? all.filter((_, i) => i % Math.ceil(all.length / limit) === 0).slice(0, limit) : all;
  // A budget of 0 sends the names alone (no code from other files).
  const modes: Mode[] = [{ name: 'without', crossFile: false, tokens: 0, chunks: 0, nameBias: 0 },
    ...a.budgets!.split(',').flatMap((t) => a['name-bias']!.split(',').map(Number).map((nameBias) => ({
      name: `${Number(t) ? `with ${t} tokens` : 'no code'}${nameBias ? `, names +${nameBias}` : ''}`, crossFile: true, tokens: Number(t), chunks: Number(a.chunks), nameBias })))
      .filter((m) => m.tokens > 0 || m.nameBias > 0)];
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
      const extra = m.crossFile ? sources.extraFor(uri(h.file), line, 'javascript', ctx.prefix, ctx.suffix, { crossFile: true, crossFileTokens: m.tokens, crossFileChunks: m.chunks }) : undefined;
      const document = `hole-${i}-${m.name}`;
      const request = { prefix: ctx.prefix, suffix: ctx.suffix, canvasLength: CANVAS, sampler: { ...greedy(), singleLine: true, nameBias: m.nameBias }, ...WINDOWS,
        document, reuseContext: true, extraContext: extra?.text, maxExtraTokens: m.tokens, extraContextWhenWarm: true, names: extra?.names, members: extra?.members };
      const score = (r: InfillResult) => {
        const got = (r.candidates[0]?.text ?? '').trimEnd();
        return { em: got === h.middle.trimEnd() ? 1 : 0, es: editSimilarity(got, h.middle.trimEnd()) };
      };
      const first = await engine.infill(request);
      const t0 = performance.now();
      await engine.prefill(request);
      const warmMs = performance.now() - t0;
      const rested = await engine.infill(request);
      const kvBytes = engine.contextCache?.bytes ?? 0;
      // A keystroke after it: the middle's first character typed (the context cached).
      const typed = await engine.infill({ ...request, prefix: ctx.prefix + h.middle[0] });
      engine.forget(document);
      if (a.dump) dump.push(JSON.stringify({ hole: i, file: h.file, name: h.name, mode: m.name, middle: h.middle, first: first.candidates[0]?.text ?? '',
        rested: rested.candidates[0]?.text ?? '', extra: extra?.text ?? '' }));
      const f = score(first);
      const nameInExtra = h.name && extra?.text.includes(h.name) ? 1 : 0;
      const nameOffered = h.name && extra && (extra.names.includes(h.name) || Object.values(extra.members).some((l) => l.includes(h.name))) ? 1 : 0;
      const nameUsed = h.name && (rested.candidates[0]?.text ?? '').includes(h.name) ? 1 : 0;
      rows.get(m.name)!.push({ firstEm: f.em, firstEs: f.es, ...score(rested), nameInExtra, nameOffered, nameUsed, firstMs: first.timings.totalMs, warmMs,
        restedMs: rested.timings.totalMs, typedMs: typed.timings.totalMs, contextTokens: rested.context.tokens, extraTokens: rested.extraTokens ?? 0, kvBytes });
    }
    tick(i + 1);
  }
  await engine.dispose();
  if (a.dump) fs.writeFileSync(a.dump, dump.join('\n') + '\n');
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
  const summary = modes.map((m) => {
    const r = rows.get(m.name)!;
    const p = (key: keyof Row, q: number) => percentile(r.map((x) => x[key]), q);
    return { mode: m.name, holes: r.length, firstExactMatch: mean(r.map((x) => x.firstEm)), firstEditSimilarity: mean(r.map((x) => x.firstEs)),
      exactMatch: mean(r.map((x) => x.em)), editSimilarity: mean(r.map((x) => x.es)),
      nameInExtra: mean(r.map((x) => x.nameInExtra)), nameOffered: mean(r.map((x) => x.nameOffered)), nameUsed: mean(r.map((x) => x.nameUsed)),
      firstP50: p('firstMs', 50), firstP95: p('firstMs', 95), warmP50: p('warmMs', 50), restedP50: p('restedMs', 50),
      typedP50: p('typedMs', 50), typedP95: p('typedMs', 95),
      contextTokens: mean(r.map((x) => x.contextTokens)), extraTokens: mean(r.map((x) => x.extraTokens)), kvMiB: mean(r.map((x) => x.kvBytes)) / 2 ** 20 };
  });
  const pct = (x: number) => (100 * x).toFixed(1);
  const md = `# Repository-level holes: with and without code from other files\n\n${holes.length} ${a.ordinary ? 'ordinary lines (--ordinary: a random line of each hole\'s file, the same files open)' : 'holes'} from ${a.holes ? path.basename(a.holes) : ''} `
    + `(${[...new Set(holes.map((h) => h.file.split('/')[0]))].join(', ')}), model ${info.name}, ${machine()}, ${new Date().toISOString().slice(0, 10)}. `
    + `Single-line, greedy, canvas ${CANVAS}, windows ${WINDOWS.maxPrefixTokens}/${WINDOWS.maxSuffixTokens}, ${a.chunks} chunks at most. `
    + 'First: the first completion at the cursor, nothing cached (the extra context is read only once warm, so not here). '
    + 'Warm-up: the prefill at cursor rest. Rested: the completion after it. Typed: one character later. KV: what the document keeps. '
    + 'Name in extra: the hidden line\'s name from the other file is in the extra context (retrieval); name offered: it is among the names the sampler favours (names +N modes, sampler.nameBias N); name used: the rested completion writes it.\n\n'
    + table(['mode', 'first EM %', 'first ES %', 'rested EM %', 'rested ES %', 'name in extra %', 'name offered %', 'name used %', 'first p50 ms', 'first p95 ms', 'warm-up p50 ms', 'rested p50 ms',
      'typed p50 ms', 'typed p95 ms', 'context tokens', 'extra tokens', 'KV MiB/doc'],
    summary.map((s) => [s.mode, pct(s.firstExactMatch), pct(s.firstEditSimilarity), pct(s.exactMatch), pct(s.editSimilarity), pct(s.nameInExtra), pct(s.nameOffered), pct(s.nameUsed), s.firstP50.toFixed(0),
      s.firstP95.toFixed(0), s.warmP50.toFixed(0), s.restedP50.toFixed(0), s.typedP50.toFixed(0), s.typedP95.toFixed(0), s.contextTokens.toFixed(0),
      s.extraTokens.toFixed(0), s.kvMiB.toFixed(1)]));
  writeResults(a.out ?? path.join(repoRoot, 'bench/results'), a.ordinary ? 'repo-lines' : 'repo-holes', { summary, machine: machine() }, md);
}

if (require.main === module) main().catch((e) => { process.stderr.write(`${e.stack ?? e}\n`); process.exit(1); });
