// Which nodes of a model's graph run on which execution provider: onnxruntime's own placement
// log (session option logSeverityLevel 0 prints "Node placements" after partitioning), read from
// a child process's stderr, since the native log cannot be caught in the process that writes it.
//
//   node out/scripts/placement.js [--model models/default] [--device webgpu]
//
// prints each provider's nodes counted by op type. A GPU provider's kernels that are missing for
// an op leave those nodes on the CPU, with copies between host and device around them.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

/** Per provider (e.g. WebGpuExecutionProvider), the number of nodes of each op type placed on it. */
export type Placement = Record<string, Record<string, number>>;

/** Reads the "Node placements" block of onnxruntime's verbose log. */
export function parsePlacement(log: string): Placement {
  const out: Placement = {};
  let current: Record<string, number> | undefined;
  for (const line of log.split('\n')) {
    const header = /Node\(s\) placed on \[(\w+)\]/.exec(line);
    if (header) {
      current = out[header[1]] = {};
      continue;
    }
    const node = /VerifyEachNodeIsAssignedToAnEp\]\s{3}(\w+) \(/.exec(line);
    if (node && current) current[node[1]] = (current[node[1]] ?? 0) + 1;
    else if (!/VerifyEachNodeIsAssignedToAnEp/.test(line)) current = undefined;
  }
  return out;
}

export interface PlacementReport {
  /** The provider the session ended on (a GPU provider that failed falls back to the CPU). */
  provider: string;
  notes: string[];
  placement: Placement;
}

/** Opens the model on `device` in a child process with onnxruntime's verbose log, and reads the placement. */
export function placement(modelDir: string, device: string, env: NodeJS.ProcessEnv = process.env): PlacementReport {
  const child = `
    const { loadManifest } = require(${JSON.stringify(path.join(__dirname, '..', 'model-host', 'src', 'model', 'manifest.js'))});
    const { ModelSession } = require(${JSON.stringify(path.join(__dirname, '..', 'model-host', 'src', 'model', 'session.js'))});
    ModelSession.open(loadManifest(process.argv[1]), process.argv[2], 1, true, 0).then(async (s) => {
      process.stdout.write(JSON.stringify({ provider: s.provider, notes: s.notes }));
      await s.release();
    });`;
  const r = spawnSync(process.execPath, ['-e', child, modelDir, device], { env, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`opening ${modelDir} on ${device} failed (exit ${r.status}): ${(r.stderr ?? '').slice(-2000)}`);
  const opened = JSON.parse(r.stdout) as { provider: string; notes: string[] };
  return { ...opened, placement: parsePlacement(r.stderr) };
}

/** One line per provider: its node count, then its op types, most nodes first. */
export function formatPlacement(p: Placement): string {
  return Object.entries(p).map(([provider, ops]) => {
    const total = Object.values(ops).reduce((a, b) => a + b, 0);
    const list = Object.entries(ops).sort((a, b) => b[1] - a[1]).map(([op, n]) => `${op} ${n}`).join(', ');
    return `${provider}: ${total} nodes: ${list}`;
  }).join('\n');
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const opt = (name: string, fallback: string) => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
  };
  const report = placement(path.resolve(opt('--model', 'models/default')), opt('--device', 'webgpu'));
  process.stdout.write(`provider: ${report.provider}${report.notes.length ? ` (${report.notes.join('; ')})` : ''}\n${formatPlacement(report.placement)}\n`);
}
