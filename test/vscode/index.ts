// The extension-host test entry point: VS Code loads this module from `extensionTestsPath` and
// calls run() once the extension under development is loaded. Two launchers use it: the
// code-server harness (test/e2e/extension-host.test.ts, offline) and @vscode/test-electron
// (scripts/test-electron.ts, on a machine that can download VS Code).
//
// run() executes every *.spec.js next to this file with mocha, in name order, and rejects when a
// test failed (test-electron turns that into its exit code). When $DI_E2E_RESULT names a file it
// also writes a HostTestReport there: code-server runs the extension host for a browser, so the
// harness has no exit code to wait for and reads the report instead.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';
import type { HostTestReport } from './report';

/** Per test: loading a model on a busy two-core machine takes a while; none of them should hang. */
const TEST_TIMEOUT_MS = 180_000;

export async function run(): Promise<void> {
  const started = Date.now();
  const report: HostTestReport = { passed: 0, failed: 0, pending: 0, durationMs: 0, tests: [] };
  try {
    await runMocha(report);
  } catch (e) {
    report.fatal = e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e);
  }
  report.durationMs = Date.now() - started;
  const out = process.env.DI_E2E_RESULT;
  if (out) {
    // Written whole, then renamed: the harness polls for the file and must never read half of it.
    fs.writeFileSync(`${out}.partial`, JSON.stringify(report, null, 2));
    fs.renameSync(`${out}.partial`, out);
  }
  if (report.fatal) throw new Error(`the extension-host tests did not run: ${report.fatal}`);
  if (report.failed > 0) throw new Error(`${report.failed} extension-host test(s) failed`);
}

function runMocha(report: HostTestReport): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: TEST_TIMEOUT_MS, color: false });
  const specs = fs.readdirSync(__dirname).filter((f) => f.endsWith('.spec.js')).sort();
  if (specs.length === 0) throw new Error(`no *.spec.js files in ${__dirname}`);
  for (const f of specs) mocha.addFile(path.join(__dirname, f));

  return new Promise((resolve) => {
    const runner = mocha.run(() => resolve());
    runner.on('pass', (t) => {
      report.passed++;
      report.tests.push({ title: t.titlePath().join(' › '), state: 'passed', durationMs: t.duration });
    });
    runner.on('fail', (t, err: unknown) => {
      report.failed++;
      const error = err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err);
      report.tests.push({ title: t.titlePath().join(' › '), state: 'failed', durationMs: t.duration, error });
    });
    runner.on('pending', (t) => {
      report.pending++;
      report.tests.push({ title: t.titlePath().join(' › '), state: 'pending' });
    });
  });
}
