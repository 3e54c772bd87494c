// Server settings: merging what the client sends over the defaults, finding the package root
// (for the default model path) and deciding which changes need a model reload.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { acceptSetting } from '../../model-host/src/settings/setting-spec';
import type { SamplerOptions } from '../../model-host/src/types';
import { SETTINGS, type ServerSettings, type SettingName } from './protocol';

const NAMES = Object.keys(SETTINGS) as SettingName[];

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

/** Every setting at its default from the table; the model is the bundled models/default. */
export function defaultSettings(packageRoot: string): ServerSettings {
  const out = Object.fromEntries(NAMES.map((name) => {
    const value: unknown = SETTINGS[name].default;
    return [name, Array.isArray(value) ? [...value] : value];
  })) as ServerSettings;
  out.modelPath = path.join(packageRoot, 'models', 'default');
  return out;
}

/**
 * Overlays a partial, untrusted settings object (from initializationOptions or
 * didChangeConfiguration) on a base, field by field under the table's rules (setting-spec.ts):
 * a field of the wrong type keeps the base value, a number out of range is clamped, so one bad
 * setting cannot break completions. A blank modelPath keeps the base (the bundled model).
 */
export function mergeSettings(base: ServerSettings, partial: unknown): ServerSettings {
  const out: ServerSettings = { ...base };
  if (typeof partial !== 'object' || partial === null) return out;
  const p = partial as Record<string, unknown>;
  for (const name of NAMES) {
    const value = acceptSetting(SETTINGS[name], p[name]);
    if (value !== undefined) (out as Record<SettingName, unknown>)[name] = value;
  }
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

/** Settings that change whether or when the model runs, never what it writes. */
const NOT_GENERATION: readonly SettingName[] = ['enable', 'disabledLanguages', 'debounceMs', 'ghostTextBudgetMs'];

/**
 * Every other setting may change what the model would produce for the same context (a new
 * setting does too, until it is listed above). Cached completions are only reused under an
 * identical hash.
 */
export function generationHash(s: ServerSettings): string {
  return JSON.stringify(NAMES.filter((name) => !NOT_GENERATION.includes(name)).map((name) => s[name]));
}

/** The sampler knobs of one request, straight from the settings. */
export function samplerOptions(s: Pick<ServerSettings, 'steps' | 'blockLength' | 'temperature' | 'crossFileNameBias'>): SamplerOptions {
  return {
    steps: s.steps,
    blockLength: s.blockLength,
    temperature: s.temperature,
    nameBias: s.crossFileNameBias,
  };
}
