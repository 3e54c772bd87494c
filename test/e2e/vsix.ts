// The packaged extensions the UI tests install (linux-x64) and the package test inspects (all
// five targets). Made with `npm run package` when missing or older than what goes into them, so
// a test run always checks the packages of the current tree, and two tests in one run package once.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../../scripts/tools';

/** The VS Code targets `npm run package` makes a .vsix for (scripts/package.mjs). */
export const TARGETS = ['linux-x64', 'linux-arm64', 'darwin-arm64', 'win32-x64', 'win32-arm64'] as const;
export type Target = (typeof TARGETS)[number];

/** Where scripts/package.mjs writes a target's package. */
export function vsixPath(target: Target): string {
  return path.join(repoRoot, `diffusion-infill-${target}.vsix`);
}

/** Everything the package is made from; the bundles are rebuilt by the package script itself. */
function inputs(): string[] {
  const files = ['package.json', '.vscodeignore', 'README.md', 'LICENSE', 'esbuild.mjs', 'scripts/package.mjs'].map((f) => path.join(repoRoot, f));
  for (const dir of ['extension/src', 'language-server/src', 'model-host/src', 'models/default']) {
    const abs = path.join(repoRoot, dir);
    // Recursive: language-server/src/context-sources/ and model-host/src's folders are in the bundles too.
    if (fs.existsSync(abs)) files.push(...fs.readdirSync(abs, { recursive: true, encoding: 'utf8' }).map((f) => path.join(abs, f)));
  }
  return files;
}

function isStale(target: Target): boolean {
  const vsix = vsixPath(target);
  if (!fs.existsSync(vsix)) return true;
  const built = fs.statSync(vsix).mtimeMs;
  return inputs().some((f) => fs.existsSync(f) && fs.statSync(f).mtimeMs > built);
}

/** Returns the targets' .vsix paths, packaging the stale ones first (about a minute each here). */
export function ensureVsix(...targets: Target[]): string[] {
  const stale = targets.filter(isStale);
  if (stale.length) {
    // Its progress goes to stderr: stdout belongs to the test runner's report.
    execFileSync('npm', ['run', '--silent', 'package', '--', ...stale], { cwd: repoRoot, stdio: ['ignore', 2, 2], timeout: 20 * 60_000 });
  }
  for (const t of targets) if (!fs.existsSync(vsixPath(t))) throw new Error(`npm run package did not write ${vsixPath(t)}`);
  return targets.map(vsixPath);
}
