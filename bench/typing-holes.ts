// Ghost text through the real language server on held-out holes, as an editor drives it: per hole,
//   1. first completion after opening the file: open it (the hole's first character already
//      typed, so the cursor is mid-line: single-line mode) and ask at once (explicit request, no
//      time for a warm-up: the cold case);
//   2. sustained typing: type the next characters of the hidden line ~interval ms apart, each
//      keystroke an edit, a cursor report (as the VS Code client sends) and an automatic request
//      that cancels the one before;
//   3. first completion after a warm start: the same file opened again under another name, the
//      cursor reported, a short pause (a user reading), then an explicit request.
// The server runs with DIFFUSION_INFILL_TRACE=1, so each finished engine run logs its breakdown
// (context tokens computed/reused, block passes, ms in the model), read back here.
import { CancellationTokenSource, type Position } from 'vscode-languageserver-protocol/node';
import { cursorMoved } from '../language-server/src/protocol';
import { decideMode, type SpanMode } from '../language-server/src/span-policy';
import { LspServerProcess } from '../test/language-server/lsp-harness';
import type { Hole } from './holes';
import { seeded } from './holes';
import { progress, residentMiB, rssMiB } from './report';

export interface Trace {
  kind: 'infill' | 'prefill';
  document: string;
  mode?: SpanMode;
  latencyMs?: number;
  modelMs?: number;
  engineMs?: number;
  ms?: number;
  context: { tokens: number; computed: number; reused: number };
  canvasPasses?: number;
  /** The answer was cut by the time budget (ghostTextBudgetMs). */
  truncated?: boolean;
  /** A run writing the rest of a cut answer in the background (inline-completion.ts growCompletion). */
  grow?: boolean;
}

export interface TypingOptions {
  modelPath: string;
  /** Characters typed per hole after the first (fewer when the line is shorter). */
  typed: number;
  interval: number;
  /** Pause between the cursor report and the request in the warm-start case. */
  warmPauseMs: number;
  /** Server settings over the defaults (initializationOptions). */
  settings?: Record<string, unknown>;
}

export interface TypingStats {
  holes: number;
  debounceMs: number;
  /** Client-observed latencies (request sent to answer) of answered automatic requests while typing; they include the debounce. */
  typing: number[];
  /** The server's span mode for each of those (a line ending in an opener such as `(` asks for a multi-line completion). */
  typingModes: SpanMode[];
  requests: number;
  answered: number;
  cancelled: number;
  failed: number;
  /** Automatic requests (as typing the first character makes one) right after opening (cold) and
   *  after a warm start; they include the debounce. */
  first: number[];
  firstWarm: number[];
  /** Trace lines of finished engine runs, by phase. */
  traces: { first: Trace[]; typing: Trace[]; firstWarm: Trace[]; prefill: Trace[]; grow: Trace[] };
  rssMiB: { start: number; max: number; end: number };
  /** Pages the server and the worker hold, a shared one counted once (report.ts): at the start, after every hole, at the end. */
  residentMiB: { start: number; max: number; end: number };
}

const EXTENSIONS: Record<string, string> = { python: 'py', typescript: 'ts', javascript: 'js' };

/** The position after `text` (LSP counts UTF-16 units, as JavaScript strings do). */
function endOf(text: string): Position {
  const lines = text.split('\n');
  return { line: lines.length - 1, character: lines[lines.length - 1].length };
}

function parseTraces(stderr: string): Trace[] {
  return stderr.split('\n').filter((l) => l.includes('[trace] ')).map((l) => JSON.parse(l.slice(l.indexOf('[trace] ') + 8)) as Trace);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function typeHoles(holes: Hole[], o: TypingOptions): Promise<TypingStats> {
  process.env.DIFFUSION_INFILL_TRACE = '1';
  const server = LspServerProcess.start('stdio');
  delete process.env.DIFFUSION_INFILL_TRACE;
  const settings: Record<string, unknown> = { modelPath: o.modelPath, ...o.settings };
  const debounceMs = Number(settings.debounceMs ?? 75);
  const stats: TypingStats = {
    holes: holes.length, debounceMs, typing: [], typingModes: [], requests: 0, answered: 0, cancelled: 0, failed: 0, first: [], firstWarm: [],
    traces: { first: [], typing: [], firstWarm: [], prefill: [], grow: [] }, rssMiB: { start: 0, max: 0, end: 0 }, residentMiB: { start: 0, max: 0, end: 0 },
  };
  const phase = new Map<string, 'open' | 'warm'>();
  try {
    await server.initialize(settings);
    await server.waitForStatus((s) => s.state === 'ready' || s.state === 'error', 300_000);
    const pid = server.child.pid!;
    // The sum of the processes' RSS at every keystroke and after every hole; the pages they hold
    // (smaps, a few ms to read and parse) only after every hole, where the caches hold the most, so
    // that reading them does not take the cores from the requests being timed.
    const sample = (at: 'start' | 'keystroke' | 'hole' | 'end') => {
      const reads = at === 'keystroke' ? [[stats.rssMiB, rssMiB] as const] : [[stats.rssMiB, rssMiB], [stats.residentMiB, residentMiB]] as const;
      for (const [m, read] of reads) {
        const v = read(pid);
        if (at === 'start' || at === 'end') m[at] = v;
        m.max = Math.max(m.max, v);
      }
    };
    sample('start');
    const rnd = seeded(42);
    const tick = progress('typing through the server', holes.length);
    for (const [i, h] of holes.entries()) {
      const ext = EXTENSIONS[h.language] ?? 'txt';
      const uri = `file:///bench/peer/hole-${i}.${ext}`;
      phase.set(uri, 'open');
      let text = h.prefix + h.middle[0];
      await server.open(uri, h.language, text + h.suffix);
      let t0 = performance.now();
      await server.inline(uri, endOf(text), { trigger: 'automatic' });
      stats.first.push(performance.now() - t0);

      // Sustained typing: each keystroke supersedes the request before it.
      let previous: CancellationTokenSource | undefined;
      const inflight: Promise<void>[] = [];
      const line = h.middle.slice(1, 1 + o.typed);
      for (const ch of line) {
        const at = endOf(text);
        text += ch;
        await server.change(uri, { start: at, end: at }, ch);
        const cursor = endOf(text);
        await server.connection.sendNotification(cursorMoved, { textDocument: { uri }, position: cursor });
        previous?.cancel();
        const token = new CancellationTokenSource();
        previous = token;
        stats.requests++;
        const sent = performance.now();
        const lineStart = text.lastIndexOf('\n') + 1;
        const mode = decideMode(text.slice(lineStart), '');
        inflight.push(server.inline(uri, cursor, { trigger: 'automatic', token }).then(
          () => {
            if (token.token.isCancellationRequested) stats.cancelled++;
            else {
              stats.answered++;
              stats.typing.push(performance.now() - sent);
              stats.typingModes.push(mode);
            }
          },
          () => { if (token.token.isCancellationRequested) stats.cancelled++; else stats.failed++; },
        ));
        sample('keystroke');
        // A fast typist: keystrokes ~interval apart with jitter, a pause at some word ends.
        const pause = ch === ' ' && rnd() < 0.3 ? 4 * o.interval : 0;
        await sleep(o.interval * (0.6 + 0.8 * rnd()) + pause);
      }
      await Promise.all(inflight);
      await server.close(uri);

      // A warm start: the cursor is reported when the file opens, the user pauses, then asks.
      const warmUri = `file:///bench/peer/hole-${i}-warm.${ext}`;
      phase.set(warmUri, 'warm');
      const warmText = h.prefix + h.middle[0];
      await server.open(warmUri, h.language, warmText + h.suffix);
      await server.connection.sendNotification(cursorMoved, { textDocument: { uri: warmUri }, position: endOf(warmText) });
      await sleep(o.warmPauseMs);
      t0 = performance.now();
      await server.inline(warmUri, endOf(warmText), { trigger: 'automatic' });
      stats.firstWarm.push(performance.now() - t0);
      await server.close(warmUri);
      sample('hole');
      tick(i + 1);
    }
    await sleep(1000);
    sample('end');
  } finally {
    await server.stop();
  }
  // Each document's first finished run is its first completion; the open document's later ones are typing.
  const seen = new Set<string>();
  for (const t of parseTraces(server.stderr)) {
    if (t.kind === 'prefill' || t.grow) {
      (t.grow ? stats.traces.grow : stats.traces.prefill).push(t);
      continue;
    }
    const firstOfDocument = !seen.has(t.document);
    seen.add(t.document);
    if (phase.get(t.document) === 'warm') stats.traces.firstWarm.push(t);
    else if (firstOfDocument) stats.traces.first.push(t);
    else stats.traces.typing.push(t);
  }
  return stats;
}
