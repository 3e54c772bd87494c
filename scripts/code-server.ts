// Starts and stops code-server (VS Code 1.139 served to a browser) for `npm start` and the
// real-editor tests: on 127.0.0.1 only, on a port the system picks, with its own user data,
// extensions and config folders, so nothing of the user's own VS Code is read or changed.
//
// code-server starts helpers of its own (the extension host, a pty host, an agent host) that can
// outlive it when only it is signalled. So it runs as the leader of a new process group, and
// stop() signals the whole group; should this process end without calling stop(), an exit hook
// still kills the groups it started.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { requireTools, tools } from './tools';

export interface CodeServerOptions {
  /** The folder VS Code opens. */
  workspace: string;
  /** Where user data, extensions, config and the log go; a new temporary folder when absent. */
  dir?: string;
  /** User settings (User/settings.json), over the quiet defaults below. */
  settings?: Record<string, unknown>;
  /**
   * Remote settings (Machine/settings.json). The workbench treats code-server as a remote machine,
   * so settings of `machine` or `machine-overridable` scope (diffusionInfill.modelPath) count only here.
   */
  machineSettings?: Record<string, unknown>;
  /** A .vsix to install into the private extensions folder before starting. */
  vsix?: string;
  /** More environment for code-server and the extension host it starts. */
  env?: Record<string, string>;
  /** More code-server flags, e.g. ['--vscode-option', 'enable-smoke-test-driver']. */
  args?: string[];
  /** How long to wait for the server to listen and answer /healthz. */
  startTimeoutMs?: number;
}

export interface CodeServer {
  /** http://127.0.0.1:PORT */
  origin: string;
  port: number;
  dir: string;
  /** code-server's own output (the extension host's output lands here too). */
  logFile: string;
  /**
   * The workbench's URL with the workspace open. `payload` carries VS Code's launch options, e.g.
   * [['extensionDevelopmentPath', remoteUri(dir)]]; a released build honours them only with
   * `--vscode-option enable-smoke-test-driver`.
   */
  url(payload?: [string, string][]): string;
  /** A `vscode-remote://` URI for a path on this machine, as payload entries need. */
  remoteUri(fsPath: string): string;
  /** Stops code-server and everything it started. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Settings for a quiet, reproducible window: no restored edits, no welcome page, no AI side bar,
 * and no auto-save (code-server saves after a delay by default), so edits reach the disk only
 * when saved: tests edit the sample files and must find them unchanged on disk.
 */
const baseSettings: Record<string, unknown> = {
  'files.hotExit': 'off',
  'files.autoSave': 'off',
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'chat.disableAIFeatures': true,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'update.mode': 'none',
};

/** Process groups started here and not yet stopped; killed if this process ends first. */
const liveGroups = new Set<number>();
let hooked = false;

function killLiveGroups(): void {
  for (const pgid of liveGroups) killGroup(pgid, 'SIGKILL');
  liveGroups.clear();
}

/** On exit, and on the signals that end a process without an exit event (then re-raised). */
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', killLiveGroups);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killLiveGroups();
      process.kill(process.pid, signal);
    });
  }
}

export async function startCodeServer(options: CodeServerOptions): Promise<CodeServer> {
  requireTools('node', 'codeServer');
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'diffusion-infill-code-server-'));
  const userData = path.join(dir, 'user-data');
  const extensions = path.join(dir, 'extensions');
  const logFile = path.join(dir, 'code-server.log');
  fs.mkdirSync(extensions, { recursive: true });
  writeSettings(path.join(userData, 'User', 'settings.json'), { ...baseSettings, ...options.settings });
  if (options.machineSettings) writeSettings(path.join(userData, 'Machine', 'settings.json'), options.machineSettings);

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // code-server writes its config file (with a generated password) under these; keep it here.
    XDG_CONFIG_HOME: path.join(dir, 'xdg-config'),
    XDG_DATA_HOME: path.join(dir, 'xdg-data'),
    ...options.env,
  };
  const common = ['--user-data-dir', userData, '--extensions-dir', extensions];

  if (options.vsix) {
    const installed = spawnSync(tools.codeServer, [...common, '--install-extension', options.vsix, '--force'],
      { env, encoding: 'utf8', timeout: 120_000 });
    if (installed.status !== 0) {
      throw new Error(`installing ${options.vsix} failed (${installed.error?.message ?? `exit ${installed.status}`}):\n${installed.stdout}\n${installed.stderr}`);
    }
  }

  const args = [
    '--bind-addr', '127.0.0.1:0', // the system picks a free port; code-server logs which
    '--auth', 'none',
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override',
    '--reconnection-grace-time', '5', // a closed browser tab lets the extension host go soon
    ...common,
    ...(options.args ?? []),
    options.workspace,
  ];
  const log = fs.openSync(logFile, 'w');
  let child: ChildProcess;
  try {
    child = spawn(tools.codeServer, args, { env, detached: true, stdio: ['ignore', 'pipe', log] });
  } finally {
    fs.closeSync(log);
  }
  const pgid = child.pid;
  if (pgid === undefined) throw new Error(`code-server did not start (see ${logFile})`);
  hookExit();
  liveGroups.add(pgid);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async (): Promise<void> => {
    if (!liveGroups.delete(pgid)) return;
    killGroup(pgid, 'SIGTERM');
    await Promise.race([exited, delay(5_000)]);
    // Helpers that ignore SIGTERM, or that code-server left behind, go now.
    killGroup(pgid, 'SIGKILL');
  };

  try {
    const port = await listeningPort(child, logFile, options.startTimeoutMs ?? 60_000);
    const origin = `http://127.0.0.1:${port}`;
    await healthy(origin, options.startTimeoutMs ?? 60_000);
    const remoteUri = (fsPath: string): string => `vscode-remote://127.0.0.1:${port}${encodeURI(path.resolve(fsPath))}`;
    return {
      origin,
      port,
      dir,
      logFile,
      remoteUri,
      url: (payload) => {
        const query = new URLSearchParams({ folder: path.resolve(options.workspace) });
        if (payload) query.set('payload', JSON.stringify(payload));
        return `${origin}/?${query.toString()}`;
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Reads code-server's stdout (copying it to the log) until it says where it listens. */
function listeningPort(child: ChildProcess, logFile: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let seen = '';
    let found = false;
    const timer = setTimeout(() => fail(`code-server did not listen within ${timeoutMs} ms`), timeoutMs);
    function fail(why: string): void {
      clearTimeout(timer);
      reject(new Error(`${why}; its log (${logFile}):\n${tail(seen)}`));
    }
    child.stdout?.on('data', (chunk: Buffer) => {
      fs.appendFileSync(logFile, chunk);
      if (found) return;
      seen += chunk.toString();
      const m = /HTTP server listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(seen);
      if (m) {
        found = true;
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code, signal) => { if (!found) fail(`code-server exited (${signal ?? code}) before listening`); });
  });
}

async function healthy(origin: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(`${origin}/healthz`);
      if (r.ok) return;
    } catch {
      // Not answering yet.
    }
    if (Date.now() > deadline) throw new Error(`${origin}/healthz did not answer within ${timeoutMs} ms`);
    await delay(200);
  }
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // The group is gone already.
  }
}

/** Writes settings; a folder used before (npm start's) keeps what the user set there, ours win. */
function writeSettings(file: string, settings: Record<string, unknown>): void {
  const kept = fs.existsSync(file) ? readJson(file) : {};
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify({ ...kept, ...settings }, null, 2)}\n`);
}

/** A settings file as VS Code writes it (JSON, perhaps with comments VS Code never writes itself). */
function readJson(file: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : {};
  } catch {
    return {};
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}
