// Debian's Chromium, headless, driven by playwright-core: the browser that shows code-server's
// workbench to the real-editor tests. A throwaway profile per launch; close() removes it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { repoRoot, requireTools, tools } from '../../scripts/tools';

/** Screenshots and logs of the real-editor tests (gitignored). */
export const resultsDir = path.join(repoRoot, 'test-results', 'e2e');

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Saves a screenshot as test-results/e2e/<name>.png and returns its path. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * @param consoleLog a file that gets the page's console: in code-server that includes what the
 *   extension host prints (mocha's progress, the extension's errors).
 */
export async function openBrowser(consoleLog?: string): Promise<Browser> {
  requireTools('chromium');
  fs.mkdirSync(resultsDir, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'diffusion-infill-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: tools.chromium,
    headless: true,
    viewport: { width: 1280, height: 800 },
    timeout: 60_000,
    // No sandbox: the tests may run as root in a container. The rest keeps Chromium from reaching
    // out to the network on its own (updates, sync, field trials).
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  const page = context.pages()[0] ?? await context.newPage();
  if (consoleLog) {
    page.on('console', (m) => fs.appendFileSync(consoleLog, `[${m.type()}] ${m.text()}\n`));
    page.on('pageerror', (e) => fs.appendFileSync(consoleLog, `[pageerror] ${e.message}\n`));
  }
  let closed = false;
  return {
    context,
    page,
    async screenshot(name) {
      const file = path.join(resultsDir, `${name}.png`);
      await page.screenshot({ path: file });
      return file;
    },
    async close() {
      if (closed) return;
      closed = true;
      // playwright-core also kills the browser should this process exit first.
      await context.close().catch(() => undefined);
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Copies what a failed run leaves behind into test-results/e2e/<prefix>-*: code-server's log, the
 * browser console, and the extension's own log (its "Diffusion Infill" output channel, which VS Code
 * writes under the user data folder).
 */
export function keepLogs(prefix: string, dir: string): string[] {
  fs.mkdirSync(resultsDir, { recursive: true });
  const kept: string[] = [];
  const visit = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) visit(p);
      else if (e.name === 'code-server.log' || e.name === 'console.log' || e.name.endsWith('Diffusion Infill.log')) {
        const to = path.join(resultsDir, `${prefix}-${e.name.replace(/\s+/g, '-')}`);
        fs.copyFileSync(p, to);
        kept.push(to);
      }
    }
  };
  if (fs.existsSync(dir)) visit(dir);
  return kept;
}

