// `npm run test:electron`: the extension-host suites (test/vscode/) in the desktop VS Code that
// @vscode/test-electron downloads, for machines that can reach VS Code's download servers (this
// project's offline CI runs the same suites under code-server: test/e2e/extension-host.test.ts).
// Same extension, same sample workspace, same model choice (DI_E2E_MODEL) as the offline run.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';
import { repoRoot } from './tools';

async function main(): Promise<void> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'diffusion-infill-electron-'));
  const workspace = path.join(scratch, 'workspace');
  fs.cpSync(path.join(repoRoot, 'examples'), workspace, { recursive: true });
  const userData = path.join(scratch, 'user-data');
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  const settings: Record<string, unknown> = {
    'files.hotExit': 'off', 'files.autoSave': 'off', 'workbench.startupEditor': 'none', 'security.workspace.trust.enabled': false,
  };
  if (process.env.DI_E2E_MODEL) settings['diffusionInfill.modelPath'] = path.resolve(repoRoot, process.env.DI_E2E_MODEL);
  fs.writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify(settings, null, 2));
  try {
    // runTests rejects when the suites fail (test/vscode/index.ts rejects from run()).
    await runTests({
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath: path.join(repoRoot, 'out', 'test', 'vscode', 'index'),
      launchArgs: [workspace, '--user-data-dir', userData, '--disable-extensions', '--disable-workspace-trust'],
    });
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(`test:electron: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
