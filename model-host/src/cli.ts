#!/usr/bin/env node
// diffusion-infill: fill a hole with the local model, from the command line, and print JSON.
//
//   diffusion-infill --file F --line L --col C [--end-line L2 --end-col C2] [options]
//   diffusion-infill --prefix-file P --suffix-file S [options]
//
// Lines and columns are 0-based (columns in UTF-16 code units, as in the editor). At a cursor the
// tool runs the editor's own pipeline (language-server/src/complete-at.ts: the settings' context
// windows, single- or multi-line and the canvas from the settings, the post-processing), so
// `completion` is the ghost text the editor shows there; --canvas and --single-line override the
// plan. With --end-line and --end-col the text between the two positions is replaced, and with
// --prefix-file/--suffix-file the two files are the context: both are one raw engine request
// (canvas 24 unless --canvas), `completion` the best candidate as the model wrote it.
// Prints one JSON object:
//   { completion, completions?, mode?, candidates, timings, forwards, prefixTokens, suffixTokens, model, modelPath, provider, providerNotes, deviceReason }
// Exit codes: 0 done, 1 failure, 2 bad arguments, 3 the model could not be loaded.

// First: onnxruntime's telemetry is forced off before the engine loads the runtime.
import './model/telemetry-off';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
// The one program of the model host that runs the whole request path: the completion pipeline
// at a cursor is the language server's (it does not load the server, only these modules).
import { completeAt, requestAt, type CursorRequest } from '../../language-server/src/complete-at';
import { toEol } from '../../language-server/src/line-endings';
import type { ServerSettings } from '../../language-server/src/protocol';
import { defaultSettings } from '../../language-server/src/settings';
import { LocalEngine } from './engine';
import { ENGINE_SETTINGS } from './settings/engine-settings';
import { errorText, ModelLoadError } from './errors';
import type { ExecutionProviderSetting, InfillRequest, InfillResult } from './types';

/** The settings' flags come from engine-settings.ts, with the same defaults and ranges as the editor's. */
const SETTINGS = Object.values(ENGINE_SETTINGS);
const settingsUsage = SETTINGS.map((spec) => {
  if (spec.type === 'boolean') return `[--${spec.flag}]`;
  return `[--${spec.flag} ${'enum' in spec ? spec.enum.join('|') : spec.default}]`;
}).join(' ');

const USAGE = `usage: diffusion-infill (--file F --line L --col C [--end-line L --end-col C] | --prefix-file P --suffix-file S)
  [--model DIR] [--canvas N] [--candidates 1] [--seed 0] [--single-line] [--threads N]
  ${settingsUsage}`;

class UsageError extends Error {}

/** The folder with package.json above this file (the repository, or the installed extension). */
function packageRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return process.cwd();
  }
}

function int(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min} (got ${value})`);
  return n;
}

/** The engine settings from their flags; a value out of range is refused, not clamped. */
function engineSettings(v: Record<string, string | boolean | undefined>) {
  const { device, steps, blockLength, temperature, cache, maxPrefixTokens, maxSuffixTokens } = ENGINE_SETTINGS;
  const number = (spec: typeof steps | typeof blockLength | typeof temperature | typeof maxPrefixTokens | typeof maxSuffixTokens): number => {
    const value = v[spec.flag];
    if (typeof value !== 'string') return spec.default;
    const n = Number(value);
    const integer = spec.type === 'integer';
    if (value.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < spec.minimum || n > spec.maximum) {
      throw new UsageError(`--${spec.flag} must be ${integer ? 'an integer' : 'a number'} in [${spec.minimum}, ${spec.maximum}] (got ${value})`);
    }
    return n;
  };
  const chosen = v[device.flag] ?? device.default;
  if (!device.enum.some((d) => d === chosen)) throw new UsageError(`--${device.flag} must be one of ${device.enum.join(', ')} (got ${chosen})`);
  return {
    device: chosen as ExecutionProviderSetting,
    steps: number(steps),
    blockLength: number(blockLength),
    temperature: number(temperature),
    // --no-cache: the flag negates the setting.
    cache: v[cache.flag] === true ? false : cache.default,
    budgets: { maxPrefixTokens: number(maxPrefixTokens), maxSuffixTokens: number(maxSuffixTokens) },
  };
}

/** Source files larger than this are not something to fill a hole in (and /dev/zero never ends). */
const MAX_INPUT_BYTES = 16 * 1024 * 1024;

/**
 * Reads a regular file of at most MAX_INPUT_BYTES. Devices, FIFOs and sockets are refused before
 * they are opened (opening a FIFO blocks; reading /dev/zero fills memory); the size is checked
 * again on the open descriptor, and no more than the limit is ever read.
 */
function readText(file: string): string {
  const refuse = (why: string): never => {
    throw new UsageError(`cannot read ${file}: ${why}`);
  };
  let fd: number | undefined;
  try {
    if (!fs.statSync(file).isFile()) refuse('not a regular file');
    fd = fs.openSync(file, 'r');
    const opened = fs.fstatSync(fd);
    if (!opened.isFile()) refuse('not a regular file');
    const size = opened.size;
    if (size > MAX_INPUT_BYTES) refuse(`${size} bytes is over the limit of ${MAX_INPUT_BYTES}`);
    const buffer = Buffer.alloc(size);
    const read = fs.readSync(fd, buffer, 0, size, 0);
    return buffer.subarray(0, read).toString('utf8');
  } catch (error) {
    if (error instanceof UsageError) throw error;
    return refuse(errorText(error));
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Offset of a 0-based line and UTF-16 column in `text` (lines end at \n, \r\n or \r). */
function offsetOf(text: string, line: number, col: number, what: string): number {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n' || (c === '\r' && text[i + 1] !== '\n')) starts.push(i + 1);
  }
  if (line >= starts.length) throw new UsageError(`${what}: line ${line} is past the end of the file (${starts.length} lines)`);
  let lineEnd = line + 1 < starts.length ? starts[line + 1] - 1 : text.length;
  if (lineEnd > starts[line] && text[lineEnd - 1] === '\r' && text[lineEnd] === '\n') lineEnd--;
  const length = lineEnd - starts[line];
  if (col > length) throw new UsageError(`${what}: column ${col} is past the end of line ${line} (${length} characters)`);
  return starts[line] + col;
}

/** What to run: the editor's pipeline at a cursor, or one raw engine request. */
type Job =
  | { kind: 'cursor'; at: CursorRequest; settings: ServerSettings; seed?: number }
  | { kind: 'request'; request: InfillRequest };

function parse(argv: string[]): { modelDir: string; device: ExecutionProviderSetting; threads: number; job: Job } {
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      model: { type: 'string' }, file: { type: 'string' }, line: { type: 'string' }, col: { type: 'string' },
      'end-line': { type: 'string' }, 'end-col': { type: 'string' },
      'prefix-file': { type: 'string' }, 'suffix-file': { type: 'string' },
      canvas: { type: 'string' }, candidates: { type: 'string' }, seed: { type: 'string' }, 'single-line': { type: 'boolean' }, threads: { type: 'string' },
      ...Object.fromEntries(SETTINGS.map((spec) => [spec.flag, { type: spec.type === 'boolean' ? 'boolean' : 'string' } as const])),
    },
  });
  const canvas = int('canvas', v.canvas, 1);
  const candidates = int('candidates', v.candidates ?? '1', 1) as number;
  const seed = int('seed', v.seed, 0);
  const singleLine = v['single-line'] === true;
  const { device, cache, budgets, ...sampler } = engineSettings(v);
  const modelDir = path.resolve(v.model ?? path.join(packageRoot(), 'models', 'default'));
  const threads = int('threads', v.threads, 0) ?? 0;
  let prefix: string;
  let suffix: string;
  if (v.file !== undefined) {
    if (v['prefix-file'] !== undefined || v['suffix-file'] !== undefined) throw new UsageError('use either --file or --prefix-file/--suffix-file');
    const line = int('line', v.line, 0);
    const col = int('col', v.col, 0);
    if (line === undefined || col === undefined) throw new UsageError('--file needs --line and --col');
    const text = readText(v.file);
    const start = offsetOf(text, line, col, 'cursor');
    if (v['end-line'] === undefined && v['end-col'] === undefined) {
      // A cursor: the editor's settings with the flags' values, and its pipeline.
      const settings: ServerSettings = { ...defaultSettings(packageRoot()), ...sampler, ...budgets, cache, candidates };
      const at = requestAt(text, start, settings);
      if (!at) throw new UsageError(`${v.file} looks binary: the editor offers no completion in it`);
      const mode = singleLine ? 'single-line' : at.plan.mode;
      const plan = canvas === undefined ? { ...at.plan, mode } : { ...at.plan, mode, maxTokens: canvas, canvasLength: canvas };
      return { modelDir, device, threads, job: { kind: 'cursor', at: { ...at, plan }, settings, seed } };
    }
    const endLine = int('end-line', v['end-line'], 0);
    const endCol = int('end-col', v['end-col'], 0);
    if (endLine === undefined || endCol === undefined) throw new UsageError('a selection needs both --end-line and --end-col');
    const end = offsetOf(text, endLine, endCol, 'selection end');
    if (end < start) throw new UsageError('the selection ends before it starts');
    prefix = text.slice(0, start);
    suffix = text.slice(end);
  } else if (v['prefix-file'] !== undefined || v['suffix-file'] !== undefined) {
    prefix = v['prefix-file'] !== undefined ? readText(v['prefix-file']) : '';
    suffix = v['suffix-file'] !== undefined ? readText(v['suffix-file']) : '';
  } else {
    throw new UsageError('say where the hole is: --file with --line and --col, or --prefix-file/--suffix-file');
  }
  const request: InfillRequest = {
    prefix, suffix, canvasLength: canvas ?? 24, candidates, ...budgets,
    sampler: { ...sampler, seed, singleLine },
    // One request per process: --no-cache only says the context is computed afresh (as it is anyway).
    reuseContext: cache,
  };
  return { modelDir, device, threads, job: { kind: 'request', request } };
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${errorText(error)}\n${USAGE}\n`);
    return 2;
  }
  const engine = new LocalEngine({ modelDir: args.modelDir, provider: args.device, threads: args.threads });
  try {
    const info = await engine.load();
    const job = args.job;
    let r: InfillResult;
    let shown: { completion: string; completions?: string[]; mode?: string };
    if (job.kind === 'cursor') {
      const seeded = (request: InfillRequest) => engine.infill({ ...request, sampler: { ...request.sampler, seed: job.seed } });
      const done = await completeAt(job.at, job.settings, seeded);
      r = done.result;
      // In the file's line ending, as the editor inserts it.
      const completions = done.completions.map((c) => toEol(c.text, job.at.context.eol));
      shown = { completion: completions[0] ?? '', completions, mode: job.at.plan.mode };
    } else {
      r = await engine.infill(job.request);
      shown = { completion: r.candidates[0]?.text ?? '' };
    }
    const out = {
      ...shown,
      candidates: r.candidates,
      timings: r.timings,
      forwards: r.forwards,
      canvasPasses: r.canvasPasses,
      context: r.context,
      prefixTokens: r.prefixTokens,
      suffixTokens: r.suffixTokens,
      model: info.name,
      modelPath: info.path,
      provider: r.device?.provider ?? info.provider,
      providerNotes: r.device?.notes ?? info.providerNotes,
      deviceReason: r.device?.reason ?? info.deviceReason,
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`diffusion-infill: ${errorText(error)}\n`);
    return error instanceof ModelLoadError ? 3 : 1;
  } finally {
    await engine.dispose();
  }
}

main().then((code) => {
  process.exitCode = code;
});
