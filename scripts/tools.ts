// Where the tools that scripts/install-tools.sh installs live, and a check that fails loudly when
// one is missing: the real-editor tests must never pass by skipping.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The repository root, from the compiled out/scripts/tools.js. */
export const repoRoot = path.resolve(__dirname, '../..');

export const tools = {
  /** Node 24, which code-server 4.139 requires (the project itself runs on the system Node). */
  node: path.join(repoRoot, '.tools/node24/bin/node'),
  /** A wrapper that runs code-server on that Node. */
  codeServer: path.join(repoRoot, '.tools/code-server/bin/code-server'),
  /** Debian's Chromium, driven by playwright-core. */
  chromium: '/usr/bin/chromium',
};

export type Tool = keyof typeof tools;

/** Throws, naming every missing tool and the command that installs it. */
export function requireTools(...needed: Tool[]): void {
  const missing = needed.filter((t) => !isExecutable(tools[t]));
  if (missing.length === 0) return;
  const where = (t: Tool): string => (tools[t].startsWith(repoRoot) ? path.relative(repoRoot, tools[t]) : tools[t]);
  throw new Error(`missing ${missing.map((t) => `${t} (${where(t)})`).join(', ')}: `
    + 'run `bash scripts/install-tools.sh` (npm test runs it for you)');
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
