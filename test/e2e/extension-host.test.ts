// The extension-host suites (test/vscode/*.spec.ts: the real `vscode` API, mocha) in a real
// VS Code: code-server 1.139 with the smoke-test driver enabled, opened by headless Chromium with
// VS Code's launch options in the URL (extensionDevelopmentPath = this working tree,
// extensionTestsPath = the compiled suites). @vscode/test-electron does the same with a downloaded
// desktop VS Code (npm run test:electron); this machine cannot download it.
//
// The extension host runs the suites and writes a JSON report (test/vscode/index.ts); each test in
// it becomes a subtest here. Everything started is stopped in `finally`, pass or fail.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startCodeServer, type CodeServer } from '../../scripts/code-server';
import { repoRoot, requireTools } from '../../scripts/tools';
import type { HostTestReport } from '../vscode/report';
import { keepLogs, openBrowser, type Browser } from './browser';
import { modelSettings, requireModel, scratchDir, scratchWorkspace } from './fixture';

/** All suites together on a busy two-core machine take a few minutes; a hang must still end. */
const SUITE_TIMEOUT_MS = 15 * 60_000;

const suites = path.join(repoRoot, 'out', 'test', 'vscode');

test('extension-host suites pass in a real VS Code (code-server)', { timeout: SUITE_TIMEOUT_MS + 120_000 }, async (t) => {
  requireTools('node', 'codeServer', 'chromium');
  requireModel();
  assert.ok(fs.existsSync(path.join(suites, 'index.js')), 'out/test/vscode/index.js is missing: run npm run compile-tests');

  const dir = scratchDir('extension-host');
  const workspace = scratchWorkspace();
  const reportFile = path.join(dir, 'report.json');
  const consoleLog = path.join(dir, 'console.log');
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  const started = Date.now();
  try {
    server = await startCodeServer({
      workspace,
      dir,
      machineSettings: modelSettings(),
      env: { DI_E2E_RESULT: reportFile },
      args: ['--vscode-option', 'enable-smoke-test-driver'],
    });
    browser = await openBrowser(consoleLog);
    await browser.page.goto(server.url([
      ['extensionDevelopmentPath', server.remoteUri(repoRoot)],
      ['extensionTestsPath', server.remoteUri(suites)],
    ]));

    const report = await waitForReport(reportFile, server, SUITE_TIMEOUT_MS);
    t.diagnostic(`extension-host suites: ${report.passed} passed, ${report.failed} failed, ${report.pending} pending `
      + `in ${(report.durationMs / 1000).toFixed(1)} s (${((Date.now() - started) / 1000).toFixed(1)} s with startup)`);
    assert.equal(report.fatal, undefined, `the suites did not run: ${report.fatal}`);
    assert.ok(report.tests.length > 0, 'the report lists no tests');
    for (const r of report.tests) {
      await t.test(r.title, () => {
        // A pending (skipped) test is not a pass.
        assert.equal(r.state, 'passed', r.error ?? `${r.title} was ${r.state}`);
      });
    }
    assert.equal(report.failed + report.pending, 0, `${report.failed} failed, ${report.pending} pending`);
  } catch (e) {
    await keepEvidence(browser, dir);
    throw e;
  } finally {
    await browser?.close();
    await server?.stop();
    fs.rmSync(workspace, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Waits for the report. Gives up early when the extension host has exited without writing one
 * (it crashed, or could not load the suites), and at the timeout; either way with code-server's log.
 */
async function waitForReport(file: string, server: CodeServer, timeoutMs: number): Promise<HostTestReport> {
  const deadline = Date.now() + timeoutMs;
  let exitedAt: number | undefined;
  while (!fs.existsSync(file)) {
    exitedAt ??= /Extension Host Process exited/.test(logTail(server, 1000)) ? Date.now() : undefined;
    // The report is written before the extension host exits; allow a moment for the rename.
    if (exitedAt !== undefined && Date.now() - exitedAt > 10_000) {
      throw new Error(`the extension host exited without a report; code-server log (tail):\n${logTail(server)}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`no report from the extension host within ${timeoutMs / 1000} s; code-server log (tail):\n${logTail(server)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return JSON.parse(fs.readFileSync(file, 'utf8')) as HostTestReport;
}

function logTail(server: CodeServer, lines = 60): string {
  try {
    return fs.readFileSync(server.logFile, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** A screenshot and the logs (see keepLogs) in test-results/e2e/, for a failed run. */
async function keepEvidence(browser: Browser | undefined, dir: string): Promise<void> {
  await browser?.screenshot('extension-host-failure').catch(() => undefined);
  keepLogs('extension-host', dir);
}
