// Server settings: merging what the client sends over the defaults, finding the package root
// (for the default model path) and deciding which changes need a model reload.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultServerSettings, type ServerSettings } from './lsp_ext';
import type { ExecutionProviderSetting, SamplerOptions } from '../../model-host/src/types';

const devices: readonly ExecutionProviderSetting[] = ['auto', 'cpu', 'webgpu', 'cuda', 'dml', 'coreml'];

/**
 * The folder holding the project's package.json, found by walking up from this file.
 * Walking (rather than a fixed '../..') keeps it right both for the tsc output
 * (out/language-server/src/main.js) and for the bundle (dist/server.js).
 */
export function findPackageRoot(startDir: string = __dirname): string {
  let dir = startDir;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return startDir;
    dir = parent;
  }
}

export function defaultSettings(packageRoot: string): ServerSettings {
  return { ...defaultServerSettings, disabledLanguages: [], modelPath: path.join(packageRoot, 'models', 'default') };
}

/**
 * Overlays a partial, untrusted settings object (from initializationOptions or
 * didChangeConfiguration) on a base. A field of the wrong type or out of range keeps the
 * base value, so one bad setting cannot break completions.
 */
export function mergeSettings(base: ServerSettings, partial: unknown): ServerSettings {
  if (typeof partial !== 'object' || partial === null) return { ...base };
  const p = partial as Record<string, unknown>;
  const out: ServerSettings = { ...base };
  const bool = (k: 'enable' | 'cache'): void => {
    if (typeof p[k] === 'boolean') out[k] = p[k] as boolean;
  };
  const num = (
    k: Exclude<{ [K in keyof ServerSettings]: ServerSettings[K] extends number ? K : never }[keyof ServerSettings], undefined>,
    min: number,
    max: number,
    integer = true,
  ): void => {
    const v = p[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) return;
    const clamped = Math.min(max, Math.max(min, integer ? Math.round(v) : v));
    out[k] = clamped;
  };
  bool('enable');
  bool('cache');
  if (Array.isArray(p.disabledLanguages)) {
    out.disabledLanguages = p.disabledLanguages.filter((x): x is string => typeof x === 'string');
  }
  if (typeof p.modelPath === 'string' && p.modelPath.trim() !== '') out.modelPath = p.modelPath.trim();
  if (typeof p.device === 'string' && (devices as readonly string[]).includes(p.device)) {
    out.device = p.device as ExecutionProviderSetting;
  }
  num('steps', 1, 1024);
  num('blockLength', 1, 512);
  num('maxTokensSingleLine', 1, 256);
  num('maxTokensMultiLine', 1, 512);
  num('temperature', 0, 10, false);
  num('confidenceThreshold', 0, 1, false);
  num('candidates', 1, 8);
  num('debounceMs', 0, 5000);
  num('maxPrefixTokens', 0, 8192);
  num('maxSuffixTokens', 0, 8192);
  return out;
}

/**
 * Where the model lives on disk. Relative paths are taken from the package root, the
 * only folder the server can rely on (it may serve several workspaces or none); '~' is
 * the user's home.
 */
export function resolveModelPath(modelPath: string, packageRoot: string): string {
  let p = modelPath;
  if (p === '~' || p.startsWith('~/') || p.startsWith('~\\')) p = path.join(os.homedir(), p.slice(1));
  return path.resolve(packageRoot, p);
}

/** The settings that decide which engine is loaded; a change to these reloads it. */
export function engineKey(s: ServerSettings, packageRoot: string): string {
  return JSON.stringify([resolveModelPath(s.modelPath, packageRoot), s.device]);
}

/**
 * Every setting that changes what the model would produce for the same context.
 * Cached completions are only reused under an identical hash.
 */
export function generationHash(s: ServerSettings): string {
  return JSON.stringify([
    s.modelPath, s.device, s.steps, s.blockLength, s.maxTokensSingleLine, s.maxTokensMultiLine,
    s.temperature, s.confidenceThreshold, s.candidates, s.maxPrefixTokens, s.maxSuffixTokens,
  ]);
}

/** The sampler knobs of one request, straight from the settings. */
export function samplerOptions(s: ServerSettings): SamplerOptions {
  return {
    steps: s.steps,
    blockLength: s.blockLength,
    temperature: s.temperature,
    threshold: s.confidenceThreshold > 0 ? s.confidenceThreshold : undefined,
  };
}
