// What the extension-host suites share: the extension's API (what activate() returns), waiting on
// the status it shows, the sample files, asking the registered inline completion provider, and
// settings changes that are undone after each test.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DiffusionInfillApi } from '../../extension/src/main';
import type { StatusView } from '../../extension/src/status';

export const EXTENSION_ID = 'diffusion-infill.diffusion-infill';

/** Loading a model on a busy two-core machine; generous, but a stuck load still fails. */
export const LOAD_TIMEOUT_MS = 120_000;

export function extension(): vscode.Extension<DiffusionInfillApi> {
  const ext = vscode.extensions.getExtension<DiffusionInfillApi>(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is not loaded in this extension host`);
  return ext;
}

/** The extension's API; activates it if VS Code has not yet (activation is onStartupFinished). */
export async function api(): Promise<DiffusionInfillApi> {
  return extension().activate();
}

/**
 * Resolves with the first status that satisfies `accept`, the current one included. Rejects after
 * `timeoutMs`, listing every status seen meanwhile, so a failure says what happened instead.
 */
export function waitForStatus(
  a: DiffusionInfillApi,
  what: string,
  accept: (s: Readonly<StatusView>) => boolean,
  timeoutMs = LOAD_TIMEOUT_MS,
): Promise<Readonly<StatusView>> {
  const seen: Readonly<StatusView>[] = [a.client.status.current];
  if (accept(a.client.status.current)) return Promise.resolve(a.client.status.current);
  return new Promise((resolve, reject) => {
    const sub = a.client.status.onDidChange((s) => {
      seen.push(s);
      if (!accept(s)) return;
      clearTimeout(timer);
      sub.dispose();
      resolve(s);
    });
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`no status "${what}" within ${timeoutMs} ms; seen: ${JSON.stringify(seen)}`));
    }, timeoutMs);
  });
}

export const isReady = (s: Readonly<StatusView>): boolean => s.state === 'ready';

/** The folder of the model the extension runs now (the bundled one unless modelPath says otherwise). */
export function modelDir(a: DiffusionInfillApi): string {
  // A relative user value is taken from the extension's folder, as the server does.
  return path.resolve(extension().extensionPath, a.client.config.serverSettings().modelPath);
}

/** The name in that model's manifest: what the status bar must show once it is loaded. */
export function modelName(a: DiffusionInfillApi): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(modelDir(a), 'model.json'), 'utf8')) as { name?: unknown };
  assert.equal(typeof manifest.name, 'string', `${modelDir(a)}/model.json has no name`);
  return manifest.name as string;
}

/** A file of the workspace the launcher opened (a scratch copy of examples/). */
export function workspaceFile(name: string): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the launcher must open a workspace folder (a copy of examples/)');
  return vscode.Uri.joinPath(folder.uri, name);
}

/**
 * Where the suites ask for completions: in each sample, on the empty, indented line of a function
 * body (0-based), a statement the user has started to type. The model completes the rest of it
 * (single-line mode), which even a small model does with code, not just a line break.
 */
export const samples = {
  python: { file: 'sample.py', languageId: 'python', line: 13, typed: 'total = ' },
  typescript: { file: 'sample.ts', languageId: 'typescript', line: 10, typed: 'counts.set(word, ' },
} as const;

export type Sample = (typeof samples)[keyof typeof samples];

/** Opens a sample in an editor, types the start of the statement, and puts the cursor after it. */
export async function openAtTypedStatement(sample: Sample): Promise<{ editor: vscode.TextEditor; position: vscode.Position }> {
  const doc = await vscode.workspace.openTextDocument(workspaceFile(sample.file));
  const editor = await vscode.window.showTextDocument(doc);
  // Opened before in this test: start again from the file as it is on disk.
  if (doc.isDirty) await vscode.commands.executeCommand('workbench.action.files.revert');
  const indentation = doc.lineAt(sample.line).text;
  assert.match(indentation, /^\s+$/, `${sample.file}:${sample.line + 1} should hold only indentation (the fixture changed?)`);
  const start = new vscode.Position(sample.line, indentation.length);
  assert.ok(await editor.edit((b) => b.insert(start, sample.typed)), 'typing into the sample');
  const position = start.translate(0, sample.typed.length);
  editor.selection = new vscode.Selection(position, position);
  return { editor, position };
}

/** Puts every open editor's document back as it is on disk and closes it. */
export async function closeAll(): Promise<void> {
  for (const doc of vscode.workspace.textDocuments) {
    if (doc.isDirty) {
      await vscode.window.showTextDocument(doc);
      await vscode.commands.executeCommand('workbench.action.files.revert');
    }
  }
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}

/**
 * Asks the inline completion provider that the language client registered with VS Code, exactly
 * as VS Code asks it when the user invokes a suggestion. (VS Code 1.139 has no
 * `vscode.executeInlineCompletionItemProvider` command; the provider object is the next best
 * thing, and the suites also drive VS Code's own inline suggestion commands.)
 */
export async function provideInline(a: DiffusionInfillApi, doc: vscode.TextDocument, position: vscode.Position): Promise<vscode.InlineCompletionItem[]> {
  const client = a.client.languageClient;
  assert.ok(client, 'the language client is not running');
  const provider = client.getFeature('textDocument/inlineCompletion')?.getProvider(doc);
  assert.ok(provider, `no inline completion provider is registered for ${doc.uri.toString()}`);
  const cancel = new vscode.CancellationTokenSource();
  try {
    const result = await provider.provideInlineCompletionItems(doc, position,
      { triggerKind: vscode.InlineCompletionTriggerKind.Invoke, selectedCompletionInfo: undefined }, cancel.token);
    if (!result) return [];
    return Array.isArray(result) ? result : result.items;
  } finally {
    cancel.dispose();
  }
}

/** The text an item inserts (the server sends plain strings, never snippets). */
export function insertText(item: vscode.InlineCompletionItem): string {
  assert.equal(typeof item.insertText, 'string', 'the server sends plain-text completions');
  return item.insertText as string;
}

type Section = vscode.WorkspaceConfiguration;
const section = (): Section => vscode.workspace.getConfiguration('diffusionInfill');

/**
 * Sets user settings (the target the settings UI writes to) and returns a function that puts the
 * previous user values back. Each update reaches the extension as a configuration change event,
 * as when a person edits the settings: no window reload.
 */
export async function setUserSettings(values: Record<string, unknown>): Promise<() => Promise<void>> {
  const before = new Map<string, unknown>();
  for (const [key, value] of Object.entries(values)) {
    before.set(key, section().inspect(key)?.globalValue);
    await section().update(key, value, vscode.ConfigurationTarget.Global);
  }
  return async () => {
    for (const [key, value] of before) await section().update(key, value, vscode.ConfigurationTarget.Global);
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
