// What the real-editor tests open: which model the extension runs, and a scratch copy of the
// sample workspace (examples/), so a test may edit and save files without touching the repository.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../../scripts/tools';

/**
 * The model under test: the bundled models/default, as a user gets it. DI_E2E_MODEL (a model
 * folder, relative to the repository) points the extension elsewhere while developing,
 * e.g. DI_E2E_MODEL=models/tiny.
 */
export const modelOverride: string | undefined = process.env.DI_E2E_MODEL ? path.resolve(repoRoot, process.env.DI_E2E_MODEL) : undefined;

/** Settings that select the model under test (none for the bundled one). In code-server they
 *  go to the remote (Machine) settings: modelPath is machine-overridable. */
export function modelSettings(): Record<string, unknown> {
  return modelOverride ? { 'diffusionInfill.modelPath': modelOverride } : {};
}

/** Fails loudly, before anything starts, when the model under test is not there. */
export function requireModel(): void {
  requireModelAt(modelOverride ?? path.join(repoRoot, 'models', 'default'), ' (or point DI_E2E_MODEL at another model)');
}

export function requireModelAt(dir: string, hint = ''): void {
  assert.ok(fs.existsSync(path.join(dir, 'model.json')),
    `no model at ${path.relative(repoRoot, dir) || dir}: train it with bash training/pipeline.sh default${hint}`);
}

/** A fresh copy of examples/ in a temporary folder; remove it with fs.rmSync when done. */
export function scratchWorkspace(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diffusion-infill-workspace-'));
  fs.cpSync(path.join(repoRoot, 'examples'), dir, { recursive: true });
  return dir;
}

/** A temporary folder for one launch (user data, logs, reports). */
export function scratchDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `diffusion-infill-${name}-`));
}
