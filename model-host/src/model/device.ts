// Which execution provider a session runs on: the providers each setting tries, what makes one
// unusable before it is tried, the session options per provider, and `auto`'s probe, a measured
// pass on a GPU provider against the same pass on the CPU, so that a GPU is chosen only when it is
// faster here (a software Vulkan driver such as SwiftShader works, but is far slower than the CPU).

import * as fs from 'node:fs';
import * as path from 'node:path';
import './telemetry-off';
import * as ort from 'onnxruntime-node';
import type { ExecutionProviderSetting } from '../types';

/** GPU providers `auto` tries on each platform, best first; the CPU always comes last. */
const AUTO_ORDER: Record<string, string[]> = {
  linux: ['cuda', 'webgpu'],
  win32: ['dml', 'webgpu'],
  darwin: ['coreml'],
};

/** The GPU providers a setting tries, in order (none for `cpu`). */
export function wantedProviders(setting: ExecutionProviderSetting, platform = process.platform): string[] {
  if (setting === 'auto') return AUTO_ORDER[platform] ?? [];
  return setting === 'cpu' ? [] : [setting];
}

/** Why a provider cannot be tried in this install, or undefined when it can. */
export function unavailable(provider: string): string | undefined {
  const bundled = new Set(ort.listSupportedBackends().map((b) => b.name));
  if (!bundled.has(provider)) return `not available in this onnxruntime-node install (it has ${[...bundled].join(', ')})`;
  const missing = missingProviderLibrary(provider);
  if (missing) return `onnxruntime-node's ${provider} provider files are not installed (${missing} is missing)`;
  return undefined;
}

/** CUDA needs provider libraries that onnxruntime-node downloads only on request; checking first avoids a native error log. */
function missingProviderLibrary(provider: string): string | undefined {
  if (provider !== 'cuda' || (process.platform !== 'linux' && process.platform !== 'win32')) return undefined;
  const file = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  try {
    const bin = path.join(path.dirname(require.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
    return fs.existsSync(path.join(bin, file)) ? undefined : path.join(bin, file);
  } catch {
    return undefined;
  }
}

export interface SessionTuning {
  /** CPU threads for onnxruntime; 0 = its default. */
  threads: number;
  cpuArena: boolean;
  /** onnxruntime's log level (0 = verbose: node placements); default: warnings on the CPU, silence on a GPU. */
  logSeverity?: 0 | 1 | 2 | 3 | 4;
}

export function sessionOptions(provider: string, tuning: SessionTuning): ort.InferenceSession.SessionOptions {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    interOpNumThreads: 1,
    enableCpuMemArena: tuning.cpuArena,
  };
  // A GPU provider that cannot start is expected and reported in the notes; keep its native log quiet.
  if (provider !== 'cpu') options.logSeverityLevel = 4;
  if (tuning.logSeverity !== undefined) {
    options.logSeverityLevel = tuning.logSeverity;
    options.logVerbosityLevel = 0;
  }
  if (tuning.threads > 0) options.intraOpNumThreads = tuning.threads;
  return options;
}

/** A timed pass: resolves to its milliseconds. */
export type ProbePass = () => Promise<unknown>;

export interface ProbeTime {
  /** The best of the timed runs, ms. */
  ms: number;
  /** The first (untimed) run: shader compilation, allocations. */
  warmupMs: number;
  /** The warm-up alone was too slow to win, so no timed run followed (`ms` is the warm-up's). */
  gaveUp?: boolean;
}

/**
 * Runs `pass` once to warm up (a GPU compiles its shaders then), then up to `runs` times; the best
 * run counts (the VM has slow bursts). A warm-up slower than `giveUpAfterMs` ends it there (it
 * cannot win, and a software GPU would hold the load for long), and so does a timed run slower
 * than `clearlySlowerMs` (one run is enough to lose by that much).
 */
export async function timePass(pass: ProbePass, runs = 2, giveUpAfterMs = Infinity, clearlySlowerMs = Infinity): Promise<ProbeTime> {
  let t = performance.now();
  await pass();
  const warmupMs = performance.now() - t;
  if (warmupMs > giveUpAfterMs) return { ms: warmupMs, warmupMs, gaveUp: true };
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    t = performance.now();
    await pass();
    best = Math.min(best, performance.now() - t);
    if (best > clearlySlowerMs) break;
  }
  return { ms: best, warmupMs };
}

/** `auto`'s verdict on one GPU provider: faster than the CPU on the probe, or not. */
export function verdict(provider: string, gpu: ProbeTime, cpu: ProbeTime): { faster: boolean; reason: string } {
  const faster = gpu.ms < cpu.ms;
  const times = `probe pass ${fmt(gpu.ms)} ms on ${provider}${gpu.gaveUp ? ' (its warm-up; not timed further)' : ''} vs ${fmt(cpu.ms)} ms on the CPU`;
  return { faster, reason: faster ? `${provider}: ${times}, so ${provider}` : `${provider}: ${times}, so the CPU` };
}

function fmt(ms: number): string {
  return ms >= 100 ? String(Math.round(ms)) : ms.toFixed(1);
}

/** The useful part of a runtime error: its first line, from the last "Failed to" when there is one. */
export function firstLine(text: string): string {
  const line = text.split('\n')[0].trim();
  const failed = line.lastIndexOf('Failed to');
  const concise = failed > 0 ? line.slice(failed) : line;
  return concise.length > 240 ? `${concise.slice(0, 240)}…` : concise;
}
