// Infill quality. HumanEval-Infilling pass@1 (greedy; each program runs in a subprocess in a temp dir,
// without network, with a memory cap and a timeout), and exact match / edit similarity on any JSONL of holes.
//   node out/bench/eval.js --humaneval single,multi,random [--limit 50] [--model DIR] [--length planned|oracle]
// The span's length: `planned` asks for what the product asks for (the settings' ceilings at a cursor, Fill
// Selection's plan for the random spans) and the model ends the middle with <|pad|>; `oracle` gives the
// hidden middle's exact token count (no <|pad|> before it), so the two side by side are the cost of the
// model deciding the length.
//   node out/bench/eval.js --jsonl bench/holes-heldout.jsonl [--typed 3]   (the first 3 characters of each middle already typed)
// The holes of a JSONL file are cursors, completed by the editor's own pipeline (complete-at.ts); the HumanEval sets
// are the benchmark's spans, asked of the engine directly (their canvas is a plan or the oracle length, not a cursor's)
// and scored as the editor would insert the answer (asInserted).
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as zlib from 'node:zlib';
import { LocalEngine } from '../model-host/src/engine';
import { CodeTokenizer } from '../model-host/src/model/tokenizer';
import { completeAt, requestAt } from '../language-server/src/complete-at';
import { SETTINGS } from '../language-server/src/protocol';
import { defaultSettings } from '../language-server/src/settings';
import { finishReplacement } from '../language-server/src/fill-selection';
import { postprocessCompletion } from '../language-server/src/postprocess';
import { planSelectionSpan } from '../language-server/src/span-policy';
import type { SamplerOptions } from '../model-host/src/types';
import type { Hole } from './holes';
import { machine, progress, table, writeResults } from './report';

const repoRoot = path.resolve(__dirname, '../..');
const EVAL_DIR = path.resolve(repoRoot, '../shared/eval/humaneval-infilling');
const SPAN_DEFAULTS = {
  maxTokensSingleLine: SETTINGS.maxTokensSingleLine.default, maxTokensMultiLine: SETTINGS.maxTokensMultiLine.default, candidates: 1,
};
/** The context windows the server sends (its settings' defaults). */
const WINDOWS = { maxPrefixTokens: SETTINGS.maxPrefixTokens.default, maxSuffixTokens: SETTINGS.maxSuffixTokens.default };
/** Each set with the canvas the product plans for it: a cursor in a line, a cursor on a new line, a selection. */
const SETS: Record<string, { file: string; plan: (hidden: string) => number }> = {
  single: { file: 'HumanEval-SingleLineInfilling.jsonl.gz', plan: () => SPAN_DEFAULTS.maxTokensSingleLine },
  multi: { file: 'HumanEval-MultiLineInfilling.jsonl.gz', plan: () => SPAN_DEFAULTS.maxTokensMultiLine },
  random: { file: 'HumanEval-RandomSpanInfillingLight.jsonl.gz', plan: (hidden) => planSelectionSpan(hidden, SPAN_DEFAULTS).canvasLength },
};

/** One token per pass (steps = block length), the most confident first. */
export const greedy = (): SamplerOptions => ({ steps: 8, blockLength: 8, temperature: 0 });

interface Task { task_id: string; entry_point: string; prompt: string; suffix: string; canonical_solution: string; test: string }

/** Every n-th task so that a limit still covers the whole benchmark. */
function subsample<T>(items: T[], limit: number): T[] {
  if (!limit || limit >= items.length) return items;
  const step = items.length / limit;
  return Array.from({ length: limit }, (_, i) => items[Math.floor(i * step)]);
}

/** Whether this machine lets us make an empty network namespace (root, or unprivileged user namespaces). */
let isolation: 'unshare -n' | 'unshare -rn' | '' | undefined;
function networkIsolation(): string {
  if (isolation === undefined) {
    isolation = '';
    for (const candidate of ['unshare -n', 'unshare -rn'] as const) {
      if (spawnSync('bash', ['-c', `${candidate} true`], { stdio: 'ignore' }).status === 0) {
        isolation = candidate;
        break;
      }
    }
    if (!isolation) process.stderr.write('warning: no network namespace available; generated programs run without network isolation\n');
  }
  return isolation;
}

/** Runs a Python program once; resolves true when it exits 0 within the timeout. */
export function runPython(source: string, timeoutS = 10): Promise<boolean> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'di-eval-'));
  fs.writeFileSync(path.join(dir, 'prog.py'), source);
  // No network (a new, empty network namespace), 1 GiB of address space, a wall-clock limit.
  const cmd = `ulimit -v 1048576; exec timeout -s KILL ${timeoutS} ${networkIsolation()} python3 prog.py`;
  return new Promise((resolve) => {
    const p = spawn('bash', ['-c', cmd], { cwd: dir, stdio: 'ignore', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir } });
    p.on('exit', (code) => {
      fs.rmSync(dir, { recursive: true, force: true });
      resolve(code === 0);
    });
  });
}

/**
 * The completion as the editor would insert it. Single-line holes end at the first newline. A
 * multi-line hole is a cursor at the start of the line after it, cleaned up as ghost text is; a
 * random span is a selection, replaced as Fill Selection replaces it.
 */
function asInserted(raw: string, t: Task, set: string): string {
  if (set === 'single') {
    const nl = raw.indexOf('\n');
    return (nl < 0 ? raw : raw.slice(0, nl)) + '\n';
  }
  if (set === 'random') {
    const selection = { kind: 'ok' as const, prefix: t.prompt, suffix: t.suffix, start: 0, end: 0, selected: t.canonical_solution, eol: '\n' as const };
    return finishReplacement(raw, selection, planSelectionSpan(t.canonical_solution, SPAN_DEFAULTS)) ?? '';
  }
  const lineEnd = t.suffix.indexOf('\n');
  const text = postprocessCompletion(raw, {
    mode: 'multi-line', linePrefix: t.prompt.slice(t.prompt.lastIndexOf('\n') + 1),
    lineSuffix: lineEnd < 0 ? t.suffix : t.suffix.slice(0, lineEnd), suffix: t.suffix,
  }) ?? '';
  return text.endsWith('\n') ? text : text + '\n';
}

export function editSimilarity(a: string, b: string): number {
  if (a === b) return 1;
  const m = a.length;
  const n = b.length;
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = [i];
    for (let j = 1; j <= n; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return 1 - prev[n] / Math.max(m, n, 1);
}

async function main(): Promise<void> {
  const { values: a } = parseArgs({ options: {
    humaneval: { type: 'string' }, jsonl: { type: 'string' }, limit: { type: 'string' }, model: { type: 'string' },
    out: { type: 'string' }, threads: { type: 'string' }, typed: { type: 'string' }, length: { type: 'string' },
    // Checks the harness itself: fills every hole with the benchmark's own solution (expect 100%).
    oracle: { type: 'boolean' },
  } });
  if (!a.humaneval && !a.jsonl) {
    process.stderr.write('usage: eval (--humaneval single,multi,random [--limit N] | --jsonl FILE) [--model DIR]\n');
    process.exit(2);
  }
  const modelDir = a.model ?? path.join(repoRoot, 'models/default');
  const engine = new LocalEngine({ modelDir, provider: 'cpu', threads: Number(a.threads ?? 0) });
  const info = await engine.load();
  const outDir = a.out ?? path.join(repoRoot, 'bench/results');
  const limit = Number(a.limit ?? 0);
  const length = a.length ?? 'planned';
  if (length !== 'planned' && length !== 'oracle') throw new Error(`--length must be planned or oracle (got ${length})`);
  const special = JSON.parse(fs.readFileSync(path.join(modelDir, 'model.json'), 'utf8')).special_tokens;
  const tokenizer = new CodeTokenizer(JSON.parse(fs.readFileSync(path.join(modelDir, 'tokenizer.json'), 'utf8')), special);
  /** The hidden middle's length in tokens as the model writes it (the prefix's trailing blanks healed into it). */
  const oracleTokens = (prefix: string, hidden: string) => tokenizer.encode((/[ \t]*$/.exec(prefix)?.[0] ?? '') + hidden).length;

  if (a.humaneval) {
    const rows: (string | number)[][] = [];
    const results: Record<string, object> = {};
    for (const set of a.humaneval.split(',')) {
      const spec = SETS[set];
      if (!spec) throw new Error(`unknown set ${set}; use single, multi, random`);
      const tasks: Task[] = subsample(zlib.gunzipSync(fs.readFileSync(path.join(EVAL_DIR, spec.file))).toString('utf8')
        .trim().split('\n').map((l) => JSON.parse(l)), limit);
      const tick = progress(`humaneval ${set}`, tasks.length);
      let passed = 0;
      let ms = 0;
      for (const [i, t] of tasks.entries()) {
        const canvas = length === 'oracle' ? oracleTokens(t.prompt, t.canonical_solution) : spec.plan(t.canonical_solution);
        const sampler = { ...greedy(), minTokens: length === 'oracle' ? canvas : 1 };
        const r = await engine.infill({ prefix: t.prompt, suffix: t.suffix, canvasLength: canvas, sampler, ...WINDOWS });
        ms += r.timings.totalMs;
        const completion = a.oracle ? t.canonical_solution : asInserted(r.candidates[0]?.text ?? '', t, set);
        if (await runPython(`${t.prompt}${completion}${t.suffix}\n${t.test}\ncheck(${t.entry_point})\n`)) passed++;
        tick(i + 1);
      }
      results[set] = { tasks: tasks.length, passed, pass_at_1: passed / tasks.length, mean_latency_ms: ms / tasks.length, length };
      rows.push([`${set} (${length} length)`, tasks.length, passed, (100 * passed / tasks.length).toFixed(1) + '%', (ms / tasks.length).toFixed(0)]);
    }
    const md = `## HumanEval-Infilling, pass@1 (greedy)\n\nmodel ${info.name} (${info.parameters.toLocaleString()} parameters), ${machine()}\n\n`
      + table(['set', 'tasks', 'passed', 'pass@1', 'mean ms'], rows);
    writeResults(outDir, `eval-humaneval-${length}`, { model: info.name, machine: machine(), limit, results }, md);
  }

  if (a.jsonl) {
    // Typing: the first characters of the middle move into the prefix (the cursor is then often inside a word).
    const typed = Number(a.typed ?? 0);
    const holes: Hole[] = fs.readFileSync(a.jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).map((h: Hole) => {
      const k = Math.max(0, Math.min(typed, h.middle.trimEnd().length - 1));
      return { ...h, prefix: h.prefix + h.middle.slice(0, k), middle: h.middle.slice(k) };
    });
    const by: Record<string, { n: number; exact: number; sim: number }> = {};
    const tick = progress('holes', holes.length);
    // Each hole's text as the editor would show it, beside the hidden one, for reading failures.
    const records: string[] = [];
    // Each hole is filled the way the editor fills a cursor there (language-server/src/complete-at.ts):
    // the server's windows, its plan for the cursor (single- or multi-line, the settings' ceilings), its post-processing.
    const settings = { ...defaultSettings(repoRoot), ...greedy() };
    for (const [i, h] of holes.entries()) {
      const at = requestAt(h.prefix + h.suffix, h.prefix.length, settings);
      const got = at ? ((await completeAt(at, settings, (request) => engine.infill(request))).completions[0]?.text ?? '').trimEnd() : '';
      const want = h.middle.trimEnd();
      records.push(JSON.stringify({ language: h.language, mode: at?.plan.mode, got, want }));
      for (const key of ['all', h.language]) {
        const s = (by[key] ??= { n: 0, exact: 0, sim: 0 });
        s.n++;
        s.exact += got === want ? 1 : 0;
        s.sim += editSimilarity(got, want);
      }
      tick(i + 1);
    }
    const rows = Object.entries(by).map(([k, s]) => [k, s.n, (100 * s.exact / s.n).toFixed(1) + '%', (s.sim / s.n).toFixed(3)]);
    const md = `## Exact match on ${path.basename(a.jsonl)}${typed ? `, ${typed} characters typed` : ''}\n\nmodel ${info.name}, ${machine()}\n\n` + table(['language', 'holes', 'exact match', 'edit similarity'], rows);
    const name = `eval-${path.basename(a.jsonl, '.jsonl')}${typed ? `-typed${typed}` : ''}`;
    writeResults(outDir, name, { model: info.name, machine: machine(), typed, by }, md);
    fs.writeFileSync(path.join(outDir, `${name}.records.jsonl`), records.join('\n') + '\n');
  }
  await engine.dispose();
}

if (require.main === module) main().catch((e) => { process.stderr.write(`${e.stack ?? e}\n`); process.exit(1); });
