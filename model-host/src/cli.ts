#!/usr/bin/env node
// Command-line infill with the same engine as the editor: fill the hole at a cursor (or replace a
// selection) in a file, or between a prefix file and a suffix file; print the result as JSON.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { LocalEngine } from './engine';
import { ModelLoadError } from './manifest';
import type { ExecutionProviderSetting } from './types';

const USAGE = `usage: diffusion-infill (--file F --line L --col C [--end-line L2 --end-col C2] | --prefix-file P --suffix-file S)
       [--model DIR] [--canvas 8,16,24] [--steps N] [--block N] [--threshold X] [--no-cache]
       [--temperature T] [--device auto|cpu|webgpu|cuda|dml|coreml] [--threads N]
Lines and columns are 0-based; columns count UTF-16 code units, as in LSP.`;

function fail(message: string, code: number): never {
  process.stderr.write(`diffusion-infill: ${message}\n`);
  process.exit(code);
}

/** The package root: the nearest folder above this file that holds package.json. */
function packageRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

/** UTF-16 offset of a 0-based line/column; lines end at \n (a \r before it belongs to the line). */
function offsetAt(text: string, line: number, col: number): number {
  let offset = 0;
  for (let l = 0; l < line; l++) {
    const nl = text.indexOf('\n', offset);
    if (nl < 0) fail(`line ${line} is past the end of the file`, 2);
    offset = nl + 1;
  }
  const eol = text.indexOf('\n', offset);
  return Math.min(offset + col, eol < 0 ? text.length : eol);
}

function int(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) fail(`--${name} must be a number, got ${JSON.stringify(value)}`, 2);
  return n;
}

async function main(): Promise<void> {
  let a;
  try {
    a = parseArgs({
      options: {
        model: { type: 'string' }, file: { type: 'string' }, line: { type: 'string' }, col: { type: 'string' },
        'end-line': { type: 'string' }, 'end-col': { type: 'string' }, 'prefix-file': { type: 'string' }, 'suffix-file': { type: 'string' },
        canvas: { type: 'string' }, steps: { type: 'string' }, block: { type: 'string' }, threshold: { type: 'string' },
        'no-cache': { type: 'boolean' }, temperature: { type: 'string' }, device: { type: 'string' }, threads: { type: 'string' },
        help: { type: 'boolean' },
      },
    }).values;
  } catch (e) {
    fail(`${(e as Error).message}\n${USAGE}`, 2);
  }
  if (a.help) { process.stdout.write(USAGE + '\n'); return; }
  let prefix: string;
  let suffix: string;
  if (a.file) {
    if (a.line === undefined || a.col === undefined) fail(`--file needs --line and --col\n${USAGE}`, 2);
    const text = fs.readFileSync(a.file, 'utf8');
    const at = offsetAt(text, int(a.line, 'line', 0), int(a.col, 'col', 0));
    const to = a['end-line'] !== undefined ? offsetAt(text, int(a['end-line'], 'end-line', 0), int(a['end-col'], 'end-col', 0)) : at;
    prefix = text.slice(0, at);
    suffix = text.slice(Math.max(at, to));
  } else if (a['prefix-file'] && a['suffix-file']) {
    prefix = fs.readFileSync(a['prefix-file'], 'utf8');
    suffix = fs.readFileSync(a['suffix-file'], 'utf8');
  } else {
    fail(`give --file with --line/--col, or --prefix-file and --suffix-file\n${USAGE}`, 2);
  }
  const devices = ['auto', 'cpu', 'webgpu', 'cuda', 'dml', 'coreml'];
  const device = (a.device ?? 'cpu') as ExecutionProviderSetting;
  if (!devices.includes(device)) fail(`--device must be one of ${devices.join(', ')}`, 2);
  const canvasLengths = (a.canvas ?? '24').split(',').map((s) => int(s, 'canvas', 24));

  const engine = new LocalEngine({ modelDir: a.model ?? path.join(packageRoot(), 'models', 'default'), provider: device, threads: int(a.threads, 'threads', 0) });
  let info;
  try {
    info = await engine.load();
  } catch (e) {
    fail(e instanceof ModelLoadError ? e.message : `could not load the model: ${(e as Error).message}`, 3);
  }
  const result = await engine.infill({
    prefix, suffix, canvasLengths,
    sampler: {
      steps: int(a.steps, 'steps', Math.max(...canvasLengths)), blockLength: int(a.block, 'block', 8),
      temperature: int(a.temperature, 'temperature', 0), threshold: int(a.threshold, 'threshold', 0),
      dualCache: !a['no-cache'], remasking: 'low_confidence',
    },
  });
  await engine.dispose();
  process.stdout.write(JSON.stringify({
    completion: result.candidates[0]?.text ?? '',
    candidates: result.candidates, timings: { ...result.timings, loadMs: info.loadMs }, forwards: result.forwards,
    prefixTokens: result.prefixTokens, suffixTokens: result.suffixTokens,
    model: info.name, provider: info.provider,
  }, null, 2) + '\n');
}

main().catch((e) => fail((e as Error).stack ?? String(e), 1));
