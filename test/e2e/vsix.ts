// The packaged extension the UI tests install and the package test inspects. Made with
// `npm run package` when it is missing or older than what goes into it, so a test run always
// checks the package of the current tree, and two tests in one run package once.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../../scripts/tools';

/** Where package.json's "package" script writes it (its --out). */
export const vsixPath = path.join(repoRoot, 'diffusion-infill-linux-x64.vsix');

/** Everything the package is made from; the bundles are rebuilt by the package script itself. */
function inputs(): string[] {
  const files = ['package.json', '.vscodeignore', 'README.md', 'LICENSE', 'esbuild.mjs'].map((f) => path.join(repoRoot, f));
  for (const dir of ['extension/src', 'language-server/src', 'model-host/src', 'models/default']) {
    const abs = path.join(repoRoot, dir);
    if (fs.existsSync(abs)) files.push(...fs.readdirSync(abs).map((f) => path.join(abs, f)));
  }
  return files;
}

function isStale(): boolean {
  if (!fs.existsSync(vsixPath)) return true;
  const built = fs.statSync(vsixPath).mtimeMs;
  return inputs().some((f) => fs.existsSync(f) && fs.statSync(f).mtimeMs > built);
}

/** Returns the .vsix path, packaging first when needed (about half a minute). */
export function ensureVsix(): string {
  if (isStale()) {
    // Its progress goes to stderr: stdout belongs to the test runner's report.
    execFileSync('npm', ['run', '--silent', 'package'], { cwd: repoRoot, stdio: ['ignore', 2, 2], timeout: 10 * 60_000 });
  }
  if (!fs.existsSync(vsixPath)) throw new Error(`npm run package did not write ${vsixPath}`);
  return vsixPath;
}
