// `npm start` (after scripts/start.sh has installed and built): opens a real VS Code with the
// extension loaded from this working tree and the sample workspace (examples/) open.
//   - The desktop VS Code when `code` is on PATH: `code --extensionDevelopmentPath=<repo> examples`.
//   - Otherwise code-server on 127.0.0.1 (a free port): prints the URL to open in a browser, and
//     runs until Ctrl+C, which stops code-server and everything it started (scripts/code-server.ts).
// The URL carries VS Code's launch options (the extension development path), so the extension is
// the working tree itself: `npm run watch` and "Developer: Reload Window" pick up changes.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startCodeServer } from './code-server';
import { repoRoot } from './tools';

const workspace = path.join(repoRoot, 'examples');

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

async function main(): Promise<void> {
  const force = process.argv.includes('--code-server');
  if (!force && onPath('code')) {
    console.log(`Opening VS Code with the extension from ${repoRoot} and ${workspace}`);
    // The desktop app detaches from this process on its own.
    const code = spawn('code', [`--extensionDevelopmentPath=${repoRoot}`, workspace], { stdio: 'inherit' });
    code.once('exit', (status) => process.exit(status ?? 0));
    return;
  }

  // A state folder that survives restarts (settings, opened editors), inside the gitignored .tools/.
  const dir = path.join(repoRoot, '.tools', 'start');
  fs.mkdirSync(dir, { recursive: true });
  // A released VS Code web build honours the URL's launch options (the extension development path)
  // only with the smoke-test driver on; it adds an automation hook to the page, nothing more.
  const server = await startCodeServer({ workspace, dir, args: ['--vscode-option', 'enable-smoke-test-driver'] });
  const url = server.url([['extensionDevelopmentPath', server.remoteUri(repoRoot)]]);
  console.log([
    '',
    'VS Code (code-server) is running with the Diffusion Infill extension and examples/ open:',
    '',
    `  ${url}`,
    '',
    'Open that URL in a browser on this machine, then open sample.py or sample.ts and type.',
    `Log: ${path.relative(repoRoot, server.logFile)}. Ctrl+C stops it.`,
    '',
  ].join('\n'));

  // Runs as long as code-server does; on Ctrl+C, scripts/code-server.ts stops it and its helpers.
}

main().catch((e: unknown) => {
  console.error(`npm start: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
